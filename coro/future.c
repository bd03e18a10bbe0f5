/* Futures: completion, consumption and the single-waiter protocol.
 *
 * Two references keep a future alive: the producer's (dropped when it
 * resolves or rejects) and the consumer's (dropped when it awaits, chains,
 * detaches).  Whichever goes last returns it to the per-core pool. */
#include <errno.h>

#include "tn_internal.h"

static inline void release(struct tn_future *f, uint8_t ref)
{
	f->refs &= (uint8_t)~ref;
	if (f->refs)
		return;
	if (f->dtor && !f->delivered && !f->err && !f->cancelled)
		f->dtor(f->value);
	if (f->embedded)
		tn__task_join_released(f);
	else
		tn__pool_put(&f->sched->future_pool, f);
}

struct tn_future *tn_future_create(void)
{
	struct tn_sched *s = tn__sched();
	struct tn_future *f = tn__pool_get(&s->future_pool);

	if (f) {
		tn__future_init(f, s);
		f->embedded = 0;
	}
	return f;
}

static void complete_shares(struct tn_future *f)
{
	struct tn_future *c = f->shares, *next;

	f->shares = NULL;
	for (; c; c = next) {
		next = c->share_next;
		if (f->err)
			tn_future_reject(c, f->err);
		else
			tn_future_resolve(c, f->value);
	}
}

/* Marks f done and tells whoever waits.  The consumer's callback consumes
 * the future, so f may be gone when this returns. */
static void notify(struct tn_future *f)
{
	if (f->shares)
		complete_shares(f);
	switch (f->waiter_kind) {
	case W_TASK:
	case W_ANY:
		tn__task_wake(f->task);
		break;
	case W_CALLBACK:
		f->waiter_kind = W_NONE;
		f->delivered = 1;
		f->cb(f->cb_arg, f->err, f->value);
		release(f, REF_CONSUMER);
		break;
	}
}

static int complete(struct tn_future *f, int err, intptr_t value)
{
	tn__check_owner(f->sched);
	if (f->cancelled) {
		release(f, REF_PRODUCER);
		return -ECANCELED;
	}
	TN_ASSERT(!f->done, "future completed twice");
	f->done = 1;
	f->err = err;
	f->value = value;
	/* The producer's reference keeps f alive across notify, whose
	 * callback consumer may drop the other one. */
	notify(f);
	release(f, REF_PRODUCER);
	return 0;
}

int tn_future_resolve(struct tn_future *f, intptr_t value)
{
	return complete(f, 0, value);
}

int tn_future_reject(struct tn_future *f, int err)
{
	TN_ASSERT(err < 0, "futures are rejected with a negative errno");
	return complete(f, err, 0);
}

void tn_future_set_cancel(struct tn_future *f, tn_future_cancel_fn fn, void *arg)
{
	f->cancel_fn = fn;
	f->cancel_arg = arg;
}

void tn_future_set_dtor(struct tn_future *f, tn_value_dtor_fn fn)
{
	f->dtor = fn;
}

int tn_future_done(const struct tn_future *f)
{
	return f->done;
}

int tn_future_cancel(struct tn_future *f)
{
	tn__check_owner(f->sched);
	if (f->done)
		return -EALREADY;
	f->done = 1;
	f->cancelled = 1;
	f->err = -ECANCELED;
	/* Hold the consumer's reference across the hook and the waiter. */
	if (f->cancel_fn)
		f->cancel_fn(f, f->cancel_arg);
	if (f->shares)
		complete_shares(f);
	if (f->waiter_kind == W_TASK || f->waiter_kind == W_ANY)
		tn__task_wake(f->task);
	else if (f->waiter_kind == W_CALLBACK) {
		f->waiter_kind = W_NONE;
		f->delivered = 1;
		f->cb(f->cb_arg, f->err, 0);
		release(f, REF_CONSUMER);
	}
	return 0;
}

/* Awaits f; *by_task tells whether -ECANCELED came from the awaiting
 * task's cancellation (then f was cancelled and consumed).  Inlined into
 * both entry points: tn_await is on every spawn+join. */
static inline __attribute__((always_inline)) int await(struct tn_future *f, intptr_t *value,
						       bool *by_task)
{
	struct tn_sched *s = tn__self;
	struct tn_task *t = s ? s->current : NULL;
	int err;

	*by_task = false;
	if (!t)
		return -EPERM;
	TN_ASSERT(f->sched == s, "object belongs to another core's scheduler");
	if (f->waiter_kind != W_NONE)
		return -EBUSY;
	if ((err = tn__take_cancel(t)))
		goto cancelled;
	while (!f->done) {
		f->waiter_kind = W_TASK;
		f->task = t;
		t->state = TN_TASK_SUSPENDED;
		tn__task_park(s, t);
		f->waiter_kind = W_NONE;
		/* Completion wins over a racing cancellation. */
		if (!f->done && (err = tn__take_cancel(t)))
			goto cancelled;
	}
	err = f->err;
	if (value)
		*value = err ? 0 : f->value;
	f->delivered = 1;
	release(f, REF_CONSUMER);
	return err;
cancelled:
	*by_task = true;
	tn_future_cancel(f);
	release(f, REF_CONSUMER);
	return err;
}

int tn__await(struct tn_future *f, intptr_t *value, bool *by_task)
{
	return await(f, value, by_task);
}

int tn_await(struct tn_future *f, intptr_t *value)
{
	bool by_task;

	return await(f, value, &by_task);
}

int tn__future_take(struct tn_future *f, intptr_t *value)
{
	int err = f->err;

	TN_ASSERT(f->done, "taking a pending future");
	if (value)
		*value = err ? 0 : f->value;
	f->delivered = 1;
	release(f, REF_CONSUMER);
	return err;
}

void tn_future_then(struct tn_future *f, tn_future_cb cb, void *arg)
{
	tn__check_owner(f->sched);
	TN_ASSERT(f->waiter_kind == W_NONE, "future already has a waiter");
	if (f->done) {
		f->delivered = 1;
		cb(arg, f->err, f->err ? 0 : f->value);
		release(f, REF_CONSUMER);
		return;
	}
	f->waiter_kind = W_CALLBACK;
	f->cb = cb;
	f->cb_arg = arg;
}

void tn_future_detach(struct tn_future *f)
{
	tn__check_owner(f->sched);
	TN_ASSERT(f->waiter_kind == W_NONE, "detaching a future that is awaited");
	release(f, REF_CONSUMER);
}

struct tn_future *tn_future_share(struct tn_future *f)
{
	struct tn_future *c;

	tn__check_owner(f->sched);
	c = tn_future_create();
	if (!c)
		return NULL;
	if (f->done) {
		if (f->err)
			tn_future_reject(c, f->err);
		else
			tn_future_resolve(c, f->value);
		return c;
	}
	c->share_next = f->shares;
	f->shares = c;
	return c;
}

/* wait_any's registration: the task waits on several futures at once. */
bool tn__future_try_watch(struct tn_future *f, struct tn_task *t)
{
	tn__check_owner(f->sched);
	if (f->waiter_kind != W_NONE)
		return false;
	if (!f->done) {
		f->waiter_kind = W_ANY;
		f->task = t;
	}
	return true;
}

void tn__future_unwatch(struct tn_future *f)
{
	if (f->waiter_kind == W_ANY)
		f->waiter_kind = W_NONE;
}
