/* TCP's per-stack state: the connection table (a hash of the 4-tuple
 * with chaining, keyed by the stack's seed, doubling as it fills), the
 * listeners, the TCB pool, ephemeral ports, the TIME-WAIT bound, input
 * validation and demultiplexing, ICMP errors (RFC 5927) and the end of a
 * connection.
 *
 * TCBs come from a pool of malloc'ed chunks that only grows (a chunk per
 * 64 connections, none per segment) and are returned at tn_stack_destroy.
 * A TCB is about 700 bytes; data lives in mbufs, held only while queued,
 * so an idle connection costs its TCB and a table slot. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_jhash.h>
#include <rte_thash.h>

#include "tn_tcp.h"
#include "tn_wire.h"

#define TBL_INIT 1024
#define POOL_CHUNK 64
#define EPH_LO 49152
#define EPH_HI 65535

struct tn_tcp_pool_chunk {
	struct tn_tcp_pool_chunk *next;
	struct tn_tcp_conn conns[POOL_CHUNK];
};

struct tn_tcp *tn__tcp_create(struct tn_stack *s)
{
	struct tn_tcp *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->tbl = calloc(TBL_INIT, sizeof(*t->tbl));
	if (!t->tbl) {
		free(t);
		return NULL;
	}
	t->tbl_mask = TBL_INIT - 1;
	s->tcp = t;
	t->hash_seed = (uint32_t)tn__stack_rand(s);
	t->eph_lo = s->cfg.udp_eph_lo;
	t->eph_hi = s->cfg.udp_eph_hi;
	if (!t->eph_lo || t->eph_hi < t->eph_lo) {
		t->eph_lo = EPH_LO;
		t->eph_hi = EPH_HI;
	}
	t->eph_next = (uint32_t)tn__stack_rand(s);
	t->cur_tick = s->now / TN_TCP_TICK_NS;
	t->next_tick = UINT64_MAX;
	tn__tcp_isn_init(s);
	return t;
}

void tn__tcp_destroy(struct tn_stack *s)
{
	struct tn_tcp *t = s->tcp;
	struct tn_tcp_pool_chunk *ch;
	uint32_t i;

	if (!t)
		return;
	for (i = 0; i < RTE_DIM(t->lbucket); i++)
		while (t->lbucket[i])
			tn__tcp_listener_free(t->lbucket[i]);
	/* Every connection, hashed or a user's handle on a closed one: wake
	 * its waiters (-EBADF) and free its data.  Walk the chunks, as
	 * closed connections are in no table. */
	for (ch = t->chunks; ch; ch = ch->next) {
		for (i = 0; i < POOL_CHUNK; i++) {
			struct tn_tcp_conn *c = &ch->conns[i];

			if (!c->s)
				continue; /* free */
			tn__tcp_sock_closing(c);
			tn__tcp_q_free(&c->sndq);
			tn__tcp_q_free(&c->rcvq);
			tn__tcp_q_free(&c->ooo);
		}
	}
	while ((ch = t->chunks) != NULL) {
		t->chunks = ch->next;
		free(ch);
	}
	tn__tcp_spare_free(s);
	free(t->tbl);
	free(t);
	s->tcp = NULL;
}

/* ---- the TCB pool ---- */

struct tn_tcp_conn *tn__tcp_conn_alloc(struct tn_stack *s, const struct tn_tcp_opts *o)
{
	struct tn_tcp *t = s->tcp;
	struct tn_tcp_conn *c = t->free;

	if (!c) {
		struct tn_tcp_pool_chunk *ch = calloc(1, sizeof(*ch));
		unsigned i;

		if (!ch) {
			s->st.tcp_no_mem++;
			return NULL;
		}
		ch->next = t->chunks;
		t->chunks = ch;
		for (i = POOL_CHUNK; i-- > 0;) {
			ch->conns[i].hnext = t->free;
			t->free = &ch->conns[i];
		}
		c = t->free;
	}
	t->free = c->hnext;
	memset(c, 0, sizeof(*c));
	c->s = s;
	c->o = *o;
	tn__tcp_opts_fix(&c->o);
	c->cc = c->o.cc;
	c->rto = TN_TCP_INIT_RTO;
	c->wr_need = UINT32_MAX;
	tn_waitq_init(&c->rq);
	tn_waitq_init(&c->wq);
	return c;
}

