/* coro/ internals shared between its files; not installed. */
#ifndef TN_CORO_INTERNAL_H
#define TN_CORO_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tern/coro.h"

/* Everything declared below is internal to libtern: hidden symbols are
 * called directly (no PLT) and can be inlined across the library. */
#pragma GCC visibility push(hidden)

#define TN_LIKELY(x) __builtin_expect(!!(x), 1)
#define TN_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Programming errors (another core's object, resuming a finished task)
 * abort with a message in every build type: they are cheap to check and
 * silent corruption is far worse. */
#define TN_ASSERT(cond, msg)                                                  \
	do {                                                                  \
		if (TN_UNLIKELY(!(cond)))                                     \
			tn__panic(__FILE__, __LINE__, #cond, msg);            \
	} while (0)

__attribute__((noreturn, cold)) void tn__panic(const char *file, int line,
					       const char *cond, const char *msg);

/* ---- context switch (switch_<arch>.S) ----
 * Saves the callee-saved registers and FP control words on the current
 * stack, stores the stack pointer in *from_sp, and resumes to_sp. */
void tn__ctx_switch(void **from_sp, void *to_sp);
/* Floating-point control state (x86-64: MXCSR + x87 CW; AArch64: FPCR),
 * saved and restored only for tasks spawned with opts.fpenv. */
struct tn_fpenv {
	uint64_t word;
};
void tn__fpenv_save(struct tn_fpenv *env);
void tn__fpenv_load(const struct tn_fpenv *env);
/* Builds the initial frame of a new context at the top of a stack so that
 * the first switch to it calls entry(arg) on that stack. */
void *tn__ctx_make(void *stack_top, void (*entry)(void *), void *arg);

/* ---- object pools (obj_pool.c): per-core free lists, no per-op malloc ---- */
struct tn_pool_chunk;
struct tn_obj_pool {
	void *free;                  /* singly linked through the first word */
	struct tn_pool_chunk *chunks;
	size_t obj_size;
	size_t per_chunk;
	uint64_t live;
};
void tn__pool_init(struct tn_obj_pool *p, size_t obj_size, size_t per_chunk);
void tn__pool_fini(struct tn_obj_pool *p);
void *tn__pool_grow_get(struct tn_obj_pool *p);
static inline void *tn__pool_get(struct tn_obj_pool *p)
{
	void *o = p->free;
	if (TN_UNLIKELY(!o))
		return tn__pool_grow_get(p);
	p->free = *(void **)o;
	p->live++;
	return o;
}
static inline void tn__pool_put(struct tn_obj_pool *p, void *o)
{
	*(void **)o = p->free;
	p->free = o;
	p->live--;
}

/* ---- stacks (stack_pool.c): mmap'ed, guard page below, cached per size ---- */
struct tn_stack {
	void *base;  /* lowest address of the mapping (the guard page) */
	size_t size; /* whole mapping, guard included */
	struct tn_stack *next;
	void *sp;    /* a parked worker's context while cached warm, or NULL */
	unsigned cls;
};
#define TN_STACK_CLASSES 12 /* 16 KiB << k */
struct tn_stack_pool {
	struct tn_stack *free[TN_STACK_CLASSES];
	struct tn_obj_pool descs;
	uint64_t in_use, cached;
	size_t page;
};
void tn__stack_pool_init(struct tn_stack_pool *p);
void tn__stack_pool_fini(struct tn_stack_pool *p);
/* Maps a new stack of class k (none of that class is cached). */
struct tn_stack *tn__stack_map(struct tn_stack_pool *p, unsigned k);
#if defined(__SANITIZE_ADDRESS__)
/* A reused stack may hold poisoned frames of the task that ran on it. */
void tn__stack_unpoison(struct tn_stack_pool *p, struct tn_stack *st);
#else
static inline void tn__stack_unpoison(struct tn_stack_pool *p, struct tn_stack *st)
{
	(void)p, (void)st;
}
#endif

#define TN_STACK_MIN (16u * 1024)
/* Stacks kept for reuse beyond this are unmapped: a burst of 100,000
 * tasks must not pin their pages for the life of the core. */
#define TN_STACK_CACHE_MAX 4096

/* Class k holds stacks of TN_STACK_MIN << k usable bytes. */
static inline unsigned tn__stack_class(size_t size)
{
	unsigned k;

	if (size <= TN_STACK_MIN)
		return 0;
	k = (unsigned)(64 - __builtin_clzll((unsigned long long)size - 1)) - 14;
	return k < TN_STACK_CLASSES ? k : TN_STACK_CLASSES - 1;
}

/* A stack of class k; a cached one (maybe warm) if any, else a new
 * mapping.  Inline: it is on every spawn. */
static inline struct tn_stack *tn__stack_get(struct tn_stack_pool *p, unsigned k)
{
	struct tn_stack *st = p->free[k];

	if (TN_UNLIKELY(!st))
		return tn__stack_map(p, k);
	p->free[k] = st->next;
	p->cached--;
	p->in_use++;
	tn__stack_unpoison(p, st);
	return st;
}

/* Caches a stack whose worker is about to park on it (the caller saves
 * the context into st->sp as it switches away); false if the cache is
 * full and the stack must be unmapped (tn__stack_unmap) once left. */
static inline bool tn__stack_put_warm(struct tn_stack_pool *p, struct tn_stack *st)
{
	p->in_use--;
	if (TN_UNLIKELY(p->cached >= TN_STACK_CACHE_MAX))
		return false;
	st->next = p->free[st->cls];
	p->free[st->cls] = st;
	p->cached++;
	return true;
}

/* Returns a cold stack (no parked worker) to the cache, or unmaps it. */
void tn__stack_put(struct tn_stack_pool *p, struct tn_stack *st);
void tn__stack_unmap(struct tn_stack_pool *p, struct tn_stack *st);
static inline void *tn__stack_top(const struct tn_stack *st)
{
	return (char *)st->base + st->size;
}

/* ---- timer wheel (timer_wheel.c) ---- */
#define TN_WHEEL_BITS 6
#define TN_WHEEL_SLOTS (1u << TN_WHEEL_BITS)
#define TN_WHEEL_LEVELS 9 /* 54 bits: every ns >> 10 fits, no clamping */
#define TN_WHEEL_TICK_SHIFT 10 /* 1 tick = 1024 ns */
struct tn_timer_list {
	struct tn_timer *next, *prev; /* sentinel: same layout as tn_timer */
};
struct tn_wheel {
	uint64_t cur;                                  /* ticks processed */
	uint64_t seq;
	uint64_t count;
	/* A lower bound of next_event's answer (0: unknown).  A busy loop
	 * calls expire every turn with timers armed (a TCP connection's
	 * retransmission timer) and nothing due for many turns: this
	 * skips the bitmap walk on those turns. */
	uint64_t next_ev;
	uint64_t bitmap[TN_WHEEL_LEVELS];
	struct tn_timer_list due;                      /* expired, sorted */
	struct tn_timer_list slots[TN_WHEEL_LEVELS][TN_WHEEL_SLOTS];
};
void tn__wheel_init(struct tn_wheel *w, uint64_t now_ns);
void tn__wheel_add(struct tn_wheel *w, struct tn_timer *t);
void tn__wheel_del(struct tn_wheel *w, struct tn_timer *t);
/* The common case of tn__wheel_expire, inline for the loop's every turn:
 * nothing armed, or nothing before next_ev.  Then it moves cur up to
 * now_ns's tick (no event lies between cur and next_ev, so next_ev stays
 * right) and returns true: nothing to fire. */
static inline bool tn__wheel_quiet(struct tn_wheel *w, uint64_t now_ns)
{
	uint64_t target = now_ns >> TN_WHEEL_TICK_SHIFT;

	if (w->count && (target >= w->next_ev || w->due.next != (struct tn_timer *)&w->due))
		return false;
	if (target > w->cur)
		w->cur = target;
	return true;
}
/* Fires every timer due at now_ns; returns how many fired. */
unsigned tn__wheel_expire(struct tn_wheel *w, uint64_t now_ns);
uint64_t tn__wheel_next_deadline(const struct tn_wheel *w);

/* ---- context variables (ctxvar.c) ---- */
struct tn_ctx_entry {
	const struct tn_ctxvar *var;
	intptr_t value;
};

/* An immutable, reference-counted map shared by a task, its parent and
 * its children (copied on write). */
struct tn_ctx {
	unsigned refs;
	unsigned n, cap;
	unsigned pooled;
	struct tn_ctx_entry e[];
};

void tn__ctx_free(struct tn_sched *s, struct tn_ctx *c);

/* Inline: every spawn takes a reference and every finish drops one. */
static inline struct tn_ctx *tn__ctx_ref(struct tn_ctx *c)
{
	if (c)
		c->refs++;
	return c;
}

static inline void tn__ctx_unref(struct tn_sched *s, struct tn_ctx *c)
{
	if (c && --c->refs == 0)
		tn__ctx_free(s, c);
}

/* ---- tasks ---- */
enum { REF_PRODUCER = 1, REF_CONSUMER = 2 };
enum { W_NONE, W_TASK, W_CALLBACK, W_ANY };

/* ---- futures (future.c) ---- */
struct tn_future {
	struct tn_sched *sched;
	uint8_t refs;
	uint8_t done;
	uint8_t cancelled; /* completed by the consumer's cancel */
	uint8_t delivered; /* the value reached a consumer */
	uint8_t waiter_kind;
	uint8_t embedded;  /* a task's join future, inside struct tn_task */
	int err;
	intptr_t value;
	struct tn_task *task;
	tn_future_cb cb;
	void *cb_arg;
	tn_future_cancel_fn cancel_fn;
	void *cancel_arg;
	tn_value_dtor_fn dtor;
	struct tn_future *shares;     /* copies made by tn_future_share */
	struct tn_future *share_next;
};

static inline void tn__future_init(struct tn_future *f, struct tn_sched *s)
{
	f->sched = s;
	f->refs = REF_PRODUCER | REF_CONSUMER;
	f->done = f->cancelled = f->delivered = 0;
	f->waiter_kind = W_NONE;
	f->err = 0;
	f->value = 0;
	f->task = NULL;
	f->cb = NULL;
	f->cancel_fn = NULL;
	f->dtor = NULL;
	f->shares = NULL;
	f->share_next = NULL;
}

enum tn_task_state {
	TN_TASK_NEW,
	TN_TASK_READY,
	TN_TASK_RUNNING,
	TN_TASK_SUSPENDED,
	TN_TASK_DONE,
};

struct tn_task {
	void *sp;                 /* saved stack pointer while not running */
	struct tn_task *next;     /* ready queue link */
	struct tn_sched *sched;
	uint8_t state;
	bool cancel_pending;      /* a request not yet delivered to an await */
	bool handle_held;         /* the spawner still holds the handle */
	bool join_live;           /* the join future is not released yet */
	bool fpenv;               /* has a private FP environment */
	struct tn_fpenv env;      /* saved while not running, if fpenv */
	unsigned cancelling;      /* asyncio's cancelling() count */
	tn_task_fn fn;
	void *arg;
	struct tn_future join;    /* the result: lives in the task struct, which
				   * stays until the task ended, the handle was
				   * given up and the future consumed */
	struct tn_stack *stack;
	struct tn_ctx *ctx;
	const char *name;
	struct tn_task *all_next, *all_prev; /* live tasks, for draining */
	void *asan_fake_stack;
};

#define TN_MAX_POLLERS 32

struct tn_poller {
	tn_poll_fn fn;
	void *arg;
};

struct tn_sched {
	struct tn_task *current;  /* running task, NULL in the loop */
	struct tn_task *ready_head, *ready_tail;
	void *loop_sp;            /* loop context while a task runs */
	unsigned budget;          /* resumptions left in this batch */
	unsigned batch;
	uint64_t now;
	tn_clock_fn clock;
	void *clock_arg;
	bool clock_real;
	size_t stack_size;
	unsigned stack_cls;       /* tn__stack_class(stack_size) */
	enum tn_idle_mode idle;
	uint64_t idle_sleep_max;
	struct tn_stack *dead_stack; /* freed after switching off it */
	struct tn_fpenv core_env; /* shared FP env while an fpenv task runs */
	struct tn_task *all_tasks;
	uint64_t running_tasks;
	uint64_t done_held;       /* ended tasks whose handle is still held */
	uint64_t live_joins;      /* join futures not yet released */
	void *loop_fake_stack;    /* ASan fiber bookkeeping for the loop */
	const void *loop_stack_bottom;
	size_t loop_stack_size;
	struct tn_obj_pool task_pool;
	struct tn_obj_pool future_pool;
	struct tn_obj_pool ctx_pool;
	struct tn_stack_pool stacks;
	struct tn_ctx *root_ctx;
	struct tn_poller pollers[TN_MAX_POLLERS];
	unsigned npollers;
	uint64_t switches, loop_turns, idle_sleeps;
	struct tn_wheel wheel;    /* last: it is large */
};

/* initial-exec: a plain %fs-relative load instead of a __tls_get_addr
 * call on every access from the shared library.  (libtern cannot be
 * dlopen'ed into a process whose static TLS is exhausted; fine for a
 * runtime that owns the process.) */
extern __thread struct tn_sched *tn__self __attribute__((tls_model("initial-exec")));

static inline struct tn_sched *tn__sched(void)
{
	struct tn_sched *s = tn__self;
	TN_ASSERT(s, "no scheduler on this thread");
	return s;
}

static inline void tn__check_owner(const struct tn_sched *owner)
{
	TN_ASSERT(owner == tn__self, "object belongs to another core's scheduler");
}

/* Parks the current task and runs the next ready one (or the loop).
 * Returns when the task is resumed. */
void tn__task_park(struct tn_sched *s, struct tn_task *t);
static inline void tn__ready_push(struct tn_sched *s, struct tn_task *t)
{
	t->next = NULL;
	if (s->ready_tail)
		s->ready_tail->next = t;
	else
		s->ready_head = t;
	s->ready_tail = t;
}

/* The task struct goes once the task ended, its handle was given up and
 * its embedded join future was consumed. */
static inline void tn__task_maybe_free(struct tn_task *t)
{
	if (!t->handle_held && t->state == TN_TASK_DONE && !t->join_live)
		tn__pool_put(&t->sched->task_pool, t);
}

/* The last reference to a task's embedded join future is gone.  Inline:
 * it ends every awaited join. */
static inline void tn__task_join_released(struct tn_future *f)
{
	struct tn_task *t = (struct tn_task *)((char *)f - offsetof(struct tn_task, join));

	t->join_live = false;
	t->sched->live_joins--;
	tn__task_maybe_free(t);
}

/* Makes a suspended task ready (no-op if ready or running). */
static inline void tn__task_wake(struct tn_task *t)
{
	TN_ASSERT(t->state != TN_TASK_DONE, "resuming a finished task");
	if (t->state != TN_TASK_SUSPENDED)
		return;
	tn__check_owner(t->sched);
	t->state = TN_TASK_READY;
	tn__ready_push(t->sched, t);
}
/* Consumes a pending cancellation request at an await point: returns
 * -ECANCELED (and clears it) or 0. */
static inline int tn__take_cancel(struct tn_task *t)
{
	if (TN_UNLIKELY(t->cancel_pending)) {
		t->cancel_pending = false;
		return -ECANCELED;
	}
	return 0;
}
/* Cancels every live task (tn_run's shutdown). */
void tn__task_cancel_all(struct tn_sched *s);

/* How every await point begins: the running task in *tp (-EPERM outside
 * one), then delivery of a pending cancellation (-ECANCELED), else 0. */
static inline int tn__await_enter(struct tn_task **tp)
{
	struct tn_sched *s = tn__self;
	struct tn_task *t = s ? s->current : NULL;

	if (!t)
		return -EPERM;
	*tp = t;
	return tn__take_cancel(t);
}

/* futures (future.c) */
int tn__await(struct tn_future *f, intptr_t *value, bool *by_task);
/* Consumes a done future outside a task; returns its error. */
int tn__future_take(struct tn_future *f, intptr_t *value);
bool tn__future_try_watch(struct tn_future *f, struct tn_task *t);
void tn__future_unwatch(struct tn_future *f);

#pragma GCC visibility pop

#endif
