/* The tern-feed message format, shared by apps/tern_feed.c and
 * bench/kernel_feed.c (no DPDK in here, so a kernel program can use it).
 *
 * One message per UDP datagram: a 32-byte header, then payload_len bytes.
 * Every field is little-endian.
 *
 *    0  magic        u32  0x44454654 ("TFED" in memory)
 *    4  version      u8   1
 *    5  flags        u8   0 (reserved)
 *    6  feed_id      u16  which feed (a publisher's --feed-id)
 *    8  session      u32  random per publisher run: a new session
 *                         restarts the sequence (a subscriber does not
 *                         count the restart as reordering)
 *   12  payload_len  u32  bytes after the header (datagram length - 32)
 *   16  seq          u64  0, 1, 2, ... per (feed_id, session)
 *   24  send_ns      u64  send time, CLOCK_MONOTONIC in ns (see below)
 *   32  payload      byte i is (uint8_t)(seq + i), so a receiver can
 *                    check it
 *
 * The clock.  send_ns is clock_gettime(CLOCK_MONOTONIC) in ns, read just
 * before the message is queued (a burst shares one reading).  It is
 * neither Tern's loop clock (the TSC scaled by each process's own
 * calibration, with its own origin: two processes' values do not
 * compare) nor CLOCK_REALTIME (which NTP steps).  CLOCK_MONOTONIC is the
 * one clock every process on the machine shares, in every network
 * namespace, so a subscriber on the same machine computes one-way
 * latency as its own CLOCK_MONOTONIC at arrival minus send_ns.  A kernel
 * peer produces compatible messages with clock_gettime(CLOCK_MONOTONIC)
 * (Python: time.clock_gettime_ns(time.CLOCK_MONOTONIC)).  Across
 * machines, or in different time namespaces, the difference is
 * meaningless: subscribers count a negative one as clock skew and leave
 * it out of the percentiles. */
#ifndef TN_FEED_MSG_H
#define TN_FEED_MSG_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define TN_FEED_MAGIC 0x44454654u
#define TN_FEED_VERSION 1
#define TN_FEED_HDR_LEN 32
#define TN_FEED_MAX_MSG 8192 /* a datagram, header included */

struct tn_feed_hdr {
	uint32_t magic;
	uint8_t version, flags;
	uint16_t feed_id;
	uint32_t session;
	uint32_t payload_len;
	uint64_t seq;
	uint64_t send_ns;
};

static inline uint64_t tn_feed_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Writes h's 32 bytes at p. */
static inline void tn_feed_hdr_put(uint8_t *p, const struct tn_feed_hdr *h)
{
	uint32_t u32;
	uint16_t u16;
	uint64_t u64;

	u32 = htole32(h->magic);
	memcpy(p, &u32, 4);
	p[4] = h->version;
	p[5] = h->flags;
	u16 = htole16(h->feed_id);
	memcpy(p + 6, &u16, 2);
	u32 = htole32(h->session);
	memcpy(p + 8, &u32, 4);
	u32 = htole32(h->payload_len);
	memcpy(p + 12, &u32, 4);
	u64 = htole64(h->seq);
	memcpy(p + 16, &u64, 8);
	u64 = htole64(h->send_ns);
	memcpy(p + 24, &u64, 8);
}

/* Reads the header at p, from a datagram of len bytes; false when it is
 * not a message (short, wrong magic or version, or a payload_len that is
 * not the rest of the datagram). */
static inline bool tn_feed_hdr_get(const uint8_t *p, uint32_t len, struct tn_feed_hdr *h)
{
	uint32_t u32;
	uint16_t u16;
	uint64_t u64;

	if (len < TN_FEED_HDR_LEN)
		return false;
	memcpy(&u32, p, 4);
	h->magic = le32toh(u32);
	h->version = p[4];
	h->flags = p[5];
	memcpy(&u16, p + 6, 2);
	h->feed_id = le16toh(u16);
	memcpy(&u32, p + 8, 4);
	h->session = le32toh(u32);
	memcpy(&u32, p + 12, 4);
	h->payload_len = le32toh(u32);
	memcpy(&u64, p + 16, 8);
	h->seq = le64toh(u64);
	memcpy(&u64, p + 24, 8);
	h->send_ns = le64toh(u64);
	return h->magic == TN_FEED_MAGIC && h->version == TN_FEED_VERSION &&
	       h->payload_len == len - TN_FEED_HDR_LEN;
}

/* The payload pattern for seq: n bytes at p, starting at payload offset
 * off (a payload may be split across buffers). */
static inline void tn_feed_fill(uint8_t *p, uint32_t n, uint64_t seq, uint32_t off)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seq + off + i);
}

static inline bool tn_feed_check(const uint8_t *p, uint32_t n, uint64_t seq, uint32_t off)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(seq + off + i))
			return false;
	return true;
}

#endif
