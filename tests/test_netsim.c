/* The network simulator (tests/netsim.c) validated with UDP before TCP
 * uses it: timing (propagation delay, serialisation, the bounded queue),
 * loss, duplication, reordering and corruption at their rates, ARP over
 * a lossy link, three nodes and broadcast, chained receive frames, the
 * run loop's outcomes (done, timeout, deadlock), tasks the stacks'
 * timers wake (TCP keepalive on a dead link), the leak check, and
 * determinism (the same seed gives the same trace hash). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <tern/coro.h>
#include <tern/tcp.h>
#include <tern/udp.h>

#include "eal_test.h"
#include "netsim.h"

#define PORT_A 5000
#define PORT_B 7000
#define MAXDG 1472

/* Datagram payload: [seq u32][len u32][bytes that depend on both]. */
static uint8_t dg_byte(uint32_t seq, uint32_t i)
{
	return (uint8_t)((seq * 2654435761u + i * 40503u) >> 11);
}

static uint32_t dg_fill(uint8_t *b, uint32_t seq, uint32_t len)
{
	memcpy(b, &seq, 4);
	memcpy(b + 4, &len, 4);
	for (uint32_t i = 8; i < len; i++)
		b[i] = dg_byte(seq, i);
	return len;
}

/* -1 if b is not an intact datagram, else its sequence number. */
static int64_t dg_check(const uint8_t *b, uint32_t n)
{
	uint32_t seq, len;

	if (n < 8)
		return -1;
	memcpy(&seq, b, 4);
	memcpy(&len, b + 4, 4);
	if (len != n)
		return -1;
	for (uint32_t i = 8; i < len; i++)
		if (b[i] != dg_byte(seq, i))
			return -1;
	return seq;
}

/* ---- tasks ---- */

struct sender {
	struct tn_udp_sock *u;
	uint32_t dst;
	uint16_t port;
	uint32_t n, len;       /* datagrams, bytes each (>= 8) */
	uint32_t burst;        /* sent back to back, then a pause */
	uint64_t gap_ns;
	uint32_t sent;
	int err;
	bool done;
};

static intptr_t sender_task(void *arg)
{
	struct sender *s = arg;
	uint8_t b[MAXDG];

	for (s->sent = 0; s->sent < s->n; s->sent++) {
		if (s->sent && s->burst && s->sent % s->burst == 0)
			tn_sleep(s->gap_ns);
		dg_fill(b, s->sent, s->len);
		if ((s->err = tn_udp_sendto(s->u, b, s->len, s->dst, s->port)) != 0)
			break;
	}
	s->done = true;
	return 0;
}

struct receiver {
	struct tn_udp_sock *u;
	uint32_t got, bad, dups, inversions;
	uint32_t max_seq;
	uint8_t seen[32768];   /* per sequence number (< 32768) */
	uint64_t t[64];        /* arrival times of the first 64 */
	int err;
};

static intptr_t receiver_task(void *arg)
{
	struct receiver *r = arg;
	uint8_t b[MAXDG];
	ssize_t n;

	while ((n = tn_udp_recvfrom(r->u, b, sizeof(b), NULL, NULL)) >= 0) {
		int64_t seq = dg_check(b, (uint32_t)n);

		if (seq < 0 || seq >= (int64_t)sizeof(r->seen)) {
			r->bad++;
			continue;
		}
		if (r->got < 64)
			r->t[r->got] = tn_now();
		r->got++;
		if (r->seen[seq])
			r->dups++;
		else if (r->got > 1 && seq < r->max_seq)
			r->inversions++;
		r->seen[seq] = 1;
		if (seq > r->max_seq)
			r->max_seq = (uint32_t)seq;
	}
	r->err = (int)n;
	return 0;
}

/* Echoes every datagram back to its source. */
static intptr_t echo_task(void *arg)
{
	struct tn_udp_sock *u = arg;
	uint8_t b[MAXDG];
	uint32_t addr;
	uint16_t port;
	ssize_t n;

	while ((n = tn_udp_recvfrom(u, b, sizeof(b), &addr, &port)) >= 0)
		tn_udp_sendto(u, b, (size_t)n, addr, port);
	return 0;
}

/* Sends a datagram, awaits its echo for at most `timeout`, retries;
 * records the round trip of each echo. */
struct pinger {
	struct tn_udp_sock *u;
	uint32_t dst;
	uint32_t len;
	uint32_t want;         /* echoes to get */
	uint64_t timeout;
	uint32_t tries, echoes;
	uint64_t rtt[8];
	bool done;
};

