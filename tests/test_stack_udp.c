/* UDP and IGMP (stack/udp.c, udp_sock.c, igmp.c): delivery and the
 * demultiplexing rules, bad input, port unreachable, the bounded receive
 * queue, sends (exact frames, errors, zero-copy), ICMP errors for
 * sockets, two stacks exchanging datagrams (fragmented too), multicast
 * and IGMP, and the coroutine API on a virtual-clock scheduler
 * (awaiting, cancellation, timeouts, close). */
#include "stack_test.h"
#include "tn_test.h"

#include <stdlib.h>
#include <string.h>

#include <tern/udp.h>

static uint8_t f[16384];
static uint8_t pl[70000];
static uint8_t got[70000];
static const struct rte_ether_addr zero_mac;

#define GROUP ST_IP(239, 1, 2, 3)
#define GROUP_ALIAS ST_IP(239, 129, 2, 3) /* the same MAC as GROUP */
#define ALL_HOSTS ST_IP(224, 0, 0, 1)
static const struct rte_ether_addr group_mac = { { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 } };
static const struct rte_ether_addr all_hosts_mac = { { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 } };

static int setup(void **state)
{
	(void)state;
	st_now = ST_SEC;
	for (unsigned i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)(i * 7 + 3);
	return 0;
}

/* A stack that knows the peer's MAC (it asked for ours). */
static struct tn_stack *create_known_cfg(const struct tn_stack_config *cfg)
{
	struct tn_stack *s = st_create(cfg, 0);

	st_feed(s, st_arp(RTE_ARP_OP_REQUEST, &st_mac_bcast, &st_mac_peer, ST_IP_PEER, &zero_mac,
			  ST_IP_US));
	assert_int_equal(st_drain(s), 1);
	return s;
}

static struct tn_stack *create_known(void)
{
	return create_known_cfg(NULL);
}

static struct tn_udp_sock *open_bound(struct tn_stack *s, uint32_t addr, uint16_t port)
{
	struct tn_udp_sock *u = tn_udp_open(s);

	assert_non_null(u);
	assert_int_equal(tn_udp_bind(u, addr, port), 0);
	return u;
}

/* Receives one queued datagram with recv_burst and checks it. */
static void expect_dgram(struct tn_udp_sock *u, const void *data, uint32_t len, uint32_t src,
			 uint16_t sport)
{
	struct rte_mbuf *m;
	struct tn_udp_addr from;
	const void *p;

	assert_int_equal(tn_udp_recv_burst(u, &m, &from, 1), 1);
	assert_int_equal(m->pkt_len, len);
	p = rte_pktmbuf_read(m, 0, len, got);
	assert_non_null(p);
	assert_memory_equal(p, data, len);
	assert_int_equal(from.addr, src);
	assert_int_equal(from.port, sport);
	rte_pktmbuf_free(m);
}

static void expect_empty(struct tn_udp_sock *u)
{
	struct rte_mbuf *m;

	assert_int_equal(tn_udp_recv_burst(u, &m, NULL, 1), 0);
}

/* ---- input ---- */

static void test_deliver(void **state)
{
	struct tn_stack *s = create_known();
	struct tn_udp_sock *u = open_bound(s, 0, 5000);
	struct st_ip ip = { .proto = IPPROTO_UDP };
	struct tn_udp_stats us;
	uint8_t b[256];

	(void)state;
	/* With a checksum, and without one (0: none computed). */
	st_feed(s, st_udp_frame(0, 1000, 0, 5000, NULL, pl, 100));
	st_feed(s, st_ipv4(&ip, b, st_udp(b, 1001, 5000, pl + 1, 0)));
	st_feed(s, st_ipv4(&ip, b, st_udp(b, 1002, 5000, pl + 2, 30)));
	st_expect_none(s);
	expect_dgram(u, pl, 100, ST_IP_PEER, 1000);
	expect_dgram(u, pl + 1, 0, ST_IP_PEER, 1001);
	expect_dgram(u, pl + 2, 30, ST_IP_PEER, 1002);
	expect_empty(u);
	tn_udp_stats_get(u, &us);
	assert_int_equal(us.rx, 3);
	assert_int_equal(st_stats(s).udp_rx, 3);
	tn_udp_close(u);
	st_destroy(s);
}

/* One burst of datagrams of two flows to one port (a connected socket
 * and an unconnected one: each flow looked up once per run by the fast
 * path, tn__udp_fast_input), another port's, and frames that take the
 * general path between them (a bad checksum, an ICMP echo request): in
 * order, each to its socket, a full queue's drop counted. */
static void test_deliver_burst(void **state)
{
	struct tn_stack *s = create_known();
	struct tn_udp_sock *conn = tn_udp_open(s), *any = tn_udp_open(s);
	struct tn_udp_sock *other = open_bound(s, 0, 5000);
	struct st_ip ip = { .proto = IPPROTO_ICMP };
	struct rte_mbuf *pkts[10];
	struct tn_stack_stats st;
	struct tn_udp_stats us;
	uint8_t b[256], f[256];
	int len;

	(void)state;
	assert_non_null(conn);
	assert_non_null(any);
	assert_int_equal(tn_udp_set_reuseaddr(conn, true), 0);
	assert_int_equal(tn_udp_set_reuseaddr(any, true), 0);
	assert_int_equal(tn_udp_bind(conn, 0, 5001), 0);
	assert_int_equal(tn_udp_bind(any, 0, 5001), 0);
	assert_int_equal(tn_udp_connect(conn, ST_IP_PEER, 2000), 0);
	assert_int_equal(tn_udp_set_rcvq(any, 2), 0);
	pkts[0] = st_udp_frame(0, 2000, 0, 5001, NULL, pl, 10);     /* conn */
	pkts[1] = st_udp_frame(0, 2001, 0, 5001, NULL, pl + 1, 11); /* any */
	pkts[2] = st_udp_frame(0, 2000, 0, 5001, NULL, pl + 2, 12); /* conn */
	pkts[3] = st_udp_frame(0, 2000, 0, 5000, NULL, pl + 3, 13); /* other */
	pkts[4] = st_udp_frame(0, 2000, 0, 5001, NULL, pl + 4, 14); /* bad checksum */
	rte_pktmbuf_mtod(pkts[4], uint8_t *)[14 + 20 + 8] ^= 1;
	pkts[5] = st_udp_frame(0, 2000, 0, 5001, NULL, pl + 5, 15); /* conn */
	pkts[6] = st_ipv4(&ip, b, st_echo(b, 7, 1, pl, 8));          /* answered */
	pkts[7] = st_udp_frame(0, 2001, 0, 5001, NULL, pl + 7, 17); /* any */
	pkts[8] = st_udp_frame(0, 2001, 0, 5001, NULL, pl + 8, 18); /* any: full */
	pkts[9] = st_udp_frame(0, 2000, 0, 5001, NULL, pl + 9, 19); /* conn */
	tn_stack_input(s, pkts, RTE_DIM(pkts), st_now);
	expect_dgram(conn, pl, 10, ST_IP_PEER, 2000);
	expect_dgram(conn, pl + 2, 12, ST_IP_PEER, 2000);
	expect_dgram(conn, pl + 5, 15, ST_IP_PEER, 2000);
	expect_dgram(conn, pl + 9, 19, ST_IP_PEER, 2000);
	expect_empty(conn);
	expect_dgram(any, pl + 1, 11, ST_IP_PEER, 2001);
	expect_dgram(any, pl + 7, 17, ST_IP_PEER, 2001);
	expect_empty(any);
	expect_dgram(other, pl + 3, 13, ST_IP_PEER, 2000);
	expect_empty(other);
	len = st_pop(s, f, sizeof(f));
	st_assert_ip(f, len, &st_mac_peer, ST_IP_PEER, IPPROTO_ICMP);
	st_assert_icmp(f, len, RTE_IP_ICMP_ECHO_REPLY, 0);
	st_expect_none(s);
	st = st_stats(s);
	assert_int_equal(st.rx_frames, 1 + RTE_DIM(pkts)); /* and the ARP request */
	assert_int_equal(st.ip_rx, RTE_DIM(pkts));
	assert_int_equal(st.udp_rx, 7);
	assert_int_equal(st.udp_bad_csum, 1);
	assert_int_equal(st.udp_rcvq_full, 1);
	tn_udp_stats_get(conn, &us);
	assert_int_equal(us.rx, 4);
	tn_udp_stats_get(any, &us);
	assert_int_equal(us.rx, 2);
	assert_int_equal(us.rx_dropped, 1);
	tn_udp_close(conn);
	tn_udp_close(any);
	tn_udp_close(other);
	st_destroy(s);
}

