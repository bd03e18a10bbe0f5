/* Initial frame of a new context on AArch64; layout in switch_aarch64.S. */
#include <stdint.h>
#include <string.h>

#include "tn_internal.h"

void tn__ctx_trampoline(void);

void *tn__ctx_make(void *stack_top, void (*entry)(void *), void *arg)
{
	uint64_t *top = (uint64_t *)((uintptr_t)stack_top & ~(uintptr_t)15);
	uint64_t *sp = top - 22; /* 176 bytes */

	memset(sp, 0, 176);
	sp[0] = (uint64_t)entry;              /* x19 */
	sp[1] = (uint64_t)arg;                /* x20 */
	sp[11] = (uint64_t)tn__ctx_trampoline; /* x30 */
	return sp;
}