static intptr_t pinger_task(void *arg)
{
	struct pinger *p = arg;
	uint8_t b[MAXDG], r[MAXDG];

	while (p->echoes < p->want) {
		uint64_t t0 = tn_now();
		struct tn_timeout to;
		ssize_t n;

		dg_fill(b, p->tries++, p->len);
		tn_udp_sendto(p->u, b, p->len, p->dst, PORT_B);
		tn_timeout_enter(&to, t0 + p->timeout);
		/* Echoes of earlier tries may still come: take only this one. */
		do
			n = tn_udp_recvfrom(p->u, r, sizeof(r), NULL, NULL);
		while (n >= 0 && (n != p->len || memcmp(r, b, p->len) != 0));
		n = tn_timeout_exit(&to, (int)(n < 0 ? n : 0));
		if (n == 0) {
			if (p->echoes < 8)
				p->rtt[p->echoes] = tn_now() - t0;
			p->echoes++;
		} else if (n == -ETIMEDOUT) {
			/* the wait ended; tn_sleep until the deadline is
			 * already past, so just retry */
		} else {
			break;
		}
	}
	p->done = true;
	return 0;
}

/* ---- fixture ---- */

static int group_setup(void **state)
{
	(void)state;
	if (tn_test_eal_init("tn_netsim", NULL) != 0)
		return -1;
	/* rte_ip_frag's INFO line per stack would flood the log. */
	rte_log_set_global_level(RTE_LOG_WARNING);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	ns_pools_free();
	tn_test_eal_fini();
	return 0;
}

struct two {
	struct ns_sim *sim;
	struct tn_udp_sock *ua, *ub;
};

/* The simulator of the running test, for the teardown after a failure. */
static struct ns_sim *live_sim;

static struct ns_sim *sim_make(uint64_t seed)
{
	struct ns_cfg c = { .seed = seed, .trace = getenv("TN_SIM_TRACE") != NULL };

	live_sim = ns_create(&c);
	assert_non_null(live_sim);
	return live_sim;
}

static int sim_end(struct ns_sim *sim)
{
	live_sim = NULL;
	return ns_destroy(sim);
}

/* After a failed test: free its simulator so the next one can make a
 * scheduler (not possible from inside a task: exit). */
static int test_teardown(void **state)
{
	(void)state;
	if (live_sim) {
		if (tn_task_current()) {
			printf("test failed inside a task; exiting\n");
			exit(1);
		}
		sim_end(live_sim);
	}
	return 0;
}

/* Two nodes, a socket on each (A: port 5000, B: port 7000). */
static void two_make(struct two *t, uint64_t seed)
{
	t->sim = sim_make(seed);
	assert_int_equal(ns_add_node(t->sim, NULL), 0);
	assert_int_equal(ns_add_node(t->sim, NULL), 1);
	t->ua = tn_udp_open(ns_stack(t->sim, 0));
	t->ub = tn_udp_open(ns_stack(t->sim, 1));
	assert_int_equal(tn_udp_bind(t->ua, 0, PORT_A), 0);
	assert_int_equal(tn_udp_bind(t->ub, 0, PORT_B), 0);
}

static void two_end(struct two *t)
{
	tn_udp_close(t->ua);
	tn_udp_close(t->ub);
	assert_int_equal(sim_end(t->sim), 0);
}

/* ARP resolved both ways: a datagram to a closed port of B, which
 * answers with a port unreachable. */
static void two_warm(struct two *t)
{
	assert_int_equal(tn_udp_sendto(t->ua, "warm", 4, ns_ip(t->sim, 1), 9), 0);
	assert_int_equal(ns_run(t->sim, NULL, NULL, TN_NS_PER_S), 0);
	assert_int_equal(ns_in_flight(t->sim), 0);
}

static void collect(void *arg, int err, intptr_t v)
{
	(void)v;
	*(int *)arg = err;
}

/* Consumes a finished task's join future (we are not in a task). */
static void reap(struct tn_future *f)
{
	int err = -1;

	assert_true(tn_future_done(f));
	tn_future_then(f, collect, &err);
	assert_int_equal(err, 0);
}

struct until {
	struct ns_sim *sim;
	const bool *flag;
};

static bool flag_and_quiet(void *arg)
{
	struct until *u = arg;

	return *u->flag && ns_in_flight(u->sim) == 0;
}

/* Runs a sender task until it is done and the wire is empty. */
static void run_sender(struct ns_sim *sim, struct sender *s, uint64_t limit)
{
	struct until u = { sim, &s->done };
	struct tn_future *f = tn_task_join(tn_task_spawn(sender_task, s));

	assert_int_equal(ns_run(sim, flag_and_quiet, &u, limit), 0);
	reap(f);
	assert_int_equal(s->err, 0);
}

