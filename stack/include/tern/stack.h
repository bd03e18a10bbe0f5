/* The protocol stack: Ethernet, ARP, IPv4, ICMP, IGMPv2, UDP, TCP.  UDP
 * sockets are in tern/udp.h, TCP streams in tern/tcp.h.
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

/* How the link hands received frames to the instances (one per core),
 * so that tn_tcp_connect picks local ports whose replies come back to
 * this one.  Both kinds hash the reply's IPv4 4-tuple with Toeplitz
 * (rte_softrss: source, destination, source port << 16 | destination
 * port, host order) under key: TN_STEER_RSS as a NIC does (the hash
 * modulo reta_size picks an entry of reta, a queue), TN_STEER_SOFT as
 * software steering does (the hash modulo n picks an instance).
 * TN_STEER_NONE (zero): one instance, or the link steers replies
 * however it likes; ports are not filtered. */
enum tn_steer_kind { TN_STEER_NONE = 0, TN_STEER_RSS, TN_STEER_SOFT };
#define TN_STEER_KEY_LEN 40
#define TN_STEER_RETA_MAX 512

struct tn_stack_steer {
	uint8_t kind;                        /* enum tn_steer_kind */
	/* (Aligned: rte_softrss reads it as 32-bit words.) */
	uint8_t key[TN_STEER_KEY_LEN] __attribute__((aligned(4)));
	uint16_t reta_size;                  /* RSS: 1..TN_STEER_RETA_MAX */
	uint16_t reta[TN_STEER_RETA_MAX];    /* RSS: the queue of each entry */
	uint16_t n;                          /* SOFT: instances, at least 1 */
	uint16_t self;                       /* RSS: our queue; SOFT: our index */
};

struct tn_stack_config {
	uint8_t mac[6];
	uint32_t ip;            /* the interface address, network byte order */
	uint8_t prefix_len;     /* on-link subnet */
	uint32_t gw;            /* default gateway, network byte order; 0: none */
	uint16_t mtu;           /* IP MTU (0: 1500; at least 68) */
	struct rte_mempool *mp; /* for frames the stack builds */
	unsigned arp_entries;   /* ARP cache size (0: 1024) */
	uint64_t arp_ttl_ns;    /* cache entry lifetime (0: 60 s) */
	unsigned arp_pending;   /* frames queued per unresolved address (0: 8) */
	uint64_t seed;          /* IP IDs, rate-limiter jitter */
	/* The key of TCP's timestamp offsets (RFC 7323 7.1: an offset per
	 * connection, a keyed hash of its 4-tuple); all zero: one drawn
	 * from seed.  The dataplane passes one derived from the machine's
	 * boot ID, so every process on the machine gives a 4-tuple the same
	 * offset and a connection's timestamps are later than those of an
	 * earlier process's connection on the same tuple.  A peer that
	 * still holds that tuple in TIME-WAIT (Linux, after closing first)
	 * then accepts the new SYN; with offsets of its own the new process
	 * was older half the time (ISNs are keyed per process, RFC 6528), and
	 * the peer answered with an ACK of the old connection, which cost
	 * the connect a SYN retransmission. */
	uint8_t ts_key[16];
	/* The ephemeral ports tn_udp_bind(u, addr, 0) and tn_tcp_connect
	 * pick from, host order, inclusive (lo 0 or hi < lo: 49152-65535). */
	uint16_t udp_eph_lo, udp_eph_hi;
	/* Several instances on one link (one per core, same address and
	 * MAC): no_garp leaves the gratuitous ARP at create to one of them;
	 * arp_share records what ARP frames teach for tn_stack_arp_learned,
	 * so the others can be told (tn_stack_arp_update). */
	bool no_garp;
	bool arp_share;
	/* Received UDP datagrams all take the general path (the fast one
	 * is tn_stack_input's for unicast datagrams to a socket): for tests
	 * that compare the two. */
	bool no_fast_path;
	/* Steering, for tn_tcp_connect's local ports (zero: none). */
	struct tn_stack_steer steer;
	/* Checksums the port computes for the frames the stack sends (the
	 * dataplane sets what it enabled: RTE_ETH_TX_OFFLOAD_TCP_CKSUM and
	 * _IPV4_CKSUM).  With tx_tcp_cksum, TCP segments built on a
	 * connection's header template leave with the pseudo-header sum,
	 * RTE_MBUF_F_TX_TCP_CKSUM and l2/l3/l4_len; with tx_ipv4_cksum their
	 * IPv4 header checksum is left to the port too.  Received segments
	 * the PMD marks RTE_MBUF_F_RX_L4_CKSUM_GOOD or _NONE (integrity
	 * verified, e.g. virtio's NEEDS_CSUM) are not summed again either
	 * way. */
	bool tx_tcp_cksum, tx_ipv4_cksum;
};

