/* IPv4 (stack/ipv4.c, ipv4_reass.c): header validation, addresses,
 * options, protocol demultiplexing, reassembly and its bad inputs
 * (overlaps, duplicates, empty, past 65,535, several last fragments, too
 * many, table floods, timeouts), and the output side: header fields, IP
 * IDs (disjoint per instance on a shared link), fragmentation.  Every drop is counted; every mbuf comes back. */
#include "stack_test.h"

#include <string.h>

static uint8_t f[4096];
static uint8_t pl[70000];

static int setup(void **state)
{
	(void)state;
	st_now = ST_SEC;
	for (unsigned i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)(i * 7 + 3);
	return 0;
}

/* A stack that knows the peer's MAC (so replies go straight out). */
static struct tn_stack *create_known(void)
{
	struct tn_stack *s = st_create(NULL, 0);
	static const struct rte_ether_addr zero;

	st_feed(s, st_arp(RTE_ARP_OP_REQUEST, &st_mac_bcast, &st_mac_peer, ST_IP_PEER, &zero,
			  ST_IP_US));
	assert_int_equal(st_drain(s), 1);
	return s;
}

/* Feeds a valid echo request with ip's header tweaks. */
static void feed_echo(struct tn_stack *s, const struct st_ip *ip, uint16_t seq, uint32_t len)
{
	uint8_t b[1600];
	uint32_t n = st_echo(b, 1, seq, pl, len);
	struct st_ip h = *ip;

	h.proto = IPPROTO_ICMP;
	st_feed(s, st_ipv4(&h, b, n));
}

static void expect_reply(struct tn_stack *s, uint16_t seq, uint32_t len)
{
	int n = st_pop(s, f, sizeof(f));
	const struct rte_icmp_hdr *ic;

	st_assert_ip(f, n, &st_mac_peer, ST_IP_PEER, IPPROTO_ICMP);
	ic = st_assert_icmp(f, n, RTE_IP_ICMP_ECHO_REPLY, 0);
	assert_int_equal(rte_be_to_cpu_16(ic->icmp_seq_nb), seq);
	assert_int_equal(n, 14 + 20 + 8 + len);
	assert_memory_equal(ic + 1, pl, len);
}

static void test_valid_and_padding(void **state)
{
	struct tn_stack *s = create_known();
	struct st_ip ip = { 0 };
	struct rte_mbuf *m;
	uint8_t b[64];
	uint32_t n;

	(void)state;
	feed_echo(s, &ip, 1, 32);
	expect_reply(s, 1, 32);
	/* A short datagram padded to the minimum frame: padding trimmed. */
	n = st_echo(b, 1, 2, pl, 4);
	ip.proto = IPPROTO_ICMP;
	m = st_ipv4(&ip, b, n);
	memset(rte_pktmbuf_append(m, 60 - m->pkt_len), 0xee, 60 - m->pkt_len);
	st_feed(s, m);
	expect_reply(s, 2, 4);
	st_expect_none(s);
	st_destroy(s);
}

