/* Drives Tern's XDP steering through DPDK's net_af_xdp PMD, for
 * xdp_steer_test.sh, without the rest of the runtime:
 *
 *     xdp_steer_helper [EAL args] -- IFACE ADDR UDP_PORT SECONDS OWNED
 *
 * The EAL arguments go through tn_xdp_args_rewrite (so the af_xdp vdev
 * gets Tern's program); once port 0 is up, {ADDR, UDP, UDP_PORT} and the
 * whole address {OWNED, 0, 0} are added to the steering map and "ready"
 * is printed.  Then packets received on the AF_XDP port are counted:
 * "rx udp=N arp=A other=M" on every change, where udp counts datagrams to
 * ADDR:UDP_PORT, arp ARP packets asking for OWNED, and other everything
 * else (which should stay 0: the program passes the rest to the kernel).  SIGUSR1
 * deletes the entry ("deleted rc=R"); SIGTERM/SIGINT or SECONDS end the
 * run with "total udp=N other=M".  Exit 77 when AF_XDP is unavailable.
 *
 *     xdp_steer_helper --args-selftest
 *
 * checks tn_xdp_args_rewrite, tn_xdp_prog_path and the argument checks of
 * tn_xdp_steer_add without privileges or a network.
 *
 *     xdp_steer_helper --prog-selftest PROG.o
 *
 * loads the program for real (the verifier must accept it) with
 * tn_nosock_action set to XDP_DROP, fills tn_steer and runs crafted
 * frames through BPF_PROG_TEST_RUN: with no socket in xsks_map a steered
 * frame comes back as XDP_DROP, a passed one as XDP_PASS.  Exit 77
 * without the privilege to load BPF.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_arp.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "tn_xdp.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif

#define NB_MBUFS 8191
#define NB_DESC 1024
#define BURST 32

static volatile sig_atomic_t stop_flag, del_flag;

static void on_stop(int sig) { stop_flag = 1; }
static void on_del(int sig) { del_flag = 1; }

/* ---- --args-selftest ---- */

static int failures;

#define CHECK(cond, ...)                                                    \
	do {                                                                \
		if (!(cond)) {                                              \
			failures++;                                         \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);                                \
			printf("\n");                                       \
		}                                                           \
	} while (0)

/* Rewrites in[] and checks index `at` against want (NULL: unchanged). */
static void check_rewrite(const char *const *in, int n, int at, const char *want)
{
	char **out;
	int out_n = -1;

	out = tn_xdp_args_rewrite(n, (char **)in, &out_n);
	CHECK(out != NULL, "errno %d", errno);
	if (!out)
		return;
	CHECK(out_n == n, "argc %d, want %d", out_n, n);
	CHECK(out[n] == NULL, "argv[%d] not NULL", n);
	for (int i = 0; i < n; i++) {
		const char *w = i == at && want ? want : in[i];

		CHECK(strcmp(out[i], w) == 0, "argv[%d] = \"%s\", want \"%s\"",
		      i, out[i], w);
	}
	/* What rte_eal_init does to argv: permute, then overwrite one slot
	 * with the program name.  Freeing must still be exact (ASan). */
	if (n >= 3) {
		char *t = out[1];

		out[1] = out[2];
		out[2] = t;
		out[1] = out[0];
	}
	tn_xdp_args_free(out_n, out);
}

