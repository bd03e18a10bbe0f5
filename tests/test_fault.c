/* Fault injection (dataplane/fault.c): the spec parser, determinism per
 * seed and stream, the rates over many packets, delay and reorder on a
 * virtual clock, bounded held memory, and no leaked mbufs. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "eal_test.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "tn_fault.h"

#define POOL_N 8191u
#define PKT_LEN 64u
#define T0 1000000000ull /* not 0: catches "0 means unset" bugs */
#define US 1000ull

static struct rte_mempool *g_pool;

/* ---- fixture ---- */

static int group_setup(void **state)
{
	(void)state;
	if (tn_test_eal_init("tn_test_fault", NULL) != 0)
		return -1;
	/* No per-lcore cache, so the available count is exact at once. */
	g_pool = rte_pktmbuf_pool_create("test_fault", POOL_N, 0, 0,
					 RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	return g_pool ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	rte_mempool_free(g_pool);
	tn_test_eal_fini();
	return 0;
}

/* Every test must give back every mbuf. */
static int check_pool_full(void **state)
{
	(void)state;
	assert_int_equal(rte_mempool_avail_count(g_pool), POOL_N);
	return 0;
}

/* ---- helpers ---- */

/* A packet whose every 32-bit word is its sequence number. */
static struct rte_mbuf *mkpkt(uint32_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(g_pool);
	uint32_t *w;

	assert_non_null(m);
	w = (uint32_t *)rte_pktmbuf_append(m, PKT_LEN);
	assert_non_null(w);
	for (unsigned i = 0; i < PKT_LEN / 4; i++)
		w[i] = seq;
	return m;
}

static uint32_t seq_of(const struct rte_mbuf *m)
{
	return *rte_pktmbuf_mtod(m, const uint32_t *);
}

static uint64_t hash_pkt(const struct rte_mbuf *m)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (uint32_t i = 0; i < rte_pktmbuf_data_len(m); i++)
		h = (h ^ d[i]) * 1099511628211ull;
	return h ^ rte_pktmbuf_pkt_len(m);
}

static struct tn_fault_spec parse_ok(const char *s)
{
	struct tn_fault_spec sp;
	char err[128] = "";
	int rc = tn_fault_parse(s, &sp, err, sizeof(err));

	if (rc != 0)
		fail_msg("tn_fault_parse(\"%s\") = %d: %s", s, rc, err);
	return sp;
}

static struct tn_fault *mkfault(const char *spec, uint64_t stream)
{
	struct tn_fault_spec sp = parse_ok(spec);
	struct tn_fault *f = tn_fault_create(&sp, stream, g_pool);

	assert_non_null(f);
	return f;
}

/* Sends n packets seq0.. in one call; returns the output count into out. */
static uint16_t push(struct tn_fault *f, uint32_t seq0, uint16_t n, uint64_t now,
		     struct rte_mbuf **out, uint16_t cap)
{
	for (uint16_t i = 0; i < n; i++)
		out[i] = mkpkt(seq0 + i);
	return tn_fault_apply(f, out, n, cap, now);
}

static void free_all(struct rte_mbuf **pkts, uint16_t n)
{
	rte_pktmbuf_free_bulk(pkts, n);
}

/* ---- parsing ---- */

static void test_parse_good(void **state)
{
	struct tn_fault_spec s;

	(void)state;
	s = parse_ok("");
	assert_true(s.drop == 0 && s.dup == 0 && s.reorder == 0 && s.corrupt == 0);
	assert_int_equal(s.delay_us, 0);
	assert_int_equal(s.seed, 1);
	assert_int_equal(tn_fault_parse(NULL, &s, NULL, 0), 0);
	assert_int_equal(s.seed, 1);

	s = parse_ok("drop=0.05,dup=0.01,reorder=0.05,delay_us=200,corrupt=0.001,seed=7");
	assert_true(s.drop == 0.05 && s.dup == 0.01 && s.reorder == 0.05);
	assert_true(s.corrupt == 0.001);
	assert_int_equal(s.delay_us, 200);
	assert_int_equal(s.seed, 7);

	s = parse_ok("seed=18446744073709551615,drop=1,corrupt=1e-3,dup=.5,reorder=0");
	assert_true(s.seed == UINT64_MAX);
	assert_true(s.drop == 1.0 && s.corrupt == 0.001 && s.dup == 0.5 && s.reorder == 0);
	s = parse_ok("delay_us=60000000");
	assert_int_equal(s.delay_us, TN_FAULT_MAX_DELAY_US);
}

