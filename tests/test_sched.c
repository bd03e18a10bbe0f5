/* The scheduler: pollers, what a loop turn reports, statistics, one
 * scheduler per thread, tn_run (result, deadlock, draining leftovers) and
 * the idle policy on the real clock. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tn_test.h"

#define MAX_POLLERS 32 /* TN_MAX_POLLERS */

static struct tn_sched_stats stats_of(struct tn_sched *s)
{
	struct tn_sched_stats st;

	tn_sched_get_stats(s, &st);
	return st;
}

/* ---- pollers ---- */

static bool every_other_poll(void *arg);

struct pcount {
	unsigned calls;
	bool ret;
	int id;
	int unregister_at; /* unregisters itself on this call (0: never) */
};

static bool count_poll(void *arg)
{
	struct pcount *p = arg;

	p->calls++;
	if (p->unregister_at && p->calls == (unsigned)p->unregister_at)
		assert_int_equal(tn_poller_unregister(tn_sched_self(), p->id), 0);
	return p->ret;
}

static void test_pollers_each_turn(void **state)
{
	struct tn_sched *s = *state;
	struct pcount idle = {.ret = false}, busy = {.ret = true};

	idle.id = tn_poller_register(s, count_poll, &idle);
	busy.id = tn_poller_register(s, count_poll, &busy);
	assert_in_range(idle.id, 0, MAX_POLLERS - 1);
	assert_in_range(busy.id, 0, MAX_POLLERS - 1);
	assert_int_not_equal(idle.id, busy.id);
	for (int i = 0; i < 5; i++)
		assert_true(tn_sched_run_once(s)); /* busy did work */
	assert_int_equal(idle.calls, 5);
	assert_int_equal(busy.calls, 5);

	/* Only the idle one left: a turn in which nothing happened. */
	assert_int_equal(tn_poller_unregister(s, busy.id), 0);
	assert_false(tn_sched_run_once(s));
	assert_int_equal(idle.calls, 6);
	assert_int_equal(busy.calls, 5);
	assert_int_equal(tn_poller_unregister(s, busy.id), -ENOENT); /* twice */

	assert_int_equal(tn_poller_unregister(s, idle.id), 0);
	assert_false(tn_sched_run_once(s));
	assert_int_equal(idle.calls, 6);
}

static void test_pollers_full_and_bad_ids(void **state)
{
	struct tn_sched *s = *state;
	struct pcount ps[MAX_POLLERS + 1];
	bool seen[MAX_POLLERS] = {false};
	int n = 0, id;

	memset(ps, 0, sizeof(ps));
	assert_int_equal(tn_poller_unregister(s, 0), -ENOENT); /* none yet */
	while ((id = tn_poller_register(s, count_poll, &ps[n])) >= 0) {
		assert_in_range(id, 0, MAX_POLLERS - 1);
		assert_false(seen[id]);
		seen[id] = true;
		ps[n].id = id;
		assert_true(++n <= MAX_POLLERS);
	}
	assert_int_equal(id, -ENOSPC);
	assert_int_equal(n, MAX_POLLERS);
	assert_int_equal(tn_poller_register(s, count_poll, &ps[n]), -ENOSPC);

	/* All are called, once per turn. */
	assert_false(tn_sched_run_once(s));
	for (int i = 0; i < n; i++)
		assert_int_equal(ps[i].calls, 1);

	/* Bad ids. */
	assert_int_equal(tn_poller_unregister(s, -1), -ENOENT);
	assert_int_equal(tn_poller_unregister(s, MAX_POLLERS), -ENOENT);
	assert_int_equal(tn_poller_unregister(s, 1000), -ENOENT);
	assert_int_equal(tn_poller_unregister(s, INT_MIN), -ENOENT);
	assert_int_equal(tn_poller_unregister(s, INT_MAX), -ENOENT);

	/* A freed slot is reused; the table is full again after. */
	assert_int_equal(tn_poller_unregister(s, ps[7].id), 0);
	assert_int_equal(tn_poller_unregister(s, ps[7].id), -ENOENT);
	id = tn_poller_register(s, count_poll, &ps[MAX_POLLERS]);
	assert_int_equal(id, ps[7].id);
	ps[MAX_POLLERS].id = id;
	assert_int_equal(tn_poller_register(s, count_poll, &ps[7]), -ENOSPC);
	assert_false(tn_sched_run_once(s));
	assert_int_equal(ps[7].calls, 1);
	assert_int_equal(ps[MAX_POLLERS].calls, 1);
	assert_int_equal(ps[0].calls, 2);

	/* Unregister the last one first (the table shrinks), then the rest. */
	assert_int_equal(tn_poller_unregister(s, MAX_POLLERS - 1), 0);
	assert_false(tn_sched_run_once(s));
	for (int i = 0; i <= MAX_POLLERS; i++) {
		if (i == 7)
			continue;
		if (ps[i].id == MAX_POLLERS - 1)
			assert_int_equal(ps[i].calls, 2);
		else
			assert_int_equal(ps[i].calls, i == MAX_POLLERS ? 2 : 3);
		if (ps[i].id != MAX_POLLERS - 1)
			assert_int_equal(tn_poller_unregister(s, ps[i].id), 0);
	}
	for (int i = 0; i < MAX_POLLERS; i++)
		assert_int_equal(tn_poller_unregister(s, i), -ENOENT);
	/* Empty again: the whole table is free. */
	for (int i = 0; i < MAX_POLLERS; i++)
		assert_in_range(tn_poller_register(s, count_poll, &ps[0]), 0, MAX_POLLERS - 1);
	assert_int_equal(tn_poller_register(s, count_poll, &ps[0]), -ENOSPC);
	for (int i = 0; i < MAX_POLLERS; i++)
		assert_int_equal(tn_poller_unregister(s, i), 0);
}

