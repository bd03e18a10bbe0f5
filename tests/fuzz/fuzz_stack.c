/* libFuzzer target for the protocol stack (stack/): built by
 * scripts/fuzz.sh, not by meson.
 *
 * Each input is a fresh stack instance (10.0.0.2/24 gw 10.0.0.1, a
 * 16-entry ARP table, MTU 1500) with two UDP sockets on port 7: one
 * bound to any address that joined 239.1.2.3, and one connected to
 * 10.0.0.5:1000 with a receive queue of 2 datagrams; driven by a
 * sequence of records:
 *
 *   [1 byte op][2 bytes len, big endian][len bytes]
 *
 * except that ops 1 and 2 carry no bytes (len is only a number, so a
 * 60 s tick fits in 3 bytes); a record whose len runs past the input's
 * end gets what is left.
 *   op % 4 == 0  feed those bytes as one received frame; if op >> 2 is
 *                non-zero the frame is chained in segments of
 *                (op >> 2) * 16 bytes, else segments of the full data room;
 *                the frames of consecutive such records arrive in one
 *                burst (tn_stack_input, up to 32 frames), fed before the
 *                next record of another kind
 *   op % 4 == 1  advance the virtual clock by len ms and run the timers
 *   op % 4 == 2  drain the sockets (tn_udp_recv_burst) and free
 *   op % 4 == 3  send a UDP datagram of len bytes (the record's bytes) to
 *                port 7 of, by (op >> 2) % 4: 10.0.0.x, 192.0.2.x (via the
 *                gateway), the joined group, or 10.0.0.255, where x is
 *                the first byte; if op & 16, from the connected socket,
 *                in an mbuf (tn_udp_send_burst, tn_udp_send_mbuf on the
 *                other stack), else copied (tn_udp_sendto)
 * After every record the stack's output is drained and freed.  At the
 * end the stack is destroyed and the pool must be full again: a missing
 * mbuf aborts, so libFuzzer reports it as a crash.
 *
 * Every record goes to two such stacks, one of them with no_fast_path
 * (tn_stack_input's unicast UDP path off, every frame through the
 * general one): their output frames, the datagrams their sockets hold
 * (bytes, source, the mbuf's offsets and flags, the headers kept in
 * front of the payload) and their counters must be the same, or it
 * aborts. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <tern/stack.h>
#include <tern/udp.h>

#define FZ_POOL_N 8191u
#define FZ_MS 1000000ull
#define FZ_IP(a, b, c, d) rte_cpu_to_be_32(((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))
#define FZ_GROUP FZ_IP(239, 1, 2, 3)
#define FZ_PORT 7
#define FZ_BURST 32

static struct rte_mempool *fz_pool;
static int fz_verbose; /* FUZZ_STACK_STATS set: print counters per input */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char prefix[32];
	char *eal_argv[] = { "fuzz", "--no-huge", "-m", "512", "--no-pci", "--file-prefix",
			     prefix, "--log-level", "*:error", "--no-telemetry", NULL };

	(void)argc;
	(void)argv;
	fz_verbose = getenv("FUZZ_STACK_STATS") != NULL;
	snprintf(prefix, sizeof(prefix), "tnfuzz%d", (int)getpid());
	if (rte_eal_init(10, eal_argv) < 0) {
		fprintf(stderr, "fuzz_stack: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		abort();
	}
	/* No per-lcore cache, so the available count is exact at once. */
	fz_pool = rte_pktmbuf_pool_create("fz_pool", FZ_POOL_N, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  SOCKET_ID_ANY);
	if (!fz_pool) {
		fprintf(stderr, "fuzz_stack: no mempool: %s\n", rte_strerror(rte_errno));
		abort();
	}
	return 0;
}

/* A frame of len bytes in segments of seg bytes (at most the data room);
 * NULL if the pool is dry. */
static struct rte_mbuf *make_frame(const uint8_t *p, uint32_t len, uint32_t seg)
{
	struct rte_mbuf *head = NULL, *last = NULL;
	uint32_t room = rte_pktmbuf_data_room_size(fz_pool) - RTE_PKTMBUF_HEADROOM;
	uint32_t off = 0;

	if (!seg || seg > room)
		seg = room;
	do {
		struct rte_mbuf *m = rte_pktmbuf_alloc(fz_pool);
		uint32_t k = len - off < seg ? len - off : seg;

		if (!m) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		if (k)
			memcpy(rte_pktmbuf_append(m, k), p + off, k);
		off += k;
		if (!head) {
			head = m;
		} else {
			last->next = m;
			head->nb_segs++;
			head->pkt_len += k;
		}
		last = m;
	} while (off < len);
	return head;
}

/* Frames waiting to be fed to both stacks as one burst. */
static struct rte_mbuf *fz_burst[2][FZ_BURST];
static uint16_t fz_burst_n;

static void feed_burst(struct tn_stack **s, uint64_t now)
{
	unsigned k;

	for (k = 0; k < 2 && fz_burst_n; k++)
		tn_stack_input(s[k], fz_burst[k], fz_burst_n, now);
	fz_burst_n = 0;
}

