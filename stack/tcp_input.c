/* Segment arrival (RFC 9293 3.10.7) in every state, with RFC 5961's
 * defences (exact-match RST, challenge ACKs for in-window RSTs and for
 * SYNs, the ACK range check), RFC 7323's PAWS and timestamp echo,
 * RFC 1337 (RSTs do not end TIME-WAIT), RFC 6191 (a new SYN may take
 * over a TIME-WAIT connection), NewReno (RFC 5681, RFC 6582) and SACK
 * (RFC 2018, RFC 6675) loss recovery, and the delayed-ACK rules.
 *
 * The order for a synchronized connection follows the RFC: PAWS, RST,
 * SYN, sequence number, ACK, timestamp, data, FIN; then tn__tcp_output
 * sends what the segment made possible, with the ACK it owes. */
#include <string.h>

#include "tn_tcp.h"

/* The MSS values a SYN cookie can encode (3 bits), largest last. */
static const uint16_t cookie_mss[] = { 64, 536, 1220, 1300, 1440, 1460, 4312, 8960 };

/* ---- helpers ---- */

void tn__tcp_rtt_sample(struct tn_tcp_conn *c, uint64_t r)
{
	uint64_t var;

	if (!r)
		r = 1;
	if (!c->srtt) {
		c->srtt = r; /* RFC 6298 2.2 */
		c->rttvar = r / 2;
	} else { /* 2.3 */
		uint64_t d = c->srtt > r ? c->srtt - r : r - c->srtt;

		c->rttvar = (3 * c->rttvar + d) / 4;
		c->srtt = (7 * c->srtt + r) / 8;
	}
	var = 4 * c->rttvar;
	if (var < TN_TCP_TICK_NS)
		var = TN_TCP_TICK_NS; /* G, the clock granularity */
	c->rto = c->srtt + var;
	if (c->rto < c->o.rto_min_ns)
		c->rto = c->o.rto_min_ns;
	if (c->rto > c->o.rto_max_ns)
		c->rto = c->o.rto_max_ns;
}

/* Options of the peer's SYN that we take, and the MSS it announced. */
static void take_syn_opts(struct tn_tcp_conn *c, const struct tn__tcp_seg *g)
{
	c->peer_mss = g->mss;
	if (g->mss && g->mss < TN_TCP_MSS_FLOOR)
		c->peer_mss = TN_TCP_MSS_FLOOR;
	if (g->ws != 0xff && !c->o.no_wscale) {
		c->f |= TF_WS;
		c->snd_wscale = g->ws > TN_TCP_WSCALE_MAX ? TN_TCP_WSCALE_MAX : g->ws;
	} else {
		c->f &= ~TF_WS;
		c->snd_wscale = c->rcv_wscale = 0;
	}
	if (g->sack_ok && !c->o.no_sack)
		c->f |= TF_SACK;
	if (g->has_ts && !c->o.no_timestamps) {
		c->f |= TF_TS;
		c->ts_recent = g->tsval;
		c->ts_recent_at = c->s->now;
	}
}

static void set_tuple(struct tn_tcp_conn *c, const struct tn__tcp_seg *g)
{
	c->laddr = g->dst;
	c->lport = g->dport;
	c->raddr = g->src;
	c->rport = g->sport;
	c->ts_offset = tn__tcp_ts_offset(c->s, c->laddr, c->lport, c->raddr, c->rport);
}

static void process_fin(struct tn_tcp_conn *c);

/* Resends the first unacknowledged segment (fast retransmit, NewReno's
 * partial ACK). */
static void retransmit_first(struct tn_tcp_conn *c)
{
	uint32_t end = c->sb_seq + c->sndq.bytes, len = 0, smss = tn__tcp_seg_mss(c);
	uint8_t flags = RTE_TCP_ACK_FLAG;

	if (tn__seq_lt(c->snd_una, end))
		len = end - c->snd_una;
	if (len > smss)
		len = smss;
	if ((c->f & TF_FIN_SENT) && c->snd_una + len == c->fin_seq && len < smss)
		flags |= RTE_TCP_FIN_FLAG;
	if (!len && !(flags & RTE_TCP_FIN_FLAG))
		return;
	if (tn__tcp_xmit(c, c->snd_una, len, flags) == 0) {
		c->retransmits++;
		c->s->st.tcp_retransmits++;
		if (c->f & TF_RTT_TIMING && tn__seq_leq(c->rtt_seq, c->snd_una + len))
			c->f &= ~TF_RTT_TIMING; /* Karn */
	}
}

/* Merges the segment's SACK blocks into the scoreboard; true if they
 * told anything new. */