static void test_bad_input(void **state)
{
	struct tn_stack *s = create_known();
	struct tn_udp_sock *u = open_bound(s, 0, 5000);
	struct st_ip ip = { .proto = IPPROTO_UDP };
	struct rte_udp_hdr *uh;
	uint8_t b[256];
	uint32_t n;

	(void)state;
	/* A truncated header: 4 bytes of IP payload. */
	n = st_udp(b, 1000, 5000, pl, 20);
	st_feed(s, st_ipv4(&ip, b, 4));
	uh = (struct rte_udp_hdr *)b;
	/* Length field below 8, above the payload, below the payload. */
	uh->dgram_len = rte_cpu_to_be_16(7);
	st_feed(s, st_ipv4(&ip, b, n));
	uh->dgram_len = rte_cpu_to_be_16(n + 1);
	st_feed(s, st_ipv4(&ip, b, n));
	uh->dgram_len = rte_cpu_to_be_16(n - 1);
	st_feed(s, st_ipv4(&ip, b, n));
	/* A bad checksum. */
	n = st_udp_ck(b, 0, 0, 1000, 5000, pl, 20);
	b[10] ^= 0x40;
	st_feed(s, st_ipv4(&ip, b, n));
	/* A checksum over the wrong pseudo header (another source). */
	n = st_udp_ck(b, ST_IP(10, 0, 0, 3), 0, 1000, 5000, pl, 20);
	st_feed(s, st_ipv4(&ip, b, n));
	st_expect_none(s); /* no port unreachable for any of them */
	expect_empty(u);
	assert_int_equal(st_stats(s).udp_bad_len, 4);
	assert_int_equal(st_stats(s).udp_bad_csum, 2);
	assert_int_equal(st_stats(s).udp_no_port, 0);
	tn_udp_close(u);
	st_destroy(s);
}

static void test_port_unreachable(void **state)
{
	struct tn_stack *s = create_known();
	struct tn_udp_sock *u = open_bound(s, 0, 5000);
	const struct rte_icmp_hdr *ic;
	struct rte_mbuf *m;
	uint8_t orig[64];
	int len, i;

	(void)state;
	m = st_udp_frame(0, 1000, 0, 5001, NULL, pl, 20);
	memcpy(orig, rte_pktmbuf_mtod_offset(m, void *, 14), 28);
	st_feed(s, m);
	len = st_pop(s, f, sizeof(f));
	st_assert_ip(f, len, &st_mac_peer, ST_IP_PEER, IPPROTO_ICMP);
	ic = st_assert_icmp(f, len, 3, 3);
	assert_memory_equal(ic + 1, orig, 28);
	/* A connected socket takes only its peer's datagrams. */
	assert_int_equal(tn_udp_connect(u, ST_IP_PEER, 2000), 0);
	st_feed(s, st_udp_frame(0, 1000, 0, 5000, NULL, pl, 20));
	assert_int_equal(st_drain(s), 1);
	expect_empty(u);
	/* Rate-limited (10 burst, 100/s): 2 sent above, 8 more of 20. */
	for (i = 0; i < 20; i++)
		st_feed(s, st_udp_frame(0, 1000, 0, 6000, NULL, pl, 4));
	assert_int_equal(st_drain(s), 8);
	assert_int_equal(st_stats(s).icmp_rate_limited, 12);
	assert_int_equal(st_stats(s).udp_no_port, 22);
	/* Broadcasts to a closed port get no error. */
	st_now += ST_SEC;
	st_feed(s, st_udp_frame(0, 1000, ST_IP(10, 0, 0, 255), 6000, &st_mac_bcast, pl, 4));
	st_expect_none(s);
	tn_udp_close(u);
	st_destroy(s);
}

static void test_demux(void **state)
{
	struct tn_stack *s = create_known();
	struct tn_udp_sock *any = tn_udp_open(s), *conn = tn_udp_open(s), *spec = tn_udp_open(s);

	(void)state;
	assert_int_equal(tn_udp_set_reuseaddr(any, true), 0);
	assert_int_equal(tn_udp_set_reuseaddr(conn, true), 0);
	assert_int_equal(tn_udp_bind(any, 0, 5000), 0);
	assert_int_equal(tn_udp_bind(conn, 0, 5000), 0);
	assert_int_equal(tn_udp_connect(conn, ST_IP_PEER, 1000), 0);
	/* The connected socket wins for its peer, the other takes the rest. */
	st_feed(s, st_udp_frame(0, 1000, 0, 5000, NULL, pl, 10));
	st_feed(s, st_udp_frame(0, 1001, 0, 5000, NULL, pl + 1, 10));
	expect_dgram(conn, pl, 10, ST_IP_PEER, 1000);
	expect_empty(conn);
	expect_dgram(any, pl + 1, 10, ST_IP_PEER, 1001);
	expect_empty(any);
	/* Bound to our address beats bound to any. */
	assert_int_equal(tn_udp_set_reuseaddr(spec, true), 0);
	assert_int_equal(tn_udp_bind(spec, ST_IP_US, 5000), 0);
	st_feed(s, st_udp_frame(0, 1001, 0, 5000, NULL, pl + 2, 10));
	expect_dgram(spec, pl + 2, 10, ST_IP_PEER, 1001);
	expect_empty(any);
	/* Disconnecting: conn takes anyone's again (it is newer than any). */
	assert_int_equal(tn_udp_connect(conn, 0, 0), 0);
	assert_int_equal(tn_udp_getpeername(conn, NULL, NULL), -ENOTCONN);
	tn_udp_close(spec);
	st_feed(s, st_udp_frame(0, 1009, 0, 5000, NULL, pl + 3, 10));
	expect_dgram(conn, pl + 3, 10, ST_IP_PEER, 1009);
	st_expect_none(s);
	tn_udp_close(any);
	tn_udp_close(conn);
	st_destroy(s);
}

static void test_bind_rules(void **state)
{
	struct tn_stack_config cfg;
	struct tn_stack *s;
	struct tn_udp_sock *u[6];
	uint32_t a;
	uint16_t p, ports[4];
	int i, j;

	(void)state;
	st_default_cfg(&cfg);
	cfg.udp_eph_lo = 40000;
	cfg.udp_eph_hi = 40003;
	s = st_create(&cfg, 0);
	for (i = 0; i < 6; i++)
		u[i] = tn_udp_open(s);
	assert_int_equal(tn_udp_getsockname(u[0], &a, &p), 0);
	assert_int_equal(a, 0);
	assert_int_equal(p, 0);
	assert_int_equal(tn_udp_bind(u[0], ST_IP_US, 7), 0);
	assert_int_equal(tn_udp_bind(u[0], 0, 8), -EINVAL);
	assert_int_equal(tn_udp_bind(u[1], 0, 7), -EADDRINUSE);
	assert_int_equal(tn_udp_bind(u[1], ST_IP_US, 7), -EADDRINUSE);
	assert_int_equal(tn_udp_bind(u[1], ST_IP(10, 0, 0, 9), 7), -EADDRNOTAVAIL);
	assert_int_equal(tn_udp_set_reuseaddr(u[0], true), -EINVAL);
	assert_int_equal(tn_udp_getsockname(u[0], &a, &p), 0);
	assert_int_equal(a, ST_IP_US);
	assert_int_equal(p, 7);
	tn_udp_close(u[0]);
	u[0] = tn_udp_open(s);
	/* Ephemeral ports: distinct, in range, then exhausted. */
	for (i = 0; i < 4; i++) {
		assert_int_equal(tn_udp_bind(u[i], 0, 0), 0);
		tn_udp_getsockname(u[i], NULL, &ports[i]);
		assert_true(ports[i] >= 40000 && ports[i] <= 40003);
		for (j = 0; j < i; j++)
			assert_int_not_equal(ports[i], ports[j]);
	}
	assert_int_equal(tn_udp_bind(u[4], 0, 0), -EADDRINUSE);
	/* A send binds one too: none left.  Closing one frees its port. */
	assert_int_equal(tn_udp_sendto(u[5], pl, 4, ST_IP_PEER, 9), -EADDRINUSE);
	tn_udp_close(u[2]);
	assert_int_equal(tn_udp_bind(u[4], 0, 0), 0);
	tn_udp_getsockname(u[4], NULL, &p);
	assert_int_equal(p, ports[2]);
	/* Connect binds an ephemeral port and checks the route. */
	assert_int_equal(tn_udp_connect(u[5], ST_IP_PEER, 0), -EINVAL);
	assert_int_equal(tn_udp_connect(u[5], ST_IP_US, 9), -ENETUNREACH);
	tn_udp_close(u[5]);
	for (i = 0; i < 5; i++)
		if (i != 2)
			tn_udp_close(u[i]);
	st_destroy(s);
}

