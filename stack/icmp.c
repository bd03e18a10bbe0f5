/* ICMP: echo (answering, and tn_stack_ping), errors we send (rate
 * limited, RFC 1122 3.2.2's "never about" rules) and errors we receive
 * (parsed; those about UDP go to udp.c, TCP's to tcp.c). */
#include <errno.h>
#include <string.h>

#include <rte_icmp.h>

#include "tn_stack_internal.h"
#include "tn_wire.h"

/* Bytes of the offending datagram an error quotes after its IP header:
 * RFC 792's 8, enough for the ports. */
#define ICMP_QUOTE 8

static uint16_t cksum_mbuf(const struct rte_mbuf *m)
{
	uint16_t sum = 0;

	tn__raw_cksum_mbuf(m, 0, m->pkt_len, &sum);
	return (uint16_t)~sum;
}

/* A fresh chain holding m's bytes from off on, or NULL (counted). */
static struct rte_mbuf *copy_from(struct tn_stack *s, const struct rte_mbuf *m, uint32_t off)
{
	struct rte_mbuf *c = tn__stack_alloc(s);

	for (; c && m; m = m->next) {
		if (off >= m->data_len) {
			off -= m->data_len;
			continue;
		}
		if (tn__mbuf_append(s, c, rte_pktmbuf_mtod_offset(m, const uint8_t *, off),
				 m->data_len - off) < 0) {
			rte_pktmbuf_free(c);
			return NULL;
		}
		off = 0;
	}
	return c;
}

static void echo_reply(struct tn_stack *s, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip)
{
	uint32_t dst = ip->src_addr;
	struct rte_icmp_hdr *icmp;
	struct rte_mbuf *r;

	if (tn__ip_is_bcast(s, ip->dst_addr)) {
		/* Answering broadcasts makes us a smurf amplifier. */
		s->st.icmp_echo_bcast++;
		rte_pktmbuf_free(m);
		return;
	}
	/* Turn the request around (id, sequence and data stay; a reassembled
	 * request is a chain, and the reply is fragmented again on output).
	 * In place when we own the bytes and the header is in the first
	 * segment; else (indirect or shared segments, as another stack's
	 * fragments on a simulated wire are) into a copy.  IP options are
	 * not echoed. */
	if (RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1 &&
	    m->data_len >= m->l3_len + TN_ICMP_HDR_LEN) {
		rte_pktmbuf_adj(m, m->l3_len);
		r = m;
		r->ol_flags = 0;
		r->packet_type = 0;
	} else {
		r = copy_from(s, m, m->l3_len);
		rte_pktmbuf_free(m);
		if (!r)
			return;
	}
	icmp = rte_pktmbuf_mtod(r, struct rte_icmp_hdr *);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_code = 0;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = cksum_mbuf(r);
	s->st.icmp_echo_replied++;
	tn__ip_output(s, r, dst, IPPROTO_ICMP);
}

void tn__icmp_input(struct tn_stack *s, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip)
{
	uint8_t buf[TN_ICMP_HDR_LEN + 60 + 8];
	uint32_t len = m->pkt_len - m->l3_len;
	struct tn__icmp_err_view ev;
	const uint8_t *p;
	uint16_t sum = 0;

	s->st.icmp_rx++;
	if (len < TN_ICMP_HDR_LEN || tn__raw_cksum_mbuf(m, m->l3_len, len, &sum) < 0 ||
	    sum != 0xffff) {
		s->st.icmp_bad++;
		goto drop;
	}
	if (len > sizeof(buf))
		len = sizeof(buf);
	p = rte_pktmbuf_read(m, m->l3_len, len, buf);
	switch (p[0]) {
	case TN_ICMP_ECHO_REQUEST:
		echo_reply(s, m, ip);
		return;
	case TN_ICMP_ECHO_REPLY:
		s->st.icmp_echo_reply_rx++;
		break;
	default:
		if (!tn__icmp_type_is_error(p[0])) {
			s->st.icmp_unhandled++;
			break;
		}
		if (tn__icmp_err_parse(p, len, &ev) < 0) {
			s->st.icmp_err_truncated++;
			break;
		}
		s->st.icmp_errors_rx++;
		if (ev.proto == IPPROTO_UDP)
			tn__udp_icmp_error(s, &ev);
		else if (ev.proto == IPPROTO_TCP)
			tn__tcp_icmp_error(s, &ev);
		break;
	}
drop:
	rte_pktmbuf_free(m);
}

