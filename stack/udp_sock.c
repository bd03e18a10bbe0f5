/* The coroutine side of UDP sockets: the await points (tn_udp_recvfrom,
 * tn_udp_wait_readable), close, and what a datagram or an ICMP error does
 * to the tasks waiting on a socket.  The only stack/ file that wakes
 * tasks; everything here runs on the socket's core.
 *
 * A datagram that arrives while a task waits in tn_udp_recvfrom is handed
 * to it (mbuf and source written into the waiter on the task's stack, as
 * tn_queue hands items over): the woken task never looks at the socket
 * again, so a close between the wakeup and its run is harmless, and a
 * cancellation racing the handover loses (the datagram is returned, the
 * cancellation stays pending for the next await).  Otherwise the datagram
 * is queued and every task in tn_udp_wait_readable is told.
 *
 * Await points take a pending cancellation first, like every coro/
 * primitive (tn__udp_await_enter, in udp_await.c). */
#include <errno.h>
#include <string.h>

#include "tn_udp.h"

void tn__udp_sock_deliver(struct tn_udp_sock *u, struct rte_mbuf *m, uint32_t addr,
			  uint16_t port)
{
	struct tn_waiter *w = u->recvq.head;

	if (w) {
		struct tn__udp_waiter *uw = container_of(w, struct tn__udp_waiter, w);

		uw->addr = addr;
		uw->port = port;
		u->st.rx++;
		u->s->st.udp_rx++;
		tn_waitq_wake_one(&u->recvq, 0, (intptr_t)m);
		return;
	}
	if (tn__udp_enqueue(u, m, addr, port))
		tn_waitq_wake_all(&u->readq, 0);
}

void tn__udp_sock_error(struct tn_udp_sock *u, int err)
{
	/* Delivered once: to the first reader, or to everyone awaiting
	 * readability, or else kept for the next call. */
	if (tn_waitq_wake_one(&u->recvq, err, 0))
		return;
	if (tn_waitq_wake_all(&u->readq, err))
		return;
	u->err = err;
}

void tn__udp_sock_closing(struct tn_udp_sock *u)
{
	tn_waitq_wake_all(&u->recvq, -EBADF);
	tn_waitq_wake_all(&u->readq, -EBADF);
}

void tn_udp_close(struct tn_udp_sock *u)
{
	if (!u)
		return;
	tn__udp_sock_closing(u);
	tn__udp_free(u, false);
}

/* Copies m's first len bytes (it may be a chain) into buf, frees m and
 * returns m's full length. */
static ssize_t copy_out(struct rte_mbuf *m, void *buf, size_t len)
{
	uint32_t full = m->pkt_len, off = 0;
	const struct rte_mbuf *seg;

	for (seg = m; seg && off < len; seg = seg->next) {
		uint32_t k = seg->data_len;

		if (k > len - off)
			k = (uint32_t)(len - off);
		memcpy((uint8_t *)buf + off, rte_pktmbuf_mtod(seg, const uint8_t *), k);
		off += k;
	}
	rte_pktmbuf_free(m);
	return full;
}

ssize_t tn_udp_recvfrom(struct tn_udp_sock *u, void *buf, size_t len, uint32_t *addr,
			uint16_t *port)
{
	struct tn__udp_waiter uw;
	struct rte_mbuf *m;
	uint32_t a;
	uint16_t p;
	int err;

	if ((err = tn__udp_await_enter()) < 0)
		return err;
	if (u->err)
		return tn_udp_take_error(u);
	if (!tn__udp_dequeue(u, &m, &a, &p)) {
		uw.w.data = 0;
		err = tn_waitq_wait(&u->recvq, &uw.w);
		if (err < 0)
			return err; /* u may be gone (-EBADF): do not touch it */
		m = (struct rte_mbuf *)uw.w.data;
		a = uw.addr;
		p = uw.port;
	}
	if (addr)
		*addr = a;
	if (port)
		*port = p;
	return copy_out(m, buf, len);
}

int tn_udp_wait_readable(struct tn_udp_sock *u)
{
	struct tn_waiter w;
	int err;

	if ((err = tn__udp_await_enter()) < 0)
		return err;
	if (u->err)
		return tn_udp_take_error(u);
	if (u->rx_len)
		return 0;
	w.data = 0;
	return tn_waitq_wait(&u->readq, &w);
}
