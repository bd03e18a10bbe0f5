/* ARP shared between instances on one link (stack/arp.c: cfg.arp_share,
 * cfg.no_garp, tn_stack_arp_learned, tn_stack_arp_update): two stacks
 * with the same address and MAC stand for two cores' stacks, and
 * relay() does what the dataplane's ARP rings do.  Frames in, exact
 * frames out, counters checked, every mbuf back in the pool. */
#include "stack_test.h"

#include <string.h>

static const struct rte_ether_addr zero_mac;
static const struct rte_ether_addr mac_new = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x99}};
static uint8_t f[2048];

static int setup(void **state)
{
	(void)state;
	st_now = ST_SEC;
	return 0;
}

/* A core's stack: core 0 sends the gratuitous ARP, the others do not. */
static struct tn_stack *core_stack(int core, unsigned arp_entries)
{
	struct tn_stack_config cfg;
	struct tn_stack *s;

	st_default_cfg(&cfg);
	cfg.arp_share = true;
	cfg.no_garp = core != 0;
	cfg.seed = 42 + (uint64_t)core;
	if (arp_entries)
		cfg.arp_entries = arp_entries;
	s = st_create(&cfg, 1);
	if (core == 0)
		assert_int_equal(st_drain(s), 1);
	st_expect_none(s);
	return s;
}

/* What the dataplane does each turn: from's bindings into to's stack. */
static unsigned relay(struct tn_stack *from, struct tn_stack *to)
{
	struct tn_arp_binding b[8];
	unsigned n, i, total = 0;

	while ((n = tn_stack_arp_learned(from, b, 8)) != 0) {
		for (i = 0; i < n; i++)
			tn_stack_arp_update(to, b[i].ip, b[i].mac, b[i].held, st_now);
		total += n;
	}
	return total;
}

static int ping(struct tn_stack *s, uint32_t dst, uint16_t seq)
{
	return tn_stack_ping(s, dst, 7, seq, "abcd", 4, st_now);
}

static void expect_ping_to(struct tn_stack *s, const struct rte_ether_addr *mac, uint32_t dst,
			   uint16_t seq)
{
	const struct rte_icmp_hdr *ic;
	int n = st_pop(s, f, sizeof(f));

	st_assert_ip(f, n, mac, dst, IPPROTO_ICMP);
	ic = st_assert_icmp(f, n, RTE_IP_ICMP_ECHO_REQUEST, 0);
	assert_int_equal(rte_be_to_cpu_16(ic->icmp_seq_nb), seq);
}

static void test_no_garp(void **state)
{
	struct tn_stack *s = core_stack(1, 0);

	(void)state;
	assert_int_equal(st_stats(s).tx_frames, 0);
	st_destroy(s);
}

/* A host asks core 0 for our address: core 0 answers and holds an entry,
 * and so may core 1, which then sends without asking. */
static void test_requester_shared(void **state)
{
	struct tn_stack *s0 = core_stack(0, 0), *s1 = core_stack(1, 0);
	struct tn_arp_binding b[4];
	int n;

	(void)state;
	st_feed(s0, st_arp(RTE_ARP_OP_REQUEST, &st_mac_bcast, &st_mac_peer, ST_IP_PEER, &zero_mac,
			   ST_IP_US));
	n = st_pop(s0, f, sizeof(f));
	st_assert_arp(f, n, RTE_ARP_OP_REPLY, &st_mac_peer, ST_IP_US, ST_IP_PEER, &st_mac_peer);
	assert_int_equal(tn_stack_arp_learned(s0, b, 4), 1);
	assert_int_equal(b[0].ip, ST_IP_PEER);
	assert_memory_equal(b[0].mac, st_mac_peer.addr_bytes, 6);
	assert_true(b[0].held);
	assert_int_equal(tn_stack_arp_learned(s0, b, 4), 0); /* taken */
	assert_int_equal(st_stats(s0).arp_shared, 1);

	assert_int_equal(tn_stack_arp_update(s1, b[0].ip, b[0].mac, b[0].held, st_now), 0);
	assert_int_equal(st_stats(s1).arp_updates, 1);
	assert_int_equal(ping(s1, ST_IP_PEER, 1), 0);
	expect_ping_to(s1, &st_mac_peer, ST_IP_PEER, 1);
	st_expect_none(s1);
	assert_int_equal(st_stats(s1).arp_requests_sent, 0);
	/* Not recorded again: no echo back to core 0. */
	assert_int_equal(tn_stack_arp_learned(s1, b, 4), 0);
	assert_int_equal(st_stats(s1).arp_shared, 0);
	tn_stack_destroy(s0);
	st_destroy(s1);
}