static void test_parse_bad(void **state)
{
	static const struct {
		const char *spec, *why;
	} bad[] = {
		{ "drop", "expected key=value" },
		{ "drop=", "missing value" },
		{ "drop=1.5", "[0, 1]" },
		{ "drop=-0.1", "[0, 1]" },
		{ "drop=abc", "not a number" },
		{ "drop=0.1x", "not a number" },
		{ "drop=nan", "not a number" },
		{ "drop=inf", "not a number" },
		{ "drop= 0.1", "not a number" },
		{ "foo=1", "unknown key \"foo\"" },
		{ " drop=0.1", "unknown key" },
		{ "DROP=0.1", "unknown key" },
		{ "drop=0.1,,dup=0.1", "empty item" },
		{ ",drop=0.1", "empty item" },
		{ "drop=0.1,", "empty item" },
		{ ",", "empty item" },
		{ "drop=0.1,drop=0.2", "given twice" },
		{ "seed=-1", "non-negative integer" },
		{ "seed=1.5", "non-negative integer" },
		{ "seed=0x10", "non-negative integer" },
		{ "seed=99999999999999999999999", "too large" },
		{ "delay_us=60000001", "at most" },
		{ "delay_us=", "missing value" },
	};
	struct tn_fault_spec s;
	char err[200];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		err[0] = '\0';
		rc = tn_fault_parse(bad[i].spec, &s, err, sizeof(err));
		if (rc != -EINVAL || strstr(err, bad[i].why) == NULL)
			fail_msg("\"%s\": rc %d (want %d), err \"%s\" (want \"%s\")",
				 bad[i].spec, rc, -EINVAL, err, bad[i].why);
	}
	/* No room for the message is not a crash. */
	assert_int_equal(tn_fault_parse("x=1", &s, NULL, 0), -EINVAL);
}

/* ---- determinism ---- */

#define DET_PKTS 4000
#define DET_SPEC "drop=0.1,dup=0.1,reorder=0.1,corrupt=0.1"

/* Runs DET_PKTS packets through a stream in bursts of 32 with the clock
 * moving; records a hash of every output packet, in order. */
static unsigned run_trace(const char *spec, uint64_t stream, uint64_t *trace,
			  struct tn_fault_stats *st)
{
	struct tn_fault *f = mkfault(spec, stream);
	struct rte_mbuf *pkts[128];
	unsigned n = 0;
	uint64_t now = T0;

	for (uint32_t seq = 0; seq < DET_PKTS; seq += 32, now += 300 * US) {
		uint16_t k = push(f, seq, 32, now, pkts, 128);

		for (uint16_t i = 0; i < k; i++)
			trace[n++] = hash_pkt(pkts[i]);
		free_all(pkts, k);
	}
	tn_fault_stats_get(f, st);
	tn_fault_destroy(f);
	return n;
}

static void test_determinism(void **state)
{
	static uint64_t a[2 * DET_PKTS], b[2 * DET_PKTS];
	struct tn_fault_stats sa, sb;
	unsigned na, nb;

	(void)state;
	na = run_trace(DET_SPEC ",seed=42", 3, a, &sa);
	nb = run_trace(DET_SPEC ",seed=42", 3, b, &sb);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na * sizeof(a[0]));
	assert_memory_equal(&sa, &sb, sizeof(sa));
	assert_true(sa.dropped > 0 && sa.duplicated > 0 && sa.reordered > 0 && sa.corrupted > 0);

	/* Another seed, or another stream of the same seed, decides
	 * differently. */
	nb = run_trace(DET_SPEC ",seed=43", 3, b, &sb);
	assert_true(na != nb || memcmp(a, b, na * sizeof(a[0])) != 0);
	assert_true(sa.dropped != sb.dropped || sa.duplicated != sb.duplicated ||
		    sa.reordered != sb.reordered || sa.corrupted != sb.corrupted);
	nb = run_trace(DET_SPEC ",seed=42", 4, b, &sb);
	assert_true(na != nb || memcmp(a, b, na * sizeof(a[0])) != 0);
}

/* ---- rates ---- */

/* |x - n p| within 4 binomial standard deviations. */
static void check_rate(const char *what, uint64_t x, uint64_t n, double p)
{
	double mean = (double)n * p, sd = sqrt((double)n * p * (1 - p));

	printf("%-10s %8llu of %8llu: %.5f (p %.5f, 4 sd = %.1f)\n", what,
	       (unsigned long long)x, (unsigned long long)n, (double)x / (double)n, p, 4 * sd);
	if (fabs((double)x - mean) > 4 * sd)
		fail_msg("%s: %llu of %llu, expected %.1f +- %.1f", what,
			 (unsigned long long)x, (unsigned long long)n, mean, 4 * sd);
}

