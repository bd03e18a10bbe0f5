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
	};

	if (getenv("ST_FILTER"))
		cmocka_set_test_filter(getenv("ST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown) ? 1 : 0;
}
