/* Timers on the per-core hierarchical timing wheel; sleeps and timeouts.
 *
 * Timer objects are embedded by the caller (no allocation); start and
 * cancel are O(1).  Timers with equal deadlines fire in the order they
 * were started.  A timer never fires before its deadline; it fires at
 * the first loop turn after it (the wheel's tick is 1.024 us).
 */
#ifndef TERN_TIMER_H
#define TERN_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tn_timer;
struct tn_task;
typedef void (*tn_timer_fn)(struct tn_timer *t, void *arg);

struct tn_timer {
	struct tn_timer *next, *prev; /* wheel slot list */
	uint64_t deadline;            /* ns */
	uint64_t seq;                 /* start order: ties fire FIFO */
	tn_timer_fn fn;
	void *arg;
	void *sched;                  /* owning scheduler while armed */
	uint16_t slot;                /* level * 64 + slot, or a list id */
	uint8_t armed;
};

#define TN_NS_PER_US 1000ull
#define TN_NS_PER_MS 1000000ull
#define TN_NS_PER_S 1000000000ull

void tn_timer_init(struct tn_timer *t, tn_timer_fn fn, void *arg);
/* Arms (or re-arms) the timer on the calling thread's scheduler. */
void tn_timer_start(struct tn_timer *t, uint64_t deadline_ns);
/* Disarms; returns true if it was armed. */
bool tn_timer_cancel(struct tn_timer *t);
static inline bool tn_timer_armed(const struct tn_timer *t) { return t->armed; }

/* Await points: sleep for / until a time.  0 or -ECANCELED (-EPERM
 * outside a task). */
int tn_sleep(uint64_t ns);
int tn_sleep_until(uint64_t deadline_ns);

/* asyncio.timeout() for any sequence of awaits:
 *
 *     struct tn_timeout to;
 *     tn_timeout_enter(&to, tn_now() + 5 * TN_NS_PER_MS);
 *     err = ...awaits...;
 *     err = tn_timeout_exit(&to, err);   -ECANCELED -> -ETIMEDOUT if ours
 *
 * On expiry the task is cancelled; exit turns that cancellation into
 * -ETIMEDOUT unless the task was also cancelled from elsewhere, which is
 * then reported as -ECANCELED (the count of tn_task_cancelling decides).
 */
struct tn_timeout {
	struct tn_timer timer;
	struct tn_task *task;
	uint64_t deadline; /* may be later than the timer's (reschedule) */
	unsigned cancelling_at_entry;
	bool expired;
};
void tn_timeout_enter(struct tn_timeout *to, uint64_t deadline_ns);
int tn_timeout_exit(struct tn_timeout *to, int err);

/* Moves an entered timeout's deadline (asyncio's Timeout.reschedule).
 * Later is a store: the timer stays filed where it was and, when it
 * fires before the new deadline, files itself again; so a loop of
 * requests can keep one scope and push its deadline per request
 * instead of entering and leaving one (a wheel insertion and removal,
 * ~180 instructions, on every round trip).  Earlier files the timer
 * again at once.  A timeout that already expired stays expired. */
void tn_timeout_reschedule(struct tn_timeout *to, uint64_t deadline_ns);
/* After an await under a kept scope (its deadline moved with
 * tn_timeout_reschedule before the await): err, or, if the scope fired
 * during the await, what a scope of the await's own would have given
 * (-ETIMEDOUT, or err when the await finished first: tn_timeout_exit),
 * the scope then entered again at deadline_ns, so the loop keeps it. */
int tn_timeout_renew(struct tn_timeout *to, int err, uint64_t deadline_ns);

#ifdef __cplusplus
}
#endif
#endif
