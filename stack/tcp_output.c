/* Sending: the send buffer, the decision what to send (windows, Nagle,
 * sender SWS avoidance, FIN, SACK-based retransmission in recovery) and
 * building segments with their options.
 *
 * The send buffer is a list of mbufs (tn__tcp_q) holding the bytes from
 * sb_seq (= snd_una once the SYN is acknowledged) to the last byte
 * written; writes copy into the tail's room first, so small writes share
 * mbufs.  A segment copies its payload out of it (one mbuf per segment
 * up to the mbuf's data room, so every PMD can send it; no per-segment
 * indirect mbufs), found through a cursor that remembers the last
 * position, so sending a window is linear, not quadratic.
 *
 * A connection's segments start from a copy of its Ethernet and IPv4
 * headers (tn__ip_frame_template, remade when ARP changes or the entry
 * ages); segments that would need fragmenting, and those to a next hop
 * not yet resolved, go through tn__ip_output instead.  Checksums are
 * left to the port when it sums TCP (tn_stack_config's tx_tcp_cksum:
 * the pseudo-header sum in the field, RTE_MBUF_F_TX_TCP_CKSUM), else
 * computed in software over the pseudo header and the segment, as the
 * UDP path does (tn__raw_cksum_mbuf: a segment chains when it outgrows
 * an mbuf, and DPDK 22.11's sum is wrong over chains with odd-length
 * segments). */
#include <errno.h>
#include <string.h>

#include "tn_tcp.h"
#include "tn_wire.h"

/* ---- mbufs ---- */

/* Each acknowledged send-buffer mbuf and each mbuf of data read is
 * freed, and each segment and each write into an empty send buffer takes
 * a new one: in a request/response exchange, two frees and two
 * allocations per message and side (about 110 instructions each pair:
 * mempool put, get and reset; callgrind).  So the stack keeps a few such
 * mbufs of its own pool aside and the next allocations take them (a
 * reset, ~20; tn__tcp_mbuf_release in tn_tcp.h keeps them).  Bounded
 * to TN_TCP_SPARES per stack, kept only while the stack has
 * connections, and given back whenever one closes. */
static struct rte_mbuf *tcp_alloc(struct tn_stack *s)
{
	struct tn_tcp *t = s->tcp;
	struct rte_mbuf *m;

	if (!t->nspare)
		return tn__stack_alloc(s);
	m = t->spare[--t->nspare];
	rte_pktmbuf_reset(m);
	return m;
}

void tn__tcp_spare_free(struct tn_stack *s)
{
	struct tn_tcp *t = s->tcp;

	while (t->nspare)
		rte_pktmbuf_free_seg(t->spare[--t->nspare]);
}

/* ---- the send buffer ---- */

uint32_t tn__tcp_sb_append(struct tn_tcp_conn *c, const void *buf, uint32_t len)
{
	struct tn__tcp_q *q = &c->sndq;
	const uint8_t *p = buf;
	uint32_t done = 0;

	while (done < len) {
		struct rte_mbuf *t = q->tail;
		uint32_t k;

		if (!t || !RTE_MBUF_DIRECT(t) || rte_mbuf_refcnt_read(t) != 1 ||
		    rte_pktmbuf_tailroom(t) == 0) {
			t = tcp_alloc(c->s);
			if (!t)
				break;
			t->data_off = 0; /* payload only: no headroom needed */
			t->next = NULL;
			if (q->tail)
				q->tail->next = t;
			else
				q->head = t;
			q->tail = t;
			q->nsegs++;
		}
		k = rte_pktmbuf_tailroom(t);
		if (k > len - done)
			k = len - done;
		memcpy(rte_pktmbuf_mtod_offset(t, uint8_t *, t->data_len), p + done, k);
		t->data_len += k;
		t->pkt_len = t->data_len;
		q->bytes += k;
		done += k;
	}
	return done;
}

