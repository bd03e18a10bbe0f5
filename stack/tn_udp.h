/* UDP internals shared by udp.c (the protocol, pure) and udp_sock.c
 * (the await points, the only code that wakes tasks); not installed. */
#ifndef TN_UDP_INTERNAL_H
#define TN_UDP_INTERNAL_H

#include "tern/sync.h"
#include "tern/udp.h"
#include "tn_stack_internal.h"

#pragma GCC visibility push(hidden)

/* A queued datagram: the mbuf (data at the payload) and its source. */
struct tn__udp_rxent {
	struct rte_mbuf *m;
	uint32_t addr;
	uint16_t port;
};

struct tn_udp_sock {
	struct tn_stack *s;
	struct tn_udp_sock *hnext;              /* the port's bucket, while bound */
	struct tn_udp_sock *all_prev, *all_next; /* every socket of the stack */
	uint32_t laddr, raddr;                  /* network order */
	uint16_t lport, rport;                  /* host order */
	bool bound, connected, reuse;
	int err;                                /* pending error: 0 or -errno */
	/* The receive queue: a ring of rx_cap entries. */
	struct tn__udp_rxent *rxq;
	unsigned rx_cap, rx_head, rx_len;
	/* Tasks in tn_udp_recvfrom (handed datagrams) and in
	 * tn_udp_wait_readable (told). */
	struct tn_waitq recvq, readq;
	unsigned ngroups;
	uint32_t groups[TN_UDP_MAX_MEMBERSHIPS];
	struct tn_udp_stats st;
	/* The burst sends' frame header to the last unicast destination
	 * (tn__ip_frame_template): valid while tpl_gen is the stack's
	 * arp_gen, before tpl_until, and for tpl_dst only. */
	uint32_t tpl_dst;
	uint32_t tpl_gen;
	uint64_t tpl_until;
	uint8_t tpl[TN_IP_TPL_LEN];
};

/* A task waiting in tn_udp_recvfrom, on its own stack: whoever wakes it
 * with status 0 has stored the datagram's mbuf in w.data and its source
 * here, so the woken task never touches the socket again. */
struct tn__udp_waiter {
	struct tn_waiter w;
	uint32_t addr;
	uint16_t port;
};

/* udp.c -> udp_sock.c */
/* A datagram for u (counted already): hands it to a waiting reader, or
 * queues it (tn__udp_enqueue) and tells the tasks awaiting readability. */
void tn__udp_sock_deliver(struct tn_udp_sock *u, struct rte_mbuf *m, uint32_t addr,
			  uint16_t port);
/* An error for connected u: to the waiting tasks, else pending. */
void tn__udp_sock_error(struct tn_udp_sock *u, int err);
/* u is going away: wakes every task waiting on it with -EBADF. */
void tn__udp_sock_closing(struct tn_udp_sock *u);

/* udp.c: the receive queue.  enqueue takes m: false if the queue was
 * full (m freed, counted). */
bool tn__udp_enqueue(struct tn_udp_sock *u, struct rte_mbuf *m, uint32_t addr, uint16_t port);
bool tn__udp_dequeue(struct tn_udp_sock *u, struct rte_mbuf **m, uint32_t *addr,
		     uint16_t *port);
/* Unbinds u, leaves its groups (quietly at teardown), frees its queue
 * and u itself.  Its waiters must have been woken already. */
void tn__udp_free(struct tn_udp_sock *u, bool quiet);

/* udp_await.c: an await point's entry: -EPERM outside a task, else a
 * pending cancellation taken (-ECANCELED) or 0. */
int tn__udp_await_enter(void);

#pragma GCC visibility pop

#endif
