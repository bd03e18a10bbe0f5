/* stack/ internals shared between its files; not installed.
 *
 * Layering inside one instance: stack.c dispatches received frames by
 * EtherType (eth.c parses), ARP frames to arp.c, IPv4 to ipv4.c, which
 * validates, reassembles (ipv4_reass.c) and hands ICMP to icmp.c, IGMP
 * to igmp.c and UDP to udp.c (which hands ICMP errors about UDP to
 * udp.c too).  udp.c keeps the sockets' protocol state and stays pure;
 * udp_sock.c is the only file that wakes tasks (tn_waitq).  On the way
 * out, icmp.c, igmp.c and udp.c build an IPv4 payload and call
 * tn__ip_output, which routes, asks ARP for the next hop's MAC (queueing
 * the packet while it resolves; multicast maps to its group MAC),
 * fragments to the MTU, and appends the frames to the output queue that
 * tn_stack_output drains. */
#ifndef TN_STACK_INTERNAL_H
#define TN_STACK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "tern/stack.h"

#pragma GCC visibility push(hidden)

#define TN_STACK_OUTQ 2048 /* frames waiting for tn_stack_output */
#define TN_IP_MIN_MTU 68   /* RFC 791: every host must take 68 bytes unfragmented */
/* ICMP errors we send (tn__icmp_error): a token bucket of this many per second and burst
 * (RFC 1812 4.3.2.8 asks for a limit; Linux defaults to about this). */
#define TN_ICMP_ERR_RATE 100
#define TN_ICMP_ERR_BURST 10

struct tn_arp;
struct tn_reass;
struct tn_udp;
struct tn_tcp;
struct tn_igmp;
struct tn__icmp_err_view;

struct tn_stack {
	struct tn_stack_config cfg;
	struct rte_ether_addr mac;
	uint32_t ip, netmask;     /* network byte order */
	uint64_t now;             /* time of the current call, ns */
	/* tn_stack_next_deadline: what tn_stack_timers returned, lowered by
	 * calls that arm an earlier timer (tn__stack_deadline_lower). */
	uint64_t deadline;
	struct tn_stack_stats st;
	/* Output queue: a ring of frames in send order. */
	struct rte_mbuf *outq[TN_STACK_OUTQ];
	unsigned out_head, out_len;
	struct tn_arp *arp;
	struct tn_reass *reass;
	struct tn_udp *udp;
	struct tn_tcp *tcp;
	struct tn_igmp *igmp;
	/* IP IDs: several instances on one link (one per core, same
	 * address) take disjoint sequences, self, self + step, ... below
	 * end (step times 65536 / step), so two cores never fragment two
	 * datagrams to one host under the same ID at once. */
	uint32_t ip_id, ip_id_step, ip_id_end;
	/* Moves whenever an ARP entry is resolved, changes or goes: frame
	 * header templates (tn__ip_frame_template) made before are stale. */
	uint32_t arp_gen;
	/* The last entry IP traffic refreshed (tn__arp_learn): more traffic
	 * from that host skips the ARP table until arp_fresh_until (1/1024
	 * of the TTL later) unless an entry changed (arp_gen).  A busy flow
	 * learned on every datagram: a hash lookup and a MAC compare, ~45
	 * instructions of a ~1,300-instruction UDP echo. */
	uint32_t arp_fresh_ip, arp_fresh_gen;
	uint64_t arp_fresh_until;
	uint64_t rng;
	/* ICMP error rate limit (token bucket) */
	double icmp_tokens;
	uint64_t icmp_tokens_t;
};

/* The IP ID after id in an instance's sequence (step, end: see
 * ip_id_step, ip_id_end). */
static inline uint32_t tn__ip_id_after(uint32_t id, uint32_t step, uint32_t end)
{
	id += step;
	return id >= end ? id - end : id;
}

static inline uint16_t tn__ip_next_id(struct tn_stack *s)
{
	uint16_t id = (uint16_t)s->ip_id;

	s->ip_id = tn__ip_id_after(s->ip_id, s->ip_id_step, s->ip_id_end);
	return id;
}

