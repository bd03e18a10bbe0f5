/* UDP datagram sockets on a tern stack: asyncio's datagram endpoints in C.
 *
 * A socket belongs to one stack instance (one core).  Addresses are
 * IPv4 in network byte order, ports in host byte order.  Sends are
 * synchronous: the datagram is built and queued on the stack's output
 * (tn_stack_output) before the call returns; the stack's time for them
 * (ARP) is that of its last tn_stack_input/tn_stack_timers call.
 *
 * Receiving: every socket has a bounded queue of datagrams
 * (TN_UDP_RCVQ_DEFAULT, tn_udp_set_rcvq); a datagram that finds it full
 * is dropped and counted.  tn_udp_recvfrom and tn_udp_wait_readable are
 * await points for tasks of the stack's core: they take a pending
 * cancellation first (-ECANCELED, the socket stays usable), work inside
 * tn_timeout_enter/exit (-ETIMEDOUT) and return -EPERM outside a task.
 * A datagram that arrives while a task waits in tn_udp_recvfrom is
 * handed to that task directly; a handover that races a cancellation
 * wins, so no datagram is lost.
 *
 * Errors: 0 or a negative errno.  ICMP errors about datagrams a
 * *connected* socket sent (port unreachable -> -ECONNREFUSED, host or
 * network unreachable -> -EHOSTUNREACH / -ENETUNREACH, fragmentation
 * needed -> -EMSGSIZE, protocol unreachable -> -ENOPROTOOPT, time
 * exceeded -> -EHOSTUNREACH, parameter problem -> -EPROTO) become the
 * socket's pending error, returned once by the next tn_udp_recvfrom /
 * tn_udp_wait_readable / tn_udp_take_error (asyncio's error_received).
 * Unconnected sockets only count them (tn_udp_stats.icmp_errors).
 *
 * Known limits: no loopback (a datagram to our own address fails with
 * -ENETUNREACH, and our multicast sends are not delivered to our own
 * sockets); broadcasts need no SO_BROADCAST-like option; multicast is
 * sent with TTL 1 out of the one interface; datagrams that arrive in
 * more than 8 fragments are dropped by the reassembler (at a 1500-byte
 * MTU, about 11,800 bytes of payload; sends go up to 65,507 bytes). */
#ifndef TERN_UDP_H
#define TERN_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mbuf;
struct tn_stack;
struct tn_udp_sock;

#define TN_UDP_MAX_PAYLOAD 65507 /* 65,535 - IPv4 header - UDP header */
#define TN_UDP_RCVQ_DEFAULT 256  /* datagrams a socket queues */
#define TN_UDP_RCVQ_MAX 65536
#define TN_UDP_MAX_MEMBERSHIPS 20 /* groups per socket (Linux's default) */

/* A datagram's source: address (network order) and port (host order). */
struct tn_udp_addr {
	uint32_t addr;
	uint16_t port;
};

struct tn_udp_stats {
	uint64_t rx;          /* datagrams received (queued or handed over) */
	uint64_t rx_dropped;  /* dropped: the receive queue was full */
	uint64_t tx;          /* datagrams sent */
	uint64_t icmp_errors; /* ICMP errors about our datagrams (delivered or not) */
};

/* A new, unbound socket on stack s; NULL with errno ENOMEM. */
struct tn_udp_sock *tn_udp_open(struct tn_stack *s);
/* Closes u: leaves its multicast groups (IGMP leaves go out), frees its
 * queued datagrams, and wakes the tasks waiting on it with -EBADF (they
 * touch u no more).  u is freed at once.  tn_stack_destroy closes the
 * sockets still open. */
void tn_udp_close(struct tn_udp_sock *u);

/* Binds u to addr (0: any; our address; or a multicast group, to
 * receive only that group) and port (0: a free one from the stack's
 * ephemeral range).  -EINVAL: already bound; -EADDRNOTAVAIL: another
 * address; -EADDRINUSE: the port is taken for an overlapping address
 * (unless both sockets set reuseaddr) or no ephemeral port is free. */
int tn_udp_bind(struct tn_udp_sock *u, uint32_t addr, uint16_t port);
/* Lets several sockets bind the same address and port (SO_REUSEADDR),
 * e.g. to receive a multicast group in two places.  Before bind;
 * -EINVAL after.  Unicast goes to one of them, multicast and broadcast
 * to each. */
int tn_udp_set_reuseaddr(struct tn_udp_sock *u, bool on);
/* Sets the peer: sends without an address go there and only its
 * datagrams are received (binding an ephemeral port first if unbound).
 * addr 0 and port 0 dissolve the association.  -EINVAL (one of addr or
 * port 0), -ENETUNREACH (no route), bind's errors. */
int tn_udp_connect(struct tn_udp_sock *u, uint32_t addr, uint16_t port);
/* The local address and port (0, 0 while unbound); the peer's
 * (-ENOTCONN if not connected).  Either pointer may be NULL. */
int tn_udp_getsockname(const struct tn_udp_sock *u, uint32_t *addr, uint16_t *port);
int tn_udp_getpeername(const struct tn_udp_sock *u, uint32_t *addr, uint16_t *port);
/* The receive queue's bound, in datagrams (1..TN_UDP_RCVQ_MAX; -EINVAL).
 * -EBUSY if more are queued than n. */