static void test_rcvq_bounded(void **state)
{
	struct tn_stack *s = create_known();
	struct tn_udp_sock *u = open_bound(s, 0, 5000);
	struct tn_udp_stats us;
	int i;

	(void)state;
	assert_int_equal(tn_udp_set_rcvq(u, 0), -EINVAL);
	assert_int_equal(tn_udp_set_rcvq(u, TN_UDP_RCVQ_MAX + 1), -EINVAL);
	assert_int_equal(tn_udp_set_rcvq(u, 4), 0);
	for (i = 0; i < 6; i++)
		st_feed(s, st_udp_frame(0, 1000 + i, 0, 5000, NULL, pl + i, 16));
	tn_udp_stats_get(u, &us);
	assert_int_equal(us.rx, 4);
	assert_int_equal(us.rx_dropped, 2);
	assert_int_equal(st_stats(s).udp_rcvq_full, 2);
	assert_int_equal(tn_udp_set_rcvq(u, 3), -EBUSY);
	expect_dgram(u, pl, 16, ST_IP_PEER, 1000);
	/* Shrink with three queued, order kept. */
	assert_int_equal(tn_udp_set_rcvq(u, 3), 0);
	for (i = 1; i < 4; i++)
		expect_dgram(u, pl + i, 16, ST_IP_PEER, 1000 + i);
	expect_empty(u);
	/* The default: 256. */
	tn_udp_close(u);
	u = open_bound(s, 0, 5000);
	for (i = 0; i < 300; i++)
		st_feed(s, st_udp_frame(0, 1000, 0, 5000, NULL, pl, 8));
	tn_udp_stats_get(u, &us);
	assert_int_equal(us.rx, TN_UDP_RCVQ_DEFAULT);
	assert_int_equal(us.rx_dropped, 300 - TN_UDP_RCVQ_DEFAULT);
	/* Close frees what is queued (st_destroy checks the pool). */
	tn_udp_close(u);
	st_destroy(s);
}

/* ---- output ---- */

static void test_send(void **state)
{
	struct tn_stack_config cfg;
	struct tn_stack *s = create_known();
	struct tn_udp_sock *u = open_bound(s, 0, 4000);
	const struct rte_ipv4_hdr *h;
	const uint8_t *p;
	struct rte_mbuf *m;
	struct tn_udp_stats us;
	uint32_t n;
	int len;

	(void)state;
	assert_int_equal(tn_udp_sendto(u, pl, 200, ST_IP_PEER, 53), 0);
	len = st_pop(s, f, sizeof(f));
	h = st_assert_ip(f, len, &st_mac_peer, ST_IP_PEER, IPPROTO_UDP);
	assert_int_equal(h->src_addr, ST_IP_US);
	p = st_assert_udp(f, len, 4000, 53, &n);
	assert_int_equal(n, 200);
	assert_memory_equal(p, pl, 200);
	/* Off-link: through the gateway (ARP for it first). */
	assert_int_equal(tn_udp_sendto(u, pl, 10, ST_IP_REMOTE, 53), 0);
	len = st_pop(s, f, sizeof(f));
	st_assert_arp(f, len, RTE_ARP_OP_REQUEST, &st_mac_bcast, ST_IP_US, ST_IP_GW, NULL);
	st_expect_none(s);
	/* Errors. */
	assert_int_equal(tn_udp_send(u, pl, 10), -EDESTADDRREQ);
	assert_int_equal(tn_udp_sendto(u, pl, TN_UDP_MAX_PAYLOAD + 1, ST_IP_PEER, 53), -EMSGSIZE);
	assert_int_equal(tn_udp_sendto(u, pl, 10, ST_IP_PEER, 0), -EINVAL);
	assert_int_equal(tn_udp_sendto(u, pl, 10, 0, 53), -EINVAL);
	/* Connected: send goes to the peer. */
	assert_int_equal(tn_udp_connect(u, ST_IP_PEER, 53), 0);
	assert_int_equal(tn_udp_send(u, pl + 5, 0), 0);
	len = st_pop(s, f, sizeof(f));
	st_assert_udp(f, len, 4000, 53, &n);
	assert_int_equal(n, 0);
	/* Zero-copy: the payload in an mbuf with headroom. */
	m = st_mbuf(pl, 64);
	assert_int_equal(tn_udp_send_mbuf(u, m, 0, 0), 0);
	len = st_pop(s, f, sizeof(f));
	p = st_assert_udp(f, len, 4000, 53, &n);
	assert_int_equal(n, 64);
	assert_memory_equal(p, pl, 64);
	/* Too little headroom: freed, -ENOBUFS. */
	m = st_mbuf(pl, 64);
	rte_pktmbuf_prepend(m, rte_pktmbuf_headroom(m) - 10);
	assert_int_equal(tn_udp_send_mbuf(u, m, ST_IP_PEER, 53), -ENOBUFS);
	st_expect_none(s);
	tn_udp_stats_get(u, &us);
	assert_int_equal(us.tx, 4);
	assert_int_equal(st_stats(s).udp_tx, 4);
	tn_udp_close(u);
	st_destroy(s);
	/* No route. */
	st_default_cfg(&cfg);
	cfg.gw = 0;
	s = st_create(&cfg, 0);
	u = tn_udp_open(s);
	assert_int_equal(tn_udp_sendto(u, pl, 10, ST_IP_REMOTE, 53), -ENETUNREACH);
	assert_int_equal(tn_udp_connect(u, ST_IP_REMOTE, 53), -ENETUNREACH);
	st_expect_none(s);
	tn_udp_close(u);
	st_destroy(s);
}

/* tn_udp_send_burst: every length's checksum (the 8-byte summing in
 * udp.c: odd tails, 32-byte steps), one route and ARP lookup for the
 * burst, and the paths that are not one frame on a template. */
