/* The coroutine side of TCP: tern/tcp.h's calls, the await points and
 * what the engine's events do to waiting tasks.  The only TCP file that
 * wakes tasks; everything here runs on the connection's core.
 *
 * A connection has two wait queues: rq (readers, wait_readable) and wq
 * (writers waiting for room, drain, connect).  Events wake them and the
 * woken tasks look again (an await loops until its condition holds), so
 * a wakeup never hands anything over and a cancellation that races one
 * loses nothing: the task sees its condition met, or takes the
 * cancellation at its next wait.  Writers say how much room they need
 * (wr_need) so that each ACK does not wake them for a few bytes.
 *
 * Every await point takes a pending cancellation first
 * (tn__udp_await_enter: coro's prologue) and returns -EPERM outside a
 * task.  Waiters woken by close or stack teardown get -EBADF and never
 * touch the connection again. */
#include <errno.h>
#include <string.h>

#include "tern/sched.h"
#include "tn_tcp.h"
#include "tn_udp.h"

/* The engine's clock from the scheduler's, which the dataplane also
 * passes to tn_stack_input/timers: a write after an idle spell must not
 * time its segments from the last packet's arrival. */
static void sync_now(struct tn_stack *s)
{
	if (tn_sched_self()) {
		uint64_t now = tn_now();

		if (now > s->now)
			s->now = now;
	}
}

/* ---- events from the engine ---- */

void tn__tcp_sock_readable(struct tn_tcp_conn *c)
{
	if (c->rq.head)
		tn_waitq_wake_all(&c->rq, 0);
}

void tn__tcp_sock_writable(struct tn_tcp_conn *c)
{
	if (!c->wq.head)
		return;
	if (tn__tcp_sb_space(c) >= c->wr_need || !c->sndq.bytes) {
		c->wr_need = UINT32_MAX;
		tn_waitq_wake_all(&c->wq, 0);
	}
}

void tn__tcp_sock_state(struct tn_tcp_conn *c)
{
	if (c->rq.head)
		tn_waitq_wake_all(&c->rq, 0);
	if (c->wq.head) {
		c->wr_need = UINT32_MAX;
		tn_waitq_wake_all(&c->wq, 0);
	}
}

void tn__tcp_sock_accept_ready(struct tn_tcp_listener *l)
{
	tn_waitq_wake_one(&l->acceptq, 0, 0);
}

void tn__tcp_sock_closing(struct tn_tcp_conn *c)
{
	tn_waitq_wake_all(&c->rq, -EBADF);
	tn_waitq_wake_all(&c->wq, -EBADF);
}

static int wait_on(struct tn_waitq *q)
{
	struct tn_waiter w;

	w.data = 0;
	return tn_waitq_wait(q, &w);
}

/* ---- listeners ---- */

int tn_tcp_accept(struct tn_tcp_listener *l, struct tn_tcp_conn **cp)
{
	struct tn_tcp_conn *c;
	int err;

	if ((err = tn__udp_await_enter()) < 0)
		return err;
	while (!(c = tn__tcp_listener_pop(l))) {
		if ((err = wait_on(&l->acceptq)) < 0)
			return err; /* -EBADF: l is gone */
	}
	/* More waiting: pass the news on (one wakeup per connection). */
	if (l->aq_head && l->acceptq.head)
		tn_waitq_wake_one(&l->acceptq, 0, 0);
	c->f |= TF_USER | TF_ACCEPTED;
	*cp = c;
	return 0;
}

void tn_tcp_listener_close(struct tn_tcp_listener *l)
{
	if (!l)
		return;
	sync_now(l->s);
	tn__tcp_listener_free(l);
}

/* ---- connect ---- */