void tn__tcp_conn_free(struct tn_tcp_conn *c)
{
	struct tn_tcp *t = c->s->tcp;

	tn__tcp_q_free(&c->sndq);
	tn__tcp_q_free(&c->rcvq);
	tn__tcp_q_free(&c->ooo);
	c->s = NULL; /* marks it free for tn__tcp_destroy */
	c->hnext = t->free;
	t->free = c;
}

void tn__tcp_opts_fix(struct tn_tcp_opts *o)
{
	if (o->cc == TN_TCP_CC_DEFAULT || o->cc > TN_TCP_CC_CUBIC)
		o->cc = TN_TCP_CC_CUBIC;
	if (!o->rto_min_ns)
		o->rto_min_ns = TN_TCP_RTO_MIN_DEFAULT;
	if (!o->rto_max_ns)
		o->rto_max_ns = TN_TCP_RTO_MAX_DEFAULT;
	if (o->rto_max_ns < o->rto_min_ns)
		o->rto_max_ns = o->rto_min_ns;
	if (!o->delack_ns)
		o->delack_ns = TN_TCP_DELACK_DEFAULT;
	if (o->delack_ns > 500ull * 1000000)
		o->delack_ns = 500ull * 1000000; /* RFC 1122 4.2.3.2 */
	if (!o->ka_idle_ns)
		o->ka_idle_ns = TN_TCP_KA_IDLE_DEFAULT;
	if (!o->ka_intvl_ns)
		o->ka_intvl_ns = TN_TCP_KA_INTVL_DEFAULT;
	if (!o->ka_cnt)
		o->ka_cnt = TN_TCP_KA_CNT_DEFAULT;
	if (!o->sndbuf)
		o->sndbuf = TN_TCP_BUF_DEFAULT;
	if (!o->rcvbuf)
		o->rcvbuf = TN_TCP_BUF_DEFAULT;
	if (o->sndbuf > TN_TCP_BUF_MAX)
		o->sndbuf = TN_TCP_BUF_MAX;
	if (o->rcvbuf > TN_TCP_BUF_MAX)
		o->rcvbuf = TN_TCP_BUF_MAX;
	if (o->sndbuf < 2048)
		o->sndbuf = 2048;
	if (o->rcvbuf < 2048)
		o->rcvbuf = 2048;
	if (!o->syn_retries)
		o->syn_retries = TN_TCP_SYN_RETRIES_DEFAULT;
	if (!o->retries)
		o->retries = TN_TCP_RETRIES_DEFAULT;
}

void tn__tcp_init_local(struct tn_tcp_conn *c)
{
	uint32_t mtu_mss = c->s->cfg.mtu - 40u;
	uint8_t ws = 0;

	c->rcv_mss = (uint16_t)(mtu_mss > 65495 ? 65495 : mtu_mss);
	if (c->o.mss && c->o.mss < c->rcv_mss)
		c->rcv_mss = c->o.mss < TN_TCP_MSS_FLOOR ? TN_TCP_MSS_FLOOR : c->o.mss;
	if (!c->o.no_wscale)
		while (ws < TN_TCP_WSCALE_MAX && (c->o.rcvbuf >> ws) > 65535)
			ws++;
	c->rcv_wscale = ws;
}

void tn__tcp_init_send(struct tn_tcp_conn *c)
{
	uint32_t mss = c->peer_mss ? c->peer_mss : TN_TCP_MSS_DEFAULT;
	uint32_t mtu_mss = c->s->cfg.mtu - 40u;

	if (mss > mtu_mss)
		mss = mtu_mss;
	if (c->o.mss && mss > c->o.mss)
		mss = c->o.mss;
	/* Timestamps take 12 bytes of every segment (as Linux's mss_cache). */
	if (c->f & TF_TS)
		mss -= 12;
	if (mss < TN_TCP_MSS_FLOOR)
		mss = TN_TCP_MSS_FLOOR;
	c->mss = (uint16_t)mss;
	tn__tcp_cc_init(c);
	/* RFC 5681 3.1: a lost SYN or SYN-ACK leaves an initial window of
	 * one segment; RFC 6298 5.7: and a 3 s RTO without an RTT sample. */
	if (c->f & TF_SYN_REXMIT) {
		c->cwnd = c->mss;
		if (!c->srtt)
			c->rto = TN_TCP_FALLBACK_RTO;
	}
	c->backoff = 0;
	c->nrexmt = 0;
}