/* A poller removing itself mid-turn: the others are still called. */
static void test_poller_unregisters_itself(void **state)
{
	struct tn_sched *s = *state;
	struct pcount a = {.unregister_at = 3}, b = {0}, c = {.unregister_at = 2};

	a.id = tn_poller_register(s, count_poll, &a);
	b.id = tn_poller_register(s, count_poll, &b);
	c.id = tn_poller_register(s, count_poll, &c); /* the last one */
	for (int i = 0; i < 5; i++)
		tn_sched_run_once(s);
	assert_int_equal(a.calls, 3);
	assert_int_equal(b.calls, 5);
	assert_int_equal(c.calls, 2);
	assert_int_equal(tn_poller_unregister(s, a.id), -ENOENT);
	assert_int_equal(tn_poller_unregister(s, c.id), -ENOENT);
	assert_int_equal(tn_poller_unregister(s, b.id), 0);
}

/* ---- what a turn reports ---- */

static struct tn_future *poll_future;
static unsigned poll_calls;

static bool resolving_poll(void *arg)
{
	if (++poll_calls == 5) {
		assert_int_equal(tn_future_resolve(poll_future, 99), 0);
		return true;
	}
	return false;
}

static intptr_t await_poll_future(void *arg)
{
	intptr_t v = 0;
	int err = tn_await(poll_future, &v);

	return err ? err : v;
}

static intptr_t ret_one(void *arg)
{
	return 1;
}

static void noop_timer(struct tn_timer *t, void *arg)
{
	++*(int *)arg;
}

static int out_err;
static intptr_t out_val;

static void collect(void *arg, int err, intptr_t v)
{
	out_err = err;
	out_val = v;
}

static void test_run_once_reports_activity(void **state)
{
	struct tn_sched *s = *state;
	struct tn_future *f;
	struct tn_timer tm;
	int fired = 0, id;
	bool did;

	assert_false(tn_sched_run_once(s)); /* nothing at all */

	/* A ready task. */
	f = tn_task_join(tn_task_spawn(ret_one, NULL));
	assert_true(tn_sched_has_ready(s));
	assert_true(tn_sched_run_once(s));
	assert_false(tn_sched_has_ready(s));
	assert_true(tn_future_done(f));
	tn_future_detach(f);
	assert_false(tn_sched_run_once(s));

	/* A timer: not due yet, then due. */
	tn_timer_init(&tm, noop_timer, &fired);
	tn_timer_start(&tm, tn_test_clock_ns + TN_NS_PER_MS);
	assert_false(tn_sched_run_once(s));
	tn_test_clock_ns += 2 * TN_NS_PER_MS;
	assert_true(tn_sched_run_once(s));
	assert_int_equal(fired, 1);
	assert_false(tn_sched_run_once(s));

	/* A task woken by a poller: false while the poller finds nothing,
	 * true when it resolves, true when the task runs. */
	poll_calls = 0;
	poll_future = tn_future_create();
	f = tn_task_join(tn_task_spawn(await_poll_future, NULL));
	id = tn_poller_register(s, resolving_poll, NULL);
	assert_true(id >= 0);
	assert_true(tn_sched_run_once(s)); /* the task runs and waits */
	assert_false(tn_future_done(f));
	for (int i = 0; i < 3; i++)
		assert_false(tn_sched_run_once(s));
	did = tn_sched_run_once(s); /* 5th poll: resolves, task runs */
	assert_true(did);
	assert_int_equal(poll_calls, 5);
	assert_true(tn_future_done(f));
	assert_false(tn_sched_run_once(s));
	assert_int_equal(tn_poller_unregister(s, id), 0);
	/* Consume the result from outside a task. */
	out_err = -1;
	out_val = 0;
	tn_future_then(f, collect, NULL);
	assert_int_equal(out_err, 0);
	assert_int_equal(out_val, 99);
}

