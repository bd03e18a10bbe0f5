/* Scoped cleanup, the C form of async context managers.  Built on
 * __attribute__((cleanup)), so the release runs on every exit path of the
 * enclosing block, including the early return that follows -ECANCELED:
 *
 *     TN_SCOPED_LOCK(guard, &m);
 *     if (guard.err)
 *             return guard.err;   // not locked: nothing to release
 *     ... critical section with awaits; any return unlocks ...
 *
 *     TN_SCOPED_FREE char *buf = malloc(n);
 *     TN_SCOPED_FUTURE struct tn_future *f = ...;  // cancelled + detached
 *                                                  // unless consumed (set NULL)
 *     TN_SCOPED_TASK struct tn_task *t = ...;      // cancelled + detached
 */
#ifndef TERN_SCOPE_H
#define TERN_SCOPE_H

#include "future.h"
#include "sync.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TN_CLEANUP(fn) __attribute__((cleanup(fn)))

struct tn_lock_guard {
	struct tn_mutex *m; /* NULL when not held */
	int err;
};

/* Locks m (an await point); guard.err is 0 or -ECANCELED. */
struct tn_lock_guard tn_lock_guard_acquire(struct tn_mutex *m);
/* Unlocks if held; safe to call twice. */
void tn_lock_guard_release(struct tn_lock_guard *g);

void tn_scope_free(void *pp);       /* free(*(void **)pp) */
void tn_scope_future(struct tn_future **pf); /* cancel + detach if not NULL */
void tn_scope_task(struct tn_task **pt);     /* cancel + detach if not NULL */

#define TN_SCOPED_LOCK(name, mutex) \
	struct tn_lock_guard name TN_CLEANUP(tn_lock_guard_release) = \
		tn_lock_guard_acquire(mutex)
#define TN_SCOPED_FREE TN_CLEANUP(tn_scope_free)
#define TN_SCOPED_FUTURE TN_CLEANUP(tn_scope_future)
#define TN_SCOPED_TASK TN_CLEANUP(tn_scope_task)

#ifdef __cplusplus
}
#endif
#endif
