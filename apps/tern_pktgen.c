/* tern-pktgen: sends UDP frames of a given size at a given rate (or as
 * fast as it can) and counts what comes back.  Each frame carries a
 * sequence number and its send time, so with a reflecting peer
 * (tern-reflect, testpmd macswap) it reports round-trip percentiles.
 * With --window N it runs closed-loop instead: at most N frames in
 * flight, each reply answered by a new frame from the RX handler in the
 * same loop turn, so --window 1 against a raw reflector measures the
 * link's round-trip floor.  A live line per second, a summary at the
 * end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <tern/dataplane.h>

#include "app_opts.h"
#include "latency_hist.h"

#define MAGIC 0x5447u /* "TG" */

/* 22 bytes: exactly the UDP payload of a minimum (64-byte) frame. */
struct stamp {
	uint16_t magic;
	uint32_t gen;      /* this run: frames of an earlier run are ignored */
	uint64_t seq;
	uint64_t tsc;
} __attribute__((packed));

struct pktgen {
	unsigned size;       /* frame size without FCS */
	uint64_t rate;       /* frames per second, 0: as fast as possible */
	double duration;     /* seconds, 0: until --count or a signal */
	uint64_t count;      /* frames to send, 0: no limit */
	unsigned burst;
	unsigned window;     /* frames in flight, 0: open loop (--rate) */
	uint64_t timeout_ns; /* closed loop: frames in flight given up after this */
	double drain;        /* seconds to wait for stragglers at the end */
	struct rte_ether_addr dst;
	bool quiet;
	uint32_t gen;
	/* run state, core 0 only */
	uint64_t sent, recv, bad, ooo;
	uint64_t given_up;   /* closed loop: frames no reply came for in time */
	uint64_t max_flight; /* closed loop: the most frames ever in flight */
	uint64_t wait_since; /* closed loop: the last send or reply, loop clock */
	bool running;        /* closed loop: the RX handler may send */
	uint64_t t0, next_line, last_sent, last_recv; /* the live line's */
	uint64_t last_seq;
	uint64_t tsc_hz;
	struct tn_hist rtt, rtt_sec;
	uint8_t tmpl[128];
};

static struct pktgen pg = {
	.size = 64,
	.burst = 32,
	.timeout_ns = 100 * TN_NS_PER_MS,
	.drain = 0.2,
	.dst = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
};

static const char usage[] =
	"  --size N        frame size in bytes without FCS, 64..1514 (default 64)\n"
	"  --rate PPS      frames per second (default 0: as fast as possible)\n"
	"  --window N      closed loop: at most N frames in flight, a new one sent for\n"
	"                  each reply (1..4096; excludes --rate)\n"
	"  --timeout MS    closed loop: give up on the frames in flight after this\n"
	"                  long without a reply (default 100)\n"
	"  --duration S    seconds to send (default 5 unless --count)\n"
	"  --count N       frames to send\n"
	"  --pkt-burst N   frames per burst, 1..64 (default 32)\n"
	"  --dst-mac MAC   destination (default ff:ff:ff:ff:ff:ff)\n"
	"  --quiet         no live line\n";

static const char *const value_opts[] = {
	"size", "rate", "window", "timeout", "duration", "count", "pkt-burst", "dst-mac", NULL,
};

static int parse_num(const char *name, const char *v, double lo, double hi, double *out)
{
	return tn_app_parse_num("tern-pktgen", name, v, lo, hi, out);
}

