/* UDP (RFC 768): input validation and demultiplexing, ICMP errors for
 * sockets, output, the port table and the non-blocking socket calls.
 *
 * Pure like the rest of stack/: no clock, no I/O, no waking.  What a
 * datagram or an error does to waiting tasks is udp_sock.c's business
 * (tn__udp_sock_deliver, tn__udp_sock_error).
 *
 * Demultiplexing: the sockets bound to a port hang off one of
 * UDP_BUCKETS chains (most recently bound first).  A socket matches a
 * datagram when its bound address is any or the destination and, if it
 * is connected, the source is its peer.  A unicast datagram goes to the
 * best match (connected before bound-to-an-address before any); a
 * broadcast or multicast one to every match (at most 16 sockets; known
 * limit), the extra ones getting deep copies (rte_pktmbuf_copy), so no
 * receiver sees another's changes.
 *
 * Input is strict: a length field that differs from the IP payload
 * either way is dropped (RFC 768 would allow trailing bytes; Linux trims
 * them; we count them as bad, as nothing legitimate sends them).
 *
 * Burst output (tn_udp_send_burst, tn_udp_reply_burst) puts a frame
 * header template (Ethernet and IPv4, tn__ip_frame_template, cached per
 * socket for its last destination) in front of each payload; what does
 * not fit that (fragments, broadcasts and groups, unresolved neighbours)
 * takes udp_output like tn_udp_send_mbuf.  A reply reuses the checksum
 * the datagram arrived with (RFC 1624): input leaves m->l3_len at the
 * IPv4 header's length while that header and the UDP header are still
 * in front of the payload in the same buffer, and 0 when they are not
 * (the segment holding them was freed, or the mbuf is a copy). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_udp.h>

#include "tn_udp.h"
#include "tn_wire.h"

#define UDP_BUCKETS 256
#define UDP_HDR_LEN 8
#define UDP_EPH_LO 49152
#define UDP_EPH_HI 65535
/* Headroom a zero-copy send needs: Ethernet, IPv4, UDP headers. */
#define UDP_TX_HEADROOM (RTE_ETHER_HDR_LEN + 20 + UDP_HDR_LEN)

struct tn_udp {
	struct tn_udp_sock *bucket[UDP_BUCKETS];
	struct tn_udp_sock *all;
	uint16_t eph_lo, eph_hi, eph_next;
};

static inline struct tn_udp_sock **bucket_of(struct tn_udp *t, uint16_t port)
{
	return &t->bucket[port % UDP_BUCKETS];
}

struct tn_udp *tn__udp_create(struct tn_stack *s)
{
	struct tn_udp *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->eph_lo = s->cfg.udp_eph_lo;
	t->eph_hi = s->cfg.udp_eph_hi;
	if (!t->eph_lo || t->eph_hi < t->eph_lo) {
		t->eph_lo = UDP_EPH_LO;
		t->eph_hi = UDP_EPH_HI;
	}
	/* Start somewhere seeded, so restarts do not reuse the same ports. */
	t->eph_next = t->eph_lo + tn__stack_rand(s) % (t->eph_hi - t->eph_lo + 1u);
	return t;
}

void tn__udp_destroy(struct tn_stack *s)
{
	struct tn_udp_sock *u;

	while ((u = s->udp->all) != NULL) {
		tn__udp_sock_closing(u);
		tn__udp_free(u, true);
	}
	free(s->udp);
	s->udp = NULL;
}

/* ---- checksums ---- */

/* 8 bytes of p, in memory order (rte_raw_cksum's byte order). */
static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* sum + v with the carry out of bit 63 wrapped around (one's
 * complement). */
static inline uint64_t add1c(uint64_t sum, uint64_t v)
{
	sum += v;
	return sum + (sum < v);
}

/* A 64-bit one's-complement sum folded to at most 17 bits (fold
 * finishes it). */
static inline uint32_t fold64(uint64_t sum)
{
	sum = (sum >> 32) + (sum & 0xffffffff);
	sum = (sum >> 32) + (sum & 0xffffffff);
	return (uint32_t)((sum >> 16) + (sum & 0xffff));
}

/* The one's-complement sum of init (a partial sum, such as the pseudo
 * header's) and len bytes at p, in rte_raw_cksum's byte
 * order, 8 bytes a step, folded to at most 17 bits (fold finishes it):
 * a 64-byte datagram's sum was ~150 instructions through
 * tn__raw_cksum_mbuf's 2-byte loop, and every datagram is summed twice
 * (sender and receiver). */