int tn_tcp_connect(struct tn_stack *s, uint32_t addr, uint16_t port,
		   const struct tn_tcp_opts *opts, struct tn_tcp_conn **cp)
{
	static const struct tn_tcp_opts defaults;
	struct tn_tcp_conn *c;
	uint16_t lport;
	int err;

	if ((err = tn__udp_await_enter()) < 0)
		return err;
	if (!addr || !port || !cp)
		return -EINVAL;
	sync_now(s);
	if ((err = tn__ip_route_check(s, addr)) < 0)
		return err;
	if (tn__ip_is_bcast(s, addr) || tn__ip_is_mcast(addr))
		return -ENETUNREACH;
	if ((err = tn__tcp_pick_port(s, addr, port, &lport)) < 0)
		return err;
	c = tn__tcp_conn_alloc(s, opts ? opts : &defaults);
	if (!c)
		return -ENOMEM;
	c->laddr = s->ip;
	c->lport = lport;
	c->raddr = addr;
	c->rport = port;
	tn__tcp_init_local(c);
	c->iss = tn__tcp_isn(s, c->laddr, lport, addr, port);
	c->ts_offset = tn__tcp_ts_offset(s, c->laddr, lport, addr, port);
	c->snd_una = c->recover = c->iss;
	c->snd_nxt = c->snd_max = c->sb_seq = c->iss + 1;
	c->state = TN_TCP_SYN_SENT;
	c->f |= TF_USER;
	c->last_rx = s->now;
	tn__tcp_hash_insert(c);
	s->st.tcp_active_opens++;
	tn__tcp_xmit(c, c->iss, 0, RTE_TCP_SYN_FLAG);
	c->f |= TF_RTT_TIMING;
	c->rtt_seq = c->iss;
	c->rtt_start = s->now;
	tn__tcp_rexmt_arm(c);
	while (c->state == TN_TCP_SYN_SENT || c->state == TN_TCP_SYN_RECEIVED) {
		if ((err = wait_on(&c->wq)) < 0) {
			if (err == -EBADF)
				return err; /* the stack went away */
			/* Abandoned (cancelled, timed out): nothing to keep. */
			sync_now(s);
			c->f &= ~TF_USER;
			tn__tcp_send_rst(c);
			tn__tcp_close_conn(c, err);
			return err;
		}
	}
	if (c->state == TN_TCP_CLOSED) {
		err = c->err ? c->err : -ECONNREFUSED;
		c->f &= ~TF_USER;
		tn__tcp_conn_free(c);
		return err;
	}
	*cp = c;
	return 0;
}

/* ---- reading ---- */

/* After a read, or before a reader waits: a window update if one is
 * due (the test first, so that the usual read costs no call). */
static inline void rcvd(struct tn_tcp_conn *c)
{
	if (tn__tcp_rcvd_due(c)) {
		sync_now(c->s);
		c->f |= TF_ACK_NOW;
		tn__tcp_output(c);
	}
}

/* Consumes n bytes into buf (may be NULL: just drop them). */
static void consume(struct tn_tcp_conn *c, void *buf, uint32_t n)
{
	if (buf)
		tn__tcp_q_copy(&c->rcvq, 0, buf, n);
	tn__tcp_q_trim(c->s, &c->rcvq, n);
	c->read_scan = 0;
	rcvd(c);
}

/* Awaits more data for a reader that needs want bytes buffered: the
 * window opens for them if SWS avoidance kept it shut (rcvd). */
static int wait_data(struct tn_tcp_conn *c, uint32_t want)
{
	int err;

	c->rd_want = want;
	rcvd(c);
	err = wait_on(&c->rq);
	if (err != -EBADF) /* (-EBADF: c may be gone) */
		c->rd_want = 0;
	return err;
}

/* No more bytes will come: EOF (the peer's FIN) or an error. */
static bool rcv_done(const struct tn_tcp_conn *c)
{
	return (c->f & TF_FIN_RCVD) || c->state == TN_TCP_CLOSED;
}

ssize_t tn_tcp_read(struct tn_tcp_conn *c, void *buf, size_t len)
{
	int err;

	if ((err = tn__udp_await_enter()) < 0)
		return err;
	for (;;) {
		if (c->rcvq.bytes) {
			uint32_t n = len < c->rcvq.bytes ? (uint32_t)len : c->rcvq.bytes;

			consume(c, buf, n);
			return n;
		}
		if (rcv_done(c))
			return c->err;
		if (!len)
			return 0;
		if ((err = wait_on(&c->rq)) < 0)
			return err;
	}
}

