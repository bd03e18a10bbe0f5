/* --pcap FILE: polling cores copy packets with rte_pcapng_copy into an
 * MP/SC ring; the main core writes the copies with
 * rte_pcapng_write_packets.
 *
 * Timestamps.  DPDK 22.11's rte_pcapng_copy converts its TSC argument to
 * ns through a process-wide static that it re-bases (writes) whenever
 * the argument is a second or more past the base, so cores passing the
 * current TSC would race on it (later DPDK moved the conversion into
 * rte_pcapng_write_packets for this reason).  Instead, every core passes
 * the same tsc0, with which the open call itself did one copy: the
 * library's conversion then only reads.  The core stamps the real TSC
 * into the copy's Enhanced Packet Block, and the main core converts it
 * to ns just before writing. */
#ifndef ALLOW_EXPERIMENTAL_API
#define ALLOW_EXPERIMENTAL_API /* rte_pcapng is experimental in 22.11 */
#endif
#include "tn_pcap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pcapng.h>
#include <rte_ring.h>

/* Copies live in the ring or on their way to or from it (per-lcore
 * mempool caches), hence twice the ring. */
#define POOL_SIZE (2 * TN_PCAP_RING_SIZE - 1)
#define POOL_CACHE 128
#define CAPTURE_BURST 32 /* copies per ring enqueue */
#define DRAIN_BURST 64   /* copies per writev */
#define DRAIN_MAX 512    /* per tn_pcap_drain, so one loop turn stays short */

_Static_assert(TN_PCAP_SNAPLEN == RTE_MBUF_DEFAULT_BUF_SIZE, "TN_PCAP_SNAPLEN");

/* The start of a pcapng Enhanced Packet Block (file format, pcapng spec
 * section 4.3), which rte_pcapng_copy puts at the start of each copy. */
struct epb_head {
	uint32_t block_type, block_length, interface_id;
	uint32_t timestamp_hi, timestamp_lo;
	uint32_t capture_length, original_length;
};

struct tn_pcap {
	rte_pcapng_t *w;
	struct rte_ring *ring;
	struct rte_mempool *pool;
	uint16_t nb_ports;
	uint64_t tsc0;               /* the TSC every rte_pcapng_copy gets */
	uint64_t base_tsc, base_ns;  /* TSC -> CLOCK_REALTIME ns */
	uint64_t hz;
	uint64_t dropped;            /* any core adds, atomically */
};

static void add_dropped(struct tn_pcap *p, uint64_t n)
{
	if (n)
		__atomic_fetch_add(&p->dropped, n, __ATOMIC_RELAXED);
}

static uint64_t tsc_to_ns(const struct tn_pcap *p, uint64_t tsc)
{
	/* TSCs of different cores may differ a little: clamp, do not wrap. */
	uint64_t d = tsc > p->base_tsc ? tsc - p->base_tsc : 0;

	/* Seconds first: d * 1e9 would overflow after a few seconds. */
	return p->base_ns + d / p->hz * (uint64_t)NS_PER_S + d % p->hz * (uint64_t)NS_PER_S / p->hz;
}

/* One copy on the main core, with tsc0, settles the library's TSC base
 * (see the top of the file) before any core copies. */
static int prime_clock(struct tn_pcap *p)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(p->pool), *c;
	struct timespec ts;
	char *data;

	if (m == NULL)
		return -ENOMEM;
	data = rte_pktmbuf_append(m, 64);
	memset(data, 0, 64);
	p->tsc0 = rte_get_tsc_cycles();
	c = rte_pcapng_copy(0, 0, m, p->pool, UINT32_MAX, p->tsc0,
			    RTE_PCAPNG_DIRECTION_UNKNOWN);
	rte_pktmbuf_free(m);
	if (c == NULL)
		return -ENOMEM;
	rte_pktmbuf_free(c);

	p->hz = rte_get_tsc_hz();
	clock_gettime(CLOCK_REALTIME, &ts);
	p->base_tsc = rte_get_tsc_cycles();
	p->base_ns = (uint64_t)ts.tv_sec * (uint64_t)NS_PER_S + (uint64_t)ts.tv_nsec;
	return 0;
}

static void free_pcap(struct tn_pcap *p)
{
	rte_ring_free(p->ring);
	rte_mempool_free(p->pool);
	free(p);
}

struct tn_pcap *tn_pcap_open(const char *path, uint16_t nb_ports)
{
	struct tn_pcap *p;
	char name[RTE_RING_NAMESIZE];
	int fd, err;