static void test_bad_headers(void **state)
{
	struct tn_stack *s = create_known();
	struct tn_stack_stats st;
	struct st_ip ip = { 0 };
	struct rte_mbuf *m;
	uint8_t *p;

	(void)state;
	/* Runt Ethernet frame and a truncated IP header. */
	st_feed(s, st_mbuf(pl, 10));
	m = st_ipv4(&ip, pl, 0);
	rte_pktmbuf_trim(m, 5);
	st_feed(s, m);
	/* Version 6. */
	m = st_ipv4(&ip, pl, 8);
	p = rte_pktmbuf_mtod_offset(m, uint8_t *, 14);
	p[0] = 0x65;
	st_feed(s, m);
	/* IHL < 5 (4 and 0). */
	m = st_ipv4(&ip, pl, 8);
	p = rte_pktmbuf_mtod_offset(m, uint8_t *, 14);
	p[0] = 0x44;
	st_feed(s, m);
	m = st_ipv4(&ip, pl, 8);
	p = rte_pktmbuf_mtod_offset(m, uint8_t *, 14);
	p[0] = 0x40;
	st_feed(s, m);
	/* IHL beyond the frame. */
	m = st_ipv4(&ip, pl, 8);
	p = rte_pktmbuf_mtod_offset(m, uint8_t *, 14);
	p[0] = 0x4f;
	st_feed(s, m);
	/* Total length below the header, beyond the frame. */
	ip.tlen_delta = -10;
	st_feed(s, st_ipv4(&ip, pl, 8));
	ip.tlen_delta = 1;
	st_feed(s, st_ipv4(&ip, pl, 8));
	ip.tlen_delta = 0;
	/* Bad checksum; TTL 0. */
	ip.bad_csum = 1;
	feed_echo(s, &ip, 1, 8);
	ip.bad_csum = 0;
	ip.ttl0 = 1;
	feed_echo(s, &ip, 1, 8);
	st_expect_none(s);
	st = st_stats(s);
	assert_int_equal(st.eth_runt, 1);
	assert_int_equal(st.ip_bad_len, 4);
	assert_int_equal(st.ip_bad_version, 1);
	assert_int_equal(st.ip_bad_ihl, 2);
	assert_int_equal(st.ip_bad_csum, 1);
	assert_int_equal(st.ip_ttl_expired, 1);
	assert_int_equal(st.icmp_rx, 0);
	st_destroy(s);
}

static void test_options(void **state)
{
	static const uint8_t good[][8] = {
		{ 1, 1, 1, 0 },                   /* NOPs, end of list */
		{ 7, 7, 4, 0, 0, 0, 0, 1 },       /* record route, then NOP */
		{ 0x44, 4, 5, 0 },                /* timestamp, well-formed */
	};
	static const uint8_t bad[][8] = {
		{ 7, 0, 0, 0 },                   /* length 0 */
		{ 7, 1, 0, 0 },                   /* length 1 */
		{ 7, 9, 4, 0 },                   /* past the header */
		{ 1, 1, 1, 7 },                   /* the length byte missing */
	};
	struct tn_stack *s = create_known();
	struct st_ip ip = { 0 };
	unsigned i;

	(void)state;
	for (i = 0; i < 3; i++) {
		ip.opt = good[i];
		ip.optlen = i == 1 ? 8 : 4;
		feed_echo(s, &ip, i, 16);
		expect_reply(s, i, 16);
	}
	for (i = 0; i < 4; i++) {
		ip.opt = bad[i];
		ip.optlen = 4;
		feed_echo(s, &ip, i, 16);
	}
	st_expect_none(s);
	assert_int_equal(st_stats(s).ip_bad_options, 4);
	st_destroy(s);
}

static void test_addresses(void **state)
{
	struct tn_stack *s = create_known();
	struct tn_stack_stats st;
	struct st_ip ip = { 0 };
	uint8_t b[64];
	uint32_t n;

	(void)state;
	ip.dst = ST_IP(10, 0, 0, 3); /* someone else */
	feed_echo(s, &ip, 1, 8);
	ip.dst = 0;
	ip.eth_dst = &st_mac_bcast; /* unicast IP in a link broadcast */
	feed_echo(s, &ip, 1, 8);
	ip.eth_dst = NULL;
	ip.src = ST_IP(10, 0, 0, 255); /* broadcast source */
	feed_echo(s, &ip, 1, 8);
	ip.src = ST_IP(224, 0, 0, 1);
	feed_echo(s, &ip, 1, 8);
	ip.src = ST_IP_US;
	feed_echo(s, &ip, 1, 8);
	st_expect_none(s);
	st = st_stats(s);
	assert_int_equal(st.ip_not_ours, 2);
	assert_int_equal(st.ip_bad_src, 3);
	/* VLAN-tagged and other EtherTypes. */
	n = 0;
	memcpy(b, &st_mac_us, 6);
	memcpy(b + 6, &st_mac_peer, 6);
	b[12] = 0x81, b[13] = 0x00;
	memset(b + 14, 0, 46);
	st_feed(s, st_mbuf(b, 60));
	b[12] = 0x86, b[13] = 0xdd;
	st_feed(s, st_mbuf(b, 60));
	st = st_stats(s);
	assert_int_equal(st.eth_vlan, 1);
	assert_int_equal(st.eth_other_type, 1);
	(void)n;
	st_destroy(s);
}

