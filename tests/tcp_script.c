/* Scripted TCP segments (see tcp_script.h). */
#include "tcp_script.h"

#include <string.h>

uint8_t ts_pl[1 << 20];
static uint8_t frame[16384];
static struct ts_seg last;

int ts_setup(void **state)
{
	static bool pattern;
	int err = tn_test_setup(state);

	if (!pattern) {
		for (unsigned i = 0; i < sizeof(ts_pl); i++)
			ts_pl[i] = (uint8_t)(i * 7 + (i >> 8) * 13 + 1);
		pattern = true;
	}
	st_now = tn_test_clock_ns;
	return err;
}

int ts_teardown(void **state)
{
	return tn_test_teardown(state);
}

struct tn_stack *ts_stack(const struct tn_stack_config *cfg)
{
	static const struct rte_ether_addr zero;
	struct tn_stack *s = st_create(cfg, 0);

	st_feed(s, st_arp(RTE_ARP_OP_REQUEST, &st_mac_bcast, &st_mac_peer, ST_IP_PEER, &zero,
			  ST_IP_US));
	assert_int_equal(st_drain(s), 1);
	return s;
}

void ts_settle(void)
{
	tn_test_settle();
}

uint64_t ts_advance(struct tn_stack *s, uint64_t ns)
{
	uint64_t next;

	st_now += ns;
	tn_test_clock_ns = st_now;
	next = tn_stack_timers(s, st_now);
	tn_test_settle();
	return next;
}

/* ---- building ---- */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned build_opts(const struct ts_seg *g, uint8_t *o)
{
	unsigned n = 0, i;

	if (g->opt) {
		memcpy(o, g->opt, g->optlen);
		return g->optlen;
	}
	if (g->mss) {
		o[n++] = 2;
		o[n++] = 4;
		o[n++] = (uint8_t)(g->mss >> 8);
		o[n++] = (uint8_t)g->mss;
	}
	if (g->sack_ok) {
		o[n++] = 1;
		o[n++] = 1;
		o[n++] = 4;
		o[n++] = 2;
	}
	if (g->ts) {
		o[n++] = 1;
		o[n++] = 1;
		o[n++] = 8;
		o[n++] = 10;
		put32(o + n, g->tsval);
		put32(o + n + 4, g->tsecr);
		n += 8;
	}
	if (g->ws >= 0) {
		o[n++] = 1;
		o[n++] = 3;
		o[n++] = 3;
		o[n++] = (uint8_t)g->ws;
	}
	if (g->nsack) {
		o[n++] = 1;
		o[n++] = 1;
		o[n++] = 5;
		o[n++] = (uint8_t)(2 + 8 * g->nsack);
		for (i = 0; i < g->nsack; i++) {
			put32(o + n, g->sack[i][0]);
			put32(o + n + 4, g->sack[i][1]);
			n += 8;
		}
	}
	while (n % 4)
		o[n++] = 0;
	return n;
}

/* The frame in m as a chain of seg-byte mbufs, as a scattering NIC
 * delivers it; frees m. */
static struct rte_mbuf *split(struct rte_mbuf *m, uint32_t seg)
{
	struct rte_mbuf *head = NULL;
	uint32_t off;

	for (off = 0; off < m->pkt_len; off += seg) {
		uint32_t k = m->pkt_len - off < seg ? m->pkt_len - off : seg;
		struct rte_mbuf *x = rte_pktmbuf_alloc(st_pool);

		assert_non_null(x);
		memcpy(rte_pktmbuf_append(x, (uint16_t)k), rte_pktmbuf_mtod_offset(m, uint8_t *, off),
		       k);
		if (head)
			assert_int_equal(rte_pktmbuf_chain(head, x), 0);
		else
			head = x;
	}
	rte_pktmbuf_free(m);
	return head;
}

