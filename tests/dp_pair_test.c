/* Two ports back to back in one process, through the whole runtime
 * (tn_main_app): frames the main task sends on port 0 arrive on port 1 in
 * the rx handler, each exactly once and byte for byte; Tern's counters
 * agree; no mbuf is left behind.  With two cores the port's single queue
 * is steered in software (many flows, so both cores get some), and
 * tn_submit_to carries values, errors, suspended calls and a fan-out of
 * calls between the cores.
 *
 * The pair is net_memif0 (server) and net_memif1 (client) on one socket.
 * net_ring cannot be wired back to back from the command line in DPDK
 * 22.11: nodeaction=NAME:0:CREATE names the ethdev NAME and gives it one
 * ring per queue for both RX and TX (a loopback), and a second port with
 * nodeaction=NAME:0:ATTACH fails ("Ethernet device with name NAME already
 * allocated"); only rte_eth_from_rings can cross two rings, after
 * rte_eal_init, too late for tn_main's port setup.
 *
 * usage: dp_pair_test [LCORES [PREFIX [TERN OPTION...]]]
 * LCORES: default 0-1 ("0" runs on one core).  PREFIX: the EAL file
 * prefix, also naming the (abstract) memif socket; default tn_pair_PID.
 * More Tern options may follow, e.g. --fault corrupt=0.01 to see the
 * checks fail.  It builds the rest of its EAL arguments (--no-huge) and
 * removes its DPDK runtime directory when it ends (dp_pair_test.sh also
 * does, should it crash).  Exit 0 if every check passed, 1 if not. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_udp.h>

#include <tern/coro.h>
#include <tern/dataplane.h>
#include <tern/sched.h>

#define NFRAMES 4096u
#define MAX_INFLIGHT 256u   /* well under memif's 1024-slot rings */
#define MIN_LEN 60u
#define MAX_LEN 1514u
#define HDRS (sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) + \
	      sizeof(struct rte_udp_hdr))
#define MAGIC 0x7465726eu   /* "tern" */
#define NCALLS 500u         /* concurrent tn_submit_to calls */

static struct {
	uint8_t mac[2][6];
	/* Written by the rx handler on whichever core polled or was steered
	 * the frame: per-frame flags and totals atomically, per-core counts
	 * by their own core only. */
	uint8_t seen[NFRAMES];
	uint64_t good, bad, dup, wrong_port;
	uint64_t per_core[TN_MAX_CORES];
	char runtime_dir[512];
	bool idle_sleep; /* --idle sleep was given */
	unsigned failed, passed;
} g;

#define CHECK(cond, ...)                                         \
	do {                                                     \
		if (cond) {                                      \
			g.passed++;                              \
		} else {                                         \
			g.failed++;                              \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__);                     \
			printf("\n");                            \
		}                                                \
	} while (0)

#define CHECK_EQ(a, b, what)                                                   \
	CHECK((uint64_t)(a) == (uint64_t)(b), "%s: got %" PRIu64 ", want %" PRIu64, \
	      what, (uint64_t)(a), (uint64_t)(b))

static unsigned frame_len(uint32_t seq)
{
	return MIN_LEN + (seq * 37u) % (MAX_LEN - MIN_LEN + 1);
}

/* The whole frame for seq, as port 1 must see it. */
static void build_frame(uint8_t *d, uint32_t seq)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)d;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	unsigned len = frame_len(seq), i;
	uint8_t *p = d + HDRS;
	uint32_t v;

	memcpy(eth->dst_addr.addr_bytes, g.mac[1], 6);
	memcpy(eth->src_addr.addr_bytes, g.mac[0], 6);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(len - sizeof(*eth)));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	/* 198u: DPDK 22.11's RTE_IPV4 shifts its first byte as an int, which
	 * overflows (undefined behaviour) from 128 up. */
	ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(198u, 18, 0, 1));
	ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(198u, 18, 0, 2));
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	/* Many flows, so software steering spreads them over the cores. */
	udp->src_port = rte_cpu_to_be_16((uint16_t)(1024 + seq % 509));
	udp->dst_port = rte_cpu_to_be_16(7);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(len - sizeof(*eth) - sizeof(*ip)));
	udp->dgram_cksum = 0;
	v = MAGIC;
	memcpy(p, &v, 4);
	memcpy(p + 4, &seq, 4);
	for (i = HDRS + 8; i < len; i++)
		d[i] = (uint8_t)(seq * 131u + i);
}