/* ---- the connection table ---- */

static inline uint32_t tuple_hash(const struct tn_tcp *t, uint32_t laddr, uint16_t lport,
				  uint32_t raddr, uint16_t rport)
{
	return rte_jhash_3words(raddr, laddr, (uint32_t)rport << 16 | lport, t->hash_seed);
}

static void tbl_grow(struct tn_tcp *t)
{
	uint32_t n = (t->tbl_mask + 1) * 2, i;
	struct tn_tcp_conn **nt = calloc(n, sizeof(*nt));

	if (!nt)
		return; /* longer chains; still correct */
	for (i = 0; i <= t->tbl_mask; i++) {
		struct tn_tcp_conn *c = t->tbl[i], *next;

		for (; c; c = next) {
			uint32_t h = tuple_hash(t, c->laddr, c->lport, c->raddr, c->rport) & (n - 1);

			next = c->hnext;
			c->hnext = nt[h];
			nt[h] = c;
		}
	}
	free(t->tbl);
	t->tbl = nt;
	t->tbl_mask = n - 1;
}

unsigned tn_tcp_conns(const struct tn_stack *s, struct tn_tcp_conn_entry *out, unsigned max)
{
	const struct tn_tcp *t = s->tcp;
	unsigned n = 0;
	uint32_t i;

	for (i = 0; i <= t->tbl_mask && n < max; i++) {
		const struct tn_tcp_conn *c;

		for (c = t->tbl[i]; c && n < max; c = c->hnext, n++) {
			out[n].laddr = c->laddr;
			out[n].raddr = c->raddr;
			out[n].lport = c->lport;
			out[n].rport = c->rport;
			tn_tcp_info(c, &out[n].info);
		}
	}
	return t->nconns; /* every hashed connection */
}

struct tn_tcp_conn *tn__tcp_lookup(struct tn_stack *s, uint32_t laddr, uint16_t lport,
				   uint32_t raddr, uint16_t rport)
{
	struct tn_tcp *t = s->tcp;
	struct tn_tcp_conn *c = t->last;

	/* The connection the last segment was for, first: a flow's segments
	 * come in runs (a request and its response, a window of data), and
	 * the compare costs less than the hash (Linux's early demux idea). */
	if (c && c->rport == rport && c->lport == lport && c->raddr == raddr && c->laddr == laddr)
		return c;
	c = t->tbl[tuple_hash(t, laddr, lport, raddr, rport) & t->tbl_mask];
	for (; c; c = c->hnext)
		if (c->rport == rport && c->lport == lport && c->raddr == raddr && c->laddr == laddr) {
			t->last = c;
			return c;
		}
	return NULL;
}

int tn__tcp_hash_insert(struct tn_tcp_conn *c)
{
	struct tn_tcp *t = c->s->tcp;
	struct tn_tcp_conn **b;

	if (t->nconns >= t->tbl_mask + 1)
		tbl_grow(t);
	b = &t->tbl[tuple_hash(t, c->laddr, c->lport, c->raddr, c->rport) & t->tbl_mask];
	c->hnext = *b;
	*b = c;
	c->f |= TF_HASHED;
	t->nconns++;
	return 0;
}

static void hash_remove(struct tn_tcp_conn *c)
{
	struct tn_tcp *t = c->s->tcp;
	struct tn_tcp_conn **pp;

	if (!(c->f & TF_HASHED))
		return;
	pp = &t->tbl[tuple_hash(t, c->laddr, c->lport, c->raddr, c->rport) & t->tbl_mask];
	while (*pp != c)
		pp = &(*pp)->hnext;
	*pp = c->hnext;
	c->hnext = NULL;
	c->f &= ~TF_HASHED;
	if (t->last == c)
		t->last = NULL;
	t->nconns--;
}

/* ---- listeners ---- */

struct tn_tcp_listener *tn__tcp_listener_find(struct tn_stack *s, uint32_t addr, uint16_t port)
{
	struct tn_tcp_listener *l = s->tcp->lbucket[port % RTE_DIM(s->tcp->lbucket)];