void ts_inject(struct tn_stack *s, const struct ts_seg *g)
{
	static uint8_t b[RTE_MBUF_DEFAULT_DATAROOM];
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)b;
	struct st_ip ip = { .proto = IPPROTO_TCP };
	struct rte_ipv4_hdr ph = {
		.version_ihl = 0x45,
		.next_proto_id = IPPROTO_TCP,
		.src_addr = ST_IP_PEER,
		.dst_addr = ST_IP_US,
	};
	unsigned optlen = build_opts(g, b + 20), hl = 20 + optlen;
	struct rte_mbuf *m;

	assert_true(hl + g->len <= 1500 - 20); /* one frame: no jumbo here */
	memset(th, 0, 20);
	th->src_port = rte_cpu_to_be_16(g->sport);
	th->dst_port = rte_cpu_to_be_16(g->dport);
	th->sent_seq = rte_cpu_to_be_32(g->seq);
	th->recv_ack = rte_cpu_to_be_32(g->ack);
	th->data_off = (uint8_t)((hl / 4) << 4);
	th->tcp_flags = g->flags;
	th->rx_win = rte_cpu_to_be_16(g->win);
	if (g->len)
		memcpy(b + hl, g->data ? g->data : ts_pl, g->len);
	ph.total_length = rte_cpu_to_be_16(20 + hl + g->len);
	th->cksum = rte_ipv4_udptcp_cksum(&ph, th);
	if (g->bad_csum)
		th->cksum ^= 0x0101;
	m = st_ipv4(&ip, b, hl + g->len);
	if (g->rx_seg)
		m = split(m, g->rx_seg);
	m->ol_flags |= g->ol_flags;
	st_feed(s, m);
}

/* ---- parsing ---- */

bool ts_pop(struct tn_stack *s, struct ts_seg *o)
{
	const struct rte_ipv4_hdr *h;
	const struct rte_tcp_hdr *th;
	const uint8_t *opt;
	int len = st_pop(s, frame, sizeof(frame));
	unsigned tlen, i;

	if (len < 0)
		return false;
	h = st_assert_ip(frame, len, &st_mac_peer, ST_IP_PEER, IPPROTO_TCP);
	th = (const struct rte_tcp_hdr *)(h + 1);
	tlen = (unsigned)len - 34;
	assert_int_equal(__rte_ipv4_udptcp_cksum(h, th), 0xffff);
	memset(o, 0, offsetof(struct ts_seg, payload));
	o->ws = -1;
	/* Every TCP segment carries DF and is never a fragment. */
	o->df = (h->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG)) != 0;
	assert_true(o->df);
	assert_int_equal(h->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK |
								RTE_IPV4_HDR_MF_FLAG), 0);
	o->ip_len = rte_be_to_cpu_16(h->total_length);
	o->sport = rte_be_to_cpu_16(th->src_port);
	o->dport = rte_be_to_cpu_16(th->dst_port);
	o->seq = rte_be_to_cpu_32(th->sent_seq);
	o->ack = rte_be_to_cpu_32(th->recv_ack);
	o->flags = th->tcp_flags;
	o->win = rte_be_to_cpu_16(th->rx_win);
	o->hlen = (th->data_off >> 4) * 4u;
	assert_true(o->hlen >= 20 && o->hlen <= tlen);
	assert_int_equal(o->hlen % 4, 0);
	o->len = tlen - o->hlen;
	memcpy(o->payload, (const uint8_t *)th + o->hlen, o->len);
	opt = (const uint8_t *)(th + 1);
	for (i = 0; i < o->hlen - 20;) {
		uint8_t k = opt[i];

		if (o->nopt < sizeof(o->opt_kinds))
			o->opt_kinds[o->nopt++] = k;
		if (k == 0)
			break;
		if (k == 1) {
			i++;
			continue;
		}
		assert_true(i + 1 < o->hlen - 20 && opt[i + 1] >= 2 && i + opt[i + 1] <= o->hlen - 20);
		switch (k) {
		case 2:
			assert_int_equal(opt[i + 1], 4);
			o->mss = (uint16_t)(opt[i + 2] << 8 | opt[i + 3]);
			break;
		case 3:
			assert_int_equal(opt[i + 1], 3);
			o->ws = opt[i + 2];
			break;
		case 4:
			assert_int_equal(opt[i + 1], 2);
			o->sack_ok = true;
			break;
		case 8:
			assert_int_equal(opt[i + 1], 10);
			o->ts = true;
			o->tsval = get32(opt + i + 2);
			o->tsecr = get32(opt + i + 6);
			break;
		case 5:
			o->nsack = (opt[i + 1] - 2u) / 8;
			assert_int_equal((opt[i + 1] - 2u) % 8, 0);
			for (unsigned k2 = 0; k2 < o->nsack && k2 < 4; k2++) {
				o->sack[k2][0] = get32(opt + i + 2 + 8 * k2);
				o->sack[k2][1] = get32(opt + i + 6 + 8 * k2);
			}
			break;
		default:
			fail_msg("unexpected option kind %u", k);
		}
		i += opt[i + 1];
	}
	return true;
}

