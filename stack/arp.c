/* ARP: being written. Temporary stubs keep the tree building. */
#include <stdlib.h>

#include "tn_stack_internal.h"

struct tn_arp {
	int unused;
};

struct tn_arp *tn__arp_create(struct tn_stack *s) { return calloc(1, sizeof(struct tn_arp)); }
void tn__arp_destroy(struct tn_arp *a) { free(a); }
void tn__arp_input(struct tn_stack *s, struct rte_mbuf *m) { rte_pktmbuf_free(m); }
void tn__arp_resolve_output(struct tn_stack *s, struct rte_mbuf *m, uint32_t nh)
{
	s->st.arp_unresolved++;
	rte_pktmbuf_free(m);
}
void tn__arp_learn(struct tn_stack *s, uint32_t ip, const struct rte_ether_addr *mac) {}
uint64_t tn__arp_timers(struct tn_stack *s) { return UINT64_MAX; }
void tn__arp_announce(struct tn_stack *s) {}