/* ---- statistics ---- */

static intptr_t yielder(void *arg)
{
	for (int i = 0; i < 10; i++)
		assert_int_equal(tn_yield(), 0);
	return 0;
}

static void test_stats(void **state)
{
	struct tn_sched *s = *state;
	struct tn_sched_stats a, b, c;
	struct tn_future *fs[2], *f;
	struct tn_timer tm;
	int fired = 0, turns = 0;

	a = stats_of(s);
	assert_int_equal(a.live_tasks, 0);
	assert_int_equal(a.live_futures, 0);
	assert_int_equal(a.live_timers, 0);
	assert_int_equal(a.stacks_in_use, 0);
	assert_int_equal(a.idle_sleeps, 0);

	fs[0] = tn_task_join(tn_task_spawn(yielder, NULL));
	fs[1] = tn_task_join(tn_task_spawn(yielder, NULL));
	f = tn_future_create();
	tn_timer_init(&tm, noop_timer, &fired);
	tn_timer_start(&tm, tn_test_clock_ns + TN_NS_PER_S);
	b = stats_of(s);
	assert_int_equal(b.live_tasks, 2);
	assert_int_equal(b.live_futures, 3); /* two joins and f */
	assert_int_equal(b.live_timers, 1);
	assert_int_equal(b.stacks_in_use, 2);

	while (!tn_future_done(fs[0]) || !tn_future_done(fs[1])) {
		tn_sched_run_once(s);
		assert_true(++turns < 1000);
	}
	c = stats_of(s);
	/* Two tasks yielding to each other 10 times each. */
	assert_in_range(c.switches - b.switches, 20, UINT64_MAX);
	assert_int_equal(c.loop_turns - b.loop_turns, turns);
	assert_int_equal(c.stacks_in_use, 0);
	assert_in_range(c.stacks_cached, 1, UINT64_MAX);
	assert_int_equal(c.live_tasks, 0);
	assert_int_equal(c.live_futures, 3); /* until consumed */
	assert_int_equal(c.idle_sleeps, 0); /* a virtual clock never sleeps */
	tn_future_detach(fs[0]);
	tn_future_detach(fs[1]);
	tn_future_resolve(f, 1);
	tn_future_detach(f);
	assert_true(tn_timer_cancel(&tm));
	c = stats_of(s);
	assert_int_equal(c.live_tasks, 0);
	assert_int_equal(c.live_futures, 0);
	assert_int_equal(c.live_timers, 0);
	assert_int_equal(fired, 0);
}

/* ---- one scheduler per thread ---- */

static intptr_t nested_run_main(void *arg)
{
	return 1;
}

static intptr_t create_in_task(void *arg)
{
	errno = 0;
	if (tn_sched_create(NULL) != NULL)
		return -EPROTO;
	return errno == EEXIST ? 0 : -EPROTO;
}

static void *other_thread(void *arg)
{
	struct tn_sched *s;
	struct tn_future *f;
	intptr_t *out = arg;

	*out = -1;
	if (tn_sched_self() != NULL)
		return NULL;
	s = tn_sched_create(NULL);
	if (!s)
		return NULL;
	f = tn_task_join(tn_task_spawn(ret_one, NULL));
	while (!tn_future_done(f))
		tn_sched_run_once(s);
	tn_future_detach(f);
	tn_sched_destroy(s);
	*out = tn_sched_self() == NULL ? 0 : -2;
	return NULL;
}

