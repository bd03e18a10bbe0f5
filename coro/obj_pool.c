/* Per-core fixed-size object pools.  Objects come from malloc'ed chunks
 * that are only returned at scheduler teardown, so steady-state get/put
 * is a pointer pop/push with no malloc, lock or syscall. */
#include <stdlib.h>

#include "tn_internal.h"

struct tn_pool_chunk {
	struct tn_pool_chunk *next;
	/* objects follow, 64-byte aligned */
};

#define CHUNK_HDR 64

void tn__pool_init(struct tn_obj_pool *p, size_t obj_size, size_t per_chunk)
{
	p->free = NULL;
	p->chunks = NULL;
	p->obj_size = (obj_size + 15) & ~(size_t)15;
	p->per_chunk = per_chunk;
	p->live = 0;
}

void tn__pool_fini(struct tn_obj_pool *p)
{
	struct tn_pool_chunk *c = p->chunks;

	while (c) {
		struct tn_pool_chunk *next = c->next;
		free(c);
		c = next;
	}
	p->chunks = NULL;
	p->free = NULL;
}

void *tn__pool_grow_get(struct tn_obj_pool *p)
{
	struct tn_pool_chunk *c;
	char *objs;
	size_t i;

	c = aligned_alloc(64, CHUNK_HDR + p->obj_size * p->per_chunk);
	if (!c)
		return NULL;
	c->next = p->chunks;
	p->chunks = c;
	objs = (char *)c + CHUNK_HDR;
	/* Thread the new objects in address order so that consecutive gets
	 * walk memory forwards. */
	for (i = p->per_chunk; i-- > 1;) {
		*(void **)(objs + i * p->obj_size) = p->free;
		p->free = objs + i * p->obj_size;
	}
	p->live++;
	return objs;
}