static void test_rates(void **state)
{
	const uint32_t total = 400000;
	struct tn_fault *f = mkfault("drop=0.05,dup=0.01,reorder=0.05,corrupt=0.001,seed=12345", 0);
	struct rte_mbuf *pkts[128];
	struct tn_fault_stats st;
	uint64_t out = 0, survivors;
	uint64_t now = T0;
	uint16_t k;

	(void)state;
	for (uint32_t seq = 0; seq < total; seq += 32) {
		k = push(f, seq, 32, now, pkts, 128);
		out += k;
		free_all(pkts, k);
	}
	/* Whatever is still held for reordering leaves after the timeout. */
	k = tn_fault_apply(f, pkts, 0, 128, now + TN_FAULT_REORDER_TIMEOUT_NS);
	out += k;
	free_all(pkts, k);
	tn_fault_stats_get(f, &st);
	assert_int_equal(tn_fault_held(f), 0);

	assert_int_equal(st.seen, total);
	survivors = st.seen - st.dropped;
	check_rate("dropped", st.dropped, st.seen, 0.05);
	check_rate("corrupted", st.corrupted, survivors, 0.001);
	check_rate("duplicated", st.duplicated, survivors, 0.01);
	/* A packet that releases a held one is not eligible (tn_fault.h). */
	check_rate("reordered", st.reordered, survivors - st.reordered, 0.05);
	assert_int_equal(st.delayed, 0);
	assert_int_equal(st.overflow, 0);
	assert_int_equal(out, survivors + st.duplicated);
	tn_fault_destroy(f);
}

/* corrupt=1: exactly one bit differs in every packet. */
static void test_corrupt_one_bit(void **state)
{
	struct tn_fault *f = mkfault("corrupt=1", 0);
	struct rte_mbuf *pkts[32];
	uint16_t k = push(f, 0, 32, T0, pkts, 32);

	(void)state;
	assert_int_equal(k, 32);
	for (uint16_t i = 0; i < k; i++) {
		const uint32_t *w = rte_pktmbuf_mtod(pkts[i], const uint32_t *);
		int bits = 0;

		for (unsigned j = 0; j < PKT_LEN / 4; j++)
			bits += __builtin_popcount(w[j] ^ i);
		assert_int_equal(bits, 1);
	}
	free_all(pkts, k);
	tn_fault_destroy(f);
}

/* A corrupted packet loses the checksum verdicts the PMD gave it on RX
 * (the flip stands for one on the wire, before the check): a receiver
 * that trusts RX_L4_CKSUM_GOOD would otherwise take damaged data.  The
 * other flags stay. */
static void test_corrupt_clears_rx_cksum(void **state)
{
	struct tn_fault *f = mkfault("corrupt=1", 0);
	const uint64_t good = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD |
			      RTE_MBUF_F_RX_OUTER_L4_CKSUM_GOOD;
	struct rte_mbuf *m = mkpkt(3), *p[1] = { m };

	(void)state;
	m->ol_flags |= good | RTE_MBUF_F_RX_VLAN;
	assert_int_equal(tn_fault_apply(f, p, 1, 1, T0), 1);
	assert_int_equal(p[0]->ol_flags & (RTE_MBUF_F_RX_IP_CKSUM_MASK |
					   RTE_MBUF_F_RX_L4_CKSUM_MASK |
					   RTE_MBUF_F_RX_OUTER_L4_CKSUM_MASK), 0);
	assert_true(p[0]->ol_flags & RTE_MBUF_F_RX_VLAN);
	rte_pktmbuf_free(p[0]);
	tn_fault_destroy(f);
}

/* A packet whose data is shared (a clone kept for retransmission) is
 * copied before the bit flip: the other reference stays intact. */
static void test_corrupt_shared(void **state)
{
	struct tn_fault *f = mkfault("corrupt=1", 0);
	struct rte_mbuf *m = mkpkt(7), *p[1] = { m };
	struct tn_fault_stats st;
	uint64_t before = hash_pkt(m);

	(void)state;
	rte_mbuf_refcnt_update(m, 1); /* our own second reference */
	assert_int_equal(tn_fault_apply(f, p, 1, 1, T0), 1);
	assert_ptr_not_equal(p[0], m);
	assert_true(hash_pkt(p[0]) != before);
	assert_true(hash_pkt(m) == before);
	assert_int_equal(rte_mbuf_refcnt_read(m), 1);
	tn_fault_stats_get(f, &st);
	assert_int_equal(st.corrupted, 1);
	rte_pktmbuf_free(p[0]);
	rte_pktmbuf_free(m);
	tn_fault_destroy(f);
}