static int parse_opt(void *arg, const char *name, const char *v)
{
	double x;

	if (strcmp(name, "size") == 0) {
		if (parse_num(name, v, 64, 1514, &x))
			return -EINVAL;
		pg.size = (unsigned)x;
	} else if (strcmp(name, "rate") == 0) {
		if (parse_num(name, v, 0, 1e9, &x))
			return -EINVAL;
		pg.rate = (uint64_t)x;
	} else if (strcmp(name, "window") == 0) {
		if (parse_num(name, v, 1, 4096, &x))
			return -EINVAL;
		pg.window = (unsigned)x;
	} else if (strcmp(name, "timeout") == 0) {
		if (parse_num(name, v, 1, 60000, &x))
			return -EINVAL;
		pg.timeout_ns = (uint64_t)(x * TN_NS_PER_MS);
	} else if (strcmp(name, "duration") == 0) {
		if (parse_num(name, v, 0, 86400, &pg.duration))
			return -EINVAL;
	} else if (strcmp(name, "count") == 0) {
		if (parse_num(name, v, 0, 1e15, &x))
			return -EINVAL;
		pg.count = (uint64_t)x;
	} else if (strcmp(name, "pkt-burst") == 0) {
		if (parse_num(name, v, 1, 64, &x))
			return -EINVAL;
		pg.burst = (unsigned)x;
	} else if (strcmp(name, "dst-mac") == 0) {
		if (rte_ether_unformat_addr(v, &pg.dst) != 0) {
			fprintf(stderr, "tern-pktgen: --dst-mac wants aa:bb:cc:dd:ee:ff, not '%s'\n", v);
			return -EINVAL;
		}
	} else if (strcmp(name, "quiet") == 0) {
		pg.quiet = true;
	} else {
		return -ENOENT;
	}
	if (pg.rate && pg.window) { /* whichever came second */
		fprintf(stderr, "tern-pktgen: --rate and --window exclude each other\n");
		return -EINVAL;
	}
	return 0;
}

/* Ethernet + IPv4 + UDP headers for every frame; only the stamp changes. */
static void build_template(uint16_t port)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)pg.tmpl;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint16_t ip_len = (uint16_t)(pg.size - sizeof(*eth));

	tn_port_mac(port, eth->src_addr.addr_bytes);
	eth->dst_addr = pg.dst;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(ip_len);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	/* 198u: DPDK 22.11's RTE_IPV4 shifts its first byte as an int, which
	 * overflows (undefined behaviour) from 128 up. */
	ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(198u, 18, 0, 1));
	ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(198u, 18, 0, 2));
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(9);
	udp->dst_port = rte_cpu_to_be_16(9);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(ip_len - sizeof(*ip)));
	udp->dgram_cksum = 0; /* optional in IPv4; the payload changes per frame */
}

#define HDRS (sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr))
_Static_assert(HDRS + sizeof(struct stamp) <= 64, "the stamp fits a minimum frame");

static int send_burst(struct tn_core *c, uint16_t port, unsigned n);

/* Closed loop: frames in flight, not counting those given up on. */
static uint64_t in_flight(void)
{
	uint64_t done = pg.recv + pg.given_up;

	return pg.sent > done ? pg.sent - done : 0;
}

/* Closed loop: tops the window up (within --count), from the RX handler
 * as replies arrive and from the main task to start and after a timeout. */
static void refill(struct tn_core *c, uint16_t port)
{
	uint64_t room;

	if (!pg.running || in_flight() >= pg.window)
		return;
	room = pg.window - in_flight();
	if (pg.count && pg.sent + room > pg.count)
		room = pg.count - pg.sent;
	while (room) {
		unsigned k = room > 64 ? 64 : (unsigned)room;

		if (send_burst(c, port, k) == 0)
			break;
		room -= k;
	}
	if (in_flight() > pg.max_flight)
		pg.max_flight = in_flight();
	pg.wait_since = tn_now();
}