/* Counters: every frame the stack drops is counted under its reason. */
struct tn_stack_stats {
	uint64_t rx_frames, tx_frames;
	/* Ethernet: shorter than a header, VLAN-tagged, another EtherType,
	 * unicast to another MAC. */
	uint64_t eth_runt, eth_vlan, eth_other_type, eth_not_ours;
	/* ARP.  arp_bad: malformed (lengths, types, opcode, group or zero
	 * sender MAC, a sender claiming our address); arp_not_ours: neither
	 * asks for our address nor updates an entry we hold (flood safety:
	 * such frames never create entries); arp_rate_limited: requests not
	 * sent because one went to that address less than 1 s ago;
	 * arp_pending_dropped: frames dropped because an unresolved entry's
	 * queue was full or the entry was evicted; arp_cache_full: frames
	 * dropped because no entry could be made (only the gateway's left);
	 * arp_unresolved: frames dropped when resolution gave up;
	 * arp_evicted: entries evicted to make room.  arp_requests_sent does
	 * not count the gratuitous ARP sent at create. */
	uint64_t arp_rx, arp_bad, arp_not_ours, arp_requests_sent, arp_replies_sent,
		arp_rate_limited, arp_pending_dropped, arp_cache_full, arp_unresolved,
		arp_evicted;
	/* IPv4.  ip_bad_len: truncated header, total length below the header
	 * or beyond the frame; ip_bad_options: an option TLV with a bad
	 * length; ip_not_ours: another destination, or a unicast IP datagram
	 * sent to a link-layer group address (RFC 1122 3.3.6); ip_bad_src: a
	 * broadcast, multicast or our own source; ip_no_route: a send with no
	 * route (off-link and no gateway); ip_tx_too_big: a send above 65,535
	 * bytes or needing too many fragments, or a TCP segment (DF) above
	 * the MTU.  Fragments: ip_frag_rx
	 * received; ip_frag_bad dropped before reassembly (empty, a non-last
	 * one not a multiple of 8 bytes, ending past 65,535); ip_frag_dropped
	 * discarded by the reassembler (overlap, duplicate, several first or
	 * last ones, too many, table full); ip_frag_evicted dropped with
	 * their datagram to make room for a new one when the table was full
	 * (the oldest go first; see ipv4_reass.c); ip_frag_timeout freed when their
	 * datagram timed out; ip_frag_reassembled datagrams completed;
	 * ip_frag_tx fragments sent. */
	uint64_t ip_rx, ip_bad_version, ip_bad_ihl, ip_bad_len, ip_bad_csum, ip_bad_options,
		ip_ttl_expired, ip_not_ours, ip_bad_src, ip_no_route, ip_tx_too_big,
		ip_unknown_proto, ip_frag_rx, ip_frag_bad, ip_frag_reassembled,
		ip_frag_dropped, ip_frag_evicted, ip_frag_timeout, ip_frag_tx;
	/* UDP.  udp_rx: datagrams delivered to sockets (a multicast or
	 * broadcast one once per socket); udp_tx: datagrams sent;
	 * udp_bad_len: shorter than a header, or a length field that is not
	 * the IP payload's length; udp_bad_csum: a non-zero checksum that is
	 * wrong; udp_no_port: no socket for it (unicast ones are answered by
	 * a rate-limited port unreachable); udp_rcvq_full: dropped because a
	 * socket's receive queue was full; udp_icmp_err: ICMP errors handed
	 * to a connected socket; udp_icmp_err_ignored: ICMP errors about UDP
	 * that matched no connected socket (counted on an unconnected one's
	 * stats too, as Linux does without IP_RECVERR); udp_copy_failed:
	 * copies for a second multicast/broadcast receiver we had no mbuf
	 * for. */
	uint64_t udp_rx, udp_tx, udp_bad_len, udp_bad_csum, udp_no_port, udp_rcvq_full,
		udp_icmp_err, udp_icmp_err_ignored, udp_copy_failed;
	/* IGMPv2 (RFC 2236).  igmp_bad: short or a bad checksum;
	 * igmp_queries_rx: queries (general or for a group we are in);
	 * igmp_reports_sent: reports sent, unsolicited at a first join or
	 * answering a query; igmp_reports_suppressed: answers not sent
	 * because another host reported the group first; igmp_leaves_sent:
	 * leave messages at a last leave. */
	uint64_t igmp_rx, igmp_bad, igmp_queries_rx, igmp_reports_sent,
		igmp_reports_suppressed, igmp_leaves_sent;
	/* ICMP.  icmp_bad: shorter than a header or a bad checksum;
	 * icmp_echo_bcast: echo requests to a broadcast address, not
	 * answered; icmp_echo_reply_rx: echo replies received;
	 * icmp_errors_rx: errors received and parsed (delivered to sockets
	 * once UDP/TCP exist); icmp_err_truncated: errors whose quoted header
	 * is truncated or invalid; icmp_unhandled: other types;
	 * icmp_err_suppressed: errors not sent because the datagram was an
	 * ICMP error, a broadcast, from a non-unicast source or a non-first
	 * fragment; icmp_rate_limited: errors not sent, over the rate. */
	uint64_t icmp_rx, icmp_bad, icmp_echo_replied, icmp_echo_bcast, icmp_echo_reply_rx,
		icmp_unreach_sent, icmp_rate_limited, icmp_err_suppressed, icmp_errors_rx,
		icmp_err_truncated, icmp_unhandled;
	/* TCP (tern/tcp.h).  tcp_rx: segments that passed the header checks;
	 * tcp_tx: segments sent (tcp_rst_tx of them resets).  Drops:
	 * tcp_bad_len (shorter than a header, a data offset below 5 or past
	 * the segment), tcp_bad_csum, tcp_bad_flags (SYN with FIN or RST,
	 * no ACK where one is required, no SYN in SYN-SENT, a port 0, a
	 * broadcast or multicast destination), tcp_bad_opts (an option with a bad length),
	 * tcp_no_conn (no connection or listener: answered by a RST unless
	 * it was one), tcp_bad_seq (not acceptable, RFC 9293 3.10.7.4: an
	 * ACK answers it; also data after the peer's FIN), tcp_paws (old timestamp, RFC 7323 5), tcp_bad_ack
	 * (acknowledges data we did not send, or older than RFC 5961 5.2
	 * allows), tcp_rcvwnd_drop (data beyond the receive window),
	 * tcp_ooo_drop (the out-of-order queue was at its bound),
	 * tcp_syn_drop (a SYN dropped: accept queue full or no memory),
	 * tcp_after_close (data for a connection whose handle was closed:
	 * answered by a RST), tcp_no_mem (a TCB could not be allocated).
	 * tcp_challenge_ack: challenge ACKs sent (RFC 5961), and
	 * tcp_challenge_ack_limited those not sent over the rate limit.
	 * tcp_syncookies_sent / _ok / _bad: SYN cookies answered, ACKs
	 * accepted and rejected by them.  tcp_tw_overflow: connections that
	 * skipped TIME-WAIT because its table was full; tcp_tw_reuse: SYNs
	 * that took over a TIME-WAIT connection (RFC 6191).  Connections:
	 * tcp_active_opens (connects), tcp_passive_opens (accepted
	 * handshakes), tcp_estab_resets (reset by a RST), tcp_timeouts
	 * (retransmission or keepalive gave up), tcp_aborts (RSTs we sent to
	 * end a connection).  tcp_retransmits (all), tcp_rto (timeouts),
	 * tcp_fast_retransmits, tcp_delayed_acks (sent by the timer),
	 * tcp_zwp (zero-window probes), tcp_tlp (tail loss probes, RFC 8985
	 * 7), tcp_icmp_err (ICMP errors acted on),
	 * tcp_icmp_err_ignored (no connection, or a sequence number outside
	 * the window: RFC 5927 4.1), tcp_pmtu_clamp (MSS lowered by an ICMP
	 * fragmentation-needed). */
	uint64_t tcp_rx, tcp_tx, tcp_rst_tx, tcp_rst_rx, tcp_bad_len, tcp_bad_csum,
		tcp_bad_flags, tcp_bad_opts, tcp_no_conn, tcp_bad_seq, tcp_paws, tcp_bad_ack,
		tcp_rcvwnd_drop, tcp_ooo_drop, tcp_syn_drop, tcp_after_close, tcp_no_mem,
		tcp_challenge_ack, tcp_challenge_ack_limited, tcp_syncookies_sent,
		tcp_syncookies_ok, tcp_syncookies_bad, tcp_tw_overflow, tcp_tw_reuse,
		tcp_active_opens, tcp_passive_opens, tcp_estab_resets, tcp_timeouts, tcp_aborts,
		tcp_retransmits, tcp_rto, tcp_fast_retransmits, tcp_delayed_acks, tcp_zwp,
		tcp_icmp_err, tcp_icmp_err_ignored, tcp_pmtu_clamp, tcp_tlp;
	/* frames the stack could not queue for sending, or build (no mbuf) */
	uint64_t tx_queue_full, no_mbuf;
	/* Instances sharing a link (arp_share): arp_shared, bindings recorded
	 * for tn_stack_arp_learned; arp_share_lost, recorded ones overwritten
	 * before they were taken; arp_updates, bindings from another
	 * instance that tn_stack_arp_update installed. */
	uint64_t arp_shared, arp_share_lost, arp_updates;
	/* tcp_fast_path: segments of tcp_rx that header prediction took
	 * (in-order data or a pure ACK on an ESTABLISHED connection with
	 * nothing unusual; tern/tcp.h). */
	uint64_t tcp_fast_path;
};