static inline __attribute__((always_inline)) uint32_t sum_bytes(const uint8_t *p, uint32_t len,
								 uint64_t init)
{
	/* 64-bit words, the carries out of bit 63 counted apart (GCC
	 * makes each step a load, an add and an adc), 32 bytes a turn. */
	uint64_t sum = init, carry = 0, w;
	uint32_t i = 0;

	for (; i + 32 <= len; i += 32) {
		w = ld64(p + i);
		sum += w;
		carry += sum < w;
		w = ld64(p + i + 8);
		sum += w;
		carry += sum < w;
		w = ld64(p + i + 16);
		sum += w;
		carry += sum < w;
		w = ld64(p + i + 24);
		sum += w;
		carry += sum < w;
	}
	for (; i + 8 <= len; i += 8) {
		w = ld64(p + i);
		sum += w;
		carry += sum < w;
	}
	/* Up to 7 bytes left, after at least 8, on a little-endian machine:
	 * the last 8 bytes, less the low ones (the first in memory) that
	 * were summed already.  What is left starts at byte 0 of w, i being
	 * a multiple of 8, so each byte keeps its place in its 16-bit word. */
	if (RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN && i < len && len >= 8) {
		w = ld64(p + len - 8) >> (64 - 8 * (len - i));
		sum += w;
		carry += sum < w;
		i = len;
	}
	sum = add1c(sum, carry);
	if (unlikely(i < len)) {
		/* Fewer than 8 bytes in all (or a big-endian machine). */
		uint32_t v4;
		uint16_t v2, v1 = 0;

		if (i + 4 <= len) {
			memcpy(&v4, p + i, 4);
			sum = add1c(sum, v4);
			i += 4;
		}
		if (i + 2 <= len) {
			memcpy(&v2, p + i, 2);
			sum = add1c(sum, v2);
			i += 2;
		}
		if (i < len) {
			memcpy(&v1, p + i, 1); /* as rte_raw_cksum: byte-order independent */
			sum = add1c(sum, v1);
		}
	}
	return fold64(sum);
}

/* The pseudo header's sum (RFC 768), not folded: addresses in network
 * order, len the UDP length.  (A sum of 32-bit words is one of 16-bit
 * words once folded.) */
static inline uint64_t phdr_sum(uint32_t src, uint32_t dst, uint32_t len)
{
	return (uint64_t)src + dst + rte_cpu_to_be_16(IPPROTO_UDP) +
	       rte_cpu_to_be_16((uint16_t)len);
}

static inline uint16_t fold(uint32_t sum)
{
	sum = (sum >> 16) + (sum & 0xffff);
	return (uint16_t)((sum >> 16) + (sum & 0xffff));
}

/* The one's-complement sum (not complemented) of the pseudo header and
 * len bytes of m from off: 0xffff when a received checksum is right. */
static uint16_t l4_sum(const struct rte_mbuf *m, uint32_t off, uint32_t len, uint32_t src,
		       uint32_t dst)
{
	uint16_t raw = 0;

	if (off + len <= m->data_len)
		return fold(sum_bytes(rte_pktmbuf_mtod_offset(m, const uint8_t *, off), len,
				      phdr_sum(src, dst, len)));
	tn__raw_cksum_mbuf(m, off, len, &raw);
	return fold(fold64(raw + phdr_sum(src, dst, len)));
}

/* ---- the port table ---- */

static bool matches(const struct tn_udp_sock *u, uint16_t dport, uint32_t dst, uint32_t src,
		    uint16_t sport)
{
	if (u->lport != dport || (u->laddr && u->laddr != dst))
		return false;
	return !u->connected || (u->raddr == src && u->rport == sport);
}

/* The best socket for a unicast datagram, or NULL. */
static inline __attribute__((always_inline)) struct tn_udp_sock *
lookup(struct tn_stack *s, uint32_t dst, uint16_t dport, uint32_t src, uint16_t sport)
{
	struct tn_udp_sock *u, *best = NULL;
	int score, best_score = -1;

	for (u = *bucket_of(s->udp, dport); u; u = u->hnext) {
		if (!matches(u, dport, dst, src, sport))
			continue;
		score = (u->connected ? 2 : 0) + (u->laddr ? 1 : 0);
		if (score > best_score) {
			best = u;
			best_score = score;
		}
	}
	return best;
}

static bool port_used(struct tn_udp *t, uint16_t port)
{
	const struct tn_udp_sock *x;

	for (x = *bucket_of(t, port); x; x = x->hnext)
		if (x->lport == port)
			return true;
	return false;
}

static bool port_conflict(struct tn_udp *t, const struct tn_udp_sock *u, uint32_t addr,
			  uint16_t port)
{
	const struct tn_udp_sock *x;

	for (x = *bucket_of(t, port); x; x = x->hnext)
		if (x->lport == port && (!x->laddr || !addr || x->laddr == addr) &&
		    !(x->reuse && u->reuse))
			return true;
	return false;
}

static void link_bound(struct tn_udp_sock *u, uint32_t addr, uint16_t port)
{
	struct tn_udp_sock **b = bucket_of(u->s->udp, port);

	u->laddr = addr;
	u->lport = port;
	u->bound = true;
	u->hnext = *b;
	*b = u;
}