	for (; l; l = l->hnext)
		if (l->lport == port && (!l->laddr || l->laddr == addr))
			return l;
	return NULL;
}

int tn_tcp_listen(struct tn_stack *s, uint32_t addr, uint16_t port, unsigned backlog,
		  const struct tn_tcp_opts *opts, struct tn_tcp_listener **lp)
{
	static const struct tn_tcp_opts defaults;
	struct tn_tcp_listener *l, **b;

	if (!port || backlog > 65535 || !lp)
		return -EINVAL;
	if (addr && addr != s->ip)
		return -EADDRNOTAVAIL;
	b = &s->tcp->lbucket[port % RTE_DIM(s->tcp->lbucket)];
	for (l = *b; l; l = l->hnext)
		if (l->lport == port)
			return -EADDRINUSE;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->s = s;
	l->laddr = addr;
	l->lport = port;
	l->backlog = (uint16_t)(backlog ? backlog : 128);
	l->opts = opts ? *opts : defaults;
	tn__tcp_opts_fix(&l->opts);
	tn_waitq_init(&l->acceptq);
	l->hnext = *b;
	*b = l;
	*lp = l;
	return 0;
}

/* Takes c off its listener's lists (half-open or accept queue). */
static void listener_unlink(struct tn_tcp_conn *c)
{
	struct tn_tcp_listener *l = c->l;
	struct tn_tcp_conn **pp, *prev = NULL;

	if (!l)
		return;
	if (c->f & TF_ON_AQ) {
		for (pp = &l->aq_head; *pp != c; pp = &(*pp)->aq_next)
			prev = *pp;
		*pp = c->aq_next;
		if (l->aq_tail == c)
			l->aq_tail = prev;
		l->aq_len--;
	} else {
		if (c->lprev)
			c->lprev->lnext = c->lnext;
		else
			l->syn_head = c->lnext;
		if (c->lnext)
			c->lnext->lprev = c->lprev;
		l->syn_len--;
	}
	c->aq_next = c->lprev = c->lnext = NULL;
	c->f &= ~TF_ON_AQ;
	c->l = NULL;
}

void tn__tcp_listener_add_syn(struct tn_tcp_listener *l, struct tn_tcp_conn *c)
{
	c->l = l;
	c->lprev = NULL;
	c->lnext = l->syn_head;
	if (l->syn_head)
		l->syn_head->lprev = c;
	l->syn_head = c;
	l->syn_len++;
}

bool tn__tcp_listener_established(struct tn_tcp_conn *c)
{
	struct tn_tcp_listener *l = c->l;

	if (!l)
		return true; /* active (simultaneous open) */
	if (l->aq_len >= l->backlog)
		return false;
	listener_unlink(c);
	c->l = l;
	c->f |= TF_ON_AQ;
	c->aq_next = NULL;
	if (l->aq_tail)
		l->aq_tail->aq_next = c;
	else
		l->aq_head = c;
	l->aq_tail = c;
	l->aq_len++;
	c->s->st.tcp_passive_opens++;
	tn__tcp_sock_accept_ready(l);
	return true;
}

struct tn_tcp_conn *tn__tcp_listener_pop(struct tn_tcp_listener *l)
{
	struct tn_tcp_conn *c = l->aq_head;

	if (c)
		listener_unlink(c);
	return c;
}

void tn__tcp_listener_free(struct tn_tcp_listener *l)
{
	struct tn_stack *s = l->s;
	struct tn_tcp_listener **pp = &s->tcp->lbucket[l->lport % RTE_DIM(s->tcp->lbucket)];
	struct tn_tcp_conn *c;

	while (*pp != l)
		pp = &(*pp)->hnext;
	*pp = l->hnext;
	tn_waitq_wake_all(&l->acceptq, -EBADF);
	/* Connections nobody accepted: reset, as Linux does at close. */
	while ((c = l->aq_head) != NULL) {
		listener_unlink(c);
		tn__tcp_send_rst(c);
		tn__tcp_close_conn(c, -ECONNABORTED);
	}
	while ((c = l->syn_head) != NULL) {
		listener_unlink(c);
		tn__tcp_send_rst(c);
		tn__tcp_close_conn(c, -ECONNABORTED);
	}
	free(l);
}

/* ---- the end of a connection ---- */