static struct tn_future *spawn_receiver(struct receiver *r, struct tn_udp_sock *u)
{
	memset(r, 0, sizeof(*r));
	r->u = u;
	return tn_task_join(tn_task_spawn(receiver_task, r));
}

/* Closing the socket ends the receiver with -EBADF. */
static void end_receiver(struct two *t, struct receiver *r, struct tn_future *f)
{
	tn_udp_close(r->u);
	if (r->u == t->ua)
		t->ua = tn_udp_open(ns_stack(t->sim, 0));
	else
		t->ub = tn_udp_open(ns_stack(t->sim, 1));
	assert_int_equal(ns_run(t->sim, NULL, NULL, 0), 0);
	reap(f);
	assert_int_equal(r->err, -EBADF);
}

static struct tn_stack_stats stats(struct two *t, int node)
{
	struct tn_stack_stats st;

	tn_stack_stats_get(ns_stack(t->sim, node), &st);
	return st;
}

static struct ns_link_stats lstats(struct two *t, int from, int to)
{
	struct ns_link_stats st;

	ns_link_stats(t->sim, from, to, &st);
	return st;
}

/* ---- tests ---- */

/* A perfect link: ARP, then every datagram in order, exactly once. */
static void test_perfect(void **state)
{
	struct two t;
	struct receiver *r = calloc(1, sizeof(*r));
	struct sender s = { .n = 500, .len = 300, .burst = 50, .gap_ns = TN_NS_PER_MS };
	struct tn_future *rf;

	(void)state;
	two_make(&t, 1);
	rf = spawn_receiver(r, t.ub);
	s.u = t.ua;
	s.dst = ns_ip(t.sim, 1);
	s.port = PORT_B;
	run_sender(t.sim, &s, 10 * TN_NS_PER_S);
	/* The first burst met an unresolved address: ARP queued 8 of its 50
	 * datagrams and dropped the rest. */
	assert_int_equal(stats(&t, 0).arp_pending_dropped, 42);
	assert_int_equal(r->got, 458);
	assert_int_equal(r->bad + r->dups + r->inversions, 0);
	assert_int_equal(stats(&t, 0).arp_requests_sent, 1);
	/* The gratuitous ARP, the request and the datagrams; back, the
	 * other gratuitous ARP and the reply. */
	assert_int_equal(lstats(&t, 0, 1).offered, 460);
	assert_int_equal(lstats(&t, 0, 1).delivered, 460);
	assert_int_equal(lstats(&t, 1, 0).delivered, 2);
	end_receiver(&t, r, rf);
	two_end(&t);
	free(r);
}

/* Propagation delay and serialisation, to the nanosecond: an echo's
 * round trip, a burst's spacing, and the queue's tail drop. */
static void test_timing(void **state)
{
	struct ns_link_cfg lc = { .delay_ns = 5 * TN_NS_PER_MS, .rate_bps = 10000000 };
	struct two t;
	struct receiver *r = calloc(1, sizeof(*r));
	struct sender s = { .n = 50, .len = 1000 };
	struct pinger p = { .len = 1000, .want = 2, .timeout = TN_NS_PER_S };
	struct tn_udp_sock *e;
	struct tn_future *rf, *pf, *ef;
	/* A 1000-byte datagram is a 1042-byte frame: 833.6 us at 10 Mbit/s. */
	const uint64_t ser = 833600;

	(void)state;
	two_make(&t, 2);
	ns_link_set_both(t.sim, 0, 1, &lc);
	two_warm(&t);
	e = tn_udp_open(ns_stack(t.sim, 1));
	tn_udp_close(t.ub);
	t.ub = e;
	assert_int_equal(tn_udp_bind(e, 0, PORT_B), 0);
	ef = tn_task_join(tn_task_spawn(echo_task, e));
	p.u = t.ua;
	p.dst = ns_ip(t.sim, 1);
	pf = tn_task_join(tn_task_spawn(pinger_task, &p));
	{
		struct until u = { t.sim, &p.done };

		assert_int_equal(ns_run(t.sim, flag_and_quiet, &u, 10 * TN_NS_PER_S), 0);
	}
	reap(pf);
	assert_int_equal(p.echoes, 2);
	assert_int_equal(p.tries, 2);
	assert_int_equal(p.rtt[0], 2 * (ser + 5 * TN_NS_PER_MS));
	assert_int_equal(p.rtt[1], 2 * (ser + 5 * TN_NS_PER_MS));
	tn_udp_close(e);
	t.ub = tn_udp_open(ns_stack(t.sim, 1));
	assert_int_equal(ns_run(t.sim, NULL, NULL, 0), 0);
	reap(ef);

	/* 50 frames at once into a 64 KiB queue: back to back, ser apart. */
	assert_int_equal(tn_udp_bind(t.ub, 0, PORT_B), 0);
	rf = spawn_receiver(r, t.ub);
	s.u = t.ua;
	s.dst = ns_ip(t.sim, 1);
	s.port = PORT_B;
	run_sender(t.sim, &s, 10 * TN_NS_PER_S);
	assert_int_equal(r->got, 50);
	for (int i = 1; i < 50 && i < 64; i++)
		assert_int_equal(r->t[i] - r->t[i - 1], ser);
	end_receiver(&t, r, rf);

	/* A queue of 10 frames' bytes: the frame on the wire counts, the
	 * first 10 pass, the other 40 are tail-dropped. */
	lc.queue_bytes = 10 * 1042;
	ns_link_set(t.sim, 0, 1, &lc);
	assert_int_equal(tn_udp_bind(t.ub, 0, PORT_B), 0);
	rf = spawn_receiver(r, t.ub);
	s.done = false;
	run_sender(t.sim, &s, 10 * TN_NS_PER_S);
	assert_int_equal(r->got, 10);
	assert_int_equal(lstats(&t, 0, 1).queue_drops, 40);
	end_receiver(&t, r, rf);
	two_end(&t);
	free(r);
}