/* Core 1 asks; the reply lands on core 0, which holds no entry: it keeps
 * nothing itself, but core 1's queued frames leave once the binding
 * arrives.  A third core that never asked makes no entry from it. */
static void test_reply_to_other_core(void **state)
{
	struct tn_stack *s0 = core_stack(0, 0), *s1 = core_stack(1, 0), *s2 = core_stack(2, 0);
	struct tn_arp_binding b[4];
	int n, i;

	(void)state;
	for (i = 0; i < 3; i++)
		assert_int_equal(ping(s1, ST_IP_PEER, (uint16_t)i), 0);
	n = st_pop(s1, f, sizeof(f));
	st_assert_arp(f, n, RTE_ARP_OP_REQUEST, &st_mac_bcast, ST_IP_US, ST_IP_PEER, &zero_mac);
	st_expect_none(s1);
	assert_int_equal(st_stats(s1).arp_rate_limited, 2);

	st_feed(s0, st_arp(RTE_ARP_OP_REPLY, &st_mac_us, &st_mac_peer, ST_IP_PEER, &st_mac_us,
			   ST_IP_US));
	st_expect_none(s0);
	assert_int_equal(st_stats(s0).arp_not_ours, 1);
	assert_int_equal(tn_stack_arp_learned(s0, b, 4), 1);
	assert_false(b[0].held);
	/* Core 0 itself still has to ask. */
	assert_int_equal(ping(s0, ST_IP_PEER, 9), 0);
	n = st_pop(s0, f, sizeof(f));
	st_assert_arp(f, n, RTE_ARP_OP_REQUEST, &st_mac_bcast, ST_IP_US, ST_IP_PEER, &zero_mac);

	assert_int_equal(tn_stack_arp_update(s1, b[0].ip, b[0].mac, b[0].held, st_now), 0);
	for (i = 0; i < 3; i++)
		expect_ping_to(s1, &st_mac_peer, ST_IP_PEER, (uint16_t)i); /* in order */
	st_expect_none(s1);
	assert_int_equal(st_stats(s1).arp_pending_dropped, 0);
	/* The entry is resolved: no retry at the next second. */
	st_advance_to(s1, st_now + 2 * ST_SEC);
	st_expect_none(s1);
	assert_int_equal(st_stats(s1).arp_requests_sent, 1);

	assert_int_equal(tn_stack_arp_update(s2, b[0].ip, b[0].mac, b[0].held, st_now), -ENOENT);
	assert_int_equal(st_stats(s2).arp_updates, 0);
	assert_int_equal(ping(s2, ST_IP_PEER, 1), 0);
	n = st_pop(s2, f, sizeof(f));
	st_assert_arp(f, n, RTE_ARP_OP_REQUEST, &st_mac_bcast, ST_IP_US, ST_IP_PEER, &zero_mac);
	tn_stack_destroy(s0);
	tn_stack_destroy(s1);
	st_destroy(s2); /* the pool is full again once all three are gone */
}

/* Core 0 resolves what it needed; the binding, held, gives core 1 an
 * entry, which a later change of MAC moves and an update refreshes. */
