/* ARP (stack/arp.c): gratuitous ARP, replies, resolution and its queue,
 * retries and the rate limit, aging, the bounded cache that keeps the
 * gateway, and malformed or unsolicited ARP.  Frames in, exact frames
 * out, counters checked, every mbuf back in the pool. */
#include "stack_test.h"

#include <string.h>

static const struct rte_ether_addr zero_mac;
static uint8_t f[2048];

static int setup(void **state)
{
	(void)state;
	st_now = ST_SEC; /* not 0: catches "0 means unset" bugs */
	return 0;
}

/* Makes the stack send one ping to dst; returns tn_stack_ping's result. */
static int ping(struct tn_stack *s, uint32_t dst, uint16_t seq)
{
	return tn_stack_ping(s, dst, 7, seq, "abcd", 4, st_now);
}

/* Teaches s the peer's MAC the way a peer does: it asks for ours. */
static void learn_peer(struct tn_stack *s, const struct rte_ether_addr *mac, uint32_t ip)
{
	int n;

	st_feed(s, st_arp(RTE_ARP_OP_REQUEST, &st_mac_bcast, mac, ip, &zero_mac, ST_IP_US));
	n = st_pop(s, f, sizeof(f));
	st_assert_arp(f, n, RTE_ARP_OP_REPLY, mac, ST_IP_US, ip, mac);
	st_expect_none(s);
}

static void test_gratuitous_at_create(void **state)
{
	struct tn_stack *s = st_create(NULL, 1);
	int n = st_pop(s, f, sizeof(f));

	(void)state;
	st_assert_arp(f, n, RTE_ARP_OP_REQUEST, &st_mac_bcast, ST_IP_US, ST_IP_US, &zero_mac);
	assert_int_equal(n, 14 + 28);
	st_expect_none(s);
	st_destroy(s);
}

static void test_reply_and_learn_requester(void **state)
{
	struct tn_stack *s = st_create(NULL, 0);
	int n;

	(void)state;
	learn_peer(s, &st_mac_peer, ST_IP_PEER);
	assert_int_equal(st_stats(s).arp_replies_sent, 1);
	/* The requester was learned: the ping goes out at once, no ARP. */
	assert_int_equal(ping(s, ST_IP_PEER, 1), 0);
	n = st_pop(s, f, sizeof(f));
	st_assert_ip(f, n, &st_mac_peer, ST_IP_PEER, IPPROTO_ICMP);
	st_expect_none(s);
	assert_int_equal(st_stats(s).arp_requests_sent, 0);
	st_destroy(s);
}

static void test_request_not_for_us(void **state)
{
	struct tn_stack *s = st_create(NULL, 0);
	int n;

	(void)state;
	st_feed(s, st_arp(RTE_ARP_OP_REQUEST, &st_mac_bcast, &st_mac_peer, ST_IP_PEER, &zero_mac,
			  ST_IP(10, 0, 0, 3)));
	st_expect_none(s);
	assert_int_equal(st_stats(s).arp_not_ours, 1);
	/* Nothing was learned from it: a ping to the sender needs ARP. */
	assert_int_equal(ping(s, ST_IP_PEER, 1), 0);
	n = st_pop(s, f, sizeof(f));
	st_assert_arp(f, n, RTE_ARP_OP_REQUEST, &st_mac_bcast, ST_IP_US, ST_IP_PEER, &zero_mac);
	st_destroy(s);
}

static void test_unsolicited_reply_ignored(void **state)
{
	struct tn_stack *s = st_create(NULL, 0);
	int n;

	(void)state;
	st_feed(s, st_arp(RTE_ARP_OP_REPLY, &st_mac_us, &st_mac_peer, ST_IP_PEER, &st_mac_us,
			  ST_IP_US));
	st_expect_none(s);
	assert_int_equal(st_stats(s).arp_not_ours, 1);
	assert_int_equal(ping(s, ST_IP_PEER, 1), 0);
	n = st_pop(s, f, sizeof(f));
	st_assert_arp(f, n, RTE_ARP_OP_REQUEST, &st_mac_bcast, ST_IP_US, ST_IP_PEER, NULL);
	st_destroy(s);
}