/* Whether RFC 1122 3.2.2 forbids an error about this datagram: about an
 * ICMP error, a broadcast or multicast, a non-unicast source or a
 * non-first fragment (so a storm cannot feed on itself). */
static bool error_forbidden(const struct tn_stack *s, const struct rte_mbuf *orig,
			    const struct rte_ipv4_hdr *ip)
{
	uint32_t src = rte_be_to_cpu_32(ip->src_addr);
	uint8_t type;
	const uint8_t *t;

	if (tn__ip_is_bcast(s, ip->dst_addr) || tn__ip_is_mcast(ip->dst_addr) ||
	    tn__ip_is_bcast(s, ip->src_addr) ||
	    src == 0 || (src >> 28) == 0xe || (src >> 24) == 127)
		return true;
	if (rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK)
		return true;
	if (ip->next_proto_id == IPPROTO_ICMP) {
		t = rte_pktmbuf_read(orig, rte_ipv4_hdr_len(ip), 1, &type);
		if (!t || tn__icmp_type_is_error(*t))
			return true;
	}
	return false;
}

static bool rate_ok(struct tn_stack *s)
{
	double t = s->icmp_tokens;

	/* (A caller's clock that steps back refills nothing.) */
	if (s->now > s->icmp_tokens_t) {
		t += (double)(s->now - s->icmp_tokens_t) * TN_ICMP_ERR_RATE / 1e9;
		s->icmp_tokens_t = s->now;
	}
	s->icmp_tokens = t > TN_ICMP_ERR_BURST ? TN_ICMP_ERR_BURST : t;
	if (s->icmp_tokens < 1.0)
		return false;
	s->icmp_tokens -= 1.0;
	return true;
}

void tn__icmp_error(struct tn_stack *s, const struct rte_mbuf *orig, uint8_t type, uint8_t code)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(orig, const struct rte_ipv4_hdr *);
	uint32_t n = rte_ipv4_hdr_len(ip) + ICMP_QUOTE;
	struct rte_icmp_hdr *icmp;
	struct rte_mbuf *m;
	const void *q;

	if (error_forbidden(s, orig, ip)) {
		s->st.icmp_err_suppressed++;
		return;
	}
	if (!rate_ok(s)) {
		s->st.icmp_rate_limited++;
		return;
	}
	if (n > orig->pkt_len)
		n = orig->pkt_len;
	m = tn__stack_alloc(s);
	if (!m)
		return;
	icmp = (struct rte_icmp_hdr *)rte_pktmbuf_append(m, TN_ICMP_HDR_LEN + n);
	if (!icmp) {
		s->st.no_mbuf++;
		rte_pktmbuf_free(m);
		return;
	}
	memset(icmp, 0, TN_ICMP_HDR_LEN);
	icmp->icmp_type = type;
	icmp->icmp_code = code;
	q = rte_pktmbuf_read(orig, 0, n, icmp + 1);
	if (q != icmp + 1)
		memcpy(icmp + 1, q, n);
	icmp->icmp_cksum = cksum_mbuf(m);
	if (type == TN_ICMP_DEST_UNREACH)
		s->st.icmp_unreach_sent++;
	tn__ip_output(s, m, ip->src_addr, IPPROTO_ICMP);
}

int tn_stack_ping(struct tn_stack *s, uint32_t dst, uint16_t id, uint16_t seq, const void *data,
		  uint16_t len, uint64_t now)
{
	struct rte_icmp_hdr h = {
		.icmp_type = RTE_IP_ICMP_ECHO_REQUEST,
		.icmp_ident = rte_cpu_to_be_16(id),
		.icmp_seq_nb = rte_cpu_to_be_16(seq),
	};
	struct rte_icmp_hdr *icmp;
	struct rte_mbuf *m;

	s->now = now;
	m = tn__stack_alloc(s);
	if (!m)
		return -ENOBUFS;
	if (tn__mbuf_append(s, m, (const uint8_t *)&h, sizeof(h)) < 0 ||
	    tn__mbuf_append(s, m, data, len) < 0) {
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	icmp = rte_pktmbuf_mtod(m, struct rte_icmp_hdr *);
	icmp->icmp_cksum = cksum_mbuf(m);
	return tn__ip_output(s, m, dst, IPPROTO_ICMP);
}