static void test_send_burst(void **state)
{
	static const uint32_t lens[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 63, 64, 65, 100,
					1471, 1472};
	struct tn_stack *s = create_known();
	struct tn_udp_sock *u = open_bound(s, 0, 4000);
	struct rte_mbuf *pkts[RTE_DIM(lens)];
	struct tn_udp_stats us;
	const uint8_t *p;
	unsigned i, nfrag;
	uint32_t n;
	int len;

	(void)state;
	for (i = 0; i < RTE_DIM(lens); i++)
		pkts[i] = st_mbuf(pl + i, lens[i]);
	assert_int_equal(tn_udp_send_burst(u, pkts, RTE_DIM(lens), ST_IP_PEER, 53), RTE_DIM(lens));
	for (i = 0; i < RTE_DIM(lens); i++) {
		len = st_pop(s, f, sizeof(f));
		st_assert_ip(f, len, &st_mac_peer, ST_IP_PEER, IPPROTO_UDP);
		p = st_assert_udp(f, len, 4000, 53, &n);
		assert_int_equal(n, lens[i]);
		assert_memory_equal(p, pl + i, lens[i]);
	}
	st_expect_none(s);
	/* Larger than the MTU: fragmented, as tn_udp_send_mbuf does. */
	pkts[0] = st_mbuf(pl, 1500);
	assert_int_equal(rte_pktmbuf_chain(pkts[0], st_mbuf(pl + 1500, 1500)), 0);
	assert_int_equal(tn_udp_send_burst(u, pkts, 1, ST_IP_PEER, 53), 1);
	for (nfrag = 0; st_pop(s, f, sizeof(f)) > 0; nfrag++)
		;
	assert_int_equal(nfrag, 3);
	/* Through the unresolved gateway: ARP first, the datagram waits. */
	pkts[0] = st_mbuf(pl, 10);
	assert_int_equal(tn_udp_send_burst(u, pkts, 1, ST_IP_REMOTE, 53), 1);
	len = st_pop(s, f, sizeof(f));
	st_assert_arp(f, len, RTE_ARP_OP_REQUEST, &st_mac_bcast, ST_IP_US, ST_IP_GW, NULL);
	st_expect_none(s);
	/* Failures are freed and not counted: too little headroom, no
	 * peer, port 0. */
	pkts[0] = st_mbuf(pl, 64);
	rte_pktmbuf_prepend(pkts[0], rte_pktmbuf_headroom(pkts[0]) - 10);
	pkts[1] = st_mbuf(pl, 64);
	assert_int_equal(tn_udp_send_burst(u, pkts, 2, ST_IP_PEER, 53), 1);
	len = st_pop(s, f, sizeof(f));
	st_assert_udp(f, len, 4000, 53, NULL);
	pkts[0] = st_mbuf(pl, 64);
	assert_int_equal(tn_udp_send_burst(u, pkts, 1, 0, 0), 0);
	pkts[0] = st_mbuf(pl, 64);
	assert_int_equal(tn_udp_send_burst(u, pkts, 1, ST_IP_PEER, 0), 0);
	st_expect_none(s);
	/* Connected: (0, 0) is the peer. */
	assert_int_equal(tn_udp_connect(u, ST_IP_PEER, 54), 0);
	pkts[0] = st_mbuf(pl, 5);
	assert_int_equal(tn_udp_send_burst(u, pkts, 1, 0, 0), 1);
	len = st_pop(s, f, sizeof(f));
	st_assert_udp(f, len, 4000, 54, &n);
	assert_int_equal(n, 5);
	tn_udp_stats_get(u, &us);
	assert_int_equal(us.tx, RTE_DIM(lens) + 4);
	tn_udp_close(u);
	st_destroy(s);
}

/* tn_udp_reply_burst: the received mbufs go back out with valid
 * checksums, to their source or elsewhere, in place; the ones it cannot
 * turn around take tn_udp_send_mbuf's path. */
static void test_reply_burst(void **state)
{
	static const uint32_t lens[] = {0, 1, 7, 33, 64, 100, 1472};
	struct tn_stack *s = create_known();
	struct tn_udp_sock *u = open_bound(s, 0, 5000);
	struct st_ip ip = { .proto = IPPROTO_UDP };
	struct rte_mbuf *pkts[16], *out;
	struct tn_udp_addr from[16];
	const struct rte_ipv4_hdr *h;
	const uint8_t *p;
	uint8_t b[256];
	unsigned i;
	uint32_t n;
	int len;

	(void)state;
	for (i = 0; i < RTE_DIM(lens); i++)
		st_feed(s, st_udp_frame(0, (uint16_t)(1000 + i), 0, 5000, NULL, pl + i, lens[i]));
	assert_int_equal(tn_udp_recv_burst(u, pkts, from, 16), RTE_DIM(lens));
	/* The first goes out as the very mbuf that came in. */
	assert_int_equal(tn_udp_reply_burst(u, pkts, from, RTE_DIM(lens)), RTE_DIM(lens));
	assert_int_equal(tn_stack_output(s, &out, 1), 1);
	assert_ptr_equal(out, pkts[0]);
	h = st_assert_ip(rte_pktmbuf_mtod(out, const uint8_t *), (int)out->pkt_len, &st_mac_peer,
			 ST_IP_PEER, IPPROTO_UDP);
	assert_int_equal(h->src_addr, ST_IP_US);
	assert_int_equal(h->time_to_live, 64);
	st_assert_udp(rte_pktmbuf_mtod(out, const uint8_t *), (int)out->pkt_len, 5000, 1000, &n);
	assert_int_equal(n, 0);
	rte_pktmbuf_free(out);
	for (i = 1; i < RTE_DIM(lens); i++) {
		len = st_pop(s, f, sizeof(f));
		st_assert_ip(f, len, &st_mac_peer, ST_IP_PEER, IPPROTO_UDP);
		p = st_assert_udp(f, len, 5000, (uint16_t)(1000 + i), &n);
		assert_int_equal(n, lens[i]);
		assert_memory_equal(p, pl + i, lens[i]);
	}
	st_expect_none(s);

	/* Elsewhere: the checksum follows the new addresses and ports. */
	st_feed(s, st_udp_frame(0, 1000, 0, 5000, NULL, pl, 41));
	assert_int_equal(tn_udp_recv_burst(u, pkts, from, 16), 1);
	from[0].port = 7777;
	assert_int_equal(tn_udp_reply_burst(u, pkts, from, 1), 1);
	len = st_pop(s, f, sizeof(f));
	p = st_assert_udp(f, len, 5000, 7777, &n);
	assert_memory_equal(p, pl, 41);

	/* The payload is not read again: one changed after receiving
	 * goes out with the checksum it came with (the API's contract),
	 * which no longer matches. */
	st_feed(s, st_udp_frame(0, 1000, 0, 5000, NULL, pl, 20));
	assert_int_equal(tn_udp_recv_burst(u, pkts, from, 16), 1);
	rte_pktmbuf_mtod(pkts[0], uint8_t *)[3] ^= 0x40;
	assert_int_equal(tn_udp_reply_burst(u, pkts, from, 1), 1);
	len = st_pop(s, f, sizeof(f));
	h = (const struct rte_ipv4_hdr *)(f + 14);
	assert_int_not_equal(__rte_ipv4_udptcp_cksum(h, (const struct rte_udp_hdr *)(h + 1)),
			     0xffff);

	/* Without a checksum (0): one is computed. */
	st_feed(s, st_ipv4(&ip, b, st_udp(b, 1001, 5000, pl + 1, 30)));
	/* A broadcast: the old destination differs from our address. */
	st_feed(s, st_udp_frame(0, 1002, ST_IP(10, 0, 0, 255), 5000, &st_mac_bcast, pl + 2, 9));
	/* With IP options in front of the UDP header. */
	{
		static const uint8_t nops[4] = {1, 1, 1, 0};
		struct st_ip ipo = { .proto = IPPROTO_UDP, .opt = nops, .optlen = 4 };

		st_feed(s, st_ipv4(&ipo, b, st_udp_ck(b, ST_IP_PEER, ST_IP_US, 1003, 5000,
							   pl + 3, 11)));
	}
	assert_int_equal(tn_udp_recv_burst(u, pkts, from, 16), 3);
	assert_int_equal(tn_udp_reply_burst(u, pkts, from, 3), 3);
	for (i = 0; i < 3; i++) {
		static const uint32_t l[] = {30, 9, 11};

		len = st_pop(s, f, sizeof(f));
		st_assert_ip(f, len, &st_mac_peer, ST_IP_PEER, IPPROTO_UDP);
		p = st_assert_udp(f, len, 5000, (uint16_t)(1001 + i), &n);
		assert_int_equal(n, l[i]);
		assert_memory_equal(p, pl + 1 + i, l[i]);
	}

	/* Through another socket, not yet bound: the first reply binds it
	 * (the slow path), and the rest go out from that port too. */
	{
		struct tn_udp_sock *v = tn_udp_open(s);
		uint16_t vport;

		assert_non_null(v);
		for (i = 0; i < 3; i++)
			st_feed(s, st_udp_frame(0, (uint16_t)(1010 + i), 0, 5000, NULL, pl + i, 20));
		assert_int_equal(tn_udp_recv_burst(u, pkts, from, 16), 3);
		assert_int_equal(tn_udp_reply_burst(v, pkts, from, 3), 3);
		assert_int_equal(tn_udp_getsockname(v, NULL, &vport), 0);
		assert_int_not_equal(vport, 0);
		for (i = 0; i < 3; i++) {
			len = st_pop(s, f, sizeof(f));
			p = st_assert_udp(f, len, vport, (uint16_t)(1010 + i), &n);
			assert_memory_equal(p, pl + i, 20);
		}
		tn_udp_close(v);
	}

	/* A source we hold no ARP entry for: resolved first (the slow
	 * path), the reply waits and then goes out. */
	st_feed(s, st_udp_frame(ST_IP(10, 0, 0, 3), 1004, 0, 5000, NULL, pl, 12));
	assert_int_equal(tn_udp_recv_burst(u, pkts, from, 16), 1);
	assert_int_equal(tn_udp_reply_burst(u, pkts, from, 1), 1);
	len = st_pop(s, f, sizeof(f));
	st_assert_arp(f, len, RTE_ARP_OP_REQUEST, &st_mac_bcast, ST_IP_US, ST_IP(10, 0, 0, 3),
		      NULL);
	st_expect_none(s);
	tn_udp_close(u);
	st_destroy(s);
}

