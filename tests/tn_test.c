#include "tn_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

uint64_t tn_test_clock_ns;

static uint64_t vclock(void *arg)
{
	(void)arg;
	return tn_test_clock_ns;
}

int tn_test_setup(void **state)
{
	struct tn_sched_config cfg = {
		.stack_size = 32 * 1024,
		.clock = vclock,
	};

	/* Failure messages must survive an abort. */
	setvbuf(stdout, NULL, _IONBF, 0);
	tn_test_clock_ns = 1000000000ull; /* not 0: catches "0 means unset" bugs */
	*state = tn_sched_create(&cfg);
	return *state ? 0 : -1;
}

int tn_test_teardown(void **state)
{
	struct tn_sched *s = *state;
	struct tn_sched_stats st;

	if (tn_task_current()) {
		/* An assertion failed inside a task and cmocka jumped off its
		 * stack: the scheduler cannot be unwound, stop here. */
		fprintf(stdout, "test failed inside a task; exiting\n");
		exit(1);
	}
	tn_test_settle();
	tn_sched_get_stats(s, &st);
	tn_sched_destroy(s);
	assert_int_equal(st.live_tasks, 0);
	assert_int_equal(st.live_futures, 0);
	assert_int_equal(st.live_timers, 0);
	assert_int_equal(st.stacks_in_use, 0);
	return 0;
}

void tn_test_settle(void)
{
	struct tn_sched *s = tn_sched_self();
	int guard = 0;

	while (tn_sched_has_ready(s) || tn_sched_next_deadline(s) <= tn_test_clock_ns) {
		tn_sched_run_once(s);
		assert_true(++guard < 10000000);
	}
}

void tn_test_advance(uint64_t ns)
{
	tn_test_clock_ns += ns;
	tn_test_settle();
}

struct out {
	int err;
	intptr_t v;
};

static void collect(void *a, int e, intptr_t val)
{
	((struct out *)a)->err = e;
	((struct out *)a)->v = val;
}

int tn_test_run(tn_task_fn fn, void *arg, intptr_t *result)
{
	struct tn_sched *s = tn_sched_self();
	struct tn_future *f = tn_task_join(tn_task_spawn(fn, arg));
	intptr_t v = 0;
	int err;

	for (;;) {
		tn_test_settle();
		if (tn_future_done(f))
			break;
		uint64_t next = tn_sched_next_deadline(s);
		if (next == UINT64_MAX)
			fail_msg("deadlock: the task waits and no timer is armed");
		tn_test_clock_ns = next;
	}
	/* Collect the result through a callback: we are not in a task. */
	struct out out = {0, 0};
	tn_future_then(f, collect, &out);
	err = out.err;
	v = out.v;
	if (result)
		*result = v;
	return err;
}

void tn_test_expect_abort(void (*fn)(void))
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Keep the expected panic message out of the test log. */
		if (!freopen("/dev/null", "w", stderr))
			_exit(3);
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}
