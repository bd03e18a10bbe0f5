/* Scoped cleanup: the lock guard on every exit path (including after a
 * cancellation inside the scope), TN_SCOPED_FREE, and cancel + detach of
 * scoped futures and tasks. */
#include "tn_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct tn_mutex g_m;

static void run_others(void)
{
	for (int i = 0; i < 8; i++)
		assert_int_equal(tn_yield(), 0);
}

static struct tn_task *spawn(tn_task_fn fn, void *arg)
{
	struct tn_task *t = tn_task_spawn(fn, arg);

	assert_non_null(t);
	return t;
}

static void run(tn_task_fn fn)
{
	assert_int_equal(tn_test_run(fn, NULL, NULL), 0);
}

/* ---- TN_SCOPED_LOCK ---- */

/* Leaves the critical section by a different path for each mode. */
static int critical(int mode)
{
	TN_SCOPED_LOCK(guard, &g_m);
	if (guard.err)
		return guard.err;
	assert_ptr_equal(g_m.owner, tn_task_current());
	if (mode == 0)
		return 10;
	for (int i = 0; i < 3; i++) {
		TN_SCOPED_FREE char *scratch = malloc(16);

		assert_non_null(scratch);
		if (tn_yield())
			return -1;
		if (mode == 1 && i == 1)
			return 11; /* early return from a nested block */
		if (mode == 2 && i == 1)
			break;
	}
	if (mode == 3) {
		/* Released by hand: the cleanup must not unlock again. */
		tn_lock_guard_release(&guard);
		assert_false(g_m.locked);
		tn_lock_guard_release(&guard);
		return 13;
	}
	return 12;
}

static intptr_t paths_main(void *arg)
{
	static const int want[] = {10, 11, 12, 13};

	tn_mutex_init(&g_m);
	for (int mode = 0; mode < 4; mode++) {
		assert_int_equal(critical(mode), want[mode]);
		assert_false(g_m.locked);
		assert_null(g_m.owner);
	}
	return 0;
}

static void test_lock_every_exit_path(void **state)
{
	run(paths_main);
}

struct locker {
	bool entered;
	int err;
};

static intptr_t sleepy_critical(void *arg)
{
	struct locker *l = arg;

	TN_SCOPED_LOCK(guard, &g_m);
	if (guard.err)
		return l->err = guard.err;
	l->entered = true;
	/* An await inside the scope that gets cancelled. */
	l->err = tn_sleep(1000000000ull);
	if (l->err)
		return l->err;
	return 0;
}

static intptr_t cancel_inside_main(void *arg)
{
	struct locker a = {0}, b = {0};
	struct tn_task *ta, *tb;

	tn_mutex_init(&g_m);
	ta = spawn(sleepy_critical, &a);
	tb = spawn(sleepy_critical, &b);
	run_others();
	assert_true(a.entered);
	assert_ptr_equal(g_m.owner, ta);
	assert_false(b.entered);
	tn_task_cancel(ta);
	assert_int_equal(tn_await(tn_task_join(ta), NULL), -ECANCELED);
	assert_int_equal(a.err, -ECANCELED);
	/* a's early return unlocked, handing the mutex to b. */
	assert_ptr_equal(g_m.owner, tb);
	run_others();
	assert_true(b.entered);
	tn_task_cancel(tb);
	assert_int_equal(tn_await(tn_task_join(tb), NULL), -ECANCELED);
	assert_false(g_m.locked);
	return 0;
}

static void test_lock_released_after_cancel_in_scope(void **state)
{
	run(cancel_inside_main);
}

static intptr_t cancelled_acquire_main(void *arg)
{
	struct locker a = {0};
	struct tn_task *ta;

	tn_mutex_init(&g_m);
	assert_int_equal(tn_mutex_lock(&g_m), 0);
	ta = spawn(sleepy_critical, &a);
	run_others();
	tn_task_cancel(ta);
	/* The guard was never held: its cleanup must not unlock ours. */
	assert_int_equal(tn_await(tn_task_join(ta), NULL), -ECANCELED);
	assert_false(a.entered);
	assert_int_equal(a.err, -ECANCELED);
	assert_ptr_equal(g_m.owner, tn_task_current());
	assert_true(tn_waitq_empty(&g_m.waiters));
	tn_mutex_unlock(&g_m);
	return 0;
}

