/* pcapng capture (dataplane/pcap.c): UDP frames captured RX and TX on
 * two net_null ports come back from tshark with their lengths, ports and
 * directions; a full ring drops copies and counts them; misuse fails
 * cleanly; no mbuf is leaked. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "eal_test.h"

#include <rte_byteorder.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_udp.h>

#include "tn_pcap.h"

#define POOL_N 8191u
#define NFRAMES 400u
#define BIG_LEN 3000u /* chained, longer than TN_PCAP_SNAPLEN */

static struct rte_mempool *g_pool;
static char g_path[64];

/* ---- fixture ---- */

static int group_setup(void **state)
{
	static const char *const ports[] = { "--vdev=net_null0", "--vdev=net_null1", NULL };

	(void)state;
	if (tn_test_eal_init("tn_test_pcap", ports) != 0)
		return -1;
	if (rte_eth_dev_count_avail() != 2) {
		printf("expected 2 net_null ports, got %u\n", rte_eth_dev_count_avail());
		return -1;
	}
	g_pool = rte_pktmbuf_pool_create("test_pcap", POOL_N, 0, 0,
					 RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	snprintf(g_path, sizeof(g_path), "/tmp/tn_test_pcap.%d.pcapng", (int)getpid());
	return g_pool ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	unlink(g_path);
	rte_mempool_free(g_pool);
	tn_test_eal_fini();
	return 0;
}

static int check_pool_full(void **state)
{
	(void)state;
	unlink(g_path);
	assert_int_equal(rte_mempool_avail_count(g_pool), POOL_N);
	return 0;
}

/* ---- frames ---- */

/* Ethernet + IPv4 + UDP, len bytes in all (len >= 42), in one mbuf. */
static struct rte_mbuf *mkudp(uint16_t len, uint16_t sport)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(g_pool);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	uint8_t *d;

	assert_non_null(m);
	d = (uint8_t *)rte_pktmbuf_append(m, len);
	assert_non_null(d);
	memset(d, 0xab, len);
	eth = (struct rte_ether_hdr *)d;
	eth->dst_addr = (struct rte_ether_addr){ { 0x02, 0, 0, 0, 0, 0x02 } };
	eth->src_addr = (struct rte_ether_addr){ { 0x02, 0, 0, 0, 0, 0x01 } };
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16(len - sizeof(*eth)),
		.time_to_live = 64,
		.next_proto_id = IPPROTO_UDP,
		.src_addr = rte_cpu_to_be_32(RTE_IPV4(10, 0, 0, 1)),
		.dst_addr = rte_cpu_to_be_32(RTE_IPV4(10, 0, 0, 2)),
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp = (struct rte_udp_hdr *)(ip + 1);
	*udp = (struct rte_udp_hdr){
		.src_port = rte_cpu_to_be_16(sport),
		.dst_port = rte_cpu_to_be_16(9),
		.dgram_len = rte_cpu_to_be_16(len - sizeof(*eth) - sizeof(*ip)),
	};
	return m;
}

/* BIG_LEN bytes over two segments. */
static struct rte_mbuf *mkbig(void)
{
	struct rte_mbuf *m = mkudp(1500, 7), *tail = rte_pktmbuf_alloc(g_pool);

	assert_non_null(tail);
	assert_non_null(rte_pktmbuf_append(tail, BIG_LEN - 1500));
	assert_int_equal(rte_pktmbuf_chain(m, tail), 0);
	return m;
}

/* ---- reading the file back ---- */

struct frame {
	unsigned len, cap_len, iface;
	char dir[16];
};

static void need_tshark(void)
{
	if (system("command -v tshark >/dev/null 2>&1") != 0)
		fail_msg("tshark is not installed: run scripts/setup.sh (or apt-get install tshark)");
}

/* Reads up to max frames; returns how many the file has. */
static unsigned read_frames(const char *path, struct frame *fr, unsigned max)
{
	char cmd[256], line[256];
	unsigned n = 0;
	FILE *f;
	int status;

	need_tshark();
	snprintf(cmd, sizeof(cmd),
		 "tshark -r '%s' -T fields -E separator=' ' -e frame.len -e frame.cap_len "
		 "-e frame.interface_id -e frame.packet_flags_direction 2>&1", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		struct frame x = { 0 };

		if (strncmp(line, "Running as user", 15) == 0)
			continue; /* tshark's warning for root */
		if (sscanf(line, "%u %u %u %15s", &x.len, &x.cap_len, &x.iface, x.dir) != 4) {
			pclose(f);
			fail_msg("tshark: unexpected line: %s", line);
		}
		if (n < max)
			fr[n] = x;
		n++;
	}
	status = pclose(f);
	if (status != 0)
		fail_msg("tshark -r %s failed (status %d)", path, status);
	return n;
}

/* tshark prints the direction as a number (1 inbound, 2 outbound) or a
 * hex flags word, depending on the version. */
static unsigned dir_of(const struct frame *f)
{
	return (unsigned)strtoul(f->dir, NULL, 0) & 3;
}

/* ---- tests ---- */