static void test_demux_unreachables(void **state)
{
	struct tn_stack *s = create_known();
	struct st_ip ip = { 0 };
	const struct rte_icmp_hdr *ic;
	struct rte_mbuf *m;
	uint8_t b[64], orig[128];
	uint32_t n;
	int len;

	(void)state;
	/* UDP to a closed port: port unreachable quoting header + 8 bytes. */
	n = st_udp(b, 1000, 53, pl, 20);
	ip.proto = IPPROTO_UDP;
	ip.id = 0x1234;
	m = st_ipv4(&ip, b, n);
	memcpy(orig, rte_pktmbuf_mtod_offset(m, void *, 14), 28);
	st_feed(s, m);
	len = st_pop(s, f, sizeof(f));
	st_assert_ip(f, len, &st_mac_peer, ST_IP_PEER, IPPROTO_ICMP);
	ic = st_assert_icmp(f, len, 3, 3);
	assert_int_equal(len, 14 + 20 + 8 + 28);
	assert_memory_equal(ic + 1, orig, 28);
	/* Another protocol: protocol unreachable.  TCP is spoken: a segment
	 * with a bad checksum is TCP's to drop, quietly. */
	ip.proto = 99;
	st_feed(s, st_ipv4(&ip, pl, 4));
	len = st_pop(s, f, sizeof(f));
	st_assert_icmp(f, len, 3, 2);
	assert_int_equal(len, 14 + 20 + 8 + 24);
	ip.proto = IPPROTO_TCP;
	st_feed(s, st_ipv4(&ip, pl, 20));
	st_expect_none(s);
	assert_int_equal(st_stats(s).udp_no_port, 1);
	assert_int_equal(st_stats(s).tcp_bad_csum + st_stats(s).tcp_bad_len, 1);
	assert_int_equal(st_stats(s).ip_unknown_proto, 1);
	assert_int_equal(st_stats(s).icmp_unreach_sent, 2);
	st_destroy(s);
}

/* ---- reassembly ---- */

/* Feeds a fragment of the echo message em (em_len bytes) at off, len. */
static void feed_frag(struct tn_stack *s, uint16_t id, const uint8_t *em, uint32_t off,
		      uint32_t len, int mf)
{
	struct st_ip ip = { .proto = IPPROTO_ICMP, .id = id, .frag_ofs = off, .mf = mf };

	/* (Offsets past the message only test the checks: any bytes do.) */
	st_feed(s, st_ipv4(&ip, off + len <= 3000 ? em + off : em, len));
}

static uint32_t big_echo(uint8_t *em, uint16_t seq, uint32_t len)
{
	return st_echo(em, 1, seq, pl, len);
}

static void test_reassembly_orders(void **state)
{
	struct tn_stack *s = create_known();
	static uint8_t em[3000];
	uint32_t n = big_echo(em, 1, 2000); /* 2008 bytes */

	(void)state;
	/* In order. */
	feed_frag(s, 1, em, 0, 800, 1);
	feed_frag(s, 1, em, 800, 800, 1);
	st_expect_none(s);
	feed_frag(s, 1, em, 1600, n - 1600, 0);
	/* The reply is 2008 bytes of ICMP: two fragments at MTU 1500. */
	assert_int_equal(st_drain(s), 2);
	/* Reversed. */
	feed_frag(s, 2, em, 1600, n - 1600, 0);
	feed_frag(s, 2, em, 800, 800, 1);
	feed_frag(s, 2, em, 0, 800, 1);
	assert_int_equal(st_drain(s), 2);
	assert_int_equal(st_stats(s).ip_frag_rx, 6);
	assert_int_equal(st_stats(s).ip_frag_reassembled, 2);
	assert_int_equal(st_stats(s).icmp_echo_replied, 2);
	st_destroy(s);
}

