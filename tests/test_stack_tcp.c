/* TCP (stack/tcp*.c): scripted segments in, exact segments out, on a
 * virtual clock (tests/tcp_script.c).  One test per behaviour:
 * handshakes and their options, data and ACKs, every close, RST in each
 * state, TIME-WAIT, timers (RTO, delayed ACK, persist, keepalive),
 * congestion control and recovery, RFC 5961/7323/1337 defences, the
 * out-of-order bound, ICMP errors and DF, SYN cookies, ISNs, ephemeral
 * ports steered to their core, the connection list, and the coroutine
 * API.  Every test ends with the mbuf pool full again. */
#include "tcp_script.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <rte_thash.h>

#define LPORT 8080
#define K 1024u

static struct tn_tcp_info info(struct tn_tcp_conn *c)
{
	struct tn_tcp_info i;

	tn_tcp_info(c, &i);
	return i;
}

/* Ends p's connection quietly (abort, the RST dropped) and the stack. */
static void finish(struct tn_stack *s, struct ts_peer *p)
{
	if (p && p->c)
		tn_tcp_abort(p->c);
	st_drain(s);
	st_destroy(s);
}

/* ---- handshakes ---- */

static void test_passive_open(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ws = 7, .sack = true, .ts = true };
	struct ts_seg sa;
	struct tn_tcp_info i;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, &sa);
	/* SYN-ACK: Linux's option order, our MSS, scale 3 for 256 KiB, the
	 * window unscaled. */
	assert_int_equal(sa.mss, 1460);
	assert_int_equal(sa.ws, 3);
	assert_true(sa.sack_ok);
	assert_true(sa.ts);
	assert_int_equal(sa.tsecr, 5000);
	assert_int_equal(sa.win, 65535);
	assert_int_equal(sa.nopt, 5);
	assert_memory_equal(sa.opt_kinds, "\x02\x04\x08\x01\x03", 5);
	i = info(p.c);
	assert_int_equal(i.state, TN_TCP_ESTABLISHED);
	assert_int_equal(i.mss, 1460 - 12);
	assert_int_equal(i.snd_wscale, 7);
	assert_int_equal(i.rcv_wscale, 3);
	assert_true(i.sack);
	assert_true(i.timestamps);
	assert_int_equal(i.snd_wnd, 65535u << 7);
	assert_int_equal(st_stats(s).tcp_passive_opens, 1);
	finish(s, &p);
}

static void test_active_open(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .port = 9000, .ws = 2, .sack = true, .ts = true };
	struct ts_seg syn;
	struct tn_tcp_info i;

	(void)state;
	ts_active(s, &p, NULL, &syn);
	assert_int_equal(syn.mss, 1460);
	assert_int_equal(syn.ws, 3);
	assert_true(syn.sack_ok);
	assert_true(syn.ts);
	assert_int_equal(syn.tsecr, 0);
	assert_int_equal(syn.win, 65535);
	assert_true(syn.sport >= 49152);
	i = info(p.c);
	assert_int_equal(i.state, TN_TCP_ESTABLISHED);
	assert_int_equal(i.snd_wscale, 2);
	assert_int_equal(i.mss, 1448);
	assert_int_equal(st_stats(s).tcp_active_opens, 1);
	finish(s, &p);
}

/* Options the peer does not offer are not used; no MSS option: 536. */
static void test_no_options(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_listener *l;
	struct ts_op acc;
	struct ts_seg g = { .flags = TH_SYN, .seq = 100, .sport = 4000, .dport = LPORT,
			    .win = 1000, .ws = -1 };
	struct ts_seg *o;
	struct tn_tcp_info i;

	(void)state;
	assert_int_equal(tn_tcp_listen(s, 0, LPORT, 4, NULL, &l), 0);
	ts_op_accept(&acc, l);
	ts_inject(s, &g);
	o = ts_expect(s, TH_SYN | TH_ACK, TS_ANY, 101, 0);
	assert_int_equal(o->mss, 1460); /* ours is always sent */
	assert_int_equal(o->ws, -1);
	assert_false(o->sack_ok);
	assert_false(o->ts);
	g.flags = TH_ACK;
	g.seq = 101;
	g.ack = o->seq + 1;
	ts_inject(s, &g);
	assert_int_equal(ts_op_wait(&acc), 0);
	i = info(acc.out);
	assert_int_equal(i.mss, 536);
	assert_int_equal(i.snd_wscale, 0);
	assert_int_equal(i.rcv_wscale, 0);
	assert_false(i.sack);
	assert_false(i.timestamps);
	assert_int_equal(i.snd_wnd, 1000);
	tn_tcp_abort(acc.out);
	tn_tcp_listener_close(l);
	finish(s, NULL);
}


/* A tiny MSS is raised to the floor; opts.mss caps ours. */
static void test_mss_clamp(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts o = { .mss = 1000 };
	struct tn_tcp_listener *l;
	struct ts_op acc;
	struct ts_seg g = { .flags = TH_SYN, .seq = 100, .sport = 4000, .dport = LPORT,
			    .win = 65535, .ws = -1, .mss = 10 };
	struct ts_seg *o2;
	uint32_t iss;

	(void)state;
	assert_int_equal(tn_tcp_listen(s, 0, LPORT, 4, &o, &l), 0);
	ts_op_accept(&acc, l);
	ts_inject(s, &g);
	o2 = ts_expect(s, TH_SYN | TH_ACK, TS_ANY, 101, 0);
	assert_int_equal(o2->mss, 1000);
	iss = o2->seq;
	g.flags = TH_ACK;
	g.seq = 101;
	g.ack = iss + 1;
	g.mss = 0;
	ts_inject(s, &g);
	assert_int_equal(ts_op_wait(&acc), 0);
	assert_int_equal(info(acc.out).mss, 64);
	/* A 200-byte write goes out in 64-byte segments. */
	ts_write(acc.out, 0, 200);
	ts_expect(s, TH_ACK, iss + 1, 101, 64);
	ts_expect(s, TH_ACK, iss + 65, 101, 64);
	ts_expect(s, TH_ACK, iss + 129, 101, 64);
	ts_expect(s, TH_ACK | TH_PSH, iss + 193, 101, 8);
	tn_tcp_abort(acc.out);
	tn_tcp_listener_close(l);
	finish(s, NULL);
}

/* Both ends send a SYN; each answers with a SYN-ACK. */
static void test_simultaneous_open(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_op con;
	struct ts_seg *o, g = { .ws = -1, .win = 65535, .sport = 9000, .mss = 1460 };
	uint32_t iss;
	uint16_t port;

	(void)state;
	ts_op_connect(&con, s, 9000, NULL);
	o = ts_expect(s, TH_SYN, TS_ANY, TS_ANY, 0);
	iss = o->seq;
	port = o->sport;
	g.dport = port;
	g.flags = TH_SYN;
	g.seq = 5000;
	ts_inject(s, &g);
	o = ts_expect(s, TH_SYN | TH_ACK, iss, 5001, 0);
	assert_int_equal(o->mss, 1460);
	assert_false(ts_op_done(&con));
	/* Their SYN-ACK (crossing ours): answered by an ACK, not taken. */
	g.flags = TH_SYN | TH_ACK;
	g.ack = iss + 1;
	ts_inject(s, &g);
	ts_expect(s, TH_ACK, iss + 1, 5001, 0);
	assert_false(ts_op_done(&con));
	/* Their ACK of our SYN: established. */
	g.flags = TH_ACK;
	g.seq = 5001;
	g.mss = 0;
	ts_inject(s, &g);
	ts_expect_none(s);
	assert_int_equal(ts_op_wait(&con), 0);
	assert_int_equal(info(con.out).state, TN_TCP_ESTABLISHED);
	tn_tcp_abort(con.out);
	finish(s, NULL);
}

/* ---- data ---- */

static void test_data_both_ways(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ws = 7, .sack = true, .ts = true };
	struct ts_seg *o;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	/* Segments of the MSS, PSH on the last, the window scaled by 3. */
	ts_write(p.c, 0, 3000);
	o = ts_recv(s, &p, TH_ACK, 1448);
	assert_int_equal(o->win, 262144 >> 3);
	assert_memory_equal(o->payload, ts_pl, 1448);
	o = ts_recv(s, &p, TH_ACK, 1448);
	assert_memory_equal(o->payload, ts_pl + 1448, 1448);
	o = ts_recv(s, &p, TH_ACK | TH_PSH, 104);
	assert_memory_equal(o->payload, ts_pl + 2896, 104);
	ts_expect_none(s);
	assert_int_equal(info(p.c).unacked, 3000);
	p.tsval += 3;
	ts_send(s, &p, TH_ACK, 0);
	ts_expect_none(s);
	assert_int_equal(info(p.c).unacked, 0);
	assert_int_equal(info(p.c).bytes_acked, 3000);
	/* The other way: delivered in order, byte-exact; the ACK waits. */
	ts_send(s, &p, TH_ACK | TH_PSH, 100);
	ts_send(s, &p, TH_ACK | TH_PSH, 5);
	ts_expect_none(s);
	ts_read_check(p.c, 0, 105);
	assert_int_equal(info(p.c).bytes_received, 105);
	finish(s, &p);
}

/* RFC 5681 4.2 / RFC 1122 4.2.3.2: an ACK for every second full
 * segment, else after the delay; at once for out-of-order data and for
 * data that fills a hole; never later than delack_ns. */
static void test_delayed_ack(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ws = 7, .sack = true, .ts = true };
	struct ts_seg g, *o;
	uint32_t hole;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	ts_send(s, &p, TH_ACK, 1448);
	ts_expect_none(s);
	ts_send(s, &p, TH_ACK, 1448);
	ts_recv(s, &p, TH_ACK, 0);
	/* A small segment: the ACK comes after 40 ms, not before. */
	ts_send(s, &p, TH_ACK | TH_PSH, 10);
	ts_advance(s, 39 * TS_MS);
	ts_expect_none(s);
	ts_advance(s, 1 * TS_MS);
	ts_recv(s, &p, TH_ACK, 0);
	assert_int_equal(st_stats(s).tcp_delayed_acks, 1);
	/* Out of order: a duplicate ACK at once, with a SACK block. */
	hole = p.seq;
	p.seq += 100;
	ts_send(s, &p, TH_ACK, 50);
	o = ts_expect(s, TH_ACK, TS_ANY, hole, 0);
	assert_int_equal(o->nsack, 1);
	assert_int_equal(o->sack[0][0], hole + 100);
	assert_int_equal(o->sack[0][1], hole + 150);
	/* The hole filled: an ACK at once, past both. */
	memset(&g, 0, sizeof(g));
	p.seq = hole;
	ts_send(s, &p, TH_ACK, 100);
	o = ts_expect(s, TH_ACK, TS_ANY, hole + 150, 0);
	assert_int_equal(o->nsack, 0);
	p.seq = hole + 150;
	ts_read_check(p.c, 0, 2896 + 10 + 150);
	finish(s, &p);
}

/* Request/response, as an echo or RPC server sees it: each response
 * carries the ACK of its request (one segment each way, no pure ACK at
 * once nor when the delayed-ACK time passes).  The mbufs the exchange
 * frees (acknowledged responses, requests read) are kept aside for the
 * next segments, at most two while the connection lives, and all go
 * back to the pool when it closes, before the stack does. */
static void test_request_response(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ws = 7, .sack = true, .ts = true };
	unsigned base, i;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	base = rte_mempool_avail_count(st_pool);
	for (i = 0; i < 8; i++) {
		ts_send(s, &p, TH_ACK | TH_PSH, 64);
		ts_expect_none(s); /* the ACK waits for the response */
		ts_read_check(p.c, i * 64, 64);
		if (i == 0) /* the window past the SYN's 65,535 bytes, once */
			ts_recv(s, &p, TH_ACK, 0);
		ts_write(p.c, i * 64, 64);
		ts_recv(s, &p, TH_ACK | TH_PSH, 64); /* (ts_recv: it ACKs the request) */
		ts_expect_none(s);
		assert_true(rte_mempool_avail_count(st_pool) + 2 >= base);
	}
	ts_send(s, &p, TH_ACK, 0); /* the last response acknowledged */
	ts_advance(s, 500 * TS_MS);
	ts_expect_none(s);
	assert_int_equal(st_stats(s).tcp_delayed_acks, 0);
	assert_int_equal(info(p.c).segs_out, 8 + 2); /* (and the SYN-ACK, the update) */
	assert_true(rte_mempool_avail_count(st_pool) + 2 >= base);
	/* One more request, read: two mbufs aside (the RST takes one). */
	ts_send(s, &p, TH_ACK | TH_PSH, 64);
	ts_read_check(p.c, 8 * 64, 64);
	tn_tcp_abort(p.c);
	p.c = NULL;
	st_drain(s);
	assert_int_equal(rte_mempool_avail_count(st_pool), ST_POOL_N);
	finish(s, &p);
}

/* Header prediction: the common segment of an ESTABLISHED connection
 * (in-order data, with an ACK of ours and a moved window, or a pure ACK
 * of new data) takes the fast path with the general path's effects;
 * anything unusual (FIN, out of order, SACK blocks, an old timestamp,
 * a duplicate ACK, recovery) goes the general way. */
static void test_fast_path(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ws = 7, .sack = true, .ts = true };
	struct ts_seg g;
	uint64_t fp;
	uint32_t hole;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	fp = st_stats(s).tcp_fast_path;
	/* Ping-pong: our request, their answer acknowledging it with a
	 * different window. */
	ts_write(p.c, 0, 100);
	ts_recv(s, &p, TH_ACK | TH_PSH, 100);
	p.win -= 3;
	p.tsval += 1;
	ts_send(s, &p, TH_ACK | TH_PSH, 64);
	assert_int_equal(st_stats(s).tcp_fast_path, fp + 1);
	assert_int_equal(info(p.c).unacked, 0);
	assert_int_equal(info(p.c).snd_wnd, (uint32_t)p.win << 7);
	assert_int_equal(info(p.c).bytes_received, 64);
	assert_true(info(p.c).srtt_ns > 0);
	ts_read_check(p.c, 0, 64);
	ts_advance(s, 40 * TS_MS);
	ts_recv(s, &p, TH_ACK, 0); /* the delayed ACK, as on the general path */
	/* Two full segments: the second is acknowledged at once. */
	ts_send(s, &p, TH_ACK, 1448);
	ts_expect_none(s);
	ts_send(s, &p, TH_ACK, 1448);
	ts_recv(s, &p, TH_ACK, 0);
	assert_int_equal(st_stats(s).tcp_fast_path, fp + 3);
	ts_read_check(p.c, 64, 2896);
	/* A pure ACK of new data. */
	ts_write(p.c, 100, 10);
	ts_recv(s, &p, TH_ACK | TH_PSH, 10);
	ts_send(s, &p, TH_ACK, 0);
	assert_int_equal(st_stats(s).tcp_fast_path, fp + 4);
	assert_int_equal(info(p.c).unacked, 0);
	fp = st_stats(s).tcp_fast_path;
	/* The general path: a duplicate ACK (nothing new acknowledged, no
	 * data), an old timestamp (PAWS drops it), SACK blocks, data out of
	 * order and the hole it leaves, FIN. */
	ts_send(s, &p, TH_ACK, 0);
	p.tsval -= 100;
	ts_send(s, &p, TH_ACK, 10);
	p.seq -= 10;
	ts_recv(s, &p, TH_ACK, 0); /* PAWS: an ACK, the data dropped */
	p.tsval += 200;
	assert_int_equal(st_stats(s).tcp_paws, 1);
	hole = p.seq;
	p.seq += 100;
	ts_send(s, &p, TH_ACK, 50);
	ts_expect(s, TH_ACK, TS_ANY, hole, 0);
	p.seq = hole;
	ts_send(s, &p, TH_ACK, 100);
	ts_expect(s, TH_ACK, TS_ANY, hole + 150, 0);
	p.seq = hole + 150;
	ts_write(p.c, 110, 10);
	ts_recv(s, &p, TH_ACK | TH_PSH, 10);
	memset(&g, 0, sizeof(g));
	g.flags = TH_ACK;
	g.sport = p.port;
	g.dport = p.our_port;
	g.seq = p.seq;
	g.ack = p.ack - 5;
	g.win = p.win;
	g.ws = -1;
	g.ts = true;
	g.tsval = p.tsval;
	g.tsecr = p.their_ts;
	g.nsack = 1;
	g.sack[0][0] = p.ack - 5;
	g.sack[0][1] = p.ack;
	ts_inject(s, &g);
	assert_int_equal(info(p.c).unacked, 5);
	ts_send(s, &p, TH_ACK | TH_FIN, 0);
	ts_recv(s, &p, TH_ACK, 0);
	assert_int_equal(info(p.c).state, TN_TCP_CLOSE_WAIT);
	assert_int_equal(st_stats(s).tcp_fast_path, fp);
	ts_read_check(p.c, 2960, 150);
	finish(s, &p);
}

/* Segments start from a per-connection copy of the Ethernet and IPv4
 * headers: a new MAC for the peer (ARP) reaches the next segment, and
 * once the ARP entry expires the segment waits for ARP again. */