/* |x - n p| within 5 standard deviations of a binomial(n, p). */
static void assert_binomial(uint64_t x, uint64_t n, double p)
{
	double mean = n * p, sd = sqrt(n * p * (1 - p));

	if (fabs((double)x - mean) > 5 * sd + 1)
		fail_msg("%lu of %lu, expected %.1f +- %.1f", (unsigned long)x, (unsigned long)n,
			 mean, 5 * sd);
}

/* Loss at its rate; what is not lost arrives once and in order. */
static void test_loss(void **state)
{
	struct ns_link_cfg lc = { .loss = 0.2, .delay_ns = TN_NS_PER_MS };
	struct two t;
	struct receiver *r = calloc(1, sizeof(*r));
	struct sender s = { .n = 20000, .len = 64, .burst = 100, .gap_ns = TN_NS_PER_MS };
	struct ns_link_stats l0, l1;
	struct tn_future *rf;

	(void)state;
	two_make(&t, 3);
	two_warm(&t);
	ns_link_set(t.sim, 0, 1, &lc);
	rf = spawn_receiver(r, t.ub);
	s.u = t.ua;
	s.dst = ns_ip(t.sim, 1);
	s.port = PORT_B;
	l0 = lstats(&t, 0, 1);
	run_sender(t.sim, &s, 60 * TN_NS_PER_S);
	l1 = lstats(&t, 0, 1);
	assert_binomial(20000 - r->got, 20000, 0.2);
	assert_int_equal(l1.offered - l0.offered, 20000);
	assert_int_equal(l1.lost - l0.lost + r->got, 20000);
	assert_int_equal(r->bad + r->dups + r->inversions, 0);
	end_receiver(&t, r, rf);
	two_end(&t);
	free(r);
}

/* Duplicates and reordering at their rates; nothing lost. */
static void test_dup_reorder(void **state)
{
	struct ns_link_cfg lc = { .dup = 0.05, .reorder = 0.1, .reorder_ns = 2 * TN_NS_PER_MS,
				  .delay_ns = TN_NS_PER_MS };
	struct two t;
	struct receiver *r = calloc(1, sizeof(*r));
	struct sender s = { .n = 10000, .len = 100, .burst = 1, .gap_ns = 100 * TN_NS_PER_US };
	struct tn_future *rf;
	uint32_t uniq = 0;

	(void)state;
	two_make(&t, 4);
	two_warm(&t);
	ns_link_set(t.sim, 0, 1, &lc);
	rf = spawn_receiver(r, t.ub);
	s.u = t.ua;
	s.dst = ns_ip(t.sim, 1);
	s.port = PORT_B;
	run_sender(t.sim, &s, 60 * TN_NS_PER_S);
	for (int i = 0; i < 10000; i++)
		uniq += r->seen[i];
	assert_int_equal(uniq, 10000);
	assert_int_equal(r->got, 10000 + r->dups);
	assert_int_equal(r->dups, lstats(&t, 0, 1).dups);
	assert_binomial(r->dups, 10000, 0.05);
	/* Both copies of a duplicate draw their own reordering. */
	assert_binomial(lstats(&t, 0, 1).reordered, 10000 + r->dups, 0.1);
	/* A frame held up to 2 ms passes the next ones (100 us apart). */
	assert_true(r->inversions > 500);
	end_receiver(&t, r, rf);
	two_end(&t);
	free(r);
}