static void differ(const char *what)
{
	fprintf(stderr, "fuzz_stack: the fast and general paths differ: %s\n", what);
	abort();
}

/* Whether a and b hold the same bytes. */
static bool same_bytes(const struct rte_mbuf *a, const struct rte_mbuf *b)
{
	static uint8_t ba[65536], bb[65536];
	const void *pa, *pb;

	if (a->pkt_len != b->pkt_len)
		return false;
	pa = rte_pktmbuf_read(a, 0, a->pkt_len, ba);
	pb = rte_pktmbuf_read(b, 0, b->pkt_len, bb);
	return a->pkt_len == 0 || memcmp(pa, pb, a->pkt_len) == 0;
}

/* Both stacks' output, frame by frame, compared and freed. */
static void drain_output(struct tn_stack **s)
{
	struct rte_mbuf *out[2][FZ_BURST];
	uint16_t n[2], i;

	do {
		n[0] = tn_stack_output(s[0], out[0], FZ_BURST);
		n[1] = tn_stack_output(s[1], out[1], FZ_BURST);
		if (n[0] != n[1])
			differ("frames sent");
		for (i = 0; i < n[0]; i++)
			if (!same_bytes(out[0][i], out[1][i]))
				differ("a frame sent");
		rte_pktmbuf_free_bulk(out[0], n[0]);
		rte_pktmbuf_free_bulk(out[1], n[1]);
	} while (n[0]);
}

/* What a received datagram's mbuf says besides its bytes; the headers
 * kept in front of the payload (l3_len of IPv4, then UDP's 8). */
static bool same_dgram(const struct rte_mbuf *a, const struct rte_mbuf *b)
{
	unsigned front = a->l3_len ? a->l3_len + 8u : 0;

	return same_bytes(a, b) && a->l3_len == b->l3_len && a->l2_len == b->l2_len &&
	       a->data_off == b->data_off && a->ol_flags == b->ol_flags &&
	       a->packet_type == b->packet_type && a->nb_segs == b->nb_segs &&
	       (!front || (a->data_off >= front &&
			   memcmp(rte_pktmbuf_mtod_offset(a, const uint8_t *, -(int)front),
				  rte_pktmbuf_mtod_offset(b, const uint8_t *, -(int)front),
				  front) == 0));
}

/* Both stacks' sockets u[0] and u[1]: their datagrams compared and
 * freed, then their counters compared. */