static void test_frame_template(void **state)
{
	static const struct rte_ether_addr mac2 = { { 0x02, 0, 0, 0, 0, 0x22 } };
	static const struct rte_ether_addr zero;
	struct tn_stack_config cfg;
	struct tn_stack *s;
	struct ts_peer p = { .ws = 7, .sack = true, .ts = true };
	const struct rte_ipv4_hdr *h;
	uint8_t f[2048];
	int n;

	(void)state;
	st_default_cfg(&cfg);
	cfg.arp_ttl_ns = 5000 * TS_MS;
	s = ts_stack(&cfg);
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	ts_write(p.c, 0, 100);
	ts_recv(s, &p, TH_ACK | TH_PSH, 100); /* (to st_mac_peer, checked there) */
	ts_send(s, &p, TH_ACK, 0);
	/* The peer's MAC changes. */
	st_feed(s, st_arp(RTE_ARP_OP_REPLY, &st_mac_us, &mac2, ST_IP_PEER, &st_mac_us, ST_IP_US));
	ts_write(p.c, 100, 10);
	n = st_pop(s, f, sizeof(f));
	h = st_assert_ip(f, n, &mac2, ST_IP_PEER, IPPROTO_TCP);
	assert_int_equal(rte_be_to_cpu_32(((const struct rte_tcp_hdr *)(h + 1))->sent_seq), p.ack);
	assert_int_equal(__rte_ipv4_udptcp_cksum(h, h + 1), 0xffff);
	p.ack += 10;
	ts_send(s, &p, TH_ACK, 0);
	/* The entry expires (the peer's segments refresh it: none now). */
	st_feed(s, st_arp(RTE_ARP_OP_REPLY, &st_mac_us, &st_mac_peer, ST_IP_PEER, &st_mac_us,
			  ST_IP_US));
	ts_advance(s, 6000 * TS_MS);
	st_drain(s);
	ts_write(p.c, 110, 10);
	n = st_pop(s, f, sizeof(f));
	st_assert_arp(f, n, RTE_ARP_OP_REQUEST, &st_mac_bcast, ST_IP_US, ST_IP_PEER, &zero);
	st_expect_none(s);
	st_feed(s, st_arp(RTE_ARP_OP_REPLY, &st_mac_us, &st_mac_peer, ST_IP_PEER, &st_mac_us,
			  ST_IP_US));
	ts_recv(s, &p, TH_ACK | TH_PSH, 10);
	finish(s, &p);
}

/* Connections with data in flight stop adding to the stack's output
 * queue at TN_TCP_OUTQ_MAX (512) frames, where a saturated port leaves
 * them (dataplane/loop.c); one with nothing in flight still sends; an
 * ACK brings a stopped one back. */
static void test_outq_bound(void **state)
{
	enum { N = 60 };
	struct tn_stack *s = ts_stack(NULL);
	static struct ts_peer p[N];
	unsigned i, n;

	(void)state;
	memset(p, 0, sizeof(p));
	for (i = 0; i < N; i++) {
		p[i] = (struct ts_peer){ .ws = 7, .sack = true, .ts = true,
					 .port = (uint16_t)(40000 + i) };
		ts_passive(s, &p[i], (uint16_t)(LPORT + i), NULL, NULL, NULL);
	}
	/* Ten segments each (the initial window): 600 wanted, 512 go; the
	 * rest of the connections are stopped with nothing sent yet. */
	for (i = 0; i < N; i++)
		ts_write(p[i].c, 0, 10 * 1448);
	/* 0-50 send 10 each (510), 51 two (the queue reaches 512), 52-59
	 * one each: nothing of theirs was in flight. */
	assert_int_equal(st_drain(s), 520);
	n = 0;
	for (i = 0; i < N; i++)
		n += info(p[i].c).unacked / 1448;
	assert_int_equal(n, 520);
	/* An ACK brings #51, stopped with 8 segments to go, back. */
	assert_int_equal(info(p[51].c).unacked, 2 * 1448);
	p[51].ack += 2 * 1448;
	ts_send(s, &p[51], TH_ACK, 0);
	for (i = 0; i < 7; i++)
		ts_recv(s, &p[51], TH_ACK, 1448);
	ts_recv(s, &p[51], TH_ACK | TH_PSH, 1448);
	ts_expect_none(s);
	for (i = 0; i < N; i++)
		tn_tcp_abort(p[i].c);
	st_drain(s);
	st_destroy(s);
}

/* The SYN-ACK's ISN and timestamp for a SYN from the peer's port 40000
 * to lport on a new stack made from cfg at the current virtual time. */
static void synack_of(const struct tn_stack_config *cfg, uint32_t *iss, uint32_t *tsval)
{
	struct tn_stack *s = ts_stack(cfg);
	struct ts_peer p = { .ts = true };
	struct ts_seg synack;

	ts_passive(s, &p, LPORT, NULL, NULL, &synack);
	assert_true(synack.ts);
	*iss = synack.seq;
	*tsval = synack.tsval;
	finish(s, &p);
}

/* tn_stack_config's ts_key: stacks with the same key (the dataplane's,
 * from the boot ID: every process on the machine) give a tuple the same
 * timestamp offset whatever their seeds, so a later process's
 * timestamps on a tuple are later, and a peer holding the tuple in
 * TIME-WAIT takes its SYN; their ISNs still differ (keyed per stack).
 * Without one, the offset is the stack's own. */
static void test_ts_key(void **state)
{
	struct tn_stack_config cfg;
	uint32_t iss1, ts1, iss2, ts2, iss3, ts3, iss4, ts4;

	(void)state;
	st_default_cfg(&cfg);
	memset(cfg.ts_key, 0x5a, sizeof(cfg.ts_key));
	synack_of(&cfg, &iss1, &ts1);
	cfg.seed = 4242;
	synack_of(&cfg, &iss2, &ts2);
	assert_int_equal(ts2, ts1);
	assert_int_not_equal(iss2, iss1);
	/* 5 s later, another process: 5,000 ms later on the same tuple. */
	st_now += 5 * ST_SEC;
	tn_test_clock_ns = st_now;
	synack_of(&cfg, &iss3, &ts3);
	assert_int_equal(ts3 - ts1, 5000);
	/* No key: each stack's own offset. */
	memset(cfg.ts_key, 0, sizeof(cfg.ts_key));
	synack_of(&cfg, &iss4, &ts4);
	assert_int_not_equal(ts4, ts3);
}

/* Checksum offload: with tx_tcp_cksum and tx_ipv4_cksum the stack's
 * segments leave the sums to the port (st_pop checks the pseudo-header
 * sum and lengths, then sums as the port would); received segments a
 * PMD marked GOOD or NONE (verified integrity) are not summed, others
 * are. */
static void test_cksum_offload(void **state)
{
	struct tn_stack_config cfg;
	struct tn_stack *s;
	struct ts_peer p = { .ws = 7, .sack = true, .ts = true };
	struct ts_seg g;
	unsigned before;

	(void)state;
	st_default_cfg(&cfg);
	cfg.tx_tcp_cksum = cfg.tx_ipv4_cksum = true;
	s = ts_stack(&cfg);
	before = st_tx_offloaded;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	ts_write(p.c, 0, 3000);
	ts_recv(s, &p, TH_ACK, 1448);
	ts_recv(s, &p, TH_ACK, 1448);
	ts_recv(s, &p, TH_ACK | TH_PSH, 104);
	assert_int_equal(st_tx_offloaded - before, 4); /* the SYN-ACK too */
	/* A wrong sum: dropped unless the PMD vouches for the data. */
	memset(&g, 0, sizeof(g));
	g.flags = TH_ACK | TH_PSH;
	g.sport = p.port;
	g.dport = p.our_port;
	g.seq = p.seq;
	g.ack = p.ack;
	g.win = p.win;
	g.ws = -1;
	g.ts = true;
	g.tsval = p.tsval;
	g.tsecr = p.their_ts;
	g.len = 10;
	g.data = ts_pl;
	g.bad_csum = true;
	ts_inject(s, &g);
	assert_int_equal(st_stats(s).tcp_bad_csum, 1);
	g.ol_flags = RTE_MBUF_F_RX_L4_CKSUM_BAD;
	ts_inject(s, &g);
	assert_int_equal(st_stats(s).tcp_bad_csum, 2);
	g.ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE;
	ts_inject(s, &g);
	g.seq += 10;
	g.data = ts_pl + 10;
	g.ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	ts_inject(s, &g);
	assert_int_equal(st_stats(s).tcp_bad_csum, 2);
	assert_int_equal(info(p.c).unacked, 0);
	p.seq += 20;
	ts_read_check(p.c, 0, 20);
	finish(s, &p);
}

static void test_delack_off(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts o = { .delack_off = true };
	struct ts_peer p = { .ts = true };

	(void)state;
	ts_passive(s, &p, LPORT, &o, NULL, NULL);
	ts_send(s, &p, TH_ACK | TH_PSH, 10);
	ts_recv(s, &p, TH_ACK, 0);
	finish(s, &p);
}

/* delack_ns sets the delayed-ACK timeout per connection, capped at
 * RFC 1122's 500 ms (4.2.3.2), also when changed on an open one. */
static void test_delack_configurable(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts o = { .delack_ns = 100 * TS_MS };
	struct ts_peer p = { .ts = true };

	(void)state;
	ts_passive(s, &p, LPORT, &o, NULL, NULL);
	ts_send(s, &p, TH_ACK | TH_PSH, 10);
	ts_advance(s, 99 * TS_MS);
	ts_expect_none(s);
	ts_advance(s, TS_MS);
	ts_recv(s, &p, TH_ACK, 0);
	o.delack_ns = 2 * ST_SEC;
	assert_int_equal(tn_tcp_set_opts(p.c, &o), 0);
	ts_send(s, &p, TH_ACK | TH_PSH, 10);
	ts_advance(s, 499 * TS_MS);
	ts_expect_none(s);
	ts_advance(s, TS_MS);
	ts_recv(s, &p, TH_ACK, 0);
	assert_int_equal(st_stats(s).tcp_delayed_acks, 2);
	ts_read_check(p.c, 0, 20);
	finish(s, &p);
}

/* Nagle off (the default): every write goes at once.  On: one small
 * segment in flight at a time. */
static void test_nagle(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts o = { .nagle = true };
	struct ts_peer p = { .ts = true }, q = { .ts = true, .port = 40001 };

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	ts_write(p.c, 0, 10);
	ts_recv(s, &p, TH_ACK | TH_PSH, 10);
	ts_write(p.c, 10, 10);
	ts_recv(s, &p, TH_ACK | TH_PSH, 10);
	ts_passive(s, &q, LPORT + 1, &o, NULL, NULL);
	ts_write(q.c, 0, 10);
	ts_recv(s, &q, TH_ACK | TH_PSH, 10);
	ts_write(q.c, 10, 10);
	ts_write(q.c, 20, 10);
	ts_expect_none(s);
	ts_send(s, &q, TH_ACK, 0);
	ts_recv(s, &q, TH_ACK | TH_PSH, 20);
	/* A full segment is never held. */
	ts_write(q.c, 30, 2000);
	ts_recv(s, &q, TH_ACK, 1448);
	ts_expect_none(s);
	/* Turning Nagle off releases what it holds. */
	o.nagle = false;
	assert_int_equal(tn_tcp_set_opts(q.c, &o), 0);
	ts_recv(s, &q, TH_ACK | TH_PSH, 552);
	tn_tcp_abort(q.c);
	finish(s, &p);
}

/* ---- closing ---- */

static void test_close_active(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true };
	uint64_t no_conn;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	ts_write(p.c, 0, 100);
	ts_recv(s, &p, TH_ACK | TH_PSH, 100);
	tn_tcp_close(p.c);
	p.c = NULL;
	ts_recv(s, &p, TH_FIN | TH_ACK, 0);
	ts_send(s, &p, TH_ACK, 0); /* FIN-WAIT-2 */
	ts_expect_none(s);
	ts_send(s, &p, TH_FIN | TH_ACK, 0);
	ts_recv(s, &p, TH_ACK, 0); /* TIME-WAIT */
	/* Their FIN again (our ACK lost): ACKed again. */
	p.seq--;
	ts_advance(s, 30ull * ST_SEC);
	ts_send(s, &p, TH_FIN | TH_ACK, 0);
	ts_recv(s, &p, TH_ACK, 0);
	/* 2 MSL (60 s) from that FIN, the connection is gone: a segment
	 * meets no one. */
	ts_advance(s, 59ull * ST_SEC);
	no_conn = st_stats(s).tcp_no_conn;
	ts_send(s, &p, TH_ACK, 0);
	ts_expect_none(s); /* still TIME-WAIT: a bare ACK is not answered */
	assert_int_equal(st_stats(s).tcp_no_conn, no_conn);
	ts_advance(s, 1ull * ST_SEC);
	ts_send(s, &p, TH_ACK, 0);
	ts_expect(s, TH_RST, p.ack, TS_ANY, 0);
	assert_int_equal(st_stats(s).tcp_no_conn, no_conn + 1);
	finish(s, NULL);
}

static void test_close_passive(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true };
	struct ts_op rd;
	uint8_t buf[8];

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	ts_op_read(&rd, p.c, buf, sizeof(buf));
	assert_false(ts_op_done(&rd));
	ts_send(s, &p, TH_FIN | TH_ACK, 0);
	ts_recv(s, &p, TH_ACK, 0);
	assert_int_equal(ts_op_wait(&rd), 0); /* end of stream */
	assert_int_equal(info(p.c).state, TN_TCP_CLOSE_WAIT);
	assert_true(tn_tcp_at_eof(p.c));
	/* We may still send, then close. */
	ts_write(p.c, 0, 10);
	ts_recv(s, &p, TH_ACK | TH_PSH, 10);
	tn_tcp_close(p.c);
	p.c = NULL;
	ts_recv(s, &p, TH_FIN | TH_ACK, 0); /* LAST-ACK */
	ts_send(s, &p, TH_ACK, 0);          /* CLOSED: gone */
	ts_expect_none(s);
	ts_send(s, &p, TH_ACK, 0);
	ts_expect(s, TH_RST, p.ack, TS_ANY, 0);
	finish(s, NULL);
}

/* FINs cross: FIN-WAIT-1 -> CLOSING -> TIME-WAIT. */
static void test_simultaneous_close(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true };
	struct tn_tcp_conn *c;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	c = p.c;
	assert_int_equal(tn_tcp_shutdown(c), 0);
	ts_expect(s, TH_FIN | TH_ACK, p.ack, p.seq, 0);
	ts_send(s, &p, TH_FIN | TH_ACK, 0); /* acks nothing of ours */
	ts_expect(s, TH_ACK, p.ack + 1, p.seq, 0);
	assert_int_equal(info(c).state, TN_TCP_CLOSING);
	p.ack++;
	ts_send(s, &p, TH_ACK, 0);
	ts_expect_none(s);
	assert_int_equal(info(c).state, TN_TCP_TIME_WAIT);
	tn_tcp_close(c);
	p.c = NULL;
	ts_advance(s, 61ull * ST_SEC);
	finish(s, NULL);
}

/* shutdown: our side ends, theirs goes on. */
static void test_half_close(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true };
	struct ts_op w;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	ts_write(p.c, 0, 20);
	assert_int_equal(tn_tcp_shutdown(p.c), 0);
	ts_recv(s, &p, TH_ACK | TH_PSH, 20);
	ts_recv(s, &p, TH_FIN | TH_ACK, 0);
	ts_op_write(&w, p.c, ts_pl, 5);
	assert_int_equal(ts_op_wait(&w), -EPIPE);
	ts_send(s, &p, TH_ACK, 0);
	assert_int_equal(info(p.c).state, TN_TCP_FIN_WAIT_2);
	ts_send(s, &p, TH_ACK, 1448);
	ts_send(s, &p, TH_ACK | TH_PSH, 1448);
	ts_recv(s, &p, TH_ACK, 0); /* two full segments */
	ts_read_check(p.c, 0, 2896);
	ts_send(s, &p, TH_FIN | TH_ACK, 0);
	ts_recv(s, &p, TH_ACK, 0);
	assert_int_equal(info(p.c).state, TN_TCP_TIME_WAIT);
	assert_true(tn_tcp_at_eof(p.c));
	tn_tcp_close(p.c);
	p.c = NULL;
	finish(s, NULL);
}

/* Closing with unread data resets (RFC 2525 2.17). */
static void test_close_unread_resets(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true };

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	ts_send(s, &p, TH_ACK | TH_PSH, 10);
	tn_tcp_close(p.c);
	p.c = NULL;
	ts_expect(s, TH_RST | TH_ACK, p.ack, p.seq, 0);
	assert_int_equal(st_stats(s).tcp_aborts, 1);
	finish(s, NULL);
}

static void test_abort(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true };

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	ts_write(p.c, 0, 10);
	ts_recv(s, &p, TH_ACK | TH_PSH, 10);
	tn_tcp_abort(p.c);
	p.c = NULL;
	ts_expect(s, TH_RST | TH_ACK, p.ack + 10 - 10 + 0, p.seq, 0);
	finish(s, NULL);
}


/* ---- resets ---- */

