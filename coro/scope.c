/* Cleanup handlers behind the TN_SCOPED_* macros (scope.h).  Each leaves
 * its variable empty, so running one twice is harmless. */
#include <stdlib.h>

#include "tn_internal.h"

struct tn_lock_guard tn_lock_guard_acquire(struct tn_mutex *m)
{
	struct tn_lock_guard g;

	g.err = tn_mutex_lock(m);
	g.m = g.err ? NULL : m;
	return g;
}

void tn_lock_guard_release(struct tn_lock_guard *g)
{
	if (!g->m)
		return;
	tn_mutex_unlock(g->m);
	g->m = NULL;
}

void tn_scope_free(void *pp)
{
	void **p = pp;

	free(*p);
	*p = NULL;
}

void tn_scope_future(struct tn_future **pf)
{
	struct tn_future *f = *pf;

	if (!f)
		return;
	*pf = NULL;
	/* -EALREADY when it is done: detaching then drops its outcome. */
	tn_future_cancel(f);
	tn_future_detach(f);
}

void tn_scope_task(struct tn_task **pt)
{
	struct tn_task *t = *pt;

	if (!t)
		return;
	*pt = NULL;
	/* -ESRCH when it already ended: detaching then frees it. */
	tn_task_cancel(t);
	tn_task_detach(t);
}