static void test_lock_guard_cancelled_acquire(void **state)
{
	run(cancelled_acquire_main);
}

/* ---- TN_SCOPED_FREE ---- */

static void test_scoped_free(void **state)
{
	for (int i = 0; i < 4; i++) {
		TN_SCOPED_FREE char *buf = malloc(64);
		TN_SCOPED_FREE char *none = NULL;

		assert_non_null(buf);
		memset(buf, i, 64);
		(void)none;
		if (i == 2)
			break; /* left by break: still freed (LeakSanitizer checks) */
	}
}

/* ---- TN_SCOPED_FUTURE ---- */

static int g_hook_calls, g_dtor_calls;

static void hook(struct tn_future *f, void *arg)
{
	g_hook_calls++;
}

static void dtor(intptr_t v)
{
	g_dtor_calls++;
}

static void test_scoped_future(void **state)
{
	struct tn_future *producer;

	g_hook_calls = g_dtor_calls = 0;
	/* Pending at scope exit: cancelled (hook runs) and detached. */
	{
		TN_SCOPED_FUTURE struct tn_future *f = tn_future_create();

		assert_non_null(f);
		tn_future_set_cancel(f, hook, NULL);
		producer = f;
	}
	assert_int_equal(g_hook_calls, 1);
	/* The producer still holds its side and learns of the cancel. */
	assert_int_equal(tn_future_resolve(producer, 1), -ECANCELED);

	/* Done but never consumed: detached, its value freed by the dtor. */
	{
		TN_SCOPED_FUTURE struct tn_future *f = tn_future_create();

		tn_future_set_cancel(f, hook, NULL);
		tn_future_set_dtor(f, dtor);
		tn_future_resolve(f, 2);
	}
	assert_int_equal(g_hook_calls, 1);
	assert_int_equal(g_dtor_calls, 1);

	/* Consumed inside the scope and set to NULL: nothing to do. */
	{
		TN_SCOPED_FUTURE struct tn_future *f = tn_future_create();
		struct tn_future *keep = f;

		tn_future_set_cancel(f, hook, NULL);
		f = NULL;
		tn_future_resolve(keep, 3);
		tn_future_detach(keep);
	}
	assert_int_equal(g_hook_calls, 1);
}

struct sleeper {
	int err;
	bool done;
};

static intptr_t sleeper(void *arg)
{
	struct sleeper *s = arg;

	s->err = tn_sleep(1000000000ull);
	s->done = true;
	return s->err;
}

static intptr_t scoped_join_main(void *arg)
{
	struct sleeper s = {0};

	{
		/* A task's join future: cancelling it cancels the task. */
		TN_SCOPED_FUTURE struct tn_future *f = tn_task_join(spawn(sleeper, &s));

		run_others();
		assert_false(s.done);
	}
	run_others();
	assert_true(s.done);
	assert_int_equal(s.err, -ECANCELED);
	return 0;
}

static void test_scoped_future_of_task(void **state)
{
	run(scoped_join_main);
}

/* ---- TN_SCOPED_TASK ---- */

static intptr_t scoped_task_main(void *arg)
{
	struct sleeper a = {0}, b = {0}, c = {0};

	{
		TN_SCOPED_TASK struct tn_task *ta = spawn(sleeper, &a);
		TN_SCOPED_TASK struct tn_task *none = NULL;

		(void)none;
		run_others();
		assert_false(a.done);
	}
	run_others();
	assert_true(a.done);
	assert_int_equal(a.err, -ECANCELED);

	/* A task that ended before the scope did: just detached (freed). */
	{
		TN_SCOPED_TASK struct tn_task *tb = spawn(sleeper, &b);

		run_others();
		tn_task_cancel(tb);
		run_others();
		assert_true(b.done);
	}
	/* Never started: cancelled before its first run, does not run. */
	{
		TN_SCOPED_TASK struct tn_task *tc = spawn(sleeper, &c);

		(void)tc;
	}
	run_others();
	assert_false(c.done);
	return 0;
}

static void test_scoped_task(void **state)
{
	run(scoped_task_main);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tn_test_setup, tn_test_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_lock_every_exit_path),
		T(test_lock_released_after_cancel_in_scope),
		T(test_lock_guard_cancelled_acquire),
		T(test_scoped_free),
		T(test_scoped_future),
		T(test_scoped_future_of_task),
		T(test_scoped_task),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
