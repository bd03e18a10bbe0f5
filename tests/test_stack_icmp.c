/* ICMP (stack/icmp.c): echo replies (exact), checksums, broadcasts,
 * large fragmented pings, errors received (and truncated ones), errors
 * sent (rate limit, the RFC 1122 "never about" rules), and two stacks
 * pinging each other over a simulated wire. */
#include "stack_test.h"

#include <string.h>

#include "tn_stack_internal.h" /* tn__icmp_error, for the suppression rules */

static uint8_t f[4096];
static uint8_t pl[8192];
static const struct rte_ether_addr zero_mac;

static int setup(void **state)
{
	(void)state;
	st_now = ST_SEC;
	for (unsigned i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)(i * 13 + 1);
	return 0;
}

static struct tn_stack *create_known(void)
{
	struct tn_stack *s = st_create(NULL, 0);

	st_feed(s, st_arp(RTE_ARP_OP_REQUEST, &st_mac_bcast, &st_mac_peer, ST_IP_PEER, &zero_mac,
			  ST_IP_US));
	assert_int_equal(st_drain(s), 1);
	return s;
}

static void feed_icmp(struct tn_stack *s, uint32_t dst, const uint8_t *msg, uint32_t len)
{
	struct st_ip ip = { .proto = IPPROTO_ICMP, .dst = dst };

	st_feed(s, st_ipv4(&ip, msg, len));
}

static void test_echo_reply_exact(void **state)
{
	struct tn_stack *s = create_known();
	const struct rte_ipv4_hdr *h;
	const struct rte_icmp_hdr *ic;
	uint8_t b[256];
	uint32_t n = st_echo(b, 0xbeef, 0x0102, pl, 56);
	int len;

	(void)state;
	feed_icmp(s, 0, b, n);
	len = st_pop(s, f, sizeof(f));
	assert_int_equal(len, 14 + 20 + 8 + 56);
	h = st_assert_ip(f, len, &st_mac_peer, ST_IP_PEER, IPPROTO_ICMP);
	assert_int_equal(h->src_addr, ST_IP_US);
	ic = st_assert_icmp(f, len, RTE_IP_ICMP_ECHO_REPLY, 0);
	assert_int_equal(rte_be_to_cpu_16(ic->icmp_ident), 0xbeef);
	assert_int_equal(rte_be_to_cpu_16(ic->icmp_seq_nb), 0x0102);
	assert_memory_equal(ic + 1, pl, 56);
	st_expect_none(s);
	assert_int_equal(st_stats(s).icmp_echo_replied, 1);
	st_destroy(s);
}

static void test_bad_icmp(void **state)
{
	struct tn_stack *s = create_known();
	uint8_t b[256];
	uint32_t n = st_echo(b, 1, 1, pl, 16);

	(void)state;
	b[10] ^= 1; /* bad checksum */
	feed_icmp(s, 0, b, n);
	feed_icmp(s, 0, b, 4); /* shorter than a header */
	/* Echo to the broadcast address: not answered. */
	n = st_echo(b, 1, 1, pl, 16);
	feed_icmp(s, ST_IP(10, 0, 0, 255), b, n);
	feed_icmp(s, ST_IP(255, 255, 255, 255), b, n);
	/* A type we do not handle (timestamp). */
	n = st_icmp(b, 13, 0, 0, pl, 12);
	feed_icmp(s, 0, b, n);
	st_expect_none(s);
	assert_int_equal(st_stats(s).icmp_bad, 2);
	assert_int_equal(st_stats(s).icmp_echo_bcast, 2);
	assert_int_equal(st_stats(s).icmp_unhandled, 1);
	st_destroy(s);
}

/* An error quoting an IPv4 header of ihl words and q bytes after it,
 * cut to total bytes of quote (0: all). */
static uint32_t err_msg(uint8_t *b, uint8_t type, uint8_t code, unsigned ihl, unsigned q,
			unsigned total)
{
	uint8_t quote[128] = { 0 };
	struct rte_ipv4_hdr *in = (struct rte_ipv4_hdr *)quote;

	in->version_ihl = 0x40 | ihl;
	in->total_length = rte_cpu_to_be_16(ihl * 4 + 8);
	in->time_to_live = 64;
	in->next_proto_id = IPPROTO_UDP;
	in->src_addr = ST_IP_US;
	in->dst_addr = ST_IP_REMOTE;
	memcpy(quote + ihl * 4, "\x04\xd2\x00\x35\x00\x08\x00\x00", q < 8 ? q : 8);
	return st_icmp(b, type, code, 0, quote, total ? total : ihl * 4 + q);
}

