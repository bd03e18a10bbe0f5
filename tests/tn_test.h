/* Shared fixture for the coro tests: a scheduler on a virtual clock, a
 * way to run a task to completion, and a leak check at teardown. */
#ifndef TN_TEST_H
#define TN_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <tern/coro.h>

/* The virtual clock every fixture scheduler reads, in ns. */
extern uint64_t tn_test_clock_ns;

/* cmocka setup/teardown: a fresh scheduler on the virtual clock; the
 * teardown fails the test if any task, future, timer or stack is still
 * live, then destroys the scheduler. */
int tn_test_setup(void **state);
int tn_test_teardown(void **state);

/* Spawns fn(arg) and runs the loop until it finishes.  When no task is
 * ready the virtual clock jumps to the next timer deadline.  Fails the
 * test if nothing can make progress.  Returns the task's error or 0 with
 * *result set. */
int tn_test_run(tn_task_fn fn, void *arg, intptr_t *result);

/* Runs loop turns until nothing is ready and no timer is due now (does
 * not move the virtual clock). */
void tn_test_settle(void);

/* Moves the virtual clock forward and runs what became due. */
void tn_test_advance(uint64_t ns);

/* Runs fn in a forked child and checks that it dies from SIGABRT (the
 * runtime's misuse asserts). */
void tn_test_expect_abort(void (*fn)(void));

#endif
