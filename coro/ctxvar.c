/* Context variables: each task points to an immutable, reference-counted
 * map shared with its parent and children; a set copies it first unless
 * the task holds the only reference (copy on write).  Maps come from the
 * per-core pool; a context with more than CTX_INLINE variables falls back
 * to malloc. */
#include <errno.h>
#include <string.h>

#include "tn_internal.h"

#define CTX_INLINE 14 /* entries that fit one 256-byte pool object */

_Static_assert(sizeof(struct tn_ctx) + CTX_INLINE * sizeof(struct tn_ctx_entry) <= 256,
	       "ctx pool objects are 256 bytes");

void tn__ctx_free(struct tn_sched *s, struct tn_ctx *c)
{
	if (c->pooled)
		tn__pool_put(&s->ctx_pool, c);
	else
		free(c);
}

static struct tn_ctx **current_slot(struct tn_sched *s)
{
	return s->current ? &s->current->ctx : &s->root_ctx;
}

static struct tn_ctx *ctx_alloc(struct tn_sched *s, unsigned cap)
{
	struct tn_ctx *c;

	if (cap <= CTX_INLINE) {
		c = tn__pool_get(&s->ctx_pool);
		if (!c)
			return NULL;
		c->pooled = 1;
		c->cap = CTX_INLINE;
	} else {
		c = malloc(sizeof(*c) + cap * sizeof(c->e[0]));
		if (!c)
			return NULL;
		c->pooled = 0;
		c->cap = cap;
	}
	c->refs = 1;
	c->n = 0;
	return c;
}

static int find(const struct tn_ctx *c, const struct tn_ctxvar *v)
{
	unsigned i;

	if (!c)
		return -1;
	for (i = 0; i < c->n; i++)
		if (c->e[i].var == v)
			return (int)i;
	return -1;
}

intptr_t tn_ctxvar_get(const struct tn_ctxvar *v)
{
	struct tn_sched *s = tn__sched();
	struct tn_ctx *c = *current_slot(s);
	int i = find(c, v);

	return i >= 0 ? c->e[i].value : v->dflt;
}

/* Makes the current context private to this task, with room for one more. */
static struct tn_ctx *writable(struct tn_sched *s)
{
	struct tn_ctx **slot = current_slot(s);
	struct tn_ctx *old = *slot, *c;
	unsigned n = old ? old->n : 0;

	if (old && old->refs == 1 && old->n < old->cap)
		return old;
	c = ctx_alloc(s, n + 1 > CTX_INLINE ? 2 * (n + 1) : n + 1);
	if (!c)
		return NULL;
	if (old) {
		memcpy(c->e, old->e, n * sizeof(c->e[0]));
		c->n = n;
	}
	tn__ctx_unref(s, old);
	*slot = c;
	return c;
}

int tn_ctxvar_set(const struct tn_ctxvar *v, intptr_t value)
{
	struct tn_sched *s = tn__sched();
	struct tn_ctx *c = *current_slot(s);
	int i = find(c, v);

	if (i >= 0 && c->refs == 1) {
		c->e[i].value = value;
		return 0;
	}
	c = writable(s);
	if (!c)
		return -ENOMEM;
	i = find(c, v);
	if (i < 0)
		i = (int)c->n++;
	c->e[i].var = v;
	c->e[i].value = value;
	return 0;
}

int tn_ctxvar_reset(const struct tn_ctxvar *v)
{
	struct tn_sched *s = tn__sched();
	struct tn_ctx *c = *current_slot(s);
	int i = find(c, v);

	if (i < 0)
		return 0;
	c = writable(s);
	if (!c)
		return -ENOMEM;
	i = find(c, v);
	c->e[i] = c->e[--c->n];
	return 0;
}