static bool sack_update(struct tn_tcp_conn *c, const struct tn__tcp_seg *g)
{
	bool news = false;
	unsigned i, j;

	for (i = 0; i < g->nsack; i++) {
		struct tn__tcp_sack b = g->sack[i];

		/* Only blocks inside what is in flight (RFC 2018 bogus blocks,
		 * and D-SACKs below snd_una, are ignored). */
		if (!tn__seq_lt(b.start, b.end) || tn__seq_leq(b.end, c->snd_una) ||
		    tn__seq_gt(b.end, c->snd_max) || tn__seq_lt(b.start, c->snd_una))
			continue;
		/* Insert sorted, merging overlaps. */
		for (j = 0; j < c->nsacks; j++) {
			struct tn__tcp_sack *x = &c->sacks[j];

			if (tn__seq_leq(b.start, x->end) && tn__seq_geq(b.end, x->start)) {
				if (tn__seq_lt(b.start, x->start) || tn__seq_gt(b.end, x->end))
					news = true;
				b.start = tn__seq_min(b.start, x->start);
				b.end = tn__seq_max(b.end, x->end);
				memmove(x, x + 1, (c->nsacks - j - 1) * sizeof(*x));
				c->nsacks--;
				j--;
			}
		}
		for (j = 0; j < c->nsacks && tn__seq_lt(c->sacks[j].start, b.start); j++)
			;
		if (c->nsacks == TN_TCP_SACK_MAX) {
			/* Full: forget the lowest range (it is the likeliest to
			 * be acknowledged soon anyway). */
			if (j == 0)
				continue;
			memmove(c->sacks, c->sacks + 1, (TN_TCP_SACK_MAX - 1) * sizeof(*c->sacks));
			c->nsacks--;
			j--;
		}
		memmove(c->sacks + j + 1, c->sacks + j, (c->nsacks - j) * sizeof(*c->sacks));
		c->sacks[j] = b;
		c->nsacks++;
		news = true;
	}
	c->sacked = 0;
	for (j = 0; j < c->nsacks; j++)
		c->sacked += c->sacks[j].end - c->sacks[j].start;
	return news;
}

static void sack_prune(struct tn_tcp_conn *c)
{
	unsigned i = 0, j;

	while (i < c->nsacks && tn__seq_leq(c->sacks[i].end, c->snd_una))
		i++;
	if (i) {
		memmove(c->sacks, c->sacks + i, (c->nsacks - i) * sizeof(*c->sacks));
		c->nsacks -= i;
	}
	if (c->nsacks && tn__seq_lt(c->sacks[0].start, c->snd_una))
		c->sacks[0].start = c->snd_una;
	c->sacked = 0;
	for (j = 0; j < c->nsacks; j++)
		c->sacked += c->sacks[j].end - c->sacks[j].start;
}

/* ---- SYN-SENT (RFC 9293 3.10.7.3) ---- */

