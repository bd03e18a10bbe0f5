/* The exit-time mbuf audit.  Once the cores have stopped and every
 * queue, stack, socket and fault stream is freed, each mbuf of Tern's
 * pool must be back in it; one that is not was leaked by Tern or by the
 * application, and the process says so and exits non-zero.
 *
 * Two things stand between "the cores stopped" and an exact count:
 *
 * - Packets still in flight inside a port.  A net_ring loopback holds
 *   what was sent and not yet received (closing it does not free them),
 *   and an af_xdp port returns a sent mbuf only when the kernel completes
 *   it (see below).  tn__ports_quiesce drains every RX queue and reaps
 *   af_xdp completions before the ports stop.
 *
 * - What a PMD keeps after close.  Only net_af_xdp does, and only in
 *   zero-copy mode (the one DPDK 22.11 uses when the kernel headers have
 *   XDP_UMEM_UNALIGNED_CHUNK_FLAG): the pool itself is the umem, and
 *   setting up an RX queue hands a batch of mbufs to the kernel's fill
 *   ring.  Each received frame is replaced by a fresh mbuf, so the batch
 *   stays the same size, and close unregisters the umem without taking
 *   the batch back.  port.c measures the batch at setup (pool usage
 *   across the port's setup) and the audit subtracts exactly that.  Every
 *   other PMD the tests use (tap, memif, vhost, virtio-user, ring, null)
 *   frees what its queues hold when it closes, so nothing is subtracted
 *   for them.
 *
 * Per-lcore caches: rte_mempool_avail_count adds every lcore's cache to
 * the ring's count, so "in use" is exact once no core runs. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "tn_dp_internal.h"

/* Bounds on the exit path, which must never hang on a busy port. */
#define DRAIN_BURSTS 1024      /* RX bursts per queue */
#define REAP_QUIET_NS 5000000  /* af_xdp: no completion for this long */
#define REAP_MAX_NS 200000000  /* af_xdp: at most this long in all */

unsigned tn__mbufs_in_use(const struct rte_mempool *mp)
{
	return mp ? rte_mempool_in_use_count(mp) : 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void drain_rx(struct tn_runtime *rt)
{
	struct rte_mbuf *pkts[64];
	unsigned i, b;
	uint16_t q, n;

	for (i = 0; i < rt->nports; i++) {
		if (!rt->port_started[i])
			continue;
		for (q = 0; q < rt->port_nq[i]; q++) {
			for (b = 0; b < DRAIN_BURSTS; b++) {
				n = rte_eth_rx_burst(rt->port_ids[i], q, pkts, RTE_DIM(pkts));
				if (n == 0)
					break;
				rte_pktmbuf_free_bulk(pkts, n);
			}
		}
	}
}

/* An empty TX burst on an af_xdp queue pulls the completion ring (the
 * PMD's kick_tx), which frees what the kernel finished sending.  The
 * kernel completes asynchronously, so poll until it has been quiet for a
 * while. */
static void reap_af_xdp(struct tn_runtime *rt)
{
	struct rte_mbuf *none[1];
	uint64_t start = mono_ns(), last = start, now;
	unsigned prev = tn__mbufs_in_use(rt->mp), cur, i;
	bool any = false;
	uint16_t q;

	for (i = 0; i < rt->nports; i++)
		any |= rt->port_af_xdp[i] && rt->port_started[i];
	if (!any)
		return;
	for (;;) {
		for (i = 0; i < rt->nports; i++)
			if (rt->port_af_xdp[i] && rt->port_started[i])
				for (q = 0; q < rt->port_nq[i]; q++)
					rte_eth_tx_burst(rt->port_ids[i], q, none, 0);
		now = mono_ns();
		cur = tn__mbufs_in_use(rt->mp);
		if (cur != prev)
			last = now;
		prev = cur;
		if (now - last >= REAP_QUIET_NS || now - start >= REAP_MAX_NS)
			break;
		usleep(200);
	}
}

void tn__ports_quiesce(struct tn_runtime *rt)
{
	drain_rx(rt);
	reap_af_xdp(rt);
}

unsigned tn__mbufs_leaked(const struct tn_runtime *rt, unsigned pcap_in_use)
{
	unsigned in_use = tn__mbufs_in_use(rt->mp), kept = 0, leaked, i;

	for (i = 0; i < rt->nports; i++)
		kept += rt->port_kept[i];
	/* Fewer than kept would mean the PMD gave some back: not a leak. */
	leaked = (in_use > kept ? in_use - kept : 0) + pcap_in_use;
	if (leaked)
		fprintf(stderr, "tern: mbufs in use at exit: %u (%s: %u of %u in use, %u of them "
			"kept by af_xdp ports; capture copies: %u)\n", leaked,
			rt->mp ? rt->mp->name : "-", in_use, rt->mp ? rt->mp->size : 0, kept,
			pcap_in_use);
	return leaked;
}
