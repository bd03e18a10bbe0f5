/* Tasks: spawn, park/wake, cancellation, completion.
 *
 * Switching is symmetric: a task that parks switches straight to the next
 * ready task and only falls back to the loop's context when the ready
 * queue is empty or the loop turn's budget is spent.  A yield between two
 * tasks is therefore one context switch, not two. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "tn_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define ASAN_START(fake, bottom, size) __sanitizer_start_switch_fiber(fake, bottom, size)
#define ASAN_FINISH(fake) __sanitizer_finish_switch_fiber(fake, NULL, NULL)
#else
#define ASAN_START(fake, bottom, size) ((void)(fake), (void)(bottom), (void)(size))
#define ASAN_FINISH(fake) ((void)(fake))
#endif

static inline struct tn_task *ready_pop(struct tn_sched *s)
{
	struct tn_task *t = s->ready_head;

	if (t) {
		s->ready_head = t->next;
		if (!s->ready_head)
			s->ready_tail = NULL;
	}
	return t;
}

/* Releases the stack of a task that finished on it, now that we are off it. */
static inline void reap(struct tn_sched *s)
{
	if (TN_UNLIKELY(s->dead_stack)) {
		tn__stack_unmap(&s->stacks, s->dead_stack);
		s->dead_stack = NULL;
	}
}

/* The task (or the loop) that runs after the current one stops running. */
static inline void *next_sp(struct tn_sched *s, struct tn_task **who)
{
	struct tn_task *n = NULL;

	if (s->budget && (n = ready_pop(s)) != NULL)
		s->budget--;
	*who = n;
	s->current = n;
	s->switches++;
	if (n) {
		n->state = TN_TASK_RUNNING;
		return n->sp;
	}
	return s->loop_sp;
}

static inline const void *stack_bottom(struct tn_sched *s, struct tn_task *n)
{
	return n ? (char *)n->stack->base + s->stacks.page : NULL;
}

static inline size_t stack_len(struct tn_sched *s, struct tn_task *n)
{
	return n ? n->stack->size - s->stacks.page : 0;
}

/* Private FP environments (opts.fpenv): leaving such a task restores the
 * core's environment, entering one installs its own.  Never taken by
 * ordinary tasks beyond two predictable branches. */
static inline void fpenv_switch(struct tn_sched *s, struct tn_task *from, struct tn_task *to)
{
	if (TN_UNLIKELY(from && from->fpenv)) {
		tn__fpenv_save(&from->env);
		tn__fpenv_load(&s->core_env);
	}
	if (TN_UNLIKELY(to && to->fpenv)) {
		tn__fpenv_save(&s->core_env);
		tn__fpenv_load(&to->env);
	}
}

/* The context switch proper.  Its only caller is park(), so every task
 * switch goes through this one call of tn__ctx_switch and the switch's ret
 * always returns to the same address, which the CPU's return-stack buffer
 * predicts.  from is the task whose FP environment and ASan fiber state
 * are saved (NULL: a worker that has no task any more). */
static inline __attribute__((always_inline)) void switch_out(struct tn_sched *s, void **save_sp,
							     struct tn_task *from, void **fake_stack)
{
	struct tn_task *n;
	void *sp = next_sp(s, &n);

	fpenv_switch(s, from, n);
	ASAN_START(fake_stack, n ? stack_bottom(s, n) : s->loop_stack_bottom,
		   n ? stack_len(s, n) : s->loop_stack_size);
	tn__ctx_switch(save_sp, sp);
	/* Work after the call keeps it a real call (not a tail jump), so the
	 * switch's ret lands on this one return address every time. */
	ASAN_FINISH(fake_stack ? *fake_stack : NULL);
	reap(s);
}

static void **worker_run(struct tn_sched *s);

/* The one place a context parks: a task that waits (t != NULL), or a
 * worker whose task has ended (t == NULL, its context saved in
 * *save_sp).
 *
 * A parked worker is resumed by the spawn that takes its stack, and it
 * runs its new task from right here instead of returning to
 * worker_main.  That keeps the return-stack buffer in step across the
 * switches between a task and a worker: both left through this very
 * call of switch_out, so the first return after the switch is
 * predicted, and the worker then calls (not returns into) the task's
 * function.  A worker that returned to its own loop would mispredict
 * once per switch (about 8 ns each on Zen 3), twice per spawn+join. */
static __attribute__((noinline)) void park(struct tn_sched *s, struct tn_task *t,
					   void **save_sp, void **fake_stack)
{
	void *dead;

	for (;;) {
		switch_out(s, save_sp, t, fake_stack);
		if (TN_LIKELY(t))
			return;
		save_sp = worker_run(s);
		if (TN_UNLIKELY(!save_sp)) {
			/* The pool is full: the next context unmaps this stack
			 * and this context is never resumed. */
			save_sp = &dead;
			fake_stack = NULL;
		}
	}
}

