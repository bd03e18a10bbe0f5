/* Seeded fault injection on packet bursts (--fault SPEC), internal.
 *
 * This kernel has no netem, so every test that needs loss, duplication,
 * reordering, delay or corruption between Tern and a real peer gets it
 * here, on RX (after rte_eth_rx_burst) and TX (before rte_eth_tx_burst).
 * Deterministic: the same spec, seed and stream id make the same
 * decisions packet for packet.
 *
 * Each packet meets the faults in this order:
 *   drop     freed and counted;
 *   corrupt  one random bit of one random byte flipped (a shared or
 *            indirect mbuf is first copied, so a clone kept for
 *            retransmission stays intact);
 *   dup      a deep copy from mp follows the packet;
 *   reorder  when no packet is held, the packet is held with probability
 *            `reorder` and leaves right after the next packet of the
 *            stream (its duplicate, if any, is not held).  A packet that
 *            arrives while another is held is what releases it and is
 *            not itself eligible, so `reordered / (seen - dropped -
 *            reordered)` estimates `reorder`.  A held packet with no
 *            successor within TN_FAULT_REORDER_TIMEOUT_NS is released on
 *            the next call that sees that time pass;
 *   delay    every packet waits delay_us of now_ns in a FIFO, so the order
 *            is kept.
 * Memory is bounded: at most TN_FAULT_MAX_HELD packets wait in the FIFO
 * (plus the one held for reordering); beyond that a packet is freed and
 * counted as overflow. */
#ifndef TN_FAULT_H
#define TN_FAULT_H

#include <stddef.h>
#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;

/* Packets one stream may keep waiting (delayed, or not yet fitting in the
 * caller's array).  A power of two. */
#define TN_FAULT_MAX_HELD 4096u
/* How long a packet held for reordering waits for a successor. */
#define TN_FAULT_REORDER_TIMEOUT_NS 1000000ull
/* The largest delay_us tn_fault_parse accepts (60 s). */
#define TN_FAULT_MAX_DELAY_US 60000000ull

struct tn_fault_spec {
	double drop, dup, reorder, corrupt; /* probabilities in [0, 1] */
	uint64_t delay_us;                  /* every packet held this long */
	uint64_t seed;                      /* default 1 */
};

struct tn_fault_stats {
	uint64_t seen, dropped, duplicated, reordered, corrupted, delayed;
	uint64_t overflow; /* freed because TN_FAULT_MAX_HELD were waiting */
};

/* Parses "drop=0.05,dup=0.01,reorder=0.05,delay_us=200,corrupt=0.001,seed=7"
 * (any subset, any order; "" or NULL means no faults).  Unknown or
 * repeated keys, empty items, missing or malformed numbers, probabilities
 * outside [0, 1] and delays above TN_FAULT_MAX_DELAY_US are errors.
 * 0, or -EINVAL after writing why into err (if errlen > 0). */
int tn_fault_parse(const char *spec, struct tn_fault_spec *out, char *err, size_t errlen);

struct tn_fault;

/* One stream (a core's RX or TX on one port): its own PRNG, seeded from
 * spec->seed and stream_id, and its held packets.  mp is used for
 * duplicates and for private copies before corruption (NULL: the
 * packet's own pool).  NULL on allocation failure. */
struct tn_fault *tn_fault_create(const struct tn_fault_spec *spec, uint64_t stream_id,
				 struct rte_mempool *mp);
/* Frees the stream and every packet it still holds. */
void tn_fault_destroy(struct tn_fault *f);

/* Applies the faults to pkts[0..n) in place and appends held packets
 * whose time has come.  The array has room for cap entries (cap >= n).
 * Dropped packets are freed.  Returns the new count (<= cap); packets
 * that did not fit stay held for the next call.  now_ns must not go
 * backwards between calls. */
uint16_t tn_fault_apply(struct tn_fault *f, struct rte_mbuf **pkts, uint16_t n,
			uint16_t cap, uint64_t now_ns);

/* How many packets the stream holds (delayed or waiting to be reordered). */
unsigned tn_fault_held(const struct tn_fault *f);
void tn_fault_stats_get(const struct tn_fault *f, struct tn_fault_stats *st);
/* Packets the stream has freed so far (dropped + overflow): callers count
 * them as drops from the difference around tn_fault_apply. */
uint64_t tn_fault_freed(const struct tn_fault *f);

#endif
