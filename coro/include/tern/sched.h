/* The per-core scheduler: one per thread, run-to-completion, no preemption.
 *
 * A scheduler owns everything a core's coroutines touch: the ready queue,
 * the timer wheel, the stack pool, the task and future pools and the
 * pollers.  Objects bound to one scheduler must never be touched from
 * another thread; every entry point asserts that.
 */
#ifndef TERN_SCHED_H
#define TERN_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tn_sched;

/* A clock in nanoseconds.  The default reads CLOCK_MONOTONIC (vDSO, no
 * syscall); tests install a virtual clock to make timers deterministic. */
typedef uint64_t (*tn_clock_fn)(void *arg);

enum tn_idle_mode {
	TN_IDLE_POLL = 0, /* spin while pollers exist: lowest latency */
	TN_IDLE_SLEEP = 1 /* sleep until the next timer when nothing happened */
};

struct tn_sched_config {
	size_t stack_size;       /* default task stack, bytes (0: 64 KiB) */
	unsigned batch;          /* task resumptions per loop turn (0: 64) */
	enum tn_idle_mode idle;  /* what the loop does when nothing happened */
	uint64_t idle_sleep_max; /* longest idle sleep, ns (0: 1 ms) */
	tn_clock_fn clock;       /* NULL: CLOCK_MONOTONIC */
	void *clock_arg;
	/* A custom clock that follows real time (e.g. the TSC), so the idle
	 * policy may sleep on it; a virtual clock (tests) leaves it false and
	 * idle turns never sleep. */
	bool clock_real;
};

/* Leak and activity counters, read by tests and printed at exit. */
struct tn_sched_stats {
	uint64_t live_tasks;
	uint64_t live_futures;
	uint64_t live_timers;
	uint64_t stacks_in_use;
	uint64_t stacks_cached;
	uint64_t switches;
	uint64_t loop_turns;
	uint64_t idle_sleeps;
};

/* Poller: called once per loop turn; returns whether it did any work. */
typedef bool (*tn_poll_fn)(void *arg);

/* Creates the calling thread's scheduler (one per thread); NULL cfg uses
 * defaults.  Returns NULL with errno set (EEXIST if the thread has one). */
struct tn_sched *tn_sched_create(const struct tn_sched_config *cfg);

/* Frees the scheduler.  Tasks still alive are a caller bug: it asserts
 * in debug builds and reports them on stderr otherwise; so are futures
 * never consumed (awaited, chained or detached). */
void tn_sched_destroy(struct tn_sched *s);

/* The calling thread's scheduler, or NULL. */
struct tn_sched *tn_sched_self(void);

/* One loop turn: pollers, timers, ready tasks, then the idle policy.
 * Returns whether anything happened. */
bool tn_sched_run_once(struct tn_sched *s);

/* The loop's phases, for loops that interleave their own (dataplane/).
 * Each returns whether it did work. */
uint64_t tn_sched_update_clock(struct tn_sched *s);
bool tn_sched_run_pollers(struct tn_sched *s);
bool tn_sched_run_timers(struct tn_sched *s);
bool tn_sched_run_ready(struct tn_sched *s);
/* Sleeps (when idle mode allows) until the next deadline; returns whether
 * it slept. */
bool tn_sched_idle(struct tn_sched *s);

/* Cancels every live task (what tn_run does before it returns); the
 * caller then runs loop turns until tn_sched_get_stats shows none left. */
void tn_sched_cancel_all(struct tn_sched *s);

/* Earliest timer deadline in ns, UINT64_MAX if none. */
uint64_t tn_sched_next_deadline(const struct tn_sched *s);
/* Whether any task is ready to run. */
bool tn_sched_has_ready(const struct tn_sched *s);

/* Registers a poller; returns an id >= 0 or -ENOSPC. */
int tn_poller_register(struct tn_sched *s, tn_poll_fn fn, void *arg);
/* Removes a poller by id; 0 or -ENOENT. */
int tn_poller_unregister(struct tn_sched *s, int id);

void tn_sched_get_stats(const struct tn_sched *s, struct tn_sched_stats *st);

/* Loop time in ns as of the current turn (asyncio's loop.time()). */
uint64_t tn_now(void);

/* asyncio.run(): creates this thread's scheduler, runs fn as the main task
 * until it returns, cancels and drains the tasks still alive, checks for
 * leaks and destroys the scheduler.  Returns 0 with *result set, the main
 * task's error, or -EDEADLK when every task waits on something that can
 * no longer happen (no ready task, timer or poller). */
int tn_run(intptr_t (*fn)(void *arg), void *arg, intptr_t *result,
	   const struct tn_sched_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