int tn_udp_set_rcvq(struct tn_udp_sock *u, unsigned n);

/* Copies len bytes into a new datagram to addr:port (binding an
 * ephemeral port first if unbound).  0, or -EMSGSIZE (len above
 * TN_UDP_MAX_PAYLOAD, or too many fragments for the MTU), -EINVAL
 * (addr or port 0), -ENOBUFS (no mbuf), -ENETUNREACH (no route). */
int tn_udp_sendto(struct tn_udp_sock *u, const void *buf, size_t len, uint32_t addr,
		  uint16_t port);
/* tn_udp_sendto to the peer; -EDESTADDRREQ if not connected. */
int tn_udp_send(struct tn_udp_sock *u, const void *buf, size_t len);
/* Zero-copy send: m holds the payload (any pool; it may be a chain) with
 * at least 42 bytes of headroom in its first segment (Ethernet, IPv4,
 * UDP headers).  addr 0 and port 0: the peer.  Takes m, also on error
 * (-ENOBUFS for too little headroom, else as tn_udp_sendto). */
int tn_udp_send_mbuf(struct tn_udp_sock *u, struct rte_mbuf *m, uint32_t addr, uint16_t port);
/* Zero-copy burst send: tn_udp_send_mbuf for each of pkts[0..n) to
 * addr:port (0, 0: the peer), the route and the neighbour's address
 * looked up once for all of them.  Takes every mbuf; returns how many
 * were queued for output (the others were freed: see tn_udp_send_mbuf
 * for why one fails; n freed and 0 if not connected). */
uint16_t tn_udp_send_burst(struct tn_udp_sock *u, struct rte_mbuf **pkts, uint16_t n,
			   uint32_t addr, uint16_t port);
/* Zero-copy replies: sends pkts[i], datagrams that tn_udp_recv_burst
 * returned (from any socket of u's stack) with their payload unchanged,
 * from u to to[i] (for an echo, their source).  The received headers
 * are turned around in the mbuf's own buffer and the UDP checksum is
 * updated from the one the datagram came with (RFC 1624): the payload
 * is not read again.  Datagrams that cannot be answered that way (a
 * chain, a copy, a shared buffer, no checksum, a neighbour not resolved
 * yet) go out as tn_udp_send_mbuf sends them.  A payload that was
 * changed must go out with tn_udp_send_mbuf or tn_udp_send_burst
 * instead, or its checksum is wrong.  Takes every mbuf; returns how
 * many were queued for output (the others were freed). */
uint16_t tn_udp_reply_burst(struct tn_udp_sock *u, struct rte_mbuf **pkts,
			    const struct tn_udp_addr *to, uint16_t n);

/* Awaits a datagram and copies it into buf.  Returns the datagram's
 * full length, as recv(2) with MSG_TRUNC does: a return above len means
 * only the first len bytes were copied and the rest is lost.  *addr and
 * *port (either may be NULL) get its source.  Errors: -ECANCELED,
 * -ETIMEDOUT (in a timeout scope), -EBADF (closed while waiting), -EPERM
 * (outside a task), or a pending ICMP error (see above). */
ssize_t tn_udp_recvfrom(struct tn_udp_sock *u, void *buf, size_t len, uint32_t *addr,
			uint16_t *port);
/* Packet-level receive, never waits: moves up to max queued datagrams
 * into pkts and returns how many.  Each mbuf's data starts at the UDP
 * payload (it may be a chain: pkt_len is the payload length); the
 * caller frees them.  from (NULL: not wanted) gets each one's source,
 * from[i] for pkts[i]. */
uint16_t tn_udp_recv_burst(struct tn_udp_sock *u, struct rte_mbuf **pkts,
			   struct tn_udp_addr *from, uint16_t max);
/* Awaits a queued datagram: 0 once one is queued (then use
 * tn_udp_recv_burst), or the pending ICMP error (taken), -ECANCELED,
 * -ETIMEDOUT, -EBADF, -EPERM as tn_udp_recvfrom.  Returns 0 at once if
 * a datagram is already queued. */
int tn_udp_wait_readable(struct tn_udp_sock *u);
/* Takes the pending error: it, or 0 if none. */
int tn_udp_take_error(struct tn_udp_sock *u);

/* Joins multicast group (224.0.0.0/4) on the interface: the stack's
 * first member sends an IGMPv2 membership report and from then on
 * accepts the group's frames and answers queries for it.  Datagrams to
 * the group go to every socket bound to their port whose bound address
 * is any or the group (as Linux's default IP_MULTICAST_ALL does),
 * whichever socket joined.  -EINVAL (not multicast), -EADDRINUSE
 * (already joined), -ENOBUFS (TN_UDP_MAX_MEMBERSHIPS per socket, or 64
 * groups per stack). */
int tn_udp_join(struct tn_udp_sock *u, uint32_t group);
/* Leaves group; the stack's last member sends an IGMPv2 leave.
 * -EADDRNOTAVAIL if u had not joined it. */
int tn_udp_leave(struct tn_udp_sock *u, uint32_t group);

void tn_udp_stats_get(const struct tn_udp_sock *u, struct tn_udp_stats *st);

#ifdef __cplusplus
}
#endif
#endif