/* ---- delay, reorder, duplication ---- */

static void test_delay(void **state)
{
	struct tn_fault *f = mkfault("delay_us=100", 0);
	struct rte_mbuf *pkts[64];
	struct tn_fault_stats st;
	uint16_t k;

	(void)state;
	/* Burst A at T0, burst B 50 us later. */
	assert_int_equal(push(f, 0, 10, T0, pkts, 64), 0);
	assert_int_equal(push(f, 10, 10, T0 + 50 * US, pkts, 64), 0);
	assert_int_equal(tn_fault_held(f), 20);
	assert_int_equal(tn_fault_apply(f, pkts, 0, 64, T0 + 100 * US - 1), 0);

	/* A is due; B is not. */
	k = tn_fault_apply(f, pkts, 0, 64, T0 + 100 * US);
	assert_int_equal(k, 10);
	for (uint16_t i = 0; i < k; i++)
		assert_int_equal(seq_of(pkts[i]), i);
	free_all(pkts, k);
	assert_int_equal(tn_fault_apply(f, pkts, 0, 64, T0 + 150 * US - 1), 0);

	/* B comes out with a new packet C arriving: B only, C waits. */
	k = push(f, 20, 1, T0 + 150 * US, pkts, 64);
	assert_int_equal(k, 10);
	for (uint16_t i = 0; i < k; i++)
		assert_int_equal(seq_of(pkts[i]), 10 + i);
	free_all(pkts, k);
	assert_int_equal(tn_fault_held(f), 1);

	/* A small array: the due packets leave over several calls, in order. */
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(push(f, 21 + i, 1, T0 + 160 * US, pkts, 64), 0);
	k = tn_fault_apply(f, pkts, 0, 4, T0 + 260 * US);
	assert_int_equal(k, 4);
	for (uint16_t i = 0; i < k; i++)
		assert_int_equal(seq_of(pkts[i]), 20 + i);
	free_all(pkts, k);
	k = tn_fault_apply(f, pkts, 0, 4, T0 + 260 * US);
	assert_int_equal(k, 2);
	assert_int_equal(seq_of(pkts[0]), 24);
	assert_int_equal(seq_of(pkts[1]), 25);
	free_all(pkts, k);

	tn_fault_stats_get(f, &st);
	assert_int_equal(st.delayed, 26);
	assert_int_equal(tn_fault_held(f), 0);
	tn_fault_destroy(f);
}

static void expect_seqs(struct rte_mbuf **pkts, uint16_t k, const uint32_t *want, uint16_t n)
{
	assert_int_equal(k, n);
	for (uint16_t i = 0; i < n; i++)
		if (seq_of(pkts[i]) != want[i])
			fail_msg("output %u: seq %u, want %u", i, seq_of(pkts[i]), want[i]);
}

static void test_reorder(void **state)
{
	struct tn_fault *f = mkfault("reorder=1", 0);
	struct rte_mbuf *pkts[16];
	struct tn_fault_stats st;
	uint16_t k;

	(void)state;
	/* Every eligible packet is held and follows its successor. */
	k = push(f, 1, 4, T0, pkts, 16);
	expect_seqs(pkts, k, (const uint32_t[]){ 2, 1, 4, 3 }, 4);
	free_all(pkts, k);

	/* Held across calls: 5 waits, 6 releases it. */
	assert_int_equal(push(f, 5, 1, T0, pkts, 16), 0);
	assert_int_equal(tn_fault_held(f), 1);
	k = push(f, 6, 1, T0 + 500 * US, pkts, 16);
	expect_seqs(pkts, k, (const uint32_t[]){ 6, 5 }, 2);
	free_all(pkts, k);

	/* No successor: released once it waited the timeout. */
	assert_int_equal(push(f, 7, 1, T0 + 1000 * US, pkts, 16), 0);
	assert_int_equal(tn_fault_apply(f, pkts, 0, 16,
					T0 + 1000 * US + TN_FAULT_REORDER_TIMEOUT_NS - 1), 0);
	k = tn_fault_apply(f, pkts, 0, 16, T0 + 1000 * US + TN_FAULT_REORDER_TIMEOUT_NS);
	expect_seqs(pkts, k, (const uint32_t[]){ 7 }, 1);
	free_all(pkts, k);

	/* A late packet goes out before newer ones. */
	assert_int_equal(push(f, 8, 1, T0 + 3000 * US, pkts, 16), 0);
	k = push(f, 9, 3, T0 + 5000 * US, pkts, 16);
	expect_seqs(pkts, k, (const uint32_t[]){ 8, 10, 9 }, 3);
	free_all(pkts, k);
	assert_int_equal(tn_fault_held(f), 1); /* 11 */

	tn_fault_stats_get(f, &st);
	assert_int_equal(st.reordered, 4); /* 2-1, 4-3, 6-5, 10-9 */
	tn_fault_destroy(f); /* frees the held 11 */
}