/* A multicast datagram for two sockets: the copy has no headers in
 * front of its payload, so its reply is built afresh; both are right. */
static void test_reply_burst_copy(void **state)
{
	struct tn_stack *s = create_known();
	struct tn_udp_sock *a = tn_udp_open(s), *c = tn_udp_open(s);
	struct rte_mbuf *m[2];
	struct tn_udp_addr from[2];
	const uint8_t *p;
	unsigned i;
	uint32_t n;
	int len;

	(void)state;
	assert_int_equal(tn_udp_set_reuseaddr(a, true), 0);
	assert_int_equal(tn_udp_set_reuseaddr(c, true), 0);
	assert_int_equal(tn_udp_bind(a, 0, 5000), 0);
	assert_int_equal(tn_udp_bind(c, 0, 5000), 0);
	st_feed(s, st_udp_frame(0, 1000, ST_IP(10, 0, 0, 255), 5000, &st_mac_bcast, pl, 23));
	assert_int_equal(tn_udp_recv_burst(a, &m[0], &from[0], 1), 1);
	assert_int_equal(tn_udp_recv_burst(c, &m[1], &from[1], 1), 1);
	assert_int_equal(tn_udp_reply_burst(a, &m[0], &from[0], 1), 1);
	assert_int_equal(tn_udp_reply_burst(c, &m[1], &from[1], 1), 1);
	for (i = 0; i < 2; i++) {
		len = st_pop(s, f, sizeof(f));
		p = st_assert_udp(f, len, 5000, 1000, &n);
		assert_int_equal(n, 23);
		assert_memory_equal(p, pl, 23);
	}
	st_expect_none(s);
	tn_udp_close(a);
	tn_udp_close(c);
	st_destroy(s);
}

/* The largest datagram leaves in 45 fragments that carry it exactly. */
static void test_send_max_fragmented(void **state)
{
	struct tn_stack *s = create_known();
	struct tn_udp_sock *u = open_bound(s, 0, 4000);
	uint32_t off = 0;
	int len, frags = 0;

	(void)state;
	assert_int_equal(tn_udp_sendto(u, pl, TN_UDP_MAX_PAYLOAD, ST_IP_PEER, 53), 0);
	while ((len = st_pop(s, f, sizeof(f))) > 0) {
		const struct rte_ipv4_hdr *h = (const struct rte_ipv4_hdr *)(f + 14);
		uint16_t fo = rte_be_to_cpu_16(h->fragment_offset);

		assert_int_equal(rte_raw_cksum(h, 20), 0xffff);
		assert_int_equal((fo & RTE_IPV4_HDR_OFFSET_MASK) * 8, off);
		assert_true(len - 14 <= 1500);
		memcpy(got + off, f + 34, len - 34);
		off += len - 34;
		frags++;
	}
	assert_int_equal(frags, 45);
	assert_int_equal(off, 8 + TN_UDP_MAX_PAYLOAD);
	assert_memory_equal(got + 8, pl, TN_UDP_MAX_PAYLOAD);
	tn_udp_close(u);
	st_destroy(s);
}

/* ---- ICMP errors for sockets ---- */

/* An ICMP error quoting a UDP datagram from us:sport to dst:dport. */
static void feed_icmp_err(struct tn_stack *s, uint8_t type, uint8_t code, uint16_t sport,
			  uint32_t dst, uint16_t dport)
{
	struct st_ip ip = { .proto = IPPROTO_ICMP };
	uint8_t quote[28] = { 0 }, b[64];
	struct rte_ipv4_hdr *in = (struct rte_ipv4_hdr *)quote;

	in->version_ihl = 0x45;
	in->total_length = rte_cpu_to_be_16(28);
	in->time_to_live = 64;
	in->next_proto_id = IPPROTO_UDP;
	in->src_addr = ST_IP_US;
	in->dst_addr = dst;
	st_udp(quote + 20, sport, dport, NULL, 0);
	st_feed(s, st_ipv4(&ip, b, st_icmp(b, type, code, 0, quote, sizeof(quote))));
}

static void test_icmp_errors(void **state)
{
	struct tn_stack *s = create_known();
	struct tn_udp_sock *c = open_bound(s, 0, 4000), *un = open_bound(s, 0, 4001);
	struct tn_udp_stats us;

	(void)state;
	assert_int_equal(tn_udp_connect(c, ST_IP_PEER, 53), 0);
	feed_icmp_err(s, 3, 3, 4000, ST_IP_PEER, 53);
	assert_int_equal(tn_udp_take_error(c), -ECONNREFUSED);
	assert_int_equal(tn_udp_take_error(c), 0);
	feed_icmp_err(s, 3, 1, 4000, ST_IP_PEER, 53);
	assert_int_equal(tn_udp_take_error(c), -EHOSTUNREACH);
	feed_icmp_err(s, 3, 4, 4000, ST_IP_PEER, 53);
	assert_int_equal(tn_udp_take_error(c), -EMSGSIZE);
	feed_icmp_err(s, 11, 0, 4000, ST_IP_PEER, 53);
	assert_int_equal(tn_udp_take_error(c), -EHOSTUNREACH);
	/* Not about c's 4-tuple: another peer port, another peer. */
	feed_icmp_err(s, 3, 3, 4000, ST_IP_PEER, 54);
	feed_icmp_err(s, 3, 3, 4000, ST_IP_REMOTE, 53);
	assert_int_equal(tn_udp_take_error(c), 0);
	/* Unconnected sockets only count them. */
	feed_icmp_err(s, 3, 3, 4001, ST_IP_PEER, 53);
	assert_int_equal(tn_udp_take_error(un), 0);
	tn_udp_stats_get(un, &us);
	assert_int_equal(us.icmp_errors, 1);
	tn_udp_stats_get(c, &us);
	assert_int_equal(us.icmp_errors, 4);
	/* Source quench means nothing. */
	feed_icmp_err(s, 4, 0, 4000, ST_IP_PEER, 53);
	assert_int_equal(tn_udp_take_error(c), 0);
	assert_int_equal(st_stats(s).udp_icmp_err, 4);
	assert_int_equal(st_stats(s).udp_icmp_err_ignored, 4);
	/* A pending error comes before queued data in wait_readable/recvfrom
	 * (see the task tests); recv_burst ignores it. */
	st_expect_none(s);
	tn_udp_close(c);
	tn_udp_close(un);
	st_destroy(s);
}

/* ---- two stacks ---- */

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

static void recv_exact(struct tn_udp_sock *u, const uint8_t *data, uint32_t len, uint32_t src,
		       uint16_t sport)
{
	struct rte_mbuf *m;
	struct tn_udp_addr from;
	const void *p;

	assert_int_equal(tn_udp_recv_burst(u, &m, &from, 1), 1);
	assert_int_equal(m->pkt_len, len);
	p = rte_pktmbuf_read(m, 0, len, got);
	assert_memory_equal(p, data, len);
	assert_int_equal(from.addr, src);
	assert_int_equal(from.port, sport);
	rte_pktmbuf_free(m);
}

