/* IPv4: input (validation, our addresses, reassembly, demultiplexing)
 * and output (routing, the header, fragmentation, next-hop resolution).
 *
 * Header checks live in wire.c; this file decides what a valid datagram
 * means to us.  We are a host, not a router: datagrams for other
 * addresses are dropped, never forwarded. */
#include <errno.h>
#include <string.h>

#include <rte_ip_frag.h>

#include "tn_stack_internal.h"
#include "tn_wire.h"

#define IP_DEFAULT_TTL 64
/* The most fragments one send may become: a 65,535-byte datagram at a
 * 1500-byte MTU needs 45; smaller MTUs get smaller maximum sends. */
#define IP_MAX_FRAGS 64

static const struct rte_ether_addr bcast_mac = { .addr_bytes = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };

/* ---- input ---- */

static bool count_verdict(struct tn_stack *s, enum tn__ip_verdict v)
{
	switch (v) {
	case TN__IP_OK:
		return true;
	case TN__IP_BAD_LEN:
		s->st.ip_bad_len++;
		break;
	case TN__IP_BAD_VERSION:
		s->st.ip_bad_version++;
		break;
	case TN__IP_BAD_IHL:
		s->st.ip_bad_ihl++;
		break;
	case TN__IP_BAD_CSUM:
		s->st.ip_bad_csum++;
		break;
	case TN__IP_BAD_OPTIONS:
		s->st.ip_bad_options++;
		break;
	}
	return false;
}

/* The transport layers.  m starts at the IPv4 header h. */
static void demux(struct tn_stack *s, struct rte_mbuf *m, const struct rte_ipv4_hdr *h)
{
	switch (h->next_proto_id) {
	case IPPROTO_ICMP:
		tn__icmp_input(s, m, h);
		return;
	case IPPROTO_UDP:
		tn__udp_input(s, m, h);
		return;
	case IPPROTO_IGMP:
		tn__igmp_input(s, m, h);
		return;
	case IPPROTO_TCP:
		tn__tcp_input(s, m, h);
		return;
	default:
		s->st.ip_unknown_proto++;
		tn__icmp_error(s, m, TN_ICMP_DEST_UNREACH, TN_ICMP_UNREACH_PROTO);
		break;
	}
	rte_pktmbuf_free(m);
}

void tn__ip_input(struct tn_stack *s, struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const uint32_t l2 = sizeof(*eth);
	struct rte_ether_addr smac = eth->src_addr;
	bool l2_group = rte_is_multicast_ether_addr(&eth->dst_addr);
	struct tn__ipv4_view v;
	struct rte_ipv4_hdr *h;

	s->st.ip_rx++;
	if (!count_verdict(s, tn__ipv4_parse(rte_pktmbuf_mtod_offset(m, void *, l2),
					     m->data_len - l2, m->pkt_len - l2, &v)))
		goto drop;
	if (v.ttl == 0) {
		s->st.ip_ttl_expired++;
		goto drop;
	}
	if (v.dst != s->ip && !tn__ip_is_bcast(s, v.dst) &&
	    !(tn__ip_is_mcast(v.dst) && tn__igmp_member(s, v.dst))) {
		s->st.ip_not_ours++;
		goto drop;
	}
	if (v.dst == s->ip && l2_group) {
		s->st.ip_not_ours++;
		goto drop;
	}
	if (tn__ip_is_bcast(s, v.src) || tn__ip_is_mcast(v.src) || v.src == s->ip) {
		s->st.ip_bad_src++;
		goto drop;
	}
	/* Drop Ethernet's minimum-frame padding, then the Ethernet header:
	 * from here on m starts at its IPv4 header. */
	if (m->pkt_len - l2 > v.tlen && rte_pktmbuf_trim(m, m->pkt_len - l2 - v.tlen) < 0) {
		/* (Padding spread over segments: no PMD we use does this.) */
		s->st.ip_bad_len++;
		goto drop;
	}
	rte_pktmbuf_adj(m, l2);
	m->l2_len = 0;
	m->l3_len = v.hlen;
	if (!tn__arp_fresh(s, v.src) && tn__ip_on_link(s, v.src))
		tn__arp_learn(s, v.src, &smac);
	if (tn__ipv4_view_is_frag(&v)) {
		m = tn__reass_input(s, m);
		if (!m)
			return;
	}
	h = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	demux(s, m, h);
	return;
drop:
	rte_pktmbuf_free(m);
}

/* ---- output ---- */

/* How a datagram leaves: to a next hop ARP resolves, or to the
 * broadcast or a group MAC. */
enum l2_kind { L2_UNICAST, L2_BCAST, L2_MCAST };

/* Next hop for dst: 0, or -ENETUNREACH. */
static int route(const struct tn_stack *s, uint32_t dst, uint32_t *nh, enum l2_kind *kind)
{
	*nh = dst;
	*kind = L2_UNICAST;
	if (tn__ip_is_bcast(s, dst)) {
		*kind = L2_BCAST;
		return 0;
	}
	if (tn__ip_is_mcast(dst)) {
		*kind = L2_MCAST; /* one interface: no multicast routing */
		return 0;
	}
	/* No loopback. */
	if (dst == 0 || dst == s->ip)
		return -ENETUNREACH;
	if (tn__ip_on_link(s, dst)) {
		*nh = dst;
		return 0;
	}
	if (!s->cfg.gw)
		return -ENETUNREACH;
	*nh = s->cfg.gw;
	return 0;
}

int tn__ip_route_check(const struct tn_stack *s, uint32_t dst)
{
	enum l2_kind kind;
	uint32_t nh;

	return route(s, dst, &nh, &kind);
}