/* Binds u to a port of the ephemeral range no socket uses. */
static int bind_ephemeral(struct tn_udp_sock *u, uint32_t addr)
{
	struct tn_udp *t = u->s->udp;
	unsigned n = t->eph_hi - t->eph_lo + 1u, i;

	for (i = 0; i < n; i++) {
		uint16_t p = t->eph_next;

		t->eph_next = p == t->eph_hi ? t->eph_lo : p + 1;
		if (!port_used(t, p)) {
			link_bound(u, addr, p);
			return 0;
		}
	}
	return -EADDRINUSE;
}

/* ---- input ---- */

/* What a received datagram's mbuf (data at the payload) says besides
 * its bytes: hl, the length of the IPv4 header still in front of the
 * UDP header in the same buffer, or 0 (tn_udp_reply_burst turns the
 * datagram around in place only over those).  Receive offload flags say
 * nothing about the payload; the flags that make a segment indirect or
 * external must stay. */
static inline void dgram_meta(struct rte_mbuf *m, unsigned hl)
{
	m->l2_len = 0;
	m->l3_len = hl;
	m->packet_type = 0;
	m->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;
}

/* Hands m (data at the payload) to every socket in targets; the last
 * one gets m itself. */
static void deliver_all(struct tn_stack *s, struct tn_udp_sock **targets, unsigned n,
			struct rte_mbuf *m, uint32_t src, uint16_t sport)
{
	unsigned i;

	for (i = 0; i + 1 < n; i++) {
		struct rte_mbuf *c = rte_pktmbuf_copy(m, s->cfg.mp, 0, UINT32_MAX);

		if (!c) {
			s->st.udp_copy_failed++;
			continue;
		}
		c->l3_len = 0; /* no headers in front of a copy's payload */
		tn__udp_sock_deliver(targets[i], c, src, sport);
	}
	tn__udp_sock_deliver(targets[n - 1], m, src, sport);
}

void tn__udp_input(struct tn_stack *s, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip)
{
	uint32_t plen = m->pkt_len - m->l3_len, src = ip->src_addr, dst = ip->dst_addr;
	struct tn_udp_sock *targets[16], *u;
	struct rte_udp_hdr hb;
	const struct rte_udp_hdr *uh;
	uint16_t sport, dport;
	unsigned n = 0, hl;

	if (plen < UDP_HDR_LEN) {
		s->st.udp_bad_len++;
		goto drop;
	}
	uh = rte_pktmbuf_read(m, m->l3_len, UDP_HDR_LEN, &hb);
	if (rte_be_to_cpu_16(uh->dgram_len) != plen) {
		s->st.udp_bad_len++;
		goto drop;
	}
	/* A zero checksum means the sender computed none (RFC 768). */
	if (uh->dgram_cksum &&
	    (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) != RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
	    l4_sum(m, m->l3_len, plen, src, dst) != 0xffff) {
		s->st.udp_bad_csum++;
		goto drop;
	}
	sport = rte_be_to_cpu_16(uh->src_port);
	dport = rte_be_to_cpu_16(uh->dst_port);
	if (dst == s->ip) {
		u = lookup(s, dst, dport, src, sport);
		if (u)
			targets[n++] = u;
	} else {
		/* Broadcast or multicast: everyone listening (up to 16). */
		for (u = *bucket_of(s->udp, dport); u && n < RTE_DIM(targets); u = u->hnext)
			if (matches(u, dport, dst, src, sport))
				targets[n++] = u;
	}
	if (!n) {
		s->st.udp_no_port++;
		/* (Suppressed there for broadcasts and groups; rate-limited.) */
		tn__icmp_error(s, m, TN_ICMP_DEST_UNREACH, TN_ICMP_UNREACH_PORT);
		goto drop;
	}
	/* The headers stay in front of the payload unless adj frees the
	 * segment they are in: l3_len tells tn_udp_reply_burst so. */
	hl = m->data_len > m->l3_len + UDP_HDR_LEN || !m->next ? m->l3_len : 0;
	if (!m->next) {
		/* (tn__mbuf_adj's single-segment case, inline.) */
		m->data_off += m->l3_len + UDP_HDR_LEN;
		m->data_len -= m->l3_len + UDP_HDR_LEN;
		m->pkt_len -= m->l3_len + UDP_HDR_LEN;
	} else {
		m = tn__mbuf_adj(m, m->l3_len + UDP_HDR_LEN);
	}
	dgram_meta(m, hl);
	deliver_all(s, targets, n, m, src, sport);
	return;
drop:
	rte_pktmbuf_free(m);
}

/* Puts m into u's receive queue at position at (below rx_cap) from its
 * head; the caller accounts for it. */
static inline void rxq_put(struct tn_udp_sock *u, unsigned at, struct rte_mbuf *m,
			   uint32_t addr, uint16_t port)
{
	unsigned i = u->rx_head + at; /* no division on the per-datagram path */
	struct tn__udp_rxent *e = &u->rxq[i >= u->rx_cap ? i - u->rx_cap : i];

	e->m = m;
	e->addr = addr;
	e->port = port;
}