static int args_selftest(const char *self)
{
	char want[4096];
	const char *prog;

	/* An existing file wins over the build tree's program. */
	setenv("TERN_XDP_PROG", self, 1);
	prog = tn_xdp_prog_path();
	CHECK(prog && strcmp(prog, self) == 0, "prog %s, want %s", prog, self);
	/* A missing one falls through to the next candidate. */
	setenv("TERN_XDP_PROG", "/nonexistent/xdp.o", 1);
	prog = tn_xdp_prog_path();
	CHECK(!prog || strcmp(prog, "/nonexistent/xdp.o") != 0, "took a missing file");
	setenv("TERN_XDP_PROG", self, 1);

	{
		const char *in[] = { "app", "-l", "0", "--vdev=net_af_xdp0,iface=veth0", "--no-pci" };

		snprintf(want, sizeof(want), "--vdev=net_af_xdp0,iface=veth0,xdp_prog=%s", self);
		check_rewrite(in, 5, 3, want);
	}
	{
		const char *in[] = { "app", "--vdev", "net_af_xdp_foo,iface=x,start_queue=0" };

		snprintf(want, sizeof(want), "net_af_xdp_foo,iface=x,start_queue=0,xdp_prog=%s", self);
		check_rewrite(in, 3, 2, want);
	}
	{
		const char *in[] = { "app", "--vdev=net_af_xdp", "-l", "0" };

		snprintf(want, sizeof(want), "--vdev=net_af_xdp,xdp_prog=%s", self);
		check_rewrite(in, 4, 1, want);
	}
	{
		/* "xdp_prog" inside a value is not the key. */
		const char *in[] = { "app", "--vdev=net_af_xdp1,iface=xdp_prog=", "-l", "0" };

		snprintf(want, sizeof(want), "--vdev=net_af_xdp1,iface=xdp_prog=,xdp_prog=%s", self);
		check_rewrite(in, 4, 1, want);
	}
	{
		const char *in[] = { "app", "--vdev=net_af_xdp0,iface=x,xdp_prog=/mine.o", "-l", "0" };

		check_rewrite(in, 4, -1, NULL);
	}
	{
		const char *in[] = { "app", "--vdev", "net_af_xdp0,xdp_prog=/mine.o,iface=x" };

		check_rewrite(in, 3, -1, NULL);
	}
	{
		const char *in[] = { "app", "--vdev=net_tap0", "--vdev", "net_ring0", "--", "--vdev=net_af_xdp0,iface=x" };

		check_rewrite(in, 6, -1, NULL);
	}
	{
		const char *in[] = { "app" };

		check_rewrite(in, 1, -1, NULL);
	}

	CHECK(tn_xdp_steer_add("lo", htonl(0x7f000001), IPPROTO_UDP, 0) == -EINVAL, "udp without port");
	CHECK(tn_xdp_steer_add("lo", htonl(0x7f000001), 0, htons(9)) == -EINVAL, "port without proto");
	CHECK(tn_xdp_steer_add("lo", htonl(0x7f000001), IPPROTO_ICMP, 0) == -EINVAL, "icmp");
	CHECK(tn_xdp_steer_del("tn-no-such-if", htonl(0x7f000001), 0, 0) == -ENODEV, "no interface");

	printf("xdp_args: %d passed, %d failed\n", failures ? 0 : 1, failures ? 1 : 0);
	return failures ? 1 : 0;
}

/* ---- --prog-selftest PROG.o ---- */

/* What a test packet looks like. */
struct pkt_spec {
	uint16_t vlan_tpid;  /* 0: untagged */
	uint16_t ether_type; /* after the tag */
	uint8_t version, ihl, proto;
	uint16_t frag;       /* flags and offset, host order */
	uint32_t daddr;      /* host order */
	uint16_t dport;
	uint16_t arp_op;     /* for ETHER_TYPE_ARP */
	int cut;             /* bytes dropped from the end */
};

