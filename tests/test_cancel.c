/* Cancellation: delivered at every kind of await point, once per request
 * (asyncio's edge-triggered model), with cancelling()/uncancel() counts so
 * timeouts never swallow an outer cancellation, and cleanups run. */
#include <errno.h>

#include "tn_test.h"

enum point { P_AWAIT, P_WAIT_FOR, P_GATHER, P_WAIT_ANY, P_SLEEP, P_YIELD,
	     P_JOIN, P_SUSPEND, P_COUNT };

static int cleanups;

static void count_cleanup(int *p)
{
	cleanups++;
}

static struct tn_future *held; /* a future nobody resolves */
static int consumed;           /* whether the victim's await consumed it */

static intptr_t long_sleep(void *arg)
{
	return tn_sleep(3600 * TN_NS_PER_S);
}

static intptr_t victim(void *arg)
{
	enum point p = (enum point)(intptr_t)arg;
	int scope __attribute__((cleanup(count_cleanup))) = 0;
	struct tn_future *fs[2];
	int err = 0;

	(void)scope;
	switch (p) {
	case P_AWAIT:
		err = tn_await(held, NULL);
		consumed = 1; /* and cancelled by the await */
		break;
	case P_WAIT_FOR:
		err = tn_wait_for(held, 3600 * TN_NS_PER_S, NULL);
		consumed = 1;
		break;
	case P_GATHER:
		fs[0] = held;
		fs[1] = tn_task_join(tn_task_spawn(long_sleep, NULL));
		err = tn_gather(fs, 2, NULL, NULL);
		consumed = 1;
		break;
	case P_WAIT_ANY:
		fs[0] = held;
		err = tn_wait_any(fs, 1);
		break;
	case P_SLEEP:
		err = tn_sleep(3600 * TN_NS_PER_S);
		break;
	case P_YIELD:
		/* cancelled while ready (in the middle of this first yield):
		 * the request waits for the next await */
		if (tn_yield() != 0)
			return -EPROTO;
		err = tn_yield();
		break;
	case P_JOIN:
		err = tn_await(tn_task_join(tn_task_spawn(long_sleep, NULL)), NULL);
		break;
	case P_SUSPEND:
		err = tn_task_suspend();
		break;
	default:
		break;
	}
	if (err != -ECANCELED)
		return -EPROTO;
	/* Delivered once: the next await works (asyncio semantics). */
	if (tn_yield() != 0)
		return -EPROTO;
	return 1;
}

static intptr_t every_point_main(void *arg)
{
	for (int p = 0; p < P_COUNT; p++) {
		struct tn_task *t;
		intptr_t v = 0;

		held = tn_future_create();
		consumed = 0;
		cleanups = 0;
		t = tn_task_spawn(victim, (void *)(intptr_t)p);
		assert_int_equal(tn_yield(), 0); /* now blocked in its await */
		assert_int_equal(tn_task_cancel(t), 0);
		assert_int_equal(tn_await(tn_task_join(t), &v), 0);
		assert_int_equal(v, 1);
		assert_int_equal(cleanups, 1);
		/* The producer's side is still ours.  A consuming await cancelled
		 * the future, so completing it only drops our reference. */
		assert_int_equal(tn_future_reject(held, -ECANCELED),
				 consumed ? -ECANCELED : 0);
		if (!consumed)
			tn_future_detach(held);
	}
	return 0;
}

static void test_every_await_point(void **state)
{
	assert_int_equal(tn_test_run(every_point_main, NULL, NULL), 0);
}

static int ran;

static intptr_t mark_ran(void *arg)
{
	ran = 1;
	return 0;
}

static intptr_t before_start_main(void *arg)
{
	struct tn_task *t = tn_task_spawn(mark_ran, NULL);

	ran = 0;
	assert_int_equal(tn_task_cancel(t), 0);
	assert_int_equal(tn_await(tn_task_join(t), NULL), -ECANCELED);
	assert_int_equal(ran, 0); /* never started */
	return 0;
}