/* Datagrams tn__udp_fast_input queues on one socket, the run's socket:
 * its queue's length and the counts are kept here, and written back by
 * run_end before anything else looks at the socket or the counters (in
 * the socket they would be loaded and stored again for every datagram,
 * as the compiler must assume the mbuf stores between may change them). */
struct rx_run {
	struct tn_udp_sock *u;
	unsigned len, added;
};

static inline void run_end(struct tn_stack *s, struct rx_run *r)
{
	if (r->added) {
		r->u->rx_len = r->len;
		r->u->st.rx += r->added;
		s->st.udp_rx += r->added;
		r->added = 0;
	}
	r->u = NULL;
}

/* Hands m to u as tn__udp_sock_deliver does: queued here when no task
 * is waiting to be handed it or told (all but the first datagram of a
 * burst, whose wakeup empties readq) and there is room, else through
 * tn__udp_sock_deliver. */
static inline void run_deliver(struct tn_stack *s, struct rx_run *r, struct tn_udp_sock *u,
			       struct rte_mbuf *m, uint32_t src, uint16_t sport)
{
	if (u != r->u) {
		run_end(s, r);
		r->u = u;
		r->len = u->rx_len;
	}
	if (unlikely(u->recvq.head || u->readq.head || r->len == u->rx_cap)) {
		run_end(s, r);
		tn__udp_sock_deliver(u, m, src, sport);
		return;
	}
	rxq_put(u, r->len, m, src, sport);
	r->len++;
	r->added++;
}

/* The whole receive path of unicast datagrams for our sockets, for
 * tn_stack_input to try first on a burst: what tn__ip_input,
 * tn__udp_input and lookup would do to each, without their calls and
 * views, and with a run of datagrams of one flow looked up once (the
 * stack's cost per datagram was mostly those).  It stops at the first
 * frame that is anything else: not a well-formed datagram to our MAC
 * and address (tn__udp4_parse), from a source we refuse, with a bad
 * checksum, or for no socket; that frame is left untouched, uncounted,
 * for the general path, which decides and counts.  Returns how many it
 * took.  (tn_stack_config.no_fast_path: every frame takes the general
 * path, so a test can compare the two.) */
uint16_t tn__udp_fast_input(struct tn_stack *s, struct rte_mbuf **pkts, uint16_t n)
{
	struct rx_run r = { 0 };
	struct tn_udp_sock *u = NULL;
	uint32_t flow_src = 0, flow_ports = 0;
	uint16_t i;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		struct tn__udp4_view v;
		uint32_t src, dst, ports;
		uint16_t sport;

		/* The cheap tests first (tn__udp4_maybe: the length and the
		 * EtherType before the MAC is read), then the header sum. */
		if (!tn__udp4_maybe(m) || !rte_is_same_ether_addr(&eth->dst_addr, &s->mac) ||
		    !tn__udp4_parse(m, &v))
			break;
		src = v.ip->src_addr;
		dst = v.ip->dst_addr;
		if (dst != s->ip || tn__ip_is_bcast(s, src) || tn__ip_is_mcast(src) || src == s->ip)
			break;
		if (v.uh->dgram_cksum &&
		    (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) != RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
		    fold(sum_bytes((const uint8_t *)v.uh, v.ulen, phdr_sum(src, dst, v.ulen))) !=
			    0xffff)
			break;
		sport = rte_be_to_cpu_16(v.uh->src_port);
		/* Both ports at once: the flow of the run, or a lookup. */
		memcpy(&ports, &v.uh->src_port, sizeof(ports));
		if (!u || src != flow_src || ports != flow_ports) {
			u = lookup(s, dst, rte_be_to_cpu_16(v.uh->dst_port), src, sport);
			if (!u)
				break;
			flow_src = src;
			flow_ports = ports;
		}
		/* Committed: from here on, what the general path does. */
		if (!tn__arp_fresh(s, src) && tn__ip_on_link(s, src))
			tn__arp_learn(s, src, &eth->src_addr);
		/* The payload only (Ethernet padding trimmed); the headers
		 * stay in front of it for tn_udp_reply_burst (l3_len). */
		m->data_off += RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) + UDP_HDR_LEN;
		m->data_len = m->pkt_len = v.ulen - UDP_HDR_LEN;
		dgram_meta(m, sizeof(struct rte_ipv4_hdr));
		run_deliver(s, &r, u, m, src, sport);
	}
	run_end(s, &r);
	s->st.rx_frames += i;
	s->st.ip_rx += i;
	return i;
}

/* The errno an ICMP error means to a UDP socket (Linux's icmp_err_convert);
 * 0: none (source quench, redirect). */
static int icmp_errno(uint8_t type, uint8_t code)
{
	static const int unreach[] = {
		ENETUNREACH, EHOSTUNREACH, ENOPROTOOPT, ECONNREFUSED, EMSGSIZE, EOPNOTSUPP,
		ENETUNREACH, EHOSTDOWN, ENONET, ENETUNREACH, EHOSTUNREACH, ENETUNREACH,
		EHOSTUNREACH, EHOSTUNREACH,
	};

	switch (type) {
	case TN_ICMP_DEST_UNREACH:
		return -(code < RTE_DIM(unreach) ? unreach[code] : EHOSTUNREACH);
	case TN_ICMP_TIME_EXCEEDED:
		return -EHOSTUNREACH;
	case TN_ICMP_PARAM_PROBLEM:
		return -EPROTO;
	default:
		return 0;
	}
}