static void test_two_stacks(void **state)
{
	struct tn_stack_config ca, cb;
	struct tn_stack *a, *b;
	struct tn_udp_sock *ua, *ub;
	uint16_t pa;

	(void)state;
	st_default_cfg(&ca);
	st_default_cfg(&cb);
	memcpy(cb.mac, st_mac_peer.addr_bytes, 6);
	cb.ip = ST_IP_PEER;
	cb.seed = 7;
	/* rte_ip_frag reassembles at most 8 fragments: a 30,000-byte
	 * datagram needs a jumbo MTU. */
	ca.mtu = cb.mtu = 9000;
	a = st_create(&ca, 1);
	b = st_create(&cb, 1);
	wire(a, b);
	ua = tn_udp_open(a);
	ub = open_bound(b, 0, 7777);
	assert_int_equal(tn_udp_sendto(ua, pl, 100, ST_IP_PEER, 7777), 0);
	/* ARP request, reply, the datagram. */
	assert_int_equal(wire(a, b), 3);
	tn_udp_getsockname(ua, NULL, &pa);
	assert_true(pa >= 49152);
	recv_exact(ub, pl, 100, ST_IP_US, pa);
	/* 30,000 bytes: 4 fragments, reassembled, byte-exact. */
	assert_int_equal(tn_udp_sendto(ua, pl + 1, 30000, ST_IP_PEER, 7777), 0);
	assert_int_equal(wire(a, b), 4);
	assert_int_equal(st_stats(b).ip_frag_reassembled, 1);
	recv_exact(ub, pl + 1, 30000, ST_IP_US, pa);
	/* And back, to the port a sent from. */
	assert_int_equal(tn_udp_sendto(ub, pl + 2, 9000, ST_IP_US, pa), 0);
	assert_int_equal(wire(a, b), 2);
	recv_exact(ua, pl + 2, 9000, ST_IP_PEER, 7777);
	/* A connected socket to a closed port learns of it. */
	assert_int_equal(tn_udp_connect(ua, ST_IP_PEER, 7778), 0);
	assert_int_equal(tn_udp_send(ua, pl, 8), 0);
	assert_int_equal(wire(a, b), 2);
	assert_int_equal(tn_udp_take_error(ua), -ECONNREFUSED);
	tn_udp_close(ua);
	tn_udp_close(ub);
	tn_stack_destroy(a);
	st_destroy(b);
}

/* Same at the default MTU: 11,000 bytes in 8 fragments. */
static void test_two_stacks_1500(void **state)
{
	struct tn_stack_config ca, cb;
	struct tn_stack *a, *b;
	struct tn_udp_sock *ua, *ub;

	(void)state;
	st_default_cfg(&ca);
	st_default_cfg(&cb);
	memcpy(cb.mac, st_mac_peer.addr_bytes, 6);
	cb.ip = ST_IP_PEER;
	a = st_create(&ca, 0);
	b = st_create(&cb, 0);
	ua = open_bound(a, 0, 1111);
	ub = open_bound(b, 0, 2222);
	assert_int_equal(tn_udp_sendto(ua, pl, 11000, ST_IP_PEER, 2222), 0);
	assert_int_equal(wire(a, b), 2 + 8);
	recv_exact(ub, pl, 11000, ST_IP_US, 1111);
	tn_udp_close(ua);
	tn_udp_close(ub);
	tn_stack_destroy(a);
	st_destroy(b);
}

/* ---- multicast and IGMP ---- */

/* Asserts f is an IGMPv2 message of type about group to dst, with TTL
 * 1 and the Router Alert option. */
static void assert_igmp(const uint8_t *fr, int len, uint8_t type, uint32_t group, uint32_t dst)
{
	const struct rte_ether_hdr *e = st_eth_of(fr);
	const struct rte_ipv4_hdr *h = (const struct rte_ipv4_hdr *)(e + 1);
	const uint8_t *o = (const uint8_t *)(h + 1), *g = o + 4;
	struct rte_ether_addr mac = { { 0x01, 0x00, 0x5e, 0, 0, 0 } };
	uint32_t gr;

	assert_int_equal(len, 14 + 24 + 8);
	memcpy(&mac.addr_bytes[3], (const uint8_t *)&dst + 1, 3);
	mac.addr_bytes[3] &= 0x7f;
	assert_memory_equal(&e->dst_addr, &mac, 6);
	assert_int_equal(h->version_ihl, 0x46);
	assert_int_equal(h->time_to_live, 1);
	assert_int_equal(h->next_proto_id, IPPROTO_IGMP);
	assert_int_equal(h->dst_addr, dst);
	assert_int_equal(h->src_addr, ST_IP_US);
	assert_int_equal(rte_raw_cksum(h, 24), 0xffff);
	assert_memory_equal(o, "\x94\x04\x00\x00", 4);
	assert_int_equal(g[0], type);
	assert_int_equal(rte_raw_cksum(g, 8), 0xffff);
	memcpy(&gr, g + 4, 4);
	assert_int_equal(gr, group);
}

static void test_multicast(void **state)
{
	struct tn_stack *s = create_known();
	struct tn_udp_sock *u1 = tn_udp_open(s), *u2 = tn_udp_open(s), *u3;
	int len;

	(void)state;
	assert_int_equal(tn_udp_set_reuseaddr(u1, true), 0);
	assert_int_equal(tn_udp_set_reuseaddr(u2, true), 0);
	assert_int_equal(tn_udp_bind(u1, 0, 5000), 0);
	assert_int_equal(tn_udp_bind(u2, GROUP, 5000), 0);
	/* Before joining, the group's frames are not ours. */
	st_feed(s, st_udp_frame(0, 1000, GROUP, 5000, &group_mac, pl, 10));
	assert_int_equal(st_stats(s).eth_not_ours, 1);
	assert_int_equal(tn_udp_join(u1, ST_IP(10, 0, 0, 7)), -EINVAL);
	assert_int_equal(tn_udp_join(u1, GROUP), 0);
	assert_int_equal(tn_udp_join(u1, GROUP), -EADDRINUSE);
	len = st_pop(s, f, sizeof(f));
	assert_igmp(f, len, 0x16, GROUP, GROUP);
	st_expect_none(s);
	assert_int_equal(tn_udp_join(u2, GROUP), 0); /* not the first: no report */
	st_expect_none(s);
	/* Delivered to both sockets on the port, byte-exact. */
	st_feed(s, st_udp_frame(0, 1000, GROUP, 5000, &group_mac, pl, 300));
	expect_dgram(u1, pl, 300, ST_IP_PEER, 1000);
	expect_dgram(u2, pl, 300, ST_IP_PEER, 1000);
	/* Another group with the same MAC: through Ethernet, not IP; only u1
	 * (bound to any) takes a broadcast. */
	st_feed(s, st_udp_frame(0, 1000, GROUP_ALIAS, 5000, &group_mac, pl, 10));
	assert_int_equal(st_stats(s).ip_not_ours, 1);
	st_feed(s, st_udp_frame(0, 1000, ST_IP(10, 0, 0, 255), 5000, &st_mac_bcast, pl, 10));
	expect_dgram(u1, pl, 10, ST_IP_PEER, 1000);
	expect_empty(u2);
	expect_empty(u1);
	/* No socket on the port: dropped, no ICMP error about a group. */
	st_feed(s, st_udp_frame(0, 1000, GROUP, 5001, &group_mac, pl, 10));
	st_expect_none(s);
	/* Sending to a group: its MAC, TTL 1, no ARP. */
	u3 = tn_udp_open(s);
	assert_int_equal(tn_udp_sendto(u3, pl, 20, ST_IP(239, 9, 9, 9), 6000), 0);
	len = st_pop(s, f, sizeof(f));
	assert_memory_equal(st_eth_of(f)->dst_addr.addr_bytes, "\x01\x00\x5e\x09\x09\x09", 6);
	assert_int_equal(((const struct rte_ipv4_hdr *)(f + 14))->time_to_live, 1);
	st_assert_udp(f, len, 0, 6000, NULL);
	tn_udp_close(u3);
	/* Leaves: the last one sends a leave to all-routers. */
	assert_int_equal(tn_udp_leave(u1, GROUP), 0);
	assert_int_equal(tn_udp_leave(u1, GROUP), -EADDRNOTAVAIL);
	st_expect_none(s);
	assert_int_equal(tn_udp_leave(u2, GROUP), 0);
	len = st_pop(s, f, sizeof(f));
	assert_igmp(f, len, 0x17, GROUP, ST_IP(224, 0, 0, 2));
	st_feed(s, st_udp_frame(0, 1000, GROUP, 5000, &group_mac, pl, 10));
	assert_int_equal(st_stats(s).eth_not_ours, 2);
	expect_empty(u1);
	expect_empty(u2);
	/* Closing a member leaves for it. */
	assert_int_equal(tn_udp_join(u2, GROUP), 0);
	assert_int_equal(st_drain(s), 1);
	tn_udp_close(u2);
	len = st_pop(s, f, sizeof(f));
	assert_igmp(f, len, 0x17, GROUP, ST_IP(224, 0, 0, 2));
	assert_int_equal(st_stats(s).igmp_reports_sent, 2);
	assert_int_equal(st_stats(s).igmp_leaves_sent, 2);
	tn_udp_close(u1);
	st_destroy(s);
}

