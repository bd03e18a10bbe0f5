/* Task stacks: one mmap per stack with a PROT_NONE guard page at the low
 * end, so an overflow faults instead of corrupting a neighbour.  Freed
 * stacks are cached per size class and reused; only pages a task touched
 * are resident, so 100,000 parked tasks cost a few pages each.
 *
 * Each cached stack is two kernel mappings (guard + stack): very many
 * stacks need vm.max_map_count raised (scripts/setup.sh does). */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tn_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define STACK_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define STACK_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

void tn__stack_pool_init(struct tn_stack_pool *p)
{
	unsigned k;

	for (k = 0; k < TN_STACK_CLASSES; k++)
		p->free[k] = NULL;
	tn__pool_init(&p->descs, sizeof(struct tn_stack), 256);
	p->in_use = p->cached = 0;
	p->page = (size_t)sysconf(_SC_PAGESIZE);
}

void tn__stack_pool_fini(struct tn_stack_pool *p)
{
	unsigned k;

	for (k = 0; k < TN_STACK_CLASSES; k++) {
		struct tn_stack *st = p->free[k];
		while (st) {
			struct tn_stack *next = st->next;
			STACK_UNPOISON((char *)st->base + p->page, st->size - p->page);
			munmap(st->base, st->size);
			st = next;
		}
		p->free[k] = NULL;
	}
	p->cached = 0;
	tn__pool_fini(&p->descs);
}

#if defined(__SANITIZE_ADDRESS__)
void tn__stack_unpoison(struct tn_stack_pool *p, struct tn_stack *st)
{
	STACK_UNPOISON((char *)st->base + p->page, st->size - p->page);
}
#endif

struct tn_stack *tn__stack_map(struct tn_stack_pool *p, unsigned k)
{
	struct tn_stack *st;
	size_t usable;
	void *base;

	usable = (size_t)TN_STACK_MIN << k;
	base = mmap(NULL, usable + p->page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	if (mprotect(base, p->page, PROT_NONE) != 0) {
		munmap(base, usable + p->page);
		errno = ENOMEM;
		return NULL;
	}
	/* ASan may remember poisoned frames of an earlier mapping at this
	 * address; a fresh stack starts clean. */
	STACK_UNPOISON((char *)base + p->page, usable);
	st = tn__pool_get(&p->descs);
	if (!st) {
		munmap(base, usable + p->page);
		errno = ENOMEM;
		return NULL;
	}
	st->base = base;
	st->size = usable + p->page;
	st->next = NULL;
	st->sp = NULL;
	st->cls = k;
	p->in_use++;
	return st;
}

void tn__stack_unmap(struct tn_stack_pool *p, struct tn_stack *st)
{
	STACK_UNPOISON((char *)st->base + p->page, st->size - p->page);
	munmap(st->base, st->size);
	tn__pool_put(&p->descs, st);
}

void tn__stack_put(struct tn_stack_pool *p, struct tn_stack *st)
{
	st->sp = NULL;
	if (!tn__stack_put_warm(p, st))
		tn__stack_unmap(p, st);
}