static void bad_arp(struct tn_stack *s, void (*mutate)(uint8_t *), uint32_t len)
{
	struct rte_mbuf *m = st_arp(RTE_ARP_OP_REQUEST, &st_mac_bcast, &st_mac_peer, ST_IP_PEER,
				    &zero_mac, ST_IP_US);
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);

	if (mutate)
		mutate(p + 14);
	if (len)
		rte_pktmbuf_trim(m, m->pkt_len - len);
	st_feed(s, m);
}

static void m_hlen(uint8_t *a) { a[4] = 8; }
static void m_plen(uint8_t *a) { a[5] = 16; }
static void m_hrd(uint8_t *a) { a[1] = 6; }
static void m_pro(uint8_t *a) { a[2] = 0x86; a[3] = 0xdd; }
static void m_op(uint8_t *a) { a[7] = 9; }
static void m_bcast_sha(uint8_t *a) { memset(a + 8, 0xff, 6); }
static void m_our_spa(uint8_t *a) { memcpy(a + 14, &(uint32_t){ ST_IP_US }, 4); }

static void test_malformed(void **state)
{
	void (*mut[])(uint8_t *) = { m_hlen, m_plen, m_hrd, m_pro, m_op, m_bcast_sha, m_our_spa };
	struct tn_stack *s = st_create(NULL, 0);
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(mut) / sizeof(mut[0]); i++)
		bad_arp(s, mut[i], 0);
	bad_arp(s, NULL, 14 + 27); /* truncated body */
	bad_arp(s, NULL, 10);      /* runt */
	st_expect_none(s);
	assert_int_equal(st_stats(s).arp_bad, 8);
	assert_int_equal(st_stats(s).eth_runt, 1);
	assert_int_equal(st_stats(s).arp_replies_sent, 0);
	st_destroy(s);
}