static void test_capture_rx_tx(void **state)
{
	static struct frame fr[NFRAMES + 8];
	struct tn_pcap *p = tn_pcap_open(g_path, 2);
	struct rte_mbuf *burst[10];
	uint16_t want_len[NFRAMES + 1];
	uint8_t want_port[NFRAMES + 1], want_dir[NFRAMES + 1];
	unsigned n;

	(void)state;
	if (p == NULL)
		fail_msg("tn_pcap_open: %s", strerror(errno));
	/* Bursts of 10 alternate port 0 RX, port 1 RX, port 0 TX, port 1 TX;
	 * lengths sweep 60..1514. */
	for (unsigned b = 0; b < NFRAMES / 10; b++) {
		uint16_t port = b % 2;
		bool rx = (b / 2) % 2 == 0;

		for (unsigned i = 0; i < 10; i++) {
			unsigned k = b * 10 + i;
			uint16_t len = (uint16_t)(60 + (k * 37) % (1514 - 60 + 1));

			burst[i] = mkudp(len, (uint16_t)k);
			want_len[k] = len;
			want_port[k] = (uint8_t)port;
			want_dir[k] = rx ? 1 : 2;
		}
		tn_pcap_capture(p, port, 0, burst, 10, rx);
		rte_pktmbuf_free_bulk(burst, 10); /* capture does not consume */
		if (b % 7 == 0)
			tn_pcap_drain(p);
	}
	/* One long chained packet: cut to the snap length, length kept. */
	burst[0] = mkbig();
	tn_pcap_capture(p, 1, 3, burst, 1, false);
	rte_pktmbuf_free(burst[0]);
	want_len[NFRAMES] = BIG_LEN;
	want_port[NFRAMES] = 1;
	want_dir[NFRAMES] = 2;

	assert_int_equal(tn_pcap_dropped(p), 0);
	assert_int_equal(tn_pcap_close(p), 0);

	n = read_frames(g_path, fr, NFRAMES + 8);
	assert_int_equal(n, NFRAMES + 1);
	for (unsigned k = 0; k <= NFRAMES; k++) {
		unsigned cap = RTE_MIN(want_len[k], TN_PCAP_SNAPLEN);

		if (fr[k].len != want_len[k] || fr[k].cap_len != cap ||
		    fr[k].iface != want_port[k] || dir_of(&fr[k]) != want_dir[k])
			fail_msg("frame %u: len %u cap %u iface %u dir %s; want %u %u %u %u", k,
				 fr[k].len, fr[k].cap_len, fr[k].iface, fr[k].dir, want_len[k],
				 cap, want_port[k], want_dir[k]);
	}
}

/* Nobody drains: the ring holds TN_PCAP_RING_SIZE copies, the rest are
 * dropped and counted, and close still writes what the ring held. */
static void test_ring_full(void **state)
{
	const unsigned total = TN_PCAP_RING_SIZE + 1000;
	struct tn_pcap *p = tn_pcap_open(g_path, 2);
	struct rte_mbuf *burst[32];
	uint64_t dropped;

	(void)state;
	if (p == NULL)
		fail_msg("tn_pcap_open: %s", strerror(errno));
	for (unsigned i = 0; i < 32; i++)
		burst[i] = mkudp(60, (uint16_t)i);
	for (unsigned done = 0; done < total; done += 25)
		tn_pcap_capture(p, 0, 0, burst, (uint16_t)RTE_MIN(25u, total - done), true);
	rte_pktmbuf_free_bulk(burst, 32);
	assert_int_equal(tn_pcap_dropped(p), total - TN_PCAP_RING_SIZE);

	/* Draining makes room again. */
	assert_true(tn_pcap_drain(p));
	burst[0] = mkudp(100, 1);
	tn_pcap_capture(p, 1, 0, burst, 1, false);
	rte_pktmbuf_free(burst[0]);

	dropped = tn_pcap_close(p);
	assert_int_equal(dropped, total - TN_PCAP_RING_SIZE);
	assert_int_equal(read_frames(g_path, NULL, 0), TN_PCAP_RING_SIZE + 1);
}

/* A port the file does not describe is not captured but counted; bad
 * opens fail with errno. */
static void test_misuse(void **state)
{
	struct tn_pcap *p;
	struct rte_mbuf *m;

	(void)state;
	errno = 0;
	assert_null(tn_pcap_open(g_path, 3));
	assert_int_equal(errno, ENODEV);
	errno = 0;
	assert_null(tn_pcap_open("/nonexistent-dir/x.pcapng", 2));
	assert_int_equal(errno, ENOENT);

	p = tn_pcap_open(g_path, 1);
	assert_non_null(p);
	m = mkudp(60, 1);
	tn_pcap_capture(p, 1, 0, &m, 1, true);
	tn_pcap_capture(p, 0, 0, &m, 1, true);
	rte_pktmbuf_free(m);
	assert_true(tn_pcap_drain(p));
	assert_false(tn_pcap_drain(p));
	assert_int_equal(tn_pcap_close(p), 1);
	assert_int_equal(read_frames(g_path, NULL, 0), 1);
	assert_int_equal(tn_pcap_close(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_capture_rx_tx, check_pool_full),
		cmocka_unit_test_teardown(test_ring_full, check_pool_full),
		cmocka_unit_test_teardown(test_misuse, check_pool_full),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
