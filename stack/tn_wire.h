/* Wire formats: parsers that check a header once and fill a view, so the
 * protocol code (arp.c, ipv4.c, icmp.c) never reads an unchecked field.
 * No state, no allocation: just bytes in, a verdict and a view out. */
#ifndef TN_WIRE_H
#define TN_WIRE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#pragma GCC visibility push(hidden)

/* ---- ARP (Ethernet hardware, IPv4 protocol only) ---- */

#define TN_ARP_LEN 28 /* the Ethernet/IPv4 ARP body */

struct tn__arp_view {
	uint16_t op; /* RTE_ARP_OP_REQUEST or RTE_ARP_OP_REPLY, host order */
	struct rte_ether_addr sha, tha;
	uint32_t spa, tpa; /* network byte order */
};

/* 0, or -EINVAL for a short body, another hardware or protocol type or
 * length, an unknown opcode, or a group sender MAC. */
int tn__arp_parse(const void *p, uint32_t len, struct tn__arp_view *v);
/* Writes a TN_ARP_LEN-byte body. */
void tn__arp_write(void *p, uint16_t op, const struct rte_ether_addr *sha, uint32_t spa,
		   const struct rte_ether_addr *tha, uint32_t tpa);

/* ---- IPv4 ---- */

enum tn__ip_verdict {
	TN__IP_OK,
	TN__IP_BAD_LEN,     /* truncated header, total length vs frame */
	TN__IP_BAD_VERSION,
	TN__IP_BAD_IHL,     /* IHL < 5 */
	TN__IP_BAD_CSUM,
	TN__IP_BAD_OPTIONS, /* an option TLV with a malformed length */
};

struct tn__ipv4_view {
	const struct rte_ipv4_hdr *h;
	uint16_t hlen, tlen;   /* header and total length, bytes */
	uint16_t frag_ofs;     /* bytes */
	bool mf, df;
	uint8_t proto, ttl;
	uint32_t src, dst;     /* network byte order */
};

static inline bool tn__ipv4_view_is_frag(const struct tn__ipv4_view *v)
{
	return v->mf || v->frag_ofs;
}

/* p: the header, contiguous for at least avail bytes; frame_len: the
 * bytes the frame holds from p on (padding included).  Checks version,
 * IHL, lengths, the header checksum and the option TLVs. */
enum tn__ip_verdict tn__ipv4_parse(const void *p, uint32_t avail, uint32_t frame_len,
				   struct tn__ipv4_view *v);

/* 4 bytes at p, in memory order. */
static inline uint32_t tn__ld32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The ones'-complement sum of an option-less IPv4 header (folded, not
 * inverted: 0xffff when its checksum is right), as rte_raw_cksum gives
 * it, but as five 32-bit words (ones'-complement sums do not care how
 * the words are grouped), where DPDK 22.11's generic loop takes ten
 * 16-bit steps; every received datagram pays this. */
static inline uint16_t tn__ipv4_hdr20_sum(const struct rte_ipv4_hdr *h)
{
	const uint8_t *p = (const uint8_t *)h;
	uint64_t sum;

	/* Word by word: a copy of the 20 bytes into an array went through
	 * the stack. */
	sum = (uint64_t)tn__ld32(p) + tn__ld32(p + 4) + tn__ld32(p + 8) + tn__ld32(p + 12) +
	      tn__ld32(p + 16);
	sum = (sum >> 32) + (sum & 0xffffffff);
	sum = (sum >> 16) + (sum & 0xffff);
	sum = (sum >> 16) + (sum & 0xffff);
	sum = (sum >> 16) + (sum & 0xffff);
	return (uint16_t)sum;
}

/* ---- UDP over IPv4, the common case ---- */

/* A datagram as tn__udp4_parse found it: the headers, in the frame. */
struct tn__udp4_view {
	const struct rte_ipv4_hdr *ip;
	const struct rte_udp_hdr *uh;
	uint16_t ulen; /* the UDP length: header and payload */
};

/* Whether m may be a frame tn__udp4_parse takes: long enough for the
 * headers, IPv4, UDP (a test cheaper than a call that says no). */
static inline bool tn__udp4_maybe(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);

	return m->data_len >= RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) +
				      sizeof(struct rte_udp_hdr) &&
	       ((const struct rte_ether_hdr *)p)->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4) &&
	       ((const struct rte_ipv4_hdr *)(p + RTE_ETHER_HDR_LEN))->next_proto_id == IPPROTO_UDP;
}

