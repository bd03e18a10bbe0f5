/* TCP (stack/tcp*.c): scripted segments in, exact segments out, on a
 * virtual clock (tests/tcp_script.c).  One test per behaviour:
 * handshakes and their options, data and ACKs, every close, RST in each
 * state, TIME-WAIT, timers (RTO, delayed ACK, persist, keepalive),
 * congestion control and recovery, RFC 5961/7323/1337 defences, the
 * out-of-order bound, ICMP errors, SYN cookies, ISNs, and the
 * coroutine API.  Every test ends with the mbuf pool full again. */
#include "tcp_script.h"

#include <stdlib.h>
#include <string.h>

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
		T(test_delack_off),
		T(test_nagle),
		T(test_close_active),
		T(test_close_passive),
		T(test_simultaneous_close),
		T(test_half_close),
		T(test_close_unread_resets),
		T(test_abort),
	};

	if (getenv("ST_FILTER"))
		cmocka_set_test_filter(getenv("ST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown) ? 1 : 0;
}
