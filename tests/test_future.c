/* Futures: completion, consumption, callbacks, sharing, combinators. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tn_test.h"

static intptr_t resolve_later(void *arg)
{
	struct tn_future *f = arg;

	tn_yield();
	return tn_future_resolve(f, 11);
}

static intptr_t await_main(void *arg)
{
	struct tn_future *f = tn_future_create();
	struct tn_future *g = tn_future_create();
	intptr_t v = 0;

	/* resolved before the await */
	assert_int_equal(tn_future_resolve(f, 5), 0);
	assert_true(tn_future_done(f));
	assert_int_equal(tn_await(f, &v), 0);
	assert_int_equal(v, 5);
	/* resolved by another task while we wait */
	struct tn_future *j = tn_task_join(tn_task_spawn(resolve_later, g));
	assert_int_equal(tn_await(g, &v), 0);
	assert_int_equal(v, 11);
	assert_int_equal(tn_await(j, &v), 0);
	assert_int_equal(v, 0);
	/* rejected */
	f = tn_future_create();
	tn_future_reject(f, -EPIPE);
	v = 1;
	assert_int_equal(tn_await(f, &v), -EPIPE);
	assert_int_equal(v, 0);
	return 0;
}

static void test_await(void **state)
{
	assert_int_equal(tn_test_run(await_main, NULL, NULL), 0);
}

struct seen {
	int calls, err;
	intptr_t v;
};

static void on_done(void *arg, int err, intptr_t v)
{
	struct seen *s = arg;

	s->calls++;
	s->err = err;
	s->v = v;
}

static void test_then(void **state)
{
	struct seen a = {0}, b = {0};
	struct tn_future *f = tn_future_create();

	tn_future_then(f, on_done, &a); /* pending: called on resolve */
	assert_int_equal(a.calls, 0);
	tn_future_resolve(f, 9);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.v, 9);

	f = tn_future_create(); /* done: called at once */
	tn_future_reject(f, -EIO);
	tn_future_then(f, on_done, &b);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.err, -EIO);
}

static int dtor_calls;
static intptr_t dtor_value;

static void count_dtor(intptr_t v)
{
	dtor_calls++;
	dtor_value = v;
}

static void test_detach_runs_dtor(void **state)
{
	struct tn_future *f = tn_future_create();
	struct seen s = {0};

	dtor_calls = 0;
	tn_future_set_dtor(f, count_dtor);
	tn_future_detach(f); /* consumer gone before the value exists */
	tn_future_resolve(f, 77);
	assert_int_equal(dtor_calls, 1);
	assert_int_equal(dtor_value, 77);

	f = tn_future_create(); /* delivered values are not destroyed */
	tn_future_set_dtor(f, count_dtor);
	tn_future_resolve(f, 1);
	tn_future_then(f, on_done, &s);
	assert_int_equal(dtor_calls, 1);

	f = tn_future_create(); /* errors carry no value */
	tn_future_set_dtor(f, count_dtor);
	tn_future_reject(f, -EIO);
	tn_future_detach(f);
	assert_int_equal(dtor_calls, 1);
}

static int hook_calls;

static void cancel_hook(struct tn_future *f, void *arg)
{
	hook_calls++;
	*(struct tn_future **)arg = f;
}

static void test_cancel_hook(void **state)
{
	struct tn_future *f = tn_future_create(), *seen = NULL;
	struct seen s = {0};

	hook_calls = 0;
	tn_future_set_cancel(f, cancel_hook, &seen);
	tn_future_then(f, on_done, &s);
	assert_int_equal(tn_future_cancel(f), 0);
	assert_int_equal(hook_calls, 1);
	assert_ptr_equal(seen, f);
	assert_int_equal(s.err, -ECANCELED);
	/* The producer learns its value was not taken; it keeps it. */
	assert_int_equal(tn_future_resolve(f, 3), -ECANCELED);

	f = tn_future_create();
	tn_future_resolve(f, 1);
	assert_int_equal(tn_future_cancel(f), -EALREADY);
	tn_future_detach(f);
}

static intptr_t second_waiter(void *arg)
{
	return tn_await(arg, NULL);
}