static void test_errors_received(void **state)
{
	struct tn_stack *s = create_known();
	uint8_t b[256];

	(void)state;
	feed_icmp(s, 0, b, err_msg(b, 3, 3, 5, 8, 0));   /* port unreachable */
	feed_icmp(s, 0, b, err_msg(b, 11, 0, 5, 8, 0));  /* time exceeded */
	feed_icmp(s, 0, b, err_msg(b, 3, 4, 6, 8, 0));   /* with options */
	feed_icmp(s, 0, b, err_msg(b, 3, 3, 5, 0, 10));  /* half a header */
	feed_icmp(s, 0, b, err_msg(b, 3, 3, 5, 4, 0));   /* 4 bytes of UDP */
	feed_icmp(s, 0, b, err_msg(b, 3, 3, 4, 8, 0));   /* IHL 4 */
	feed_icmp(s, 0, b, err_msg(b, 12, 0, 15, 8, 40)); /* IHL past the quote */
	feed_icmp(s, 0, b, st_icmp(b, 3, 1, 0, NULL, 0)); /* nothing quoted */
	st_expect_none(s);
	assert_int_equal(st_stats(s).icmp_errors_rx, 3);
	assert_int_equal(st_stats(s).icmp_err_truncated, 5);
	st_destroy(s);
}

static void test_error_rate_limit(void **state)
{
	struct tn_stack *s = create_known();
	struct st_ip ip = { .proto = IPPROTO_UDP };
	uint8_t b[64];
	uint32_t n = st_udp(b, 1000, 9, pl, 4);
	int i;

	(void)state;
	for (i = 0; i < 20; i++)
		st_feed(s, st_ipv4(&ip, b, n));
	assert_int_equal(st_drain(s), 10);
	assert_int_equal(st_stats(s).icmp_rate_limited, 10);
	/* 100 per second: 50 ms buys 5 more. */
	st_now += 50000000;
	for (i = 0; i < 20; i++)
		st_feed(s, st_ipv4(&ip, b, n));
	assert_int_equal(st_drain(s), 5);
	assert_int_equal(st_stats(s).udp_no_port, 40);
	st_destroy(s);
}

static void test_error_never_about(void **state)
{
	struct tn_stack *s = create_known();
	struct st_ip ip = { .proto = IPPROTO_UDP, .dst = ST_IP(10, 0, 0, 255) };
	struct rte_mbuf *m;
	uint8_t b[256];
	uint32_t n = st_udp(b, 1000, 9, pl, 4);

	(void)state;
	/* A UDP broadcast to a closed port. */
	st_feed(s, st_ipv4(&ip, b, n));
	/* Called directly as UDP will: about an ICMP error, a non-first
	 * fragment, a non-unicast source. */
	ip.dst = 0;
	ip.proto = IPPROTO_ICMP;
	m = st_ipv4(&ip, b, err_msg(b, 3, 3, 5, 8, 0));
	rte_pktmbuf_adj(m, 14);
	tn__icmp_error(s, m, 3, 3);
	rte_pktmbuf_free(m);
	ip.proto = IPPROTO_UDP;
	ip.frag_ofs = 800;
	m = st_ipv4(&ip, pl, 16);
	rte_pktmbuf_adj(m, 14);
	tn__icmp_error(s, m, 3, 3);
	rte_pktmbuf_free(m);
	ip.frag_ofs = 0;
	ip.src = ST_IP(224, 0, 0, 5);
	m = st_ipv4(&ip, pl, 16);
	rte_pktmbuf_adj(m, 14);
	tn__icmp_error(s, m, 3, 3);
	rte_pktmbuf_free(m);
	st_expect_none(s);
	assert_int_equal(st_stats(s).icmp_err_suppressed, 4);
	/* About an echo request it is allowed. */
	ip.src = 0; /* (the peer) */
	ip.proto = IPPROTO_ICMP;
	m = st_ipv4(&ip, b, st_echo(b, 1, 1, pl, 8));
	rte_pktmbuf_adj(m, 14);
	tn__icmp_error(s, m, 3, 2);
	rte_pktmbuf_free(m);
	assert_int_equal(st_drain(s), 1);
	st_destroy(s);
}

