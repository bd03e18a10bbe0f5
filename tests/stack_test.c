/* The stack tests' fixture (see stack_test.h). */
#include "stack_test.h"
#include "eal_test.h"

#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mempool.h>
#include <rte_tcp.h>

struct rte_mempool *st_pool;
uint64_t st_now;

const struct rte_ether_addr st_mac_us = { { 0x02, 0, 0, 0, 0, 0x01 } };
const struct rte_ether_addr st_mac_peer = { { 0x02, 0, 0, 0, 0, 0x02 } };
const struct rte_ether_addr st_mac_gw = { { 0x02, 0, 0, 0, 0, 0xfe } };
const struct rte_ether_addr st_mac_bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };

int st_group_setup(const char *prefix)
{
	if (tn_test_eal_init(prefix, NULL) != 0)
		return -1;
	/* No per-lcore cache, so the available count is exact at once. */
	st_pool = rte_pktmbuf_pool_create("st_pool", ST_POOL_N, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  SOCKET_ID_ANY);
	return st_pool ? 0 : -1;
}

int st_group_teardown(void)
{
	rte_mempool_free(st_pool);
	tn_test_eal_fini();
	return 0;
}

void st_default_cfg(struct tn_stack_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg->mac, st_mac_us.addr_bytes, 6);
	cfg->ip = ST_IP_US;
	cfg->prefix_len = 24;
	cfg->gw = ST_IP_GW;
	cfg->mp = st_pool;
	cfg->seed = 42;
}

struct tn_stack *st_create(const struct tn_stack_config *cfg, int keep_garp)
{
	struct tn_stack_config c;
	struct tn_stack *s;

	if (!cfg) {
		st_default_cfg(&c);
		cfg = &c;
	}
	s = tn_stack_create(cfg, st_now);
	assert_non_null(s);
	if (!keep_garp)
		assert_int_equal(st_drain(s), 1);
	return s;
}

void st_destroy(struct tn_stack *s)
{
	tn_stack_destroy(s);
	assert_int_equal(rte_mempool_avail_count(st_pool), ST_POOL_N);
}

struct rte_mbuf *st_mbuf(const void *bytes, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(st_pool);
	void *p;

	assert_non_null(m);
	p = rte_pktmbuf_append(m, len);
	assert_non_null(p);
	memcpy(p, bytes, len);
	return m;
}

static uint32_t put_eth(uint8_t *b, const struct rte_ether_addr *dst,
			const struct rte_ether_addr *src, uint16_t type)
{
	struct rte_ether_hdr *e = (struct rte_ether_hdr *)b;

	e->dst_addr = *dst;
	e->src_addr = *src;
	e->ether_type = rte_cpu_to_be_16(type);
	return sizeof(*e);
}

struct rte_mbuf *st_arp(uint16_t op, const struct rte_ether_addr *eth_dst,
			const struct rte_ether_addr *sha, uint32_t spa,
			const struct rte_ether_addr *tha, uint32_t tpa)
{
	uint8_t b[64] = { 0 };
	uint32_t n = put_eth(b, eth_dst, sha, RTE_ETHER_TYPE_ARP);
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(b + n);

	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = 6;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	a->arp_data.arp_sha = *sha;
	a->arp_data.arp_tha = *tha;
	memcpy(&a->arp_data.arp_sip, &spa, 4);
	memcpy(&a->arp_data.arp_tip, &tpa, 4);
	return st_mbuf(b, 60); /* padded to the minimum frame */
}

struct rte_mbuf *st_ipv4(const struct st_ip *ip, const void *payload, uint32_t len)
{
	uint8_t b[RTE_MBUF_DEFAULT_DATAROOM];
	uint32_t n = put_eth(b, ip->eth_dst ? ip->eth_dst : &st_mac_us,
			     ip->eth_src ? ip->eth_src : &st_mac_peer, RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)(b + n);
	uint32_t hl = sizeof(*h) + ip->optlen;