void tn__task_park(struct tn_sched *s, struct tn_task *t)
{
	/* A yield with nobody else ready (or the batch spent with only this
	 * task ready) continues without a switch. */
	if (s->ready_head == t && s->budget && !t->next) {
		s->ready_head = s->ready_tail = NULL;
		s->budget--;
		t->state = TN_TASK_RUNNING;
		return;
	}
	park(s, t, &t->sp, &t->asan_fake_stack);
}

static void task_free(struct tn_sched *s, struct tn_task *t)
{
	tn__pool_put(&s->task_pool, t);
}

static void join_cancel(struct tn_future *f, void *arg)
{
	struct tn_task *t = arg;

	/* The join future completes now; the task finishes its cancellation
	 * on its own and its late result is dropped. */
	tn_task_cancel(t);
}

/* Completes the join future of a task that returned r.  The common case
 * is done here in line: a task awaits the join and nothing else (a share,
 * an earlier cancel) is attached.  The awaiter still holds its reference,
 * so dropping the producer's cannot free t.  Everything else goes through
 * the general completion. */
static inline void join_complete(struct tn_task *t, intptr_t r)
{
	struct tn_future *f = &t->join;
	int err = TN_IS_ERR(r) ? (int)r : 0;

	if (TN_LIKELY(f->waiter_kind == W_TASK && !f->done && !f->shares)) {
		f->done = 1;
		f->err = err;
		f->value = err ? 0 : r;
		f->refs &= (uint8_t)~REF_PRODUCER;
		/* tn__task_wake without its owner check: the awaiter is on
		 * this core (tn_await checked f->sched).  It may be ready
		 * already, woken by a cancel. */
		if (f->task->state == TN_TASK_SUSPENDED) {
			f->task->state = TN_TASK_READY;
			tn__ready_push(t->sched, f->task);
		}
	} else if (err) {
		tn_future_reject(f, err);
	} else {
		tn_future_resolve(f, r);
	}
}

/* Completes a task that returned r: its join future, the live list, its
 * context.  The stack stays with the worker that ran it. */
static void task_finish(struct tn_sched *s, struct tn_task *t, intptr_t r)
{
	t->state = TN_TASK_DONE;
	if (t->handle_held)
		s->done_held++;
	if (t->all_prev)
		t->all_prev->all_next = t->all_next;
	else
		s->all_tasks = t->all_next;
	if (t->all_next)
		t->all_next->all_prev = t->all_prev;
	s->running_tasks--;
	tn__ctx_unref(s, t->ctx);
	t->ctx = NULL;
	t->stack = NULL;
	if (TN_UNLIKELY(t->fpenv))
		tn__fpenv_load(&s->core_env);
	/* Last: completing the join future may free t (tn__task_maybe_free). */
	join_complete(t, r);
}

/* Runs the task a worker has just been given (s->current) to its end.
 * Returns where the worker's context is saved when it parks: in its
 * stack's pool entry, warm, or NULL if the pool is full and the stack is
 * to be unmapped once left. */
static void **worker_run(struct tn_sched *s)
{
	struct tn_task *t = s->current;
	struct tn_stack *st = t->stack;
	intptr_t r;

	/* Cancelled before it ever ran: asyncio does not start it. */
	if (t->cancel_pending) {
		t->cancel_pending = false;
		r = -ECANCELED;
	} else {
		r = t->fn(t->arg);
	}
	task_finish(s, t, r);
	if (tn__stack_put_warm(&s->stacks, st))
		return &st->sp;
	s->dead_stack = st;
	return NULL;
}

/* A worker: what runs on each task stack.  When its task ends, the
 * worker parks itself, still warm, in the stack pool; the next spawn that
 * takes this stack resumes it inside park(), which runs the new task.  A
 * reused stack thus costs no initial frame and no trampoline, and a
 * task's start and end are ordinary switches through park(). */
static void worker_main(void *arg)
{
	struct tn_sched *s = tn__self;
	void *fake_stack = NULL, *dead;
	void **save_sp;

	(void)arg;
	ASAN_FINISH(NULL);
	reap(s);
	save_sp = worker_run(s);
	if (save_sp)
		park(s, NULL, save_sp, &fake_stack);
	else
		park(s, NULL, &dead, NULL);
	__builtin_unreachable();
}

/* Initialises a task's embedded join future with what a join needs.
 * The fields that only matter once a waiter registers (task, cb, cb_arg),
 * for a share (share_next) or once done (err, value) are written when
 * they start to matter, so a spawn does not pay for them. */
static inline void join_init(struct tn_task *t, struct tn_sched *s)
{
	struct tn_future *f = &t->join;

	f->sched = s;
	f->refs = REF_PRODUCER | REF_CONSUMER;
	f->done = f->cancelled = f->delivered = 0;
	f->waiter_kind = W_NONE;
	f->embedded = 1;
	f->cancel_fn = join_cancel;
	f->cancel_arg = t;
	f->dtor = NULL;
	f->shares = NULL;
}

/* Both spawn entry points inline this, so that tn_task_spawn (no opts)
 * drops every test on opts. */