static void test_one_scheduler_per_thread(void **state)
{
	struct tn_sched *s = *state;
	pthread_t th;
	intptr_t r = 0;

	assert_ptr_equal(tn_sched_self(), s);
	errno = 0;
	assert_null(tn_sched_create(NULL));
	assert_int_equal(errno, EEXIST);
	/* tn_run makes its own scheduler: refused here. */
	assert_int_equal(tn_run(nested_run_main, NULL, &r, NULL), -EEXIST);
	assert_ptr_equal(tn_sched_self(), s);
	assert_int_equal(tn_test_run(create_in_task, NULL, NULL), 0);
	/* Another thread has its own. */
	assert_int_equal(pthread_create(&th, NULL, other_thread, &r), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(r, 0);
	assert_ptr_equal(tn_sched_self(), s);
}

/* ---- tn_run (its own scheduler on the real clock: no fixture) ----
 * Mains record failures instead of asserting, so a failure never jumps
 * out of a task of a scheduler that then stays on this thread. */

static int bad_line;
#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c) && !bad_line)                                         \
			bad_line = __LINE__;                                   \
	} while (0)

/* Captures stderr around tn_run: its leak report must stay empty. */
static FILE *cap;
static int saved_stderr = -1;

static void capture_begin(void)
{
	fflush(stderr);
	cap = tmpfile();
	assert_non_null(cap);
	saved_stderr = dup(2);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fileno(cap), 2) >= 0);
}

static void capture_end_expect_clean(void)
{
	char buf[4096];
	size_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	rewind(cap);
	n = fread(buf, 1, sizeof(buf) - 1, cap);
	buf[n] = 0;
	fclose(cap);
	if (n)
		fail_msg("tn_run wrote to stderr: %s", buf);
}

static int run_clean(intptr_t (*fn)(void *), void *arg, intptr_t *result,
		     const struct tn_sched_config *cfg)
{
	int err;

	assert_null(tn_sched_self());
	bad_line = 0;
	capture_begin();
	err = tn_run(fn, arg, result, cfg);
	capture_end_expect_clean();
	if (bad_line)
		fail_msg("check failed at line %d", bad_line);
	assert_null(tn_sched_self()); /* destroyed */
	return err;
}

static intptr_t ret_arg(void *arg)
{
	return (intptr_t)arg;
}

static intptr_t result_main(void *arg)
{
	struct tn_future *f = tn_task_join(tn_task_spawn(ret_arg, (void *)(intptr_t)40));
	intptr_t v = 0;

	CHECK(tn_await(f, &v) == 0);
	CHECK(tn_sleep(TN_NS_PER_US) == 0);
	return v + (intptr_t)arg;
}

static void test_run_result(void **state)
{
	intptr_t r = 0;

	assert_int_equal(run_clean(result_main, (void *)2, &r, NULL), 0);
	assert_int_equal(r, 42);
	assert_int_equal(run_clean(ret_arg, (void *)(intptr_t)-ENOENT, &r, NULL), -ENOENT);
	assert_int_equal(run_clean(ret_arg, (void *)(intptr_t)-5000, &r, NULL), 0);
	assert_int_equal(r, -5000); /* not an error code */
	assert_int_equal(run_clean(ret_arg, NULL, NULL, NULL), 0);
}

/* Main waits on a future nobody will resolve. */
static int deadlock_await_err;

static intptr_t deadlock_main(void *arg)
{
	struct tn_future *f = tn_future_create();

	deadlock_await_err = tn_await(f, NULL);
	/* The producer side learns of the cancellation and lets go. */
	CHECK(tn_future_reject(f, -EIO) == -ECANCELED);
	return 5;
}

/* Same, one task removed: main joins a child that waits forever. */
static int deadlock_child_err;

static intptr_t deadlock_child(void *arg)
{
	struct tn_future *f = tn_future_create();
	int err = tn_await(f, NULL);

	deadlock_child_err = err;
	tn_future_reject(f, -EIO);
	return err;
}

static intptr_t deadlock_join_main(void *arg)
{
	return tn_await(tn_task_join(tn_task_spawn(deadlock_child, NULL)), NULL);
}