	assert_true(n + hl + len <= sizeof(b));
	memset(h, 0, sizeof(*h));
	h->version_ihl = 0x40 | (hl / 4);
	h->total_length = rte_cpu_to_be_16(hl + len + ip->tlen_delta);
	h->packet_id = rte_cpu_to_be_16(ip->id);
	h->fragment_offset = rte_cpu_to_be_16((ip->frag_ofs / 8) | (ip->mf ? RTE_IPV4_HDR_MF_FLAG : 0));
	h->time_to_live = ip->ttl0 ? 0 : ip->ttl ? ip->ttl : 64;
	h->next_proto_id = ip->proto;
	h->src_addr = ip->src ? ip->src : ST_IP_PEER;
	h->dst_addr = ip->dst ? ip->dst : ST_IP_US;
	if (ip->optlen)
		memcpy(h + 1, ip->opt, ip->optlen);
	h->hdr_checksum = ~rte_raw_cksum(h, hl);
	if (ip->bad_csum)
		h->hdr_checksum ^= 0x1234;
	memcpy(b + n + hl, payload, len);
	return st_mbuf(b, n + hl + len);
}

uint32_t st_icmp(uint8_t *buf, uint8_t type, uint8_t code, uint32_t rest, const void *data,
		 uint32_t len)
{
	struct rte_icmp_hdr *h = (struct rte_icmp_hdr *)buf;

	h->icmp_type = type;
	h->icmp_code = code;
	h->icmp_cksum = 0;
	memcpy(&h->icmp_ident, &rest, 4);
	if (len)
		memcpy(h + 1, data, len);
	h->icmp_cksum = ~rte_raw_cksum(buf, 8 + len);
	return 8 + len;
}

uint32_t st_echo(uint8_t *buf, uint16_t id, uint16_t seq, const void *data, uint32_t len)
{
	uint32_t rest = (uint32_t)rte_cpu_to_be_16(id) | ((uint32_t)rte_cpu_to_be_16(seq) << 16);

	return st_icmp(buf, RTE_IP_ICMP_ECHO_REQUEST, 0, rest, data, len);
}

uint32_t st_udp(uint8_t *buf, uint16_t sport, uint16_t dport, const void *data, uint32_t len)
{
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)buf;

	u->src_port = rte_cpu_to_be_16(sport);
	u->dst_port = rte_cpu_to_be_16(dport);
	u->dgram_len = rte_cpu_to_be_16(8 + len);
	u->dgram_cksum = 0;
	if (len)
		memcpy(u + 1, data, len);
	return 8 + len;
}

static uint16_t udp_cksum(uint32_t src, uint32_t dst, const uint8_t *u, uint32_t len)
{
	struct rte_ipv4_hdr ph = {
		.version_ihl = 0x45,
		.total_length = rte_cpu_to_be_16(20 + len),
		.next_proto_id = IPPROTO_UDP,
		.src_addr = src,
		.dst_addr = dst,
	};

	return rte_ipv4_udptcp_cksum(&ph, u);
}

uint32_t st_udp_ck(uint8_t *buf, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		   const void *data, uint32_t len)
{
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)buf;
	uint32_t n = st_udp(buf, sport, dport, data, len);

	u->dgram_cksum = udp_cksum(src ? src : ST_IP_PEER, dst ? dst : ST_IP_US, buf, n);
	return n;
}

struct rte_mbuf *st_udp_frame(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
			      const struct rte_ether_addr *eth_dst, const void *data,
			      uint32_t len)
{
	static uint8_t b[RTE_MBUF_DEFAULT_DATAROOM];
	struct st_ip ip = { .proto = IPPROTO_UDP, .src = src, .dst = dst, .eth_dst = eth_dst };
	uint32_t n = st_udp_ck(b, src, dst, sport, dport, data, len);

	return st_ipv4(&ip, b, n);
}