static void tw_unlink(struct tn_tcp_conn *c)
{
	struct tn_tcp *t = c->s->tcp;

	if (c->state != TN_TCP_TIME_WAIT)
		return;
	if (c->tw_prev)
		c->tw_prev->tw_next = c->tw_next;
	else
		t->tw_head = c->tw_next;
	if (c->tw_next)
		c->tw_next->tw_prev = c->tw_prev;
	else
		t->tw_tail = c->tw_prev;
	c->tw_prev = c->tw_next = NULL;
	t->ntw--;
}

void tn__tcp_close_conn(struct tn_tcp_conn *c, int err)
{
	hash_remove(c);
	tn__tcp_timer_remove(c);
	listener_unlink(c);
	tw_unlink(c);
	c->rexmt_at = c->delack_at = c->idle_at = 0;
	tn__tcp_spare_free(c->s);
	if (err && !c->err)
		c->err = err;
	c->state = TN_TCP_CLOSED;
	tn__tcp_q_free(&c->sndq);
	tn__tcp_q_free(&c->ooo);
	c->sb_cur = NULL;
	if (!(c->f & TF_USER)) {
		tn__tcp_conn_free(c);
		return;
	}
	/* The handle's reads return what was received, then the error. */
	tn__tcp_sock_state(c);
}

void tn__tcp_enter_timewait(struct tn_tcp_conn *c)
{
	struct tn_tcp *t = c->s->tcp;

	if (t->ntw >= TN_TCP_TW_MAX) {
		/* The oldest is nearest its end anyway. */
		c->s->st.tcp_tw_overflow++;
		tn__tcp_close_conn(t->tw_head, 0);
	}
	tn__tcp_rexmt_stop(c);
	c->state = TN_TCP_TIME_WAIT;
	tn__tcp_q_free(&c->sndq);
	tn__tcp_q_free(&c->ooo);
	c->sb_cur = NULL;
	c->tw_next = NULL;
	c->tw_prev = t->tw_tail;
	if (t->tw_tail)
		t->tw_tail->tw_next = c;
	else
		t->tw_head = c;
	t->tw_tail = c;
	t->ntw++;
	tn__tcp_idle_arm(c);
	tn__tcp_sock_state(c);
}

/* ---- input ---- */

static uint16_t l4_sum(const struct rte_mbuf *m, uint32_t off, uint32_t len, uint32_t src,
		       uint32_t dst)
{
	struct rte_ipv4_hdr ph = {
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16(sizeof(ph) + len),
		.next_proto_id = IPPROTO_TCP,
		.src_addr = src,
		.dst_addr = dst,
	};
	uint16_t raw = 0;
	uint32_t sum;

	tn__raw_cksum_mbuf(m, off, len, &raw);
	sum = (uint32_t)raw + rte_ipv4_phdr_cksum(&ph, 0);
	sum = (sum >> 16) + (sum & 0xffff);
	return (uint16_t)((sum >> 16) + (sum & 0xffff));
}