static void test_resolve_queue_and_flush(void **state)
{
	struct tn_stack_config cfg;
	struct tn_stack *s;
	int n, i;

	(void)state;
	st_default_cfg(&cfg);
	cfg.arp_pending = 2;
	s = st_create(&cfg, 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(ping(s, ST_IP_PEER, i), 0);
	/* One request (the rest rate-limited), two queued, two dropped. */
	n = st_pop(s, f, sizeof(f));
	st_assert_arp(f, n, RTE_ARP_OP_REQUEST, &st_mac_bcast, ST_IP_US, ST_IP_PEER, &zero_mac);
	st_expect_none(s);
	assert_int_equal(st_stats(s).arp_requests_sent, 1);
	assert_int_equal(st_stats(s).arp_rate_limited, 3);
	assert_int_equal(st_stats(s).arp_pending_dropped, 2);
	st_feed(s, st_arp(RTE_ARP_OP_REPLY, &st_mac_us, &st_mac_peer, ST_IP_PEER, &st_mac_us,
			  ST_IP_US));
	for (i = 0; i < 2; i++) {
		const struct rte_icmp_hdr *ic;

		n = st_pop(s, f, sizeof(f));
		st_assert_ip(f, n, &st_mac_peer, ST_IP_PEER, IPPROTO_ICMP);
		ic = st_assert_icmp(f, n, RTE_IP_ICMP_ECHO_REQUEST, 0);
		assert_int_equal(rte_be_to_cpu_16(ic->icmp_seq_nb), i); /* in order */
	}
	st_expect_none(s);
	st_destroy(s);
}

static void test_retries_then_give_up(void **state)
{
	struct tn_stack *s = st_create(NULL, 0);
	uint64_t t0 = st_now, d;
	int n, i;

	(void)state;
	assert_int_equal(ping(s, ST_IP_PEER, 1), 0);
	assert_int_equal(st_drain(s), 1);
	d = st_advance_to(s, t0 + ST_SEC / 2);
	assert_int_equal(d, t0 + ST_SEC);
	st_expect_none(s);
	/* A new send inside the second does not send another request. */
	assert_int_equal(ping(s, ST_IP_PEER, 2), 0);
	st_expect_none(s);
	assert_int_equal(st_stats(s).arp_rate_limited, 1);
	for (i = 1; i <= 2; i++) {
		d = st_advance_to(s, t0 + i * ST_SEC);
		n = st_pop(s, f, sizeof(f));
		st_assert_arp(f, n, RTE_ARP_OP_REQUEST, &st_mac_bcast, ST_IP_US, ST_IP_PEER, NULL);
		st_expect_none(s);
		assert_int_equal(d, t0 + (i + 1) * ST_SEC);
	}
	d = st_advance_to(s, t0 + 3 * ST_SEC);
	st_expect_none(s);
	assert_int_equal(d, UINT64_MAX);
	assert_int_equal(st_stats(s).arp_requests_sent, 3);
	assert_int_equal(st_stats(s).arp_unresolved, 2);
	st_destroy(s);
}

static void test_aging(void **state)
{
	struct tn_stack_config cfg;
	struct tn_stack *s;
	uint64_t d;
	int n;

	(void)state;
	st_default_cfg(&cfg);
	cfg.arp_ttl_ns = 10 * ST_SEC;
	s = st_create(&cfg, 0);
	learn_peer(s, &st_mac_peer, ST_IP_PEER);
	d = tn_stack_timers(s, st_now);
	assert_int_equal(d, st_now + 10 * ST_SEC);
	d = st_advance_to(s, st_now + 10 * ST_SEC);
	assert_int_equal(d, UINT64_MAX);
	assert_int_equal(ping(s, ST_IP_PEER, 1), 0);
	n = st_pop(s, f, sizeof(f));
	st_assert_arp(f, n, RTE_ARP_OP_REQUEST, &st_mac_bcast, ST_IP_US, ST_IP_PEER, NULL);
	st_destroy(s);
}

/* The refresh tests' stack: ARP entries live 10 s, the peer resolved. */
static struct tn_stack *ttl10_with_peer(void)
{
	struct tn_stack_config cfg;
	struct tn_stack *s;

	st_default_cfg(&cfg);
	cfg.arp_ttl_ns = 10 * ST_SEC;
	s = st_create(&cfg, 0);
	learn_peer(s, &st_mac_peer, ST_IP_PEER);
	return s;
}

/* An echo request from ip's sender (seq): the reply goes to the peer's
 * MAC, from its entry. */
static void echo_via_peer(struct tn_stack *s, struct st_ip *ip, uint16_t seq)
{
	uint8_t b[64];
	int n;

	st_feed(s, st_ipv4(ip, b, st_echo(b, 1, seq, "xy", 2)));
	n = st_pop(s, f, sizeof(f));
	st_assert_ip(f, n, &st_mac_peer, ST_IP_PEER, IPPROTO_ICMP);
}

/* Our ping to the peer (seq): sent to its MAC while the entry lives, an
 * ARP request in its place once it expired. */
static void ping_peer(struct tn_stack *s, uint16_t seq, bool expired)
{
	int n;

	assert_int_equal(ping(s, ST_IP_PEER, seq), 0);
	n = st_pop(s, f, sizeof(f));
	if (expired)
		st_assert_arp(f, n, RTE_ARP_OP_REQUEST, &st_mac_bcast, ST_IP_US, ST_IP_PEER, NULL);
	else
		st_assert_ip(f, n, &st_mac_peer, ST_IP_PEER, IPPROTO_ICMP);
}

/* IP traffic from a host we resolved keeps its entry alive. */
static void test_refresh_on_traffic(void **state)
{
	struct st_ip ip = { .proto = IPPROTO_ICMP };
	uint64_t t0 = st_now;
	struct tn_stack *s = ttl10_with_peer();

	(void)state;
	st_advance_to(s, t0 + 8 * ST_SEC);
	echo_via_peer(s, &ip, 1);
	st_advance_to(s, t0 + 15 * ST_SEC);
	ping_peer(s, 1, false);
	/* A datagram with another source MAC neither refreshes nor moves it. */
	ip.eth_src = &st_mac_gw;
	echo_via_peer(s, &ip, 2);
	st_advance_to(s, t0 + 18 * ST_SEC);
	ping_peer(s, 2, true);
	assert_int_equal(st_stats(s).arp_requests_sent, 1);
	st_destroy(s);
}

/* Busy traffic refreshes the entry at most once per 1/1024 of the TTL
 * (tn__arp_fresh; ~9.8 ms here), but it still refreshes: the expiry
 * follows the last refresh, not the first. */
static void test_refresh_rate_limited(void **state)
{
	struct st_ip ip = { .proto = IPPROTO_ICMP };
	uint64_t t0 = st_now;
	struct tn_stack *s = ttl10_with_peer();

	(void)state;
	/* Refreshed at 8 s, skipped 1 ms later, refreshed again at 9 s. */
	st_advance_to(s, t0 + 8 * ST_SEC);
	echo_via_peer(s, &ip, 1);
	st_advance_to(s, t0 + 8 * ST_SEC + ST_SEC / 1000);
	echo_via_peer(s, &ip, 2);
	st_advance_to(s, t0 + 9 * ST_SEC);
	echo_via_peer(s, &ip, 3);
	/* Past the first refresh's expiry (18 s), before the last's (19 s). */
	st_advance_to(s, t0 + 18 * ST_SEC + ST_SEC / 2);
	ping_peer(s, 1, false);
	assert_int_equal(st_stats(s).arp_requests_sent, 0);
	st_advance_to(s, t0 + 19 * ST_SEC + ST_SEC / 2);
	ping_peer(s, 2, true);
	assert_int_equal(st_stats(s).arp_requests_sent, 1);
	st_destroy(s);
}

static void test_gateway_and_no_route(void **state)
{
	struct tn_stack_config cfg;
	struct tn_stack *s = st_create(NULL, 0);
	int n;

	(void)state;
	assert_int_equal(ping(s, ST_IP_REMOTE, 1), 0);
	n = st_pop(s, f, sizeof(f));
	st_assert_arp(f, n, RTE_ARP_OP_REQUEST, &st_mac_bcast, ST_IP_US, ST_IP_GW, NULL);
	st_feed(s, st_arp(RTE_ARP_OP_REPLY, &st_mac_us, &st_mac_gw, ST_IP_GW, &st_mac_us, ST_IP_US));
	n = st_pop(s, f, sizeof(f));
	st_assert_ip(f, n, &st_mac_gw, ST_IP_REMOTE, IPPROTO_ICMP);
	st_destroy(s);

	st_default_cfg(&cfg);
	cfg.gw = 0;
	s = st_create(&cfg, 0);
	assert_int_equal(ping(s, ST_IP_REMOTE, 1), -ENETUNREACH);
	st_expect_none(s);
	assert_int_equal(st_stats(s).ip_no_route, 1);
	st_destroy(s);
}

static void test_broadcast_no_arp(void **state)
{
	struct tn_stack *s = st_create(NULL, 0);
	int n;

	(void)state;
	assert_int_equal(ping(s, ST_IP(255, 255, 255, 255), 1), 0);
	n = st_pop(s, f, sizeof(f));
	st_assert_ip(f, n, &st_mac_bcast, ST_IP(255, 255, 255, 255), IPPROTO_ICMP);
	assert_int_equal(ping(s, ST_IP(10, 0, 0, 255), 1), 0);
	n = st_pop(s, f, sizeof(f));
	st_assert_ip(f, n, &st_mac_bcast, ST_IP(10, 0, 0, 255), IPPROTO_ICMP);
	st_expect_none(s);
	assert_int_equal(st_stats(s).arp_requests_sent, 0);
	st_destroy(s);
}

/* A flood of hosts asking for us fills the bounded table by evicting,
 * never the gateway; a flood of ARP for others creates nothing. */
static void test_flood_keeps_gateway(void **state)
{
	struct tn_stack_config cfg;
	struct tn_stack *s;
	struct rte_ether_addr mac = st_mac_peer;
	int n, i;

	(void)state;
	st_default_cfg(&cfg);
	cfg.arp_entries = 8;
	s = st_create(&cfg, 0);
	learn_peer(s, &st_mac_gw, ST_IP_GW);
	for (i = 0; i < 200; i++) {
		mac.addr_bytes[4] = (uint8_t)(i >> 8);
		mac.addr_bytes[5] = (uint8_t)i;
		st_now += 1000;
		st_feed(s, st_arp(RTE_ARP_OP_REQUEST, &st_mac_bcast, &mac,
				  ST_IP(10, 0, 0, 10 + (i % 200)), &zero_mac, ST_IP_US));
		st_feed(s, st_arp(RTE_ARP_OP_REQUEST, &st_mac_bcast, &mac,
				  ST_IP(10, 0, 0, 10 + (i % 200)), &zero_mac, ST_IP(10, 0, 0, 3)));
	}
	assert_int_equal(st_drain(s), 200);
	assert_int_equal(st_stats(s).arp_evicted, 200 - 7);
	assert_int_equal(st_stats(s).arp_not_ours, 0); /* the sender was known */
	/* The gateway is still resolved. */
	assert_int_equal(ping(s, ST_IP_REMOTE, 1), 0);
	n = st_pop(s, f, sizeof(f));
	st_assert_ip(f, n, &st_mac_gw, ST_IP_REMOTE, IPPROTO_ICMP);
	st_expect_none(s);
	/* ARP for others from unknown senders creates nothing. */
	for (i = 0; i < 50; i++)
		st_feed(s, st_arp(RTE_ARP_OP_REQUEST, &st_mac_bcast, &mac, ST_IP(10, 0, 1, i),
				  &zero_mac, ST_IP(10, 0, 0, 3)));
	assert_int_equal(st_stats(s).arp_not_ours, 50);
	assert_int_equal(st_stats(s).arp_evicted, 200 - 7);
	st_destroy(s);
}

/* With one entry, held by the gateway, nothing else can be resolved. */
static void test_cache_full_gateway_only(void **state)
{
	struct tn_stack_config cfg;
	struct tn_stack *s;

	(void)state;
	st_default_cfg(&cfg);
	cfg.arp_entries = 1;
	s = st_create(&cfg, 0);
	learn_peer(s, &st_mac_gw, ST_IP_GW);
	assert_int_equal(ping(s, ST_IP_PEER, 1), 0);
	st_expect_none(s);
	assert_int_equal(st_stats(s).arp_cache_full, 1);
	st_destroy(s);
}

/* Pending frames of an evicted entry are dropped and counted. */
static void test_evict_pending(void **state)
{
	struct tn_stack_config cfg;
	struct tn_stack *s;
	int i;

	(void)state;
	st_default_cfg(&cfg);
	cfg.arp_entries = 2;
	s = st_create(&cfg, 0);
	for (i = 0; i < 3; i++) {
		st_now += 1000;
		assert_int_equal(ping(s, ST_IP(10, 0, 0, 20 + i), 1), 0);
	}
	assert_int_equal(st_drain(s), 3);
	assert_int_equal(st_stats(s).arp_evicted, 1);
	assert_int_equal(st_stats(s).arp_pending_dropped, 1);
	st_destroy(s);
}

static int group_setup(void **state)
{
	(void)state;
	return st_group_setup("tn_test_stack_arp");
}

static int group_teardown(void **state)
{
	(void)state;
	return st_group_teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_gratuitous_at_create, setup),
		cmocka_unit_test_setup(test_reply_and_learn_requester, setup),
		cmocka_unit_test_setup(test_request_not_for_us, setup),
		cmocka_unit_test_setup(test_unsolicited_reply_ignored, setup),
		cmocka_unit_test_setup(test_malformed, setup),
		cmocka_unit_test_setup(test_resolve_queue_and_flush, setup),
		cmocka_unit_test_setup(test_retries_then_give_up, setup),
		cmocka_unit_test_setup(test_aging, setup),
		cmocka_unit_test_setup(test_refresh_on_traffic, setup),
		cmocka_unit_test_setup(test_refresh_rate_limited, setup),
		cmocka_unit_test_setup(test_gateway_and_no_route, setup),
		cmocka_unit_test_setup(test_broadcast_no_arp, setup),
		cmocka_unit_test_setup(test_flood_keeps_gateway, setup),
		cmocka_unit_test_setup(test_cache_full_gateway_only, setup),
		cmocka_unit_test_setup(test_evict_pending, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown) ? 1 : 0;
}