/* A stack for one interface on one core; NULL with errno (EINVAL: no
 * ip or mp, prefix_len > 32, mtu below 68, a steering kind unknown or
 * with reta_size or n out of range or self >= n; ENOMEM).  now: the current
 * time in ns (the stack sends a gratuitous ARP at start).  DPDK's
 * rte_ip_frag logs one INFO line when the reassembly table is made. */
struct tn_stack *tn_stack_create(const struct tn_stack_config *cfg, uint64_t now);
/* Frees the stack and every frame it holds. */
void tn_stack_destroy(struct tn_stack *s);

/* Received frames; the stack takes all of them. */
void tn_stack_input(struct tn_stack *s, struct rte_mbuf **pkts, uint16_t n, uint64_t now);
/* Frames to send, oldest first: moves up to max into out, returns how
 * many.  The caller transmits (or frees) them. */
uint16_t tn_stack_output(struct tn_stack *s, struct rte_mbuf **out, uint16_t max);
/* Runs what is due at now (ARP retries and aging, reassembly timeouts,
 * delayed IGMP reports, TCP's timers)
 * and returns the next deadline in ns (UINT64_MAX: none). */
uint64_t tn_stack_timers(struct tn_stack *s, uint64_t now);
/* The next deadline as of now: what tn_stack_timers last returned, or
 * earlier when a call since needs the timers sooner (input arming an ARP
 * retry, a reassembly sweep or a delayed IGMP report; a TCP write from a
 * task arming its retransmission timer).  Cheap: a loop calls it every
 * turn and tn_stack_timers only when it has passed. */