static intptr_t busy_main(void *arg)
{
	struct tn_future *f = tn_future_create();
	struct tn_future *j = tn_task_join(tn_task_spawn(second_waiter, f));
	intptr_t v;

	tn_yield(); /* the child now waits on f */
	assert_int_equal(tn_await(f, NULL), -EBUSY); /* not consumed */
	struct tn_future *fs[1] = {f};
	assert_int_equal(tn_wait_any(fs, 1), -EBUSY);
	tn_future_resolve(f, 4);
	assert_int_equal(tn_await(j, &v), 0);
	return 0;
}

static void test_single_waiter(void **state)
{
	assert_int_equal(tn_test_run(busy_main, NULL, NULL), 0);
}

static intptr_t share_waiter(void *arg)
{
	intptr_t v = 0;
	int err = tn_await(arg, &v);

	return err ? err : v;
}

static intptr_t share_main(void *arg)
{
	struct tn_future *f = tn_future_create();
	struct tn_future *c1 = tn_future_share(f), *c2 = tn_future_share(f);
	struct tn_future *j[3];
	intptr_t vals[3];

	j[0] = tn_task_join(tn_task_spawn(share_waiter, f));
	j[1] = tn_task_join(tn_task_spawn(share_waiter, c1));
	j[2] = tn_task_join(tn_task_spawn(share_waiter, c2));
	tn_yield();
	tn_future_resolve(f, 21);
	assert_int_equal(tn_gather(j, 3, vals, NULL), 0);
	assert_int_equal(vals[0], 21);
	assert_int_equal(vals[1], 21);
	assert_int_equal(vals[2], 21);
	/* Sharing a done future; cancelling a copy leaves the original. */
	f = tn_future_create();
	c1 = tn_future_share(f);
	tn_future_cancel(c1);
	tn_future_detach(c1);
	tn_future_resolve(f, 2);
	c2 = tn_future_share(f);
	assert_int_equal(tn_await(c2, &vals[0]), 0);
	assert_int_equal(vals[0], 2);
	assert_int_equal(tn_await(f, &vals[0]), 0);
	return 0;
}

static void test_share(void **state)
{
	assert_int_equal(tn_test_run(share_main, NULL, NULL), 0);
}

static intptr_t sleep_ret(void *arg)
{
	intptr_t ms = (intptr_t)arg;
	int err = tn_sleep((uint64_t)(ms < 0 ? -ms : ms) * TN_NS_PER_MS);

	if (err)
		return err;
	return ms < 0 ? -EIO : ms;
}

static intptr_t gather_main(void *arg)
{
	struct tn_future *fs[4];
	intptr_t vals[4];
	int errs[4];

	fs[0] = tn_task_join(tn_task_spawn(sleep_ret, (void *)3));
	fs[1] = tn_task_join(tn_task_spawn(sleep_ret, (void *)1));
	fs[2] = tn_task_join(tn_task_spawn(sleep_ret, (void *)-2));
	fs[3] = tn_task_join(tn_task_spawn(sleep_ret, (void *)-1));
	uint64_t t0 = tn_now();
	assert_int_equal(tn_gather(fs, 4, vals, errs), -EIO);
	/* all ran concurrently: done after the longest, not the sum */
	assert_true(tn_now() - t0 >= 3 * TN_NS_PER_MS);
	assert_true(tn_now() - t0 < 4 * TN_NS_PER_MS);
	assert_int_equal(vals[0], 3);
	assert_int_equal(vals[1], 1);
	assert_int_equal(errs[2], -EIO);
	assert_int_equal(errs[3], -EIO);
	assert_int_equal(tn_gather(NULL, 0, NULL, NULL), 0);
	return 0;
}

static void test_gather(void **state)
{
	assert_int_equal(tn_test_run(gather_main, NULL, NULL), 0);
}

static intptr_t any_main(void *arg)
{
	struct tn_future *fs[3];

	fs[0] = tn_task_join(tn_task_spawn(sleep_ret, (void *)5));
	fs[1] = tn_task_join(tn_task_spawn(sleep_ret, (void *)2));
	fs[2] = tn_task_join(tn_task_spawn(sleep_ret, (void *)2));
	assert_int_equal(tn_wait_any(fs, 3), 1); /* lowest index among done */
	assert_true(tn_future_done(fs[2]));
	assert_false(tn_future_done(fs[0]));
	assert_int_equal(tn_wait_any(fs, 0), -EINVAL);
	/* nothing consumed: every future is still ours */
	assert_int_equal(tn_gather(fs, 3, NULL, NULL), 0);
	return 0;
}