/* Builds the frame into buf; returns its length. */
static uint32_t build(uint8_t *buf, const struct pkt_spec *ps)
{
	uint8_t *p = buf;
	uint32_t len;

	memset(buf, 0, 256);
	memset(p, 0xff, 6);
	p[6] = 0x02;
	p += 12;
	if (ps->vlan_tpid) {
		*(uint16_t *)p = htons(ps->vlan_tpid);
		*(uint16_t *)(p + 2) = htons(42);
		p += 4;
	}
	*(uint16_t *)p = htons(ps->ether_type);
	p += 2;
	if (ps->ether_type == RTE_ETHER_TYPE_ARP) {
		struct rte_arp_hdr *arp = (struct rte_arp_hdr *)p;

		arp->arp_hardware = htons(RTE_ARP_HRD_ETHER);
		arp->arp_protocol = htons(RTE_ETHER_TYPE_IPV4);
		arp->arp_hlen = 6;
		arp->arp_plen = 4;
		arp->arp_opcode = htons(ps->arp_op);
		arp->arp_data.arp_sip = htonl(0x0a4d0002);
		arp->arp_data.arp_tip = htonl(ps->daddr);
		p += sizeof(*arp);
	} else if (ps->ether_type == RTE_ETHER_TYPE_IPV4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;
		uint32_t ihl = ps->ihl * 4u;

		ip->version_ihl = (uint8_t)(ps->version << 4 | ps->ihl);
		ip->time_to_live = 64;
		ip->next_proto_id = ps->proto;
		ip->fragment_offset = htons(ps->frag);
		ip->src_addr = htonl(0x0a4d0002);
		ip->dst_addr = htonl(ps->daddr);
		/* Options (or garbage, for a bad IHL) that look like the
		 * wrong ports if the program read them as the L4 header. */
		for (uint32_t i = sizeof(*ip); i < 60; i++)
			p[i] = 0x23;
		if (ihl < sizeof(*ip))
			ihl = sizeof(*ip);
		p += ihl;
		*(uint16_t *)p = htons(40000);
		*(uint16_t *)(p + 2) = htons(ps->dport);
		p += 20;
	} else {
		p += 40;
	}
	len = (uint32_t)(p - buf);
	return len - (uint32_t)ps->cut;
}