	for (uint16_t port = 0; port < nb_ports; port++) {
		if (!rte_eth_dev_is_valid_port(port)) {
			errno = ENODEV;
			return NULL;
		}
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->nb_ports = nb_ports;
	/* Names must be unique in the process: use the handle's address. */
	snprintf(name, sizeof(name), "tnpcap_p%" PRIxPTR, (uintptr_t)p);
	p->pool = rte_pktmbuf_pool_create(name, POOL_SIZE, POOL_CACHE, 0,
					  rte_pcapng_mbuf_size(TN_PCAP_SNAPLEN),
					  (int)rte_socket_id());
	if (p->pool == NULL) {
		err = rte_errno;
		goto fail;
	}
	snprintf(name, sizeof(name), "tnpcap_r%" PRIxPTR, (uintptr_t)p);
	p->ring = rte_ring_create(name, TN_PCAP_RING_SIZE, (int)rte_socket_id(),
				  RING_F_SC_DEQ | RING_F_EXACT_SZ);
	if (p->ring == NULL) {
		err = rte_errno;
		goto fail;
	}
	err = -prime_clock(p);
	if (err)
		goto fail;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = errno;
		goto fail;
	}
	/* Writes the section header and one interface block per port. */
	p->w = rte_pcapng_fdopen(fd, NULL, NULL, "Tern", NULL);
	if (p->w == NULL) {
		err = rte_errno ? rte_errno : EIO;
		close(fd);
		unlink(path);
		goto fail;
	}
	return p;
fail:
	free_pcap(p);
	errno = err;
	return NULL;
}

void tn_pcap_capture(struct tn_pcap *p, uint16_t port, uint16_t queue,
		     struct rte_mbuf *const *pkts, uint16_t n, bool rx)
{
	enum rte_pcapng_direction dir = rx ? RTE_PCAPNG_DIRECTION_IN : RTE_PCAPNG_DIRECTION_OUT;
	struct rte_mbuf *copies[CAPTURE_BURST];
	uint64_t tsc = rte_get_tsc_cycles(); /* one stamp per burst */
	uint64_t lost = 0;
	uint16_t i = 0;

	/* The file has no interface for it; writing it would be invalid. */
	if (port >= p->nb_ports) {
		add_dropped(p, n);
		return;
	}
	while (i < n) {
		unsigned k = 0, sent;

		for (; i < n && k < CAPTURE_BURST; i++) {
			struct rte_mbuf *c = rte_pcapng_copy(port, queue, pkts[i], p->pool,
							     TN_PCAP_SNAPLEN, p->tsc0, dir);
			struct epb_head *epb;

			if (c == NULL) {
				lost++;
				continue;
			}
			epb = rte_pktmbuf_mtod(c, struct epb_head *);
			epb->timestamp_hi = (uint32_t)(tsc >> 32);
			epb->timestamp_lo = (uint32_t)tsc;
			copies[k++] = c;
		}
		sent = rte_ring_mp_enqueue_burst(p->ring, (void **)copies, k, NULL);
		if (sent < k) {
			rte_pktmbuf_free_bulk(copies + sent, k - sent);
			lost += k - sent;
		}
	}
	add_dropped(p, lost);
}

static void write_copies(struct tn_pcap *p, struct rte_mbuf **c, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct epb_head *epb = rte_pktmbuf_mtod(c[i], struct epb_head *);
		uint64_t tsc = (uint64_t)epb->timestamp_hi << 32 | epb->timestamp_lo;
		uint64_t ns = tsc_to_ns(p, tsc);

		epb->timestamp_hi = (uint32_t)(ns >> 32);
		epb->timestamp_lo = (uint32_t)ns;
	}
	/* 22.11 writes but does not free (whatever its header says). */
	if (rte_pcapng_write_packets(p->w, c, (uint16_t)n) < 0)
		add_dropped(p, n);
	rte_pktmbuf_free_bulk(c, n);
}

bool tn_pcap_drain(struct tn_pcap *p)
{
	struct rte_mbuf *c[DRAIN_BURST];
	unsigned total = 0, n;

	while (total < DRAIN_MAX &&
	       (n = rte_ring_sc_dequeue_burst(p->ring, (void **)c, DRAIN_BURST, NULL)) > 0) {
		write_copies(p, c, n);
		total += n;
	}
	return total > 0;
}

uint64_t tn_pcap_dropped(const struct tn_pcap *p)
{
	return __atomic_load_n(&p->dropped, __ATOMIC_RELAXED);
}

unsigned tn_pcap_in_use(const struct tn_pcap *p)
{
	return rte_mempool_in_use_count(p->pool);
}

uint64_t tn_pcap_close(struct tn_pcap *p)
{
	uint64_t dropped;

	if (p == NULL)
		return 0;
	while (tn_pcap_drain(p))
		;
	rte_pcapng_close(p->w); /* closes the file descriptor too */
	dropped = tn_pcap_dropped(p);
	free_pcap(p);
	return dropped;
}