ssize_t tn_tcp_read_exactly(struct tn_tcp_conn *c, void *buf, size_t len)
{
	int err;

	if ((err = tn__udp_await_enter()) < 0)
		return err;
	if (len > c->o.rcvbuf)
		return -EINVAL;
	for (;;) {
		if (c->rcvq.bytes >= len) {
			consume(c, buf, (uint32_t)len);
			return (ssize_t)len;
		}
		if (rcv_done(c)) {
			uint32_t n = c->rcvq.bytes;

			if (c->err)
				return c->err;
			consume(c, buf, n);
			return n;
		}
		if ((err = wait_data(c, (uint32_t)len)) < 0)
			return err;
	}
}

/* The offset just past the first delimiter at or after from, or -1. */
static ssize_t q_find(const struct tn__tcp_q *q, uint32_t from, const uint8_t *d, size_t dlen)
{
	const struct rte_mbuf *m;
	uint32_t base = 0;
	uint8_t tmp[16];

	for (m = q->head; m; base += m->data_len, m = m->next) {
		const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
		uint32_t i = from > base ? from - base : 0;

		while (i < m->data_len) {
			const uint8_t *hit = memchr(p + i, d[0], m->data_len - i);
			uint32_t at;

			if (!hit)
				break;
			at = base + (uint32_t)(hit - p);
			if (at + dlen > q->bytes)
				return -1;
			tn__tcp_q_copy(q, at, tmp, (uint32_t)dlen);
			if (memcmp(tmp, d, dlen) == 0)
				return at + (ssize_t)dlen;
			i = (uint32_t)(hit - p) + 1;
		}
	}
	return -1;
}

ssize_t tn_tcp_read_until(struct tn_tcp_conn *c, void *buf, size_t len, const void *delim,
			  size_t dlen)
{
	uint32_t limit;
	ssize_t end;
	int err;

	if ((err = tn__udp_await_enter()) < 0)
		return err;
	if (!dlen || dlen > 16 || !len)
		return -EINVAL;
	limit = len < c->o.rcvbuf ? (uint32_t)len : c->o.rcvbuf;
	for (;;) {
		end = q_find(&c->rcvq, c->read_scan, delim, dlen);
		if (end >= 0) {
			if ((size_t)end > len)
				return -EMSGSIZE;
			consume(c, buf, (uint32_t)end);
			return end;
		}
		/* Next time, search only the new bytes (and an overlap). */
		c->read_scan = c->rcvq.bytes > dlen - 1 ? c->rcvq.bytes - (uint32_t)(dlen - 1) : 0;
		if (c->rcvq.bytes >= limit)
			return -EMSGSIZE;
		if (rcv_done(c)) {
			uint32_t n = c->rcvq.bytes;

			if (c->err)
				return c->err;
			consume(c, buf, n);
			return n;
		}
		if ((err = wait_data(c, c->rcvq.bytes + 1)) < 0)
			return err;
	}
}

uint16_t tn_tcp_recv_burst(struct tn_tcp_conn *c, struct rte_mbuf **pkts, uint16_t max)
{
	uint16_t n = 0;

	while (n < max && c->rcvq.head) {
		struct rte_mbuf *m = c->rcvq.head;

		c->rcvq.head = m->next;
		if (!c->rcvq.head)
			c->rcvq.tail = NULL;
		c->rcvq.bytes -= m->data_len;
		c->rcvq.nsegs--;
		m->next = NULL;
		m->nb_segs = 1;
		m->pkt_len = m->data_len;
		pkts[n++] = m;
	}
	if (n) {
		c->read_scan = 0;
		rcvd(c);
	}
	return n;
}

int tn_tcp_wait_readable(struct tn_tcp_conn *c)
{
	int err;

	if ((err = tn__udp_await_enter()) < 0)
		return err;
	while (!c->rcvq.bytes && !rcv_done(c))
		if ((err = wait_on(&c->rq)) < 0)
			return err;
	return c->rcvq.bytes ? 0 : c->err;
}

