/* The protocol stack: Ethernet, ARP, IPv4, ICMP (UDP and TCP to come).
 *
 * Pure: a stack instance takes received frames and the time, and gives
 * back frames to send and its next deadline.  It never calls ethdev,
 * reads a clock or prints, and has no mutable globals, so one instance
 * runs per core and tests drive several in one process with a virtual
 * clock.  Frames are DPDK mbufs from the instance's mempool.
 */
#ifndef TERN_STACK_H
#define TERN_STACK_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mbuf;
struct rte_mempool;
struct tn_stack;

struct tn_stack_config {
	uint8_t mac[6];
	uint32_t ip;            /* the interface address, network byte order */
	uint8_t prefix_len;     /* on-link subnet */
	uint32_t gw;            /* default gateway, network byte order; 0: none */
	uint16_t mtu;           /* IP MTU (0: 1500) */
	struct rte_mempool *mp; /* for frames the stack builds */
	unsigned arp_entries;   /* ARP cache size (0: 1024) */
	uint64_t arp_ttl_ns;    /* cache entry lifetime (0: 60 s) */
	unsigned arp_pending;   /* frames queued per unresolved address (0: 8) */
	uint64_t seed;          /* IP IDs, rate-limiter jitter */
};

/* Counters: every frame the stack drops is counted under its reason. */
struct tn_stack_stats {
	uint64_t rx_frames, tx_frames;
	/* Ethernet */
	uint64_t eth_runt, eth_vlan, eth_other_type, eth_not_ours;
	/* ARP */
	uint64_t arp_rx, arp_bad, arp_not_ours, arp_requests_sent, arp_replies_sent,
		arp_rate_limited, arp_pending_dropped, arp_cache_full, arp_unresolved;
	/* IPv4 */
	uint64_t ip_rx, ip_bad_version, ip_bad_ihl, ip_bad_len, ip_bad_csum, ip_bad_options,
		ip_ttl_expired, ip_not_ours, ip_no_route, ip_unknown_proto,
		ip_frag_rx, ip_frag_reassembled, ip_frag_dropped, ip_frag_tx;
	/* ICMP */
	uint64_t icmp_rx, icmp_bad, icmp_echo_replied, icmp_unreach_sent,
		icmp_rate_limited, icmp_errors_rx;
	/* frames the stack could not queue for sending, or build (no mbuf) */
	uint64_t tx_queue_full, no_mbuf;
};

/* A stack for one interface on one core; NULL with errno.  now: the
 * current time in ns (the stack sends a gratuitous ARP at start). */
struct tn_stack *tn_stack_create(const struct tn_stack_config *cfg, uint64_t now);
/* Frees the stack and every frame it holds. */
void tn_stack_destroy(struct tn_stack *s);

/* Received frames; the stack takes all of them. */
void tn_stack_input(struct tn_stack *s, struct rte_mbuf **pkts, uint16_t n, uint64_t now);
/* Frames to send, oldest first: moves up to max into out, returns how
 * many.  The caller transmits (or frees) them. */
uint16_t tn_stack_output(struct tn_stack *s, struct rte_mbuf **out, uint16_t max);
/* Runs what is due at now (ARP retries and aging, reassembly timeouts)
 * and returns the next deadline in ns (UINT64_MAX: none). */
uint64_t tn_stack_timers(struct tn_stack *s, uint64_t now);

void tn_stack_stats_get(const struct tn_stack *s, struct tn_stack_stats *st);

/* Sends an ICMP echo request (for tests and ping-like tools). */
int tn_stack_ping(struct tn_stack *s, uint32_t dst, uint16_t id, uint16_t seq,
		  const void *data, uint16_t len, uint64_t now);

#ifdef __cplusplus
}
#endif
#endif
