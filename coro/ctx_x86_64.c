/* Initial frame of a new context on x86-64; layout in switch_x86_64.S. */
#include <stdint.h>

#include "tn_internal.h"

void tn__ctx_trampoline(void);

void *tn__ctx_make(void *stack_top, void (*entry)(void *), void *arg)
{
	uint64_t *top = (uint64_t *)((uintptr_t)stack_top & ~(uintptr_t)15);
	/* After the switch's ret pops the trampoline address, rsp must be
	 * 16-byte aligned so the trampoline's call meets the ABI. */
	uint64_t *sp = top - 10;

	sp[9] = 0;                              /* unused */
	sp[8] = 0;                              /* unused: keeps alignment */
	sp[7] = (uint64_t)tn__ctx_trampoline;   /* return address */
	sp[6] = 0;                              /* rbp: ends backtraces */
	sp[5] = 0;                              /* rbx */
	sp[4] = (uint64_t)entry;                /* r12 */
	sp[3] = (uint64_t)arg;                  /* r13 */
	sp[2] = 0;                              /* r14 */
	sp[1] = 0;                              /* r15 */
	sp[0] = 0x1F80ull | (0x037Full << 32);  /* default MXCSR, x87 CW */
	return sp;
}
