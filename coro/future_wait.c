/* Awaiting several futures, or one with a timeout: tn_wait_for,
 * tn_gather, tn_wait_any. */
#include <errno.h>

#include "tn_internal.h"

int tn_wait_for(struct tn_future *f, uint64_t timeout_ns, intptr_t *value)
{
	struct tn_sched *s = tn__self;
	struct tn_timeout to;
	bool by_task;
	int err;

	if (!s || !s->current)
		return -EPERM;
	tn_timeout_enter(&to, s->now + timeout_ns);
	err = tn__await(f, value, &by_task);
	return tn_timeout_exit(&to, err);
}

int tn_gather(struct tn_future **fs, size_t n, intptr_t *values, int *errs)
{
	struct tn_sched *s = tn__self;
	int first = 0;
	size_t i, j;

	if (!s || !s->current)
		return -EPERM;
	for (i = 0; i < n; i++) {
		intptr_t v = 0;
		bool by_task;
		int err = tn__await(fs[i], &v, &by_task);

		if (values)
			values[i] = v;
		if (errs)
			errs[i] = err;
		if (by_task) {
			/* The gathering task was cancelled: so is all it waits on,
			 * as asyncio.gather does. */
			for (j = i + 1; j < n; j++) {
				tn_future_cancel(fs[j]);
				tn_future_detach(fs[j]);
				if (errs)
					errs[j] = -ECANCELED;
			}
			return -ECANCELED;
		}
		if (err && !first)
			first = err;
	}
	return first;
}

static int first_done(struct tn_future **fs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tn_future_done(fs[i]))
			return (int)i;
	return -1;
}

int tn_wait_any(struct tn_future **fs, size_t n)
{
	struct tn_sched *s = tn__self;
	struct tn_task *t = s ? s->current : NULL;
	size_t i, watched;
	int idx, err;

	if (!t)
		return -EPERM;
	if (n == 0)
		return -EINVAL;
	if ((err = tn__take_cancel(t)))
		return err;
	if ((idx = first_done(fs, n)) >= 0)
		return idx;
	for (watched = 0; watched < n; watched++) {
		if (!tn__future_try_watch(fs[watched], t)) {
			for (i = 0; i < watched; i++)
				tn__future_unwatch(fs[i]);
			return -EBUSY;
		}
	}
	for (;;) {
		t->state = TN_TASK_SUSPENDED;
		tn__task_park(s, t);
		if ((idx = first_done(fs, n)) >= 0)
			break;
		if ((err = tn__take_cancel(t)))
			break;
	}
	for (i = 0; i < n; i++)
		tn__future_unwatch(fs[i]);
	return idx >= 0 ? idx : err;
}