static void test_resolved_moves_and_refreshes(void **state)
{
	struct tn_stack_config cfg;
	struct tn_stack *s0 = core_stack(0, 0), *s1;
	uint64_t t0 = st_now;

	(void)state;
	st_default_cfg(&cfg);
	cfg.arp_share = cfg.no_garp = true;
	cfg.arp_ttl_ns = 10 * ST_SEC;
	s1 = st_create(&cfg, 1);
	assert_int_equal(ping(s0, ST_IP_PEER, 1), 0);
	assert_int_equal(st_drain(s0), 1);
	st_feed(s0, st_arp(RTE_ARP_OP_REPLY, &st_mac_us, &st_mac_peer, ST_IP_PEER, &st_mac_us,
			   ST_IP_US));
	expect_ping_to(s0, &st_mac_peer, ST_IP_PEER, 1);
	assert_int_equal(relay(s0, s1), 1);
	assert_int_equal(tn_stack_timers(s1, st_now), t0 + 10 * ST_SEC);

	/* The peer announces a new MAC (gratuitous ARP) to core 0. */
	st_now = t0 + 8 * ST_SEC;
	st_feed(s0, st_arp(RTE_ARP_OP_REQUEST, &st_mac_bcast, &mac_new, ST_IP_PEER, &zero_mac,
			   ST_IP_PEER));
	st_expect_none(s0);
	assert_int_equal(relay(s0, s1), 1);
	assert_int_equal(ping(s1, ST_IP_PEER, 2), 0);
	expect_ping_to(s1, &mac_new, ST_IP_PEER, 2);
	/* ...and the update restarted the entry's lifetime on core 1. */
	st_advance_to(s1, t0 + 15 * ST_SEC);
	assert_int_equal(ping(s1, ST_IP_PEER, 3), 0);
	expect_ping_to(s1, &mac_new, ST_IP_PEER, 3);
	st_expect_none(s1);
	assert_int_equal(st_stats(s1).arp_updates, 2);
	assert_int_equal(st_stats(s1).arp_requests_sent, 0);
	tn_stack_destroy(s0);
	st_destroy(s1);
}

/* Gratuitous ARP from a host core 0 does not know is passed on (core 1
 * may hold it) but makes no entry; ARP between other hosts is not. */
static void test_what_is_shared(void **state)
{
	struct tn_stack *s0 = core_stack(0, 0);
	struct tn_arp_binding b[4];

	(void)state;
	st_feed(s0, st_arp(RTE_ARP_OP_REQUEST, &st_mac_bcast, &st_mac_peer, ST_IP_PEER, &zero_mac,
			   ST_IP_PEER));
	assert_int_equal(tn_stack_arp_learned(s0, b, 4), 1);
	assert_false(b[0].held);
	st_feed(s0, st_arp(RTE_ARP_OP_REQUEST, &st_mac_bcast, &st_mac_peer, ST_IP_PEER, &zero_mac,
			   ST_IP(10, 0, 0, 3)));
	/* Off-link senders and probes (sender 0.0.0.0) neither. */
	st_feed(s0, st_arp(RTE_ARP_OP_REPLY, &st_mac_us, &st_mac_peer, ST_IP_REMOTE, &st_mac_us,
			   ST_IP_US));
	st_feed(s0, st_arp(RTE_ARP_OP_REQUEST, &st_mac_bcast, &st_mac_peer, 0, &zero_mac,
			   ST_IP_US));
	assert_int_equal(st_drain(s0), 1); /* the probe is answered */
	assert_int_equal(tn_stack_arp_learned(s0, b, 4), 0);
	assert_int_equal(st_stats(s0).arp_shared, 1);
	st_destroy(s0);
}

/* Without arp_share nothing is recorded. */
static void test_off_by_default(void **state)
{
	struct tn_stack *s = st_create(NULL, 0);
	struct tn_arp_binding b[4];

	(void)state;
	st_feed(s, st_arp(RTE_ARP_OP_REQUEST, &st_mac_bcast, &st_mac_peer, ST_IP_PEER, &zero_mac,
			  ST_IP_US));
	assert_int_equal(st_drain(s), 1);
	assert_int_equal(tn_stack_arp_learned(s, b, 4), 0);
	assert_int_equal(st_stats(s).arp_shared, 0);
	st_destroy(s);
}