/* xorshift64*: cheap, seeded, deterministic. */
static inline uint64_t tn__stack_rand(struct tn_stack *s)
{
	uint64_t x = s->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* A timer of the stack now needs to run by t. */
static inline void tn__stack_deadline_lower(struct tn_stack *s, uint64_t t)
{
	if (t < s->deadline)
		s->deadline = t;
}

/* Queues a finished frame for sending (takes it; counts and frees it if
 * the queue is full).  Inline: every frame sent takes it. */
static inline void tn__stack_xmit(struct tn_stack *s, struct rte_mbuf *m)
{
	if (unlikely(s->out_len == TN_STACK_OUTQ)) {
		s->st.tx_queue_full++;
		rte_pktmbuf_free(m);
		return;
	}
	s->outq[(s->out_head + s->out_len) % TN_STACK_OUTQ] = m;
	s->out_len++;
	s->st.tx_frames++;
}
/* A fresh mbuf with room for headers in front, or NULL (counted). */
struct rte_mbuf *tn__stack_alloc(struct tn_stack *s);
/* Appends len bytes to m, chaining new segments from the stack's pool as
 * each fills; 0 or -ENOBUFS (m then holds part of the bytes). */
int tn__mbuf_append(struct tn_stack *s, struct rte_mbuf *m, const void *d, uint32_t len);
/* Drops len bytes from the front of the chain m, freeing segments that
 * empty; returns the new head (m, or a later segment). */
struct rte_mbuf *tn__mbuf_adj(struct rte_mbuf *m, uint32_t len);

/* eth.c: prepend an Ethernet header and queue the frame. */
int tn__eth_output(struct tn_stack *s, struct rte_mbuf *m, const struct rte_ether_addr *dst,
		   uint16_t ether_type);

/* arp.c */
struct tn_arp *tn__arp_create(struct tn_stack *s);
void tn__arp_destroy(struct tn_arp *a);
void tn__arp_input(struct tn_stack *s, struct rte_mbuf *m);
/* Sends an IPv4 frame (the IPv4 header already in m) to next hop nh:
 * at once if its MAC is known, else queued until ARP resolves it. */
void tn__arp_resolve_output(struct tn_stack *s, struct rte_mbuf *m, uint32_t nh);
/* The MAC of next hop nh if its entry is resolved and fresh (counted as
 * a use), and until when it holds: 0, or -EAGAIN (send through
 * tn__arp_resolve_output, which resolves it). */
int tn__arp_lookup(struct tn_stack *s, uint32_t nh, struct rte_ether_addr *mac, uint64_t *until);
/* IP traffic from on-link ip with source MAC mac: refreshes a resolved
 * entry with that MAC; never creates or changes one (see arp.c). */
void tn__arp_learn(struct tn_stack *s, uint32_t ip, const struct rte_ether_addr *mac);
/* Whether tn__arp_learn(s, ip, ...) refreshed ip's entry so recently
 * that it can be skipped: the entry's expiry then lags the traffic by
 * at most 1/1024 of the TTL. */
static inline bool tn__arp_fresh(const struct tn_stack *s, uint32_t ip)
{
	return ip == s->arp_fresh_ip && s->now < s->arp_fresh_until && s->arp_gen == s->arp_fresh_gen;
}
uint64_t tn__arp_timers(struct tn_stack *s);
void tn__arp_announce(struct tn_stack *s); /* gratuitous ARP */

/* ipv4.c */
void tn__ip_input(struct tn_stack *s, struct rte_mbuf *m);
/* The address is a broadcast we accept and send to ff:ff:ff:ff:ff:ff:
 * 255.255.255.255 or the subnet's directed broadcast. */
static inline bool tn__ip_is_bcast(const struct tn_stack *s, uint32_t a)
{
	/* /31 and /32 subnets have no directed broadcast (RFC 3021). */
	return a == RTE_BE32(0xffffffff) ||
	       (s->cfg.prefix_len < 31 && a == (s->ip | ~s->netmask));
}
static inline bool tn__ip_is_mcast(uint32_t a)
{
	return (rte_be_to_cpu_32(a) >> 28) == 0xe;
}
/* A group's Ethernet address: 01:00:5e and its low 23 bits (RFC 1112). */
static inline void tn__ip_mcast_mac(uint32_t group, struct rte_ether_addr *mac)
{
	uint32_t g = rte_be_to_cpu_32(group);

	mac->addr_bytes[0] = 0x01;
	mac->addr_bytes[1] = 0x00;
	mac->addr_bytes[2] = 0x5e;
	mac->addr_bytes[3] = (g >> 16) & 0x7f;
	mac->addr_bytes[4] = (g >> 8) & 0xff;
	mac->addr_bytes[5] = g & 0xff;
}
/* The address is in our subnet. */
static inline bool tn__ip_on_link(const struct tn_stack *s, uint32_t a)
{
	return ((a ^ s->ip) & s->netmask) == 0;
}
/* m holds the IPv4 payload (transport header and data) with headroom;
 * builds the IPv4 header, routes, fragments and sends.  Takes m.  0, or
 * -ENETUNREACH, -EMSGSIZE, -ENOBUFS (each counted). */
int tn__ip_output(struct tn_stack *s, struct rte_mbuf *m, uint32_t dst, uint8_t proto);
/* tn__ip_output with IP options (optlen a multiple of 4, at most 40).
 * Multicast goes out with TTL 1, everything else with 64. */
int tn__ip_output_opt(struct tn_stack *s, struct rte_mbuf *m, uint32_t dst, uint8_t proto,
		      const void *opt, uint8_t optlen);
/* A frame header template for a transport that sends many datagrams to
 * one unicast dst (tcp_output.c): the Ethernet header to the next hop and
 * the IPv4 header tn__ip_output writes (no options), with total_length
 * and packet_id 0 and in hdr_checksum the sum of the rest, into hdr
 * (TN_IP_TPL_LEN bytes).  Valid
 * while s->arp_gen is unchanged and until *until.  0, or -EAGAIN (the
 * next hop is not resolved: tn__ip_output resolves it), -ENETUNREACH. */
#define TN_IP_TPL_LEN (RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr))
int tn__ip_frame_template(struct tn_stack *s, uint32_t dst, uint8_t proto, uint8_t *hdr,
			  uint64_t *until);
/* Frames a burst call completes on templates (tn__ip_frame_template)
 * and queues, a batch: the output queue's tail and the IP ID sequence
 * are held here for the burst and written back by tn__frame_batch_end.
 * In the stack they would be loaded and stored again for every frame,
 * as the compiler must assume the frame's byte stores may change them.
 * Nothing else may queue frames or take IP IDs between begin and end. */
struct tn__frame_batch {
	struct tn_stack *s;
	unsigned tail, room, queued;
	uint32_t id, id_step, id_end;
	bool offload; /* cfg.tx_ipv4_cksum */
};

static inline void tn__frame_batch_begin(struct tn_stack *s, struct tn__frame_batch *b)
{
	b->s = s;
	b->tail = (s->out_head + s->out_len) % TN_STACK_OUTQ;
	b->room = TN_STACK_OUTQ - s->out_len;
	b->queued = 0;
	b->id = s->ip_id;
	b->id_step = s->ip_id_step;
	b->id_end = s->ip_id_end;
	b->offload = s->cfg.tx_ipv4_cksum;
}

/* The IPv4 header's length, id (host order) and checksum of a frame
 * built on a template (the datagram is m less its Ethernet header), and
 * m's offload fields; offload: cfg.tx_ipv4_cksum. */
static inline void tn__ip_frame_finish(struct rte_mbuf *m, uint16_t id, bool offload)
{
	struct rte_ipv4_hdr *h = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	uint16_t len = rte_cpu_to_be_16((uint16_t)(m->pkt_len - RTE_ETHER_HDR_LEN));
	uint32_t sum;

	id = rte_cpu_to_be_16(id);
	h->total_length = len;
	h->packet_id = id;
	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = sizeof(*h);
	if (offload) {
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
		h->hdr_checksum = 0;
	} else {
		/* The template's partial sum (tn__ip_frame_template) plus the
		 * two fields written here. */
		sum = (uint32_t)h->hdr_checksum + len + id;
		sum = (sum >> 16) + (sum & 0xffff);
		sum = (sum >> 16) + (sum & 0xffff);
		h->hdr_checksum = (uint16_t)~sum;
	}
}

/* Completes a frame built on a template (tn__ip_frame_finish) and
 * queues it (counted, and freed if the queue is full).  Takes m. */
static inline void tn__frame_batch_send(struct tn__frame_batch *b, struct rte_mbuf *m)
{
	uint16_t id = (uint16_t)b->id;

	b->id = tn__ip_id_after(b->id, b->id_step, b->id_end);
	tn__ip_frame_finish(m, id, b->offload);
	if (unlikely(!b->room)) {
		b->s->st.tx_queue_full++;
		rte_pktmbuf_free(m);
		return;
	}
	b->s->outq[b->tail] = m;
	b->tail = (b->tail + 1) % TN_STACK_OUTQ;
	b->room--;
	b->queued++;
}

static inline void tn__frame_batch_end(struct tn__frame_batch *b)
{
	struct tn_stack *s = b->s;

	s->ip_id = b->id;
	s->out_len = TN_STACK_OUTQ - b->room;
	s->st.tx_frames += b->queued;
}

/* One frame built on a template: completed and queued. */
static inline void tn__ip_frame_send(struct tn_stack *s, struct rte_mbuf *m)
{
	tn__ip_frame_finish(m, tn__ip_next_id(s), s->cfg.tx_ipv4_cksum);
	tn__stack_xmit(s, m);
}
/* Whether tn__ip_output could send to dst: 0 or -ENETUNREACH. */
int tn__ip_route_check(const struct tn_stack *s, uint32_t dst);

/* ipv4_reass.c: m starts at its IPv4 header (l2_len 0, l3_len set, its
 * padding trimmed); returns the whole datagram, in the same form, when m
 * completes one, else NULL (m held or dropped and counted). */
struct tn_reass *tn__reass_create(struct tn_stack *s);
void tn__reass_destroy(struct tn_reass *r);
struct rte_mbuf *tn__reass_input(struct tn_stack *s, struct rte_mbuf *m);
uint64_t tn__reass_timers(struct tn_stack *s);

/* icmp.c: m starts at the validated IPv4 header ip (l3_len set).  Takes m. */
void tn__icmp_input(struct tn_stack *s, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip);
/* An ICMP error about the datagram in orig (its IPv4 header first);
 * rate-limited.  Does not take orig. */
void tn__icmp_error(struct tn_stack *s, const struct rte_mbuf *orig, uint8_t type, uint8_t code);

/* udp.c: m starts at the validated IPv4 header ip (l3_len set).  Takes m. */
struct tn_udp *tn__udp_create(struct tn_stack *s);
/* Closes every socket still open (waking their waiters), frees the rest. */
void tn__udp_destroy(struct tn_stack *s);
void tn__udp_input(struct tn_stack *s, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip);
/* The fast path for received unicast datagrams: takes pkts[0..k) for
 * k it returns, up to the first frame it leaves to the general path. */
uint16_t tn__udp_fast_input(struct tn_stack *s, struct rte_mbuf **pkts, uint16_t n);
/* An ICMP error (parsed by icmp.c) quoting a UDP datagram. */
void tn__udp_icmp_error(struct tn_stack *s, const struct tn__icmp_err_view *ev);

/* tcp.c (see tn_tcp.h): m starts at the validated IPv4 header ip.
 * Takes m. */
struct tn_tcp *tn__tcp_create(struct tn_stack *s);
/* Wakes every waiting task (-EBADF) and frees every connection. */
void tn__tcp_destroy(struct tn_stack *s);
void tn__tcp_input(struct tn_stack *s, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip);
void tn__tcp_icmp_error(struct tn_stack *s, const struct tn__icmp_err_view *ev);
uint64_t tn__tcp_timers(struct tn_stack *s);

/* igmp.c: the stack-wide group memberships (a reference count per group)
 * and IGMPv2.  m starts at the validated IPv4 header ip.  Takes m. */
struct tn_igmp *tn__igmp_create(struct tn_stack *s);
void tn__igmp_destroy(struct tn_igmp *g);
void tn__igmp_input(struct tn_stack *s, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip);
/* One more member of group: the first sends a report.  0 or -ENOBUFS. */
int tn__igmp_join(struct tn_stack *s, uint32_t group);
/* One member fewer: the last sends a leave (unless quiet: at teardown). */
void tn__igmp_leave(struct tn_stack *s, uint32_t group, bool quiet);
/* We receive group: joined, or all-hosts 224.0.0.1. */
bool tn__igmp_member(const struct tn_stack *s, uint32_t group);
/* mac is a group MAC we receive (a joined group's or all-hosts'). */
bool tn__igmp_mac_member(const struct tn_stack *s, const struct rte_ether_addr *mac);
uint64_t tn__igmp_timers(struct tn_stack *s);

#pragma GCC visibility pop

#endif