static void test_cancel_before_start(void **state)
{
	assert_int_equal(tn_test_run(before_start_main, NULL, NULL), 0);
}

static intptr_t finished_main(void *arg)
{
	struct tn_task *t = tn_task_spawn(mark_ran, NULL);

	tn_yield();
	assert_int_equal(tn_task_cancel(t), -ESRCH);
	return tn_await(tn_task_join(t), NULL);
}

static void test_cancel_finished(void **state)
{
	assert_int_equal(tn_test_run(finished_main, NULL, NULL), 0);
}

/* A cancelled await cancels what it awaits: the child task too. */
static int child_err;

static intptr_t child_sleeper(void *arg)
{
	child_err = tn_sleep(3600 * TN_NS_PER_S);
	return child_err;
}

static intptr_t parent(void *arg)
{
	return tn_await(tn_task_join(tn_task_spawn(child_sleeper, NULL)), NULL);
}

static intptr_t propagate_main(void *arg)
{
	struct tn_task *t = tn_task_spawn(parent, NULL);

	child_err = 0;
	tn_yield();
	tn_yield();
	tn_task_cancel(t);
	assert_int_equal(tn_await(tn_task_join(t), NULL), -ECANCELED);
	tn_yield();
	assert_int_equal(child_err, -ECANCELED);
	return 0;
}

static void test_cancel_propagates_to_awaited_task(void **state)
{
	assert_int_equal(tn_test_run(propagate_main, NULL, NULL), 0);
}

/* cancelling()/uncancel() counting. */
static intptr_t counting(void *arg)
{
	assert_int_equal(tn_sleep(TN_NS_PER_S), -ECANCELED);
	assert_int_equal(tn_task_cancelling(), 2); /* two requests, one delivery */
	assert_int_equal(tn_task_uncancel(), 1);
	assert_int_equal(tn_task_uncancel(), 0);
	assert_int_equal(tn_task_uncancel(), 0);
	assert_int_equal(tn_sleep(TN_NS_PER_MS), 0);
	return 0;
}

static intptr_t counting_main(void *arg)
{
	struct tn_task *t = tn_task_spawn(counting, NULL);

	tn_yield();
	tn_task_cancel(t);
	tn_task_cancel(t);
	return tn_await(tn_task_join(t), NULL);
}

static void test_cancelling_count(void **state)
{
	assert_int_equal(tn_test_run(counting_main, NULL, NULL), 0);
}

/* uncancel back to zero drops an undelivered request. */
static intptr_t self_uncancel(void *arg)
{
	tn_task_cancel(tn_task_current());
	assert_int_equal(tn_task_uncancel(), 0);
	return tn_yield();
}

static void test_uncancel_drops_request(void **state)
{
	assert_int_equal(tn_test_run(self_uncancel, NULL, NULL), 0);
}

/* A timeout inside a cancelled task must not swallow the cancellation. */
static int inner_err;

static intptr_t timeout_inside(void *arg)
{
	struct tn_future *f = tn_future_create();

	held = f;
	inner_err = tn_wait_for(f, 10 * TN_NS_PER_MS, NULL);
	return inner_err;
}

static void cancel_cb(struct tn_timer *tm, void *arg)
{
	tn_task_cancel(arg);
}

static intptr_t outer_main(void *arg)
{
	int same_turn = (int)(intptr_t)arg;
	struct tn_task *t = tn_task_spawn(timeout_inside, NULL);
	struct tn_timer tm;

	tn_yield();
	/* Cancel from outside: before the timeout, or in the very turn the
	 * timeout fires (after its timer in FIFO order). */
	tn_timer_init(&tm, cancel_cb, t);
	tn_timer_start(&tm, tn_now() + (same_turn ? 10 : 5) * TN_NS_PER_MS);
	assert_int_equal(tn_await(tn_task_join(t), NULL), -ECANCELED);
	assert_int_equal(inner_err, -ECANCELED);
	tn_future_reject(held, -ECANCELED);
	return 0;
}