static void send_to(struct tn_stack *s, struct rte_mbuf *m, uint32_t nh, enum l2_kind kind)
{
	struct rte_ipv4_hdr *h = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	struct rte_ether_addr mac;

	/* In software for now; checksum offload can come later. */
	h->hdr_checksum = 0;
	h->hdr_checksum = rte_ipv4_cksum(h);
	switch (kind) {
	case L2_BCAST:
		tn__eth_output(s, m, &bcast_mac, RTE_ETHER_TYPE_IPV4);
		break;
	case L2_MCAST:
		tn__ip_mcast_mac(nh, &mac); /* no ARP for groups */
		tn__eth_output(s, m, &mac, RTE_ETHER_TYPE_IPV4);
		break;
	case L2_UNICAST:
		tn__arp_resolve_output(s, m, nh);
		break;
	}
}

int tn__ip_frame_template(struct tn_stack *s, uint32_t dst, uint8_t proto, uint8_t *hdr,
			  uint64_t *until)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)hdr;
	struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)(eth + 1);
	enum l2_kind kind;
	uint32_t nh;

	if (route(s, dst, &nh, &kind) < 0)
		return -ENETUNREACH;
	if (kind != L2_UNICAST || tn__arp_lookup(s, nh, &eth->dst_addr, until) < 0)
		return -EAGAIN;
	rte_ether_addr_copy(&s->mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	/* As tn__ip_output_opt writes it. */
	memset(h, 0, sizeof(*h));
	h->version_ihl = RTE_IPV4_VHL_DEF;
	h->time_to_live = IP_DEFAULT_TTL;
	/* DF on TCP, as tn__ip_output sets it (path MTU discovery). */
	if (proto == IPPROTO_TCP)
		h->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	h->next_proto_id = proto;
	h->src_addr = s->ip;
	h->dst_addr = dst;
	/* The checksum field keeps the sum of the fixed fields (not
	 * complemented): tn__ip_frame_send adds length and id to it. */
	h->hdr_checksum = rte_raw_cksum(h, sizeof(*h));
	return 0;
}

int tn__ip_output(struct tn_stack *s, struct rte_mbuf *m, uint32_t dst, uint8_t proto)
{
	return tn__ip_output_opt(s, m, dst, proto, NULL, 0);
}

int tn__ip_output_opt(struct tn_stack *s, struct rte_mbuf *m, uint32_t dst, uint8_t proto,
		      const void *opt, uint8_t optlen)
{
	struct rte_mbuf *frags[IP_MAX_FRAGS];
	const uint16_t hl = sizeof(struct rte_ipv4_hdr) + optlen;
	uint16_t fragsz = (s->cfg.mtu - hl) & ~7u;
	struct rte_ipv4_hdr *h;
	enum l2_kind kind;
	uint32_t nh;
	bool df;
	int n, i;

	if (route(s, dst, &nh, &kind) < 0) {
		s->st.ip_no_route++;
		rte_pktmbuf_free(m);
		return -ENETUNREACH;
	}
	/* TCP sets DF, as Linux does (path MTU discovery, RFC 1191): its
	 * segments fit the MTU, and a router that cannot forward one
	 * answers with fragmentation-needed, which clamps the MSS
	 * (tcp.c).  Nothing else is fragmented on its way. */
	df = proto == IPPROTO_TCP;
	if (m->pkt_len + hl > UINT16_MAX || (df && m->pkt_len + hl > s->cfg.mtu) ||
	    (m->pkt_len + hl > s->cfg.mtu && (m->pkt_len + fragsz - 1) / fragsz > IP_MAX_FRAGS)) {
		s->st.ip_tx_too_big++;
		rte_pktmbuf_free(m);
		return -EMSGSIZE;
	}
	h = (struct rte_ipv4_hdr *)rte_pktmbuf_prepend(m, hl);
	if (!h) {
		s->st.no_mbuf++;
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	h->version_ihl = 0x40 | (hl / 4);
	h->type_of_service = 0;
	h->total_length = rte_cpu_to_be_16(m->pkt_len);
	h->packet_id = rte_cpu_to_be_16(tn__ip_next_id(s));
	/* Others: DF clear, we fragment, and so may routers. */
	h->fragment_offset = df ? rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG) : 0;
	/* Groups stay on the link unless asked otherwise (RFC 1112 6.1). */
	h->time_to_live = kind == L2_MCAST ? 1 : IP_DEFAULT_TTL;
	h->next_proto_id = proto;
	h->src_addr = s->ip;
	h->dst_addr = dst;
	if (optlen)
		memcpy(h + 1, opt, optlen);
	m->l2_len = 0;
	m->l3_len = hl;
	if (m->pkt_len <= s->cfg.mtu) {
		send_to(s, m, nh, kind);
		return 0;
	}
	/* Fragments are a direct mbuf with the header plus indirect mbufs
	 * pointing into m; both kinds come from cfg.mp (an mbuf with a data
	 * room can be attached as an indirect one), so no second pool per
	 * stack.  The fragments hold references: m itself is freed now. */
	n = rte_ipv4_fragment_packet(m, frags, IP_MAX_FRAGS, hl + fragsz, s->cfg.mp, s->cfg.mp);
	rte_pktmbuf_free(m);
	if (n < 0) {
		s->st.no_mbuf++;
		return n;
	}
	for (i = 0; i < n; i++) {
		s->st.ip_frag_tx++;
		send_to(s, frags[i], nh, kind);
	}
	return 0;
}