static void test_rst_established(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true, .ws = 7 };
	struct ts_seg g;
	struct ts_op rd;
	uint8_t buf[8];
	int i;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	memset(&g, 0, sizeof(g));
	g.ws = -1;
	g.flags = TH_RST;
	g.sport = p.port;
	g.dport = LPORT;
	/* In the window but not exact (RFC 5961 3.2): a challenge ACK. */
	g.seq = p.seq + 100;
	ts_inject(s, &g);
	ts_expect(s, TH_ACK, p.ack, p.seq, 0);
	/* Outside the window: nothing. */
	g.seq = p.seq + 100000000;
	ts_inject(s, &g);
	ts_expect_none(s);
	assert_int_equal(st_stats(s).tcp_bad_seq, 1);
	/* Challenge ACKs are limited to 10 a second per connection. */
	g.seq = p.seq + 1;
	for (i = 0; i < 11; i++)
		ts_inject(s, &g);
	assert_int_equal(st_drain(s), 9);
	assert_int_equal(st_stats(s).tcp_challenge_ack, 10);
	assert_int_equal(st_stats(s).tcp_challenge_ack_limited, 2);
	ts_advance(s, ST_SEC);
	ts_inject(s, &g);
	assert_int_equal(st_drain(s), 1);
	assert_int_equal(info(p.c).state, TN_TCP_ESTABLISHED);
	/* Exact: reset.  A waiting reader learns it. */
	ts_op_read(&rd, p.c, buf, sizeof(buf));
	g.seq = p.seq;
	ts_inject(s, &g);
	ts_expect_none(s);
	assert_int_equal(ts_op_wait(&rd), -ECONNRESET);
	assert_int_equal(info(p.c).state, TN_TCP_CLOSED);
	assert_int_equal(st_stats(s).tcp_estab_resets, 1);
	ts_op_write(&rd, p.c, ts_pl, 4);
	assert_int_equal(ts_op_wait(&rd), -ECONNRESET);
	tn_tcp_close(p.c);
	p.c = NULL;
	finish(s, NULL);
}

static void test_rst_syn_sent(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_op con;
	struct ts_seg *o, g = { .ws = -1, .sport = 9000 };
	uint32_t iss;

	(void)state;
	ts_op_connect(&con, s, 9000, NULL);
	o = ts_expect(s, TH_SYN, TS_ANY, TS_ANY, 0);
	iss = o->seq;
	g.dport = o->sport;
	/* Without an ACK, or acknowledging something else: ignored. */
	g.flags = TH_RST;
	ts_inject(s, &g);
	g.flags = TH_RST | TH_ACK;
	g.ack = iss + 5;
	ts_inject(s, &g);
	ts_expect_none(s);
	assert_false(ts_op_done(&con));
	/* An ACK for something else without RST: answered by a RST. */
	g.flags = TH_ACK;
	g.seq = 77;
	ts_inject(s, &g);
	ts_expect(s, TH_RST, iss + 5, TS_ANY, 0);
	g.flags = TH_RST | TH_ACK;
	g.ack = iss + 1;
	ts_inject(s, &g);
	assert_int_equal(ts_op_wait(&con), -ECONNREFUSED);
	ts_expect_none(s);
	finish(s, NULL);
}

static void test_rst_syn_received(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_listener *l;
	struct ts_op acc;
	struct ts_seg *o, g = { .ws = -1, .sport = 4000, .dport = LPORT, .win = 1000 };
	uint32_t iss;

	(void)state;
	assert_int_equal(tn_tcp_listen(s, 0, LPORT, 4, NULL, &l), 0);
	ts_op_accept(&acc, l);
	g.flags = TH_SYN;
	g.seq = 100;
	ts_inject(s, &g);
	o = ts_expect(s, TH_SYN | TH_ACK, TS_ANY, 101, 0);
	iss = o->seq;
	/* Their SYN again: our SYN-ACK again. */
	ts_inject(s, &g);
	ts_expect(s, TH_SYN | TH_ACK, iss, 101, 0);
	g.flags = TH_RST;
	g.seq = 101;
	ts_inject(s, &g);
	ts_expect_none(s);
	/* Gone: its ACK now meets the listener, which resets it. */
	g.flags = TH_ACK;
	g.ack = iss + 1;
	ts_inject(s, &g);
	ts_expect(s, TH_RST, iss + 1, TS_ANY, 0);
	assert_false(ts_op_done(&acc));
	tn_tcp_listener_close(l);
	assert_int_equal(ts_op_wait(&acc), -EBADF);
	finish(s, NULL);
}

/* An exact RST ends every synchronized state but TIME-WAIT (RFC 1337). */
static void test_rst_closing_states(void **state)
{
	static const uint8_t want[] = { TN_TCP_FIN_WAIT_1, TN_TCP_FIN_WAIT_2, TN_TCP_CLOSE_WAIT,
					TN_TCP_CLOSING, TN_TCP_LAST_ACK, TN_TCP_TIME_WAIT };
	struct tn_stack *s = ts_stack(NULL);
	unsigned k;

	(void)state;
	for (k = 0; k < sizeof(want); k++) {
		struct ts_peer p = { .ts = true, .port = (uint16_t)(41000 + k) };
		struct ts_seg g;
		uint8_t st = want[k];

		ts_passive(s, &p, (uint16_t)(LPORT + k), NULL, NULL, NULL);
		if (st == TN_TCP_CLOSE_WAIT || st == TN_TCP_LAST_ACK) {
			ts_send(s, &p, TH_FIN | TH_ACK, 0);
			ts_recv(s, &p, TH_ACK, 0);
		}
		if (st != TN_TCP_CLOSE_WAIT) {
			tn_tcp_shutdown(p.c);
			ts_recv(s, &p, TH_FIN | TH_ACK, 0);
		}
		if (st == TN_TCP_FIN_WAIT_2 || st == TN_TCP_TIME_WAIT)
			ts_send(s, &p, TH_ACK, 0);
		if (st == TN_TCP_CLOSING || st == TN_TCP_TIME_WAIT) {
			p.ack--; /* their FIN does not acknowledge ours */
			ts_send(s, &p, TH_FIN | TH_ACK, 0);
			p.ack++;
			st_drain(s);
			if (st == TN_TCP_TIME_WAIT)
				ts_send(s, &p, TH_ACK, 0);
		}
		assert_int_equal(info(p.c).state, st);
		memset(&g, 0, sizeof(g));
		g.ws = -1;
		g.flags = TH_RST;
		g.seq = p.seq;
		g.sport = p.port;
		g.dport = (uint16_t)(LPORT + k);
		ts_inject(s, &g);
		ts_expect_none(s);
		if (st == TN_TCP_TIME_WAIT) {
			assert_int_equal(info(p.c).state, TN_TCP_TIME_WAIT);
			/* Still there: their FIN again is ACKed. */
			p.seq--;
			ts_send(s, &p, TH_FIN | TH_ACK, 0);
			ts_recv(s, &p, TH_ACK, 0);
		} else {
			assert_int_equal(info(p.c).state, TN_TCP_CLOSED);
			assert_int_equal(info(p.c).err, -ECONNRESET);
		}
		tn_tcp_close(p.c);
	}
	ts_advance(s, 61ull * ST_SEC);
	finish(s, NULL);
}

/* A SYN with a newer timestamp takes over a TIME-WAIT connection
 * (RFC 6191); an old one gets an ACK. */
static void test_timewait_reuse(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_listener *l = NULL;
	struct ts_peer p = { .ts = true }, q;
	struct ts_seg g;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, &l, NULL);
	tn_tcp_close(p.c);
	p.c = NULL;
	ts_recv(s, &p, TH_FIN | TH_ACK, 0);
	ts_send(s, &p, TH_FIN | TH_ACK, 0);
	ts_recv(s, &p, TH_ACK, 0);
	/* An old SYN (timestamp not newer): an ACK, nothing more. */
	memset(&g, 0, sizeof(g));
	g.ws = -1;
	g.flags = TH_SYN;
	g.seq = p.seq + 5;
	g.sport = p.port;
	g.dport = LPORT;
	g.ts = true;
	g.tsval = p.tsval;
	ts_inject(s, &g);
	ts_expect(s, TH_ACK, p.ack, p.seq, 0);
	/* A new incarnation. */
	q = (struct ts_peer){ .ts = true, .port = p.port, .iss = p.seq + 100000, .tsval = p.tsval + 10 };
	ts_passive(s, &q, LPORT, NULL, &l, NULL);
	assert_int_equal(st_stats(s).tcp_tw_reuse, 1);
	assert_int_equal(info(q.c).state, TN_TCP_ESTABLISHED);
	tn_tcp_listener_close(l);
	finish(s, &q);
}

/* ---- timers ---- */

/* RFC 6298: the RTO doubles per timeout up to rto_max; retransmitted
 * data gives no RTT sample (Karn); new data does. */
static void test_rto_backoff_karn(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts o = { .rto_max_ns = 1000 * TS_MS };
	struct ts_peer p = { .ts = true };
	uint64_t waits[] = { 200, 400, 800, 1000, 1000 }, srtt;
	unsigned i;

	(void)state;
	ts_passive(s, &p, LPORT, &o, NULL, NULL);
	assert_int_equal(info(p.c).rto_ns, 200 * TS_MS); /* rto_min */
	srtt = info(p.c).srtt_ns;
	ts_write(p.c, 0, 100);
	ts_recv(s, &p, TH_ACK | TH_PSH, 100);
	for (i = 0; i < 5; i++) {
		ts_advance(s, waits[i] * TS_MS - TS_MS);
		ts_expect_none(s);
		ts_advance(s, TS_MS);
		p.ack -= 100;
		ts_recv(s, &p, TH_ACK | TH_PSH, 100);
	}
	assert_int_equal(info(p.c).rto_expiries, 5);
	assert_int_equal(info(p.c).retransmits, 5);
	assert_int_equal(st_stats(s).tcp_rto, 5);
	ts_advance(s, 5 * TS_MS);
	ts_send(s, &p, TH_ACK, 0);
	assert_int_equal(info(p.c).srtt_ns, srtt); /* Karn */
	/* The backoff is over: new data is timed, and its RTO is 200 ms. */
	ts_write(p.c, 100, 10);
	ts_recv(s, &p, TH_ACK | TH_PSH, 10);
	ts_advance(s, 10 * TS_MS);
	ts_send(s, &p, TH_ACK, 0);
	assert_int_equal(info(p.c).srtt_ns, (7 * srtt + 10 * TS_MS) / 8);
	ts_write(p.c, 110, 10);
	ts_recv(s, &p, TH_ACK | TH_PSH, 10);
	ts_advance(s, 199 * TS_MS);
	ts_expect_none(s);
	ts_advance(s, TS_MS);
	p.ack -= 10;
	ts_recv(s, &p, TH_ACK | TH_PSH, 10);
	finish(s, &p);
}

/* rto_min_ns is the RTO's floor per connection (low-latency links set
 * a few ms instead of the 200 ms default); tn_tcp_set_opts raises it on
 * an open connection at once. */
static void test_rto_min_configurable(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts o = { .rto_min_ns = 5 * TS_MS };
	struct ts_peer p = { .ts = true };

	(void)state;
	ts_passive(s, &p, LPORT, &o, NULL, NULL);
	assert_int_equal(info(p.c).rto_ns, 5 * TS_MS);
	ts_write(p.c, 0, 100);
	ts_recv(s, &p, TH_ACK | TH_PSH, 100);
	ts_advance(s, 4 * TS_MS);
	ts_expect_none(s);
	ts_advance(s, TS_MS);
	p.ack -= 100;
	ts_recv(s, &p, TH_ACK | TH_PSH, 100);
	ts_send(s, &p, TH_ACK, 0);
	o.rto_min_ns = 300 * TS_MS;
	assert_int_equal(tn_tcp_set_opts(p.c, &o), 0);
	assert_int_equal(info(p.c).rto_ns, 300 * TS_MS);
	ts_write(p.c, 100, 10);
	ts_recv(s, &p, TH_ACK | TH_PSH, 10);
	ts_advance(s, 299 * TS_MS);
	ts_expect_none(s);
	ts_advance(s, TS_MS);
	p.ack -= 10;
	ts_recv(s, &p, TH_ACK | TH_PSH, 10);
	finish(s, &p);
}

static void test_rto_gives_up(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts o = { .retries = 3 };
	struct ts_peer p = { .ts = true };
	struct ts_op rd;
	uint8_t buf[4];

	(void)state;
	ts_passive(s, &p, LPORT, &o, NULL, NULL);
	ts_write(p.c, 0, 100);
	ts_op_read(&rd, p.c, buf, sizeof(buf));
	ts_recv(s, &p, TH_ACK | TH_PSH, 100);
	ts_advance(s, 200 * TS_MS);
	ts_advance(s, 400 * TS_MS);
	ts_advance(s, 800 * TS_MS);
	assert_int_equal(st_drain(s), 3);
	assert_false(ts_op_done(&rd));
	ts_advance(s, 1600 * TS_MS);
	ts_expect_none(s); /* no RST: the peer is unreachable anyway */
	assert_int_equal(ts_op_wait(&rd), -ETIMEDOUT);
	assert_int_equal(st_stats(s).tcp_timeouts, 1);
	finish(s, &p);
}

/* A SYN nobody answers: again after 1 s, 2 s..., then -ETIMEDOUT. */
static void test_syn_retries(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts o = { .syn_retries = 2 };
	struct ts_op con;
	uint32_t iss;

	(void)state;
	ts_op_connect(&con, s, 9000, &o);
	iss = ts_expect(s, TH_SYN, TS_ANY, TS_ANY, 0)->seq;
	ts_advance(s, 999 * TS_MS);
	ts_expect_none(s);
	ts_advance(s, TS_MS);
	ts_expect(s, TH_SYN, iss, TS_ANY, 0);
	ts_advance(s, 2000 * TS_MS);
	ts_expect(s, TH_SYN, iss, TS_ANY, 0);
	assert_false(ts_op_done(&con));
	ts_advance(s, 4000 * TS_MS);
	ts_expect_none(s);
	assert_int_equal(ts_op_wait(&con), -ETIMEDOUT);
	finish(s, NULL);
}

/* ---- loss recovery ---- */

/* NewReno (RFC 6582) without SACK: three duplicate ACKs resend the
 * first segment, a partial ACK the next hole, a full ACK ends it. */
static void test_fast_retransmit_newreno(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts o = { .cc = TN_TCP_CC_NEWRENO };
	struct ts_peer p = { .ts = true };
	uint32_t a0, i;
	const uint32_t M = 1448;

	(void)state;
	ts_passive(s, &p, LPORT, &o, NULL, NULL);
	assert_int_equal(info(p.c).cwnd, 10 * M);
	a0 = p.ack;
	ts_write(p.c, 0, 10 * M);
	for (i = 0; i < 10; i++)
		ts_recv(s, &p, i == 9 ? TH_ACK | TH_PSH : TH_ACK, M);
	ts_expect_none(s);
	p.ack = a0 + M;
	ts_send(s, &p, TH_ACK, 0);
	assert_int_equal(info(p.c).cwnd, 11 * M);
	ts_send(s, &p, TH_ACK, 0);
	ts_send(s, &p, TH_ACK, 0);
	ts_expect_none(s);
	ts_send(s, &p, TH_ACK, 0);
	ts_expect(s, TH_ACK, a0 + M, p.seq, M);
	assert_int_equal(info(p.c).ssthresh, 9 * M / 2);
	assert_int_equal(info(p.c).cwnd, 9 * M / 2 + 3 * M);
	assert_int_equal(info(p.c).fast_retransmits, 1);
	ts_send(s, &p, TH_ACK, 0); /* inflates */
	assert_int_equal(info(p.c).cwnd, 9 * M / 2 + 4 * M);
	/* A partial ACK: the next hole at once. */
	p.ack = a0 + 2 * M;
	ts_send(s, &p, TH_ACK, 0);
	ts_expect(s, TH_ACK, a0 + 2 * M, p.seq, M);
	ts_expect_none(s);
	/* The full ACK. */
	p.ack = a0 + 10 * M;
	ts_send(s, &p, TH_ACK, 0);
	assert_int_equal(info(p.c).cwnd, 2 * M);
	assert_int_equal(info(p.c).retransmits, 2);
	assert_int_equal(info(p.c).rto_expiries, 0);
	finish(s, &p);
}

/* The congestion control is per connection: two on one stack, CUBIC
 * (the default) and NewReno, each backs off its own way at the same
 * loss (0.7 and 0.5 of the flight), and tn_tcp_set_opts switches one. */
static void test_cc_per_connection(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts nr = { .cc = TN_TCP_CC_NEWRENO }, cu = { .cc = TN_TCP_CC_CUBIC };
	struct ts_peer p[2] = { { .ts = true, .port = 41000 }, { .ts = true, .port = 41001 } };
	const uint32_t M = 1448;
	unsigned k, i;

	(void)state;
	ts_passive(s, &p[0], LPORT, NULL, NULL, NULL);
	ts_passive(s, &p[1], LPORT + 1, &nr, NULL, NULL);
	assert_int_equal(info(p[0].c).cc, TN_TCP_CC_CUBIC);
	assert_int_equal(info(p[1].c).cc, TN_TCP_CC_NEWRENO);
	for (k = 0; k < 2; k++) {
		uint32_t a0 = p[k].ack;

		ts_write(p[k].c, 0, 10 * M);
		for (i = 0; i < 10; i++)
			ts_recv(s, &p[k], i == 9 ? TH_ACK | TH_PSH : TH_ACK, M);
		p[k].ack = a0; /* the first segment lost: three duplicate ACKs */
		for (i = 0; i < 3; i++)
			ts_send(s, &p[k], TH_ACK, 0);
		ts_expect(s, TH_ACK, a0, p[k].seq, M);
		assert_int_equal(info(p[k].c).ssthresh, k == 0 ? 10 * M * 7 / 10 : 10 * M / 2);
		p[k].ack = a0 + 10 * M;
		ts_send(s, &p[k], TH_ACK, 0);
	}
	assert_int_equal(tn_tcp_set_opts(p[1].c, &cu), 0);
	assert_int_equal(info(p[1].c).cc, TN_TCP_CC_CUBIC);
	assert_int_equal(tn_tcp_set_opts(p[0].c, &nr), 0);
	assert_int_equal(info(p[0].c).cc, TN_TCP_CC_NEWRENO);
	tn_tcp_abort(p[1].c);
	finish(s, &p[0]);
}