/* Corruption: one flipped bit per corrupted frame, caught by a checksum
 * or a header check, so every datagram that arrives is intact and the
 * rest are counted as dropped by the receiving stack. */
static void test_corrupt(void **state)
{
	struct ns_link_cfg lc = { .corrupt = 0.3, .delay_ns = 100 * TN_NS_PER_US };
	struct two t;
	struct receiver *r = calloc(1, sizeof(*r));
	struct sender s = { .n = 5000, .len = 200, .burst = 10, .gap_ns = TN_NS_PER_MS };
	struct tn_stack_stats b0, b1;
	struct tn_future *rf;
	uint64_t dropped;

	(void)state;
	two_make(&t, 5);
	two_warm(&t);
	b0 = stats(&t, 1);
	ns_link_set(t.sim, 0, 1, &lc);
	rf = spawn_receiver(r, t.ub);
	s.u = t.ua;
	s.dst = ns_ip(t.sim, 1);
	s.port = PORT_B;
	run_sender(t.sim, &s, 60 * TN_NS_PER_S);
	b1 = stats(&t, 1);
	assert_int_equal(r->bad, 0);
	assert_binomial(lstats(&t, 0, 1).corrupted, 5000, 0.3);
#define D(f) (b1.f - b0.f)
	dropped = D(eth_not_ours) + D(eth_other_type) + D(eth_vlan) + D(ip_bad_version) +
		  D(ip_bad_ihl) + D(ip_bad_len) + D(ip_bad_csum) + D(ip_bad_options) +
		  D(ip_not_ours) + D(ip_bad_src) + D(ip_unknown_proto) + D(ip_frag_bad) +
		  D(ip_frag_rx) + D(udp_bad_len) + D(udp_bad_csum) + D(udp_no_port);
#undef D
	assert_int_equal(r->got + dropped, 5000);
	/* Bits in the source MAC and the Ethernet padding go unnoticed, so a
	 * few corrupted frames still arrive (intact where it matters). */
	assert_true(dropped <= lstats(&t, 0, 1).corrupted);
	assert_true(dropped > lstats(&t, 0, 1).corrupted * 8 / 10);
	end_receiver(&t, r, rf);
	two_end(&t);
	free(r);
}

/* ARP over a link losing 40% each way: the sender retries a datagram
 * (awaiting the echo, 300 ms each) until it gets through; ARP's own
 * retries (1 s apart) show in the counters. */
static void test_arp_lossy(void **state)
{
	struct ns_link_cfg lc = { .loss = 0.4, .delay_ns = 2 * TN_NS_PER_MS };
	uint64_t requests = 0, more_than_one = 0, lost_arp = 0;

	(void)state;
	for (uint64_t seed = 100; seed < 120; seed++) {
		struct two t;
		struct pinger p = { .len = 32, .want = 3, .timeout = 300 * TN_NS_PER_MS };
		struct tn_future *pf, *ef;
		struct until u;

		two_make(&t, seed);
		ns_link_set_both(t.sim, 0, 1, &lc);
		ef = tn_task_join(tn_task_spawn(echo_task, t.ub));
		p.u = t.ua;
		p.dst = ns_ip(t.sim, 1);
		pf = tn_task_join(tn_task_spawn(pinger_task, &p));
		u.sim = t.sim;
		u.flag = &p.done;
		assert_int_equal(ns_run(t.sim, flag_and_quiet, &u, 120 * TN_NS_PER_S), 0);
		reap(pf);
		assert_int_equal(p.echoes, 3);
		requests += stats(&t, 0).arp_requests_sent;
		more_than_one += stats(&t, 0).arp_requests_sent > 1;
		lost_arp += stats(&t, 0).arp_unresolved;
		tn_udp_close(t.ub);
		t.ub = tn_udp_open(ns_stack(t.sim, 1));
		assert_int_equal(ns_run(t.sim, NULL, NULL, 0), 0);
		reap(ef);
		two_end(&t);
	}
	/* A request and its reply both get through with p = 0.36, but B's
	 * own requests for A (to echo) resolve A's entry too, so most seeds
	 * need one request, some more. */
	assert_true(more_than_one >= 2);
	assert_true(requests > 20);
	print_message("arp over 40%% loss, 20 seeds: %lu requests, %lu seeds retried, "
		      "%lu frames given up\n", (unsigned long)requests,
		      (unsigned long)more_than_one, (unsigned long)lost_arp);
}

/* Three nodes on the segment: a broadcast reaches both others, over
 * their own links; unicast only its destination. */