void tn__tcp_input(struct tn_stack *s, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip)
{
	uint32_t plen = m->pkt_len - m->l3_len;
	uint8_t hb[60];
	const struct rte_tcp_hdr *th;
	struct tn__tcp_seg g;
	struct tn_tcp_conn *c;
	struct tn_tcp_listener *l;
	unsigned hlen;

	if (plen < TN_TCP_HDR_LEN) {
		s->st.tcp_bad_len++;
		goto drop;
	}
	th = rte_pktmbuf_read(m, m->l3_len, TN_TCP_HDR_LEN, hb);
	hlen = (th->data_off >> 4) * 4u;
	if (hlen < TN_TCP_HDR_LEN || hlen > plen) {
		s->st.tcp_bad_len++;
		goto drop;
	}
	if (ip->dst_addr != s->ip) {
		s->st.tcp_bad_flags++; /* broadcast or multicast: TCP is unicast */
		goto drop;
	}
	/* GOOD: the port checked the sum; NONE: the sum in the segment is
	 * not complete but the data's integrity is verified (virtio's
	 * NEEDS_CSUM from a peer that left the sum to its port). */
	if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) != RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
	    (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) != RTE_MBUF_F_RX_L4_CKSUM_NONE &&
	    l4_sum(m, m->l3_len, plen, ip->src_addr, ip->dst_addr) != 0xffff) {
		s->st.tcp_bad_csum++;
		goto drop;
	}
	if (hlen > TN_TCP_HDR_LEN)
		th = rte_pktmbuf_read(m, m->l3_len, hlen, hb);
	g.seq = rte_be_to_cpu_32(th->sent_seq);
	g.ack = rte_be_to_cpu_32(th->recv_ack);
	g.win = rte_be_to_cpu_16(th->rx_win);
	g.flags = th->tcp_flags & (RTE_TCP_FIN_FLAG | RTE_TCP_SYN_FLAG | RTE_TCP_RST_FLAG |
				   RTE_TCP_PSH_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_URG_FLAG);
	g.hlen = (uint8_t)hlen;
	g.len = plen - hlen;
	g.src = ip->src_addr;
	g.dst = ip->dst_addr;
	g.sport = rte_be_to_cpu_16(th->src_port);
	g.dport = rte_be_to_cpu_16(th->dst_port);
	if ((g.flags & RTE_TCP_SYN_FLAG) && (g.flags & (RTE_TCP_FIN_FLAG | RTE_TCP_RST_FLAG))) {
		s->st.tcp_bad_flags++;
		goto drop;
	}
	if (!g.sport || !g.dport) {
		s->st.tcp_bad_flags++;
		goto drop;
	}
	if (tn__tcp_parse_opts((const uint8_t *)th + TN_TCP_HDR_LEN, hlen - TN_TCP_HDR_LEN,
			       g.flags & RTE_TCP_SYN_FLAG, &g) < 0) {
		s->st.tcp_bad_opts++;
		goto drop;
	}
	s->st.tcp_rx++;
	/* From here m holds the payload only. */
	if (!m->next) { /* (tn__mbuf_adj's one-segment case, inline) */
		m->data_off += (uint16_t)(m->l3_len + hlen);
		m->data_len -= (uint16_t)(m->l3_len + hlen);
		m->pkt_len = m->data_len;
	} else {
		m = tn__mbuf_adj(m, m->l3_len + hlen);
	}
	m->l2_len = m->l3_len = 0;
	m->packet_type = 0;
	m->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;
	c = tn__tcp_lookup(s, g.dst, g.dport, g.src, g.sport);
	if (c) {
		tn__tcp_conn_input(c, m, &g);
		return;
	}
	l = tn__tcp_listener_find(s, g.dst, g.dport);
	if (l) {
		tn__tcp_listen_input(l, m, &g);
		return;
	}
	s->st.tcp_no_conn++;
	if (!(g.flags & RTE_TCP_RST_FLAG))
		tn__tcp_reply_rst(s, &g);
drop:
	rte_pktmbuf_free(m);
}

/* ---- ICMP errors (RFC 5927, RFC 1122 4.2.3.9) ---- */