static void test_fragment_prechecks(void **state)
{
	struct tn_stack *s = create_known();
	static uint8_t em[3000];

	(void)state;
	big_echo(em, 1, 2000);
	feed_frag(s, 3, em, 0, 0, 1);         /* empty */
	feed_frag(s, 3, em, 800, 0, 0);       /* empty last */
	feed_frag(s, 3, em, 0, 803, 1);       /* not a multiple of 8 */
	feed_frag(s, 3, em, 65528, 8, 0);     /* ends past 65,535 */
	feed_frag(s, 3, em, 65512, 8, 1);     /* so does this, with its header */
	st_expect_none(s);
	assert_int_equal(st_stats(s).ip_frag_bad, 5);
	assert_int_equal(rte_mempool_avail_count(st_pool), ST_POOL_N);
	st_destroy(s);
}

static void test_overlap_duplicate_lasts(void **state)
{
	struct tn_stack *s = create_known();
	static uint8_t em[3000];
	uint32_t n = big_echo(em, 1, 2000);

	(void)state;
	/* Overlap: [0,800) [400,1200) [1200,end). */
	feed_frag(s, 4, em, 0, 800, 1);
	feed_frag(s, 4, em, 400, 800, 1);
	feed_frag(s, 4, em, 1200, n - 1200, 0);
	/* Duplicate middle: [0,800) [800,1600) twice [1600,end). */
	feed_frag(s, 5, em, 0, 800, 1);
	feed_frag(s, 5, em, 800, 800, 1);
	feed_frag(s, 5, em, 800, 800, 1);
	feed_frag(s, 5, em, 1600, n - 1600, 0);
	/* Two last fragments. */
	feed_frag(s, 6, em, 1600, n - 1600, 0);
	feed_frag(s, 6, em, 800, 800, 0);
	/* A duplicated first one. */
	feed_frag(s, 7, em, 0, 800, 1);
	feed_frag(s, 7, em, 0, 800, 1);
	/* Overlap that fills the count exactly while leaving a hole. */
	feed_frag(s, 8, em, 0, 808, 1);
	feed_frag(s, 8, em, 800, 800, 1);
	feed_frag(s, 8, em, 1608, n - 1608, 0);
	st_expect_none(s);
	assert_int_equal(st_stats(s).ip_frag_reassembled, 0);
	assert_true(st_stats(s).ip_frag_dropped >= 10);
	/* Whatever the table still holds times out. */
	st_advance_to(s, st_now + 3 * ST_SEC);
	assert_int_equal(rte_mempool_avail_count(st_pool), ST_POOL_N);
	assert_int_equal(st_stats(s).ip_frag_rx,
			 st_stats(s).ip_frag_dropped + st_stats(s).ip_frag_timeout);
	st_destroy(s);
}

static void test_too_many_fragments(void **state)
{
	struct tn_stack *s = create_known();
	static uint8_t em[3000];
	uint32_t n = big_echo(em, 1, 1000), i;

	(void)state;
	/* 1008 bytes in 16 fragments of 64 (rte_ip_frag keeps 8). */
	for (i = 0; i + 64 < n; i += 64)
		feed_frag(s, 9, em, i, 64, 1);
	feed_frag(s, 9, em, i, n - i, 0);
	st_expect_none(s);
	assert_int_equal(st_stats(s).ip_frag_reassembled, 0);
	st_advance_to(s, st_now + 3 * ST_SEC);
	assert_int_equal(st_stats(s).ip_frag_rx,
			 st_stats(s).ip_frag_dropped + st_stats(s).ip_frag_timeout);
	assert_int_equal(rte_mempool_avail_count(st_pool), ST_POOL_N);
	st_destroy(s);
}