/* A poller that came and went leaves nothing that could wake main. */
static intptr_t deadlock_after_poller_main(void *arg)
{
	struct tn_sched *s = tn_sched_self();
	struct tn_future *f = tn_future_create();
	unsigned calls = 0;
	int id = tn_poller_register(s, every_other_poll, &calls);

	CHECK(id >= 0);
	CHECK(tn_sleep(TN_NS_PER_US) == 0); /* through the loop */
	CHECK(tn_poller_unregister(s, id) == 0);
	deadlock_await_err = tn_await(f, NULL);
	CHECK(calls >= 1);
	tn_future_reject(f, -EIO);
	return 0;
}

static void test_run_deadlock(void **state)
{
	intptr_t r = 123;

	deadlock_await_err = 0;
	assert_int_equal(run_clean(deadlock_main, NULL, &r, NULL), -EDEADLK);
	/* main was cancelled on the way out */
	assert_int_equal(deadlock_await_err, -ECANCELED);

	deadlock_child_err = 0;
	assert_int_equal(run_clean(deadlock_join_main, NULL, NULL, NULL), -EDEADLK);
	assert_int_equal(deadlock_child_err, -ECANCELED);

	deadlock_await_err = 0;
	assert_int_equal(run_clean(deadlock_after_poller_main, NULL, NULL, NULL), -EDEADLK);
	assert_int_equal(deadlock_await_err, -ECANCELED);
}

/* Leftover tasks are cancelled when main returns. */
static int leftover_sleep_err, leftover_wait_err, spinner_err;

static intptr_t leftover_sleeper(void *arg)
{
	leftover_sleep_err = tn_sleep(3600 * TN_NS_PER_S);
	return leftover_sleep_err;
}

static intptr_t leftover_waiter(void *arg)
{
	struct tn_future *f = tn_future_create();

	leftover_wait_err = tn_await(f, NULL);
	tn_future_reject(f, -EIO);
	return 0;
}

static intptr_t spinner(void *arg)
{
	int err;

	while ((err = tn_yield()) == 0)
		;
	spinner_err = err;
	return err;
}

static intptr_t leftovers_main(void *arg)
{
	tn_task_detach(tn_task_spawn(leftover_sleeper, NULL));
	tn_task_detach(tn_task_spawn(leftover_waiter, NULL));
	tn_task_detach(tn_task_spawn(spinner, NULL)); /* always ready */
	CHECK(tn_yield() == 0); /* they all started */
	CHECK(tn_sleep(TN_NS_PER_US) == 0);
	return 7;
}

static void test_run_cancels_leftovers(void **state)
{
	intptr_t r = 0;

	leftover_sleep_err = leftover_wait_err = 1;
	spinner_err = 1;
	/* Would take an hour if the sleeper were waited for. */
	assert_int_equal(run_clean(leftovers_main, NULL, &r, NULL), 0);
	assert_int_equal(r, 7);
	assert_int_equal(leftover_sleep_err, -ECANCELED);
	assert_int_equal(leftover_wait_err, -ECANCELED);
	assert_int_equal(spinner_err, -ECANCELED);
}

/* A poller is a source of progress: no deadlock while it can resolve. */
static intptr_t poller_main(void *arg)
{
	struct tn_sched *s = tn_sched_self();
	intptr_t v = 0;
	int id;

	poll_calls = 0;
	poll_future = tn_future_create();
	id = tn_poller_register(s, resolving_poll, NULL);
	CHECK(id >= 0);
	CHECK(tn_await(poll_future, &v) == 0);
	CHECK(poll_calls == 5);
	CHECK(tn_poller_unregister(s, id) == 0);
	return v;
}

static void test_run_with_poller(void **state)
{
	intptr_t r = 0;

	assert_int_equal(run_clean(poller_main, NULL, &r, NULL), 0);
	assert_int_equal(r, 99);
}

/* ---- the idle policy on the real clock (no timing assertions) ---- */

static void test_idle_sleep_until_timer(void **state)
{
	struct tn_sched_config cfg = {.idle = TN_IDLE_SLEEP};
	struct tn_sched *s;
	struct tn_timer tm;
	struct tn_sched_stats st;
	uint64_t d;
	int fired = 0;
	long turns = 0;

	s = tn_sched_create(&cfg);
	assert_non_null(s);
	tn_timer_init(&tm, noop_timer, &fired);
	d = tn_now() + 2 * TN_NS_PER_MS;
	tn_timer_start(&tm, d);
	while (!fired && ++turns < 100000000)
		tn_sched_run_once(s);
	st = stats_of(s);
	tn_sched_destroy(s);
	assert_int_equal(fired, 1);
	assert_in_range(st.idle_sleeps, 1, UINT64_MAX);
	assert_int_equal(st.live_timers, 0);
}

