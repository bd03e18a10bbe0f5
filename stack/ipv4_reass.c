/* IPv4 reassembly: being written. Temporary stubs keep the tree building. */
#include <stdlib.h>

#include "tn_stack_internal.h"

struct tn_reass {
	int unused;
};

struct tn_reass *tn__reass_create(struct tn_stack *s) { return calloc(1, sizeof(struct tn_reass)); }
void tn__reass_destroy(struct tn_reass *r) { free(r); }
struct rte_mbuf *tn__reass_input(struct tn_stack *s, struct rte_mbuf *m)
{
	rte_pktmbuf_free(m);
	return NULL;
}
uint64_t tn__reass_timers(struct tn_stack *s) { return UINT64_MAX; }