static void drain_socket(struct tn_udp_sock **u)
{
	struct tn_udp_stats us[2];
	struct rte_mbuf *in[2][FZ_BURST];
	struct tn_udp_addr from[2][FZ_BURST];
	uint16_t n[2], i;

	do {
		n[0] = tn_udp_recv_burst(u[0], in[0], from[0], FZ_BURST);
		n[1] = tn_udp_recv_burst(u[1], in[1], from[1], FZ_BURST);
		if (n[0] != n[1])
			differ("datagrams received");
		for (i = 0; i < n[0]; i++)
			if (!same_dgram(in[0][i], in[1][i]) || from[0][i].addr != from[1][i].addr ||
			    from[0][i].port != from[1][i].port)
				differ("a datagram received");
		rte_pktmbuf_free_bulk(in[0], n[0]);
		rte_pktmbuf_free_bulk(in[1], n[1]);
	} while (n[0]);
	tn_udp_stats_get(u[0], &us[0]);
	tn_udp_stats_get(u[1], &us[1]);
	if (memcmp(&us[0], &us[1], sizeof(us[0])) != 0)
		differ("a socket's counters");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	struct tn_stack_config cfg;
	struct tn_stack *s[2];
	struct tn_udp_sock *u[2], *c[2];
	struct tn_stack_stats st[2];
	uint64_t now = 1000 * FZ_MS;
	size_t pos = 0;
	unsigned avail, k;

	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.mac, mac, 6);
	cfg.ip = FZ_IP(10, 0, 0, 2);
	cfg.prefix_len = 24;
	cfg.gw = FZ_IP(10, 0, 0, 1);
	cfg.mtu = 1500;
	cfg.mp = fz_pool;
	cfg.arp_entries = 16;
	cfg.seed = 1;
	for (k = 0; k < 2; k++) {
		cfg.no_fast_path = k == 1;
		s[k] = tn_stack_create(&cfg, now);
		if (!s[k]) {
			fprintf(stderr, "fuzz_stack: tn_stack_create failed\n");
			abort();
		}
		u[k] = tn_udp_open(s[k]);
		c[k] = tn_udp_open(s[k]);
		if (!u[k] || !c[k] || tn_udp_set_reuseaddr(u[k], true) != 0 ||
		    tn_udp_set_reuseaddr(c[k], true) != 0 || tn_udp_bind(u[k], 0, FZ_PORT) != 0 ||
		    tn_udp_join(u[k], FZ_GROUP) != 0 || tn_udp_bind(c[k], 0, FZ_PORT) != 0 ||
		    tn_udp_connect(c[k], FZ_IP(10, 0, 0, 5), 1000) != 0 ||
		    tn_udp_set_rcvq(c[k], 2) != 0) {
			fprintf(stderr, "fuzz_stack: socket setup failed\n");
			abort();
		}
	}
	drain_output(s);

	while (size - pos >= 3) {
		uint8_t op = data[pos];
		uint32_t len = (uint32_t)data[pos + 1] << 8 | data[pos + 2];
		const uint8_t *p = data + pos + 3;

		pos += 3;
		if (op % 4 == 0 || op % 4 == 3) {
			if (len > size - pos)
				len = size - pos;
			pos += len;
		}

		if (op % 4 != 0)
			feed_burst(s, now);
		switch (op % 4) {
		case 0: {
			struct rte_mbuf *m[2];

			m[0] = make_frame(p, len, (uint32_t)(op >> 2) * 16);
			m[1] = m[0] ? make_frame(p, len, (uint32_t)(op >> 2) * 16) : NULL;
			if (m[0] && !m[1]) {
				rte_pktmbuf_free(m[0]);
			} else if (m[0]) {
				fz_burst[0][fz_burst_n] = m[0];
				fz_burst[1][fz_burst_n] = m[1];
				if (++fz_burst_n == FZ_BURST)
					feed_burst(s, now);
			}
			break;
		}
		case 1:
			now += (uint64_t)len * FZ_MS;
			for (k = 0; k < 2; k++)
				tn_stack_timers(s[k], now);
			break;
		case 2:
			drain_socket(u);
			drain_socket(c);
			break;
		default: {
			uint8_t x = len ? p[0] : 1;
			uint32_t dst;

			switch ((op >> 2) % 4) {
			case 0:
				dst = FZ_IP(10, 0, 0, x);
				break;
			case 1:
				dst = FZ_IP(192, 0, 2, x);
				break;
			case 2:
				dst = FZ_GROUP;
				break;
			default:
				dst = FZ_IP(10, 0, 0, 255);
				break;
			}
			if (op & 16) {
				/* The burst send on one stack, one by one on the
				 * other: the same frames. */
				struct rte_mbuf *m[2];

				m[0] = make_frame(p, len, 0);
				m[1] = m[0] ? make_frame(p, len, 0) : NULL;
				if (m[0] && !m[1]) {
					rte_pktmbuf_free(m[0]);
				} else if (m[0]) {
					(void)tn_udp_send_burst(c[0], &m[0], 1, dst, FZ_PORT);
					(void)tn_udp_send_mbuf(c[1], m[1], dst, FZ_PORT);
				}
				break;
			}
			for (k = 0; k < 2; k++)
				(void)tn_udp_sendto(u[k], p, len, dst, FZ_PORT);
			break;
		}
		}
		drain_output(s);
	}

	feed_burst(s, now);
	drain_output(s);
	drain_socket(u);
	drain_socket(c);
	for (k = 0; k < 2; k++)
		tn_stack_stats_get(s[k], &st[k]);
	if (memcmp(&st[0], &st[1], sizeof(st[0])) != 0)
		differ("counters");
	if (fz_verbose) {
		fprintf(stderr,
			"rx %lu tx %lu runt %lu vlan %lu arp_rx %lu arp_bad %lu arp_replies %lu "
			"arp_req %lu ip_rx %lu ip_bad_csum %lu ip_bad_opt %lu frag_rx %lu "
			"reass %lu frag_drop %lu frag_timeout %lu frag_bad %lu udp_rx %lu "
			"udp_tx %lu udp_bad_csum %lu udp_no_port %lu icmp_rx %lu echo_replied %lu "
			"unreach_sent %lu icmp_err_rx %lu igmp_rx %lu igmp_queries %lu "
			"igmp_reports %lu igmp_suppressed %lu held %u\n",
			st[0].rx_frames, st[0].tx_frames, st[0].eth_runt, st[0].eth_vlan, st[0].arp_rx, st[0].arp_bad,
			st[0].arp_replies_sent, st[0].arp_requests_sent, st[0].ip_rx, st[0].ip_bad_csum,
			st[0].ip_bad_options, st[0].ip_frag_rx, st[0].ip_frag_reassembled, st[0].ip_frag_dropped,
			st[0].ip_frag_timeout, st[0].ip_frag_bad, st[0].udp_rx, st[0].udp_tx, st[0].udp_bad_csum,
			st[0].udp_no_port, st[0].icmp_rx, st[0].icmp_echo_replied, st[0].icmp_unreach_sent,
			st[0].icmp_errors_rx, st[0].igmp_rx, st[0].igmp_queries_rx, st[0].igmp_reports_sent,
			st[0].igmp_reports_suppressed, FZ_POOL_N - rte_mempool_avail_count(fz_pool));
	}
	tn_stack_destroy(s[0]);
	tn_stack_destroy(s[1]);
	avail = rte_mempool_avail_count(fz_pool);
	if (avail != FZ_POOL_N) {
		fprintf(stderr, "fuzz_stack: mbuf leak: %u of %u mbufs back in the pool\n", avail,
			FZ_POOL_N);
		abort();
	}
	return 0;
}
