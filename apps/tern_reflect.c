/* tern-reflect: swaps the Ethernet addresses of every received frame and
 * sends it back out of the port it came in on (testpmd's macswap).  The
 * peer of packet benchmarks: tern-pktgen measures its RTT through it. */
#include <stdio.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include <tern/dataplane.h>

static uint16_t reflect(struct tn_core *c, uint16_t port, struct rte_mbuf **pkts, uint16_t n,
			void *arg)
{
	uint16_t i;

	for (i = 0; i < n; i++) {
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);
		struct rte_ether_addr tmp;

		if (pkts[i]->data_len < sizeof(*eth))
			continue; /* runt: still sent back as is */
		rte_ether_addr_copy(&eth->src_addr, &tmp);
		rte_ether_addr_copy(&eth->dst_addr, &eth->src_addr);
		rte_ether_addr_copy(&tmp, &eth->dst_addr);
	}
	tn_tx_burst(c, port, pkts, n); /* takes all of them, drops counted */
	return n;
}

int main(int argc, char **argv)
{
	struct tn_app app = {
		.name = "tern-reflect",
		.usage = "  (none: every frame on every port is sent back with its MACs swapped)\n",
		.rx = reflect,
	};

	return tn_main_app(argc, argv, &app);
}
