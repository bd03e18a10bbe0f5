/* The await-point entry of udp_sock.c, apart because it needs coro's
 * internals (tn__take_cancel), whose struct tn_stack (a task stack) has
 * the network stack's name. */
#include "tn_internal.h"

#pragma GCC visibility push(hidden)
int tn__udp_await_enter(void);
#pragma GCC visibility pop

/* -EPERM outside a task; else takes a pending cancellation (-ECANCELED)
 * as every coro/ await point does first, or returns 0. */
int tn__udp_await_enter(void)
{
	struct tn_task *t;

	return tn__await_enter(&t);
}