struct ts_seg *ts_expect_at(int line, struct tn_stack *s, uint8_t flags, int64_t seq,
			    int64_t ack, int64_t len)
{
	if (!ts_pop(s, &last))
		fail_msg("line %d: no segment sent; wanted flags 0x%02x", line, flags);
	if (last.flags != flags || (seq != TS_ANY && last.seq != (uint32_t)seq) ||
	    (ack != TS_ANY && last.ack != (uint32_t)ack) ||
	    (len != TS_ANY && last.len != (uint32_t)len))
		fail_msg("line %d: got flags 0x%02x seq %u ack %u len %u, wanted 0x%02x %lld %lld "
			 "%lld", line, last.flags, last.seq, last.ack, last.len, flags,
			 (long long)(seq == TS_ANY ? -1 : (uint32_t)seq),
			 (long long)(ack == TS_ANY ? -1 : (uint32_t)ack), (long long)len);
	return &last;
}

void ts_expect_none_at(int line, struct tn_stack *s)
{
	struct ts_seg o;

	if (ts_pop(s, &o))
		fail_msg("line %d: unexpected segment: flags 0x%02x seq %u ack %u len %u", line,
			 o.flags, o.seq, o.ack, o.len);
}

/* ---- the scripted peer ---- */

static void peer_seg(const struct ts_peer *p, struct ts_seg *g, uint8_t flags, uint32_t len)
{
	memset(g, 0, offsetof(struct ts_seg, payload));
	g->ws = -1;
	g->flags = flags;
	g->seq = p->seq;
	g->ack = (flags & TH_ACK) ? p->ack : 0;
	g->win = p->win;
	g->len = len;
	g->data = ts_pl + (p->seq - p->iss - 1) % (sizeof(ts_pl) / 2);
	g->sport = p->port;
	g->dport = p->our_port;
	g->rx_seg = p->rx_seg;
	if (p->ts) {
		g->ts = true;
		g->tsval = p->tsval;
		g->tsecr = p->their_ts;
	}
}

void ts_send(struct tn_stack *s, struct ts_peer *p, uint8_t flags, uint32_t len)
{
	struct ts_seg g;

	peer_seg(p, &g, flags, len);
	ts_inject(s, &g);
	p->seq += len + !!(flags & TH_FIN);
}

struct ts_seg *ts_recv_at(int line, struct tn_stack *s, struct ts_peer *p, uint8_t flags,
			  uint32_t len)
{
	struct ts_seg *o = ts_expect_at(line, s, flags, (len || (flags & TH_FIN)) ? p->ack : TS_ANY,
					(flags & TH_ACK) ? p->seq : TS_ANY, len);

	assert_int_equal(o->sport, p->our_port);
	assert_int_equal(o->dport, p->port);
	if (len || (flags & TH_FIN)) {
		assert_int_equal(o->seq, p->ack);
		p->ack += len + !!(flags & TH_FIN);
	}
	if (p->ts) {
		assert_true(o->ts);
		p->their_ts = o->tsval;
	}
	return o;
}

static void peer_defaults(struct ts_peer *p)
{
	if (!p->port)
		p->port = 40000;
	if (!p->iss)
		p->iss = 1000000;
	if (!p->win)
		p->win = 65535;
	if (!p->tsval && p->ts)
		p->tsval = 5000;
}

void ts_passive(struct tn_stack *s, struct ts_peer *p, uint16_t lport,
		const struct tn_tcp_opts *opts, struct tn_tcp_listener **lp, struct ts_seg *synack)
{
	struct tn_tcp_listener *l;
	struct ts_op acc;
	struct ts_seg g, *o;

	peer_defaults(p);
	p->our_port = lport;
	if (lp && *lp) {
		l = *lp;
	} else {
		assert_int_equal(tn_tcp_listen(s, 0, lport, 16, opts, &l), 0);
		if (lp)
			*lp = l;
	}
	ts_op_accept(&acc, l);
	p->seq = p->iss;
	peer_seg(p, &g, TH_SYN, 0);
	g.mss = 1460;
	g.ws = p->ws;
	g.sack_ok = p->sack;
	ts_inject(s, &g);
	p->seq = p->iss + 1;
	o = ts_expect(s, TH_SYN | TH_ACK, TS_ANY, p->iss + 1, 0);
	if (synack)
		*synack = *o;
	p->our_iss = o->seq;
	p->ack = o->seq + 1;
	if (p->ts) {
		assert_true(o->ts);
		p->their_ts = o->tsval;
	}
	ts_send(s, p, TH_ACK, 0);
	ts_expect_none(s);
	assert_int_equal(ts_op_wait(&acc), 0);
	p->c = acc.out;
	if (!lp)
		tn_tcp_listener_close(l);
}

void ts_active(struct tn_stack *s, struct ts_peer *p, const struct tn_tcp_opts *opts,
	       struct ts_seg *syn)
{
	struct ts_op con;
	struct ts_seg g, *o;