static void test_table_flood_and_timeout(void **state)
{
	struct tn_stack *s = create_known();
	static uint8_t em[3000];
	unsigned held, i;
	uint64_t t0 = st_now, d;

	(void)state;
	big_echo(em, 1, 2000);
	for (i = 0; i < 200; i++)
		feed_frag(s, 100 + i, em, 0, 800, 1);
	held = ST_POOL_N - rte_mempool_avail_count(st_pool);
	assert_true(held <= 32);
	assert_int_equal(st_stats(s).ip_frag_dropped, 200 - held);
	d = tn_stack_timers(s, st_now);
	assert_true(d > st_now && d <= t0 + 2 * ST_SEC + 1);
	/* Not yet: a flow lives 2 s. */
	st_advance_to(s, t0 + 2 * ST_SEC);
	assert_int_equal(ST_POOL_N - rte_mempool_avail_count(st_pool), held);
	d = st_advance_to(s, t0 + 2 * ST_SEC + 1);
	assert_int_equal(rte_mempool_avail_count(st_pool), ST_POOL_N);
	assert_int_equal(st_stats(s).ip_frag_timeout, held);
	assert_int_equal(d, t0 + 60 * ST_SEC); /* only the peer's ARP entry left */
	/* The table works again afterwards. */
	uint32_t n = big_echo(em, 1, 2000);
	feed_frag(s, 1, em, 0, 800, 1);
	feed_frag(s, 1, em, 800, n - 800, 0);
	assert_int_equal(st_drain(s), 2);
	st_destroy(s);
}

/* Datagrams that lost a fragment fill the table; a new datagram then
 * evicts the oldest of them (at least 8 ms old), not the other way. */
static void test_table_full_evicts_oldest(void **state)
{
	struct tn_stack *s = create_known();
	static uint8_t em[3000];
	unsigned i, held;
	uint32_t n = big_echo(em, 1, 2000);

	(void)state;
	/* 32 incomplete datagrams, one every 0.1 ms. */
	for (i = 0; i < 32; i++) {
		feed_frag(s, 200 + i, em, 0, 800, 1);
		st_advance_to(s, st_now + ST_SEC / 10000);
	}
	held = ST_POOL_N - rte_mempool_avail_count(st_pool);
	assert_int_equal(held, 32);
	assert_int_equal(st_stats(s).ip_frag_dropped, 0);
	/* Full, and nothing is 8 ms old yet when the flood comes: refused. */
	feed_frag(s, 300, em, 0, 800, 1);
	assert_int_equal(st_stats(s).ip_frag_dropped, 1);
	assert_int_equal(st_stats(s).ip_frag_evicted, 0);
	/* 100 ms on, a complete datagram gets in: the oldest group goes. */
	st_advance_to(s, st_now + ST_SEC / 10);
	feed_frag(s, 1, em, 0, 800, 1);
	feed_frag(s, 1, em, 800, n - 800, 0);
	assert_int_equal(st_drain(s), 2);
	assert_int_equal(st_stats(s).ip_frag_reassembled, 1);
	assert_true(st_stats(s).ip_frag_evicted >= 1);
	/* The youngest flows stay: first fragments of flows evicted are
	 * gone, the rest still held. */
	held = ST_POOL_N - rte_mempool_avail_count(st_pool);
	assert_int_equal(held, 32 - st_stats(s).ip_frag_evicted);
	st_advance_to(s, st_now + 3 * ST_SEC);
	assert_int_equal(rte_mempool_avail_count(st_pool), ST_POOL_N);
	assert_int_equal(st_stats(s).ip_frag_rx, st_stats(s).ip_frag_dropped +
			 st_stats(s).ip_frag_evicted + st_stats(s).ip_frag_timeout + 2);
	st_destroy(s);
}

/* Fragments still held when the stack is destroyed are freed. */
static void test_destroy_frees_fragments(void **state)
{
	struct tn_stack *s = create_known();
	static uint8_t em[3000];

	(void)state;
	big_echo(em, 1, 2000);
	feed_frag(s, 1, em, 0, 800, 1);
	feed_frag(s, 2, em, 800, 800, 1);
	st_destroy(s);
}

/* Input that arms a timer lowers tn_stack_next_deadline at once: a loop
 * runs tn_stack_timers only when that deadline has passed, not after
 * every received burst. */
