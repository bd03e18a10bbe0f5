/* Initial frame of a new context on x86-64; layout in switch_x86_64.S. */
#include <stdint.h>

#include "tn_internal.h"

void tn__ctx_trampoline(void);

void *tn__ctx_make(void *stack_top, void (*entry)(void *), void *arg)
{
	uint64_t *top = (uint64_t *)((uintptr_t)stack_top & ~(uintptr_t)15);
	/* After the switch pops 6 registers and the trampoline address, rsp
	 * (sp + 56) must be 16-byte aligned so the trampoline's call meets the
	 * ABI: SSE code such as printf("%f") faults otherwise. */
	uint64_t *sp = top - 9;

	sp[8] = 0;                              /* unused */
	sp[7] = 0;                              /* unused */
	sp[6] = (uint64_t)tn__ctx_trampoline;   /* resume address */
	sp[5] = 0;                              /* rbp: ends backtraces */
	sp[4] = 0;                              /* rbx */
	sp[3] = (uint64_t)entry;                /* r12 */
	sp[2] = (uint64_t)arg;                  /* r13 */
	sp[1] = 0;                              /* r14 */
	sp[0] = 0;                              /* r15 */
	return sp;
}
