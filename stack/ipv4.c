/* IPv4: being written. Temporary stubs keep the tree building. */
#include <errno.h>

#include "tn_stack_internal.h"

void tn__ip_input(struct tn_stack *s, struct rte_mbuf *m) { rte_pktmbuf_free(m); }
int tn__ip_output(struct tn_stack *s, struct rte_mbuf *m, uint32_t dst, uint8_t proto)
{
	rte_pktmbuf_free(m);
	return -ENOSYS;
}