bool tn_tcp_at_eof(const struct tn_tcp_conn *c)
{
	return !c->rcvq.bytes && rcv_done(c);
}

/* ---- writing ---- */

/* 0 if c may queue data, else why not. */
static int send_check(const struct tn_tcp_conn *c)
{
	if (c->err)
		return c->err;
	if (c->f & TF_FIN_QUEUED)
		return -EPIPE;
	if (c->state != TN_TCP_ESTABLISHED && c->state != TN_TCP_CLOSE_WAIT)
		return c->state < TN_TCP_ESTABLISHED && c->state != TN_TCP_CLOSED ? -ENOTCONN : -EPIPE;
	return 0;
}

/* Awaits room for need bytes (at most the buffer). */
static int wait_room(struct tn_tcp_conn *c, uint32_t need)
{
	int err;

	if (need > c->o.sndbuf)
		need = c->o.sndbuf;
	while ((err = send_check(c)) == 0 && tn__tcp_sb_space(c) < need) {
		if (need < c->wr_need)
			c->wr_need = need;
		if ((err = wait_on(&c->wq)) < 0)
			return err;
	}
	return err;
}

/* What fits in the send buffer now goes in at once (a message of a
 * request/response protocol): no wait for room, no piecewise loop. */
static inline int put_now(struct tn_tcp_conn *c, const struct iovec *iov, int iovcnt)
{
	int i;

	for (i = 0; i < iovcnt; i++)
		if (tn__tcp_sb_append(c, iov[i].iov_base, (uint32_t)iov[i].iov_len) < iov[i].iov_len)
			break;
	sync_now(c->s);
	tn__tcp_output(c);
	return i < iovcnt ? -ENOBUFS : 0;
}

int tn_tcp_writev(struct tn_tcp_conn *c, const struct iovec *iov, int iovcnt)
{
	size_t total = 0, left;
	int err, i;
	size_t off = 0;

	if ((err = tn__udp_await_enter()) < 0)
		return err;
	if (iovcnt < 0)
		return -EINVAL;
	for (i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if ((err = send_check(c)) < 0)
		return err;
	if (total <= tn__tcp_sb_space(c))
		return put_now(c, iov, iovcnt);
	/* Up to the buffer's size, all at once (an interruption queues
	 * nothing); beyond, in pieces of at least a quarter buffer. */
	if ((err = wait_room(c, total <= c->o.sndbuf ? (uint32_t)total : c->o.sndbuf / 4)) < 0)
		return err;
	i = 0;
	left = total;
	while (left) {
		uint32_t room = tn__tcp_sb_space(c);

		if (!room) {
			sync_now(c->s);
			tn__tcp_output(c);
			if ((err = wait_room(c, left < c->o.sndbuf / 4 ? (uint32_t)left
								       : c->o.sndbuf / 4)) < 0)
				return err;
			continue;
		}
		while (room && i < iovcnt) {
			size_t k = iov[i].iov_len - off;
			uint32_t got;

			if (k > room)
				k = room;
			got = tn__tcp_sb_append(c, (const uint8_t *)iov[i].iov_base + off, (uint32_t)k);
			if (got < k) {
				sync_now(c->s);
				tn__tcp_output(c);
				return -ENOBUFS;
			}
			room -= (uint32_t)k;
			left -= k;
			off += k;
			if (off == iov[i].iov_len) {
				i++;
				off = 0;
			}
		}
	}
	sync_now(c->s);
	tn__tcp_output(c);
	return 0;
}

int tn_tcp_write(struct tn_tcp_conn *c, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };
	int err;

	/* tn_tcp_writev's, without its sum over the vector. */
	if ((err = tn__udp_await_enter()) < 0)
		return err;
	if ((err = send_check(c)) < 0)
		return err;
	if (len <= tn__tcp_sb_space(c))
		return put_now(c, &v, 1);
	return tn_tcp_writev(c, &v, 1);
}

int tn__tcp_wait_room(struct tn_tcp_conn *c, uint32_t need)
{
	int err;

	if ((err = tn__udp_await_enter()) < 0)
		return err;
	return wait_room(c, need);
}

