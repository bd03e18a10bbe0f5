/* ICMP errors to the core that owns the flow they are about.
 *
 * With a stack per core, a UDP socket or TCP connection lives on the core
 * that port 0's steering (RSS, or software steering) gives its flow.  An
 * ICMP error about that flow (port unreachable, fragmentation needed)
 * carries other headers: the NIC hashes it on its addresses alone, so it
 * lands on some core, often not the flow's, whose stack finds no such
 * socket.  A refused connected socket would never hear of it, and a TCP
 * connection would miss the path MTU and stall on its big segments.
 *
 * So before port 0's burst reaches the stack, each ICMP error whose
 * quoted UDP or TCP header belongs to another core's flow is rung over
 * to that core (a small single-producer ring per ordered pair of cores),
 * which feeds it to its stack in its stack phase.  The owner is what the
 * link computes for the flow's own packets: the quoted datagram is one we
 * sent, so its reply (source and destination swapped) is what the NIC or
 * software steering hashed. */
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_thash.h>

#include "tn_dp_internal.h"

/* RFC 792 / 1191 error types; rte_icmp.h names only the echo ones. */
static bool icmp_is_error(uint8_t type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

int tn__icmp_err_owner(const struct tn_stack_steer *st, const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1), *in;
	const uint8_t *icmp, *l4;
	uint32_t tuple[3], h, ihl, inl;

	/* Only what the first segment holds: an error quotes little. */
	if (st->kind == TN_STEER_NONE || m->data_len < sizeof(*eth) + sizeof(*ip) ||
	    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    ip->next_proto_id != IPPROTO_ICMP ||
	    (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG)))
		return -1;
	ihl = rte_ipv4_hdr_len(ip);
	if (ihl < sizeof(*ip) || m->data_len < sizeof(*eth) + ihl + 8 + sizeof(*in))
		return -1;
	icmp = (const uint8_t *)ip + ihl;
	if (!icmp_is_error(icmp[0]))
		return -1;
	in = (const struct rte_ipv4_hdr *)(icmp + 8);
	inl = rte_ipv4_hdr_len(in);
	if (inl < sizeof(*in) || m->data_len < sizeof(*eth) + ihl + 8 + inl + 4 ||
	    (in->next_proto_id != IPPROTO_UDP && in->next_proto_id != IPPROTO_TCP) ||
	    (in->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK)))
		return -1;
	l4 = (const uint8_t *)in + inl;
	/* The reply's 4-tuple: the quoted destination is its source. */
	tuple[0] = rte_be_to_cpu_32(in->dst_addr);
	tuple[1] = rte_be_to_cpu_32(in->src_addr);
	tuple[2] = (uint32_t)(l4[2] << 8 | l4[3]) << 16 | (uint32_t)(l4[0] << 8 | l4[1]);
	h = rte_softrss(tuple, 3, st->key);
	if (st->kind == TN_STEER_RSS)
		return st->reta[h % st->reta_size];
	return (int)(h % st->n);
}

uint16_t tn__icmp_steer(struct tn_core *c, struct rte_mbuf **pkts, uint16_t n)
{
	struct tn_runtime *rt = c->rt;
	uint16_t i, kept = 0;
	int to;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		/* One load and compare per frame for everything but ICMP. */
		if (m->data_len < RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) ||
		    rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
					    RTE_ETHER_HDR_LEN)->next_proto_id != IPPROTO_ICMP ||
		    (to = tn__icmp_err_owner(&rt->steer0, m)) < 0 || (unsigned)to == c->id ||
		    (unsigned)to >= rt->ncores || !rt->icmp[c->id][to]) {
			pkts[kept++] = m;
			continue;
		}
		if (rte_ring_sp_enqueue(rt->icmp[c->id][to], m) == 0) {
			c->icmp_steered++;
		} else {
			c->stats[0].rx_drops++;
			rte_pktmbuf_free(m);
		}
	}
	return kept;
}

bool tn__icmp_steer_phase(struct tn_core *c, uint64_t now)
{
	struct tn_runtime *rt = c->rt;
	struct rte_mbuf *pkts[TN_MAIL_BATCH];
	unsigned from, n;
	bool did = false;

	for (from = 0; from < rt->ncores; from++) {
		if (from == c->id || !rt->icmp[from][c->id])
			continue;
		n = rte_ring_sc_dequeue_burst(rt->icmp[from][c->id], (void **)pkts,
					      TN_MAIL_BATCH, NULL);
		if (n == 0)
			continue;
		tn_stack_input(c->stack, pkts, (uint16_t)n, now);
		did = true;
	}
	return did;
}