/* The log keeps the newest 64 and counts what it lost. */
static void test_log_bounded(void **state)
{
	struct tn_stack *s0 = core_stack(0, 128);
	struct rte_ether_addr mac = st_mac_peer;
	struct tn_arp_binding b[100];
	int i;

	(void)state;
	for (i = 0; i < 70; i++) {
		mac.addr_bytes[5] = (uint8_t)i;
		st_feed(s0, st_arp(RTE_ARP_OP_REQUEST, &st_mac_bcast, &mac,
				   ST_IP(10, 0, 0, 10 + i), &zero_mac, ST_IP_US));
	}
	assert_int_equal(st_drain(s0), 70);
	assert_int_equal(tn_stack_arp_learned(s0, b, 100), 64);
	assert_int_equal(b[0].ip, ST_IP(10, 0, 0, 16));
	assert_int_equal(b[63].ip, ST_IP(10, 0, 0, 79));
	assert_int_equal(b[63].mac[5], 69);
	assert_int_equal(st_stats(s0).arp_shared, 70);
	assert_int_equal(st_stats(s0).arp_share_lost, 6);
	st_destroy(s0);
}

/* Bindings that are not on-link unicast neighbours are refused, and a
 * full cache that holds only the gateway makes no room. */
static void test_update_refused(void **state)
{
	static const uint8_t group[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
	static const uint8_t zero[6];
	const uint8_t *peer = st_mac_peer.addr_bytes;
	struct tn_stack *s1 = core_stack(1, 1);

	(void)state;
	assert_int_equal(tn_stack_arp_update(s1, 0, peer, true, st_now), -EINVAL);
	assert_int_equal(tn_stack_arp_update(s1, ST_IP_US, peer, true, st_now), -EINVAL);
	assert_int_equal(tn_stack_arp_update(s1, ST_IP(10, 0, 0, 255), peer, true, st_now), -EINVAL);
	assert_int_equal(tn_stack_arp_update(s1, ST_IP(255, 255, 255, 255), peer, true, st_now),
			 -EINVAL);
	assert_int_equal(tn_stack_arp_update(s1, ST_IP(224, 0, 0, 1), peer, true, st_now), -EINVAL);
	assert_int_equal(tn_stack_arp_update(s1, ST_IP_REMOTE, peer, true, st_now), -EINVAL);
	assert_int_equal(tn_stack_arp_update(s1, ST_IP_PEER, zero, true, st_now), -EINVAL);
	assert_int_equal(tn_stack_arp_update(s1, ST_IP_PEER, group, true, st_now), -EINVAL);
	assert_int_equal(tn_stack_arp_update(s1, ST_IP_GW, st_mac_gw.addr_bytes, true, st_now), 0);
	assert_int_equal(tn_stack_arp_update(s1, ST_IP_PEER, peer, true, st_now), -ENOSPC);
	assert_int_equal(st_stats(s1).arp_updates, 1);
	/* The gateway's entry works. */
	assert_int_equal(ping(s1, ST_IP_REMOTE, 1), 0);
	expect_ping_to(s1, &st_mac_gw, ST_IP_REMOTE, 1);
	st_expect_none(s1);
	st_destroy(s1);
}

static int group_setup(void **state)
{
	(void)state;
	return st_group_setup("tn_test_stack_arp_share");
}

static int group_teardown(void **state)
{
	(void)state;
	return st_group_teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_no_garp, setup),
		cmocka_unit_test_setup(test_requester_shared, setup),
		cmocka_unit_test_setup(test_reply_to_other_core, setup),
		cmocka_unit_test_setup(test_resolved_moves_and_refreshes, setup),
		cmocka_unit_test_setup(test_what_is_shared, setup),
		cmocka_unit_test_setup(test_off_by_default, setup),
		cmocka_unit_test_setup(test_log_bounded, setup),
		cmocka_unit_test_setup(test_update_refused, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown) ? 1 : 0;
}