static void test_three_nodes(void **state)
{
	struct ns_link_cfg slow = { .delay_ns = 3 * TN_NS_PER_MS };
	struct ns_sim *sim = sim_make(6);
	struct tn_udp_sock *u[3];
	struct rte_mbuf *m[4];
	struct ns_link_stats ls;

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ns_add_node(sim, NULL), i);
		u[i] = tn_udp_open(ns_stack(sim, i));
		assert_int_equal(tn_udp_bind(u[i], 0, PORT_B), 0);
	}
	ns_link_set(sim, 0, 2, &slow);
	/* The gratuitous ARPs at create went everywhere. */
	assert_int_equal(ns_run(sim, NULL, NULL, TN_NS_PER_MS), 0);
	ns_link_stats(sim, 0, 2, &ls);
	assert_int_equal(ls.delivered, 0); /* still on the slow link */
	assert_int_equal(ns_run(sim, NULL, NULL, 3 * TN_NS_PER_MS), 0);
	ns_link_stats(sim, 0, 2, &ls);
	assert_int_equal(ls.delivered, 1);
	assert_int_equal(tn_udp_sendto(u[0], "all", 3, rte_cpu_to_be_32(0x0a0000ff), PORT_B), 0);
	assert_int_equal(tn_udp_sendto(u[0], "two", 3, ns_ip(sim, 1), PORT_B), 0);
	assert_int_equal(ns_run(sim, NULL, NULL, 10 * TN_NS_PER_MS), 0);
	assert_int_equal(tn_udp_recv_burst(u[1], m, NULL, 4), 2);
	rte_pktmbuf_free_bulk(m, 2);
	assert_int_equal(tn_udp_recv_burst(u[2], m, NULL, 4), 1);
	assert_int_equal(m[0]->pkt_len, 3);
	assert_memory_equal(rte_pktmbuf_mtod(m[0], void *), "all", 3);
	rte_pktmbuf_free(m[0]);
	for (int i = 0; i < 3; i++)
		tn_udp_close(u[i]);
	assert_int_equal(sim_end(sim), 0);
}

/* Frames handed to the receiver in segments of odd length (127 bytes),
 * and datagrams sent from odd-length chains, still arrive byte-exact:
 * the checksums over chained mbufs (DPDK 22.11's rte_raw_cksum_mbuf got
 * odd-length segments wrong; tn__raw_cksum_mbuf). */
static void test_chained(void **state)
{
	struct ns_link_cfg lc = { .rx_seg = 127 };
	struct two t;
	struct receiver *r = calloc(1, sizeof(*r));
	struct sender s = { .n = 200, .len = 1400, .burst = 20, .gap_ns = TN_NS_PER_MS };
	struct tn_future *rf;
	uint8_t b[1400];
	uint32_t ping = 0;

	(void)state;
	two_make(&t, 7);
	two_warm(&t);
	ns_link_set_both(t.sim, 0, 1, &lc);
	rf = spawn_receiver(r, t.ub);
	s.u = t.ua;
	s.dst = ns_ip(t.sim, 1);
	s.port = PORT_B;
	run_sender(t.sim, &s, 10 * TN_NS_PER_S);
	assert_int_equal(r->got, 200);
	assert_int_equal(r->bad, 0);
	assert_int_equal(stats(&t, 1).udp_bad_csum, 0);
	/* Zero copy from a chain of 333 + 333 + 333 + 1 bytes (odd again,
	 * on the sending side). */
	for (uint32_t seq = 200; seq < 210; seq++) {
		struct rte_mbuf *head = NULL, *last = NULL;

		dg_fill(b, seq, 1000);
		for (uint32_t off = 0; off < 1000; off += 333) {
			uint32_t k = 1000 - off < 333 ? 1000 - off : 333;
			struct rte_mbuf *m = rte_pktmbuf_alloc(ns_pool(t.sim, 0));

			assert_non_null(m);
			memcpy(rte_pktmbuf_append(m, (uint16_t)k), b + off, k);
			if (head) {
				last->next = m;
				head->nb_segs++;
				head->pkt_len += k;
			} else {
				head = m;
			}
			last = m;
		}
		assert_int_equal(tn_udp_send_mbuf(t.ua, head, ns_ip(t.sim, 1), PORT_B), 0);
	}
	/* And ICMP: an echo of 1001 bytes, its reply checked by the stack. */
	assert_int_equal(tn_stack_ping(ns_stack(t.sim, 0), ns_ip(t.sim, 1), 1, 1, b, 1001,
				       ns_now(t.sim)), 0);
	assert_int_equal(ns_run(t.sim, NULL, NULL, 10 * TN_NS_PER_MS), 0);
	assert_int_equal(r->got, 210);
	assert_int_equal(r->bad, 0);
	ping = (uint32_t)stats(&t, 0).icmp_echo_reply_rx;
	assert_int_equal(ping, 1);
	assert_int_equal(stats(&t, 0).icmp_bad + stats(&t, 1).icmp_bad, 0);
	end_receiver(&t, r, rf);
	two_end(&t);
	free(r);
}