/* Only duplicate ACKs in RFC 5681's sense count toward fast
 * retransmit: data outstanding, and an ACK of exactly snd_una without
 * data, SYN or FIN that keeps the window.  Reordered older ACKs, and
 * ACKs that carry data or change the window, say nothing of a loss. */
static void test_dupack_criteria(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true };
	uint32_t a0, i;
	const uint32_t M = 1448;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	a0 = p.ack;
	ts_write(p.c, 0, 4 * M);
	for (i = 0; i < 4; i++)
		ts_recv(s, &p, i == 3 ? TH_ACK | TH_PSH : TH_ACK, M);
	/* Two segments acknowledged, then three older ACKs (reordered):
	 * with two segments out, one duplicate would be enough (early
	 * retransmit). */
	p.ack = a0 + 2 * M;
	ts_send(s, &p, TH_ACK, 0);
	p.ack = a0 + M;
	for (i = 0; i < 3; i++)
		ts_send(s, &p, TH_ACK, 0);
	ts_expect_none(s);
	/* ACKs of snd_una with data, or with a new window. */
	p.ack = a0 + 2 * M;
	ts_send(s, &p, TH_ACK | TH_PSH, 10);
	for (i = 0; i < 3; i++) {
		p.win -= 1000;
		ts_send(s, &p, TH_ACK, 0);
	}
	ts_expect_none(s);
	assert_int_equal(info(p.c).fast_retransmits, 0);
	/* A duplicate. */
	ts_send(s, &p, TH_ACK, 0);
	ts_expect(s, TH_ACK, a0 + 2 * M, p.seq, M);
	assert_int_equal(info(p.c).fast_retransmits, 1);
	finish(s, &p);
}

/* While out-of-order data waits, our segments carry SACK blocks, and a
 * full-sized one carries that much less data (RFC 6691: the MSS counts
 * data only), so it still fits the MTU unfragmented. */
static void test_sack_blocks_shrink_segments(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true, .sack = true, .ws = 7 };
	struct ts_seg *o;
	uint32_t base;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	base = p.seq;
	p.seq = base + 1000;
	ts_send(s, &p, TH_ACK, 500); /* [1000, 1500): one SACK block */
	o = ts_expect(s, TH_ACK, TS_ANY, base, 0);
	assert_int_equal(o->nsack, 1);
	p.seq = base;
	ts_write(p.c, 0, 3000);
	o = ts_recv(s, &p, TH_ACK, 1448 - 12);
	assert_int_equal(o->nsack, 1);
	assert_int_equal(20 + o->hlen + o->len, 1500);
	ts_recv(s, &p, TH_ACK, 1448 - 12);
	ts_recv(s, &p, TH_ACK | TH_PSH, 3000 - 2 * (1448 - 12));
	assert_int_equal(st_stats(s).ip_frag_tx, 0);
	/* Two blocks: 8 bytes less again. */
	p.seq = base + 2000;
	ts_send(s, &p, TH_ACK, 100);
	ts_expect(s, TH_ACK, TS_ANY, base, 0);
	p.seq = base;
	ts_write(p.c, 3000, 1448);
	o = ts_recv(s, &p, TH_ACK, 1448 - 20);
	assert_int_equal(o->nsack, 2);
	assert_int_equal(20 + o->hlen + o->len, 1500);
	ts_recv(s, &p, TH_ACK | TH_PSH, 20);
	/* The holes filled: full segments again. */
	ts_send(s, &p, TH_ACK, 1000);
	ts_expect(s, TH_ACK, TS_ANY, base + 1500, 0);
	p.seq = base + 1500;
	ts_send(s, &p, TH_ACK, 500);
	ts_expect(s, TH_ACK, TS_ANY, base + 2100, 0);
	p.seq = base + 2100;
	ts_write(p.c, 4448, 1449);
	o = ts_recv(s, &p, TH_ACK, 1448);
	assert_int_equal(o->nsack, 0);
	ts_recv(s, &p, TH_ACK | TH_PSH, 1);
	finish(s, &p);
}

/* SACK (RFC 6675): segments 0, 2 and 3 lost.  Recovery starts when
 * more than two segments' worth above the first hole are SACKed (3.
 * IsLost), and the holes go at once as the pipe allows. */
static void test_sack_recovery(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true, .sack = true, .ws = 7 };
	struct ts_seg g;
	uint32_t a0, i;
	const uint32_t M = 1448;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	a0 = p.ack;
	ts_write(p.c, 0, 10 * M);
	for (i = 0; i < 10; i++)
		ts_recv(s, &p, i == 9 ? TH_ACK | TH_PSH : TH_ACK, M);
	memset(&g, 0, sizeof(g));
	g.ws = -1;
	g.flags = TH_ACK;
	g.seq = p.seq;
	g.ack = a0;
	g.win = p.win;
	g.sport = p.port;
	g.dport = LPORT;
	g.ts = true;
	g.tsval = p.tsval;
	g.tsecr = p.their_ts;
	g.nsack = 1;
	g.sack[0][0] = a0 + M;
	g.sack[0][1] = a0 + 2 * M;
	ts_inject(s, &g);
	ts_expect_none(s);
	g.nsack = 2;
	g.sack[0][0] = a0 + 4 * M;
	g.sack[0][1] = a0 + 5 * M;
	g.sack[1][0] = a0 + M;
	g.sack[1][1] = a0 + 2 * M;
	ts_inject(s, &g);
	ts_expect_none(s);
	g.sack[0][1] = a0 + 7 * M;
	ts_inject(s, &g);
	ts_expect(s, TH_ACK, a0, p.seq, M);
	ts_expect(s, TH_ACK, a0 + 2 * M, p.seq, M);
	ts_expect(s, TH_ACK, a0 + 3 * M, p.seq, M);
	ts_expect_none(s);
	assert_int_equal(info(p.c).fast_retransmits, 1);
	assert_int_equal(info(p.c).retransmits, 3);
	assert_int_equal(info(p.c).ssthresh, 10 * M * 7 / 10);
	/* Everything arrives: recovery ends. */
	g.nsack = 0;
	g.ack = a0 + 10 * M;
	ts_inject(s, &g);
	ts_expect_none(s);
	assert_int_equal(info(p.c).unacked, 0);
	finish(s, &p);
}

/* The same with out-of-order data held on our side: our segments carry
 * SACK blocks, so a resent hole goes in pieces of tn__tcp_seg_mss
 * (1448 less 12 for the one block we hold) bytes, and every byte of
 * every hole still goes at once,
 * without waiting for the RTO. */
static void test_sack_recovery_ooo(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true, .sack = true, .ws = 7 };
	struct ts_seg g, *o;
	uint32_t a0, ps, i;
	const uint32_t M = 1448, R = M - 12;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	a0 = p.ack;
	ts_write(p.c, 0, 10 * M);
	for (i = 0; i < 10; i++)
		ts_recv(s, &p, i == 9 ? TH_ACK | TH_PSH : TH_ACK, M);
	ps = p.seq;
	p.seq = ps + 1000;
	p.ack = a0; /* nothing arrived yet */
	ts_send(s, &p, TH_ACK, 500); /* held: the peer's [1000, 1500) */
	p.seq = ps;
	o = ts_expect(s, TH_ACK, a0 + 10 * M, ps, 0);
	assert_int_equal(o->nsack, 1);
	memset(&g, 0, sizeof(g));
	g.ws = -1;
	g.flags = TH_ACK;
	g.seq = p.seq;
	g.ack = a0;
	g.win = p.win;
	g.sport = p.port;
	g.dport = LPORT;
	g.ts = true;
	g.tsval = p.tsval;
	g.tsecr = p.their_ts;
	g.nsack = 2;
	g.sack[0][0] = a0 + 4 * M;
	g.sack[0][1] = a0 + 5 * M;
	g.sack[1][0] = a0 + M;
	g.sack[1][1] = a0 + 2 * M;
	ts_inject(s, &g);
	ts_expect_none(s);
	g.sack[0][1] = a0 + 7 * M;
	ts_inject(s, &g);
	ts_expect(s, TH_ACK, a0, ps, R);
	ts_expect(s, TH_ACK, a0 + R, ps, M - R);
	ts_expect(s, TH_ACK, a0 + 2 * M, ps, R);
	ts_expect(s, TH_ACK, a0 + 2 * M + R, ps, R);
	ts_expect(s, TH_ACK, a0 + 2 * M + 2 * R, ps, 2 * (M - R));
	ts_expect_none(s);
	assert_int_equal(info(p.c).fast_retransmits, 1);
	assert_int_equal(info(p.c).rto_expiries, 0);
	g.nsack = 0;
	g.ack = a0 + 10 * M;
	ts_inject(s, &g);
	assert_int_equal(info(p.c).unacked, 0);
	finish(s, &p);
}

/* Tail loss probe (RFC 8985 7): the last segment again after 2 SRTT
 * (10 ms at least, plus the delayed-ACK time for a lone segment), well
 * before the RTO; one probe per flight. */
static void test_tail_loss_probe(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true, .sack = true };
	uint32_t a0;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	/* Three segments out: the probe after 10 ms is the last MSS of data
	 * (segment bounds are not kept: it covers the last segment). */
	a0 = p.ack;
	ts_write(p.c, 0, 3000);
	ts_recv(s, &p, TH_ACK, 1448);
	ts_recv(s, &p, TH_ACK, 1448);
	ts_recv(s, &p, TH_ACK | TH_PSH, 104);
	ts_advance(s, 9 * TS_MS);
	ts_expect_none(s);
	ts_advance(s, TS_MS);
	ts_expect(s, TH_ACK, a0 + 3000 - 1448, p.seq, 1448);
	assert_int_equal(st_stats(s).tcp_tlp, 1);
	ts_send(s, &p, TH_ACK, 0);
	/* A lone segment: 10 ms + 40 ms of the peer's delayed ACK. */
	a0 = p.ack;
	ts_write(p.c, 3000, 100);
	ts_recv(s, &p, TH_ACK | TH_PSH, 100);
	ts_advance(s, 49 * TS_MS);
	ts_expect_none(s);
	ts_advance(s, TS_MS);
	ts_expect(s, TH_ACK, a0, p.seq, 100);
	assert_int_equal(st_stats(s).tcp_tlp, 2);
	/* Then the RTO, not another probe. */
	ts_advance(s, 199 * TS_MS);
	ts_expect_none(s);
	ts_advance(s, TS_MS);
	ts_expect(s, TH_ACK | TH_PSH, a0, p.seq, 100);
	assert_int_equal(st_stats(s).tcp_tlp, 2);
	ts_send(s, &p, TH_ACK, 0);
	finish(s, &p);
}

/* Early retransmit (RFC 5827): two segments out, the first lost: one
 * duplicate ACK is all that can come, and it is enough. */
static void test_early_retransmit(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true };
	uint32_t a0;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	a0 = p.ack;
	ts_write(p.c, 0, 2000);
	ts_recv(s, &p, TH_ACK, 1448);
	ts_recv(s, &p, TH_ACK | TH_PSH, 552);
	p.ack = a0;
	ts_send(s, &p, TH_ACK, 0);
	ts_expect(s, TH_ACK, a0, p.seq, 1448);
	assert_int_equal(info(p.c).fast_retransmits, 1);
	p.ack = a0 + 2000;
	ts_send(s, &p, TH_ACK, 0);
	ts_expect_none(s);
	finish(s, &p);
}

/* A shut window is probed (RFC 9293 3.8.6.1) with backoff; when it
 * opens, data flows. */
static void test_zero_window_probe(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true };
	uint64_t waits[] = { 200, 400, 800, 1600 };
	unsigned i;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	p.win = 0;
	ts_send(s, &p, TH_ACK, 0);
	assert_int_equal(info(p.c).snd_wnd, 0);
	ts_write(p.c, 0, 100);
	ts_expect_none(s);
	for (i = 0; i < 4; i++) {
		ts_advance(s, waits[i] * TS_MS - TS_MS);
		ts_expect_none(s);
		ts_advance(s, TS_MS);
		ts_expect(s, TH_ACK, p.ack - 1, p.seq, 0);
		ts_send(s, &p, TH_ACK, 0); /* still shut */
		ts_expect_none(s);
	}
	assert_int_equal(st_stats(s).tcp_zwp, 4);
	assert_int_equal(info(p.c).state, TN_TCP_ESTABLISHED);
	p.win = 1000;
	ts_send(s, &p, TH_ACK, 0);
	ts_recv(s, &p, TH_ACK | TH_PSH, 100);
	finish(s, &p);
}

/* The peer shuts its window with data in flight (a reordered older
 * ACK can do that too): the retransmission timeout finds nothing it may
 * send and probes the window instead; answered probes keep the
 * connection past its retries, and the window that opens gets the data
 * again from snd_una. */
static void test_zero_window_in_flight(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts o = { .retries = 3 };
	struct ts_peer p = { .ts = true };
	struct ts_seg g;
	uint32_t a0, i, probes = 0;
	const uint32_t M = 1448;

	(void)state;
	ts_passive(s, &p, LPORT, &o, NULL, NULL);
	a0 = p.ack;
	ts_write(p.c, 0, 2 * M);
	ts_recv(s, &p, TH_ACK, M);
	ts_recv(s, &p, TH_ACK | TH_PSH, M);
	p.win = 0;
	p.ack = a0;
	ts_send(s, &p, TH_ACK, 0);
	assert_int_equal(info(p.c).snd_wnd, 0);
	/* 10 s: probes at 0.2, 0.6, 1.4, 3 and 6.2 s, each answered. */
	for (i = 0; i < 100; i++) {
		ts_advance(s, 100 * TS_MS);
		while (ts_pop(s, &g)) {
			assert_int_equal(g.seq, a0 - 1);
			assert_int_equal(g.len, 0);
			probes++;
			ts_send(s, &p, TH_ACK, 0);
		}
	}
	assert_int_equal(probes, 5);
	assert_int_equal(info(p.c).state, TN_TCP_ESTABLISHED);
	p.win = 65535;
	ts_send(s, &p, TH_ACK, 0);
	ts_recv(s, &p, TH_ACK, M); /* the loss window: one segment */
	ts_expect_none(s);
	ts_send(s, &p, TH_ACK, 0);
	ts_recv(s, &p, TH_ACK | TH_PSH, M);
	finish(s, &p);
}

/* Keepalive: probes after the idle time, each interval; answered, the
 * connection lives; unanswered ka_cnt times, it ends. */
static void test_keepalive(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts o = { .keepalive = true, .ka_idle_ns = 10 * ST_SEC,
				 .ka_intvl_ns = ST_SEC, .ka_cnt = 2 };
	struct ts_peer p = { .ts = true };
	struct ts_op rd;
	uint8_t buf[4];

	(void)state;
	ts_passive(s, &p, LPORT, &o, NULL, NULL);
	ts_advance(s, 10 * ST_SEC - TS_MS);
	ts_expect_none(s);
	ts_advance(s, TS_MS);
	ts_expect(s, TH_ACK, p.ack - 1, p.seq, 0);
	ts_send(s, &p, TH_ACK, 0); /* answered */
	ts_advance(s, ST_SEC);
	ts_expect_none(s);
	ts_advance(s, 9 * ST_SEC);
	ts_expect(s, TH_ACK, p.ack - 1, p.seq, 0);
	ts_op_read(&rd, p.c, buf, sizeof(buf));
	ts_advance(s, ST_SEC);
	ts_expect(s, TH_ACK, p.ack - 1, p.seq, 0);
	assert_false(ts_op_done(&rd));
	ts_advance(s, ST_SEC);
	ts_expect_none(s);
	assert_int_equal(ts_op_wait(&rd), -ETIMEDOUT);
	finish(s, &p);
}


/* Keepalive leaves a connection with data in flight alone: the
 * retransmission timer owns it (and its limit), so an outage longer
 * than the keepalive's idle time and probes does not end it; once the
 * data is acknowledged, keepalive takes over again. */
static void test_keepalive_busy(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts o = { .keepalive = true, .ka_idle_ns = 10 * ST_SEC,
				 .ka_intvl_ns = ST_SEC, .ka_cnt = 2 };
	struct ts_peer p = { .ts = true };
	struct ts_seg g;
	unsigned i, rexmits = 0;

	(void)state;
	ts_passive(s, &p, LPORT, &o, NULL, NULL);
	ts_write(p.c, 0, 100);
	ts_recv(s, &p, TH_ACK | TH_PSH, 100);
	/* 20 s of silence: retransmissions of the data only, no probe. */
	for (i = 0; i < 200; i++) {
		ts_advance(s, 100 * TS_MS);
		while (ts_pop(s, &g)) {
			assert_int_equal(g.seq, p.ack - 100);
			assert_int_equal(g.len, 100);
			rexmits++;
		}
	}
	assert_int_equal(rexmits, 6); /* at 0.2, 0.6, 1.4, 3, 6.2, 12.6 s */
	assert_int_equal(info(p.c).state, TN_TCP_ESTABLISHED);
	ts_send(s, &p, TH_ACK, 0);
	assert_int_equal(info(p.c).unacked, 0);
	ts_advance(s, 10 * ST_SEC - 100 * TS_MS);
	ts_expect_none(s);
	ts_advance(s, 100 * TS_MS);
	ts_expect(s, TH_ACK, p.ack - 1, p.seq, 0);
	finish(s, &p);
}

