/* Wire formats: parsers that check a header once and fill a view, so the
 * protocol code (arp.c, ipv4.c, icmp.c) never reads an unchecked field.
 * No state, no allocation: just bytes in, a verdict and a view out. */
#ifndef TN_WIRE_H
#define TN_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_ip.h>

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
