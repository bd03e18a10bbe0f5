/* Counting semaphore, FIFO.  Release hands the permit straight to the
 * first waiter, so the count is non-zero only while nobody waits and a
 * granted permit is never lost to a racing cancellation. */
#include <errno.h>

#include "tn_internal.h"

void tn_sem_init(struct tn_sem *s, unsigned long count)
{
	tn_waitq_init(&s->waiters);
	s->count = count;
}

int tn_sem_acquire(struct tn_sem *s)
{
	struct tn_task *t;
	struct tn_waiter w;
	int err;

	if ((err = tn__await_enter(&t)))
		return err;
	if (s->count > 0) {
		s->count--;
		return 0;
	}
	return tn_waitq_wait(&s->waiters, &w);
}

/* 0, or -EAGAIN when no permit is free (as sem_trywait). */
int tn_sem_tryacquire(struct tn_sem *s)
{
	if (s->count == 0)
		return -EAGAIN;
	s->count--;
	return 0;
}

void tn_sem_release(struct tn_sem *s)
{
	if (tn_waitq_wake_one(&s->waiters, 0, 0))
		return;
	TN_ASSERT(s->count < (unsigned long)-1, "semaphore count overflow");
	s->count++;
}