ssize_t tn__tcp_write_nowait(struct tn_tcp_conn *c, const void *buf, uint32_t len)
{
	uint32_t room, got;
	int err;

	if ((err = send_check(c)) < 0)
		return err;
	room = tn__tcp_sb_space(c);
	got = tn__tcp_sb_append(c, buf, len < room ? len : room);
	sync_now(c->s);
	tn__tcp_output(c);
	return got;
}

uint32_t tn__tcp_sndbuf(const struct tn_tcp_conn *c)
{
	return c->o.sndbuf;
}

int tn_tcp_send_mbuf(struct tn_tcp_conn *c, struct rte_mbuf *m)
{
	int err;

	if ((err = tn__udp_await_enter()) < 0 || (err = wait_room(c, m->pkt_len)) < 0) {
		rte_pktmbuf_free(m);
		return err;
	}
	m->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;
	tn__tcp_q_append(&c->sndq, m);
	sync_now(c->s);
	tn__tcp_output(c);
	return 0;
}

int tn_tcp_drain(struct tn_tcp_conn *c)
{
	uint32_t end;
	int err;

	if ((err = tn__udp_await_enter()) < 0)
		return err;
	if (!c->sndq.bytes)
		return c->state == TN_TCP_CLOSED ? c->err : 0;
	/* Up to the last byte written.  A connection that dies frees its
	 * send queue, so the test is snd_una's progress, not the queue. */
	end = c->sb_seq + c->sndq.bytes;
	while (tn__seq_lt(c->snd_una, end)) {
		if (c->state == TN_TCP_CLOSED)
			return c->err ? c->err : -EPIPE;
		c->wr_need = 0; /* any ACK is news to drain... */
		if ((err = wait_on(&c->wq)) < 0)
			return err;
	}
	return 0;
}

/* ---- closing ---- */

/* Queues our FIN (the state moves at once, RFC 9293 3.10.4). */
static void queue_fin(struct tn_tcp_conn *c)
{
	if (c->f & TF_FIN_QUEUED)
		return;
	if (c->state == TN_TCP_ESTABLISHED)
		c->state = TN_TCP_FIN_WAIT_1;
	else if (c->state == TN_TCP_CLOSE_WAIT)
		c->state = TN_TCP_LAST_ACK;
	else
		return;
	c->f |= TF_FIN_QUEUED;
	sync_now(c->s);
	tn__tcp_output(c);
}

int tn_tcp_shutdown(struct tn_tcp_conn *c)
{
	if (c->state < TN_TCP_ESTABLISHED)
		return c->state == TN_TCP_CLOSED ? (c->err ? c->err : -ENOTCONN) : -ENOTCONN;
	queue_fin(c);
	return 0;
}

void tn_tcp_close(struct tn_tcp_conn *c)
{
	if (!c)
		return;
	sync_now(c->s);
	tn__tcp_sock_closing(c);
	c->f &= ~TF_USER;
	c->f |= TF_ORPHAN;
	if (c->state == TN_TCP_CLOSED) {
		tn__tcp_conn_free(c);
		return;
	}
	if (c->rcvq.bytes && c->state != TN_TCP_TIME_WAIT) {
		/* Unread data: the peer must not think it was delivered
		 * (RFC 2525 2.17, as Linux does). */
		c->s->st.tcp_aborts++;
		tn__tcp_send_rst(c);
		tn__tcp_close_conn(c, -ECONNABORTED);
		return;
	}
	tn__tcp_q_free(&c->rcvq);
	switch (c->state) {
	case TN_TCP_ESTABLISHED:
	case TN_TCP_CLOSE_WAIT:
		queue_fin(c);
		break;
	case TN_TCP_FIN_WAIT_2:
		tn__tcp_idle_arm(c); /* orphaned: bounded */
		break;
	case TN_TCP_SYN_SENT:
	case TN_TCP_SYN_RECEIVED:
		tn__tcp_send_rst(c);
		tn__tcp_close_conn(c, 0);
		break;
	default:
		break; /* FIN-WAIT-1, CLOSING, LAST-ACK, TIME-WAIT: under way */
	}
}