static void test_timeout_keeps_outer_cancel(void **state)
{
	assert_int_equal(tn_test_run(outer_main, (void *)0, NULL), 0);
	assert_int_equal(tn_test_run(outer_main, (void *)1, NULL), 0);
}

/* Nested timeouts: the inner one expiring is the inner one's timeout. */
static intptr_t nested_main(void *arg)
{
	struct tn_timeout outer, inner;
	int err;

	tn_timeout_enter(&outer, tn_now() + 10 * TN_NS_PER_MS);
	tn_timeout_enter(&inner, tn_now() + 1 * TN_NS_PER_MS);
	err = tn_sleep(5 * TN_NS_PER_MS);
	assert_int_equal(tn_timeout_exit(&inner, err), -ETIMEDOUT);
	err = tn_sleep(20 * TN_NS_PER_MS);
	assert_int_equal(tn_timeout_exit(&outer, err), -ETIMEDOUT);
	assert_int_equal(tn_task_cancelling(), 0);
	return 0;
}

static void test_nested_timeouts(void **state)
{
	assert_int_equal(tn_test_run(nested_main, NULL, NULL), 0);
}

/* tn_timeout_reschedule: a later deadline outlives the first one (the
 * timer fires there, finds the deadline moved and files itself again),
 * expiry comes at the last deadline set, not before; an earlier one
 * expires early; and an expired timeout stays expired. */
static intptr_t reschedule_main(void *arg)
{
	struct tn_timeout to;
	uint64_t t0 = tn_now();
	int err;

	tn_timeout_enter(&to, t0 + 10 * TN_NS_PER_MS);
	/* Pushed past the first deadline twice: sleeping through both the
	 * original and the first pushed deadline is not a timeout. */
	tn_timeout_reschedule(&to, t0 + 30 * TN_NS_PER_MS);
	err = tn_sleep(20 * TN_NS_PER_MS);
	if (err)
		return -EPROTO;
	tn_timeout_reschedule(&to, tn_now() + 30 * TN_NS_PER_MS); /* t0 + 50 ms */
	err = tn_sleep(25 * TN_NS_PER_MS);
	if (err)
		return -EPROTO;
	/* Now t0 + 45 ms: the next sleep is cut at t0 + 50 ms, not later. */
	err = tn_sleep(TN_NS_PER_S);
	if (tn_timeout_exit(&to, err) != -ETIMEDOUT)
		return -EPROTO;
	if (tn_now() < t0 + 50 * TN_NS_PER_MS || tn_now() > t0 + 52 * TN_NS_PER_MS)
		return -ERANGE;
	if (tn_task_cancelling() != 0)
		return -EPROTO;

	/* Earlier than it was: expires at the new deadline. */
	t0 = tn_now();
	tn_timeout_enter(&to, t0 + TN_NS_PER_S);
	tn_timeout_reschedule(&to, t0 + 5 * TN_NS_PER_MS);
	err = tn_sleep(TN_NS_PER_S);
	tn_timeout_reschedule(&to, tn_now() + TN_NS_PER_S); /* too late: expired */
	if (tn_timeout_exit(&to, err) != -ETIMEDOUT)
		return -EPROTO;
	if (tn_now() < t0 + 5 * TN_NS_PER_MS || tn_now() > t0 + 7 * TN_NS_PER_MS)
		return -ERANGE;
	return tn_task_cancelling() == 0 ? 0 : -EPROTO;
}

static void test_timeout_reschedule(void **state)
{
	assert_int_equal(tn_test_run(reschedule_main, NULL, NULL), 0);
}

/* tn_timeout_renew: one scope kept over a loop of awaits.  An await the
 * scope cut gives -ETIMEDOUT and the scope goes on (entered again at
 * the deadline given); one it did not cut gives its own result; it
 * cuts again at its next deadline; leaving it at the end is clean. */