uint64_t tn_stack_next_deadline(const struct tn_stack *s);

void tn_stack_stats_get(const struct tn_stack *s, struct tn_stack_stats *st);

/* Sends an ICMP echo request with len bytes of data (fragmented when
 * larger than the MTU); 0 or -errno (-ENETUNREACH: no route, -ENOBUFS,
 * -EMSGSIZE).  Replies are counted in icmp_echo_reply_rx. */
int tn_stack_ping(struct tn_stack *s, uint32_t dst, uint16_t id, uint16_t seq,
		  const void *data, uint16_t len, uint64_t now);

/* ---- several instances on one link ----
 * One instance per core serves the same address; ARP frames reach only
 * the core the NIC (or software steering) hands them to, but every core
 * needs its neighbours' MACs.  The stack stays out of how they talk: the
 * caller takes what one instance learned and gives it to the others. */

/* A neighbour's address as an ARP frame to this instance showed it. */
struct tn_arp_binding {
	uint32_t ip;    /* network byte order */
	uint8_t mac[6];
	/* The instance holds an entry for ip (it needed the address, or the
	 * host asked for ours), so the others may make one too.  Otherwise
	 * (a reply to a request another instance sent, a gratuitous ARP)
	 * they only update one they hold: ARP floods create nothing. */
	bool held;
};

/* With cfg.arp_share: moves up to max bindings learned since the last
 * call into out, oldest first; returns how many.  The last 64 are kept
 * (older ones are counted in arp_share_lost).  Bindings installed by
 * tn_stack_arp_update are not recorded again. */
uint16_t tn_stack_arp_learned(struct tn_stack *s, struct tn_arp_binding *out, uint16_t max);
/* A binding another instance on the link learned: updates this
 * instance's entry for ip (an unresolved one then sends the frames that
 * waited for it), or makes one if create.  0; -ENOENT: no entry and not
 * create; -ENOSPC: the cache is full (only the gateway's is left);
 * -EINVAL: not an on-link unicast neighbour, or a group or zero MAC.
 * Run tn_stack_timers afterwards: the entry's expiry may be the next
 * deadline. */
int tn_stack_arp_update(struct tn_stack *s, uint32_t ip, const uint8_t mac[6], bool create,
			uint64_t now);

#ifdef __cplusplus
}
#endif
#endif