void tn__tcp_sb_ack(struct tn_tcp_conn *c, uint32_t ack)
{
	struct tn__tcp_q *q = &c->sndq;
	uint32_t end = c->sb_seq + c->sndq.bytes, n;

	if (tn__seq_gt(ack, end))
		ack = end; /* the FIN */
	if (tn__seq_leq(ack, c->sb_seq))
		return;
	n = ack - c->sb_seq;
	c->sb_seq = ack;
	c->bytes_acked += n;
	tn__tcp_q_trim(c->s, q, n);
	/* The cursor's segment may be gone or trimmed. */
	c->sb_cur = NULL;
}

/* The segment holding seq and the offset in it. */
static struct rte_mbuf *sb_locate(struct tn_tcp_conn *c, uint32_t seq, uint32_t *off)
{
	struct rte_mbuf *m = c->sndq.head;
	uint32_t mseq = c->sb_seq;

	if (c->sb_cur && tn__seq_geq(seq, c->sb_cur_seq)) {
		m = c->sb_cur;
		mseq = c->sb_cur_seq;
	}
	while (m && tn__seq_geq(seq, mseq + m->data_len)) {
		mseq += m->data_len;
		m = m->next;
	}
	if (m) {
		c->sb_cur = m;
		c->sb_cur_seq = mseq;
	}
	*off = seq - mseq;
	return m;
}

/* ---- options ---- */

static inline void put32(uint8_t *p, uint32_t v)
{
	rte_be32_t b = rte_cpu_to_be_32(v);

	memcpy(p, &b, sizeof(b));
}

/* The timestamps option after two NOPs (RFC 7323 appendix A's layout,
 * Linux's): 12 bytes at o. */
static inline void put_ts(uint8_t *o, uint32_t tsval, uint32_t tsecr)
{
	rte_be32_t w = RTE_BE32(0x0101080au); /* NOP, NOP, kind 8, length 10 */

	memcpy(o, &w, sizeof(w));
	put32(o + 4, tsval);
	put32(o + 8, tsecr);
}

/* The SYN's options, in Linux's order (MSS, SACK permitted, timestamps,
 * window scale), so middleboxes see what they are used to. */
static unsigned syn_opts(uint8_t *o, uint16_t mss, bool sack, bool ts, uint32_t tsval,
			 uint32_t tsecr, bool ws, uint8_t wscale)
{
	unsigned n = 0;

	o[n++] = 2;
	o[n++] = 4;
	o[n++] = (uint8_t)(mss >> 8);
	o[n++] = (uint8_t)mss;
	if (sack && ts) {
		o[n++] = 4;
		o[n++] = 2;
	} else if (sack) {
		o[n++] = 1;
		o[n++] = 1;
		o[n++] = 4;
		o[n++] = 2;
	}
	if (ts) {
		if (!sack) {
			o[n++] = 1;
			o[n++] = 1;
		}
		o[n++] = 8;
		o[n++] = 10;
		put32(o + n, tsval);
		put32(o + n + 4, tsecr);
		n += 8;
	}
	if (ws) {
		o[n++] = 1;
		o[n++] = 3;
		o[n++] = 3;
		o[n++] = wscale;
	}
	return n;
}

/* ---- building a segment ---- */

static uint16_t l4_cksum(const struct rte_mbuf *m, uint32_t src, uint32_t dst)
{
	struct rte_ipv4_hdr ph = {
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16(sizeof(ph) + m->pkt_len),
		.next_proto_id = IPPROTO_TCP,
		.src_addr = src,
		.dst_addr = dst,
	};
	uint16_t raw = 0;
	uint32_t sum;

	tn__raw_cksum_mbuf(m, 0, m->pkt_len, &raw);
	sum = (uint32_t)raw + rte_ipv4_phdr_cksum(&ph, 0);
	sum = (sum >> 16) + (sum & 0xffff);
	sum = (sum >> 16) + (sum & 0xffff);
	return (uint16_t)~sum;
}

/* A segment with header and options, payload appended by the caller.
 * NULL if no mbuf (counted). */
static struct rte_mbuf *seg_alloc(struct tn_stack *s, const uint8_t *opt, unsigned optlen,
				  struct rte_tcp_hdr **thp)
{
	struct rte_mbuf *m = tn__stack_alloc(s);
	struct rte_tcp_hdr *th;

