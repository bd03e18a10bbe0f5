/* Context variables: task-local values that child tasks inherit as a copy
 * taken at spawn (asyncio's contextvars).  A variable is a static object
 * whose address is its identity:
 *
 *     static struct tn_ctxvar request_id = TN_CTXVAR_INIT("request_id", 0);
 *     tn_ctxvar_set(&request_id, 42);
 *     intptr_t id = tn_ctxvar_get(&request_id);
 *
 * Outside tasks the scheduler's root context is used.  get and spawn never
 * allocate (children share the parent's context until one of them sets a
 * variable: copy on write); set may take a block from a per-core pool.
 */
#ifndef TERN_CTXVAR_H
#define TERN_CTXVAR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tn_ctxvar {
	const char *name;
	intptr_t dflt;
};

#define TN_CTXVAR_INIT(name_, dflt_) { .name = (name_), .dflt = (dflt_) }

/* The value in the current context, or the variable's default. */
intptr_t tn_ctxvar_get(const struct tn_ctxvar *v);
/* Sets the value in the current context only; 0 or -ENOMEM. */
int tn_ctxvar_set(const struct tn_ctxvar *v, intptr_t value);
/* Removes the value from the current context (get returns the default). */
int tn_ctxvar_reset(const struct tn_ctxvar *v);

#ifdef __cplusplus
}
#endif
#endif
