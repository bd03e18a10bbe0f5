/* Wait-queue internals shared by the sync primitives; not installed. */
#ifndef TN_CORO_WAITQ_H
#define TN_CORO_WAITQ_H

#include "tern/sync.h"

/* tn_waitq_wait that no cancellation interrupts: it returns only once a
 * waker sets w->status, and a cancellation that arrives meanwhile stays
 * pending for the next await.  For waits that must complete to keep an
 * invariant, such as tn_cond_wait re-acquiring its mutex.  Returns
 * -EPERM outside a task. */
int tn__waitq_wait_nocancel(struct tn_waitq *q, struct tn_waiter *w);

#endif