static void check_frame(const struct rte_mbuf *m)
{
	uint8_t got[MAX_LEN], want[MAX_LEN];
	const uint8_t *d;
	uint32_t magic, seq;

	if (m->pkt_len < HDRS + 8 || m->pkt_len > MAX_LEN) {
		__atomic_add_fetch(&g.bad, 1, __ATOMIC_RELAXED);
		return;
	}
	d = rte_pktmbuf_read(m, 0, m->pkt_len, got);
	memcpy(&magic, d + HDRS, 4);
	memcpy(&seq, d + HDRS + 4, 4);
	if (magic != MAGIC || seq >= NFRAMES || m->pkt_len != frame_len(seq)) {
		__atomic_add_fetch(&g.bad, 1, __ATOMIC_RELAXED);
		return;
	}
	build_frame(want, seq);
	if (memcmp(d, want, m->pkt_len) != 0) {
		__atomic_add_fetch(&g.bad, 1, __ATOMIC_RELAXED);
		return;
	}
	if (__atomic_fetch_add(&g.seen[seq], 1, __ATOMIC_RELAXED) != 0) {
		__atomic_add_fetch(&g.dup, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_add_fetch(&g.good, 1, __ATOMIC_RELEASE);
}

static uint16_t on_rx(struct tn_core *c, uint16_t port, struct rte_mbuf **pkts, uint16_t n,
		      void *arg)
{
	uint16_t i;

	for (i = 0; i < n; i++) {
		if (port != 1)
			__atomic_add_fetch(&g.wrong_port, 1, __ATOMIC_RELAXED);
		else
			check_frame(pkts[i]);
	}
	__atomic_add_fetch(&g.per_core[tn_core_id(c)], n, __ATOMIC_RELAXED);
	rte_pktmbuf_free_bulk(pkts, n);
	return n;
}

/* ---- frames: port 0 -> port 1 ---- */

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void send_frames(struct tn_core *c)
{
	struct rte_mempool *mp = tn_core_mempool(c);
	uint64_t deadline = tn_now() + 20 * TN_NS_PER_S, bytes = 0;
	uint32_t seq = 0, queued = 0;
	struct tn_port_stats st0, st1;
	unsigned i;

	while (seq < NFRAMES && tn_now() < deadline) {
		struct rte_mbuf *pkts[32];
		unsigned n = NFRAMES - seq < 32 ? NFRAMES - seq : 32;
		uint64_t done = load(&g.good) + load(&g.bad) + load(&g.dup);

		/* Bounded in flight, so a slow receiver never overflows the
		 * rings: any drop below is a bug, not back pressure. */
		if (seq - done + n > MAX_INFLIGHT || rte_pktmbuf_alloc_bulk(mp, pkts, n) != 0) {
			if (tn_sleep(0))
				return;
			continue;
		}
		for (i = 0; i < n; i++) {
			unsigned len = frame_len(seq + i);
			build_frame((uint8_t *)rte_pktmbuf_append(pkts[i], (uint16_t)len), seq + i);
			bytes += len;
		}
		queued += tn_tx_burst(c, 0, pkts, (uint16_t)n);
		seq += n;
		if (tn_sleep(0)) /* the next turn sends them and polls port 1 */
			return;
	}
	CHECK_EQ(seq, NFRAMES, "frames sent before the deadline");
	CHECK_EQ(queued, NFRAMES, "frames tn_tx_burst queued");
	while (load(&g.good) + load(&g.bad) + load(&g.dup) < NFRAMES && tn_now() < deadline)
		if (tn_sleep(10 * TN_NS_PER_US))
			return;

	CHECK_EQ(load(&g.good), NFRAMES, "frames received intact on port 1");
	CHECK_EQ(load(&g.bad), 0, "frames received damaged or unknown");
	CHECK_EQ(load(&g.dup), 0, "frames received twice");
	CHECK_EQ(load(&g.wrong_port), 0, "frames received on port 0");
	for (i = 0; i < NFRAMES; i++)
		if (g.seen[i] != 1) {
			CHECK(0, "frame %u seen %u times", i, g.seen[i]);
			break;
		}

	tn_port_stats_get(-1, 0, &st0);
	tn_port_stats_get(-1, 1, &st1);
	CHECK_EQ(st0.tx_pkts, NFRAMES, "port 0 tx_pkts");
	CHECK_EQ(st0.tx_bytes, bytes, "port 0 tx_bytes");
	CHECK_EQ(st1.rx_pkts, NFRAMES, "port 1 rx_pkts");
	CHECK_EQ(st1.rx_bytes, bytes, "port 1 rx_bytes");
	CHECK_EQ(st0.rx_pkts, 0, "port 0 rx_pkts");
	CHECK_EQ(st1.tx_pkts, 0, "port 1 tx_pkts");
	CHECK_EQ(st0.tx_drops + st1.rx_drops + st1.rx_nombuf + st1.rx_missed, 0, "drops");
	if (tn_core_count() > 1) {
		printf("frames per core:");
		for (i = 0; i < tn_core_count(); i++)
			printf(" %" PRIu64, load(&g.per_core[i]));
		printf("\n");
		for (i = 0; i < tn_core_count(); i++)
			CHECK(load(&g.per_core[i]) > 0, "core %u received no frame (steering)", i);
	}
}

/* ---- cross-core calls ---- */

static intptr_t where(void *arg)
{
	/* Runs on the target core: which one, plus the argument. */
	return (intptr_t)tn_core_id(tn_core_self()) * 1000 + *(const int *)arg;
}

static intptr_t fails(void *arg)
{
	return -EDOM;
}

static intptr_t sleeps_then_doubles(void *arg)
{
	if (tn_sleep(100 * TN_NS_PER_US))
		return -ECANCELED;
	return 2 * (intptr_t)*(const int *)arg;
}

static void cross_core_calls(void)
{
	static int args[NCALLS];
	static struct tn_future *fs[NCALLS];
	static intptr_t values[NCALLS];
	unsigned n = tn_core_count(), target = n > 1 ? 1 : 0, i, ok;
	struct tn_future *f;
	intptr_t v = -1;
	int arg = 42, err;

	f = tn_submit_to(target, where, &arg);
	CHECK(f != NULL, "tn_submit_to(%u): %s", target, strerror(errno));
	if (f) {
		err = tn_await(f, &v);
		CHECK_EQ(err, 0, "error of a call returning a value");
		CHECK_EQ(v, target * 1000 + 42, "value of a call (core * 1000 + 42)");
	}

	f = tn_submit_to(target, fails, NULL);
	CHECK(f != NULL, "tn_submit_to(%u, fails): %s", target, strerror(errno));
	if (f) {
		err = tn_await(f, &v);
		CHECK(err == -EDOM, "a call returning -EDOM: await gave %d (%s)", err,
		      tn_strerror(err));
	}

	errno = 0;
	f = tn_submit_to(n, where, &arg);
	CHECK(f == NULL && errno == EINVAL, "tn_submit_to(core %u of %u): %p errno %d", n, n,
	      (void *)f, errno);

	/* Calls that suspend on the target, all in flight at once. */
	for (i = 0; i < NCALLS; i++) {
		args[i] = (int)i;
		fs[i] = tn_submit_to(target, sleeps_then_doubles, &args[i]);
		if (!fs[i]) {
			CHECK(0, "tn_submit_to, call %u of %u: %s", i, NCALLS, strerror(errno));
			break;
		}
	}
	err = tn_gather(fs, i, values, NULL);
	CHECK_EQ(err, 0, "tn_gather over the fan-out");
	for (ok = 0; ok < i && values[ok] == 2 * (intptr_t)ok; ok++)
		;
	CHECK_EQ(ok, NCALLS, "fan-out calls that returned 2 * arg");
}

/* ---- the idle policy ---- */

static intptr_t sleeps_here(void *arg)
{
	struct tn_sched_stats st;

	tn_sched_get_stats(tn_sched_self(), &st);
	return (intptr_t)st.idle_sleeps;
}

/* Under --idle poll (the default) no core ever sleeps: the loop had
 * every quiet turn sleep up to 200 us before, adding that to the latency
 * of every link.  Under --idle sleep the waits above were quiet enough
 * for some turns to sleep. */
static void idle_sleeps(void)
{
	unsigned i;

	for (i = 0; i < tn_core_count(); i++) {
		struct tn_future *f = tn_submit_to(i, sleeps_here, NULL);
		intptr_t n = -1;

		CHECK(f && tn_await(f, &n) == 0, "idle sleeps of core %u: no answer", i);
		printf("core %u: %ld idle sleeps\n", i, (long)n);
		if (g.idle_sleep)
			CHECK(n > 0, "core %u never slept under --idle sleep", i);
		else
			CHECK_EQ(n, 0, "idle sleeps under --idle poll");
	}
}

/* ---- main ---- */

static intptr_t test_main(void *arg)
{
	struct tn_core *c = tn_core_self();
	struct rte_mempool *mp = tn_core_mempool(c);
	unsigned p;

	snprintf(g.runtime_dir, sizeof(g.runtime_dir), "%s", rte_eal_get_runtime_dir());
	CHECK_EQ(tn_port_count(), 2, "ports");
	if (tn_port_count() != 2)
		return -ENODEV;
	for (p = 0; p < 2; p++)
		CHECK_EQ(tn_port_mac(p, g.mac[p]), 0, "tn_port_mac");
	printf("cores %u, ports 2\n", tn_core_count());

	send_frames(c);
	cross_core_calls();

	idle_sleeps();

	/* Every mbuf is back in the pool (caches included). */
	CHECK_EQ(rte_mempool_avail_count(mp), mp->size, "mbufs back in the pool");

	printf("dp_pair: %u checks passed, %u failed\n", g.passed, g.failed);
	fflush(stdout);
	return g.failed ? -EPROTO : 0;
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	return remove(path);
}

int main(int argc, char **argv)
{
	const char *lcores = argc > 1 ? argv[1] : "0-1";
	char prefix[64], vdev0[160], vdev1[160];
	int code;

	if (argc > 2)
		snprintf(prefix, sizeof(prefix), "%s", argv[2]);
	else
		snprintf(prefix, sizeof(prefix), "tn_pair_%d", (int)getpid());
	/* An abstract socket (memif's default): no file to remove. */
	snprintf(vdev0, sizeof(vdev0), "--vdev=net_memif0,role=server,id=0,socket=/%s.sock",
		 prefix);
	snprintf(vdev1, sizeof(vdev1), "--vdev=net_memif1,role=client,id=0,socket=/%s.sock",
		 prefix);
	char *fixed[] = {
		"dp_pair_test", "-l", (char *)lcores, "--no-huge", "-m", "256", "--no-pci",
		"--file-prefix", prefix, "--log-level", "lib.eal:warning", vdev0, vdev1,
		"--", "--link-timeout", "10000", "--mbufs", "8191",
	};
	enum { NFIXED = sizeof(fixed) / sizeof(fixed[0]) };
	char *args[NFIXED + 16];
	int nargs = 0, i;
	struct tn_app app = {
		.name = "dp_pair_test",
		.rx = on_rx,
		.main = test_main,
	};

	for (i = 0; i < NFIXED; i++)
		args[nargs++] = fixed[i];
	/* More Tern options (e.g. --fault, to see the checks fail). */
	for (i = 3; i < argc && nargs < NFIXED + 15; i++) {
		args[nargs++] = argv[i];
		if ((strcmp(argv[i], "--idle") == 0 && i + 1 < argc &&
		     strcmp(argv[i + 1], "sleep") == 0) || strcmp(argv[i], "--idle=sleep") == 0)
			g.idle_sleep = true;
	}
	args[nargs] = NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	code = tn_main_app(nargs, args, &app);
	if (g.runtime_dir[0])
		nftw(g.runtime_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	if (code == 0 && (g.failed || !g.passed))
		code = 1;
	printf("exit %d\n", code);
	return code;
}