void tn__udp_icmp_error(struct tn_stack *s, const struct tn__icmp_err_view *ev)
{
	int err = icmp_errno(ev->type, ev->code);
	struct tn_udp_sock *u, *unconnected = NULL;
	uint16_t sport, dport;

	/* The quoted datagram is one we sent: from us, our port first. */
	if (!err || ev->src != s->ip) {
		s->st.udp_icmp_err_ignored++;
		return;
	}
	sport = (uint16_t)(ev->l4[0] << 8 | ev->l4[1]);
	dport = (uint16_t)(ev->l4[2] << 8 | ev->l4[3]);
	for (u = *bucket_of(s->udp, sport); u; u = u->hnext) {
		if (u->lport != sport || (u->laddr && u->laddr != ev->src))
			continue;
		if (u->connected && u->raddr == ev->dst && u->rport == dport) {
			u->st.icmp_errors++;
			s->st.udp_icmp_err++;
			tn__udp_sock_error(u, err);
			return;
		}
		if (!u->connected && !unconnected)
			unconnected = u;
	}
	if (unconnected)
		unconnected->st.icmp_errors++;
	s->st.udp_icmp_err_ignored++;
}

/* ---- output ---- */

/* m: the payload with headroom.  Takes m. */
static int udp_output(struct tn_udp_sock *u, struct rte_mbuf *m, uint32_t dst, uint16_t dport)
{
	struct tn_stack *s = u->s;
	struct rte_udp_hdr *uh;
	uint16_t sum;
	int err;

	if (!dst || !dport) {
		err = -EINVAL;
		goto fail;
	}
	if (m->pkt_len > TN_UDP_MAX_PAYLOAD) {
		err = -EMSGSIZE;
		goto fail;
	}
	if (!u->bound && (err = bind_ephemeral(u, 0)) < 0)
		goto fail;
	uh = (struct rte_udp_hdr *)rte_pktmbuf_prepend(m, UDP_HDR_LEN);
	if (!uh) {
		err = -ENOBUFS;
		goto fail;
	}
	uh->src_port = rte_cpu_to_be_16(u->lport);
	uh->dst_port = rte_cpu_to_be_16(dport);
	uh->dgram_len = rte_cpu_to_be_16(m->pkt_len);
	uh->dgram_cksum = 0;
	/* In software, over the whole chain; 0 goes out as 0xffff. */
	sum = ~l4_sum(m, 0, m->pkt_len, s->ip, dst);
	uh->dgram_cksum = sum ? sum : 0xffff;
	err = tn__ip_output(s, m, dst, IPPROTO_UDP);
	if (err == 0) {
		u->st.tx++;
		s->st.udp_tx++;
	}
	return err;
fail:
	rte_pktmbuf_free(m);
	return err;
}