/* An IGMP message from the peer to dst. */
static void feed_igmp(struct tn_stack *s, uint8_t type, uint8_t max_resp, uint32_t group,
		      uint32_t dst, const struct rte_ether_addr *eth_dst, int bad)
{
	struct st_ip ip = { .proto = IPPROTO_IGMP, .dst = dst, .eth_dst = eth_dst, .ttl = 1 };
	uint8_t b[8] = { type, max_resp, 0, 0 };
	uint16_t sum;

	memcpy(b + 4, &group, 4);
	sum = ~rte_raw_cksum(b, 8);
	memcpy(b + 2, &sum, 2);
	b[7] ^= bad;
	st_feed(s, st_ipv4(&ip, b, 8));
}

static void test_igmp_queries(void **state)
{
	struct tn_stack *s = create_known();
	struct tn_udp_sock *u = open_bound(s, 0, 5000);
	uint64_t next;
	int len, i;

	(void)state;
	assert_int_equal(tn_udp_join(u, GROUP), 0);
	assert_int_equal(st_drain(s), 1);
	/* A general query, 10 s to answer: a report within that; the
	 * stack's next deadline shows it before any timer walk (a loop
	 * runs tn_stack_timers only when that deadline has passed). */
	st_advance_to(s, st_now);
	feed_igmp(s, 0x11, 100, 0, ALL_HOSTS, &all_hosts_mac, 0);
	assert_true(tn_stack_next_deadline(s) <= st_now + 10 * ST_SEC);
	st_expect_none(s);
	next = st_advance_to(s, st_now);
	assert_true(next > st_now && next <= st_now + 10 * ST_SEC);
	/* A flood of queries keeps one report pending. */
	for (i = 0; i < 100; i++)
		feed_igmp(s, 0x11, 100, 0, ALL_HOSTS, &all_hosts_mac, 0);
	st_advance_to(s, st_now + 10 * ST_SEC + 1);
	len = st_pop(s, f, sizeof(f));
	assert_igmp(f, len, 0x16, GROUP, GROUP);
	st_expect_none(s);
	st_advance_to(s, st_now + 20 * ST_SEC);
	st_expect_none(s);
	assert_int_equal(st_stats(s).igmp_queries_rx, 101);
	/* A group query; another host's report suppresses ours, and its
	 * deadline is gone from the stack's next deadline too. */
	feed_igmp(s, 0x11, 50, GROUP, GROUP, &group_mac, 0);
	next = st_advance_to(s, st_now);
	assert_true(next > st_now && next <= st_now + 5 * ST_SEC);
	feed_igmp(s, 0x16, 0, GROUP, GROUP, &group_mac, 0);
	assert_true(st_advance_to(s, st_now) > st_now + 5 * ST_SEC);
	st_advance_to(s, st_now + 6 * ST_SEC);
	st_expect_none(s);
	assert_int_equal(st_stats(s).igmp_reports_suppressed, 1);
	/* A query for a group we are not in, a bad checksum: nothing. */
	feed_igmp(s, 0x11, 50, GROUP_ALIAS, ALL_HOSTS, &all_hosts_mac, 0);
	feed_igmp(s, 0x11, 50, 0, ALL_HOSTS, &all_hosts_mac, 1);
	st_advance_to(s, st_now + 6 * ST_SEC);
	st_expect_none(s);
	assert_int_equal(st_stats(s).igmp_bad, 1);
	assert_int_equal(st_stats(s).igmp_queries_rx, 102);
	/* Leaving with a report pending: no report, and no deadline for it. */
	feed_igmp(s, 0x11, 50, GROUP, GROUP, &group_mac, 0);
	assert_true(st_advance_to(s, st_now) <= st_now + 5 * ST_SEC);
	tn_udp_close(u);
	assert_int_equal(st_drain(s), 1); /* the leave */
	assert_true(st_advance_to(s, st_now) > st_now + 5 * ST_SEC);
	st_advance_to(s, st_now + 6 * ST_SEC);
	st_expect_none(s);
	st_destroy(s);
}

/* ---- the coroutine API ---- */

struct rx_args {
	struct tn_udp_sock *u;
	size_t cap;
	uint64_t timeout;
	ssize_t n;
	uint32_t addr;
	uint16_t port;
	int again; /* a second recvfrom after the first */
	ssize_t n2;
};

static intptr_t rx_task(void *arg)
{
	struct rx_args *a = arg;
	struct tn_timeout to;

	if (a->timeout) {
		tn_timeout_enter(&to, tn_now() + a->timeout);
		a->n = tn_udp_recvfrom(a->u, got, a->cap, &a->addr, &a->port);
		a->n = tn_timeout_exit(&to, (int)(a->n < 0 ? a->n : 0)) ?: a->n;
	} else {
		a->n = tn_udp_recvfrom(a->u, got, a->cap, &a->addr, &a->port);
	}
	if (a->again)
		a->n2 = tn_udp_recvfrom(a->u, got, a->cap, NULL, NULL);
	return 0;
}

struct res {
	int err;
	intptr_t v;
};

static void collect(void *arg, int err, intptr_t v)
{
	((struct res *)arg)->err = err;
	((struct res *)arg)->v = v;
}

/* Consumes a finished task's join future. */
static void reap(struct tn_future *fu)
{
	struct res r = { -1, 0 };

	assert_true(tn_future_done(fu));
	tn_future_then(fu, collect, &r);
	assert_int_equal(r.err, 0);
}

static int co_setup(void **state)
{
	setup(state);
	return tn_test_setup(state);
}

static void test_co_recvfrom(void **state)
{
	struct tn_stack *s = create_known();
	struct tn_udp_sock *u = open_bound(s, 0, 5000);
	struct rx_args a = { .u = u, .cap = sizeof(got) };
	struct tn_future *fu;

	(void)state;
	a.n = 1;
	assert_int_equal(tn_udp_recvfrom(u, got, 10, NULL, NULL), -EPERM);
	fu = tn_task_join(tn_task_spawn(rx_task, &a));
	tn_test_settle();
	assert_false(tn_future_done(fu)); /* waiting */
	st_feed(s, st_udp_frame(0, 1234, 0, 5000, NULL, pl, 500));
	tn_test_settle();
	reap(fu);
	assert_int_equal(a.n, 500);
	assert_memory_equal(got, pl, 500);
	assert_int_equal(a.addr, ST_IP_PEER);
	assert_int_equal(a.port, 1234);
	/* Already queued: returns at once; truncated to the buffer, the
	 * full length returned. */
	a.cap = 16;
	memset(got, 0, 64);
	st_feed(s, st_udp_frame(0, 1235, 0, 5000, NULL, pl + 1, 40));
	fu = tn_task_join(tn_task_spawn(rx_task, &a));
	tn_test_settle();
	reap(fu);
	assert_int_equal(a.n, 40);
	assert_memory_equal(got, pl + 1, 16);
	assert_int_equal(got[16], 0);
	expect_empty(u);
	tn_udp_close(u);
	st_destroy(s);
}