	if (!m)
		return NULL;
	th = (struct rte_tcp_hdr *)rte_pktmbuf_append(m, TN_TCP_HDR_LEN + optlen);
	memset(th, 0, TN_TCP_HDR_LEN);
	th->data_off = (uint8_t)(((TN_TCP_HDR_LEN + optlen) / 4) << 4);
	if (opt && optlen)
		memcpy(th + 1, opt, optlen);
	*thp = th;
	return m;
}

static void seg_send(struct tn_stack *s, struct rte_mbuf *m, struct rte_tcp_hdr *th,
		     uint32_t src, uint32_t dst)
{
	th->cksum = 0;
	th->cksum = l4_cksum(m, src, dst);
	s->st.tcp_tx++;
	if (th->tcp_flags & RTE_TCP_RST_FLAG)
		s->st.tcp_rst_tx++;
	tn__ip_output(s, m, dst, IPPROTO_TCP);
}

/* The receive window field for the next segment (scaled), updating
 * rcv_adv.  (Every segment asks: inline in tn__tcp_xmit.) */
static inline uint16_t rcv_window(struct tn_tcp_conn *c)
{
	uint32_t space = tn__tcp_rcv_space(c), edge, wnd, field, sws, adv;
	uint8_t ws = c->rcv_wscale;

	if (c->state == TN_TCP_SYN_SENT || c->state == TN_TCP_SYN_RECEIVED) {
		/* The window of a SYN is never scaled (RFC 7323 2.2). */
		wnd = space > 65535 ? 65535 : space;
		if (tn__seq_gt(c->rcv_nxt + wnd, c->rcv_adv))
			c->rcv_adv = c->rcv_nxt + wnd;
		return (uint16_t)wnd;
	}
	edge = c->rcv_nxt + space;
	/* Never move the right edge left (RFC 9293 3.8.6.2.2); move it right
	 * only by a full segment or half the buffer at a time (receiver SWS
	 * avoidance, RFC 1122 4.2.3.3), unless a reader waits for more bytes
	 * than the window lets in: nothing is read until they come, so the
	 * window would stay shut for good (read_exactly and read_until keep
	 * what they wait for buffered, unlike Linux's MSG_WAITALL, which
	 * drains the buffer as bytes come). */
	sws = c->o.rcvbuf / 2 < c->rcv_mss ? c->o.rcvbuf / 2 : c->rcv_mss;
	adv = tn__seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	if (tn__seq_lt(edge, c->rcv_adv) ||
	    ((edge - c->rcv_adv) < sws && tn__tcp_rd_need(c) <= adv))
		edge = tn__seq_max(c->rcv_adv, c->rcv_nxt);
	wnd = edge - c->rcv_nxt;
	/* Round up: rounding down could move the edge left. */
	field = (wnd + (1u << ws) - 1) >> ws;
	if (field > 65535)
		field = 65535;
	wnd = field << ws;
	if (tn__seq_gt(c->rcv_nxt + wnd, c->rcv_adv))
		c->rcv_adv = c->rcv_nxt + wnd;
	return (uint16_t)field;
}

/* Whether c's frame header template holds (made again if it went
 * stale): false while the next hop is unresolved or unreachable. */
static bool tpl_valid(struct tn_tcp_conn *c)
{
	struct tn_stack *s = c->s;
	uint32_t sum;

	if (c->tpl_gen == s->arp_gen && s->now < c->tpl_until)
		return true;
	if (tn__ip_frame_template(s, c->raddr, IPPROTO_TCP, c->tpl, &c->tpl_until) < 0)
		return false;
	c->tpl_gen = s->arp_gen;
	/* The addresses and the protocol of the pseudo header (tpl_send). */
	sum = (c->laddr >> 16) + (c->laddr & 0xffff) + (c->raddr >> 16) + (c->raddr & 0xffff) +
	      rte_cpu_to_be_16(IPPROTO_TCP);
	sum = (sum >> 16) + (sum & 0xffff);
	c->tpl_phsum = (uint16_t)((sum >> 16) + (sum & 0xffff));
	return true;
}

/* A segment on c's template: the frame's headers written in one go,
 * the TCP header zeroed after them, options copied (opt NULL: the
 * caller writes them).  NULL if no mbuf (counted). */