/* A task the stacks' timers wake without a frame going out runs at that
 * instant (once it waited for the next unrelated event): TCP keepalive
 * gives up on a dead link and the reader returns -ETIMEDOUT about 3 s
 * after the link went down, not a minute later when ARP ages out. */
struct ka {
	struct ns_sim *sim;
	struct tn_tcp_listener *l;
	struct tn_tcp_conn *srv;
	bool connected, done;
	ssize_t n;
	uint64_t t_end;
};

static intptr_t ka_server(void *arg)
{
	struct ka *k = arg;

	assert_int_equal(tn_tcp_accept(k->l, &k->srv), 0);
	return 0;
}

static intptr_t ka_client(void *arg)
{
	struct ka *k = arg;
	struct tn_tcp_opts o = { .keepalive = true, .ka_idle_ns = TN_NS_PER_S,
				 .ka_intvl_ns = TN_NS_PER_S, .ka_cnt = 2 };
	struct tn_tcp_conn *c;
	char b[16];

	if (tn_tcp_connect(ns_stack(k->sim, 0), ns_ip(k->sim, 1), 80, &o, &c) != 0)
		return -1;
	k->connected = true;
	k->n = tn_tcp_read(c, b, sizeof(b));
	k->t_end = tn_now();
	tn_tcp_close(c);
	k->done = true;
	return 0;
}

static void test_timer_wakeup(void **state)
{
	struct ns_link_cfg dead = { .loss = 1.0 };
	struct two t;
	struct ka k = { 0 };
	struct tn_future *sf, *cf;
	struct until u;
	uint64_t t_down;

	(void)state;
	two_make(&t, 10);
	k.sim = t.sim;
	assert_int_equal(tn_tcp_listen(ns_stack(t.sim, 1), 0, 80, 4, NULL, &k.l), 0);
	sf = tn_task_join(tn_task_spawn(ka_server, &k));
	cf = tn_task_join(tn_task_spawn(ka_client, &k));
	u.sim = t.sim;
	u.flag = &k.connected;
	assert_int_equal(ns_run(t.sim, flag_and_quiet, &u, TN_NS_PER_S), 0);
	reap(sf);
	ns_link_set_both(t.sim, 0, 1, &dead);
	t_down = ns_now(t.sim);
	u.flag = &k.done;
	assert_int_equal(ns_run(t.sim, flag_and_quiet, &u, 120 * TN_NS_PER_S), 0);
	reap(cf);
	assert_int_equal(k.n, -ETIMEDOUT);
	/* Idle 1 s, then 2 probes 1 s apart: gone at 3 s (1 ms ticks). */
	assert_true(k.t_end - t_down >= 3 * TN_NS_PER_S);
	assert_true(k.t_end - t_down <= 3 * TN_NS_PER_S + 10 * TN_NS_PER_MS);
	tn_tcp_abort(k.srv);
	tn_tcp_listener_close(k.l);
	two_end(&t);
}

static intptr_t sleeper(void *arg)
{
	(void)arg;
	return tn_sleep(5 * TN_NS_PER_S);
}

static bool never(void *arg)
{
	(void)arg;
	return false;
}

/* ns_run's outcomes: the limit (clock left there), a deadlock, and
 * ns_destroy cancelling what still waits. */
static void test_run_outcomes(void **state)
{
	struct two t;
	struct receiver *r = calloc(1, sizeof(*r));
	uint64_t t0;

	(void)state;
	two_make(&t, 8);
	tn_task_detach(tn_task_spawn(sleeper, NULL));
	t0 = ns_now(t.sim);
	assert_int_equal(ns_run(t.sim, never, NULL, TN_NS_PER_S), -ETIMEDOUT);
	assert_int_equal(ns_now(t.sim), t0 + TN_NS_PER_S);
	/* The sleeper ends at +5 s; the gratuitous ARPs' entries age out;
	 * then only the receiver waits, on nothing. */
	tn_task_detach(tn_task_spawn(receiver_task, r));
	r->u = t.ub;
	assert_int_equal(ns_run(t.sim, never, NULL, 3600 * TN_NS_PER_S), -EDEADLK);
	assert_true(ns_now(t.sim) >= t0 + 5 * TN_NS_PER_S);
	/* Cancels the receiver (before its socket is closed). */
	assert_int_equal(sim_end(t.sim), 0);
	assert_int_equal(r->err, -ECANCELED);
	free(r);
}

