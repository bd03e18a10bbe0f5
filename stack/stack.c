/* A stack instance: creation, the input dispatch by EtherType, the
 * output queue, the timers, and mbuf chain helpers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mempool.h>

#include "tn_stack_internal.h"
#include "tn_wire.h"

/* Instance self of step on the link (steering says which), from a random
 * place in its sequence. */
static void ip_ids_init(struct tn_stack *s)
{
	const struct tn_stack_steer *st = &s->cfg.steer;
	uint32_t step = 1, self = 0, i;

	if (st->kind == TN_STEER_SOFT) {
		step = st->n;
		self = st->self;
	} else if (st->kind == TN_STEER_RSS) {
		/* The queues: every one the table names, and ours. */
		self = st->self;
		step = self + 1;
		for (i = 0; i < st->reta_size; i++)
			step = RTE_MAX(step, (uint32_t)st->reta[i] + 1);
	}
	if (step > TN_STEER_RETA_MAX) /* a table we cannot read sense into */
		step = 1, self = 0;
	s->ip_id_step = step;
	s->ip_id_end = step * (65536 / step);
	s->ip_id = (uint32_t)(tn__stack_rand(s) % (65536 / step)) * step + self;
}

static bool steer_valid(const struct tn_stack_steer *st)
{
	switch (st->kind) {
	case TN_STEER_NONE:
		return true;
	case TN_STEER_RSS:
		return st->reta_size >= 1 && st->reta_size <= TN_STEER_RETA_MAX;
	case TN_STEER_SOFT:
		return st->n >= 1 && st->self < st->n;
	default:
		return false;
	}
}

struct tn_stack *tn_stack_create(const struct tn_stack_config *cfg, uint64_t now)
{
	struct tn_stack *s;

	if (!cfg || !cfg->mp || cfg->prefix_len > 32 || !cfg->ip ||
	    (cfg->mtu && cfg->mtu < TN_IP_MIN_MTU) || !steer_valid(&cfg->steer)) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->cfg = *cfg;
	if (!s->cfg.mtu)
		s->cfg.mtu = 1500;
	if (!s->cfg.arp_entries)
		s->cfg.arp_entries = 1024;
	if (!s->cfg.arp_ttl_ns)
		s->cfg.arp_ttl_ns = 60ull * 1000000000ull;
	if (!s->cfg.arp_pending)
		s->cfg.arp_pending = 8;
	memcpy(s->mac.addr_bytes, cfg->mac, 6);
	s->ip = cfg->ip;
	s->netmask = cfg->prefix_len ? rte_cpu_to_be_32(~0u << (32 - cfg->prefix_len)) : 0;
	s->now = now;
	s->deadline = now;
	s->rng = cfg->seed ? cfg->seed : 0x9E3779B97F4A7C15ull;
	ip_ids_init(s);
	s->icmp_tokens = TN_ICMP_ERR_BURST;
	s->icmp_tokens_t = now;
	s->arp = tn__arp_create(s);
	s->reass = tn__reass_create(s);
	s->igmp = tn__igmp_create(s);
	s->udp = tn__udp_create(s);
	if (s->udp)
		tn__tcp_create(s); /* sets s->tcp */
	if (!s->arp || !s->reass || !s->igmp || !s->udp || !s->tcp) {
		tn_stack_destroy(s);
		errno = ENOMEM;
		return NULL;
	}
	if (!cfg->no_garp)
		tn__arp_announce(s);
	return s;
}

void tn_stack_destroy(struct tn_stack *s)
{
	if (!s)
		return;
	/* Sockets first: closing one may queue nothing (teardown is quiet)
	 * but frees its datagrams. */
	if (s->tcp)
		tn__tcp_destroy(s);
	if (s->udp)
		tn__udp_destroy(s);
	if (s->igmp)
		tn__igmp_destroy(s->igmp);
	while (s->out_len) {
		rte_pktmbuf_free(s->outq[s->out_head]);
		s->out_head = (s->out_head + 1) % TN_STACK_OUTQ;
		s->out_len--;
	}
	if (s->reass)
		tn__reass_destroy(s->reass);
	if (s->arp)
		tn__arp_destroy(s->arp);
	free(s);
}

struct rte_mbuf *tn__stack_alloc(struct tn_stack *s)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(s->cfg.mp);

	if (!m)
		s->st.no_mbuf++;
	return m;
}

int tn__mbuf_append(struct tn_stack *s, struct rte_mbuf *m, const void *d, uint32_t len)
{
	struct rte_mbuf *last = rte_pktmbuf_lastseg(m);
	const uint8_t *p = d;

	while (len) {
		uint32_t k = rte_pktmbuf_tailroom(last);
		struct rte_mbuf *seg;

		if (k > len)
			k = len;
		if (k) {
			memcpy(rte_pktmbuf_mtod_offset(last, uint8_t *, last->data_len), p, k);
			last->data_len += k;
			m->pkt_len += k;
			p += k;
			len -= k;
			continue;
		}
		seg = tn__stack_alloc(s);
		if (!seg)
			return -ENOBUFS;
		seg->data_off = 0; /* later segments need no headroom */
		if (rte_pktmbuf_chain(m, seg) < 0) {
			rte_pktmbuf_free(seg);
			return -ENOBUFS;
		}
		last = seg;
	}
	return 0;
}