/* dup=1 with an array too small: both copies leave, in order, over two
 * calls. */
static void test_dup_cap(void **state)
{
	struct tn_fault *f = mkfault("dup=1", 0);
	struct rte_mbuf *pkts[8];
	struct tn_fault_stats st;
	uint16_t k;

	(void)state;
	k = push(f, 1, 4, T0, pkts, 4);
	expect_seqs(pkts, k, (const uint32_t[]){ 1, 1, 2, 2 }, 4);
	assert_ptr_not_equal(pkts[0], pkts[1]);
	free_all(pkts, k);
	assert_int_equal(tn_fault_held(f), 4);
	k = tn_fault_apply(f, pkts, 0, 8, T0);
	expect_seqs(pkts, k, (const uint32_t[]){ 3, 3, 4, 4 }, 4);
	free_all(pkts, k);
	tn_fault_stats_get(f, &st);
	assert_int_equal(st.duplicated, 4);
	tn_fault_destroy(f);
}

/* drop=1 frees everything; no faults passes everything through. */
static void test_drop_all_and_none(void **state)
{
	struct tn_fault *f = mkfault("drop=1", 0);
	struct rte_mbuf *pkts[32];
	struct tn_fault_stats st;
	uint16_t k;

	(void)state;
	assert_int_equal(push(f, 0, 32, T0, pkts, 32), 0);
	tn_fault_stats_get(f, &st);
	assert_int_equal(st.dropped, 32);
	tn_fault_destroy(f);

	f = mkfault("", 0);
	k = push(f, 0, 32, T0, pkts, 32);
	assert_int_equal(k, 32);
	for (uint16_t i = 0; i < k; i++)
		assert_int_equal(seq_of(pkts[i]), i);
	free_all(pkts, k);
	tn_fault_destroy(f);
}

/* At most TN_FAULT_MAX_HELD wait; the rest are freed and counted. */
static void test_bounded(void **state)
{
	const uint32_t total = TN_FAULT_MAX_HELD + 900;
	struct tn_fault *f = mkfault("delay_us=1000", 0);
	struct rte_mbuf *pkts[32];
	struct tn_fault_stats st;
	uint32_t got = 0;
	uint16_t k;

	(void)state;
	for (uint32_t seq = 0; seq < total; seq += 20)
		assert_int_equal(push(f, seq, (uint16_t)RTE_MIN(20u, total - seq), T0, pkts, 32), 0);
	assert_int_equal(tn_fault_held(f), TN_FAULT_MAX_HELD);
	tn_fault_stats_get(f, &st);
	assert_int_equal(st.overflow, total - TN_FAULT_MAX_HELD);
	assert_int_equal(rte_mempool_avail_count(g_pool), POOL_N - TN_FAULT_MAX_HELD);

	while ((k = tn_fault_apply(f, pkts, 0, 32, T0 + 1000 * US)) > 0) {
		for (uint16_t i = 0; i < k; i++)
			assert_int_equal(seq_of(pkts[i]), got + i);
		got += k;
		free_all(pkts, k);
	}
	assert_int_equal(got, TN_FAULT_MAX_HELD);

	/* Destroy frees what is still held. */
	assert_int_equal(push(f, 0, 30, T0 + 2000 * US, pkts, 32), 0);
	tn_fault_destroy(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test_teardown(test_determinism, check_pool_full),
		cmocka_unit_test_teardown(test_rates, check_pool_full),
		cmocka_unit_test_teardown(test_corrupt_one_bit, check_pool_full),
		cmocka_unit_test_teardown(test_corrupt_shared, check_pool_full),
		cmocka_unit_test_teardown(test_corrupt_clears_rx_cksum, check_pool_full),
		cmocka_unit_test_teardown(test_delay, check_pool_full),
		cmocka_unit_test_teardown(test_reorder, check_pool_full),
		cmocka_unit_test_teardown(test_dup_cap, check_pool_full),
		cmocka_unit_test_teardown(test_drop_all_and_none, check_pool_full),
		cmocka_unit_test_teardown(test_bounded, check_pool_full),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