/* After shutdown the connection waits in FIN-WAIT-2 for the peer's FIN;
 * with keepalive on it probes there too, so a reader learns that the
 * peer vanished. */
static void test_keepalive_fin_wait_2(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts o = { .keepalive = true, .ka_idle_ns = 10 * ST_SEC,
				 .ka_intvl_ns = ST_SEC, .ka_cnt = 2 };
	struct ts_peer p = { .ts = true };
	struct ts_op rd;
	uint8_t buf[4];

	(void)state;
	ts_passive(s, &p, LPORT, &o, NULL, NULL);
	assert_int_equal(tn_tcp_shutdown(p.c), 0);
	ts_recv(s, &p, TH_ACK | TH_FIN, 0);
	ts_send(s, &p, TH_ACK, 0);
	assert_int_equal(info(p.c).state, TN_TCP_FIN_WAIT_2);
	ts_op_read(&rd, p.c, buf, sizeof(buf));
	ts_advance(s, 10 * ST_SEC - TS_MS);
	ts_expect_none(s);
	ts_advance(s, TS_MS);
	ts_expect(s, TH_ACK, p.ack - 1, p.seq, 0);
	ts_send(s, &p, TH_ACK, 0); /* answered */
	ts_advance(s, 10 * ST_SEC);
	ts_expect(s, TH_ACK, p.ack - 1, p.seq, 0);
	ts_advance(s, ST_SEC);
	ts_expect(s, TH_ACK, p.ack - 1, p.seq, 0);
	assert_false(ts_op_done(&rd));
	ts_advance(s, ST_SEC);
	ts_expect_none(s);
	assert_int_equal(ts_op_wait(&rd), -ETIMEDOUT);
	finish(s, &p);
}

/* ---- defences ---- */

/* RFC 5961: a SYN on an open connection gets a challenge ACK; an ACK of
 * data never sent, or older than any window, is dropped with an ACK. */
static void test_rfc5961_syn_and_ack(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true };
	struct ts_seg g;
	uint32_t ack = 0;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	ts_write(p.c, 0, 10);
	ts_recv(s, &p, TH_ACK | TH_PSH, 10);
	memset(&g, 0, sizeof(g));
	g.ws = -1;
	g.sport = p.port;
	g.dport = LPORT;
	g.flags = TH_SYN;
	g.seq = p.seq + 1000;
	ts_inject(s, &g);
	ts_expect(s, TH_ACK, p.ack, p.seq, 0);
	assert_int_equal(info(p.c).state, TN_TCP_ESTABLISHED);
	assert_int_equal(st_stats(s).tcp_challenge_ack, 1);
	/* Data with an ACK of 5 bytes we never sent: not taken. */
	ack = p.ack;
	p.ack += 5;
	ts_send(s, &p, TH_ACK | TH_PSH, 20);
	ts_expect(s, TH_ACK, ack, p.seq - 20, 0);
	assert_int_equal(info(p.c).bytes_received, 0);
	assert_int_equal(info(p.c).unacked, 10);
	/* An ACK from before the window: dropped, challenged. */
	p.seq -= 20;
	p.ack = ack - 10 - 70000;
	ts_send(s, &p, TH_ACK, 0);
	ts_expect(s, TH_ACK, ack, p.seq, 0);
	assert_int_equal(st_stats(s).tcp_bad_ack, 2);
	assert_int_equal(st_stats(s).tcp_challenge_ack, 2);
	p.ack = ack;
	ts_send(s, &p, TH_ACK | TH_PSH, 20);
	assert_int_equal(info(p.c).unacked, 0);
	ts_read_check(p.c, 0, 20);
	finish(s, &p);
}

/* PAWS (RFC 7323 5): a segment with an older timestamp is a stale
 * duplicate: dropped, ACKed. */
static void test_paws(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true, .tsval = 100000 };

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	p.tsval -= 10;
	ts_send(s, &p, TH_ACK | TH_PSH, 10);
	ts_expect(s, TH_ACK, p.ack, p.seq - 10, 0);
	assert_int_equal(st_stats(s).tcp_paws, 1);
	assert_int_equal(info(p.c).bytes_received, 0);
	p.seq -= 10;
	p.tsval += 20;
	ts_send(s, &p, TH_ACK | TH_PSH, 10);
	ts_read_check(p.c, 0, 10);
	/* The timestamp we echo is the newest in-window one. */
	ts_advance(s, 40 * TS_MS);
	assert_int_equal(ts_recv(s, &p, TH_ACK, 0)->tsecr, 100010);
	finish(s, &p);
}

/* Thousands of tiny out-of-order segments: bounded by segments held,
 * adjacent ones merged, every mbuf accounted for. */
static void test_ooo_bound(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true, .sack = true, .ws = 7 };
	uint32_t hole, i;
	unsigned before;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	before = rte_mempool_avail_count(st_pool);
	hole = p.seq;
	/* 1,000 one-byte segments with a gap after each: 128 kept. */
	for (i = 0; i < 1000; i++) {
		p.seq = hole + 1 + 2 * i;
		ts_send(s, &p, TH_ACK, 1);
		assert_int_equal(st_drain(s), 1);
	}
	assert_int_equal(st_stats(s).tcp_ooo_drop, 1000 - 128);
	assert_true(rte_mempool_avail_count(st_pool) >= before - 128);
	/* The hole's byte joins the first of them. */
	p.seq = hole;
	ts_send(s, &p, TH_ACK, 1);
	ts_expect(s, TH_ACK, TS_ANY, hole + 2, 0);
	ts_read_check(p.c, 0, 2);
	finish(s, &p);

	/* 2,000 adjacent one-byte segments after a gap: merged into few
	 * mbufs, then delivered whole. */
	s = ts_stack(NULL);
	p = (struct ts_peer){ .ts = true, .sack = true, .ws = 7 };
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	before = rte_mempool_avail_count(st_pool);
	hole = p.seq;
	p.seq = hole + 10;
	for (i = 0; i < 2000; i++) {
		ts_send(s, &p, TH_ACK, 1);
		assert_int_equal(st_drain(s), 1);
	}
	assert_int_equal(st_stats(s).tcp_ooo_drop, 0);
	assert_true(rte_mempool_avail_count(st_pool) >= before - 4);
	p.seq = hole;
	ts_send(s, &p, TH_ACK, 10);
	ts_expect(s, TH_ACK, TS_ANY, hole + 2010, 0);
	ts_read_check(p.c, 0, 2010);
	finish(s, &p);
}

/* Out-of-order data reassembled; overlapping and duplicate pieces
 * trimmed; SACK blocks most recent first. */
static void test_ooo_reassembly(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true, .sack = true, .ws = 7 };
	struct ts_seg *o;
	uint32_t base;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	base = p.seq;
	p.seq = base + 1000;
	ts_send(s, &p, TH_ACK, 500); /* [1000, 1500) */
	o = ts_expect(s, TH_ACK, TS_ANY, base, 0);
	assert_int_equal(o->nsack, 1);
	p.seq = base + 3000;
	ts_send(s, &p, TH_ACK, 100); /* [3000, 3100) */
	o = ts_expect(s, TH_ACK, TS_ANY, base, 0);
	assert_int_equal(o->nsack, 2);
	assert_int_equal(o->sack[0][0], base + 3000);
	assert_int_equal(o->sack[1][0], base + 1000);
	p.seq = base + 1200;
	ts_send(s, &p, TH_ACK, 600); /* overlaps: [1500, 1800) is new */
	o = ts_expect(s, TH_ACK, TS_ANY, base, 0);
	assert_int_equal(o->sack[0][0], base + 1000);
	assert_int_equal(o->sack[0][1], base + 1800);
	p.seq = base + 1100;
	ts_send(s, &p, TH_ACK, 100); /* a duplicate */
	st_drain(s);
	p.seq = base;
	ts_send(s, &p, TH_ACK, 1000);
	o = ts_expect(s, TH_ACK, TS_ANY, base + 1800, 0);
	assert_int_equal(o->nsack, 1);
	p.seq = base + 1800;
	ts_send(s, &p, TH_ACK, 1300); /* [1800, 3100), the rest overlapping */
	o = ts_expect(s, TH_ACK, TS_ANY, base + 3100, 0);
	assert_int_equal(o->nsack, 0);
	p.seq = base + 3100;
	ts_read_check(p.c, 0, 3100);
	finish(s, &p);
}

/* Segments sent while out-of-order data waits carry SACK blocks (RFC
 * 2018 4: every ACK that does not cover the highest byte held), and
 * their payload shrinks to make room (Linux's tcp_current_mss): a full
 * segment plus SACK would outgrow the MTU and go out in IP fragments.
 * The payload shrinks by what the blocks held take: one block here, 12
 * bytes (NOP, NOP, kind, length, 8). */
static void test_sack_fits_mtu(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true, .sack = true, .ws = 7 };
	const uint32_t mss = 1448, room = mss - 12, n = 3 * mss;
	struct tn_stack_stats st;
	struct ts_seg *o;
	uint32_t base, got = 0;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	assert_int_equal(info(p.c).mss, mss);
	base = p.seq;
	p.seq = base + 1000;
	ts_send(s, &p, TH_ACK, 500); /* [1000, 1500): a hole before it */
	o = ts_expect(s, TH_ACK, TS_ANY, base, 0);
	assert_int_equal(o->nsack, 1);
	p.seq = base; /* what the stack acknowledges */
	ts_write(p.c, 0, n);
	tn_stack_stats_get(s, &st);
	assert_int_equal(st.ip_frag_tx, 0);
	while (got < n) {
		o = ts_recv(s, &p, TH_ACK | (got + room >= n ? TH_PSH : 0),
			    got + room < n ? room : n - got);
		assert_int_equal(o->nsack, 1);
		assert_true(20 + o->hlen + o->len <= 1500);
		got += o->len;
	}
	ts_expect_none(s);
	/* The hole filled: full segments again. */
	ts_send(s, &p, TH_ACK, 1000);
	o = ts_expect(s, TH_ACK, TS_ANY, base + 1500, 0);
	assert_int_equal(o->nsack, 0);
	p.seq = base + 1500;
	ts_write(p.c, n, mss);
	o = ts_recv(s, &p, TH_ACK | TH_PSH, mss);
	assert_int_equal(o->nsack, 0);
	finish(s, &p);
}

/* ---- ICMP (RFC 5927) ---- */

static void feed_icmp(struct tn_stack *s, uint8_t type, uint8_t code, uint16_t mtu,
		      uint16_t sport, uint16_t dport, uint32_t seq)
{
	struct st_ip ip = { .proto = IPPROTO_ICMP, .src = ST_IP_GW };
	struct rte_ipv4_hdr *h;
	uint8_t q[28], b[64], r[4] = { 0, 0, (uint8_t)(mtu >> 8), (uint8_t)mtu };
	uint32_t rest, n;

	memset(q, 0, sizeof(q));
	h = (struct rte_ipv4_hdr *)q;
	h->version_ihl = 0x45;
	h->total_length = rte_cpu_to_be_16(60);
	h->time_to_live = 64;
	h->next_proto_id = IPPROTO_TCP;
	h->src_addr = ST_IP_US;
	h->dst_addr = ST_IP_PEER;
	h->hdr_checksum = ~rte_raw_cksum(h, 20);
	q[20] = (uint8_t)(sport >> 8);
	q[21] = (uint8_t)sport;
	q[22] = (uint8_t)(dport >> 8);
	q[23] = (uint8_t)dport;
	q[24] = (uint8_t)(seq >> 24);
	q[25] = (uint8_t)(seq >> 16);
	q[26] = (uint8_t)(seq >> 8);
	q[27] = (uint8_t)seq;
	memcpy(&rest, r, 4);
	n = st_icmp(b, type, code, rest, q, 28);
	st_feed(s, st_ipv4(&ip, b, n));
}

static void test_icmp_errors(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts o = { .retries = 2 };
	struct ts_peer p = { .ts = true };
	struct ts_op rd;
	uint8_t buf[4];
	uint32_t una;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	una = p.ack;
	ts_write(p.c, 0, 100);
	ts_recv(s, &p, TH_ACK | TH_PSH, 100);
	/* Fragmentation needed: the MSS follows the MTU, not below 64. */
	feed_icmp(s, 3, 4, 1000, LPORT, p.port, una);
	assert_int_equal(info(p.c).mss, 1000 - 40 - 12);
	feed_icmp(s, 3, 4, 60, LPORT, p.port, una);
	assert_int_equal(info(p.c).mss, 64);
	assert_int_equal(st_stats(s).tcp_pmtu_clamp, 2);
	/* About data not in flight: not believed. */
	feed_icmp(s, 3, 1, 0, LPORT, p.port, una + 100);
	feed_icmp(s, 3, 1, 0, LPORT, p.port, una - 1);
	assert_int_equal(st_stats(s).tcp_icmp_err_ignored, 2);
	/* Host unreachable: soft; the connection lives, and reports it
	 * only when it times out. */
	feed_icmp(s, 3, 1, 0, LPORT, p.port, una);
	assert_int_equal(info(p.c).state, TN_TCP_ESTABLISHED);
	assert_int_equal(tn_tcp_set_opts(p.c, &o), 0);
	ts_op_read(&rd, p.c, buf, sizeof(buf));
	ts_advance(s, 200 * TS_MS);
	ts_advance(s, 400 * TS_MS);
	ts_advance(s, 800 * TS_MS);
	assert_int_equal(ts_op_wait(&rd), -EHOSTUNREACH);
	st_drain(s);
	finish(s, &p);
}

/* Path MTU discovery: every segment carries DF (ts_pop asserts it on
 * all of them), so routers answer with fragmentation-needed instead of
 * fragmenting, and that clamps the MSS: full segments then fit the
 * next hop's MTU, down to the 64-byte floor, still with DF. */
static void test_df_pmtu(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true };
	struct ts_seg *o;
	uint32_t una;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	ts_write(p.c, 0, 1448);
	o = ts_recv(s, &p, TH_ACK | TH_PSH, 1448);
	assert_true(o->df);
	assert_int_equal(o->ip_len, 1500);
	ts_send(s, &p, TH_ACK, 0);
	una = p.ack;
	ts_write(p.c, 1448, 1448);
	o = ts_recv(s, &p, TH_ACK | TH_PSH, 1448);
	/* A router on the way has an MTU of 1000 and says so about the
	 * segment in flight; later segments fit it. */
	feed_icmp(s, 3, 4, 1000, LPORT, p.port, una);
	assert_int_equal(info(p.c).mss, 1000 - 40 - 12);
	ts_send(s, &p, TH_ACK, 0); /* (the script's peer got it anyway) */
	ts_write(p.c, 2 * 1448, 2 * 948);
	o = ts_recv(s, &p, TH_ACK, 948);
	assert_true(o->df);
	assert_int_equal(o->ip_len, 1000);
	o = ts_recv(s, &p, TH_ACK | TH_PSH, 948);
	assert_true(o->df);
	ts_send(s, &p, TH_ACK, 0);
	/* A forged tiny MTU: the floor, not below. */
	una = p.ack;
	ts_write(p.c, 2 * 1448 + 2 * 948, 100);
	ts_recv(s, &p, TH_ACK | TH_PSH, 100);
	feed_icmp(s, 3, 4, 60, LPORT, p.port, una);
	assert_int_equal(info(p.c).mss, 64);
	ts_send(s, &p, TH_ACK, 0);
	ts_write(p.c, 2 * 1448 + 2 * 948 + 100, 100);
	o = ts_recv(s, &p, TH_ACK, 64);
	assert_true(o->df);
	assert_int_equal(o->ip_len, 20 + 20 + 12 + 64);
	ts_recv(s, &p, TH_ACK | TH_PSH, 36);
	assert_int_equal(st_stats(s).tcp_pmtu_clamp, 2);
	assert_int_equal(st_stats(s).ip_frag_tx, 0);
	finish(s, &p);
}

/* In SYN-SENT, port unreachable is a hard error (RFC 1122 4.2.3.9). */
static void test_icmp_refused(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_op con;
	struct ts_seg *o;

	(void)state;
	ts_op_connect(&con, s, 9000, NULL);
	o = ts_expect(s, TH_SYN, TS_ANY, TS_ANY, 0);
	feed_icmp(s, 3, 1, 0, o->sport, 9000, o->seq); /* host: soft */
	assert_false(ts_op_done(&con));
	feed_icmp(s, 3, 3, 0, o->sport, 9000, o->seq);
	assert_int_equal(ts_op_wait(&con), -ECONNREFUSED);
	finish(s, NULL);
}

/* ---- ephemeral ports and steering ---- */

/* Whether the reply to (sport -> the peer's port) reaches instance self
 * under st: computed here as the NIC or the dataplane would, apart from
 * the stack's own code. */
static bool reply_steered_to(const struct tn_stack_steer *st, uint16_t sport, uint16_t dport)
{
	uint32_t tuple[3] = { rte_be_to_cpu_32(ST_IP_PEER), rte_be_to_cpu_32(ST_IP_US),
			      (uint32_t)dport << 16 | sport };
	uint32_t h = rte_softrss(tuple, 3, st->key);

	if (st->kind == TN_STEER_RSS)
		return st->reta[h % st->reta_size] == st->self;
	return h % st->n == st->self;
}

/* Connects from instance st->self of a steered link until the range
 * (300 ports) is used up: every port is one whose reply comes back here,
 * each at most once, every such port of the range is used, and the
 * connect after the last fails at once with -EADDRNOTAVAIL. */
