/* Tasks: coroutines on their own stacks, run to completion on one core.
 *
 * A task function returns an intptr_t.  A value in [-4095, -1] is an
 * error (the Linux ERR_PTR convention): the task's join future is then
 * rejected with it; anything else resolves the join future.
 */
#ifndef TERN_TASK_H
#define TERN_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tn_task;
struct tn_future;

typedef intptr_t (*tn_task_fn)(void *arg);

#define TN_IS_ERR(v) ((intptr_t)(v) < 0 && (intptr_t)(v) >= -4095)

struct tn_task_opts {
	size_t stack_size; /* 0: the scheduler's default */
	const char *name;  /* for diagnostics; not copied */
	/* Tasks share the core's floating-point environment (rounding mode,
	 * exception masks: MXCSR and the x87 control word, or FPCR), as
	 * goroutines and Seastar threads do; saving it on every switch would
	 * double the switch's cost.  A task that changes it must set fpenv:
	 * its environment is then saved and restored around its switches,
	 * starting from its spawner's. */
	bool fpenv;
};

/* Spawns a task on the calling thread's scheduler; it runs after the
 * tasks already ready (FIFO).  The child inherits a copy of the caller's
 * context variables.  Returns a handle that must be passed to exactly one
 * of tn_task_join or tn_task_detach; NULL with errno on failure. */
struct tn_task *tn_task_spawn(tn_task_fn fn, void *arg);
struct tn_task *tn_task_spawn_opts(tn_task_fn fn, void *arg,
				   const struct tn_task_opts *opts);

/* Trades the handle for the future of the task's result (consumes the
 * handle).  Cancelling that future cancels the task. */
struct tn_future *tn_task_join(struct tn_task *t);

/* Gives up the handle: the task runs on and its result is dropped. */
void tn_task_detach(struct tn_task *t);

/* Requests cancellation (asyncio's Task.cancel()): the await the task is
 * blocked in, or else its next await, returns -ECANCELED.  A task that
 * never started does not run at all.  Each call adds one to the task's
 * cancellation count.  Returns 0, or -ESRCH if the task already ended. */
int tn_task_cancel(struct tn_task *t);

/* asyncio's uncancel()/cancelling(): the count of pending cancellation
 * requests of the current task.  uncancel decrements it and returns the
 * new count; when it reaches zero an undelivered request is dropped. */
unsigned tn_task_uncancel(void);
unsigned tn_task_cancelling(void);

/* Gives the other ready tasks a turn.  An await point: returns 0 or
 * -ECANCELED (-EPERM outside a task). */
int tn_yield(void);

/* The running task, or NULL outside tasks. */
struct tn_task *tn_task_current(void);

const char *tn_task_name(const struct tn_task *t);

/* Building blocks for custom awaitables.  tn_task_suspend parks the
 * current task until tn_task_resume (returns 0) or a cancellation
 * (returns -ECANCELED, delivering it like any await point).  Resumes
 * may be spurious: re-check the condition you wait for.
 * Resuming a finished task asserts; resuming a task that is not parked
 * does nothing. */
int tn_task_suspend(void);
void tn_task_resume(struct tn_task *t);

#ifdef __cplusplus
}
#endif
#endif
