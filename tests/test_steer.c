/* Software steering: on a single-queue port, core 0 hashes each frame's
 * flow to pick its core.  Both directions of a flow must land on the same
 * core (the stack owns a connection on exactly one core), and non-IP
 * traffic stays on core 0.  And an ICMP error about a flow belongs to
 * the flow's core, under RSS as under software steering (icmp_steer.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_thash.h>
#include <rte_udp.h>

#include "tn_dp_internal.h"

struct frame {
	struct rte_mbuf m;
	uint8_t data[128];
};

static void build(struct frame *f, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		  uint8_t proto, uint16_t frag)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)f->data;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	memset(f, 0, sizeof(*f));
	f->m.buf_addr = f->data;
	f->m.data_off = 0;
	f->m.data_len = f->m.pkt_len = sizeof(*eth) + sizeof(*ip) + sizeof(*udp);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->next_proto_id = proto;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	ip->fragment_offset = rte_cpu_to_be_16(frag);
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(dport);
}

static void test_symmetric(void **state)
{
	struct frame a, b;
	unsigned spread[8] = {0};

	srand(7);
	for (int i = 0; i < 20000; i++) {
		uint32_t s = (uint32_t)rand(), d = (uint32_t)rand();
		uint16_t sp = (uint16_t)rand(), dp = (uint16_t)rand();
		uint8_t proto = (i & 1) ? IPPROTO_UDP : IPPROTO_TCP;

		build(&a, s, d, sp, dp, proto, 0);
		build(&b, d, s, dp, sp, proto, 0);
		for (unsigned n = 2; n <= 8; n *= 2)
			assert_int_equal(tn__flow_core(&a.m, n), tn__flow_core(&b.m, n));
		spread[tn__flow_core(&a.m, 8)]++;
	}
	/* And flows spread over the cores (each gets a fair share). */
	for (int c = 0; c < 8; c++)
		assert_true(spread[c] > 20000 / 8 / 2);
}

static void test_fragments_and_non_ip(void **state)
{
	struct frame a, b;

	/* A later fragment carries no ports: it must go where the addresses
	 * alone send it, in both directions. */
	build(&a, 1, 2, 0, 0, IPPROTO_UDP, 100);
	build(&b, 2, 1, 0, 0, IPPROTO_UDP, 100);
	assert_int_equal(tn__flow_core(&a.m, 4), tn__flow_core(&b.m, 4));
	/* ARP and other EtherTypes: core 0. */
	build(&a, 1, 2, 3, 4, IPPROTO_UDP, 0);
	((struct rte_ether_hdr *)a.data)->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	assert_int_equal(tn__flow_core(&a.m, 4), 0);
	/* A runt: core 0, no read past the frame. */
	a.m.data_len = 10;
	assert_int_equal(tn__flow_core(&a.m, 4), 0);
}

/* f: an ICMP error (type, from router to us) quoting a datagram of proto
 * we sent, us:lport -> peer:pport. */
static void build_icmp_err(struct frame *f, uint8_t type, uint32_t router, uint32_t us,
			   uint32_t peer, uint16_t lport, uint16_t pport, uint8_t proto)
{
	struct frame inner;
	struct rte_ipv4_hdr *ip;
	uint8_t *icmp;

	build(&inner, us, peer, lport, pport, proto, 0);
	build(f, router, us, 0, 0, IPPROTO_ICMP, 0);
	ip = (struct rte_ipv4_hdr *)(f->data + RTE_ETHER_HDR_LEN);
	icmp = (uint8_t *)(ip + 1);
	memset(icmp, 0, 8);
	icmp[0] = type;
	icmp[1] = 3;
	/* The quoted IPv4 header and the 8 bytes after it. */
	memcpy(icmp + 8, inner.data + RTE_ETHER_HDR_LEN, sizeof(*ip) + 8);
	f->m.data_len = f->m.pkt_len = RTE_ETHER_HDR_LEN + sizeof(*ip) + 8 + sizeof(*ip) + 8;
}

static void test_icmp_errors(void **state)
{
	struct tn_stack_steer soft, rss;
	struct frame reply, err;
	unsigned hit[2] = {0};

	memset(&soft, 0, sizeof(soft));
	soft.kind = TN_STEER_SOFT;
	memcpy(soft.key, tn__rss_key, sizeof(soft.key));
	soft.n = 4;
	memset(&rss, 0, sizeof(rss));
	rss.kind = TN_STEER_RSS;
	memcpy(rss.key, tn__rss_key, sizeof(rss.key));
	rss.reta_size = 128;
	for (unsigned i = 0; i < rss.reta_size; i++)
		rss.reta[i] = (uint16_t)(i % 3);
	srand(11);
	for (int i = 0; i < 5000; i++) {
		uint32_t us = (uint32_t)rand(), peer = (uint32_t)rand(), router = (uint32_t)rand();
		uint16_t lp = (uint16_t)rand(), pp = (uint16_t)rand();
		uint8_t proto = (i & 1) ? IPPROTO_UDP : IPPROTO_TCP;
		uint32_t tuple[3] = {peer, us, (uint32_t)pp << 16 | lp};
		int want_rss = rss.reta[rte_softrss(tuple, 3, rss.key) % rss.reta_size];
		int soft_core;

		/* The flow's own packets: peer:pport -> us:lport. */
		build(&reply, peer, us, pp, lp, proto, 0);
		build_icmp_err(&err, (i & 2) ? 3 : 11, router, us, peer, lp, pp, proto);
		soft_core = tn__icmp_err_owner(&soft, &err.m);
		assert_int_equal(soft_core, (int)tn__flow_core(&reply.m, 4));
		assert_int_equal(tn__icmp_err_owner(&rss, &err.m), want_rss);
		/* Where the error itself would land is often elsewhere. */
		hit[tn__flow_core(&err.m, 4) == (unsigned)soft_core]++;
	}
	assert_true(hit[0] > 1000);

	/* Not errors about a UDP/TCP flow: -1. */
	build_icmp_err(&err, 8, 1, 2, 3, 4, 5, IPPROTO_UDP); /* an echo request */
	assert_int_equal(tn__icmp_err_owner(&soft, &err.m), -1);
	build_icmp_err(&err, 3, 1, 2, 3, 4, 5, IPPROTO_ICMP); /* about an ICMP message */
	assert_int_equal(tn__icmp_err_owner(&soft, &err.m), -1);
	build(&reply, 1, 2, 3, 4, IPPROTO_UDP, 0);
	assert_int_equal(tn__icmp_err_owner(&soft, &reply.m), -1);
	build_icmp_err(&err, 3, 1, 2, 3, 4, 5, IPPROTO_UDP);
	err.m.data_len -= 5; /* the quoted ports cut short */
	assert_int_equal(tn__icmp_err_owner(&soft, &err.m), -1);
	err.m.data_len += 1; /* all four port bytes: enough */
	assert_true(tn__icmp_err_owner(&soft, &err.m) >= 0);
	soft.kind = TN_STEER_NONE;
	assert_int_equal(tn__icmp_err_owner(&soft, &err.m), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symmetric),
		cmocka_unit_test(test_fragments_and_non_ip),
		cmocka_unit_test(test_icmp_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