int tn_udp_sendto(struct tn_udp_sock *u, const void *buf, size_t len, uint32_t addr,
		  uint16_t port)
{
	struct rte_mbuf *m;

	if (len > TN_UDP_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (!addr || !port)
		return -EINVAL;
	m = tn__stack_alloc(u->s);
	if (!m)
		return -ENOBUFS;
	if (tn__mbuf_append(u->s, m, buf, (uint32_t)len) < 0) {
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	return udp_output(u, m, addr, port);
}

int tn_udp_send(struct tn_udp_sock *u, const void *buf, size_t len)
{
	if (!u->connected)
		return -EDESTADDRREQ;
	return tn_udp_sendto(u, buf, len, u->raddr, u->rport);
}

int tn_udp_send_mbuf(struct tn_udp_sock *u, struct rte_mbuf *m, uint32_t addr, uint16_t port)
{
	if (!addr && !port) {
		if (!u->connected) {
			rte_pktmbuf_free(m);
			return -EDESTADDRREQ;
		}
		addr = u->raddr;
		port = u->rport;
	}
	if (rte_pktmbuf_headroom(m) < UDP_TX_HEADROOM) {
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	return udp_output(u, m, addr, port);
}

/* ---- burst sends ---- */

/* u's frame header to dst (see struct tn_udp_sock), made again when
 * stale: NULL if dst is not a resolved unicast neighbour (or gateway),
 * whose datagrams then take udp_output, which resolves it. */
static const uint8_t *frame_tpl_make(struct tn_udp_sock *u, uint32_t dst)
{
	struct tn_stack *s = u->s;

	u->tpl_dst = 0;
	if (tn__ip_frame_template(s, dst, IPPROTO_UDP, u->tpl, &u->tpl_until) < 0)
		return NULL;
	u->tpl_dst = dst;
	u->tpl_gen = s->arp_gen;
	return u->tpl;
}

static inline const uint8_t *frame_tpl(struct tn_udp_sock *u, uint32_t dst)
{
	const struct tn_stack *s = u->s;

	if (likely(u->tpl_dst == dst && u->tpl_gen == s->arp_gen && s->now < u->tpl_until))
		return u->tpl;
	return frame_tpl_make(u, dst);
}

/* Whether m (its payload) goes out in one frame on a template. */
static inline bool fits_frame(const struct tn_stack *s, const struct rte_mbuf *m)
{
	return m->pkt_len + sizeof(struct rte_ipv4_hdr) + UDP_HDR_LEN <= s->cfg.mtu &&
	       rte_pktmbuf_headroom(m) >= UDP_TX_HEADROOM;
}

/* Puts the template and a UDP header (ports sport and dport, network
 * order, checksum ck) in front of m's payload and queues the frame on b
 * (the caller counts it). */
static inline __attribute__((always_inline)) void tpl_send(struct tn__frame_batch *b,
							   struct rte_mbuf *m, const uint8_t *tpl,
							   uint16_t sport, uint16_t dport,
							   uint16_t ck)
{
	uint16_t ulen = rte_cpu_to_be_16((uint16_t)(m->pkt_len + UDP_HDR_LEN));
	uint8_t *p;
	struct rte_udp_hdr *uh;

	/* (rte_pktmbuf_prepend, less its check: fits_frame made it.) */
	m->data_off -= UDP_TX_HEADROOM;
	m->data_len += UDP_TX_HEADROOM;
	m->pkt_len += UDP_TX_HEADROOM;
	p = rte_pktmbuf_mtod(m, uint8_t *);
	uh = (struct rte_udp_hdr *)(p + TN_IP_TPL_LEN);

	memcpy(p, tpl, TN_IP_TPL_LEN);
	uh->src_port = sport;
	uh->dst_port = dport;
	uh->dgram_len = ulen;
	uh->dgram_cksum = ck ? ck : 0xffff; /* a computed 0 goes out as 0xffff */
	tn__frame_batch_send(b, m);
}

uint16_t tn_udp_send_burst(struct tn_udp_sock *u, struct rte_mbuf **pkts, uint16_t n,
			   uint32_t addr, uint16_t port)
{
	struct tn_stack *s = u->s;
	const uint8_t *tpl = NULL;
	struct tn__frame_batch b;
	uint16_t i, sent = 0, fast = 0;
	uint64_t ph = 0;

	if (!addr && !port) {
		if (!u->connected) {
			rte_pktmbuf_free_bulk(pkts, n);
			return 0;
		}
		addr = u->raddr;
		port = u->rport;
	}
	if (addr && port && (u->bound || bind_ephemeral(u, 0) == 0)) {
		tpl = frame_tpl(u, addr);
		/* The pseudo header and the ports, less the lengths. */
		ph = phdr_sum(s->ip, addr, 0) + rte_cpu_to_be_16(u->lport) + rte_cpu_to_be_16(port);
	}
	tn__frame_batch_begin(s, &b);
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint32_t ulen = m->pkt_len + UDP_HDR_LEN;
		/* The length is in the pseudo header and the UDP header. */
		uint64_t init = ph + 2u * rte_cpu_to_be_16((uint16_t)ulen);
		uint32_t sum;
		uint16_t r16 = 0;

		if (!tpl || !fits_frame(s, m)) {
			/* Fragments, unresolved neighbours, errors. */
			tn__frame_batch_end(&b);
			sent += tn_udp_send_mbuf(u, m, addr, port) == 0;
			tn__frame_batch_begin(s, &b);
			continue;
		}
		if (m->data_len == m->pkt_len) {
			sum = sum_bytes(rte_pktmbuf_mtod(m, const uint8_t *), m->pkt_len, init);
		} else {
			tn__raw_cksum_mbuf(m, 0, m->pkt_len, &r16);
			sum = fold64(init + r16);
		}
		tpl_send(&b, m, tpl, rte_cpu_to_be_16(u->lport), rte_cpu_to_be_16(port),
			 (uint16_t)~fold(sum));
		fast++;
	}
	tn__frame_batch_end(&b);
	u->st.tx += fast;
	s->st.udp_tx += fast;
	return sent + fast;
}

/* RFC 1624's eqn. 3 for one 32-bit field: adds ~old and new. */
static inline uint32_t adj32(uint32_t old, uint32_t new)
{
	return (~old & 0xffff) + (~old >> 16) + (new & 0xffff) + (new >> 16);
}

uint16_t tn_udp_reply_burst(struct tn_udp_sock *u, struct rte_mbuf **pkts,
			    const struct tn_udp_addr *to, uint16_t n)
{
	struct tn_stack *s = u->s;
	uint16_t sport = rte_cpu_to_be_16(u->lport); /* (a slow send may bind u) */
	/* The template of the last destination, looked up once for a run
	 * of replies to it (all of them, for an echo server's burst from
	 * one client). */
	const uint8_t *tpl = NULL;
	uint32_t tpl_dst = 0;
	struct tn__frame_batch b;
	uint16_t i, sent = 0, fast = 0;

	tn__frame_batch_begin(s, &b);
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const uint32_t addr = to[i].addr;
		const uint16_t dport = rte_cpu_to_be_16(to[i].port);
		const unsigned hl = m->l3_len;
		const struct rte_udp_hdr *ou;
		const struct rte_ipv4_hdr *oip;
		uint32_t sum;

		/* In place only over the headers this very buffer arrived
		 * with (l3_len, set by UDP input) and that no one else sees;
		 * with a checksum to start from. */
		if (!hl || m->nb_segs != 1 || !RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1 ||
		    !u->bound || !addr || !dport || !fits_frame(s, m) ||
		    (uint32_t)m->data_off < UDP_HDR_LEN + hl)
			goto slow;
		ou = rte_pktmbuf_mtod_offset(m, const struct rte_udp_hdr *, -UDP_HDR_LEN);
		oip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
					      -(int)(UDP_HDR_LEN + hl));
		if (!ou->dgram_cksum ||
		    ou->dgram_len != rte_cpu_to_be_16((uint16_t)(m->pkt_len + UDP_HDR_LEN)))
			goto slow;
		if (addr != tpl_dst) {
			tpl = frame_tpl(u, addr);
			if (!tpl)
				goto slow;
			tpl_dst = addr;
		}
		/* The payload is the one the old checksum covers: only the
		 * pseudo header's addresses and the ports change (for an
		 * echo they swap, and the sum stays as it was). */
		if (oip->src_addr == addr && oip->dst_addr == s->ip && ou->src_port == dport &&
		    ou->dst_port == sport) {
			/* An echo to its sender: a swap, the old checksum as is
			 * (the sum below would give the same, in ~30 more
			 * instructions). */
			tpl_send(&b, m, tpl, sport, dport, ou->dgram_cksum);
			fast++;
			continue;
		}
		sum = (uint16_t)~ou->dgram_cksum;
		sum += adj32(oip->src_addr, s->ip) + adj32(oip->dst_addr, addr);
		sum += adj32((uint32_t)ou->dst_port << 16 | ou->src_port, (uint32_t)dport << 16 | sport);
		tpl_send(&b, m, tpl, sport, dport, (uint16_t)~fold(sum));
		fast++;
		continue;
slow:
		m->l3_len = 0;
		tn__frame_batch_end(&b);
		sent += tn_udp_send_mbuf(u, m, addr, to[i].port) == 0;
		tn__frame_batch_begin(s, &b);
		tpl_dst = 0; /* that send may have changed what ARP knows */
		sport = rte_cpu_to_be_16(u->lport); /* and bound u to a port */
	}
	tn__frame_batch_end(&b);
	u->st.tx += fast;
	s->st.udp_tx += fast;
	return sent + fast;
}

