/* Futures: a value (intptr_t) or an error (negative errno), produced once.
 *
 * A future has one producer and one consumer.  The producer completes it
 * with tn_future_resolve or tn_future_reject; the consumer must do exactly
 * one of: await it (tn_await, tn_wait_for, tn_gather), chain a callback
 * (tn_future_then) or detach it.  A future never consumed is reported when
 * its scheduler is destroyed (an assert with TN_DEBUG, stderr otherwise).
 * A future has at most one waiter; more consumers need tn_future_share.
 * Futures belong to one core; they never cross cores (messages do).
 */
#ifndef TERN_FUTURE_H
#define TERN_FUTURE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tn_future;

/* Called when the consumer cancels a pending future (the producer should
 * stop work and still complete it, e.g. tn_future_reject(f, -ECANCELED)). */
typedef void (*tn_future_cancel_fn)(struct tn_future *f, void *arg);
/* Frees a resolved value that no consumer will ever see (detached or
 * cancelled consumers), so values that own memory (mbufs) never leak. */
typedef void (*tn_value_dtor_fn)(intptr_t value);
/* Completion callback for code that is not a task. */
typedef void (*tn_future_cb)(void *arg, int err, intptr_t value);

/* A pending future from the calling thread's per-core pool; NULL if out of
 * memory.  The caller holds both the producer and the consumer side. */
struct tn_future *tn_future_create(void);

/* Producer side: completes the future and releases the producer's
 * reference.  Returns 0, or -ECANCELED if the consumer cancelled it (the
 * value stays the producer's).  Completing twice asserts. */
int tn_future_resolve(struct tn_future *f, intptr_t value);
int tn_future_reject(struct tn_future *f, int err);

void tn_future_set_cancel(struct tn_future *f, tn_future_cancel_fn fn, void *arg);
void tn_future_set_dtor(struct tn_future *f, tn_value_dtor_fn fn);

/* Whether the future has completed (resolved, rejected or cancelled). */
int tn_future_done(const struct tn_future *f);

/* Consumer side.  Cancels a pending future: it completes with -ECANCELED
 * and the producer's cancel hook runs.  Does not consume it.  Returns 0
 * or -EALREADY if it was done. */
int tn_future_cancel(struct tn_future *f);

/* Awaits the future from a task and consumes it.  Returns its error or 0
 * with *value set (value may be NULL).  If the awaiting task is cancelled
 * the future is cancelled too and -ECANCELED returned; outside a task
 * returns -EPERM (the future is not consumed); -EBUSY if another waiter
 * is already registered (not consumed). */
int tn_await(struct tn_future *f, intptr_t *value);

/* tn_await with a timeout in ns: on expiry the future is cancelled and
 * -ETIMEDOUT returned.  A cancellation of the task itself still returns
 * -ECANCELED (the timeout never swallows it). */
int tn_wait_for(struct tn_future *f, uint64_t timeout_ns, intptr_t *value);

/* Awaits all n futures (consuming them); values[i]/errs[i] (either may be
 * NULL) receive each outcome.  Returns 0 or the first error by index.
 * If the task is cancelled, all pending futures are cancelled. */
int tn_gather(struct tn_future **fs, size_t n, intptr_t *values, int *errs);

/* Waits until at least one of the futures is done and returns the lowest
 * such index; consumes none of them.  Returns -ECANCELED if cancelled,
 * -EBUSY if one already has another waiter, -EINVAL if n == 0. */
int tn_wait_any(struct tn_future **fs, size_t n);

/* Calls cb(arg, err, value) when the future completes (at once if it is
 * done) and consumes it. */
void tn_future_then(struct tn_future *f, tn_future_cb cb, void *arg);

/* Consumes the future without waiting: its outcome is dropped (and a
 * value freed by its dtor). */
void tn_future_detach(struct tn_future *f);

/* A second consumer of f's outcome: returns a new future completed with
 * f's result when f completes.  Each must be consumed; cancelling the
 * copy does not cancel f. */
struct tn_future *tn_future_share(struct tn_future *f);

#ifdef __cplusplus
}
#endif
#endif