static void test_co_cancel(void **state)
{
	struct tn_stack *s = create_known();
	struct tn_udp_sock *u = open_bound(s, 0, 5000);
	struct rx_args a = { .u = u, .cap = sizeof(got) };
	struct tn_task *t;
	struct tn_future *fu;

	(void)state;
	t = tn_task_spawn(rx_task, &a);
	fu = tn_task_join(t);
	tn_test_settle();
	assert_int_equal(tn_task_cancel(t), 0);
	tn_test_settle();
	reap(fu);
	assert_int_equal(a.n, -ECANCELED);
	/* The socket still works, for a new task. */
	a.n = 0;
	fu = tn_task_join(tn_task_spawn(rx_task, &a));
	tn_test_settle();
	st_feed(s, st_udp_frame(0, 1000, 0, 5000, NULL, pl, 33));
	tn_test_settle();
	reap(fu);
	assert_int_equal(a.n, 33);
	/* A handover racing a cancellation wins: the datagram is returned,
	 * the cancellation reaches the next await. */
	a.again = 1;
	t = tn_task_spawn(rx_task, &a);
	fu = tn_task_join(t);
	tn_test_settle();
	st_feed(s, st_udp_frame(0, 1000, 0, 5000, NULL, pl + 3, 21));
	tn_task_cancel(t);
	tn_test_settle();
	reap(fu);
	assert_int_equal(a.n, 21);
	assert_int_equal(a.n2, -ECANCELED);
	expect_empty(u);
	tn_udp_close(u);
	st_destroy(s);
}

static void test_co_timeout(void **state)
{
	struct tn_stack *s = create_known();
	struct tn_udp_sock *u = open_bound(s, 0, 5000);
	struct rx_args a = { .u = u, .cap = sizeof(got), .timeout = 5 * TN_NS_PER_MS };

	(void)state;
	assert_int_equal(tn_test_run(rx_task, &a, NULL), 0);
	assert_int_equal(a.n, -ETIMEDOUT);
	/* Data in time: no timeout. */
	st_feed(s, st_udp_frame(0, 1000, 0, 5000, NULL, pl, 7));
	assert_int_equal(tn_test_run(rx_task, &a, NULL), 0);
	assert_int_equal(a.n, 7);
	tn_udp_close(u);
	st_destroy(s);
}

struct rd_args {
	struct tn_udp_sock *u;
	int err;
	uint16_t n;
};

static intptr_t readable_task(void *arg)
{
	struct rd_args *a = arg;
	struct rte_mbuf *m[4];
	uint16_t i;

	a->err = tn_udp_wait_readable(a->u);
	if (a->err == 0) {
		a->n = tn_udp_recv_burst(a->u, m, NULL, 4);
		for (i = 0; i < a->n; i++)
			rte_pktmbuf_free(m[i]);
	}
	return 0;
}

static void test_co_readable_errors_close(void **state)
{
	struct tn_stack *s = create_known();
	struct tn_udp_sock *u = open_bound(s, 0, 4000);
	struct rx_args a = { .u = u, .cap = sizeof(got) };
	struct rd_args r = { .u = u };
	struct tn_future *f1, *f2;

	(void)state;
	/* wait_readable, then a burst. */
	f1 = tn_task_join(tn_task_spawn(readable_task, &r));
	tn_test_settle();
	assert_false(tn_future_done(f1));
	st_feed(s, st_udp_frame(0, 53, 0, 4000, NULL, pl, 10));
	st_feed(s, st_udp_frame(0, 53, 0, 4000, NULL, pl, 10));
	tn_test_settle();
	reap(f1);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.n, 2);
	/* An ICMP error reaches a waiting reader of a connected socket. */
	assert_int_equal(tn_udp_connect(u, ST_IP_PEER, 53), 0);
	f1 = tn_task_join(tn_task_spawn(rx_task, &a));
	tn_test_settle();
	feed_icmp_err(s, 3, 3, 4000, ST_IP_PEER, 53);
	tn_test_settle();
	reap(f1);
	assert_int_equal(a.n, -ECONNREFUSED);
	assert_int_equal(tn_udp_take_error(u), 0); /* delivered once */
	/* Pending (nobody waiting): the next call returns it, before data. */
	feed_icmp_err(s, 3, 3, 4000, ST_IP_PEER, 53);
	st_feed(s, st_udp_frame(0, 53, 0, 4000, NULL, pl, 10));
	f1 = tn_task_join(tn_task_spawn(readable_task, &r));
	tn_test_settle();
	reap(f1);
	assert_int_equal(r.err, -ECONNREFUSED);
	f1 = tn_task_join(tn_task_spawn(rx_task, &a));
	tn_test_settle();
	reap(f1);
	assert_int_equal(a.n, 10);
	/* Close wakes both kinds of waiters with -EBADF. */
	f1 = tn_task_join(tn_task_spawn(rx_task, &a));
	f2 = tn_task_join(tn_task_spawn(readable_task, &r));
	tn_test_settle();
	tn_udp_close(u);
	tn_test_settle();
	reap(f1);
	reap(f2);
	assert_int_equal(a.n, -EBADF);
	assert_int_equal(r.err, -EBADF);
	st_destroy(s);
}

/* The stack is destroyed under a waiting task: it gets -EBADF. */
static void test_co_stack_destroy(void **state)
{
	struct tn_stack *s = create_known();
	struct tn_udp_sock *u = open_bound(s, 0, 4000);
	struct rx_args a = { .u = u, .cap = sizeof(got) };
	struct tn_future *fu;

	(void)state;
	st_feed(s, st_udp_frame(0, 53, 0, 4000, NULL, pl, 10)); /* left queued */
	assert_int_equal(tn_udp_join(u, GROUP), 0);
	assert_int_equal(st_drain(s), 1);
	assert_int_equal(tn_udp_set_rcvq(u, 8), 0);
	a.again = 1;
	fu = tn_task_join(tn_task_spawn(rx_task, &a));
	tn_test_settle();
	assert_int_equal(a.n, 10);
	assert_false(tn_future_done(fu)); /* in the second recvfrom */
	st_destroy(s);
	tn_test_settle();
	reap(fu);
	assert_int_equal(a.n2, -EBADF);
}

static int co_teardown(void **state)
{
	return tn_test_teardown(state);
}

static int group_setup(void **state)
{
	(void)state;
	return st_group_setup("tn_test_stack_udp");
}

static int group_teardown(void **state)
{
	(void)state;
	return st_group_teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_deliver, setup),
		cmocka_unit_test_setup(test_deliver_burst, setup),
		cmocka_unit_test_setup(test_bad_input, setup),
		cmocka_unit_test_setup(test_port_unreachable, setup),
		cmocka_unit_test_setup(test_demux, setup),
		cmocka_unit_test_setup(test_bind_rules, setup),
		cmocka_unit_test_setup(test_rcvq_bounded, setup),
		cmocka_unit_test_setup(test_send, setup),
		cmocka_unit_test_setup(test_send_burst, setup),
		cmocka_unit_test_setup(test_reply_burst, setup),
		cmocka_unit_test_setup(test_reply_burst_copy, setup),
		cmocka_unit_test_setup(test_send_max_fragmented, setup),
		cmocka_unit_test_setup(test_icmp_errors, setup),
		cmocka_unit_test_setup(test_two_stacks, setup),
		cmocka_unit_test_setup(test_two_stacks_1500, setup),
		cmocka_unit_test_setup(test_multicast, setup),
		cmocka_unit_test_setup(test_igmp_queries, setup),
		cmocka_unit_test_setup_teardown(test_co_recvfrom, co_setup, co_teardown),
		cmocka_unit_test_setup_teardown(test_co_cancel, co_setup, co_teardown),
		cmocka_unit_test_setup_teardown(test_co_timeout, co_setup, co_teardown),
		cmocka_unit_test_setup_teardown(test_co_readable_errors_close, co_setup,
						co_teardown),
		cmocka_unit_test_setup_teardown(test_co_stack_destroy, co_setup, co_teardown),
	};

	/* ST_FILTER=pattern runs only the matching tests (debugging). */
	if (getenv("ST_FILTER"))
		cmocka_set_test_filter(getenv("ST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown) ? 1 : 0;
}