/* ---- sockets ---- */

struct tn_udp_sock *tn_udp_open(struct tn_stack *s)
{
	struct tn_udp_sock *u = calloc(1, sizeof(*u));
	struct tn_udp *t = s->udp;

	if (u)
		u->rxq = calloc(TN_UDP_RCVQ_DEFAULT, sizeof(*u->rxq));
	if (!u || !u->rxq) {
		free(u);
		errno = ENOMEM;
		return NULL;
	}
	u->s = s;
	u->rx_cap = TN_UDP_RCVQ_DEFAULT;
	tn_waitq_init(&u->recvq);
	tn_waitq_init(&u->readq);
	u->all_next = t->all;
	if (t->all)
		t->all->all_prev = u;
	t->all = u;
	return u;
}

void tn__udp_free(struct tn_udp_sock *u, bool quiet)
{
	struct tn_udp *t = u->s->udp;
	struct rte_mbuf *m;
	uint32_t a;
	uint16_t p;

	if (u->bound) {
		struct tn_udp_sock **pp = bucket_of(t, u->lport);

		while (*pp != u)
			pp = &(*pp)->hnext;
		*pp = u->hnext;
	}
	while (u->ngroups)
		tn__igmp_leave(u->s, u->groups[--u->ngroups], quiet);
	while (tn__udp_dequeue(u, &m, &a, &p))
		rte_pktmbuf_free(m);
	if (u->all_prev)
		u->all_prev->all_next = u->all_next;
	else
		t->all = u->all_next;
	if (u->all_next)
		u->all_next->all_prev = u->all_prev;
	free(u->rxq);
	free(u);
}

int tn_udp_bind(struct tn_udp_sock *u, uint32_t addr, uint16_t port)
{
	if (u->bound)
		return -EINVAL;
	if (addr && addr != u->s->ip && !tn__ip_is_mcast(addr))
		return -EADDRNOTAVAIL;
	if (!port)
		return bind_ephemeral(u, addr);
	if (port_conflict(u->s->udp, u, addr, port))
		return -EADDRINUSE;
	link_bound(u, addr, port);
	return 0;
}