static void steer_exhaust(const struct tn_stack_steer *st)
{
	enum { LO = 50000, N = 300, DPORT = 9000 };
	static struct ts_op con[N + 1];
	struct tn_stack_config cfg;
	bool used[N] = { false };
	unsigned want = 0, got = 0, i;
	struct tn_stack *s;

	for (i = 0; i < N; i++)
		want += reply_steered_to(st, (uint16_t)(LO + i), DPORT);
	assert_true(want > 0 && want < N);
	st_default_cfg(&cfg);
	cfg.udp_eph_lo = LO;
	cfg.udp_eph_hi = LO + N - 1;
	cfg.steer = *st;
	s = ts_stack(&cfg);
	for (i = 0; i <= N; i++) {
		struct ts_seg *o;

		ts_op_connect(&con[i], s, DPORT, NULL);
		if (ts_op_done(&con[i])) {
			assert_int_equal(con[i].ret, -EADDRNOTAVAIL);
			break;
		}
		o = ts_expect(s, TH_SYN, TS_ANY, 0, 0);
		assert_true(o->sport >= LO && o->sport < LO + N);
		assert_false(used[o->sport - LO]);
		used[o->sport - LO] = true;
		if (!reply_steered_to(st, o->sport, DPORT))
			fail_msg("port %u's replies go to another instance than %u", o->sport,
				 st->self);
		got++;
	}
	assert_int_equal(got, want);
	assert_int_equal(st_stats(s).tcp_active_opens, want);
	for (i = 0; i < got; i++) {
		tn_task_cancel(con[i].t);
		assert_int_equal(ts_op_wait(&con[i]), -ECANCELED);
	}
	st_drain(s);
	st_destroy(s);
}

/* With a stack per core, tn_tcp_connect on core k picks ports whose
 * replies the link steers to core k: RSS (the key, an uneven RETA over
 * three queues) and software steering (the hash modulo two cores). */
static void test_steered_ports(void **state)
{
	static const uint8_t key[TN_STEER_KEY_LEN] = {
		0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
		0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
		0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
		0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	};
	static struct tn_stack_steer st;
	uint16_t q;

	(void)state;
	memcpy(st.key, key, sizeof(key));
	st.kind = TN_STEER_RSS;
	st.reta_size = 128;
	for (q = 0; q < st.reta_size; q++)
		st.reta[q] = q % 5 < 2 ? 0 : q % 5 < 4 ? 1 : 2; /* 2:2:1 */
	for (q = 0; q < 3; q++) {
		st.self = q;
		steer_exhaust(&st);
	}
	memset(&st, 0, sizeof(st));
	memcpy(st.key, key, sizeof(key));
	st.kind = TN_STEER_SOFT;
	st.n = 2;
	for (q = 0; q < 2; q++) {
		st.self = q;
		steer_exhaust(&st);
	}
}

/* A steering description the stack cannot use is refused at create. */
static void test_steer_invalid(void **state)
{
	struct tn_stack_config cfg;

	(void)state;
	st_default_cfg(&cfg);
	cfg.steer.kind = TN_STEER_RSS; /* reta_size 0 */
	assert_null(tn_stack_create(&cfg, st_now));
	assert_int_equal(errno, EINVAL);
	cfg.steer.reta_size = TN_STEER_RETA_MAX + 1;
	assert_null(tn_stack_create(&cfg, st_now));
	cfg.steer.kind = TN_STEER_SOFT;
	cfg.steer.n = 2;
	cfg.steer.self = 2;
	assert_null(tn_stack_create(&cfg, st_now));
	cfg.steer.kind = 7;
	assert_null(tn_stack_create(&cfg, st_now));
}

/* tn_tcp_conns lists what the stack demultiplexes to, with each
 * connection's tn_tcp_info (the dataplane's /tern/tcp/conns). */
static void test_conn_list(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer a = { .ts = true }, b = { .port = 9000 };
	struct tn_tcp_conn_entry e[4];
	const struct tn_tcp_conn_entry *ea, *eb;

	(void)state;
	assert_int_equal(tn_tcp_conns(s, e, 4), 0);
	ts_passive(s, &a, LPORT, NULL, NULL, NULL);
	ts_active(s, &b, NULL, NULL);
	ts_write(a.c, 0, 1000);
	ts_recv(s, &a, TH_ACK | TH_PSH, 1000);
	ts_advance(s, 10 * TS_MS);
	ts_send(s, &a, TH_ACK, 0);
	ts_send(s, &b, TH_ACK | TH_PSH, 300);
	assert_int_equal(tn_tcp_conns(s, e, 4), 2);
	ea = e[0].lport == LPORT ? &e[0] : &e[1];
	eb = ea == &e[0] ? &e[1] : &e[0];
	assert_int_equal(ea->lport, LPORT);
	assert_int_equal(ea->rport, a.port);
	assert_int_equal(ea->laddr, ST_IP_US);
	assert_int_equal(ea->raddr, ST_IP_PEER);
	assert_int_equal(ea->info.state, TN_TCP_ESTABLISHED);
	assert_int_equal(ea->info.bytes_acked, 1000);
	assert_true(ea->info.srtt_ns > 0);
	assert_int_equal(eb->lport, b.our_port);
	assert_int_equal(eb->rport, 9000);
	assert_int_equal(eb->info.bytes_received, 300);
	/* Bounded by max; the count is still every connection. */
	memset(e, 0xa5, sizeof(e));
	assert_int_equal(tn_tcp_conns(s, e, 1), 2);
	assert_int_equal(e[1].lport, 0xa5a5);
	assert_int_equal(tn_tcp_conns(s, NULL, 0), 2);
	/* Closing: FIN-WAIT-1 listed, an aborted one gone. */
	tn_tcp_close(a.c);
	a.c = NULL;
	tn_tcp_abort(b.c);
	assert_int_equal(tn_tcp_conns(s, e, 4), 1);
	assert_int_equal(e[0].info.state, TN_TCP_FIN_WAIT_1);
	assert_int_equal(e[0].lport, LPORT);
	finish(s, NULL);
}

/* ---- ISNs, cookies ---- */

static uint32_t syn_isn(struct tn_stack *s, uint16_t port, struct ts_op *op, uint16_t *sport)
{
	struct ts_seg *o;

	ts_op_connect(op, s, port, NULL);
	o = ts_expect(s, TH_SYN, TS_ANY, TS_ANY, 0);
	if (sport)
		*sport = o->sport;
	return o->seq;
}

/* RFC 6528: the ISN is a keyed hash of the tuple plus a clock, so it
 * differs per tuple and, for one seed and clock, is the same. */
static void test_isn(void **state)
{
	struct tn_stack_config cfg;
	struct tn_stack *a, *b, *c;
	struct ts_op o1, o2, o3, o4;
	uint32_t i1, i2, i3, i4;
	uint16_t p1, p2;

	(void)state;
	st_default_cfg(&cfg);
	a = ts_stack(&cfg);
	b = ts_stack(&cfg);
	cfg.seed = 43;
	c = ts_stack(&cfg);
	i1 = syn_isn(a, 9000, &o1, &p1);
	i2 = syn_isn(b, 9000, &o2, &p2);
	assert_int_equal(p1, p2);
	assert_int_equal(i1, i2);
	i3 = syn_isn(a, 9001, &o3, NULL);
	assert_int_not_equal(i1, i3);
	i4 = syn_isn(c, 9000, &o4, NULL);
	assert_int_not_equal(i1, i4);
	tn_stack_destroy(a);
	tn_stack_destroy(b);
	st_destroy(c);
	assert_int_equal(ts_op_wait(&o1), -EBADF);
	assert_int_equal(ts_op_wait(&o2), -EBADF);
	assert_int_equal(ts_op_wait(&o3), -EBADF);
	assert_int_equal(ts_op_wait(&o4), -EBADF);
}

/* Past the half-open bound, SYN cookies (RFC 4987) answer; a valid one
 * makes the connection, with MSS, SACK and window scale kept. */
static void test_syn_cookies(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_listener *l;
	struct ts_op acc;
	struct ts_seg g, *o;
	struct tn_tcp_info i;
	uint32_t cookie, tsv;

	(void)state;
	assert_int_equal(tn_tcp_listen(s, 0, LPORT, 1, NULL, &l), 0);
	memset(&g, 0, sizeof(g));
	g.ws = 7;
	g.mss = 1460;
	g.sack_ok = true;
	g.ts = true;
	g.tsval = 777;
	g.flags = TH_SYN;
	g.seq = 100;
	g.win = 65535;
	g.dport = LPORT;
	g.sport = 4000;
	ts_inject(s, &g); /* half-open: the one allowed */
	ts_expect(s, TH_SYN | TH_ACK, TS_ANY, 101, 0);
	g.sport = 4001;
	g.seq = 5000;
	ts_inject(s, &g);
	o = ts_expect(s, TH_SYN | TH_ACK, TS_ANY, 5001, 0);
	assert_int_equal(st_stats(s).tcp_syncookies_sent, 1);
	assert_int_equal(o->mss, 1460);
	assert_int_equal(o->ws, 3);
	assert_true(o->sack_ok);
	assert_int_equal(o->tsecr, 777);
	cookie = o->seq;
	tsv = o->tsval;
	/* A wrong cookie: reset. */
	memset(&g, 0, sizeof(g));
	g.ws = -1;
	g.flags = TH_ACK;
	g.seq = 5001;
	g.ack = cookie + 0x400001;
	g.win = 1000;
	g.dport = LPORT;
	g.sport = 4001;
	g.ts = true;
	g.tsval = 778;
	g.tsecr = tsv;
	ts_inject(s, &g);
	ts_expect(s, TH_RST, cookie + 0x400001, TS_ANY, 0);
	assert_int_equal(st_stats(s).tcp_syncookies_bad, 1);
	/* The right one, with data. */
	g.ack = cookie + 1;
	g.flags = TH_ACK | TH_PSH;
	g.len = 5;
	g.data = (const uint8_t *)"hello";
	ts_inject(s, &g);
	ts_op_accept(&acc, l);
	assert_int_equal(ts_op_wait(&acc), 0);
	assert_int_equal(st_stats(s).tcp_syncookies_ok, 1);
	i = info(acc.out);
	assert_int_equal(i.state, TN_TCP_ESTABLISHED);
	assert_int_equal(i.mss, 1448);
	assert_true(i.sack);
	assert_true(i.timestamps);
	assert_int_equal(i.snd_wscale, 7);
	assert_int_equal(i.rcv_wscale, 3);
	assert_int_equal(i.snd_wnd, 1000u << 7);
	assert_int_equal(i.bytes_received, 5);
	tn_tcp_abort(acc.out);
	st_drain(s); /* (its ACK and RST) */
	/* Window scaling offered without timestamps: the cookie has nowhere
	 * to keep the peer's scale, so the SYN-ACK declines scaling (no
	 * option, not a scale of 255) and neither end scales. */
	memset(&g, 0, sizeof(g));
	g.ws = 7;
	g.mss = 1460;
	g.flags = TH_SYN;
	g.seq = 9000;
	g.win = 65535;
	g.dport = LPORT;
	g.sport = 4002;
	ts_inject(s, &g);
	o = ts_expect(s, TH_SYN | TH_ACK, TS_ANY, 9001, 0);
	assert_int_equal(st_stats(s).tcp_syncookies_sent, 2);
	assert_int_equal(o->ws, -1);
	assert_false(o->ts);
	cookie = o->seq;
	g.ws = -1;
	g.mss = 0;
	g.flags = TH_ACK;
	g.seq = 9001;
	g.ack = cookie + 1;
	g.win = 1000;
	ts_inject(s, &g);
	ts_op_accept(&acc, l);
	assert_int_equal(ts_op_wait(&acc), 0);
	i = info(acc.out);
	assert_int_equal(i.snd_wscale, 0);
	assert_int_equal(i.rcv_wscale, 0);
	assert_int_equal(i.snd_wnd, 1000);
	tn_tcp_abort(acc.out);
	tn_tcp_listener_close(l);
	finish(s, NULL);
}

/* ---- windows ---- */

/* The receive window shrinks as data waits, shuts, and reopens by a
 * window update when the reader frees it. */
static void test_receive_window(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts o = { .rcvbuf = 4096 };
	struct ts_peer p = { .ts = true };
	struct ts_seg sa, *r;

	(void)state;
	ts_passive(s, &p, LPORT, &o, NULL, &sa);
	assert_int_equal(sa.win, 4096);
	assert_int_equal(sa.ws, 0);
	ts_send(s, &p, TH_ACK, 1448);
	ts_send(s, &p, TH_ACK, 1448);
	r = ts_recv(s, &p, TH_ACK, 0);
	assert_int_equal(r->win, 1200);
	ts_send(s, &p, TH_ACK, 1200);
	r = ts_recv(s, &p, TH_ACK, 0);
	assert_int_equal(r->win, 0);
	/* A byte into the shut window: dropped, ACKed. */
	ts_send(s, &p, TH_ACK, 1);
	r = ts_expect(s, TH_ACK, TS_ANY, p.seq - 1, 0);
	assert_int_equal(r->win, 0);
	p.seq--;
	assert_int_equal(st_stats(s).tcp_rcvwnd_drop, 1);
	ts_read_check(p.c, 0, 4096);
	r = ts_recv(s, &p, TH_ACK, 0);
	assert_int_equal(r->win, 4096);
	finish(s, &p);
}

/* Without window scaling a large buffer's window is 65,535 whatever the
 * reader frees: reading sends no window update, which would repeat the
 * window the peer has and look like a duplicate ACK to it. */
static void test_window_update_unscaled(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts o = { .rcvbuf = 1 << 20 };
	struct ts_peer p = { .ts = true, .ws = -1 };

	(void)state;
	ts_passive(s, &p, LPORT, &o, NULL, NULL);
	ts_send(s, &p, TH_ACK, 1448);
	ts_send(s, &p, TH_ACK, 1448);
	assert_int_equal(ts_recv(s, &p, TH_ACK, 0)->win, 65535);
	ts_read_check(p.c, 0, 2896);
	ts_expect_none(s);
	finish(s, &p);
}

/* The peer's scaled window bounds what we send; a sliver of window
 * below half the largest seen is not used while more data waits
 * (sender SWS avoidance, RFC 1122 4.2.3.4). */
static void test_send_window(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true, .ws = 2 };
	int i;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	p.win = 1000; /* 4,000 bytes */
	ts_send(s, &p, TH_ACK, 0);
	ts_write(p.c, 0, 10000);
	for (i = 0; i < 3; i++) {
		ts_recv(s, &p, TH_ACK, 1448);
		ts_recv(s, &p, TH_ACK, 1448);
		ts_expect_none(s);
		ts_send(s, &p, TH_ACK, 0);
	}
	ts_recv(s, &p, TH_ACK | TH_PSH, 10000 - 6 * 1448);
	finish(s, &p);
}


/* The peer shrinks its window under data in flight (RFC 9293 3.8.6.2.1
 * discourages it, but it happens): tolerated; nothing new goes past the
 * new edge, and the retransmission fits it. */
static void test_window_shrink(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true };
	uint32_t a0;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	p.win = 4000;
	ts_send(s, &p, TH_ACK, 0);
	a0 = p.ack;
	ts_write(p.c, 0, 4000);
	ts_recv(s, &p, TH_ACK, 1448);
	ts_recv(s, &p, TH_ACK, 1448);
	ts_recv(s, &p, TH_ACK | TH_PSH, 1104);
	p.ack = a0;
	p.win = 1000;
	ts_send(s, &p, TH_ACK, 0);
	assert_int_equal(info(p.c).snd_wnd, 1000);
	ts_write(p.c, 4000, 500);
	ts_expect_none(s);
	ts_advance(s, 200 * TS_MS);
	ts_expect(s, TH_ACK, a0, p.seq, 1000);
	ts_expect_none(s);
	p.ack = a0 + 4000;
	p.win = 4000;
	ts_send(s, &p, TH_ACK, 0);
	ts_recv(s, &p, TH_ACK | TH_PSH, 500);
	finish(s, &p);
}

/* ---- bad input ---- */

static void test_bad_segments(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct st_ip ip = { .proto = IPPROTO_TCP };
	struct ts_seg g;
	static const uint8_t bad_opt[4] = { 2, 1, 0, 0 }; /* MSS with length 1 */
	uint8_t b[64];

	(void)state;
	memset(&g, 0, sizeof(g));
	g.ws = -1;
	g.sport = 4000;
	g.dport = 9999;
	g.seq = 100;
	/* A SYN to a closed port: RST|ACK acknowledging it. */
	g.flags = TH_SYN;
	ts_inject(s, &g);
	ts_expect(s, TH_RST | TH_ACK, 0, 101, 0);
	/* An ACK: RST from its acknowledgment number. */
	g.flags = TH_ACK;
	g.ack = 5555;
	ts_inject(s, &g);
	ts_expect(s, TH_RST, 5555, TS_ANY, 0);
	/* A RST: nothing. */
	g.flags = TH_RST;
	ts_inject(s, &g);
	ts_expect_none(s);
	assert_int_equal(st_stats(s).tcp_no_conn, 3);
	/* Dropped and counted, never answered. */
	g.flags = TH_SYN;
	g.bad_csum = true;
	ts_inject(s, &g);
	g.bad_csum = false;
	g.flags = TH_SYN | TH_FIN;
	ts_inject(s, &g);
	g.flags = TH_SYN;
	g.opt = bad_opt;
	g.optlen = 4;
	ts_inject(s, &g);
	memset(b, 0, sizeof(b));
	st_feed(s, st_ipv4(&ip, b, 12)); /* shorter than a header */
	b[12] = 0x40;                    /* data offset 4 */
	st_feed(s, st_ipv4(&ip, b, 20));
	b[12] = 0xf0;                    /* 60 bytes of header in 20 */
	st_feed(s, st_ipv4(&ip, b, 20));
	ts_expect_none(s);
	assert_int_equal(st_stats(s).tcp_bad_csum, 1);
	assert_int_equal(st_stats(s).tcp_bad_flags, 1);
	assert_int_equal(st_stats(s).tcp_bad_opts, 1);
	assert_int_equal(st_stats(s).tcp_bad_len, 3);
	assert_int_equal(st_stats(s).tcp_rx, 3);
	finish(s, NULL);
}

