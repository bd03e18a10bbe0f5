/* Tasks: spawn, join, detach, yield order, results, errors, stacks. */
#include <errno.h>
#include <fenv.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tn_test.h"

static intptr_t ret_arg(void *arg)
{
	return (intptr_t)arg;
}

static intptr_t spawn_join_main(void *arg)
{
	struct tn_future *f = tn_task_join(tn_task_spawn(ret_arg, (void *)(intptr_t)42));
	intptr_t v = 0;

	assert_int_equal(tn_await(f, &v), 0);
	assert_int_equal(v, 42);
	return 7;
}

static void test_spawn_join(void **state)
{
	intptr_t v = 0;

	assert_int_equal(tn_test_run(spawn_join_main, NULL, &v), 0);
	assert_int_equal(v, 7);
}

static intptr_t ret_err(void *arg)
{
	return -ENOENT;
}

static intptr_t error_main(void *arg)
{
	struct tn_future *f = tn_task_join(tn_task_spawn(ret_err, NULL));
	intptr_t v = 99;

	assert_int_equal(tn_await(f, &v), -ENOENT);
	assert_int_equal(v, 0);
	return 0;
}

static void test_task_error(void **state)
{
	assert_int_equal(tn_test_run(error_main, NULL, NULL), 0);
	/* and the main task's own error reaches the caller */
	assert_int_equal(tn_test_run(ret_err, NULL, NULL), -ENOENT);
}

/* FIFO order: tasks run in spawn order and yields interleave them. */
static char trace[64];
static int ntrace;

static intptr_t tracer(void *arg)
{
	char c = (char)(intptr_t)arg;

	for (int i = 0; i < 3; i++) {
		trace[ntrace++] = c;
		assert_int_equal(tn_yield(), 0);
	}
	return 0;
}

static intptr_t order_main(void *arg)
{
	struct tn_future *fs[3];

	ntrace = 0;
	fs[0] = tn_task_join(tn_task_spawn(tracer, (void *)'a'));
	fs[1] = tn_task_join(tn_task_spawn(tracer, (void *)'b'));
	fs[2] = tn_task_join(tn_task_spawn(tracer, (void *)'c'));
	assert_int_equal(tn_gather(fs, 3, NULL, NULL), 0);
	trace[ntrace] = 0;
	return 0;
}

static void test_fifo_yield_order(void **state)
{
	assert_int_equal(tn_test_run(order_main, NULL, NULL), 0);
	assert_string_equal(trace, "abcabcabc");
}

/* A detached task still runs to completion and frees itself. */
static int detached_ran;

static intptr_t detached_body(void *arg)
{
	tn_yield();
	detached_ran = 1;
	return 5;
}

static intptr_t detach_main(void *arg)
{
	detached_ran = 0;
	tn_task_detach(tn_task_spawn(detached_body, NULL));
	return 0;
}

static void test_detach(void **state)
{
	assert_int_equal(tn_test_run(detach_main, NULL, NULL), 0);
	tn_test_settle();
	assert_int_equal(detached_ran, 1);
}

/* Joining a task that already finished. */
static intptr_t join_late_main(void *arg)
{
	struct tn_task *t = tn_task_spawn(ret_arg, (void *)(intptr_t)3);
	intptr_t v;

	assert_int_equal(tn_yield(), 0); /* t runs and finishes */
	assert_int_equal(tn_await(tn_task_join(t), &v), 0);
	assert_int_equal(v, 3);
	return 0;
}

static void test_join_after_finish(void **state)
{
	assert_int_equal(tn_test_run(join_late_main, NULL, NULL), 0);
}

/* 100,000 tasks spawned then joined, with stacks reused from the pool. */
#define MANY 100000

static intptr_t many_main(void *arg)
{
	static struct tn_future *fs[MANY];
	static intptr_t vals[MANY];

	for (intptr_t i = 0; i < MANY; i++) {
		struct tn_task *t = tn_task_spawn_opts(ret_arg, (void *)i,
					&(struct tn_task_opts){.stack_size = 16384});
		assert_non_null(t);
		fs[i] = tn_task_join(t);
	}
	assert_int_equal(tn_gather(fs, MANY, vals, NULL), 0);
	for (intptr_t i = 0; i < MANY; i++)
		assert_int_equal(vals[i], i);
	return 0;
}

static void test_100k_tasks(void **state)
{
	assert_int_equal(tn_test_run(many_main, NULL, NULL), 0);
}

/* Stack size per task is honoured: a task can use most of a large stack. */
static intptr_t deep(void *arg)
{
	size_t n = (size_t)arg;
	volatile char buf[n];

	memset((char *)buf, 1, n);
	return buf[n - 1];
}

static intptr_t stack_main(void *arg)
{
	struct tn_task *t = tn_task_spawn_opts(deep, (void *)(uintptr_t)(900 * 1024),
				&(struct tn_task_opts){.stack_size = 1024 * 1024, .name = "deep"});
	intptr_t v;

	assert_string_equal(tn_task_name(t), "deep");
	assert_int_equal(tn_await(tn_task_join(t), &v), 0);
	assert_int_equal(v, 1);
	return 0;
}

static void test_stack_size(void **state)
{
	assert_int_equal(tn_test_run(stack_main, NULL, NULL), 0);
}