static int prog_selftest(const char *path)
{
	enum { A = 0x0a4d0001, O = 0x0a4d0003, X = 0x0a4d0009 };
	enum { PASS = XDP_PASS, STEER = XDP_DROP };
	static const struct {
		const char *name;
		struct pkt_spec ps;
		int want;
	} cases[] = {
		{ "udp A:9000", { .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 17, .daddr = A, .dport = 9000 }, STEER },
		{ "udp A:9001", { .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 17, .daddr = A, .dport = 9001 }, PASS },
		{ "tcp A:80", { .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 6, .daddr = A, .dport = 80 }, STEER },
		{ "tcp A:9000 (udp only)", { .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 6, .daddr = A, .dport = 9000 }, PASS },
		{ "udp X:9000", { .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 17, .daddr = X, .dport = 9000 }, PASS },
		{ "vlan udp A:9000", { .vlan_tpid = 0x8100, .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 17, .daddr = A, .dport = 9000 }, STEER },
		{ "qinq-tag udp A:9000", { .vlan_tpid = 0x88a8, .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 17, .daddr = A, .dport = 9000 }, STEER },
		{ "vlan udp A:9001", { .vlan_tpid = 0x8100, .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 17, .daddr = A, .dport = 9001 }, PASS },
		{ "ihl 6 udp A:9000", { .ether_type = 0x0800, .version = 4, .ihl = 6, .proto = 17, .daddr = A, .dport = 9000 }, STEER },
		{ "ihl 15 udp A:9000", { .ether_type = 0x0800, .version = 4, .ihl = 15, .proto = 17, .daddr = A, .dport = 9000 }, STEER },
		{ "ihl 4", { .ether_type = 0x0800, .version = 4, .ihl = 4, .proto = 17, .daddr = O, .dport = 9000 }, PASS },
		{ "version 6 in ipv4", { .ether_type = 0x0800, .version = 6, .ihl = 5, .proto = 17, .daddr = O, .dport = 9000 }, PASS },
		{ "icmp O", { .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 1, .daddr = O }, STEER },
		{ "icmp A", { .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 1, .daddr = A }, PASS },
		{ "udp O:5", { .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 17, .daddr = O, .dport = 5 }, STEER },
		{ "first fragment A:9000", { .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 17, .frag = 0x2000, .daddr = A, .dport = 9000 }, PASS },
		{ "later fragment A", { .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 17, .frag = 0x00b9, .daddr = A, .dport = 9000 }, PASS },
		{ "first fragment O", { .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 17, .frag = 0x2000, .daddr = O }, STEER },
		{ "later fragment O", { .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 17, .frag = 0x00b9, .daddr = O }, STEER },
		{ "DF udp A:9000", { .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 17, .frag = 0x4000, .daddr = A, .dport = 9000 }, STEER },
		{ "l4 cut udp A:9000", { .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 17, .daddr = A, .dport = 9000, .cut = 18 }, PASS },
		{ "l4 cut udp O", { .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 17, .daddr = O, .dport = 9000, .cut = 18 }, STEER },
		{ "ip cut O", { .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 17, .daddr = O, .cut = 21 }, PASS },
		{ "vlan cut", { .vlan_tpid = 0x8100, .ether_type = 0x0800, .version = 4, .ihl = 5, .proto = 17, .daddr = O, .cut = 42 }, PASS },
		{ "arp request O", { .ether_type = 0x0806, .arp_op = 1, .daddr = O }, STEER },
		{ "arp reply O", { .ether_type = 0x0806, .arp_op = 2, .daddr = O }, STEER },
		{ "vlan arp request O", { .vlan_tpid = 0x8100, .ether_type = 0x0806, .arp_op = 1, .daddr = O }, STEER },
		{ "arp request A (port-only)", { .ether_type = 0x0806, .arp_op = 1, .daddr = A }, PASS },
		{ "arp op 3 O", { .ether_type = 0x0806, .arp_op = 3, .daddr = O }, PASS },
		{ "arp cut O", { .ether_type = 0x0806, .arp_op = 1, .daddr = O, .cut = 1 }, PASS },
		{ "ipv6", { .ether_type = 0x86dd }, PASS },
	};
	static const struct { uint32_t addr; uint16_t port; uint8_t proto; } keys[] = {
		{ A, 9000, IPPROTO_UDP }, { A, 80, IPPROTO_TCP }, { O, 0, 0 },
	};
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *rodata, *steer;
	uint32_t drop = XDP_DROP;
	uint8_t buf[256], one = 1;
	int err, fd;

	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		printf("FAIL: open %s: %s\n", path, strerror(errno));
		return 1;
	}
	rodata = bpf_object__find_map_by_name(obj, ".rodata");
	CHECK(rodata != NULL, "no .rodata");
	if (rodata)
		CHECK(bpf_map__set_initial_value(rodata, &drop, sizeof(drop)) == 0, "set rodata");
	err = bpf_object__load(obj);
	if (err == -EPERM) {
		printf("skip: loading BPF needs CAP_BPF\n");
		bpf_object__close(obj);
		return 77;
	}
	if (err) {
		printf("FAIL: load %s: %s (the verifier log is above)\n", path, strerror(-err));
		bpf_object__close(obj);
		return 1;
	}
	CHECK(bpf_object__find_map_by_name(obj, "xsks_map") != NULL, "no xsks_map");
	prog = bpf_object__next_program(obj, NULL);
	steer = bpf_object__find_map_by_name(obj, "tn_steer");
	CHECK(steer != NULL, "no tn_steer");
	if (!prog || !steer)
		goto out;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		uint8_t key[8] = { 0 };
		uint32_t a = htonl(keys[i].addr);
		uint16_t p = htons(keys[i].port);

		memcpy(key, &a, 4);
		memcpy(key + 4, &p, 2);
		key[6] = keys[i].proto;
		CHECK(bpf_map_update_elem(bpf_map__fd(steer), key, &one, BPF_ANY) == 0,
		      "map update: %s", strerror(errno));
	}
	fd = bpf_program__fd(prog);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		LIBBPF_OPTS(bpf_test_run_opts, run);
		uint32_t len = build(buf, &cases[i].ps);

		run.data_in = buf;
		run.data_size_in = len;
		run.repeat = 1;
		err = bpf_prog_test_run_opts(fd, &run);
		CHECK(err == 0, "%s: test run: %s", cases[i].name, strerror(-err));
		if (err)
			continue;
		CHECK((int)run.retval == cases[i].want, "%s: %s, want %s", cases[i].name,
		      run.retval == XDP_PASS ? "passed" : run.retval == XDP_DROP ? "steered" : "other",
		      cases[i].want == PASS ? "passed" : "steered");
	}
