/* FIFO mutex with direct handoff.
 *
 * Unlock gives the lock straight to the first waiter instead of releasing
 * it, so a task that arrives meanwhile cannot barge ahead of tasks that
 * already wait, and a waiter that was granted the lock keeps it even if it
 * is cancelled before it runs (the cancellation reaches its next await). */
#include <errno.h>

#include "tn_internal.h"

void tn_mutex_init(struct tn_mutex *m)
{
	tn_waitq_init(&m->waiters);
	m->owner = NULL;
	m->locked = false;
}

int tn_mutex_lock(struct tn_mutex *m)
{
	struct tn_task *t;
	struct tn_waiter w;
	int err;

	if ((err = tn__await_enter(&t)))
		return err;
	if (!m->locked) {
		m->locked = true;
		m->owner = t;
		return 0;
	}
	TN_ASSERT(m->owner != t, "locking a mutex the task already holds");
	/* On success the unlocker has already made us the owner. */
	return tn_waitq_wait(&m->waiters, &w);
}

int tn_mutex_trylock(struct tn_mutex *m)
{
	if (m->locked)
		return -EBUSY;
	m->locked = true;
	m->owner = tn_task_current();
	return 0;
}

void tn_mutex_unlock(struct tn_mutex *m)
{
	struct tn_waiter *w;

	TN_ASSERT(m->locked, "unlocking a mutex that is not locked");
	TN_ASSERT(m->owner == tn_task_current(),
		  "unlocking a mutex held by another task");
	w = tn_waitq_wake_one(&m->waiters, 0, 0);
	if (w) {
		m->owner = w->task;
		return;
	}
	m->locked = false;
	m->owner = NULL;
}