/* The IPv4 and UDP headers of an Ethernet frame in one pass, for the
 * datagrams nearly all traffic is: one segment (m), no IP options, not a
 * fragment, TTL > 0, the header checksum right and the UDP length the IP
 * payload's.  Each of those is a check tn__ipv4_parse or UDP input makes
 * too, so a frame this accepts would pass them; a frame it refuses
 * (false) is left as it was, for them to parse, and to count if bad.
 * The UDP checksum is not checked here.  The caller checked that the
 * Ethernet header is there. */
static inline bool tn__udp4_parse(const struct rte_mbuf *m, struct tn__udp4_view *v)
{
	const struct rte_ipv4_hdr *h =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	const uint32_t min = sizeof(*h) + sizeof(struct rte_udp_hdr);
	uint32_t tlen;

	if (m->next || m->data_len < RTE_ETHER_HDR_LEN + min)
		return false;
	/* Version 4, IHL 5; UDP; neither MF nor an offset (DF may be set). */
	if (h->version_ihl != RTE_IPV4_VHL_DEF || h->next_proto_id != IPPROTO_UDP ||
	    (h->fragment_offset & ~RTE_BE16(RTE_IPV4_HDR_DF_FLAG)) || !h->time_to_live)
		return false;
	tlen = rte_be_to_cpu_16(h->total_length);
	if (tlen < min || tlen > m->data_len - RTE_ETHER_HDR_LEN)
		return false;
	v->uh = (const struct rte_udp_hdr *)(h + 1);
	if (rte_be_to_cpu_16(v->uh->dgram_len) != tlen - sizeof(*h) ||
	    tn__ipv4_hdr20_sum(h) != 0xffff)
		return false;
	v->ip = h;
	v->ulen = (uint16_t)(tlen - sizeof(*h));
	return true;
}

/* ---- ICMP ---- */

#define TN_ICMP_HDR_LEN 8

/* Types and codes (DPDK 22.11's rte_icmp.h only names the echo ones). */
#define TN_ICMP_ECHO_REPLY 0
#define TN_ICMP_DEST_UNREACH 3
#define TN_ICMP_SOURCE_QUENCH 4
#define TN_ICMP_REDIRECT 5
#define TN_ICMP_ECHO_REQUEST 8
#define TN_ICMP_TIME_EXCEEDED 11
#define TN_ICMP_PARAM_PROBLEM 12
#define TN_ICMP_UNREACH_PROTO 2
#define TN_ICMP_UNREACH_PORT 3

static inline bool tn__icmp_type_is_error(uint8_t type)
{
	return type == TN_ICMP_DEST_UNREACH || type == TN_ICMP_SOURCE_QUENCH ||
	       type == TN_ICMP_REDIRECT || type == TN_ICMP_TIME_EXCEEDED ||
	       type == TN_ICMP_PARAM_PROBLEM;
}

/* An ICMP error's quoted datagram: its IPv4 header and the first 8 bytes
 * of its payload (enough for the ports), as RFC 792 guarantees. */
struct tn__icmp_err_view {
	uint8_t type, code;
	uint16_t mtu;      /* fragmentation needed: the next hop's MTU (RFC 1191), else 0 */
	uint32_t src, dst; /* of the quoted datagram, network byte order */
	uint8_t proto;
	uint8_t l4[8];     /* the quoted payload's first 8 bytes */
};

/* p: the ICMP message (header first), len bytes.  0, or -EINVAL when the
 * quoted IPv4 header or the 8 bytes after it are truncated or invalid. */
int tn__icmp_err_parse(const void *p, uint32_t len, struct tn__icmp_err_view *v);

/* rte_raw_cksum_mbuf (same contract: the raw one's-complement sum of len
 * bytes of m from off into *cksum; 0, or -1 past the packet), correct for
 * chains with odd-length segments: DPDK 22.11's byte-swaps the next
 * segment's sum after truncating it to 16 bits, losing its carries, so
 * a good checksum looked bad (and a sent one came out wrong). */
int tn__raw_cksum_mbuf(const struct rte_mbuf *m, uint32_t off, uint32_t len, uint16_t *cksum);

#pragma GCC visibility pop

#endif
