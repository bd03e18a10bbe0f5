/* ICMP: being written. Temporary stubs keep the tree building. */
#include <errno.h>

#include "tn_stack_internal.h"

void tn__icmp_input(struct tn_stack *s, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip)
{
	rte_pktmbuf_free(m);
}
void tn__icmp_error(struct tn_stack *s, const struct rte_mbuf *orig, uint8_t type, uint8_t code) {}
int tn_stack_ping(struct tn_stack *s, uint32_t dst, uint16_t id, uint16_t seq, const void *data,
		  uint16_t len, uint64_t now)
{
	return -ENOSYS;
}