const uint8_t *st_assert_udp(const uint8_t *f, int len, uint16_t sport, uint16_t dport,
			     uint32_t *plen)
{
	const struct rte_ipv4_hdr *h = (const struct rte_ipv4_hdr *)(f + 14);
	const struct rte_udp_hdr *u = (const struct rte_udp_hdr *)(h + 1);
	uint32_t n = len - 14 - 20;

	assert_int_equal(h->next_proto_id, IPPROTO_UDP);
	assert_int_equal(rte_be_to_cpu_16(u->dgram_len), n);
	if (sport)
		assert_int_equal(rte_be_to_cpu_16(u->src_port), sport);
	if (dport)
		assert_int_equal(rte_be_to_cpu_16(u->dst_port), dport);
	assert_int_not_equal(u->dgram_cksum, 0);
	assert_int_equal(__rte_ipv4_udptcp_cksum(h, u), 0xffff);
	if (plen)
		*plen = n - 8;
	return (const uint8_t *)(u + 1);
}

void st_feed(struct tn_stack *s, struct rte_mbuf *m)
{
	tn_stack_input(s, &m, 1, st_now);
}

unsigned st_tx_offloaded;

/* Does what a port with checksum offload does to a frame the stack
 * left a sum to (tn_stack_config's tx_tcp_cksum, tx_ipv4_cksum), after
 * checking what the port relies on: the lengths, and the pseudo-header
 * sum in the TCP checksum field. */
static void offload_finish(const struct rte_mbuf *m, uint8_t *f)
{
	struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)(f + m->l2_len);

	st_tx_offloaded++;
	assert_int_equal(m->l2_len, sizeof(struct rte_ether_hdr));
	assert_int_equal(m->l3_len, rte_ipv4_hdr_len(h));
	assert_true(m->ol_flags & RTE_MBUF_F_TX_IPV4);
	if ((m->ol_flags & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM) {
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)((uint8_t *)h + m->l3_len);

		assert_int_equal(m->l4_len, (th->data_off >> 4) * 4);
		assert_int_equal(th->cksum, rte_ipv4_phdr_cksum(h, 0));
		th->cksum = 0;
		th->cksum = rte_ipv4_udptcp_cksum(h, th);
	} else {
		assert_int_equal(m->ol_flags & RTE_MBUF_F_TX_L4_MASK, 0);
	}
	if (m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) {
		assert_int_equal(h->hdr_checksum, 0);
		h->hdr_checksum = rte_ipv4_cksum(h);
	}
}

int st_pop(struct tn_stack *s, uint8_t *buf, uint32_t cap)
{
	struct rte_mbuf *m;
	const void *p;
	int len;

	if (tn_stack_output(s, &m, 1) != 1)
		return -1;
	assert_true(m->pkt_len <= cap);
	len = (int)m->pkt_len;
	p = rte_pktmbuf_read(m, 0, m->pkt_len, buf);
	assert_non_null(p);
	if (p != buf)
		memcpy(buf, p, len);
	if (m->ol_flags & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK))
		offload_finish(m, buf);
	rte_pktmbuf_free(m);
	return len;
}

void st_expect_none(struct tn_stack *s)
{
	struct rte_mbuf *m;

	assert_int_equal(tn_stack_output(s, &m, 1), 0);
}

unsigned st_drain(struct tn_stack *s)
{
	struct rte_mbuf *m;
	unsigned n = 0;

	while (tn_stack_output(s, &m, 1) == 1) {
		rte_pktmbuf_free(m);
		n++;
	}
	return n;
}

uint64_t st_advance_to(struct tn_stack *s, uint64_t t)
{
	st_now = t;
	return tn_stack_timers(s, t);
}

struct tn_stack_stats st_stats(struct tn_stack *s)
{
	struct tn_stack_stats st;

	tn_stack_stats_get(s, &st);
	return st;
}

