/* Timer API on the current core's wheel, and the await points built on
 * it: sleep and timeout scopes. */
#include <errno.h>

#include "tn_internal.h"

void tn_timer_init(struct tn_timer *t, tn_timer_fn fn, void *arg)
{
	t->next = t->prev = NULL;
	t->fn = fn;
	t->arg = arg;
	t->sched = NULL;
	t->armed = 0;
	t->deadline = 0;
	t->seq = 0;
	t->slot = 0;
}

void tn_timer_start(struct tn_timer *t, uint64_t deadline_ns)
{
	struct tn_sched *s = tn__sched();

	if (t->armed)
		tn_timer_cancel(t);
	t->deadline = deadline_ns;
	t->armed = 1;
	t->sched = s;
	tn__wheel_add(&s->wheel, t);
}

bool tn_timer_cancel(struct tn_timer *t)
{
	struct tn_sched *s;

	if (!t->armed)
		return false;
	s = t->sched;
	tn__check_owner(s);
	tn__wheel_del(&s->wheel, t);
	t->armed = 0;
	t->sched = NULL;
	return true;
}

static void wake_task(struct tn_timer *tm, void *arg)
{
	tn__task_wake(arg);
}

int tn_sleep_until(uint64_t deadline_ns)
{
	struct tn_task *t;
	struct tn_timer tm;
	int err;

	if ((err = tn__await_enter(&t)))
		return err;
	tn_timer_init(&tm, wake_task, t);
	tn_timer_start(&tm, deadline_ns);
	for (;;) {
		t->state = TN_TASK_SUSPENDED;
		tn__task_park(t->sched, t);
		/* A fired timer wins over a racing cancellation, which then
		 * stays pending for the next await. */
		if (!tm.armed)
			return 0;
		if ((err = tn__take_cancel(t))) {
			tn_timer_cancel(&tm);
			return err;
		}
	}
}

int tn_sleep(uint64_t ns)
{
	struct tn_sched *s = tn__self;

	if (!s || !s->current)
		return -EPERM;
	return tn_sleep_until(s->now + ns);
}

static void timeout_fire(struct tn_timer *tm, void *arg)
{
	struct tn_timeout *to = arg;

	/* Moved later since it was filed (tn_timeout_reschedule): file it
	 * again rather than cancel. */
	if (to->deadline > tm->deadline) {
		tn_timer_start(tm, to->deadline);
		return;
	}
	to->expired = true;
	tn_task_cancel(to->task);
}

void tn_timeout_enter(struct tn_timeout *to, uint64_t deadline_ns)
{
	struct tn_sched *s = tn__sched();

	TN_ASSERT(s->current, "tn_timeout_enter outside a task");
	to->task = s->current;
	to->cancelling_at_entry = s->current->cancelling;
	to->expired = false;
	to->deadline = deadline_ns;
	tn_timer_init(&to->timer, timeout_fire, to);
	tn_timer_start(&to->timer, deadline_ns);
}

void tn_timeout_reschedule(struct tn_timeout *to, uint64_t deadline_ns)
{
	if (to->expired)
		return;
	to->deadline = deadline_ns;
	if (deadline_ns < to->timer.deadline)
		tn_timer_start(&to->timer, deadline_ns);
}

int tn_timeout_renew(struct tn_timeout *to, int err, uint64_t deadline_ns)
{
	if (!to->expired)
		return err;
	err = tn_timeout_exit(to, err);
	tn_timeout_enter(to, deadline_ns);
	return err;
}

int tn_timeout_exit(struct tn_timeout *to, int err)
{
	struct tn_task *t = to->task;

	tn__check_owner(t->sched);
	if (!to->expired) {
		tn_timer_cancel(&to->timer);
		return err;
	}
	/* Our expiry cancelled the task: take that request back.  If no one
	 * else cancelled since entry, a -ECANCELED is ours: a timeout.  If the
	 * operation finished before our request was delivered, drop it. */
	if (t->cancelling > 0)
		t->cancelling--;
	if (t->cancelling <= to->cancelling_at_entry) {
		t->cancel_pending = false;
		if (err == -ECANCELED)
			return -ETIMEDOUT;
	}
	return err;
}