static bool every_other_poll(void *arg)
{
	return ++*(unsigned *)arg % 2 == 0;
}

/* A poller that finds work every other turn: the loop sleeps after each
 * turn in which nothing happened, and only then. */
static void test_idle_sleep_after_idle_turns(void **state)
{
	struct tn_sched_config cfg = {.idle = TN_IDLE_SLEEP,
				      .idle_sleep_max = 20 * TN_NS_PER_US};
	struct tn_sched *s = tn_sched_create(&cfg);
	struct tn_sched_stats st;
	unsigned calls = 0;
	int id;

	assert_non_null(s);
	id = tn_poller_register(s, every_other_poll, &calls);
	assert_true(id >= 0);
	for (int i = 1; i <= 10; i++)
		assert_int_equal(tn_sched_run_once(s), i % 2 == 0);
	st = stats_of(s);
	assert_int_equal(tn_poller_unregister(s, id), 0);
	tn_sched_destroy(s);
	assert_int_equal(calls, 10);
	assert_int_equal(st.idle_sleeps, 5);
}

static void test_idle_poll_spins_with_poller(void **state)
{
	struct tn_sched_config cfg = {.idle = TN_IDLE_POLL};
	struct tn_sched *s = tn_sched_create(&cfg);
	struct pcount p = {.ret = false};
	struct tn_sched_stats st;
	struct tn_timer tm;
	int fired = 0;

	assert_non_null(s);
	p.id = tn_poller_register(s, count_poll, &p);
	assert_true(p.id >= 0);
	tn_timer_init(&tm, noop_timer, &fired);
	tn_timer_start(&tm, tn_now() + 3600 * TN_NS_PER_S);
	for (int i = 0; i < 1000; i++)
		assert_false(tn_sched_run_once(s));
	st = stats_of(s);
	assert_int_equal(p.calls, 1000);
	assert_int_equal(st.idle_sleeps, 0);
	/* Without pollers an idle turn sleeps (up to 1 ms: the timer is an
	 * hour away). */
	assert_int_equal(tn_poller_unregister(s, p.id), 0);
	for (int i = 0; i < 3; i++)
		assert_false(tn_sched_run_once(s));
	st = stats_of(s);
	assert_true(tn_timer_cancel(&tm));
	tn_sched_destroy(s);
	assert_int_equal(p.calls, 1000);
	assert_int_equal(st.idle_sleeps, 3);
	assert_int_equal(fired, 0);
}

/* tn_run with TN_IDLE_SLEEP: a 2 ms sleep completes, by sleeping. */
static int idle_sleep_err;
static uint64_t idle_sleeps_seen;

static intptr_t idle_main(void *arg)
{
	uint64_t t0 = tn_now();
	struct tn_sched_stats st;

	idle_sleep_err = tn_sleep(2 * TN_NS_PER_MS);
	CHECK(tn_now() >= t0 + 2 * TN_NS_PER_MS); /* never early */
	tn_sched_get_stats(tn_sched_self(), &st);
	idle_sleeps_seen = st.idle_sleeps;
	return 3;
}

static void test_run_idle_sleep(void **state)
{
	struct tn_sched_config cfg = {.idle = TN_IDLE_SLEEP};
	intptr_t r = 0;

	idle_sleep_err = 1;
	idle_sleeps_seen = 0;
	assert_int_equal(run_clean(idle_main, NULL, &r, &cfg), 0);
	assert_int_equal(r, 3);
	assert_int_equal(idle_sleep_err, 0);
	assert_in_range(idle_sleeps_seen, 1, UINT64_MAX);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tn_test_setup, tn_test_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_pollers_each_turn),
		T(test_pollers_full_and_bad_ids),
		T(test_poller_unregisters_itself),
		T(test_run_once_reports_activity),
		T(test_stats),
		T(test_one_scheduler_per_thread),
		cmocka_unit_test(test_run_result),
		cmocka_unit_test(test_run_deadlock),
		cmocka_unit_test(test_run_cancels_leftovers),
		cmocka_unit_test(test_run_with_poller),
		cmocka_unit_test(test_idle_sleep_until_timer),
		cmocka_unit_test(test_idle_sleep_after_idle_turns),
		cmocka_unit_test(test_idle_poll_spins_with_poller),
		cmocka_unit_test(test_run_idle_sleep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