	peer_defaults(p);
	ts_op_connect(&con, s, p->port, opts);
	o = ts_expect(s, TH_SYN, TS_ANY, TS_ANY, 0);
	if (syn)
		*syn = *o;
	assert_false(ts_op_done(&con));
	p->our_port = o->sport;
	p->our_iss = o->seq;
	p->ack = o->seq + 1;
	if (p->ts) {
		assert_true(o->ts);
		p->their_ts = o->tsval;
	}
	p->seq = p->iss;
	peer_seg(p, &g, TH_SYN | TH_ACK, 0);
	g.mss = 1460;
	g.ws = p->ws;
	g.sack_ok = p->sack;
	ts_inject(s, &g);
	p->seq = p->iss + 1;
	ts_recv(s, p, TH_ACK, 0);
	assert_int_equal(ts_op_wait(&con), 0);
	p->c = con.out;
}

/* ---- coroutine operations ---- */

enum { OP_WRITE, OP_READ, OP_DRAIN, OP_ACCEPT, OP_CONNECT };

static intptr_t op_task(void *arg)
{
	struct ts_op *op = arg;

	switch (op->kind) {
	case OP_WRITE:
		op->ret = tn_tcp_write(op->c, op->wbuf, op->len);
		break;
	case OP_READ:
		op->ret = tn_tcp_read(op->c, op->rbuf, op->len);
		break;
	case OP_DRAIN:
		op->ret = tn_tcp_drain(op->c);
		break;
	case OP_ACCEPT:
		op->ret = tn_tcp_accept(op->l, &op->out);
		break;
	case OP_CONNECT:
		op->ret = tn_tcp_connect(op->s, ST_IP_PEER, op->port, op->has_opts ? &op->opts : NULL,
					 &op->out);
		break;
	}
	return 0;
}

static void op_start(struct ts_op *op)
{
	op->ret = 1;
	op->t = tn_task_spawn(op_task, op);
	op->fu = tn_task_join(op->t);
	assert_non_null(op->fu);
	tn_test_settle();
}

void ts_op_write(struct ts_op *op, struct tn_tcp_conn *c, const void *buf, size_t len)
{
	memset(op, 0, sizeof(*op));
	op->kind = OP_WRITE;
	op->c = c;
	op->wbuf = buf;
	op->len = len;
	op_start(op);
}

void ts_op_read(struct ts_op *op, struct tn_tcp_conn *c, void *buf, size_t len)
{
	memset(op, 0, sizeof(*op));
	op->kind = OP_READ;
	op->c = c;
	op->rbuf = buf;
	op->len = len;
	op_start(op);
}

void ts_op_drain(struct ts_op *op, struct tn_tcp_conn *c)
{
	memset(op, 0, sizeof(*op));
	op->kind = OP_DRAIN;
	op->c = c;
	op_start(op);
}

void ts_op_accept(struct ts_op *op, struct tn_tcp_listener *l)
{
	memset(op, 0, sizeof(*op));
	op->kind = OP_ACCEPT;
	op->l = l;
	op_start(op);
}

void ts_op_connect(struct ts_op *op, struct tn_stack *s, uint16_t port,
		   const struct tn_tcp_opts *opts)
{
	memset(op, 0, sizeof(*op));
	op->kind = OP_CONNECT;
	op->s = s;
	op->port = port;
	if (opts) {
		op->opts = *opts;
		op->has_opts = true;
	}
	op_start(op);
}

static void ignore(void *arg, int err, intptr_t v)
{
	(void)arg;
	(void)v;
	assert_int_equal(err, 0);
}

bool ts_op_done(struct ts_op *op)
{
	if (!op->fu)
		return true;
	tn_test_settle();
	if (!tn_future_done(op->fu))
		return false;
	tn_future_then(op->fu, ignore, NULL);
	op->fu = NULL;
	return true;
}

ssize_t ts_op_wait(struct ts_op *op)
{
	if (!ts_op_done(op))
		fail_msg("the task has not finished");
	return op->ret;
}

void ts_write(struct tn_tcp_conn *c, uint32_t off, size_t len)
{
	struct ts_op op;

	ts_op_write(&op, c, ts_pl + off, len);
	assert_int_equal(ts_op_wait(&op), 0);
}

void ts_read_check(struct tn_tcp_conn *c, uint32_t off, size_t len)
{
	static uint8_t buf[1 << 20];
	struct ts_op op;
	size_t got = 0;

	while (got < len) {
		ts_op_read(&op, c, buf + got, len - got);
		ssize_t n = ts_op_wait(&op);

		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_memory_equal(buf, ts_pl + off, len);
}