/* Checksums over chains with odd-length mbufs, received (a scattering
 * NIC's chains) and sent (a segment longer than the pool's mbufs):
 * DPDK 22.11's rte_raw_cksum_mbuf got them wrong, so good segments were
 * dropped as corrupt and sent ones went out corrupt. */
static void test_chained_checksums(void **state)
{
	static struct rte_mempool *odd;
	struct tn_stack_config cfg;
	struct tn_stack *s;
	struct ts_peer p = { .ts = true, .rx_seg = 127 };
	struct ts_seg *o;

	(void)state;
	if (!odd)
		odd = rte_pktmbuf_pool_create("st_pool_odd", 511, 0, 0, RTE_PKTMBUF_HEADROOM + 1001,
					      SOCKET_ID_ANY);
	assert_non_null(odd);
	st_default_cfg(&cfg);
	cfg.mp = odd;
	s = ts_stack(&cfg);
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	/* In: 1,000 bytes of data in 127-byte mbufs. */
	ts_send(s, &p, TH_ACK | TH_PSH, 1000);
	assert_int_equal(st_stats(s).tcp_bad_csum, 0);
	assert_int_equal(info(p.c).bytes_received, 1000);
	/* Out: a full segment in mbufs of 1,001 bytes (ts_pop checks the
	 * checksum). */
	ts_write(p.c, 0, 1448);
	o = ts_recv(s, &p, TH_ACK | TH_PSH, 1448);
	assert_memory_equal(o->payload, ts_pl, 1448);
	ts_read_check(p.c, 0, 1000);
	finish(s, &p);
	assert_int_equal(rte_mempool_avail_count(odd), 511);
}

static void test_listen_errors(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_listener *l, *l2;

	(void)state;
	assert_int_equal(tn_tcp_listen(s, 0, 0, 4, NULL, &l), -EINVAL);
	assert_int_equal(tn_tcp_listen(s, ST_IP(10, 0, 0, 9), 80, 4, NULL, &l), -EADDRNOTAVAIL);
	assert_int_equal(tn_tcp_listen(s, ST_IP_US, 80, 4, NULL, &l), 0);
	assert_int_equal(tn_tcp_listen(s, 0, 80, 4, NULL, &l2), -EADDRINUSE);
	tn_tcp_listener_close(l);
	assert_int_equal(tn_tcp_listen(s, 0, 80, 4, NULL, &l2), 0);
	tn_tcp_listener_close(l2);
	finish(s, NULL);
}

/* ---- the coroutine API ---- */

static void test_co_read_cancel(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true };
	struct ts_op rd;
	uint8_t buf[16];

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	assert_int_equal(tn_tcp_read(p.c, buf, 4), -EPERM);
	ts_op_read(&rd, p.c, buf, sizeof(buf));
	tn_task_cancel(rd.t);
	assert_int_equal(ts_op_wait(&rd), -ECANCELED);
	/* Still usable. */
	ts_send(s, &p, TH_ACK | TH_PSH, 7);
	ts_read_check(p.c, 0, 7);
	/* Data that raced the cancellation is returned; nothing is lost. */
	ts_op_read(&rd, p.c, buf, sizeof(buf));
	ts_send(s, &p, TH_ACK | TH_PSH, 3);
	tn_task_cancel(rd.t);
	assert_int_equal(ts_op_wait(&rd), 3);
	finish(s, &p);
}

struct co_args {
	struct tn_stack *s;
	struct tn_tcp_conn *c;
	uint64_t timeout;
	ssize_t r;
	uint8_t buf[64];
};

static intptr_t connect_timeout_task(void *arg)
{
	struct co_args *a = arg;
	struct tn_timeout to;

	tn_timeout_enter(&to, tn_now() + a->timeout);
	a->r = tn_tcp_connect(a->s, ST_IP_PEER, 9000, NULL, &a->c);
	a->r = tn_timeout_exit(&to, (int)a->r);
	return 0;
}

/* A connect in a timeout scope: -ETIMEDOUT, the attempt forgotten. */
static void test_co_connect_timeout(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct co_args a = { .s = s, .timeout = 50 * TS_MS };
	struct tn_future *fu;
	struct ts_seg *o, g;
	uint16_t port;

	(void)state;
	fu = tn_task_join(tn_task_spawn(connect_timeout_task, &a));
	ts_settle();
	o = ts_expect(s, TH_SYN, TS_ANY, TS_ANY, 0);
	port = o->sport;
	ts_advance(s, 49 * TS_MS);
	assert_false(tn_future_done(fu));
	ts_advance(s, 2 * TS_MS); /* (the scheduler's timers fire just after) */
	assert_true(tn_future_done(fu));
	tn_future_detach(fu);
	assert_int_equal(a.r, -ETIMEDOUT);
	ts_expect_none(s);
	/* A late SYN-ACK finds no one. */
	memset(&g, 0, sizeof(g));
	g.ws = -1;
	g.flags = TH_SYN | TH_ACK;
	g.sport = 9000;
	g.dport = port;
	g.ack = o->seq + 1;
	ts_inject(s, &g);
	ts_expect(s, TH_RST, g.ack, TS_ANY, 0);
	finish(s, NULL);
}

/* write awaits room in the send buffer; drain awaits every ACK. */
static void test_co_backpressure_drain(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts o = { .sndbuf = 4096 };
	struct ts_peer p = { .ts = true, .ws = 7 };
	struct ts_op w, d;
	uint32_t a0;

	(void)state;
	ts_passive(s, &p, LPORT, &o, NULL, NULL);
	a0 = p.ack;
	ts_write(p.c, 0, 4096);
	ts_recv(s, &p, TH_ACK, 1448);
	ts_recv(s, &p, TH_ACK, 1448);
	ts_recv(s, &p, TH_ACK | TH_PSH, 1200);
	ts_op_write(&w, p.c, ts_pl + 4096, 3000);
	assert_false(ts_op_done(&w));
	/* 1,448 bytes of room: not enough for 3,000; no wakeup. */
	p.ack = a0 + 1448;
	ts_send(s, &p, TH_ACK, 0);
	assert_false(ts_op_done(&w));
	p.ack = a0 + 4096;
	ts_send(s, &p, TH_ACK, 0);
	assert_int_equal(ts_op_wait(&w), 0);
	ts_recv(s, &p, TH_ACK, 1448);
	ts_recv(s, &p, TH_ACK, 1448);
	ts_recv(s, &p, TH_ACK | TH_PSH, 104);
	ts_op_drain(&d, p.c);
	assert_false(ts_op_done(&d));
	p.ack -= 104;
	ts_send(s, &p, TH_ACK, 0);
	assert_false(ts_op_done(&d));
	p.ack += 104;
	ts_send(s, &p, TH_ACK, 0);
	assert_int_equal(ts_op_wait(&d), 0);
	finish(s, &p);
}

/* A connection that dies under tn_tcp_drain: the drain reports why (its
 * bytes were never acknowledged), and so does a drain after. */
static void test_co_drain_dies(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true };
	struct ts_op d;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	ts_write(p.c, 0, 100);
	ts_recv(s, &p, TH_ACK | TH_PSH, 100);
	ts_op_drain(&d, p.c);
	assert_false(ts_op_done(&d));
	ts_send(s, &p, TH_RST, 0);
	assert_int_equal(ts_op_wait(&d), -ECONNRESET);
	assert_int_equal(info(p.c).state, TN_TCP_CLOSED);
	ts_op_drain(&d, p.c);
	assert_int_equal(ts_op_wait(&d), -ECONNRESET);
	finish(s, &p);
}

static intptr_t read_until_task(void *arg)
{
	struct co_args *a = arg;

	a->r = tn_tcp_read_until(a->c, a->buf, sizeof(a->buf), "\r\n", 2);
	return 0;
}

static intptr_t read_exactly_task(void *arg)
{
	struct co_args *a = arg;

	a->r = tn_tcp_read_exactly(a->c, a->buf, 10);
	return 0;
}

static ssize_t co_run(tn_task_fn fn, struct co_args *a, bool want_done)
{
	struct tn_future *fu = tn_task_join(tn_task_spawn(fn, a));

	ts_settle();
	if (!want_done) {
		assert_false(tn_future_done(fu));
		tn_future_detach(fu);
		return 1;
	}
	assert_true(tn_future_done(fu));
	tn_future_detach(fu);
	return a->r;
}

static void test_co_read_until_exactly(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true };
	struct co_args a = { 0 };
	struct ts_seg g;
	static const char msg[] = "hello\r\nwor";

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	a.c = p.c;
	memset(&g, 0, sizeof(g));
	g.ws = -1;
	g.flags = TH_ACK | TH_PSH;
	g.sport = p.port;
	g.dport = LPORT;
	g.ts = true;
	g.tsval = p.tsval;
	g.seq = p.seq;
	g.ack = p.ack;
	g.win = p.win;
	g.data = (const uint8_t *)msg;
	g.len = 10;
	ts_inject(s, &g);
	assert_int_equal(co_run(read_until_task, &a, true), 7);
	assert_memory_equal(a.buf, "hello\r\n", 7);
	/* "wor" waits for its delimiter, split across segments. */
	co_run(read_until_task, &a, false);
	g.seq += 10;
	g.data = (const uint8_t *)"ld\r";
	g.len = 3;
	ts_inject(s, &g);
	ts_settle();
	g.seq += 3;
	g.data = (const uint8_t *)"\nABCDEFGHIJKLMNOPQRSTU";
	g.len = 22;
	ts_inject(s, &g);
	ts_settle();
	assert_int_equal(a.r, 7);
	assert_memory_equal(a.buf, "world\r\n", 7);
	/* read_exactly: 10 of the 21 bytes, then the stream ends with 11
	 * left: 10 more, then the last one. */
	assert_int_equal(co_run(read_exactly_task, &a, true), 10);
	assert_memory_equal(a.buf, "ABCDEFGHIJ", 10);
	g.seq += 22;
	g.flags = TH_ACK | TH_FIN;
	g.len = 0;
	ts_inject(s, &g);
	assert_int_equal(co_run(read_exactly_task, &a, true), 10);
	assert_int_equal(co_run(read_exactly_task, &a, true), 1);
	assert_int_equal(a.buf[0], 'U');
	assert_int_equal(co_run(read_until_task, &a, true), 0);
	st_drain(s);
	finish(s, &p);
}

struct big_read {
	struct tn_tcp_conn *c;
	size_t len;
	ssize_t r;
	uint8_t buf[4096];
};

static intptr_t big_exactly_task(void *arg)
{
	struct big_read *a = arg;

	a->r = tn_tcp_read_exactly(a->c, a->buf, a->len);
	return 0;
}

static intptr_t big_until_task(void *arg)
{
	struct big_read *a = arg;

	a->r = tn_tcp_read_until(a->c, a->buf, a->len, "ZZZZ", 4); /* (never in ts_pl) */
	return 0;
}

/* A reader waiting for more than the window lets in: receiver SWS
 * avoidance would keep a window below a segment shut, and as the
 * reader consumes nothing until its bytes are all there, shut for good
 * (the peer probing a zero window forever).  The window opens for what
 * the reader needs, with an update as it starts to wait. */
static void test_co_read_opens_window(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct tn_tcp_opts o = { .rcvbuf = 4096 };
	struct ts_peer p = { .ts = true };
	static struct big_read a;
	struct tn_future *fu;
	struct tn_task *t;
	struct ts_seg *r, g;

	(void)state;
	ts_passive(s, &p, LPORT, &o, NULL, NULL);
	/* The buffer full, 1,000 bytes read: the window stays shut (SWS). */
	ts_send(s, &p, TH_ACK, 1448);
	ts_send(s, &p, TH_ACK, 1448);
	assert_int_equal(ts_recv(s, &p, TH_ACK, 0)->win, 1200);
	ts_send(s, &p, TH_ACK, 1200);
	assert_int_equal(ts_recv(s, &p, TH_ACK, 0)->win, 0);
	ts_read_check(p.c, 0, 1000);
	ts_expect_none(s);
	/* read_exactly(3,500) with 3,096 buffered: an update for 1,000. */
	a.c = p.c;
	a.len = 3500;
	fu = tn_task_join(tn_task_spawn(big_exactly_task, &a));
	ts_settle();
	assert_false(tn_future_done(fu));
	r = ts_recv(s, &p, TH_ACK, 0);
	assert_int_equal(r->win, 1000);
	ts_send(s, &p, TH_ACK | TH_PSH, 1000);
	assert_int_equal(ts_recv(s, &p, TH_ACK, 0)->win, 0);
	ts_settle();
	assert_true(tn_future_done(fu));
	tn_future_detach(fu);
	assert_int_equal(a.r, 3500);
	assert_memory_equal(a.buf, ts_pl + 1000, 3500);
	/* 596 bytes left: the peer fills the buffer again, 1,000 are read. */
	assert_int_equal(ts_recv(s, &p, TH_ACK, 0)->win, 3500);
	ts_send(s, &p, TH_ACK, 1448);
	ts_send(s, &p, TH_ACK, 1448);
	ts_send(s, &p, TH_ACK, 604);
	while (ts_pop(s, &g))
		;
	assert_int_equal(g.ack, p.seq);
	assert_int_equal(g.win, 0);
	ts_read_check(p.c, 4500, 1000);
	ts_expect_none(s);
	/* read_until with 3,096 bytes and no delimiter: the window opens. */
	a.len = 4096;
	t = tn_task_spawn(big_until_task, &a);
	fu = tn_task_join(t);
	ts_settle();
	assert_false(tn_future_done(fu));
	assert_int_equal(ts_recv(s, &p, TH_ACK, 0)->win, 1000);
	tn_task_cancel(t);
	ts_settle();
	assert_true(tn_future_done(fu));
	tn_future_detach(fu);
	assert_int_equal(a.r, -ECANCELED);
	finish(s, &p);
}

static intptr_t send_mbuf_task(void *arg)
{
	struct co_args *a = arg;
	struct rte_mbuf *m = rte_pktmbuf_alloc(st_pool);

	memcpy(rte_pktmbuf_append(m, 300), ts_pl, 300);
	a->r = tn_tcp_send_mbuf(a->c, m);
	return 0;
}

static void test_zero_copy(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true };
	struct co_args a = { 0 };
	struct rte_mbuf *m[8];
	uint16_t n, i;
	uint32_t off = 0;

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	a.c = p.c;
	ts_send(s, &p, TH_ACK, 1448);
	ts_send(s, &p, TH_ACK | TH_PSH, 100);
	n = tn_tcp_recv_burst(p.c, m, 8);
	assert_true(n >= 1);
	for (i = 0; i < n; i++) {
		assert_null(m[i]->next);
		assert_memory_equal(rte_pktmbuf_mtod(m[i], void *), ts_pl + off, m[i]->data_len);
		off += m[i]->data_len;
		rte_pktmbuf_free(m[i]);
	}
	assert_int_equal(off, 1548);
	assert_int_equal(tn_tcp_recv_burst(p.c, m, 8), 0);
	assert_false(tn_tcp_at_eof(p.c));
	st_drain(s);
	assert_int_equal(co_run(send_mbuf_task, &a, true), 0);
	assert_memory_equal(ts_recv(s, &p, TH_ACK | TH_PSH, 300)->payload, ts_pl, 300);
	finish(s, &p);
}

/* close and stack teardown wake waiting tasks with -EBADF. */
static void test_co_close_wakes(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true }, q = { .ts = true, .port = 40001 };
	struct ts_op rd, rd2;
	uint8_t buf[4];

	(void)state;
	ts_passive(s, &p, LPORT, NULL, NULL, NULL);
	ts_passive(s, &q, LPORT + 1, NULL, NULL, NULL);
	ts_op_read(&rd, p.c, buf, sizeof(buf));
	tn_tcp_close(p.c);
	p.c = NULL;
	assert_int_equal(ts_op_wait(&rd), -EBADF);
	ts_recv(s, &p, TH_FIN | TH_ACK, 0);
	ts_op_read(&rd2, q.c, buf, sizeof(buf));
	st_destroy(s);
	assert_int_equal(ts_op_wait(&rd2), -EBADF);
}


/* ---- two stacks over a lossy wire ---- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

struct lossy {
	unsigned drop_pct, dup_pct, reorder_pct;
	uint64_t dropped, duplicated, reordered;
};

/* Moves a's output to b: some frames dropped, duplicated, swapped with
 * the next.  Returns how many were moved. */
