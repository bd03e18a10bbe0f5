/* Ethernet II output. */
#include <errno.h>

#include "tn_stack_internal.h"

int tn__eth_output(struct tn_stack *s, struct rte_mbuf *m, const struct rte_ether_addr *dst,
		   uint16_t ether_type)
{
	struct rte_ether_hdr *eth =
		(struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(*eth));

	if (!eth) {
		rte_pktmbuf_free(m);
		s->st.no_mbuf++;
		return -ENOBUFS;
	}
	rte_ether_addr_copy(dst, &eth->dst_addr);
	rte_ether_addr_copy(&s->mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(ether_type);
	tn__stack_xmit(s, m);
	return 0;
}