out:
	bpf_object__close(obj);
	printf("xdp_prog: %d frames checked\n", (int)(sizeof(cases) / sizeof(cases[0])));
	printf("xdp_prog: %d passed, %d failed\n", failures ? 0 : 1, failures ? 1 : 0);
	return failures ? 1 : 0;
}

/* ---- the AF_XDP run ---- */

static const char *attach_mode_name(uint8_t mode)
{
	switch (mode) {
	case XDP_ATTACHED_DRV: return "drv";
	case XDP_ATTACHED_SKB: return "skb";
	case XDP_ATTACHED_HW: return "hw";
	case XDP_ATTACHED_MULTI: return "multi";
	default: return "none";
	}
}

/* Is m a UDP datagram to addr:port (network order)? */
static bool is_steered_udp(struct rte_mbuf *m, uint32_t addr, uint16_t port)
{
	const struct rte_ether_hdr *eth;
	const struct rte_ipv4_hdr *ip;
	const struct rte_udp_hdr *udp;
	uint32_t ihl;

	if (rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(*ip) + sizeof(*udp))
		return false;
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (eth->ether_type != htons(RTE_ETHER_TYPE_IPV4))
		return false;
	ip = (const struct rte_ipv4_hdr *)(eth + 1);
	ihl = (ip->version_ihl & 0xf) * 4u;
	if (ip->next_proto_id != IPPROTO_UDP || ip->dst_addr != addr ||
	    rte_pktmbuf_data_len(m) < sizeof(*eth) + ihl + sizeof(*udp))
		return false;
	udp = (const struct rte_udp_hdr *)((const uint8_t *)ip + ihl);
	return udp->dst_port == port;
}

/* Is m an ARP request or reply for addr (network order)? */
static bool is_owned_arp(struct rte_mbuf *m, uint32_t addr)
{
	const struct rte_ether_hdr *eth;
	const struct rte_arp_hdr *arp;

	if (rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(*arp))
		return false;
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (eth->ether_type != htons(RTE_ETHER_TYPE_ARP))
		return false;
	arp = (const struct rte_arp_hdr *)(eth + 1);
	return arp->arp_data.arp_tip == addr;
}