/* A 4000-byte ping arrives in fragments; the reply leaves in fragments
 * carrying the same data. */
static void test_large_ping_fragmented(void **state)
{
	struct tn_stack *s = create_known();
	static uint8_t em[5000], got[5000];
	uint32_t n = st_echo(em, 9, 9, pl, 4000), off, got_len = 0;
	int len;

	(void)state;
	for (off = 0; off < n; off += 1480) {
		struct st_ip ip = { .proto = IPPROTO_ICMP, .id = 77, .frag_ofs = off,
				    .mf = off + 1480 < n };

		st_feed(s, st_ipv4(&ip, em + off, off + 1480 < n ? 1480 : n - off));
	}
	while ((len = st_pop(s, f, sizeof(f))) > 0) {
		st_assert_ip(f, len, &st_mac_peer, ST_IP_PEER, IPPROTO_ICMP);
		memcpy(got + got_len, f + 34, len - 34);
		got_len += len - 34;
	}
	assert_int_equal(got_len, n);
	assert_int_equal(got[0], RTE_IP_ICMP_ECHO_REPLY);
	assert_int_equal(rte_raw_cksum(got, n), 0xffff);
	assert_memory_equal(got + 4, em + 4, n - 4);
	assert_int_equal(st_stats(s).ip_frag_tx, 3);
	st_destroy(s);
}

/* ---- two stacks on a simulated wire ---- */

/* Moves every frame each stack sends into the other; returns how many. */
static unsigned wire(struct tn_stack *a, struct tn_stack *b)
{
	struct rte_mbuf *m[64];
	unsigned moved = 0, k;

	do {
		k = tn_stack_output(a, m, 64);
		tn_stack_input(b, m, k, st_now);
		moved += k;
		k = tn_stack_output(b, m, 64);
		tn_stack_input(a, m, k, st_now);
		moved += k;
	} while (k);
	return moved;
}

static void test_two_stacks(void **state)
{
	struct tn_stack_config ca, cb;
	struct tn_stack *a, *b;
	uint64_t before;

	(void)state;
	st_default_cfg(&ca);
	st_default_cfg(&cb);
	memcpy(cb.mac, st_mac_peer.addr_bytes, 6);
	cb.ip = ST_IP_PEER;
	cb.seed = 7;
	a = st_create(&ca, 1);
	b = st_create(&cb, 1);
	wire(a, b); /* the gratuitous ARPs */
	before = st_stats(a).icmp_echo_reply_rx;
	assert_int_equal(tn_stack_ping(a, ST_IP_PEER, 1, 1, pl, 56, st_now), 0);
	/* ARP request, reply, echo request, echo reply. */
	assert_int_equal(wire(a, b), 4);
	assert_int_equal(st_stats(a).icmp_echo_reply_rx, before + 1);
	assert_int_equal(st_stats(b).icmp_echo_replied, 1);
	/* Large: fragmented both ways, reassembled both ways. */
	assert_int_equal(tn_stack_ping(a, ST_IP_PEER, 1, 2, pl, 6000, st_now), 0);
	assert_int_equal(wire(a, b), 10);
	assert_int_equal(st_stats(a).icmp_echo_reply_rx, before + 2);
	assert_int_equal(st_stats(a).ip_frag_reassembled, 1);
	assert_int_equal(st_stats(b).ip_frag_reassembled, 1);
	/* No route from a: an error, nothing sent. */
	ca.gw = 0;
	tn_stack_destroy(a);
	a = st_create(&ca, 0);
	assert_int_equal(tn_stack_ping(a, ST_IP_REMOTE, 1, 3, pl, 8, st_now), -ENETUNREACH);
	st_expect_none(a);
	tn_stack_destroy(a);
	st_destroy(b);
}

static int group_setup(void **state)
{
	(void)state;
	return st_group_setup("tn_test_stack_icmp");
}

static int group_teardown(void **state)
{
	(void)state;
	return st_group_teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_echo_reply_exact, setup),
		cmocka_unit_test_setup(test_bad_icmp, setup),
		cmocka_unit_test_setup(test_errors_received, setup),
		cmocka_unit_test_setup(test_error_rate_limit, setup),
		cmocka_unit_test_setup(test_error_never_about, setup),
		cmocka_unit_test_setup(test_large_ping_fragmented, setup),
		cmocka_unit_test_setup(test_two_stacks, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown) ? 1 : 0;
}