static void test_input_lowers_deadline(void **state)
{
	struct tn_stack *s = create_known();
	static uint8_t em[3000];
	struct st_ip ip = { .src = ST_IP(10, 0, 0, 77), .proto = IPPROTO_ICMP };
	static const struct rte_ether_addr stranger = { { 2, 0, 0, 0, 0, 77 } };
	uint8_t b[100];

	(void)state;
	/* Nothing due but the peer's ARP entry, a minute away. */
	assert_true(st_advance_to(s, st_now) > st_now + 30 * ST_SEC);
	/* A first fragment: the reassembly sweep is due within a second. */
	big_echo(em, 1, 2000);
	feed_frag(s, 9, em, 0, 800, 1);
	assert_true(tn_stack_next_deadline(s) <= st_now + ST_SEC);
	st_advance_to(s, st_now + 3 * ST_SEC); /* (the fragment times out) */
	assert_true(st_advance_to(s, st_now) > st_now + 30 * ST_SEC);
	/* A ping from a host whose MAC we do not know: the reply waits for
	 * ARP, whose retry is due within a second. */
	ip.eth_src = &stranger;
	st_feed(s, st_ipv4(&ip, b, st_echo(b, 1, 1, pl, 8)));
	assert_true(tn_stack_next_deadline(s) <= st_now + ST_SEC);
	st_drain(s);
	st_destroy(s);
}

/* ---- output ---- */

static void test_output_fragments_and_ids(void **state)
{
	struct tn_stack *s = create_known();
	uint8_t got[5000];
	uint16_t id0 = 0;
	uint32_t off = 0;
	int len, i;

	(void)state;
	assert_int_equal(tn_stack_ping(s, ST_IP_PEER, 3, 4, pl, 4000, st_now), 0);
	/* 4008 bytes of ICMP: 1480 + 1480 + 1048. */
	for (i = 0; i < 3; i++) {
		const struct rte_ipv4_hdr *h;
		uint16_t fo;

		len = st_pop(s, f, sizeof(f));
		h = st_assert_ip(f, len, &st_mac_peer, ST_IP_PEER, IPPROTO_ICMP);
		fo = rte_be_to_cpu_16(h->fragment_offset);
		if (i == 0)
			id0 = rte_be_to_cpu_16(h->packet_id);
		assert_int_equal(rte_be_to_cpu_16(h->packet_id), id0);
		assert_int_equal((fo & RTE_IPV4_HDR_OFFSET_MASK) * 8, off);
		assert_int_equal(!!(fo & RTE_IPV4_HDR_MF_FLAG), i < 2);
		assert_int_equal(len - 34, i < 2 ? 1480 : 1048);
		memcpy(got + off, f + 34, len - 34);
		off += len - 34;
	}
	st_expect_none(s);
	assert_int_equal(off, 4008);
	assert_int_equal(rte_raw_cksum(got, off), 0xffff);
	assert_memory_equal(got + 8, pl, 4000);
	assert_int_equal(st_stats(s).ip_frag_tx, 3);
	/* The next datagram takes the next ID. */
	assert_int_equal(tn_stack_ping(s, ST_IP_PEER, 3, 5, pl, 10, st_now), 0);
	len = st_pop(s, f, sizeof(f));
	assert_int_equal(rte_be_to_cpu_16(((const struct rte_ipv4_hdr *)(f + 14))->packet_id),
			 (uint16_t)(id0 + 1));
	/* Too big for IPv4. */
	assert_int_equal(tn_stack_ping(s, ST_IP_PEER, 3, 6, pl, 65535, st_now), -EMSGSIZE);
	assert_int_equal(st_stats(s).ip_tx_too_big, 1);
	st_destroy(s);
}

/* Several instances on one link (one per core, one address) draw IP IDs
 * from disjoint sequences, wrapping inside them. */