int tn_udp_set_reuseaddr(struct tn_udp_sock *u, bool on)
{
	if (u->bound)
		return -EINVAL;
	u->reuse = on;
	return 0;
}

int tn_udp_connect(struct tn_udp_sock *u, uint32_t addr, uint16_t port)
{
	int err;

	if (!addr && !port) {
		u->connected = false;
		u->raddr = 0;
		u->rport = 0;
		return 0;
	}
	if (!addr || !port)
		return -EINVAL;
	if ((err = tn__ip_route_check(u->s, addr)) < 0)
		return err;
	if (!u->bound && (err = bind_ephemeral(u, 0)) < 0)
		return err;
	u->raddr = addr;
	u->rport = port;
	u->connected = true;
	return 0;
}

int tn_udp_getsockname(const struct tn_udp_sock *u, uint32_t *addr, uint16_t *port)
{
	if (addr)
		*addr = u->laddr;
	if (port)
		*port = u->lport;
	return 0;
}

int tn_udp_getpeername(const struct tn_udp_sock *u, uint32_t *addr, uint16_t *port)
{
	if (!u->connected)
		return -ENOTCONN;
	if (addr)
		*addr = u->raddr;
	if (port)
		*port = u->rport;
	return 0;
}

int tn_udp_take_error(struct tn_udp_sock *u)
{
	int err = u->err;

	u->err = 0;
	return err;
}

void tn_udp_stats_get(const struct tn_udp_sock *u, struct tn_udp_stats *st)
{
	*st = u->st;
}

/* ---- the receive queue ---- */

bool tn__udp_enqueue(struct tn_udp_sock *u, struct rte_mbuf *m, uint32_t addr, uint16_t port)
{
	if (u->rx_len == u->rx_cap) {
		u->st.rx_dropped++;
		u->s->st.udp_rcvq_full++;
		rte_pktmbuf_free(m);
		return false;
	}
	rxq_put(u, u->rx_len, m, addr, port);
	u->rx_len++;
	u->st.rx++;
	u->s->st.udp_rx++;
	return true;
}

bool tn__udp_dequeue(struct tn_udp_sock *u, struct rte_mbuf **m, uint32_t *addr,
		     uint16_t *port)
{
	struct tn__udp_rxent *e;

	if (!u->rx_len)
		return false;
	e = &u->rxq[u->rx_head];
	*m = e->m;
	*addr = e->addr;
	*port = e->port;
	u->rx_head = u->rx_head + 1 == u->rx_cap ? 0 : u->rx_head + 1;
	u->rx_len--;
	return true;
}

int tn_udp_set_rcvq(struct tn_udp_sock *u, unsigned n)
{
	struct tn__udp_rxent *q;
	unsigned i;

	if (n < 1 || n > TN_UDP_RCVQ_MAX)
		return -EINVAL;
	if (u->rx_len > n)
		return -EBUSY;
	q = calloc(n, sizeof(*q));
	if (!q)
		return -ENOMEM;
	for (i = 0; i < u->rx_len; i++)
		q[i] = u->rxq[(u->rx_head + i) % u->rx_cap];
	free(u->rxq);
	u->rxq = q;
	u->rx_cap = n;
	u->rx_head = 0;
	return 0;
}

uint16_t tn_udp_recv_burst(struct tn_udp_sock *u, struct rte_mbuf **pkts,
			   struct tn_udp_addr *from, uint16_t max)
{
	unsigned head = u->rx_head, n = max < u->rx_len ? max : u->rx_len, i;

	for (i = 0; i < n; i++) {
		const struct tn__udp_rxent *e = &u->rxq[head];

		pkts[i] = e->m;
		if (from) {
			from[i].addr = e->addr;
			from[i].port = e->port;
		}
		head = head + 1 == u->rx_cap ? 0 : head + 1;
	}
	u->rx_head = head;
	u->rx_len -= n;
	return (uint16_t)n;
}

/* ---- multicast membership ---- */

int tn_udp_join(struct tn_udp_sock *u, uint32_t group)
{
	unsigned i;
	int err;

	if (!tn__ip_is_mcast(group))
		return -EINVAL;
	for (i = 0; i < u->ngroups; i++)
		if (u->groups[i] == group)
			return -EADDRINUSE;
	if (u->ngroups == TN_UDP_MAX_MEMBERSHIPS)
		return -ENOBUFS;
	if ((err = tn__igmp_join(u->s, group)) < 0)
		return err;
	u->groups[u->ngroups++] = group;
	return 0;
}

int tn_udp_leave(struct tn_udp_sock *u, uint32_t group)
{
	unsigned i;

	for (i = 0; i < u->ngroups; i++) {
		if (u->groups[i] == group) {
			u->groups[i] = u->groups[--u->ngroups];
			tn__igmp_leave(u->s, group, false);
			return 0;
		}
	}
	return -EADDRNOTAVAIL;
}