static struct rte_mbuf *tpl_alloc(struct tn_tcp_conn *c, const uint8_t *opt, unsigned optlen,
				  struct rte_tcp_hdr **thp)
{
	struct rte_mbuf *m = tcp_alloc(c->s);
	struct rte_tcp_hdr *th;
	uint8_t *p;

	if (!m)
		return NULL;
	p = (uint8_t *)rte_pktmbuf_append(m, TN_IP_TPL_LEN + TN_TCP_HDR_LEN + optlen);
	if (!p) { /* (a data room below 94 bytes) */
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(p, c->tpl, TN_IP_TPL_LEN);
	th = (struct rte_tcp_hdr *)(p + TN_IP_TPL_LEN);
	memset(th, 0, TN_TCP_HDR_LEN);
	th->data_off = (uint8_t)(((TN_TCP_HDR_LEN + optlen) / 4) << 4);
	if (opt)
		memcpy(th + 1, opt, optlen);
	*thp = th;
	return m;
}

/* Sends a segment built by tpl_alloc: the TCP checksum, then IPv4
 * completes the frame. */
static void tpl_send(struct tn_tcp_conn *c, struct rte_mbuf *m, struct rte_tcp_hdr *th)
{
	struct tn_stack *s = c->s;
	uint32_t l4 = m->pkt_len - TN_IP_TPL_LEN, sum;
	uint16_t raw = 0;

	/* The pseudo header: the addresses, the protocol and the length. */
	sum = c->tpl_phsum + rte_cpu_to_be_16((uint16_t)l4);
	if (s->cfg.tx_tcp_cksum) {
		/* The port sums the segment into the pseudo header's sum. */
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
		m->l4_len = (th->data_off >> 4) * 4;
		sum = (sum >> 16) + (sum & 0xffff);
		th->cksum = (uint16_t)((sum >> 16) + (sum & 0xffff));
	} else {
		tn__raw_cksum_mbuf(m, TN_IP_TPL_LEN, l4, &raw);
		sum += raw;
		sum = (sum >> 16) + (sum & 0xffff);
		sum = (sum >> 16) + (sum & 0xffff);
		th->cksum = (uint16_t)~sum;
	}
	s->st.tcp_tx++;
	if (th->tcp_flags & RTE_TCP_RST_FLAG)
		s->st.tcp_rst_tx++;
	tn__ip_frame_send(s, m);
}

int tn__tcp_xmit(struct tn_tcp_conn *c, uint32_t seq, uint32_t len, uint8_t flags)
{
	struct tn_stack *s = c->s;
	uint8_t opt[TN_TCP_MAX_OPT];
	unsigned optlen = 0;
	struct rte_tcp_hdr *th;
	struct rte_mbuf *m;
	uint32_t tsval = tn__tcp_ts_now(c);
	bool tpl, ts_only = false;

	if (flags & RTE_TCP_SYN_FLAG) {
		bool synack = flags & RTE_TCP_ACK_FLAG;
		/* On a SYN-ACK only what the peer offered. */
		bool sack = synack ? (c->f & TF_SACK) : !c->o.no_sack;
		bool ts = synack ? (c->f & TF_TS) : !c->o.no_timestamps;
		bool ws = synack ? (c->f & TF_WS) : !c->o.no_wscale;

		optlen = syn_opts(opt, c->rcv_mss, sack, ts, tsval, c->ts_recent, ws, c->rcv_wscale);
	} else {
		if (c->f & TF_TS)
			optlen = 12;
		if ((c->f & TF_SACK) && c->ooo.head && !(flags & RTE_TCP_RST_FLAG)) {
			/* (As many blocks as fit: tn__tcp_seg_mss counts them.) */
			struct tn__tcp_sack b[4];
			unsigned n = tn__tcp_sack_blocks(c, b, optlen ? 3 : 4), i;

			if (optlen)
				put_ts(opt, tsval, c->ts_recent);
			opt[optlen++] = 1;
			opt[optlen++] = 1;
			opt[optlen++] = 5;
			opt[optlen++] = (uint8_t)(2 + 8 * n);
			for (i = 0; i < n; i++) {
				put32(opt + optlen, b[i].start);
				put32(opt + optlen + 4, b[i].end);
				optlen += 8;
			}
		} else {
			/* Timestamps alone (or nothing): written straight into
			 * the header, not copied from opt. */
			ts_only = optlen != 0;
		}
	}
	/* The template when the segment needs no fragmenting (an MSS above
	 * the path's after an ICMP clamp race) and the next hop is known;
	 * else tn__ip_output routes, resolves and fragments. */
	tpl = sizeof(struct rte_ipv4_hdr) + TN_TCP_HDR_LEN + optlen + len <= s->cfg.mtu &&
	      tpl_valid(c);
	m = tpl ? tpl_alloc(c, ts_only ? NULL : opt, optlen, &th)
		: seg_alloc(s, ts_only ? NULL : opt, optlen, &th);
	if (!m)
		return -ENOBUFS;
	if (ts_only)
		put_ts((uint8_t *)(th + 1), tsval, c->ts_recent);
	if (len) {
		uint32_t off, left = len;
		struct rte_mbuf *d = sb_locate(c, seq, &off);

		if (d && d->data_len - off >= len && rte_pktmbuf_tailroom(m) >= len) {
			/* The common case: one piece of the buffer, room in m. */
			memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, m->data_len),
			       rte_pktmbuf_mtod_offset(d, const uint8_t *, off), len);
			m->data_len += len;
			m->pkt_len += len;
			left = 0;
		}
		for (; d && left; d = d->next, off = 0) {
			uint32_t k = d->data_len - off;

			if (k > left)
				k = left;
			if (tn__mbuf_append(s, m, rte_pktmbuf_mtod_offset(d, const uint8_t *, off), k) < 0) {
				rte_pktmbuf_free(m);
				return -ENOBUFS;
			}
			left -= k;
		}
		if (left) { /* cannot happen: callers send what is buffered */
			rte_pktmbuf_free(m);
			return -ENOBUFS;
		}
	}
	th->src_port = rte_cpu_to_be_16(c->lport);
	th->dst_port = rte_cpu_to_be_16(c->rport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->tcp_flags = flags;
	if (flags & RTE_TCP_ACK_FLAG)
		th->recv_ack = rte_cpu_to_be_32(c->rcv_nxt);
	th->rx_win = rte_cpu_to_be_16(flags & RTE_TCP_RST_FLAG ? 0 : rcv_window(c));
	if (flags & RTE_TCP_ACK_FLAG) {
		c->last_ack_sent = c->rcv_nxt;
		c->f &= ~(TF_ACK_NOW | TF_DELACK);
		/* (A deadline that stops needs no re-filing: tcp_timer.c.) */
		c->delack_at = 0;
	}
	c->segs_out++;
	c->last_tx = s->now;
	if (tpl)
		tpl_send(c, m, th);
	else
		seg_send(s, m, th, c->laddr, c->raddr);
	return 0;
}