static unsigned wire_lossy(struct tn_stack *a, struct tn_stack *b, struct lossy *w)
{
	struct rte_mbuf *m[64], *out[128];
	uint16_t n, i, k = 0;

	n = tn_stack_output(a, m, 64);
	for (i = 0; i < n; i++) {
		if (rnd() % 100 < w->drop_pct) {
			rte_pktmbuf_free(m[i]);
			w->dropped++;
			continue;
		}
		out[k++] = m[i];
		if (rnd() % 100 < w->dup_pct) {
			struct rte_mbuf *c = rte_pktmbuf_copy(m[i], st_pool, 0, UINT32_MAX);

			if (c) {
				out[k++] = c;
				w->duplicated++;
			}
		}
		if (k >= 2 && rnd() % 100 < w->reorder_pct) {
			struct rte_mbuf *t = out[k - 1];

			out[k - 1] = out[k - 2];
			out[k - 2] = t;
			w->reordered++;
		}
	}
	if (k)
		tn_stack_input(b, out, k, st_now);
	return n;
}

struct bulk_args {
	struct tn_tcp_listener *l;
	struct tn_stack *s;
	size_t len;
	ssize_t r;
	size_t got;
	bool ok;
};

static intptr_t bulk_server(void *arg)
{
	struct bulk_args *a = arg;
	static uint8_t buf[65536];
	struct tn_tcp_conn *c;
	ssize_t n;

	if ((a->r = tn_tcp_accept(a->l, &c)) < 0)
		return 0;
	a->ok = true;
	while ((n = tn_tcp_read(c, buf, sizeof(buf))) > 0) {
		if (memcmp(buf, ts_pl + a->got, (size_t)n) != 0)
			a->ok = false;
		a->got += (size_t)n;
	}
	a->r = n;
	tn_tcp_close(c);
	return 0;
}

static intptr_t bulk_client(void *arg)
{
	struct bulk_args *a = arg;
	struct tn_tcp_conn *c;
	uint8_t b;

	if ((a->r = tn_tcp_connect(a->s, ST_IP_PEER, 5001, NULL, &c)) < 0)
		return 0;
	if ((a->r = tn_tcp_write(c, ts_pl, a->len)) == 0 && (a->r = tn_tcp_shutdown(c)) == 0)
		a->r = tn_tcp_read(c, &b, 1); /* their FIN */
	tn_tcp_close(c);
	return 0;
}

/* A transfer between two stacks through loss, duplication and
 * reordering on a virtual clock: every byte arrives, once, in order,
 * both ends close cleanly, every mbuf comes back.  (With this seed the
 * first SYN is lost: 1 s, and a later RTO uses RFC 6298 5.7's 3 s.) */
static void test_two_stacks_lossy(void **state)
{
	struct tn_stack_config ca, cb;
	struct tn_stack *a, *b;
	struct lossy w = { .drop_pct = 3, .dup_pct = 1, .reorder_pct = 2 };
	struct bulk_args sa = { 0 }, ca_args = { .len = 1 << 20 };
	struct tn_future *fs, *fc;
	struct tn_stack_stats sta;
	unsigned guard = 0;

	(void)state;
	rng_state = 0x12345678;
	st_default_cfg(&ca);
	st_default_cfg(&cb);
	memcpy(cb.mac, st_mac_peer.addr_bytes, 6);
	cb.ip = ST_IP_PEER;
	cb.seed = 7;
	a = st_create(&ca, 0);
	b = st_create(&cb, 0);
	assert_int_equal(tn_tcp_listen(b, 0, 5001, 8, NULL, &sa.l), 0);
	ca_args.s = a;
	fs = tn_task_join(tn_task_spawn(bulk_server, &sa));
	fc = tn_task_join(tn_task_spawn(bulk_client, &ca_args));
	for (;;) {
		unsigned moved;

		ts_settle();
		moved = wire_lossy(a, b, &w) + wire_lossy(b, a, &w);
		if (tn_future_done(fs) && tn_future_done(fc) && !moved)
			break;
		if (!moved && !tn_sched_has_ready(tn_sched_self())) {
			uint64_t next = tn_stack_next_deadline(a);

			if (tn_stack_next_deadline(b) < next)
				next = tn_stack_next_deadline(b);
			if (tn_sched_next_deadline(tn_sched_self()) < next)
				next = tn_sched_next_deadline(tn_sched_self());
			assert_true(next != UINT64_MAX);
			if (next > st_now) {
				st_now = next;
				tn_test_clock_ns = next;
			}
			tn_stack_timers(a, st_now);
			tn_stack_timers(b, st_now);
		}
		assert_true(++guard < 2000000);
	}
	tn_future_detach(fs);
	tn_future_detach(fc);
	print_message("lossy transfer: %zu bytes in %.3f virtual s; dropped %llu, duplicated %llu, "
		      "reordered %llu\n", sa.got, (double)(st_now - ST_SEC) / 1e9,
		      (unsigned long long)w.dropped, (unsigned long long)w.duplicated,
		      (unsigned long long)w.reordered);
	assert_int_equal(ca_args.r, 0);
	assert_int_equal(sa.r, 0);
	assert_int_equal(sa.got, 1 << 20);
	assert_true(sa.ok);
	tn_stack_stats_get(a, &sta);
	print_message("client: retransmits %llu (rto %llu, fast %llu, tlp %llu)\n",
		      (unsigned long long)sta.tcp_retransmits, (unsigned long long)sta.tcp_rto,
		      (unsigned long long)sta.tcp_fast_retransmits, (unsigned long long)sta.tcp_tlp);
	assert_true(sta.tcp_retransmits > 0);
	tn_tcp_listener_close(sa.l);
	/* TIME-WAIT (the client closed last... or first): let it pass. */
	st_now += 61 * ST_SEC;
	tn_test_clock_ns = st_now;
	tn_stack_timers(a, st_now);
	tn_stack_timers(b, st_now);
	st_drain(a);
	st_drain(b);
	tn_stack_destroy(a);
	st_destroy(b);
}

/* Random segments (seeded) at a listener and at an open connection:
 * nothing crashes, everything is counted, every mbuf comes back. */
static void test_random_segments(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct ts_peer p = { .ts = true, .sack = true, .ws = 7 };
	struct tn_tcp_listener *l = NULL;
	struct ts_seg g;
	static uint8_t opt[40];
	unsigned i, k;

	(void)state;
	rng_state = 99;
	ts_passive(s, &p, LPORT, NULL, &l, NULL);
	for (i = 0; i < 50000; i++) {
		memset(&g, 0, sizeof(g));
		g.ws = -1;
		g.flags = (uint8_t)(rnd() & 0x3f);
		g.sport = rnd() % 4 ? p.port : (uint16_t)rnd();
		g.dport = rnd() % 8 ? LPORT : (uint16_t)rnd();
		/* Near the real numbers, mostly. */
		g.seq = rnd() % 2 ? p.seq + rnd() % 200000 - 100000 : rnd();
		g.ack = rnd() % 2 ? p.ack + rnd() % 200000 - 100000 : rnd();
		g.win = (uint16_t)rnd();
		g.len = rnd() % 3 ? 0 : rnd() % 1400;
		if (rnd() % 4 == 0) {
			g.optlen = (rnd() % 10) * 4;
			for (k = 0; k < g.optlen; k++)
				opt[k] = (uint8_t)(rnd() % 4 ? rnd() % 10 : rnd());
			g.opt = opt;
		} else if (rnd() % 2) {
			g.ts = true;
			g.tsval = p.tsval + rnd() % 100 - 50;
			g.nsack = rnd() % 3;
			for (k = 0; k < g.nsack; k++) {
				g.sack[k][0] = p.ack + rnd() % 100000 - 50000;
				g.sack[k][1] = g.sack[k][0] + rnd() % 5000;
			}
		}
		ts_inject(s, &g);
		st_drain(s);
		if (i % 1000 == 0)
			ts_advance(s, 100 * TS_MS);
	}
	if (p.c && info(p.c).state != TN_TCP_CLOSED)
		print_message("the connection survived in %s\n", tn_tcp_state_name(info(p.c).state));
	tn_tcp_listener_close(l);
	ts_advance(s, 200 * ST_SEC);
	finish(s, &p);
}

/* ---- scale ---- */

#define IDLE_CONNS 100000

struct acc_all {
	struct tn_tcp_listener *l[2];
	struct tn_tcp_conn **c;
	unsigned n, want; /* want 0: IDLE_CONNS */
};

static intptr_t accept_all_task(void *arg)
{
	struct acc_all *a = arg;

	while (a->n < (a->want ? a->want : IDLE_CONNS))
		if (tn_tcp_accept(a->l[a->n % 2], &a->c[a->n]) == 0)
			a->n++;
	return 0;
}

/* 100,000 idle established connections cost well under 4 KiB each
 * (TCB, table slot; no buffers, no timers). */
static void test_100k_idle(void **state)
{
	struct tn_stack *s = ts_stack(NULL);
	struct acc_all a = { .c = calloc(IDLE_CONNS, sizeof(struct tn_tcp_conn *)) };
	struct tn_tcp_opts o = { .no_timestamps = true };
	struct tn_future *fu;
	struct ts_seg g, r;
	struct mallinfo2 m0, m1;
	unsigned i;
	double per;

	(void)state;
	assert_non_null(a.c);
	m0 = mallinfo2();
	assert_int_equal(tn_tcp_listen(s, 0, LPORT, 65535, &o, &a.l[0]), 0);
	assert_int_equal(tn_tcp_listen(s, 0, LPORT + 1, 65535, &o, &a.l[1]), 0);
	fu = tn_task_join(tn_task_spawn(accept_all_task, &a));
	memset(&g, 0, sizeof(g));
	g.ws = -1;
	g.win = 65535;
	for (i = 0; i < IDLE_CONNS; i++) {
		g.flags = TH_SYN;
		g.seq = i;
		g.ack = 0;
		g.sport = (uint16_t)(1024 + i / 2);
		g.dport = (uint16_t)(LPORT + i % 2);
		ts_inject(s, &g);
		assert_true(ts_pop(s, &r));
		g.flags = TH_ACK;
		g.seq = i + 1;
		g.ack = r.seq + 1;
		ts_inject(s, &g);
		if (i % 1024 == 0)
			ts_settle();
	}
	ts_settle();
	assert_true(tn_future_done(fu));
	tn_future_detach(fu);
	assert_int_equal(a.n, IDLE_CONNS);
	ts_expect_none(s);
	m1 = mallinfo2();
	per = (double)(m1.uordblks - m0.uordblks) / IDLE_CONNS;
	print_message("100k idle connections: %.0f bytes of heap each\n", per);
	assert_true(per <= 4096);
	assert_int_equal(rte_mempool_avail_count(st_pool), ST_POOL_N);
	/* No TCP timer runs for them (the next deadline is ARP's aging) once
	 * the handshakes' stopped timers have had their turn. */
	ts_advance(s, 2 * ST_SEC);
	assert_true(tn_stack_timers(s, st_now) > st_now + 10 * ST_SEC);
	for (i = 0; i < IDLE_CONNS; i++) {
		tn_tcp_abort(a.c[i]);
		if (i % 1024 == 0)
			st_drain(s);
	}
	tn_tcp_listener_close(a.l[0]);
	tn_tcp_listener_close(a.l[1]);
	free(a.c);
	finish(s, NULL);
}

/* The TIME-WAIT table is bounded (TN_TCP_TW_MAX, 65,536 per stack):
 * past it the oldest TIME-WAIT connection ends early
 * (tcp_tw_overflow), so a burst of closes cannot hold TCBs without
 * limit.  65,538 connections closed by us (we send the first FIN, so
 * we hold TIME-WAIT): the first two are gone (their peer's FIN again
 * meets a RST), the third still answers it with an ACK. */
#define TW_MAX 65536
static void test_timewait_bound(void **state)
{
	enum { N = TW_MAX + 2 };
	struct tn_stack *s = ts_stack(NULL);
	struct acc_all a = { .c = calloc(N, sizeof(struct tn_tcp_conn *)), .want = N };
	struct tn_tcp_opts o = { .no_timestamps = true };
	struct tn_future *fu;
	struct ts_seg g, r;
	uint32_t *fin = calloc(N, sizeof(*fin));
	unsigned i;

	(void)state;
	assert_non_null(a.c);
	assert_non_null(fin);
	assert_int_equal(tn_tcp_listen(s, 0, LPORT, 65535, &o, &a.l[0]), 0);
	assert_int_equal(tn_tcp_listen(s, 0, LPORT + 1, 65535, &o, &a.l[1]), 0);
	fu = tn_task_join(tn_task_spawn(accept_all_task, &a));
	memset(&g, 0, sizeof(g));
	g.ws = -1;
	g.win = 65535;
	for (i = 0; i < N; i++) {
		g.flags = TH_SYN;
		g.seq = i;
		g.ack = 0;
		g.sport = (uint16_t)(1024 + i / 2);
		g.dport = (uint16_t)(LPORT + i % 2);
		ts_inject(s, &g);
		assert_true(ts_pop(s, &r));
		g.flags = TH_ACK;
		g.seq = i + 1;
		g.ack = r.seq + 1;
		ts_inject(s, &g);
		if (i % 1024 == 0)
			ts_settle();
	}
	ts_settle();
	assert_true(tn_future_done(fu));
	tn_future_detach(fu);
	assert_int_equal(a.n, N);
	/* We close each (FIN), the peer answers FIN-ACK, we ACK: TIME-WAIT. */
	for (i = 0; i < N; i++) {
		tn_tcp_close(a.c[i]);
		assert_true(ts_pop(s, &r));
		assert_int_equal(r.flags, TH_FIN | TH_ACK);
		fin[i] = r.seq + 1;
		g.flags = TH_FIN | TH_ACK;
		g.seq = i + 1;
		g.ack = fin[i];
		g.sport = (uint16_t)(1024 + i / 2);
		g.dport = (uint16_t)(LPORT + i % 2);
		ts_inject(s, &g);
		assert_true(ts_pop(s, &r));
		assert_int_equal(r.flags, TH_ACK);
	}
	assert_int_equal(st_stats(s).tcp_tw_overflow, 2);
	assert_int_equal(tn_tcp_conns(s, NULL, 0), TW_MAX);
	/* Their FIN again: the oldest is gone, the next still there. */
	for (i = 0; i < 3; i++) {
		g.flags = TH_FIN | TH_ACK;
		g.seq = i + 1;
		g.ack = fin[i];
		g.sport = (uint16_t)(1024 + i / 2);
		g.dport = (uint16_t)(LPORT + i % 2);
		ts_inject(s, &g);
		assert_true(ts_pop(s, &r));
		assert_int_equal(r.flags, i < 2 ? TH_RST : TH_ACK);
	}
	/* TIME-WAIT ends (2 MSL) for all of them. */
	ts_advance(s, 121 * ST_SEC);
	assert_int_equal(tn_tcp_conns(s, NULL, 0), 0);
	tn_tcp_listener_close(a.l[0]);
	tn_tcp_listener_close(a.l[1]);
	free(a.c);
	free(fin);
	finish(s, NULL);
}

static int group_setup(void **state)
{
	(void)state;
	return st_group_setup("tn_test_stack_tcp");
}

static int group_teardown(void **state)
{
	(void)state;
	return st_group_teardown();
}

#define T(name) cmocka_unit_test_setup_teardown(name, ts_setup, ts_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_passive_open),
		T(test_active_open),
		T(test_no_options),
		T(test_mss_clamp),
		T(test_simultaneous_open),
		T(test_data_both_ways),
		T(test_delayed_ack),
		T(test_fast_path),
		T(test_request_response),
		T(test_frame_template),
		T(test_outq_bound),
		T(test_cksum_offload),
		T(test_ts_key),
		T(test_delack_off),
		T(test_nagle),
		T(test_close_active),
		T(test_close_passive),
		T(test_simultaneous_close),
		T(test_half_close),
		T(test_close_unread_resets),
		T(test_abort),
		T(test_rst_established),
		T(test_rst_syn_sent),
		T(test_rst_syn_received),
		T(test_rst_closing_states),
		T(test_timewait_reuse),
		T(test_rto_backoff_karn),
		T(test_rto_gives_up),
		T(test_syn_retries),
		T(test_fast_retransmit_newreno),
		T(test_dupack_criteria),
		T(test_sack_blocks_shrink_segments),
		T(test_sack_recovery),
		T(test_sack_recovery_ooo),
		T(test_tail_loss_probe),
		T(test_early_retransmit),
		T(test_zero_window_probe),
		T(test_zero_window_in_flight),
		T(test_keepalive),
		T(test_keepalive_busy),
		T(test_keepalive_fin_wait_2),
		T(test_rfc5961_syn_and_ack),
		T(test_paws),
		T(test_ooo_bound),
		T(test_ooo_reassembly),
		T(test_sack_fits_mtu),
		T(test_icmp_errors),
		T(test_df_pmtu),
		T(test_steered_ports),
		T(test_steer_invalid),
		T(test_conn_list),
		T(test_cc_per_connection),
		T(test_delack_configurable),
		T(test_rto_min_configurable),
		T(test_timewait_bound),
		T(test_icmp_refused),
		T(test_isn),
		T(test_syn_cookies),
		T(test_receive_window),
		T(test_window_update_unscaled),
		T(test_send_window),
		T(test_window_shrink),
		T(test_bad_segments),
		T(test_chained_checksums),
		T(test_listen_errors),
		T(test_co_read_cancel),
		T(test_co_connect_timeout),
		T(test_co_backpressure_drain),
		T(test_co_drain_dies),
		T(test_co_read_until_exactly),
		T(test_co_read_opens_window),
		T(test_zero_copy),
		T(test_co_close_wakes),
		T(test_two_stacks_lossy),
		T(test_random_segments),
		T(test_100k_idle),
	};

	if (getenv("ST_FILTER"))
		cmocka_set_test_filter(getenv("ST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown) ? 1 : 0;
}