static uint16_t on_rx(struct tn_core *c, uint16_t port, struct rte_mbuf **pkts, uint16_t n,
		      void *arg)
{
	uint64_t now = rte_rdtsc();
	uint16_t i;

	for (i = 0; i < n; i++) {
		const struct stamp *st;

		if (pkts[i]->data_len < HDRS + sizeof(*st)) {
			pg.bad++;
			continue;
		}
		st = rte_pktmbuf_mtod_offset(pkts[i], const struct stamp *, HDRS);
		if (st->magic != MAGIC || st->gen != pg.gen || st->seq >= pg.sent) {
			pg.bad++;
			continue;
		}
		if (st->seq < pg.last_seq)
			pg.ooo++;
		pg.last_seq = st->seq;
		pg.recv++;
		uint64_t ns = (now - st->tsc) * 1000000000ull / pg.tsc_hz;
		tn_hist_record(&pg.rtt, ns);
		tn_hist_record(&pg.rtt_sec, ns);
	}
	rte_pktmbuf_free_bulk(pkts, n);
	if (pg.window)
		refill(c, port);
	return n;
}

static int send_burst(struct tn_core *c, uint16_t port, unsigned n)
{
	struct rte_mempool *mp = tn_core_mempool(c);
	struct rte_mbuf *pkts[64];
	unsigned i;

	if (rte_pktmbuf_alloc_bulk(mp, pkts, n) != 0)
		return 0; /* pool empty: frames are in flight; try next turn */
	for (i = 0; i < n; i++) {
		char *d = rte_pktmbuf_append(pkts[i], (uint16_t)pg.size);
		struct stamp st = {MAGIC, pg.gen, pg.sent + i, 0};

		memcpy(d, pg.tmpl, HDRS);
		memset(d + HDRS, 0, pg.size - HDRS);
		st.tsc = rte_rdtsc();
		memcpy(d + HDRS, &st, sizeof(st));
	}
	pg.sent += tn_tx_burst(c, port, pkts, (uint16_t)n);
	return (int)n;
}

static void live_line(double t, uint64_t dsent, uint64_t drecv)
{
	printf("t=%.0fs tx %llu pps rx %llu pps lost %lld rtt_ns p50=%llu p99=%llu p999=%llu\n",
	       t, (unsigned long long)dsent, (unsigned long long)drecv,
	       (long long)(pg.sent - pg.recv), (unsigned long long)tn_hist_quantile(&pg.rtt_sec, 0.5),
	       (unsigned long long)tn_hist_quantile(&pg.rtt_sec, 0.99),
	       (unsigned long long)tn_hist_quantile(&pg.rtt_sec, 0.999));
	fflush(stdout);
	tn_hist_reset(&pg.rtt_sec);
}

/* The live line, once a second of the run (and its counts' baseline,
 * even with --quiet). */
static void live_tick(void)
{
	if (tn_now() < pg.next_line)
		return;
	if (!pg.quiet)
		live_line((double)(tn_now() - pg.t0) / 1e9, pg.sent - pg.last_sent,
			  pg.recv - pg.last_recv);
	pg.last_sent = pg.sent;
	pg.last_recv = pg.recv;
	pg.next_line += TN_NS_PER_S;
}

/* Closed loop (--window): the RX handler keeps the window full; this
 * task starts it, gives up on frames lost for --timeout, prints the live
 * line. */
static void run_closed(struct tn_core *c, uint64_t end)
{
	pg.running = true;
	refill(c, 0);
	while (!tn_stopping() && tn_now() < end &&
	       (!pg.count || pg.sent < pg.count || in_flight())) {
		if (in_flight() && tn_now() - pg.wait_since > pg.timeout_ns) {
			pg.given_up += in_flight();
			refill(c, 0);
		} else if (!in_flight()) {
			refill(c, 0); /* a send that found the pool empty */
		}
		live_tick();
		if (tn_sleep(TN_NS_PER_MS))
			break;
	}
	pg.running = false;
}