static void test_wait_any(void **state)
{
	assert_int_equal(tn_test_run(any_main, NULL, NULL), 0);
}

static intptr_t wait_for_main(void *arg)
{
	struct tn_future *f = tn_task_join(tn_task_spawn(sleep_ret, (void *)5));
	struct tn_future *p = tn_future_create(), *seen = NULL;
	intptr_t v = 0;

	assert_int_equal(tn_wait_for(f, 10 * TN_NS_PER_MS, &v), 0);
	assert_int_equal(v, 5);
	/* timeout: the future is cancelled, its producer told */
	hook_calls = 0;
	tn_future_set_cancel(p, cancel_hook, &seen);
	uint64_t t0 = tn_now();
	assert_int_equal(tn_wait_for(p, 2 * TN_NS_PER_MS, &v), -ETIMEDOUT);
	assert_true(tn_now() - t0 >= 2 * TN_NS_PER_MS);
	assert_int_equal(hook_calls, 1);
	assert_int_equal(tn_future_resolve(p, 1), -ECANCELED);
	/* a timed-out task join cancels the task */
	f = tn_task_join(tn_task_spawn(sleep_ret, (void *)50));
	assert_int_equal(tn_wait_for(f, TN_NS_PER_MS, &v), -ETIMEDOUT);
	assert_int_equal(tn_task_cancelling(), 0);
	/* and nothing is left pending: the next await just works */
	assert_int_equal(tn_sleep(TN_NS_PER_MS), 0);
	return 0;
}

static void test_wait_for(void **state)
{
	assert_int_equal(tn_test_run(wait_for_main, NULL, NULL), 0);
}

/* A timeout and a completion in the same loop turn: the value wins, in
 * either order of the two events, and no cancellation is left behind. */
static void resolve_cb(struct tn_timer *t, void *arg)
{
	tn_future_resolve(arg, 8);
}

static intptr_t race_main(void *arg)
{
	int completion_first = (int)(intptr_t)arg;
	struct tn_future *f = tn_future_create();
	struct tn_timer tm;
	uint64_t deadline = tn_now() + TN_NS_PER_MS;
	struct tn_timeout to;
	intptr_t v = 0;
	int err;

	tn_timer_init(&tm, resolve_cb, f);
	if (completion_first)
		tn_timer_start(&tm, deadline);
	tn_timeout_enter(&to, deadline);
	if (!completion_first)
		tn_timer_start(&tm, deadline);
	err = tn_await(f, &v);
	err = tn_timeout_exit(&to, err);
	assert_int_equal(err, 0);
	assert_int_equal(v, 8);
	assert_int_equal(tn_task_cancelling(), 0);
	assert_int_equal(tn_yield(), 0);
	return 0;
}

static void test_timeout_races_completion(void **state)
{
	assert_int_equal(tn_test_run(race_main, (void *)1, NULL), 0);
	assert_int_equal(tn_test_run(race_main, (void *)0, NULL), 0);
}

static void complete_twice(void)
{
	tn_sched_create(NULL);
	struct tn_future *f = tn_future_create();
	tn_future_resolve(f, 1);
	tn_future_resolve(f, 2);
}

static void test_complete_twice_asserts(void **state)
{
	tn_test_expect_abort(complete_twice);
}

/* A future never consumed is reported when the scheduler goes away. */
static void test_dropped_future_reported(void **state)
{
	int pipefd[2];
	char buf[512] = {0};
	pid_t pid;
	int status;
	ssize_t n;

	assert_int_equal(pipe(pipefd), 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 2);
		struct tn_sched *s = tn_sched_create(NULL);
		struct tn_future *f = tn_future_create();
		tn_future_resolve(f, 1); /* produced, never consumed */
		tn_sched_destroy(s);
		_exit(0);
	}
	close(pipefd[1]);
	n = read(pipefd[0], buf, sizeof(buf) - 1);
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "1 futures"));
#ifdef TN_DEBUG
	assert_true(WIFSIGNALED(status));
#endif
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tn_test_setup, tn_test_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_await),
		T(test_then),
		T(test_detach_runs_dtor),
		T(test_cancel_hook),
		T(test_single_waiter),
		T(test_share),
		T(test_gather),
		T(test_wait_any),
		T(test_wait_for),
		T(test_timeout_races_completion),
		cmocka_unit_test(test_complete_twice_asserts),
		cmocka_unit_test(test_dropped_future_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