void tn_tcp_abort(struct tn_tcp_conn *c)
{
	if (!c)
		return;
	sync_now(c->s);
	tn__tcp_sock_closing(c);
	c->f &= ~TF_USER;
	c->f |= TF_ORPHAN;
	if (c->state == TN_TCP_CLOSED) {
		tn__tcp_conn_free(c);
		return;
	}
	if (c->state != TN_TCP_TIME_WAIT && c->state != TN_TCP_SYN_SENT) {
		c->s->st.tcp_aborts++;
		tn__tcp_send_rst(c);
	}
	tn__tcp_close_conn(c, -ECONNABORTED);
}

/* ---- introspection ---- */

int tn_tcp_set_opts(struct tn_tcp_conn *c, const struct tn_tcp_opts *opts)
{
	struct tn_tcp_opts o = *opts;

	tn__tcp_opts_fix(&o);
	if (c->state >= TN_TCP_SYN_RECEIVED && c->state != TN_TCP_CLOSED &&
	    o.rcvbuf > (65535u << c->rcv_wscale))
		return -EINVAL;
	/* Fixed after the handshake. */
	o.no_sack = c->o.no_sack;
	o.no_timestamps = c->o.no_timestamps;
	o.no_wscale = c->o.no_wscale;
	o.mss = c->o.mss;
	if (o.cc != c->cc) {
		c->cc = o.cc;
		c->cubic.epoch = 0;
		c->cubic.w_max = c->cubic.w_last_max = 0;
	}
	c->o = o;
	if (c->srtt) {
		if (c->rto < o.rto_min_ns)
			c->rto = o.rto_min_ns;
		if (c->rto > o.rto_max_ns)
			c->rto = o.rto_max_ns;
	}
	sync_now(c->s);
	if (c->state != TN_TCP_CLOSED) {
		tn__tcp_idle_arm(c);
		tn__tcp_output(c); /* Nagle off may release a held segment */
	}
	return 0;
}

void tn_tcp_info(const struct tn_tcp_conn *c, struct tn_tcp_info *i)
{
	memset(i, 0, sizeof(*i));
	i->state = c->state;
	i->cc = c->cc;
	i->sack = c->f & TF_SACK;
	i->timestamps = c->f & TF_TS;
	if (c->f & TF_WS) {
		i->snd_wscale = c->snd_wscale;
		i->rcv_wscale = c->rcv_wscale;
	}
	i->mss = c->mss;
	i->rcv_mss = c->rcv_mss;
	i->srtt_ns = c->srtt;
	i->rttvar_ns = c->rttvar;
	i->rto_ns = c->rto;
	i->cwnd = c->cwnd;
	i->ssthresh = c->ssthresh;
	i->snd_wnd = c->snd_wnd;
	i->rcv_wnd = tn__seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	i->unacked = c->snd_max - c->snd_una;
	i->sndbuf_used = c->sndq.bytes;
	i->rcvbuf_used = c->rcvq.bytes;
	i->retransmits = c->retransmits;
	i->rto_expiries = c->rto_expiries;
	i->fast_retransmits = c->fast_retransmits;
	i->bytes_sent = c->bytes_sent;
	i->bytes_acked = c->bytes_acked;
	i->bytes_received = c->bytes_received;
	i->segs_out = c->segs_out;
	i->segs_in = c->segs_in;
	i->err = c->err;
}

void tn_tcp_getsockname(const struct tn_tcp_conn *c, uint32_t *addr, uint16_t *port)
{
	if (addr)
		*addr = c->laddr;
	if (port)
		*port = c->lport;
}

void tn_tcp_getpeername(const struct tn_tcp_conn *c, uint32_t *addr, uint16_t *port)
{
	if (addr)
		*addr = c->raddr;
	if (port)
		*port = c->rport;
}

const char *tn_tcp_state_name(int state)
{
	static const char *const names[] = {
		"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
		"FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT",
	};

	return state >= 0 && state < (int)RTE_DIM(names) ? names[state] : "?";
}