const struct rte_ether_hdr *st_eth_of(const uint8_t *f)
{
	return (const struct rte_ether_hdr *)f;
}

void st_assert_arp(const uint8_t *f, int len, uint16_t op, const struct rte_ether_addr *eth_dst,
		   uint32_t spa, uint32_t tpa, const struct rte_ether_addr *tha)
{
	const struct rte_ether_hdr *e = st_eth_of(f);
	const struct rte_arp_hdr *a = (const struct rte_arp_hdr *)(e + 1);
	uint32_t sip, tip;

	assert_true(len >= (int)(sizeof(*e) + sizeof(*a)));
	assert_int_equal(rte_be_to_cpu_16(e->ether_type), RTE_ETHER_TYPE_ARP);
	assert_memory_equal(&e->src_addr, &st_mac_us, 6);
	if (eth_dst)
		assert_memory_equal(&e->dst_addr, eth_dst, 6);
	assert_int_equal(rte_be_to_cpu_16(a->arp_hardware), RTE_ARP_HRD_ETHER);
	assert_int_equal(rte_be_to_cpu_16(a->arp_protocol), RTE_ETHER_TYPE_IPV4);
	assert_int_equal(a->arp_hlen, 6);
	assert_int_equal(a->arp_plen, 4);
	assert_int_equal(rte_be_to_cpu_16(a->arp_opcode), op);
	assert_memory_equal(&a->arp_data.arp_sha, &e->src_addr, 6);
	memcpy(&sip, &a->arp_data.arp_sip, 4);
	memcpy(&tip, &a->arp_data.arp_tip, 4);
	if (spa)
		assert_int_equal(sip, spa);
	if (tpa)
		assert_int_equal(tip, tpa);
	if (tha)
		assert_memory_equal(&a->arp_data.arp_tha, tha, 6);
}

const struct rte_ipv4_hdr *st_assert_ip(const uint8_t *f, int len,
					 const struct rte_ether_addr *eth_dst, uint32_t dst,
					 uint8_t proto)
{
	const struct rte_ether_hdr *e = st_eth_of(f);
	const struct rte_ipv4_hdr *h = (const struct rte_ipv4_hdr *)(e + 1);

	assert_true(len >= (int)(sizeof(*e) + sizeof(*h)));
	assert_int_equal(rte_be_to_cpu_16(e->ether_type), RTE_ETHER_TYPE_IPV4);
	if (eth_dst)
		assert_memory_equal(&e->dst_addr, eth_dst, 6);
	assert_int_equal(h->version_ihl, 0x45);
	assert_int_equal(rte_be_to_cpu_16(h->total_length), len - sizeof(*e));
	assert_int_equal(rte_raw_cksum(h, sizeof(*h)), 0xffff);
	assert_int_equal(h->time_to_live, 64);
	/* DF on TCP only (path MTU discovery); the rest may be fragmented. */
	assert_int_equal(!!(rte_be_to_cpu_16(h->fragment_offset) & RTE_IPV4_HDR_DF_FLAG),
			 h->next_proto_id == IPPROTO_TCP);
	if (dst)
		assert_int_equal(h->dst_addr, dst);
	if (proto)
		assert_int_equal(h->next_proto_id, proto);
	return h;
}

const struct rte_icmp_hdr *st_assert_icmp(const uint8_t *f, int len, uint8_t type, uint8_t code)
{
	const struct rte_icmp_hdr *ic =
		(const struct rte_icmp_hdr *)(f + sizeof(struct rte_ether_hdr) +
					      sizeof(struct rte_ipv4_hdr));
	uint32_t n = len - sizeof(struct rte_ether_hdr) - sizeof(struct rte_ipv4_hdr);

	assert_int_equal(rte_raw_cksum(ic, n), 0xffff);
	assert_int_equal(ic->icmp_type, type);
	assert_int_equal(ic->icmp_code, code);
	return ic;
}
