/* Condition variable (asyncio.Condition) over a tn_mutex.
 *
 * tn_cond_wait always returns with the mutex held, also on -ECANCELED, so
 * callers can unlock unconditionally.  Re-acquiring therefore cannot be
 * interrupted: a cancellation that arrives then stays pending for the
 * next await, and the notification that woke us is not lost. */
#include <errno.h>

#include "tn_internal.h"
#include "tn_waitq.h"

void tn_cond_init(struct tn_cond *c)
{
	tn_waitq_init(&c->waiters);
}

/* tn_mutex_lock without the cancellation check; same FIFO and handoff
 * protocol as mutex.c (unlock makes the first waiter the owner). */
static void relock(struct tn_mutex *m, struct tn_task *t)
{
	struct tn_waiter w;
	int err;

	if (!m->locked) {
		m->locked = true;
		m->owner = t;
		return;
	}
	err = tn__waitq_wait_nocancel(&m->waiters, &w);
	TN_ASSERT(err == 0 && m->owner == t, "mutex handoff to a cond waiter failed");
}

int tn_cond_wait(struct tn_cond *c, struct tn_mutex *m)
{
	struct tn_sched *s = tn__self;
	struct tn_task *t = s ? s->current : NULL;
	struct tn_waiter w;
	int err;

	if (!t)
		return -EPERM;
	TN_ASSERT(m->locked && m->owner == t, "tn_cond_wait without holding the mutex");
	/* A pending cancellation is delivered before we let go of the mutex. */
	if ((err = tn__take_cancel(t)))
		return err;
	tn_mutex_unlock(m);
	err = tn_waitq_wait(&c->waiters, &w);
	relock(m, t);
	return err;
}

void tn_cond_notify(struct tn_cond *c, unsigned n)
{
	while (n-- > 0 && tn_waitq_wake_one(&c->waiters, 0, 0))
		;
}

void tn_cond_notify_all(struct tn_cond *c)
{
	tn_waitq_wake_all(&c->waiters, 0);
}
