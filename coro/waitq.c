/* FIFO wait queues: the one place where a task parks on a sync object.
 *
 * A waiter lives on the waiting task's stack.  A waker unlinks it, stores
 * the outcome in w->status (and the item in w->data) and makes the task
 * ready; the task reads them when it runs.  Because the waker decides the
 * outcome before the waiter runs, a grant that races a cancellation always
 * wins: the waiter sees status != 1 first and leaves the cancellation
 * pending for its next await. */
#include <errno.h>

#include "tn_internal.h"
#include "tn_waitq.h"

enum { WAITING = 1 };

void tn_waitq_init(struct tn_waitq *q)
{
	q->head = q->tail = NULL;
}

bool tn_waitq_empty(const struct tn_waitq *q)
{
	return q->head == NULL;
}

static void push_tail(struct tn_waitq *q, struct tn_waiter *w)
{
	w->next = NULL;
	w->prev = q->tail;
	if (q->tail)
		q->tail->next = w;
	else
		q->head = w;
	q->tail = w;
}

static void unlink_waiter(struct tn_waitq *q, struct tn_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		q->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		q->tail = w->prev;
	w->next = w->prev = NULL;
}

static int wait_on(struct tn_waitq *q, struct tn_waiter *w, bool cancellable)
{
	struct tn_sched *s = tn__self;
	struct tn_task *t = s ? s->current : NULL;
	int err;

	if (!t)
		return -EPERM;
	if (cancellable && (err = tn__take_cancel(t)))
		return err;
	w->task = t;
	w->status = WAITING;
	push_tail(q, w);
	/* Loop: a cancellation we must ignore, or a tn_task_resume from
	 * another task, wakes us without a grant. */
	for (;;) {
		t->state = TN_TASK_SUSPENDED;
		tn__task_park(s, t);
		if (w->status != WAITING)
			return w->status;
		if (cancellable && (err = tn__take_cancel(t))) {
			unlink_waiter(q, w);
			return err;
		}
	}
}

int tn_waitq_wait(struct tn_waitq *q, struct tn_waiter *w)
{
	return wait_on(q, w, true);
}

int tn__waitq_wait_nocancel(struct tn_waitq *q, struct tn_waiter *w)
{
	return wait_on(q, w, false);
}

struct tn_waiter *tn_waitq_wake_one(struct tn_waitq *q, int status, intptr_t data)
{
	struct tn_waiter *w = q->head;

	if (!w)
		return NULL;
	TN_ASSERT(status <= 0, "a waiter is woken with 0 or -errno");
	unlink_waiter(q, w);
	w->status = status;
	w->data = data;
	tn__task_wake(w->task);
	return w;
}

unsigned tn_waitq_wake_all(struct tn_waitq *q, int status)
{
	unsigned n = 0;
	struct tn_waiter *w;

	/* Wake one at a time so each waiter keeps its own data field. */
	while ((w = q->head) != NULL) {
		tn_waitq_wake_one(q, status, w->data);
		n++;
	}
	return n;
}