static inline __attribute__((always_inline)) struct tn_task *
spawn(tn_task_fn fn, void *arg, const struct tn_task_opts *opts)
{
	struct tn_sched *s = tn__sched();
	unsigned cls = opts && opts->stack_size ? tn__stack_class(opts->stack_size) : s->stack_cls;
	struct tn_task *t;
	struct tn_stack *st;

	t = tn__pool_get(&s->task_pool);
	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	st = tn__stack_get(&s->stacks, cls);
	if (!st) {
		task_free(s, t);
		errno = ENOMEM;
		return NULL;
	}
	t->stack = st;
	/* A warm stack resumes its parked worker; a cold one starts one. */
	t->sp = st->sp ? st->sp : tn__ctx_make(tn__stack_top(st), worker_main, NULL);
	st->sp = NULL;
	t->sched = s;
	t->state = TN_TASK_READY;
	t->cancel_pending = false;
	t->handle_held = true;
	t->join_live = true;
	t->fpenv = opts && opts->fpenv;
	t->cancelling = 0;
	t->fn = fn;
	t->arg = arg;
	t->name = opts ? opts->name : NULL;
	if (TN_UNLIKELY(t->fpenv))
		tn__fpenv_save(&t->env); /* the spawner's environment */
	t->asan_fake_stack = NULL;
	t->ctx = tn__ctx_ref(s->current ? s->current->ctx : s->root_ctx);
	join_init(t, s);
	s->live_joins++;
	t->all_prev = NULL;
	t->all_next = s->all_tasks;
	if (s->all_tasks)
		s->all_tasks->all_prev = t;
	s->all_tasks = t;
	s->running_tasks++;
	tn__ready_push(s, t);
	return t;
}

struct tn_task *tn_task_spawn_opts(tn_task_fn fn, void *arg, const struct tn_task_opts *opts)
{
	return spawn(fn, arg, opts);
}

struct tn_task *tn_task_spawn(tn_task_fn fn, void *arg)
{
	return spawn(fn, arg, NULL);
}

static void release_handle(struct tn_task *t)
{
	TN_ASSERT(t->handle_held, "task handle used after join or detach");
	tn__check_owner(t->sched);
	t->handle_held = false;
	if (t->state == TN_TASK_DONE)
		t->sched->done_held--;
	tn__task_maybe_free(t);
}

struct tn_future *tn_task_join(struct tn_task *t)
{
	struct tn_future *f = &t->join;

	release_handle(t);
	return f;
}

void tn_task_detach(struct tn_task *t)
{
	/* Detach the future first: the handle keeps t alive meanwhile. */
	tn_future_detach(&t->join);
	release_handle(t);
}

int tn_task_cancel(struct tn_task *t)
{
	tn__check_owner(t->sched);
	if (t->state == TN_TASK_DONE)
		return -ESRCH;
	t->cancelling++;
	t->cancel_pending = true;
	if (t->state == TN_TASK_SUSPENDED)
		tn__task_wake(t);
	return 0;
}

unsigned tn_task_uncancel(void)
{
	struct tn_sched *s = tn__sched();
	struct tn_task *t = s->current;

	TN_ASSERT(t, "tn_task_uncancel outside a task");
	if (t->cancelling > 0 && --t->cancelling == 0)
		t->cancel_pending = false;
	return t->cancelling;
}

unsigned tn_task_cancelling(void)
{
	struct tn_sched *s = tn__sched();

	return s->current ? s->current->cancelling : 0;
}

int tn_yield(void)
{
	struct tn_task *t;
	int err;

	if ((err = tn__await_enter(&t)))
		return err;
	t->state = TN_TASK_READY;
	tn__ready_push(t->sched, t);
	tn__task_park(t->sched, t);
	return 0;
}

struct tn_task *tn_task_current(void)
{
	struct tn_sched *s = tn__self;

	return s ? s->current : NULL;
}

const char *tn_task_name(const struct tn_task *t)
{
	return t->name ? t->name : "task";
}

int tn_task_suspend(void)
{
	struct tn_task *t;
	int err;

	if ((err = tn__await_enter(&t)))
		return err;
	t->state = TN_TASK_SUSPENDED;
	tn__task_park(t->sched, t);
	return tn__take_cancel(t);
}

void tn_task_resume(struct tn_task *t)
{
	tn__task_wake(t);
}

void tn__task_cancel_all(struct tn_sched *s)
{
	struct tn_task *t;

	for (t = s->all_tasks; t; t = t->all_next)
		tn_task_cancel(t);
}

/* Runs ready tasks from the loop's context until the batch budget is
 * spent or none is ready.  Returns whether any ran. */
bool tn_sched_run_ready(struct tn_sched *s)
{
	struct tn_task *n;
	void *sp;

	tn__check_owner(s);
	if (!s->ready_head)
		return false;
	s->budget = s->batch;
	sp = next_sp(s, &n);
	fpenv_switch(s, NULL, n);
	ASAN_START(&s->loop_fake_stack, stack_bottom(s, n), stack_len(s, n));
	tn__ctx_switch(&s->loop_sp, sp);
	ASAN_FINISH(s->loop_fake_stack);
	s->current = NULL;
	reap(s);
	return true;
}