static void ids_of(const struct tn_stack_steer *steer, unsigned want_step, unsigned want_self)
{
	struct tn_stack_config cfg;
	static const struct rte_ether_addr zero;
	struct tn_stack *s;
	uint16_t prev = 0;
	unsigned end = want_step * (65536 / want_step), wraps = 0;

	st_default_cfg(&cfg);
	cfg.steer = *steer;
	s = st_create(&cfg, 0);
	st_feed(s, st_arp(RTE_ARP_OP_REQUEST, &st_mac_bcast, &st_mac_peer, ST_IP_PEER, &zero,
			  ST_IP_US));
	assert_int_equal(st_drain(s), 1);
	for (unsigned i = 0; i < 65536 / want_step + 10; i++) {
		uint16_t id;

		assert_int_equal(tn_stack_ping(s, ST_IP_PEER, 3, (uint16_t)i, pl, 8, st_now), 0);
		assert_true(st_pop(s, f, sizeof(f)) > 0);
		id = rte_be_to_cpu_16(((const struct rte_ipv4_hdr *)(f + 14))->packet_id);
		assert_int_equal(id % want_step, want_self);
		assert_true(id < end);
		if (i > 0 && id != prev + want_step) {
			assert_int_equal(id, want_self); /* only a wrap may break the step */
			wraps++;
		}
		prev = id;
	}
	assert_int_equal(wraps, 1);
	st_destroy(s);
}

static void test_ids_per_instance(void **state)
{
	struct tn_stack_steer st;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.kind = TN_STEER_SOFT;
	st.n = 3;
	for (uint16_t self = 0; self < 3; self++) {
		st.self = self;
		ids_of(&st, 3, self);
	}
	/* RSS: as many sequences as queues in the table (ours included). */
	memset(&st, 0, sizeof(st));
	st.kind = TN_STEER_RSS;
	st.reta_size = 8;
	for (unsigned i = 0; i < 8; i++)
		st.reta[i] = (uint16_t)(i % 2);
	st.self = 1;
	ids_of(&st, 2, 1);
	/* One instance: every ID. */
	memset(&st, 0, sizeof(st));
	ids_of(&st, 1, 0);
}

static void test_small_mtu(void **state)
{
	struct tn_stack_config cfg;
	struct tn_stack *s;
	int len, i;

	(void)state;
	st_default_cfg(&cfg);
	cfg.mtu = 576;
	s = st_create(&cfg, 0);
	cfg.mtu = 60;
	assert_null(tn_stack_create(&cfg, st_now));
	st_feed(s, st_arp(RTE_ARP_OP_REPLY, &st_mac_us, &st_mac_peer, ST_IP_PEER, &st_mac_us,
			  ST_IP_US)); /* unsolicited: ignored */
	assert_int_equal(tn_stack_ping(s, ST_IP(255, 255, 255, 255), 1, 1, pl, 1000, st_now), 0);
	/* 1008 bytes at 556 per fragment (576 - 20, rounded to 8): 2. */
	for (i = 0; i < 2; i++) {
		len = st_pop(s, f, sizeof(f));
		st_assert_ip(f, len, &st_mac_bcast, 0, IPPROTO_ICMP);
		assert_int_equal(len - 34, i == 0 ? 552 : 1008 - 552);
	}
	st_expect_none(s);
	st_destroy(s);
}

static int group_setup(void **state)
{
	(void)state;
	return st_group_setup("tn_test_stack_ipv4");
}

static int group_teardown(void **state)
{
	(void)state;
	return st_group_teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_valid_and_padding, setup),
		cmocka_unit_test_setup(test_bad_headers, setup),
		cmocka_unit_test_setup(test_options, setup),
		cmocka_unit_test_setup(test_ids_per_instance, setup),
		cmocka_unit_test_setup(test_input_lowers_deadline, setup),
		cmocka_unit_test_setup(test_addresses, setup),
		cmocka_unit_test_setup(test_demux_unreachables, setup),
		cmocka_unit_test_setup(test_reassembly_orders, setup),
		cmocka_unit_test_setup(test_fragment_prechecks, setup),
		cmocka_unit_test_setup(test_overlap_duplicate_lasts, setup),
		cmocka_unit_test_setup(test_too_many_fragments, setup),
		cmocka_unit_test_setup(test_table_flood_and_timeout, setup),
		cmocka_unit_test_setup(test_table_full_evicts_oldest, setup),
		cmocka_unit_test_setup(test_destroy_frees_fragments, setup),
		cmocka_unit_test_setup(test_output_fragments_and_ids, setup),
		cmocka_unit_test_setup(test_small_mtu, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown) ? 1 : 0;
}