static intptr_t renew_main(void *arg)
{
	struct tn_timeout to;
	uint64_t t0 = tn_now();
	int err;

	tn_timeout_enter(&to, t0 + 5 * TN_NS_PER_MS);
	err = tn_timeout_renew(&to, tn_sleep(TN_NS_PER_S), tn_now() + TN_NS_PER_S);
	if (err != -ETIMEDOUT || to.expired || tn_task_cancelling() != 0)
		return -EPROTO;
	if (tn_now() < t0 + 5 * TN_NS_PER_MS || tn_now() > t0 + 7 * TN_NS_PER_MS)
		return -ERANGE;
	tn_timeout_reschedule(&to, tn_now() + 10 * TN_NS_PER_MS);
	if (tn_timeout_renew(&to, tn_sleep(2 * TN_NS_PER_MS), tn_now() + TN_NS_PER_S) != 0)
		return -EPROTO;
	t0 = tn_now();
	tn_timeout_reschedule(&to, t0 + 5 * TN_NS_PER_MS);
	err = tn_timeout_renew(&to, tn_sleep(TN_NS_PER_S), tn_now() + TN_NS_PER_S);
	if (err != -ETIMEDOUT || tn_now() > t0 + 7 * TN_NS_PER_MS)
		return -EPROTO;
	if (tn_timeout_exit(&to, 0) != 0)
		return -EPROTO;
	return tn_task_cancelling() == 0 ? 0 : -EPROTO;
}

static void test_timeout_renew(void **state)
{
	assert_int_equal(tn_test_run(renew_main, NULL, NULL), 0);
}

/* Completion and cancellation in the same turn: the value is not lost. */
static intptr_t race_waiter(void *arg)
{
	intptr_t v = 0;
	int err = tn_await(arg, &v);

	if (err)
		return err;
	if (tn_yield() != -ECANCELED) /* the request is still pending */
		return -EPROTO;
	return v;
}

static intptr_t race_main(void *arg)
{
	struct tn_future *f = tn_future_create();
	struct tn_task *t = tn_task_spawn(race_waiter, f);
	intptr_t v;

	tn_yield();
	tn_future_resolve(f, 99);
	tn_task_cancel(t);
	assert_int_equal(tn_await(tn_task_join(t), &v), 0);
	assert_int_equal(v, 99);
	return 0;
}

static void test_completion_wins_race(void **state)
{
	assert_int_equal(tn_test_run(race_main, NULL, NULL), 0);
}

/* The same race on a join: the joiner is cancelled (and so made ready)
 * while it awaits, then the task it joins ends before it runs again.  The
 * join's completion must not queue the joiner a second time, and it wins:
 * the value arrives and the request stays pending. */
static intptr_t yield_then_42(void *arg)
{
	tn_yield();
	return 42;
}

static intptr_t cancel_arg(void *arg)
{
	return tn_task_cancel(arg);
}

static intptr_t join_race_main(void *arg)
{
	struct tn_future *child = tn_task_join(tn_task_spawn(yield_then_42, NULL));
	struct tn_future *canceller = tn_task_join(tn_task_spawn(cancel_arg, tn_task_current()));
	intptr_t v = 0;

	/* Runs: child (yields), canceller (wakes us), child (ends), us. */
	assert_int_equal(tn_await(child, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(tn_task_cancelling(), 1);
	assert_int_equal(tn_yield(), -ECANCELED);
	assert_int_equal(tn_await(canceller, &v), 0);
	assert_int_equal(v, 0);
	return 0;
}

static void test_join_completion_wins_race(void **state)
{
	assert_int_equal(tn_test_run(join_race_main, NULL, NULL), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tn_test_setup, tn_test_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_every_await_point),
		T(test_cancel_before_start),
		T(test_cancel_finished),
		T(test_cancel_propagates_to_awaited_task),
		T(test_cancelling_count),
		T(test_uncancel_drops_request),
		T(test_timeout_keeps_outer_cancel),
		T(test_nested_timeouts),
		T(test_timeout_reschedule),
		T(test_timeout_renew),
		T(test_completion_wins_race),
		T(test_join_completion_wins_race),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