/* Overflowing a stack hits the guard page (SIGSEGV), never a neighbour. */
static intptr_t overflow(void *arg)
{
	return deep((void *)(uintptr_t)(64 * 1024));
}

static void overflow_child(void)
{
	tn_test_run(overflow, NULL, NULL); /* 32 KiB default stacks */
}

static void test_guard_page(void **state)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		/* Let the kernel kill the child: a sanitizer's SIGSEGV handler
		 * would try to report from a stack that just overflowed and can
		 * hang there. */
		signal(SIGSEGV, SIG_DFL);
		overflow_child();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
}

/* New tasks start on a 16-byte aligned stack, as the ABI requires (SSE
 * spills and printf("%f") fault otherwise). */
static __attribute__((noinline)) uintptr_t frame_misalign(void)
{
	return (uintptr_t)__builtin_frame_address(0) & 15;
}

static intptr_t aligned_task(void *arg)
{
	char buf[64];

	assert_int_equal(frame_misalign(), 0);
	snprintf(buf, sizeof(buf), "%.3f", 3.14159);
	assert_string_equal(buf, "3.142");
	tn_yield();
	assert_int_equal(frame_misalign(), 0);
	return 0;
}

static void test_stack_alignment(void **state)
{
	assert_int_equal(tn_test_run(aligned_task, NULL, NULL), 0);
}

/* opts.fpenv: a task's own rounding mode survives its switches and never
 * leaks into the tasks that share the core's environment. */
static intptr_t round_up_task(void *arg)
{
	assert_int_equal(fesetround(FE_UPWARD), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(tn_yield(), 0);
		assert_int_equal(fegetround(), FE_UPWARD);
	}
	return 0;
}

static intptr_t default_round_task(void *arg)
{
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fegetround(), FE_TONEAREST);
		assert_int_equal(tn_yield(), 0);
	}
	return 0;
}

static intptr_t fpenv_main(void *arg)
{
	struct tn_future *fs[2];

	fs[0] = tn_task_join(tn_task_spawn_opts(round_up_task, NULL,
				&(struct tn_task_opts){.fpenv = true}));
	fs[1] = tn_task_join(tn_task_spawn(default_round_task, NULL));
	assert_int_equal(tn_gather(fs, 2, NULL, NULL), 0);
	assert_int_equal(fegetround(), FE_TONEAREST);
	return 0;
}

static void test_private_fpenv(void **state)
{
	assert_int_equal(tn_test_run(fpenv_main, NULL, NULL), 0);
	assert_int_equal(fegetround(), FE_TONEAREST);
}

/* Awaiting outside a task is refused, not a crash. */
static void test_await_outside_task(void **state)
{
	struct tn_future *f = tn_future_create();

	assert_int_equal(tn_await(f, NULL), -EPERM);
	assert_int_equal(tn_yield(), -EPERM);
	assert_int_equal(tn_sleep(1000), -EPERM);
	assert_int_equal(tn_task_suspend(), -EPERM);
	tn_future_resolve(f, 1);
	tn_future_detach(f);
}

/* Resuming a finished task is a programming error: it asserts. */
static struct tn_task *finished;

static void resume_finished(void)
{
	struct tn_sched *s = tn_sched_create(NULL);

	finished = tn_task_spawn(ret_arg, NULL);
	while (tn_sched_has_ready(s))
		tn_sched_run_once(s);
	tn_task_resume(finished);
}

static void test_resume_finished_asserts(void **state)
{
	tn_test_expect_abort(resume_finished);
}

/* Touching another core's scheduler asserts. */
#include <pthread.h>

static struct tn_future *foreign;

static void *other_core(void *arg)
{
	tn_future_resolve(foreign, 1); /* this thread has no scheduler */
	return NULL;
}

static void cross_core(void)
{
	pthread_t th;

	tn_sched_create(NULL);
	foreign = tn_future_create();
	pthread_create(&th, NULL, other_core, NULL);
	pthread_join(th, NULL);
}

static void test_cross_core_asserts(void **state)
{
	tn_test_expect_abort(cross_core);
}

/* suspend/resume: the building blocks of custom awaitables. */
static struct tn_task *parked;

static intptr_t parker(void *arg)
{
	parked = tn_task_current();
	return tn_task_suspend();
}

static intptr_t resumer_main(void *arg)
{
	struct tn_future *f = tn_task_join(tn_task_spawn(parker, NULL));

	tn_yield();
	assert_non_null(parked);
	tn_task_resume(parked);
	tn_task_resume(parked); /* not parked any more: no-op */
	return tn_await(f, NULL);
}

static void test_suspend_resume(void **state)
{
	assert_int_equal(tn_test_run(resumer_main, NULL, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_spawn_join, tn_test_setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_task_error, tn_test_setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_fifo_yield_order, tn_test_setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_detach, tn_test_setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_join_after_finish, tn_test_setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_100k_tasks, tn_test_setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_stack_size, tn_test_setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_guard_page, tn_test_setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_await_outside_task, tn_test_setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_stack_alignment, tn_test_setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_private_fpenv, tn_test_setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_suspend_resume, tn_test_setup, tn_test_teardown),
		cmocka_unit_test(test_resume_finished_asserts),
		cmocka_unit_test(test_cross_core_asserts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