/* The leak check fails when an mbuf is held, and passes once it is
 * back. */
static void test_leak_check(void **state)
{
	struct two t;
	struct rte_mbuf *m;
	struct rte_mempool *mp;

	(void)state;
	two_make(&t, 9);
	mp = ns_pool(t.sim, 1);
	assert_int_equal(tn_udp_sendto(t.ua, "x", 1, ns_ip(t.sim, 1), PORT_B), 0);
	assert_int_equal(ns_run(t.sim, NULL, NULL, TN_NS_PER_MS), 0);
	assert_int_equal(tn_udp_recv_burst(t.ub, &m, NULL, 1), 1);
	tn_udp_close(t.ua);
	tn_udp_close(t.ub);
	assert_int_equal(sim_end(t.sim), -1);
	rte_pktmbuf_free(m);
	assert_int_equal(rte_mempool_avail_count(mp), NS_POOL_N);
}

/* Everything on at once, both ways: a seed's run is repeatable to the
 * byte (trace hash, counters), and another seed's differs. */
static uint64_t chaos_run(uint64_t seed, struct ns_link_stats *out)
{
	struct ns_link_cfg lc = { .loss = 0.1, .dup = 0.05, .reorder = 0.2,
				  .reorder_ns = 3 * TN_NS_PER_MS, .corrupt = 0.05,
				  .delay_ns = TN_NS_PER_MS, .rate_bps = 50000000,
				  .queue_bytes = 20000 };
	struct two t;
	struct receiver *r = calloc(1, sizeof(*r));
	struct sender s = { .n = 2000, .len = 900, .burst = 40, .gap_ns = TN_NS_PER_MS };
	struct pinger p = { .len = 100, .want = 20, .timeout = 50 * TN_NS_PER_MS };
	struct tn_udp_sock *e, *pu;
	struct tn_future *rf, *pf, *ef;
	struct until u;
	uint64_t h;

	two_make(&t, seed);
	ns_link_set_both(t.sim, 0, 1, &lc);
	e = tn_udp_open(ns_stack(t.sim, 0));
	assert_int_equal(tn_udp_bind(e, 0, PORT_B), 0);
	pu = tn_udp_open(ns_stack(t.sim, 1));
	ef = tn_task_join(tn_task_spawn(echo_task, e));
	rf = spawn_receiver(r, t.ub);
	p.u = pu;
	p.dst = ns_ip(t.sim, 0);
	pf = tn_task_join(tn_task_spawn(pinger_task, &p));
	s.u = t.ua;
	s.dst = ns_ip(t.sim, 1);
	s.port = PORT_B;
	run_sender(t.sim, &s, 60 * TN_NS_PER_S);
	u.sim = t.sim;
	u.flag = &p.done;
	assert_int_equal(ns_run(t.sim, flag_and_quiet, &u, 60 * TN_NS_PER_S), 0);
	reap(pf);
	assert_int_equal(r->bad, 0);
	tn_udp_close(e);
	tn_udp_close(pu);
	end_receiver(&t, r, rf);
	reap(ef);
	ns_link_stats(t.sim, 0, 1, out);
	h = ns_trace_hash(t.sim) ^ r->got;
	two_end(&t);
	free(r);
	return h;
}

static void test_determinism(void **state)
{
	struct ns_link_stats a, b, c;
	uint64_t h1, h2, h3;

	(void)state;
	h1 = chaos_run(77, &a);
	h2 = chaos_run(77, &b);
	h3 = chaos_run(78, &c);
	assert_true(h1 == h2);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_true(h1 != h3);
	assert_true(a.lost && a.dups && a.reordered && a.corrupted && a.queue_drops);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_perfect, test_teardown),
		cmocka_unit_test_teardown(test_timing, test_teardown),
		cmocka_unit_test_teardown(test_loss, test_teardown),
		cmocka_unit_test_teardown(test_dup_reorder, test_teardown),
		cmocka_unit_test_teardown(test_corrupt, test_teardown),
		cmocka_unit_test_teardown(test_arp_lossy, test_teardown),
		cmocka_unit_test_teardown(test_three_nodes, test_teardown),
		cmocka_unit_test_teardown(test_chained, test_teardown),
		cmocka_unit_test_teardown(test_timer_wakeup, test_teardown),
		cmocka_unit_test_teardown(test_run_outcomes, test_teardown),
		cmocka_unit_test_teardown(test_leak_check, test_teardown),
		cmocka_unit_test_teardown(test_determinism, test_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