void tn__tcp_send_ack(struct tn_tcp_conn *c)
{
	tn__tcp_xmit(c, c->snd_max, 0, RTE_TCP_ACK_FLAG);
}

void tn__tcp_send_ack_limited(struct tn_tcp_conn *c, bool chal)
{
	struct tn_stack *s = c->s;

	if (s->now - c->chal_t >= 1000000000ull || s->now < c->chal_t) {
		c->chal_t = s->now;
		c->chal_n = 0;
	}
	if (c->chal_n >= TN_TCP_CHALLENGE_PER_S) {
		if (chal)
			s->st.tcp_challenge_ack_limited++;
		return;
	}
	c->chal_n++;
	if (chal)
		s->st.tcp_challenge_ack++;
	tn__tcp_send_ack(c);
}

void tn__tcp_send_rst(struct tn_tcp_conn *c)
{
	if (c->state == TN_TCP_SYN_SENT || c->state == TN_TCP_CLOSED ||
	    c->state == TN_TCP_TIME_WAIT)
		return; /* nothing synchronized to reset (SYN-SENT: RFC 9293 3.10.4) */
	tn__tcp_xmit(c, c->snd_max, 0, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
}

void tn__tcp_reply_rst(struct tn_stack *s, const struct tn__tcp_seg *g)
{
	struct rte_tcp_hdr *th;
	struct rte_mbuf *m = seg_alloc(s, NULL, 0, &th);

	if (!m)
		return;
	th->src_port = rte_cpu_to_be_16(g->dport);
	th->dst_port = rte_cpu_to_be_16(g->sport);
	if (g->flags & RTE_TCP_ACK_FLAG) {
		th->sent_seq = rte_cpu_to_be_32(g->ack);
		th->tcp_flags = RTE_TCP_RST_FLAG;
	} else {
		uint32_t ack = g->seq + g->len + !!(g->flags & RTE_TCP_SYN_FLAG) +
			       !!(g->flags & RTE_TCP_FIN_FLAG);

		th->recv_ack = rte_cpu_to_be_32(ack);
		th->tcp_flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
	}
	seg_send(s, m, th, g->dst, g->src);
}

void tn__tcp_reply_synack(struct tn_stack *s, const struct tn__tcp_seg *g, uint32_t iss,
			  uint16_t mss, uint8_t wscale, bool sack, uint32_t tsval, uint32_t rcvwnd)
{
	uint8_t opt[TN_TCP_MAX_OPT];
	unsigned optlen = syn_opts(opt, mss, sack, g->has_ts, tsval, g->tsval, wscale != 0xff,
				   wscale);
	struct rte_tcp_hdr *th;
	struct rte_mbuf *m = seg_alloc(s, opt, optlen, &th);

	if (!m)
		return;
	th->src_port = rte_cpu_to_be_16(g->dport);
	th->dst_port = rte_cpu_to_be_16(g->sport);
	th->sent_seq = rte_cpu_to_be_32(iss);
	th->recv_ack = rte_cpu_to_be_32(g->seq + 1);
	th->tcp_flags = RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG;
	th->rx_win = rte_cpu_to_be_16((uint16_t)(rcvwnd > 65535 ? 65535 : rcvwnd));
	seg_send(s, m, th, g->dst, g->src);
}

/* ---- what to send ---- */

uint32_t tn__tcp_seg_mss(const struct tn_tcp_conn *c)
{
	/* c->mss already leaves room for the timestamps every segment
	 * carries; SACK blocks (NOP, NOP, kind, length, 8 bytes each) come
	 * and go with out-of-order data, so a full segment shrinks for them
	 * (Linux's tcp_current_mss), or IPv4 would fragment it. */
	if (!(c->f & TF_SACK) || !c->ooo.head)
		return c->mss;
	return c->mss - (4 + 8 * tn__tcp_sack_count(c, (c->f & TF_TS) ? 3 : 4));
}

/* Highest SACKed sequence number (snd_una if none). */
static uint32_t sack_high(const struct tn_tcp_conn *c)
{
	return c->nsacks ? c->sacks[c->nsacks - 1].end : c->snd_una;
}

/* SACKed bytes in [a, b). */
static uint32_t sacked_in(const struct tn_tcp_conn *c, uint32_t a, uint32_t b)
{
	uint32_t n = 0;
	unsigned i;

	for (i = 0; i < c->nsacks; i++) {
		uint32_t x = tn__seq_max(a, c->sacks[i].start), y = tn__seq_min(b, c->sacks[i].end);

		if (tn__seq_lt(x, y))
			n += y - x;
	}
	return n;
}

/* RFC 6675's pipe, in the simplified form that counts every hole below
 * the highest SACKed byte as lost: what was sent, less what was SACKed
 * or lost, plus the holes resent in this recovery. */
static uint32_t pipe(const struct tn_tcp_conn *c)
{
	uint32_t hs = sack_high(c), lost, resent;

	if (!(c->f & TF_IN_RECOVERY) || !c->nsacks)
		return c->snd_nxt - c->snd_una;
	lost = (hs - c->snd_una) - c->sacked;
	resent = tn__seq_gt(c->rxt_next, c->snd_una)
			 ? (c->rxt_next - c->snd_una) - sacked_in(c, c->snd_una, c->rxt_next)
			 : 0;
	return tn__tcp_flight(c) - c->sacked - lost + resent;
}

/* The next hole to resend in recovery: [*seq, *seq + *len), or false. */
static bool next_hole(struct tn_tcp_conn *c, uint32_t *seq, uint32_t *len)
{
	uint32_t hs = sack_high(c), x = tn__seq_max(c->rxt_next, c->snd_una);
	unsigned i;

	for (i = 0; i < c->nsacks && tn__seq_lt(x, hs); i++) {
		if (tn__seq_leq(c->sacks[i].end, x))
			continue;
		if (tn__seq_lt(x, c->sacks[i].start)) {
			uint32_t n = c->sacks[i].start - x, max = tn__tcp_seg_mss(c);

			*seq = x;
			*len = n > max ? max : n;
			return true;
		}
		x = c->sacks[i].end;
	}
	return false;
}

/* tn__tcp_output's last steps, sent: whether a segment went. */
static void output_end(struct tn_tcp_conn *c, bool sent)
{
	/* Data waits on a window that is shut: probe it (RFC 9293 3.8.6.1). */
	if (c->snd_max == c->snd_una && tn__seq_lt(c->snd_nxt, c->sb_seq + c->sndq.bytes) &&
	    !c->rexmt_at)
		tn__tcp_persist_arm(c);
	if (!sent && (c->f & TF_ACK_NOW))
		tn__tcp_send_ack(c);
}

/* The common case of a request or a response: an ESTABLISHED
 * connection with nothing unusual (no recovery, duplicate ACKs,
 * out-of-order data or retransmission under way) whose unsent bytes, at
 * most a segment's worth, fit both windows and pass Nagle.  Sends them
 * with what tn__tcp_output's loop would do around the segment; false
 * (nothing done) for anything else, the general path's to decide. */
static bool output_one(struct tn_tcp_conn *c)
{
	uint32_t seq = c->snd_nxt, flight = seq - c->snd_una, len, usable, rwnd;

	if (c->state != TN_TCP_ESTABLISHED || (c->f & TF_IN_RECOVERY) || c->dupacks ||
	    c->ooo.head || seq != c->snd_max || c->s->out_len >= TN_TCP_OUTQ_MAX)
		return false;
	len = c->sb_seq + c->sndq.bytes - seq;
	if (len == 0 || len > c->mss || (c->o.nagle && flight && len != c->mss))
		return false;
	/* (RFC 5681 4.1's restart applies before the windows are read.) */
	if (!flight && c->s->now - c->last_tx > c->rto && c->last_tx)
		tn__tcp_cc_idle_restart(c);
	usable = c->cwnd > flight ? c->cwnd - flight : 0;
	rwnd = tn__seq_gt(c->snd_una + c->snd_wnd, seq) ? c->snd_una + c->snd_wnd - seq : 0;
	if (len > usable || len > rwnd)
		return false;
	if (tn__tcp_xmit(c, seq, len, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG) < 0) {
		output_end(c, false); /* (as the loop's break) */
		return true;
	}
	c->bytes_sent += len;
	if (!(c->f & TF_RTT_TIMING)) {
		c->f |= TF_RTT_TIMING;
		c->rtt_seq = seq;
		c->rtt_start = c->s->now;
	}
	c->snd_nxt = c->snd_max = seq + len;
	if (!c->rexmt_at || (c->f & (TF_PERSIST | TF_TLP)))
		tn__tcp_rexmt_arm_data(c);
	return true;
}

void tn__tcp_output(struct tn_tcp_conn *c)
{
	uint32_t sb_end, avail, wnd, flight, usable, rwnd, len, seq, smss;
	bool sent = false, fin, rexmit;
	uint8_t flags;

	if (output_one(c))
		return;
	switch (c->state) {
	case TN_TCP_ESTABLISHED:
	case TN_TCP_CLOSE_WAIT:
	case TN_TCP_FIN_WAIT_1:
	case TN_TCP_FIN_WAIT_2:
	case TN_TCP_CLOSING:
	case TN_TCP_LAST_ACK:
		break;
	case TN_TCP_TIME_WAIT:
		if (c->f & TF_ACK_NOW)
			tn__tcp_send_ack(c);
		return;
	default:
		return;
	}
	/* RFC 5681 4.1: after an idle period longer than an RTO, restart
	 * from the initial window. */
	if (c->snd_max == c->snd_una && c->s->now - c->last_tx > c->rto && c->last_tx)
		tn__tcp_cc_idle_restart(c);
	/* Recovery with SACK: resend holes first (RFC 6675 NextSeg rule 1). */
	if ((c->f & TF_IN_RECOVERY) && c->nsacks) {
		uint32_t hseq, hlen;

		while (pipe(c) + c->mss <= c->cwnd && next_hole(c, &hseq, &hlen)) {
			if (tn__tcp_xmit(c, hseq, hlen, RTE_TCP_ACK_FLAG) < 0)
				break;
			c->rxt_next = hseq + hlen;
			c->retransmits++;
			c->s->st.tcp_retransmits++;
			sent = true;
		}
	}
	for (;;) {
		/* The stack's output queue is the NIC's: a window bigger than
		 * it would only overflow it or, now that the dataplane leaves
		 * what a full port cannot take in it, stand in it (Linux's TCP
		 * small queues idea).  The ACKs of what is in flight bring us
		 * back. */
		if (c->s->out_len >= TN_TCP_OUTQ_MAX && c->snd_max != c->snd_una)
			break;
		sb_end = c->sb_seq + c->sndq.bytes;
		seq = c->snd_nxt;
		avail = tn__seq_lt(seq, sb_end) ? sb_end - seq : 0;
		/* The congestion window against what is in the network... */
		wnd = c->cwnd;
		/* (limited transmit, RFC 3042: a segment per duplicate ACK) */
		if (!(c->f & TF_IN_RECOVERY) && c->dupacks && c->dupacks < TN_TCP_DUPTHRESH)
			wnd += c->dupacks * c->mss;
		flight = pipe(c);
		usable = wnd > flight ? wnd - flight : 0;
		/* ...and the peer's window, from snd_una. */
		rwnd = tn__seq_gt(c->snd_una + c->snd_wnd, seq) ? c->snd_una + c->snd_wnd - seq : 0;
		if (usable > rwnd)
			usable = rwnd;
		len = avail < usable ? avail : usable;
		smss = tn__tcp_seg_mss(c);
		if (len > smss)
			len = smss;
		fin = (c->f & TF_FIN_QUEUED) && tn__seq_leq(seq, sb_end) && seq + len == sb_end;
		if (len) {
			bool all = len == avail;

			if (!(len == smss || (all && (!c->o.nagle || flight == 0 || fin)) ||
			      len >= c->max_sndwnd / 2 || tn__seq_lt(seq, c->snd_max)))
				break; /* Nagle or sender SWS avoidance: wait for an ACK */
		} else if (!fin) {
			break;
		}
		flags = RTE_TCP_ACK_FLAG;
		if (len && len == avail)
			flags |= RTE_TCP_PSH_FLAG;
		if (fin)
			flags |= RTE_TCP_FIN_FLAG;
		if (tn__tcp_xmit(c, seq, len, flags) < 0)
			break;
		sent = true;
		rexmit = tn__seq_lt(seq, c->snd_max);
		if (rexmit) {
			c->retransmits++;
			c->s->st.tcp_retransmits++;
		} else {
			c->bytes_sent += len;
			if (!(c->f & TF_RTT_TIMING) && len) {
				/* Time this segment (Karn: only new data). */
				c->f |= TF_RTT_TIMING;
				c->rtt_seq = seq;
				c->rtt_start = c->s->now;
			}
		}
		c->snd_nxt = seq + len + fin;
		if (fin) {
			c->f |= TF_FIN_SENT;
			c->fin_seq = seq + len;
		}
		if (tn__seq_gt(c->snd_nxt, c->snd_max))
			c->snd_max = c->snd_nxt;
		if (!c->rexmt_at || (c->f & (TF_PERSIST | TF_TLP))) {
			if (rexmit)
				tn__tcp_rexmt_arm(c);
			else
				tn__tcp_rexmt_arm_data(c);
		}
		if (fin)
			break;
		/* The whole buffer went and no FIN waits: nothing more (the
		 * next turn would find as much). */
		if (!(c->f & TF_FIN_QUEUED) && tn__seq_geq(c->snd_nxt, c->sb_seq + c->sndq.bytes))
			break;
	}
	output_end(c, sent);
}