/* Open loop: bursts as fast as the link takes them, or at --rate. */
static void run_open(struct tn_core *c, uint64_t end)
{
	uint64_t credit_t = tn_now();
	double credit = 0;

	while (!tn_stopping() && tn_now() < end && (!pg.count || pg.sent < pg.count)) {
		unsigned n = pg.burst;

		if (pg.count && pg.sent + n > pg.count)
			n = (unsigned)(pg.count - pg.sent);
		if (pg.rate) {
			/* Token bucket on the loop clock, capped at one burst of
			 * slack so a stall does not turn into a flood. */
			credit += (double)(tn_now() - credit_t) * (double)pg.rate / 1e9;
			credit_t = tn_now();
			if (credit > pg.burst)
				credit = pg.burst;
			if (credit < 1) {
				if (tn_sleep(0))
					break;
				continue;
			}
			if (n > (unsigned)credit)
				n = (unsigned)credit;
			credit -= n;
		}
		send_burst(c, 0, n);
		live_tick();
		/* Wait for the next loop turn, which sends the burst and polls
		 * for replies (tn_yield would only let other tasks run). */
		if (tn_sleep(0))
			break;
	}
}

static intptr_t gen_main(void *arg)
{
	struct tn_core *c = tn_core_self();
	uint64_t end;

	if (tn_port_count() == 0) {
		fprintf(stderr, "tern-pktgen: no port (pass e.g. --vdev=net_memif0 to the EAL)\n");
		return -ENODEV;
	}
	/* A generator on a dead link would count every frame as lost; the
	 * usual cause is a peer that is not running (memif, vhost-user). */
	if (tn_port_link_up(0) != 1) {
		fprintf(stderr, "tern-pktgen: port 0: link is down (is the peer running?); "
				"not sending\n");
		return -ENETDOWN;
	}
	pg.tsc_hz = rte_get_tsc_hz();
	pg.gen = (uint32_t)rte_rdtsc();
	if (!pg.duration && !pg.count)
		pg.duration = 5;
	build_template(0);
	pg.t0 = tn_now();
	pg.next_line = pg.t0 + TN_NS_PER_S;
	end = pg.duration ? pg.t0 + (uint64_t)(pg.duration * 1e9) : UINT64_MAX;
	if (pg.window)
		run_closed(c, end);
	else
		run_open(c, end);
	double secs = (double)(tn_now() - pg.t0) / 1e9;
	/* Wait a little for replies still in flight. */
	uint64_t drain_end = tn_now() + (uint64_t)(pg.drain * 1e9);
	while (pg.recv < pg.sent && tn_now() < drain_end && !tn_stopping())
		if (tn_sleep(10 * TN_NS_PER_US))
			break;
	printf("summary: sent %llu recv %llu lost %llu bad %llu reordered %llu in %.3f s: "
	       "tx %.3f Mpps rx %.3f Mpps\n",
	       (unsigned long long)pg.sent, (unsigned long long)pg.recv,
	       (unsigned long long)(pg.sent - pg.recv), (unsigned long long)pg.bad,
	       (unsigned long long)pg.ooo, secs, secs > 0 ? pg.sent / secs / 1e6 : 0,
	       secs > 0 ? pg.recv / secs / 1e6 : 0);
	if (pg.window)
		printf("closed loop: window %u, at most %llu in flight, %llu given up after %llu ms\n",
		       pg.window, (unsigned long long)pg.max_flight,
		       (unsigned long long)pg.given_up,
		       (unsigned long long)(pg.timeout_ns / TN_NS_PER_MS));
	printf("rtt_ns p50=%llu p99=%llu p999=%llu max=%llu\n",
	       (unsigned long long)tn_hist_quantile(&pg.rtt, 0.5),
	       (unsigned long long)tn_hist_quantile(&pg.rtt, 0.99),
	       (unsigned long long)tn_hist_quantile(&pg.rtt, 0.999),
	       (unsigned long long)pg.rtt.max);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct tn_app app = {
		.name = "tern-pktgen",
		.usage = usage,
		.parse_opt = parse_opt,
		.value_opts = value_opts,
		.rx = on_rx,
		.main = gen_main,
	};

	return tn_main_app(argc, argv, &app);
}