static void syn_sent_input(struct tn_tcp_conn *c, const struct tn__tcp_seg *g)
{
	struct tn_stack *s = c->s;

	if (g->flags & RTE_TCP_ACK_FLAG) {
		if (tn__seq_leq(g->ack, c->iss) || tn__seq_gt(g->ack, c->snd_max)) {
			if (!(g->flags & RTE_TCP_RST_FLAG))
				tn__tcp_reply_rst(s, g);
			s->st.tcp_bad_ack++;
			return;
		}
	}
	if (g->flags & RTE_TCP_RST_FLAG) {
		/* Acceptable only if it acknowledges our SYN. */
		if (g->flags & RTE_TCP_ACK_FLAG) {
			s->st.tcp_rst_rx++;
			tn__tcp_close_conn(c, -ECONNREFUSED);
		}
		return;
	}
	if (!(g->flags & RTE_TCP_SYN_FLAG)) {
		s->st.tcp_bad_flags++;
		return;
	}
	c->irs = g->seq;
	c->rcv_nxt = g->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	take_syn_opts(c, g);
	c->snd_wnd = g->win; /* a SYN's window is never scaled */
	c->max_sndwnd = c->snd_wnd;
	c->snd_wl1 = g->seq;
	if (g->flags & RTE_TCP_ACK_FLAG) {
		c->snd_una = g->ack;
		c->snd_wl2 = g->ack;
		c->state = TN_TCP_ESTABLISHED;
		if ((c->f & TF_RTT_TIMING) && !(c->f & TF_SYN_REXMIT))
			tn__tcp_rtt_sample(c, s->now - c->rtt_start);
		c->f &= ~TF_RTT_TIMING;
		tn__tcp_init_send(c);
		tn__tcp_rexmt_stop(c);
		tn__tcp_idle_arm(c);
		c->f |= TF_ACK_NOW;
		tn__tcp_output(c);
		tn__tcp_sock_state(c);
		return;
	}
	/* Simultaneous open: our SYN crossed theirs. */
	c->state = TN_TCP_SYN_RECEIVED;
	c->f |= TF_WAS_SYNRCVD;
	tn__tcp_xmit(c, c->iss, 0, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
}

/* ---- LISTEN (3.10.7.2) and SYN cookies ---- */

static unsigned cookie_mss_idx(uint16_t peer, uint16_t ours)
{
	uint16_t mss = peer ? peer : TN_TCP_MSS_DEFAULT;
	unsigned i = RTE_DIM(cookie_mss);

	if (mss > ours)
		mss = ours;
	while (--i > 0 && cookie_mss[i] > mss)
		;
	return i;
}

/* Our timestamp on a cookie SYN-ACK carries what the cookie cannot, as
 * Linux's does: the peer's window scale (4 bits, 0xf: none) and SACK
 * permitted (bit 4) in its low 5 bits, echoed back in the ACK's TSecr.
 * Our own scale follows from the listener's options again. */
#define COOKIE_TS_BITS 5

static void listen_syn_cookie(struct tn_tcp_listener *l, const struct tn__tcp_seg *g)
{
	struct tn_stack *s = l->s;
	struct tn_tcp_conn tmp;
	unsigned idx;
	uint32_t tsval = 0;
	bool ws = g->ws != 0xff && !l->opts.no_wscale, sack = g->sack_ok && !l->opts.no_sack;

	memset(&tmp, 0, sizeof(tmp));
	tmp.s = s;
	tmp.o = l->opts;
	tn__tcp_init_local(&tmp);
	idx = cookie_mss_idx(g->mss, tmp.rcv_mss);
	if (g->has_ts && !l->opts.no_timestamps) {
		uint32_t off = tn__tcp_ts_offset(s, g->dst, g->dport, g->src, g->sport);

		tsval = (((uint32_t)(s->now / 1000000) + off) & ~((1u << COOKIE_TS_BITS) - 1)) |
			(ws ? (g->ws > TN_TCP_WSCALE_MAX ? TN_TCP_WSCALE_MAX : g->ws) : 0xf) |
			(sack ? 0x10 : 0);
	} else {
		ws = sack = false; /* nowhere to keep them */
	}
	s->st.tcp_syncookies_sent++;
	tn__tcp_reply_synack(s, g, tn__tcp_cookie_make(s, g, idx), cookie_mss[idx],
			     ws ? tmp.rcv_wscale : 0xff, sack, tsval,
			     tmp.o.rcvbuf > 65535 ? 65535 : tmp.o.rcvbuf);
}

/* An ACK for a listener: a valid cookie makes an established connection
 * (returned; the caller processes the segment on it). */
static struct tn_tcp_conn *listen_cookie_ack(struct tn_tcp_listener *l,
					     const struct tn__tcp_seg *g)
{
	struct tn_stack *s = l->s;
	struct tn_tcp_conn *c;
	int idx;

	if (!s->st.tcp_syncookies_sent)
		return NULL; /* never sent one: not worth hashing */
	idx = tn__tcp_cookie_check(s, g, g->ack - 1);
	if (idx < 0) {
		s->st.tcp_syncookies_bad++;
		return NULL;
	}
	if (l->aq_len >= l->backlog) {
		s->st.tcp_syn_drop++;
		return NULL;
	}
	c = tn__tcp_conn_alloc(s, &l->opts);
	if (!c)
		return NULL;
	s->st.tcp_syncookies_ok++;
	set_tuple(c, g);
	tn__tcp_init_local(c);
	c->f |= TF_PASSIVE | TF_COOKIE;
	c->irs = g->seq - 1;
	c->rcv_nxt = g->seq;
	/* What the cookie's SYN-ACK announced. */
	c->rcv_adv = g->seq + (c->o.rcvbuf > 65535 ? 65535 : c->o.rcvbuf);
	c->iss = g->ack - 1;
	c->snd_una = c->snd_nxt = c->snd_max = c->sb_seq = g->ack;
	c->recover = c->iss;
	c->peer_mss = cookie_mss[idx];
	if (g->has_ts && !l->opts.no_timestamps) {
		unsigned wsc = g->tsecr & 0xf;

		c->f |= TF_TS;
		c->ts_recent = g->tsval;
		c->ts_recent_at = s->now;
		if (g->tsecr & 0x10)
			c->f |= TF_SACK;
		if (wsc != 0xf) {
			c->f |= TF_WS;
			c->snd_wscale = (uint8_t)wsc;
		} else {
			c->rcv_wscale = 0;
		}
	} else {
		c->rcv_wscale = 0;
	}
	c->snd_wnd = (uint32_t)g->win << c->snd_wscale;
	c->max_sndwnd = c->snd_wnd;
	c->snd_wl1 = g->seq;
	c->snd_wl2 = g->ack;
	c->state = TN_TCP_ESTABLISHED;
	c->last_rx = s->now;
	tn__tcp_init_send(c);
	tn__tcp_hash_insert(c);
	tn__tcp_listener_add_syn(l, c);
	tn__tcp_listener_established(c);
	tn__tcp_idle_arm(c);
	return c;
}

void tn__tcp_listen_input(struct tn_tcp_listener *l, struct rte_mbuf *m, struct tn__tcp_seg *g)
{
	struct tn_stack *s = l->s;
	struct tn_tcp_conn *c;

	if (g->flags & RTE_TCP_RST_FLAG) {
		s->st.tcp_rst_rx++;
		goto drop;
	}
	if (g->flags & RTE_TCP_ACK_FLAG) {
		if (!(g->flags & RTE_TCP_SYN_FLAG) && (c = listen_cookie_ack(l, g)) != NULL) {
			tn__tcp_conn_input(c, m, g);
			return;
		}
		s->st.tcp_no_conn++;
		tn__tcp_reply_rst(s, g);
		goto drop;
	}
	if (!(g->flags & RTE_TCP_SYN_FLAG)) {
		s->st.tcp_bad_flags++;
		goto drop;
	}
	if (l->aq_len >= l->backlog) {
		s->st.tcp_syn_drop++; /* nobody accepts: let the peer retry */
		goto drop;
	}
	if (l->syn_len >= l->backlog) {
		listen_syn_cookie(l, g);
		goto drop;
	}
	c = tn__tcp_conn_alloc(s, &l->opts);
	if (!c) {
		s->st.tcp_syn_drop++;
		goto drop;
	}
	set_tuple(c, g);
	tn__tcp_init_local(c);
	c->f |= TF_PASSIVE;
	c->state = TN_TCP_SYN_RECEIVED;
	c->irs = g->seq;
	c->rcv_nxt = g->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	take_syn_opts(c, g);
	c->iss = tn__tcp_isn(s, c->laddr, c->lport, c->raddr, c->rport);
	c->snd_una = c->recover = c->iss;
	c->snd_nxt = c->snd_max = c->sb_seq = c->iss + 1;
	c->snd_wnd = g->win;
	c->max_sndwnd = c->snd_wnd;
	c->snd_wl1 = g->seq;
	c->last_rx = s->now;
	tn__tcp_hash_insert(c);
	tn__tcp_listener_add_syn(l, c);
	/* (Data on a SYN is not kept: without TCP Fast Open the peer sends
	 * it again.) */
	tn__tcp_xmit(c, c->iss, 0, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	c->f |= TF_RTT_TIMING;
	c->rtt_seq = c->iss;
	c->rtt_start = s->now;
	tn__tcp_rexmt_arm(c);
drop:
	rte_pktmbuf_free(m);
}

/* ---- TIME-WAIT ---- */

/* true: m was handed on (a SYN that takes the tuple over). */
static bool timewait_input(struct tn_tcp_conn *c, struct rte_mbuf *m, struct tn__tcp_seg *g)
{
	struct tn_stack *s = c->s;

	if (g->flags & RTE_TCP_RST_FLAG) {
		s->st.tcp_rst_rx++; /* RFC 1337: TIME-WAIT ignores RSTs */
		return false;
	}
	if ((g->flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG) {
		/* RFC 6191 / RFC 1122 4.2.2.13: a new incarnation, if its
		 * timestamp (or else its sequence number) is newer. */
		bool newer = (c->f & TF_TS) && g->has_ts ? tn__seq_gt(g->tsval, c->ts_recent)
							 : tn__seq_gt(g->seq, c->rcv_nxt);
		struct tn_tcp_listener *l = tn__tcp_listener_find(s, g->dst, g->dport);

		if (newer && l) {
			s->st.tcp_tw_reuse++;
			tn__tcp_close_conn(c, 0);
			tn__tcp_listen_input(l, m, g);
			return true;
		}
		tn__tcp_send_ack_limited(c, true);
		return false;
	}
	if ((g->flags & RTE_TCP_FIN_FLAG) && g->seq + g->len + 1 == c->rcv_nxt) {
		/* Their FIN again: our ACK was lost.  ACK, restart 2 MSL. */
		tn__tcp_send_ack(c);
		tn__tcp_idle_arm(c);
		return false;
	}
	if (g->len || (g->flags & (RTE_TCP_FIN_FLAG | RTE_TCP_SYN_FLAG)))
		tn__tcp_send_ack_limited(c, false);
	return false;
}

/* ---- RST and SYN in synchronized states ---- */

static void rst_input(struct tn_tcp_conn *c, const struct tn__tcp_seg *g)
{
	struct tn_stack *s = c->s;
	uint32_t wnd = c->rcv_adv - c->rcv_nxt;

	s->st.tcp_rst_rx++;
	if (g->seq != c->rcv_nxt) {
		/* RFC 5961 3.2: in the window but not exact: ask. */
		if (tn__seq_geq(g->seq, c->rcv_nxt) && tn__seq_lt(g->seq, c->rcv_nxt + (wnd ? wnd : 1)))
			tn__tcp_send_ack_limited(c, true);
		else
			s->st.tcp_bad_seq++;
		return;
	}
	switch (c->state) {
	case TN_TCP_SYN_RECEIVED:
		tn__tcp_close_conn(c, -ECONNREFUSED);
		return;
	case TN_TCP_ESTABLISHED:
	case TN_TCP_CLOSE_WAIT:
		s->st.tcp_estab_resets++;
		/* fall through */
	default:
		tn__tcp_close_conn(c, -ECONNRESET);
		return;
	}
}

/* ---- ACK processing (3.10.7.4 fifth) ---- */

/* A full acknowledgment of snd_una: its effects.  true if c was closed. */
static bool new_ack(struct tn_tcp_conn *c, const struct tn__tcp_seg *g)
{
	struct tn_stack *s = c->s;
	uint32_t acked = g->ack - c->snd_una;
	bool fin_acked = (c->f & TF_FIN_SENT) && tn__seq_gt(g->ack, c->fin_seq);

	tn__tcp_sb_ack(c, g->ack);
	c->snd_una = g->ack;
	if (tn__seq_lt(c->snd_nxt, c->snd_una))
		c->snd_nxt = c->snd_una;
	if ((c->f & TF_RTT_TIMING) && tn__seq_gt(g->ack, c->rtt_seq)) {
		tn__tcp_rtt_sample(c, s->now - c->rtt_start);
		c->f &= ~TF_RTT_TIMING;
	}
	c->backoff = 0;
	c->nrexmt = 0;
	sack_prune(c);
	if (c->f & TF_IN_RECOVERY) {
		if (tn__seq_geq(g->ack, c->recover)) {
			/* RFC 6582 3.2 (3) option 1: a full ACK ends recovery,
			 * cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS). */
			uint32_t fl = tn__tcp_flight(c);

			fl = (fl > c->mss ? fl : c->mss) + c->mss;

			c->f &= ~TF_IN_RECOVERY;
			c->cwnd = c->ssthresh < fl ? c->ssthresh : fl;
			c->dupacks = 0;
		} else if (!(c->f & TF_SACK)) {
			/* (4) A partial ACK: resend the next hole, deflate. */
			retransmit_first(c);
			c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
			c->cwnd += c->mss;
		}
	} else {
		c->dupacks = 0;
		tn__tcp_cc_ack(c, acked);
	}
	if (c->snd_una == c->snd_max)
		tn__tcp_rexmt_stop(c);
	else
		tn__tcp_rexmt_arm_data(c);
	if (fin_acked) {
		switch (c->state) {
		case TN_TCP_FIN_WAIT_1:
			c->state = TN_TCP_FIN_WAIT_2;
			tn__tcp_idle_arm(c);
			break;
		case TN_TCP_CLOSING:
			tn__tcp_enter_timewait(c);
			break;
		case TN_TCP_LAST_ACK:
			tn__tcp_close_conn(c, 0);
			return true;
		default:
			break;
		}
	}
	tn__tcp_sock_writable(c);
	return false;
}

/* A duplicate ACK (RFC 5681 2, or one with new SACK information). */
static void dup_ack(struct tn_tcp_conn *c)
{
	struct tn_stack *s = c->s;
	uint32_t thresh;

	if (c->dupacks < 255)
		c->dupacks++;
	if (c->f & TF_IN_RECOVERY) {
		if (!(c->f & TF_SACK))
			c->cwnd += c->mss; /* NewReno: inflate per segment that left */
		return;
	}
	/* Early retransmit (RFC 5827): with fewer than four segments out and
	 * nothing new to send, fewer duplicates can ever come. */
	thresh = TN_TCP_DUPTHRESH;
	if (tn__seq_geq(c->snd_max, c->sb_seq + c->sndq.bytes)) {
		uint32_t segs = (tn__tcp_flight(c) + c->mss - 1) / c->mss;

		if (segs < 4)
			thresh = segs > 2 ? segs - 1 : 1;
	}
	if (c->dupacks < thresh && !((c->f & TF_SACK) && c->sacked > (thresh - 1) * c->mss))
		return;
	/* RFC 6582 3.2 (2): not again for data sent before the last
	 * reduction. */
	if (!tn__seq_gt(c->snd_una, c->recover) && c->recover != c->iss)
		return;
	c->f |= TF_IN_RECOVERY;
	c->recover = c->snd_max;
	c->rxt_next = c->snd_una;
	tn__tcp_cc_loss(c);
	c->fast_retransmits++;
	s->st.tcp_fast_retransmits++;
	retransmit_first(c);
	c->rxt_next = c->snd_una + tn__tcp_seg_mss(c);
	if (!(c->f & TF_SACK))
		c->cwnd = c->ssthresh + TN_TCP_DUPTHRESH * c->mss;
	tn__tcp_rexmt_arm(c);
}

/* What ack_input decided. */
enum { ACK_OK, ACK_DROP, ACK_CLOSED };

static int ack_input(struct tn_tcp_conn *c, const struct tn__tcp_seg *g)
{
	struct tn_stack *s = c->s;
	uint32_t wnd = (uint32_t)g->win << c->snd_wscale, old_wnd = c->snd_wnd;
	bool sack_news = false;

	if (tn__seq_gt(g->ack, c->snd_max) ||
	    tn__seq_lt(g->ack, c->snd_una - (c->max_sndwnd ? c->max_sndwnd : 1))) {
		/* RFC 9293: acknowledges what we never sent; RFC 5961 5.2:
		 * or older than any window: ACK and drop. */
		s->st.tcp_bad_ack++;
		tn__tcp_send_ack_limited(c, tn__seq_lt(g->ack, c->snd_una));
		return ACK_DROP;
	}
	if (c->state == TN_TCP_SYN_RECEIVED) {
		if (!tn__seq_gt(g->ack, c->snd_una)) {
			s->st.tcp_bad_ack++;
			tn__tcp_reply_rst(s, g);
			return ACK_DROP;
		}
		if ((c->f & TF_PASSIVE) && c->l && c->l->aq_len >= c->l->backlog) {
			s->st.tcp_syn_drop++; /* nobody accepts: the peer will retry */
			return ACK_DROP;
		}
		c->state = TN_TCP_ESTABLISHED;
		c->snd_una = g->ack;
		c->snd_wnd = wnd;
		c->max_sndwnd = wnd;
		c->snd_wl1 = g->seq;
		c->snd_wl2 = g->ack;
		if ((c->f & TF_RTT_TIMING) && !(c->f & TF_SYN_REXMIT))
			tn__tcp_rtt_sample(c, s->now - c->rtt_start);
		c->f &= ~TF_RTT_TIMING;
		tn__tcp_init_send(c);
		tn__tcp_rexmt_stop(c);
		tn__tcp_idle_arm(c);
		if (c->f & TF_PASSIVE)
			tn__tcp_listener_established(c);
		tn__tcp_sock_state(c);
		return ACK_OK;
	}
	if (c->f & TF_SACK)
		sack_news = sack_update(c, g);
	/* Window update (3.10.7.4): from the newest segment only. */
	if (tn__seq_lt(c->snd_wl1, g->seq) ||
	    (c->snd_wl1 == g->seq && tn__seq_leq(c->snd_wl2, g->ack))) {
		c->snd_wnd = wnd;
		c->snd_wl1 = g->seq;
		c->snd_wl2 = g->ack;
		if (wnd > c->max_sndwnd)
			c->max_sndwnd = wnd;
		if (wnd && (c->f & TF_PERSIST)) {
			/* The window opened: the probing is over. */
			tn__tcp_rexmt_stop(c);
			c->backoff = 0;
			c->nrexmt = 0;
		}
	}
	if (tn__seq_gt(g->ack, c->snd_una))
		return new_ack(c, g) ? ACK_CLOSED : ACK_OK;
	if (c->f & TF_PERSIST)
		c->nrexmt = 0; /* the probe was answered: the peer lives */
	/* A duplicate ACK (RFC 5681 2): data outstanding, and an ACK of
	 * exactly snd_una (an older one is reordered, not news) without
	 * data, SYN or FIN that leaves the window as it was; or one that
	 * SACKs new data (RFC 6675 2). */
	if (c->snd_max != c->snd_una && g->ack == c->snd_una &&
	    ((g->len == 0 && !(g->flags & (RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG)) &&
	      wnd == old_wnd) || sack_news))
		dup_ack(c);
	return ACK_OK;
}

/* ---- data and FIN ---- */

static void process_fin(struct tn_tcp_conn *c)
{
	c->rcv_nxt++;
	c->f |= TF_FIN_RCVD | TF_ACK_NOW;
	c->f &= ~TF_OOO_FIN;
	switch (c->state) {
	case TN_TCP_SYN_RECEIVED:
	case TN_TCP_ESTABLISHED:
		c->state = TN_TCP_CLOSE_WAIT;
		break;
	case TN_TCP_FIN_WAIT_1:
		c->state = TN_TCP_CLOSING;
		break;
	case TN_TCP_FIN_WAIT_2:
		tn__tcp_send_ack(c);
		tn__tcp_enter_timewait(c);
		return;
	default:
		break;
	}
	tn__tcp_sock_state(c);
}

/* Whether an ACK must go now rather than be delayed (RFC 5681 4.2,
 * RFC 1122 4.2.3.2). */
static bool ack_now(struct tn_tcp_conn *c)
{
	uint32_t full = c->rcv_seg_max ? c->rcv_seg_max : c->rcv_mss;

	if (c->o.delack_off)
		return true;
	/* every second full-sized segment */
	if (c->rcv_nxt - c->last_ack_sent >= 2 * full)
		return true;
	/* the window is nearly shut: the sender stalls until it hears */
	if (c->rcv_adv - c->rcv_nxt < full)
		return true;
	return false;
}

/* Header prediction (RFC 9293 3.10.7.4's common case; Van Jacobson's
 * fast path, Linux's tcp_rcv_established): an ESTABLISHED connection's
 * next in-order segment with nothing unusual -- only ACK (and PSH), a
 * timestamp not older than the last, no SACK blocks, no recovery, probing or out-of-order data -- carrying in-window data
 * with an ACK that does not go backwards, or a pure ACK of new data.
 * Every check the general path makes has a fixed outcome for such a
 * segment, so only its effects remain.  true: the segment was taken. */
static bool fast_input(struct tn_tcp_conn *c, struct rte_mbuf *m, const struct tn__tcp_seg *g)
{
	struct tn_stack *s = c->s;
	uint32_t len = g->len, wnd = (uint32_t)g->win << c->snd_wscale;

	if (c->state != TN_TCP_ESTABLISHED ||
	    (g->flags & (RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG | RTE_TCP_RST_FLAG | RTE_TCP_URG_FLAG |
			 RTE_TCP_ACK_FLAG)) != RTE_TCP_ACK_FLAG ||
	    g->seq != c->rcv_nxt || g->nsack || c->dupacks || c->ooo.head ||
	    (c->f & (TF_PERSIST | TF_IN_RECOVERY | TF_ORPHAN | TF_OOO_FIN)))
		return false;
	if ((c->f & TF_TS) && (!g->has_ts || tn__seq_lt(g->tsval, c->ts_recent)))
		return false; /* PAWS has a say */
	/* The newest segment for the window, which it updates (the window's
	 * right edge moves with nearly every segment of a scaled window, so
	 * unlike Van Jacobson's original this does not ask for the same
	 * value: only duplicate ACKs, excluded below, compare it). */
	if (!(tn__seq_lt(c->snd_wl1, g->seq) ||
	      (c->snd_wl1 == g->seq && tn__seq_leq(c->snd_wl2, g->ack))))
		return false;
	if (tn__seq_gt(g->ack, c->snd_max) || tn__seq_lt(g->ack, c->snd_una))
		return false;
	if (len) {
		if (tn__seq_gt(g->seq + len, c->rcv_adv) || m->pkt_len != len)
			return false; /* past the window's edge (or padded) */
	} else if (g->ack == c->snd_una) {
		return false; /* a duplicate ACK or a window probe's answer */
	}
	s->st.tcp_fast_path++;
	if ((c->f & TF_TS) && tn__seq_leq(g->seq, c->last_ack_sent)) {
		c->ts_recent = g->tsval;
		c->ts_recent_at = s->now;
	}
	c->snd_wnd = wnd;
	if (wnd > c->max_sndwnd)
		c->max_sndwnd = wnd;
	c->snd_wl1 = g->seq;
	c->snd_wl2 = g->ack;
	if (tn__seq_gt(g->ack, c->snd_una))
		new_ack(c, g); /* (cannot close: ESTABLISHED has sent no FIN) */
	if (len) {
		if (len > c->rcv_seg_max)
			c->rcv_seg_max = len < c->rcv_mss ? len : c->rcv_mss;
		tn__tcp_rcv_data(c, m, g->seq, len);
		if (ack_now(c))
			c->f |= TF_ACK_NOW;
		else
			tn__tcp_delack_arm(c);
		tn__tcp_sock_readable(c);
	} else {
		rte_pktmbuf_free(m);
	}
	/* Output only when there is something to send: an ACK owed now, or
	 * data the ACK or the window may have let go (ESTABLISHED has no
	 * FIN queued). */
	if ((c->f & TF_ACK_NOW) || tn__seq_lt(c->snd_nxt, c->sb_seq + c->sndq.bytes))
		tn__tcp_output(c);
	return true;
}

void tn__tcp_conn_input(struct tn_tcp_conn *c, struct rte_mbuf *m, struct tn__tcp_seg *g)
{
	struct tn_stack *s = c->s;
	uint32_t wnd, seq, len, seg_len, trim;
	bool fin, acceptable;

	c->segs_in++;
	c->last_rx = s->now;
	c->ka_probes = 0;
	if (fast_input(c, m, g))
		return;
	if (c->state == TN_TCP_SYN_SENT) {
		syn_sent_input(c, g);
		goto drop;
	}
	if (c->state == TN_TCP_TIME_WAIT) {
		if (timewait_input(c, m, g))
			return;
		goto drop;
	}
	/* PAWS (RFC 7323 5.3): an older timestamp is a stale duplicate. */
	if ((c->f & TF_TS) && g->has_ts && !(g->flags & RTE_TCP_RST_FLAG) && c->ts_recent_at &&
	    tn__seq_lt(g->tsval, c->ts_recent)) {
		if (s->now - c->ts_recent_at > TN_TCP_PAWS_IDLE_NS) {
			c->ts_recent_at = 0; /* 5.5: ts_recent is too old to judge */
		} else {
			s->st.tcp_paws++;
			tn__tcp_send_ack_limited(c, false);
			goto drop;
		}
	}
	if (g->flags & RTE_TCP_RST_FLAG) {
		rst_input(c, g);
		goto drop;
	}
	if (g->flags & RTE_TCP_SYN_FLAG) {
		if (c->state == TN_TCP_SYN_RECEIVED && (c->f & TF_PASSIVE) && g->seq == c->irs &&
		    !(g->flags & RTE_TCP_ACK_FLAG)) {
			/* Their SYN again: our SYN-ACK was lost. */
			tn__tcp_xmit(c, c->iss, 0, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
			goto drop;
		}
		/* RFC 5961 4.2: whatever its sequence number. */
		tn__tcp_send_ack_limited(c, true);
		goto drop;
	}
	/* The sequence number (3.10.7.4 first). */
	seq = g->seq;
	len = g->len;
	fin = g->flags & RTE_TCP_FIN_FLAG;
	seg_len = len + fin;
	wnd = tn__seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	if (seg_len == 0)
		acceptable = wnd ? tn__seq_geq(seq, c->rcv_nxt) && tn__seq_lt(seq, c->rcv_nxt + wnd)
				 : seq == c->rcv_nxt;
	else
		acceptable = wnd && ((tn__seq_geq(seq, c->rcv_nxt) &&
				      tn__seq_lt(seq, c->rcv_nxt + wnd)) ||
				     (tn__seq_geq(seq + seg_len - 1, c->rcv_nxt) &&
				      tn__seq_lt(seq + seg_len - 1, c->rcv_nxt + wnd)));
	if (!acceptable) {
		/* A shut window still takes the ACK of the segment at its
		 * edge (3.10.7.4: "special allowance"); the data goes. */
		if (!(wnd == 0 && seq == c->rcv_nxt)) {
			/* Answer with an ACK (3.10.7.4): at once for data, whose
			 * sender needs it; rate-limited for bare ACKs, which is
			 * how two confused ends avoid an ACK storm. */
			s->st.tcp_bad_seq++;
			if (seg_len)
				tn__tcp_send_ack(c);
			else
				tn__tcp_send_ack_limited(c, false);
			goto drop;
		}
		if (len)
			s->st.tcp_rcvwnd_drop++;
		len = 0;
		fin = false;
		c->f |= TF_ACK_NOW;
	}
	/* Trim to the window: what is old, and what lies past its edge. */
	if (tn__seq_lt(seq, c->rcv_nxt)) {
		trim = c->rcv_nxt - seq;
		c->f |= TF_ACK_NOW; /* a duplicate: the peer missed an ACK */
		if (trim >= len) {
			if (fin && trim > len)
				fin = false; /* an old FIN */
			trim = len;
		}
		if (trim) {
			m = tn__mbuf_adj(m, trim);
			len -= trim;
			seq += trim;
		}
	}
	if (len && tn__seq_gt(seq + len, c->rcv_adv)) {
		uint32_t keep = tn__seq_gt(c->rcv_adv, seq) ? c->rcv_adv - seq : 0;

		s->st.tcp_rcvwnd_drop++;
		len = keep;
		fin = false;
		c->f |= TF_ACK_NOW;
	}
	/* ACK (fifth). */
	if (!(g->flags & RTE_TCP_ACK_FLAG)) {
		s->st.tcp_bad_flags++;
		goto drop;
	}
	/* RFC 7323 4.3: remember the timestamp to echo. */
	if ((c->f & TF_TS) && g->has_ts && tn__seq_leq(g->seq, c->last_ack_sent) &&
	    (!c->ts_recent_at || tn__seq_geq(g->tsval, c->ts_recent))) {
		c->ts_recent = g->tsval;
		c->ts_recent_at = s->now;
	}
	switch (ack_input(c, g)) {
	case ACK_CLOSED:
		goto drop; /* (LAST-ACK done: c is gone) */
	case ACK_DROP:
		goto drop;
	default:
		break;
	}
	if (c->state == TN_TCP_SYN_RECEIVED || c->state == TN_TCP_CLOSED)
		goto drop; /* not accepted yet (queue full) */
	if (c->state == TN_TCP_TIME_WAIT) {
		/* CLOSING -> TIME-WAIT on this ACK; a FIN now is a duplicate. */
		goto out;
	}
	/* Data (seventh). */
	if (len) {
		switch (c->state) {
		case TN_TCP_ESTABLISHED:
		case TN_TCP_FIN_WAIT_1:
		case TN_TCP_FIN_WAIT_2:
			break;
		default:
			s->st.tcp_bad_seq++; /* after their FIN: cannot be */
			len = 0;
			break;
		}
	}
	if (len && (c->f & TF_ORPHAN)) {
		/* Nobody will read it (Linux's rule after close). */
		s->st.tcp_after_close++;
		s->st.tcp_aborts++;
		tn__tcp_send_rst(c);
		tn__tcp_close_conn(c, -ECONNRESET);
		goto drop;
	}
	if (len) {
		bool in_order = seq == c->rcv_nxt, had_ooo = c->ooo.head;

		if (len > c->rcv_seg_max)
			c->rcv_seg_max = len < c->rcv_mss ? len : c->rcv_mss;
		if (m->pkt_len > len) {
			/* Keep exactly len bytes (a tail past the window). */
			struct rte_mbuf *x = m;
			uint32_t left = len;

			for (; x; x = x->next) {
				if (x->data_len > left)
					x->data_len = (uint16_t)left;
				left -= x->data_len;
			}
			m->pkt_len = len;
		}
		tn__tcp_rcv_data(c, m, seq, len);
		m = NULL;
		if (in_order) {
			if (had_ooo) {
				tn__tcp_ooo_pull(c);
				c->f |= TF_ACK_NOW; /* a hole filled (RFC 5681 4.2) */
			}
			else if (ack_now(c))
				c->f |= TF_ACK_NOW;
			else
				tn__tcp_delack_arm(c);
			tn__tcp_sock_readable(c);
		} else {
			c->f |= TF_ACK_NOW; /* out of order: a duplicate ACK at once */
		}
	}
	/* FIN (eighth). */
	if (fin) {
		if (seq + len == c->rcv_nxt && c->state != TN_TCP_CLOSE_WAIT &&
		    c->state != TN_TCP_CLOSING && c->state != TN_TCP_LAST_ACK) {
			process_fin(c);
		} else if (tn__seq_gt(seq + len, c->rcv_nxt)) {
			c->f |= TF_OOO_FIN;
			c->ooo_fin = seq + len;
		} else {
			c->f |= TF_ACK_NOW; /* a FIN again */
		}
	}
	if ((c->f & TF_OOO_FIN) && c->ooo_fin == c->rcv_nxt && !(c->f & TF_FIN_RCVD))
		process_fin(c);
out:
	if (c->state != TN_TCP_CLOSED)
		tn__tcp_output(c);
drop:
	if (m)
		rte_pktmbuf_free(m);
}