static int port_up(uint16_t port)
{
	struct rte_eth_conf conf;
	struct rte_mempool *mp;
	int socket = rte_eth_dev_socket_id(port);
	int err;

	if (socket < 0)
		socket = (int)rte_socket_id();
	mp = rte_pktmbuf_pool_create("tn_xdp_test", NB_MBUFS, 256, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	if (!mp)
		return -rte_errno;
	memset(&conf, 0, sizeof(conf));
	err = rte_eth_dev_configure(port, 1, 1, &conf);
	if (!err)
		err = rte_eth_rx_queue_setup(port, 0, NB_DESC, socket, NULL, mp);
	if (!err)
		err = rte_eth_tx_queue_setup(port, 0, NB_DESC, socket, NULL);
	if (!err)
		err = rte_eth_dev_start(port);
	return err;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct rte_mbuf *pkts[BURST];
	uint64_t udp = 0, arp = 0, other = 0;
	const char *ifname;
	struct in_addr addr, owned;
	uint16_t port;
	double deadline;
	char **eal_argv;
	int eal_argc, sep, ret, fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && strcmp(argv[1], "--args-selftest") == 0)
		return args_selftest(argv[0]);
	if (argc == 3 && strcmp(argv[1], "--prog-selftest") == 0)
		return prog_selftest(argv[2]);

	for (sep = 1; sep < argc && strcmp(argv[sep], "--") != 0; sep++)
		;
	if (argc - sep != 6) {
		fprintf(stderr, "usage: %s [EAL args] -- IFACE ADDR UDP_PORT SECONDS OWNED\n", argv[0]);
		return 2;
	}
	ifname = argv[sep + 1];
	if (inet_pton(AF_INET, argv[sep + 2], &addr) != 1 ||
	    inet_pton(AF_INET, argv[sep + 5], &owned) != 1) {
		fprintf(stderr, "bad address\n");
		return 2;
	}
	port = htons((uint16_t)atoi(argv[sep + 3]));
	deadline = now_s() + atof(argv[sep + 4]);

	/* Without the socket family the PMD cannot work: a skip, not a bug. */
	fd = socket(AF_XDP, SOCK_RAW, 0);
	if (fd < 0 && (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT)) {
		printf("skip: no AF_XDP sockets (%s)\n", strerror(errno));
		return 77;
	}
	if (fd >= 0)
		close(fd);

	eal_argv = tn_xdp_args_rewrite(sep, argv, &eal_argc);
	if (!eal_argv) {
		fprintf(stderr, "tn_xdp_args_rewrite: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 0; i < eal_argc; i++)
		if (strstr(eal_argv[i], "net_af_xdp"))
			printf("vdev %s\n", eal_argv[i]);
	ret = rte_eal_init(eal_argc, eal_argv);
	if (ret < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	if (rte_eth_dev_count_avail() != 1) {
		fprintf(stderr, "want 1 port, have %u\n", rte_eth_dev_count_avail());
		return 1;
	}
	ret = port_up(0);
	if (ret) {
		fprintf(stderr, "port 0: %s\n", rte_strerror(-ret));
		return 1;
	}

	if (bpf_xdp_query((int)if_nametoindex(ifname), 0, &q) == 0)
		printf("xdp mode %s prog_id %u\n", attach_mode_name(q.attach_mode), q.prog_id);
	ret = tn_xdp_steer_add(ifname, addr.s_addr, IPPROTO_UDP, port);
	if (!ret)
		ret = tn_xdp_steer_add(ifname, owned.s_addr, 0, 0);
	if (ret) {
		fprintf(stderr, "tn_xdp_steer_add: %s\n", strerror(-ret));
		return 1;
	}
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	signal(SIGUSR1, on_del);
	printf("ready\n");

	while (!stop_flag && now_s() < deadline) {
		uint16_t n = rte_eth_rx_burst(0, 0, pkts, BURST);

		for (uint16_t i = 0; i < n; i++) {
			if (is_steered_udp(pkts[i], addr.s_addr, port))
				udp++;
			else if (is_owned_arp(pkts[i], owned.s_addr))
				arp++;
			else
				other++;
			rte_pktmbuf_free(pkts[i]);
		}
		if (n)
			printf("rx udp=%" PRIu64 " arp=%" PRIu64 " other=%" PRIu64 "\n",
			       udp, arp, other);
		if (del_flag) {
			del_flag = 0;
			ret = tn_xdp_steer_del(ifname, addr.s_addr, IPPROTO_UDP, port);
			printf("deleted rc=%d\n", ret);
		}
	}
	printf("total udp=%" PRIu64 " arp=%" PRIu64 " other=%" PRIu64 "\n", udp, arp, other);

	/* Closing the port makes the PMD detach and drop the program. */
	rte_eth_dev_stop(0);
	rte_eth_dev_close(0);
	rte_eal_cleanup();
	tn_xdp_args_free(eal_argc, eal_argv);
	return 0;
}