struct rte_mbuf *tn__mbuf_adj(struct rte_mbuf *m, uint32_t len)
{
	/* Whole leading segments go; the new head takes over the chain's
	 * length and segment count. */
	while (m->next && len >= m->data_len) {
		struct rte_mbuf *n = m->next;

		len -= m->data_len;
		n->pkt_len = m->pkt_len - m->data_len;
		n->nb_segs = m->nb_segs - 1;
		m->next = NULL;
		m->nb_segs = 1;
		m->pkt_len = m->data_len;
		rte_pktmbuf_free_seg(m);
		m = n;
	}
	if (len > m->data_len)
		len = m->data_len;
	m->data_off += len;
	m->data_len -= len;
	m->pkt_len -= len;
	return m;
}

/* n frames of the output ring from head on into out, as at most two
 * runs, a copy each; returns n.  Apart so that the call (in tail
 * position) costs only the bursts that take it. */
static __attribute__((noinline)) uint16_t out_copy(struct rte_mbuf *const *ring, unsigned head,
						   struct rte_mbuf **out, unsigned n)
{
	unsigned k = RTE_MIN(n, TN_STACK_OUTQ - head);

	memcpy(out, ring + head, k * sizeof(*out));
	memcpy(out + k, ring, (n - k) * sizeof(*out));
	return (uint16_t)n;
}

uint16_t tn_stack_output(struct tn_stack *s, struct rte_mbuf **out, uint16_t max)
{
	unsigned n = RTE_MIN((unsigned)max, s->out_len), head = s->out_head, i;

	s->out_head = (head + n) % TN_STACK_OUTQ;
	s->out_len -= n;
	/* A frame or a few (a TCP exchange's usual one or two) one by one;
	 * more (a UDP echo server's bursts) copied, where one by one cost
	 * 16 instructions per frame. */
	if (n > 4)
		return out_copy(s->outq, head, out, n);
	for (i = 0; i < n; i++)
		out[i] = s->outq[(head + i) % TN_STACK_OUTQ];
	return (uint16_t)n;
}

void tn_stack_input(struct tn_stack *s, struct rte_mbuf **pkts, uint16_t n, uint64_t now)
{
	uint16_t i;

	s->now = now;
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m;
		const struct rte_ether_hdr *eth;
		uint16_t type;

		/* (A TCP segment, say, costs the test here, not the call.) */
		if (!s->cfg.no_fast_path && tn__udp4_maybe(pkts[i])) {
			i += tn__udp_fast_input(s, pkts + i, n - i);
			if (i == n)
				break;
		}
		m = pkts[i];
		s->st.rx_frames++;
		/* Parse only what is in the first segment: chained jumbo frames
		 * keep their headers there on every PMD we use. */
		if (m->data_len < sizeof(*eth)) {
			s->st.eth_runt++;
			rte_pktmbuf_free(m);
			continue;
		}
		eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		/* Group addresses: only those of the groups we joined (and
		 * all-hosts, for IGMP queries). */
		if (!rte_is_same_ether_addr(&eth->dst_addr, &s->mac) &&
		    !rte_is_broadcast_ether_addr(&eth->dst_addr) &&
		    !(rte_is_multicast_ether_addr(&eth->dst_addr) &&
		      tn__igmp_mac_member(s, &eth->dst_addr))) {
			s->st.eth_not_ours++;
			rte_pktmbuf_free(m);
			continue;
		}
		type = rte_be_to_cpu_16(eth->ether_type);
		if (type == RTE_ETHER_TYPE_ARP) {
			tn__arp_input(s, m);
		} else if (type == RTE_ETHER_TYPE_IPV4) {
			tn__ip_input(s, m);
		} else {
			if (type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ)
				s->st.eth_vlan++;
			else
				s->st.eth_other_type++;
			rte_pktmbuf_free(m);
		}
	}
}

uint64_t tn_stack_timers(struct tn_stack *s, uint64_t now)
{
	uint64_t a, r, g;

	s->now = now;
	/* Work a module does here may arm another's timer after that one
	 * ran (a TCP retransmission needing an ARP request): such calls
	 * lower s->deadline below what the modules return. */
	s->deadline = UINT64_MAX;
	a = tn__arp_timers(s);
	r = tn__reass_timers(s);
	g = tn__igmp_timers(s);
	if (r < a)
		a = r;
	r = tn__tcp_timers(s);
	if (r < a)
		a = r;
	if (g < a)
		a = g;
	if (a < s->deadline)
		s->deadline = a;
	return s->deadline;
}

uint64_t tn_stack_next_deadline(const struct tn_stack *s)
{
	return s->deadline;
}

void tn_stack_stats_get(const struct tn_stack *s, struct tn_stack_stats *st)
{
	*st = s->st;
}