void tn__tcp_icmp_error(struct tn_stack *s, const struct tn__icmp_err_view *ev)
{
	uint16_t sport = (uint16_t)(ev->l4[0] << 8 | ev->l4[1]);
	uint16_t dport = (uint16_t)(ev->l4[2] << 8 | ev->l4[3]);
	uint32_t seq = (uint32_t)ev->l4[4] << 24 | (uint32_t)ev->l4[5] << 16 |
		       (uint32_t)ev->l4[6] << 8 | ev->l4[7];
	struct tn_tcp_conn *c;
	int err;

	if (ev->src != s->ip ||
	    !(c = tn__tcp_lookup(s, ev->src, sport, ev->dst, dport)) ||
	    c->state == TN_TCP_TIME_WAIT) {
		s->st.tcp_icmp_err_ignored++;
		return;
	}
	/* RFC 5927 4.1: only errors about data in flight are believed. */
	if (tn__seq_lt(seq, c->snd_una) || tn__seq_geq(seq, c->snd_max)) {
		s->st.tcp_icmp_err_ignored++;
		return;
	}
	if (ev->type == TN_ICMP_DEST_UNREACH && ev->code == 4) {
		/* Fragmentation needed: clamp the MSS to the next hop's MTU, not
		 * below the floor (RFC 5927 7.2: a forged tiny MTU costs
		 * throughput, nothing more).  No MTU given (RFC 792 routers):
		 * ignored. */
		uint32_t mss;

		if (!ev->mtu) {
			s->st.tcp_icmp_err_ignored++;
			return;
		}
		mss = ev->mtu > 40 ? ev->mtu - 40u : 0;
		if (c->f & TF_TS)
			mss = mss > 12 ? mss - 12 : 0;
		if (mss < TN_TCP_MSS_FLOOR)
			mss = TN_TCP_MSS_FLOOR;
		s->st.tcp_icmp_err++;
		if (mss < c->mss) {
			c->mss = (uint16_t)mss;
			s->st.tcp_pmtu_clamp++;
		}
		return;
	}
	switch (ev->type) {
	case TN_ICMP_DEST_UNREACH: {
		static const int unreach[] = {
			ENETUNREACH, EHOSTUNREACH, ENOPROTOOPT, ECONNREFUSED, EMSGSIZE,
			EOPNOTSUPP, ENETUNREACH, EHOSTDOWN, ENONET, ENETUNREACH, EHOSTUNREACH,
			ENETUNREACH, EHOSTUNREACH, EHOSTUNREACH,
		};
		err = -(ev->code < RTE_DIM(unreach) ? unreach[ev->code] : EHOSTUNREACH);
		break;
	}
	case TN_ICMP_TIME_EXCEEDED:
		err = -EHOSTUNREACH;
		break;
	case TN_ICMP_PARAM_PROBLEM:
		err = -EPROTO;
		break;
	default: /* source quench (RFC 6633), redirect */
		s->st.tcp_icmp_err_ignored++;
		return;
	}
	s->st.tcp_icmp_err++;
	/* RFC 1122 4.2.3.9: protocol and port unreachable are hard errors;
	 * they end a connection attempt.  Everything else, and every error
	 * on a synchronized connection (RFC 5927 4.1), is soft: remembered
	 * and reported only if the connection then times out. */
	if (c->state == TN_TCP_SYN_SENT && (ev->code == 2 || ev->code == 3) &&
	    ev->type == TN_ICMP_DEST_UNREACH) {
		tn__tcp_close_conn(c, err);
		return;
	}
	c->soft_err = err;
}

/* ---- ephemeral ports (RFC 6056 algorithm 3: a per-destination offset
 * from a keyed hash plus a counter) ---- */

/* Whether the link steers the replies of (lport -> raddr:rport) to this
 * instance: the reply's 4-tuple through the hash the NIC (RSS) or the
 * dataplane (software steering) computes.  With a stack per core, a
 * port that fails this would connect a socket its replies never reach. */
static bool steers_here(const struct tn_stack *s, uint32_t raddr, uint16_t rport, uint16_t lport)
{
	const struct tn_stack_steer *st = &s->cfg.steer;
	uint32_t tuple[3], h;

	if (st->kind == TN_STEER_NONE)
		return true;
	tuple[0] = rte_be_to_cpu_32(raddr);
	tuple[1] = rte_be_to_cpu_32(s->ip);
	tuple[2] = (uint32_t)rport << 16 | lport;
	h = rte_softrss(tuple, 3, st->key);
	if (st->kind == TN_STEER_RSS)
		return st->reta[h % st->reta_size] == st->self;
	return h % st->n == st->self;
}

/* Tries every port of the range once, from the keyed offset, and takes
 * the first one that steers here and is free for the 4-tuple: with k
 * instances about one in k ports qualifies, so the range is used fully
 * and an exhausted one ends in -EADDRNOTAVAIL after one pass. */
int tn__tcp_pick_port(struct tn_stack *s, uint32_t raddr, uint16_t rport, uint16_t *port)
{
	struct tn_tcp *t = s->tcp;
	uint32_t n = t->eph_hi - t->eph_lo + 1u, i;
	uint32_t off = rte_jhash_2words(raddr, rport, t->hash_seed ^ 0x5bd1e995u);

	for (i = 0; i < n; i++) {
		uint16_t p = (uint16_t)(t->eph_lo + (off + t->eph_next + i) % n);

		if (steers_here(s, raddr, rport, p) && !tn__tcp_lookup(s, s->ip, p, raddr, rport) &&
		    !tn__tcp_listener_find(s, s->ip, p)) {
			t->eph_next += i + 1;
			*port = p;
			return 0;
		}
	}
	return -EADDRNOTAVAIL;
}
