/* TCP on a tern stack: asyncio's streams in C.
 *
 * A connection or listener belongs to one stack instance (one core) and
 * is used by the tasks of that core.  Addresses are IPv4 in network byte
 * order, ports in host byte order.  Every call returns 0 or a negative
 * errno (reads return a byte count).
 *
 * Await points (accept, connect, the reads, write/writev/send_mbuf when
 * the send buffer is full, drain, wait_readable) behave like every coro/
 * one: a pending cancellation is taken first (-ECANCELED, and the
 * connection stays usable: nothing was consumed or queued), they work
 * inside tn_timeout_enter/exit (which turns the cancellation into
 * -ETIMEDOUT), and they return -EPERM outside a task.  Calls that do not
 * await (listen, shutdown, close, abort, recv_burst, info) work anywhere
 * on the stack's core.
 *
 * Errors a connection reports (once the peer or the network has ended
 * it; every later call returns the same): -ECONNREFUSED (a RST answered
 * our SYN), -ECONNRESET (a RST later), -ETIMEDOUT (retransmissions or
 * keepalive probes went unanswered; when ICMP soft errors arrived
 * meanwhile, their errno instead: -EHOSTUNREACH, -ENETUNREACH),
 * -ECONNABORTED (the connection was aborted locally, e.g. by
 * tn_stack_destroy), -EPIPE (writing after tn_tcp_shutdown or once the
 * connection is closed for sending).
 *
 * Time: the stack's clock is the one its tn_stack_input/tn_stack_timers
 * calls pass; calls from a task refresh it from the scheduler's clock
 * (tn_now()), which in the dataplane is the same clock.
 *
 * Known limits: IPv4 only; no urgent data (URG is ignored, as RFC 6093
 * advises); no TCP Fast Open; no RACK (losses are found by duplicate
 * ACKs, SACK, a tail loss probe and the RTO); segments go out with DF
 * set (as Linux's do), and an ICMP fragmentation-needed clamps the
 * connection's MSS (not below 64 bytes); no PLPMTUD (RFC 4821), so a
 * path that drops those messages is a black hole.
 * With a stack per core, a connection lives on one core's stack:
 * accepted ones are where RSS sends their flow, and tn_tcp_connect
 * picks a local port whose replies the link steers to the calling core
 * (tn_stack_config.steer). */
#ifndef TERN_TCP_H
#define TERN_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mbuf;
struct tn_stack;
struct tn_tcp_conn;
struct tn_tcp_listener;

enum tn_tcp_cc {
	TN_TCP_CC_DEFAULT = 0, /* CUBIC */
	TN_TCP_CC_NEWRENO,     /* RFC 5681, RFC 6582 */
	TN_TCP_CC_CUBIC,       /* RFC 9438 */
};

/* Defaults (a zeroed struct tn_tcp_opts means all of them). */
#define TN_TCP_RTO_MIN_DEFAULT (200ull * 1000000)   /* ns; Linux's value */
#define TN_TCP_RTO_MAX_DEFAULT (60ull * 1000000000)  /* ns; RFC 6298 2.5 */
#define TN_TCP_DELACK_DEFAULT (40ull * 1000000)     /* ns; Linux's minimum */
#define TN_TCP_BUF_DEFAULT (256u * 1024)            /* send and receive, bytes */
#define TN_TCP_BUF_MAX (64u * 1024 * 1024)
#define TN_TCP_KA_IDLE_DEFAULT (7200ull * 1000000000) /* RFC 1122: >= 2 h */
#define TN_TCP_KA_INTVL_DEFAULT (75ull * 1000000000)
#define TN_TCP_KA_CNT_DEFAULT 9
#define TN_TCP_SYN_RETRIES_DEFAULT 6 /* about 127 s with a 1 s initial RTO */
#define TN_TCP_RETRIES_DEFAULT 15    /* RFC 1122's R2; Linux's tcp_retries2 */

/* Per-connection options.  Zero fields take the defaults above, so
 * `struct tn_tcp_opts o = {0}` is a sensible low-latency configuration:
 * Nagle off, CUBIC, 200 ms minimum RTO, 40 ms delayed ACKs, no
 * keepalive.  Given to tn_tcp_connect, and to tn_tcp_listen for the
 * connections it accepts; tn_tcp_set_opts changes them later. */
struct tn_tcp_opts {
	bool nagle;            /* Nagle's algorithm (RFC 896); off: TCP_NODELAY */
	bool delack_off;       /* acknowledge every segment at once */
	bool keepalive;        /* probe an idle connection (RFC 1122 4.2.3.6): the
				* peer silent and nothing of ours in flight
				* (FIN-WAIT-2 after shutdown too) */
	bool no_sack, no_timestamps, no_wscale; /* don't offer these options */
	uint8_t cc;            /* enum tn_tcp_cc */
	uint64_t rto_min_ns;   /* the RTO's floor; low-latency links set 1-5 ms */
	uint64_t rto_max_ns;   /* its cap under backoff */
	uint64_t delack_ns;    /* delayed-ACK timeout, at most 500 ms (RFC 1122) */
	uint64_t ka_idle_ns, ka_intvl_ns; /* idle time before probing, between probes */
	uint32_t ka_cnt;       /* unanswered probes before -ETIMEDOUT */
	uint32_t sndbuf, rcvbuf; /* bytes; the window scale follows rcvbuf */
	uint16_t mss;          /* cap on the MSS we announce and send (0: MTU's) */
	uint8_t syn_retries;   /* SYN retransmissions before connect gives up */
	uint8_t retries;       /* data retransmissions (or unanswered zero-window
				* probes) before -ETIMEDOUT */
};

/* RFC 9293 states. */
enum tn_tcp_state {
	TN_TCP_CLOSED,
	TN_TCP_LISTEN,
	TN_TCP_SYN_SENT,
	TN_TCP_SYN_RECEIVED,
	TN_TCP_ESTABLISHED,
	TN_TCP_FIN_WAIT_1,
	TN_TCP_FIN_WAIT_2,
	TN_TCP_CLOSE_WAIT,
	TN_TCP_CLOSING,
	TN_TCP_LAST_ACK,
	TN_TCP_TIME_WAIT,
};

/* tn_tcp_info: the connection as the stack sees it. */
struct tn_tcp_info {
	uint8_t state;          /* enum tn_tcp_state */
	uint8_t cc;             /* enum tn_tcp_cc in use */
	bool sack, timestamps;  /* negotiated */
	uint8_t snd_wscale, rcv_wscale; /* 0 when not negotiated */
	uint16_t mss;           /* the send MSS (after PMTU and the peer's option) */
	uint16_t rcv_mss;       /* the MSS we announced */
	uint64_t srtt_ns, rttvar_ns, rto_ns;
	uint32_t cwnd, ssthresh; /* bytes */
	uint32_t snd_wnd;       /* the peer's window, bytes */
	uint32_t rcv_wnd;       /* the window we announce, bytes */
	uint32_t unacked;       /* bytes sent and not acknowledged */
	uint32_t sndbuf_used, rcvbuf_used; /* bytes queued */
	uint64_t retransmits;   /* segments sent again (RTO, fast, TLP) */
	uint64_t rto_expiries, fast_retransmits;
	uint64_t bytes_sent, bytes_acked, bytes_received; /* payload */
	uint64_t segs_out, segs_in;
	int err;                /* the connection's error, 0 if none */
};

/* ---- listeners ---- */

/* Listens on addr (0: any; or our address) and port (1..65535).
 * backlog: established connections waiting for tn_tcp_accept, and as
 * many half-open ones (1..65535; 0: 128); past the half-open bound SYN
 * cookies answer (RFC 4987).  opts (NULL: defaults) apply to the
 * accepted connections.  -EADDRINUSE (a listener on that port),
 * -EADDRNOTAVAIL, -EINVAL, -ENOMEM. */
int tn_tcp_listen(struct tn_stack *s, uint32_t addr, uint16_t port, unsigned backlog,
		  const struct tn_tcp_opts *opts, struct tn_tcp_listener **l);
/* Awaits an established connection (accepted in arrival order).  Errors:
 * -ECANCELED, -ETIMEDOUT (in a timeout scope), -EBADF (the listener was
 * closed while waiting), -EPERM. */
int tn_tcp_accept(struct tn_tcp_listener *l, struct tn_tcp_conn **c);
/* Stops listening: connections not yet accepted are reset, waiting tasks
 * get -EBADF.  l is freed at once. */
void tn_tcp_listener_close(struct tn_tcp_listener *l);

/* ---- connections ---- */

/* Opens a connection to addr:port from a free port of the stack's
 * ephemeral range (tn_stack_config.udp_eph_lo/hi: one range for both
 * protocols) whose replies steer to this stack (tn_stack_config.steer:
 * with k stacks about one port in k qualifies) and awaits the
 * handshake.  Errors: -ECONNREFUSED (RST), -ETIMEDOUT (no answer
 * after opts.syn_retries retransmissions, or a timeout scope),
 * -EHOSTUNREACH / -ENETUNREACH / -ENOPROTOOPT (ICMP hard errors; soft
 * ones are reported only at the timeout), -ENETUNREACH (no route),
 * -EADDRNOTAVAIL (no free port that steers here), -ECANCELED (the
 * attempt is forgotten: a late SYN-ACK meets a RST), -EPERM, -EINVAL,
 * -ENOMEM.  *c is set only on success. */
int tn_tcp_connect(struct tn_stack *s, uint32_t addr, uint16_t port,
		   const struct tn_tcp_opts *opts, struct tn_tcp_conn **c);

/* Awaits at least one byte and copies up to len; returns the count, 0
 * at end of stream (the peer's FIN, once everything before it was
 * read), or -errno. */
ssize_t tn_tcp_read(struct tn_tcp_conn *c, void *buf, size_t len);
/* Awaits exactly len bytes (len at most the receive buffer: -EINVAL
 * otherwise), then copies them.  Returns len, or the count copied when
 * the stream ended first (0 .. len-1: asyncio's IncompleteReadError), or
 * -errno; when interrupted (-ECANCELED, -ETIMEDOUT) nothing was
 * consumed. */
ssize_t tn_tcp_read_exactly(struct tn_tcp_conn *c, void *buf, size_t len);
/* Awaits the delimiter (dlen 1..16 bytes) and copies everything up to
 * and including it.  Returns that length; -EMSGSIZE when len bytes (or
 * the receive buffer) fill up without one (nothing consumed, as
 * asyncio's LimitOverrunError), the count copied at end of stream
 * without a delimiter (everything left, possibly 0), or -errno; when
 * interrupted nothing was consumed. */
ssize_t tn_tcp_read_until(struct tn_tcp_conn *c, void *buf, size_t len, const void *delim,
			  size_t dlen);

/* Copies len bytes into the send buffer and sends what the windows
 * allow.  Awaits while the buffer is full (backpressure): up to the
 * buffer's size the bytes are queued all at once, so an interrupted
 * write (-ECANCELED, -ETIMEDOUT) queued nothing; a longer write goes in
 * pieces and an interruption may leave a prefix queued.  0 or -errno
 * (-EPIPE after shutdown or close, the connection's error, -ENOBUFS
 * when the mempool is empty). */
int tn_tcp_write(struct tn_tcp_conn *c, const void *buf, size_t len);
int tn_tcp_writev(struct tn_tcp_conn *c, const struct iovec *iov, int iovcnt);
/* Awaits until every byte written so far has been acknowledged by the
 * peer (not just a low-water mark: a flush).  0 or -errno. */
int tn_tcp_drain(struct tn_tcp_conn *c);
/* Sends a FIN once the queued bytes are out (shutdown(SHUT_WR)); reads
 * still work.  0, or -ENOTCONN before establishment. */
int tn_tcp_shutdown(struct tn_tcp_conn *c);
/* Gives the handle up; the stack sends what is queued, then the FIN,
 * and finishes the close handshake on its own (as close(2) does).  If
 * received bytes were never read, a RST goes out instead (RFC 2525
 * 2.17).  Tasks waiting on c get -EBADF.  c is invalid afterwards. */
void tn_tcp_close(struct tn_tcp_conn *c);
/* Resets the connection (RST) and frees c at once; queued data is
 * dropped.  Tasks waiting on c get -EBADF. */
void tn_tcp_abort(struct tn_tcp_conn *c);

/* ---- zero copy ---- */

/* Moves up to max received mbufs into pkts (never waits).  Each is one
 * segment (next NULL) whose data is stream payload, in order; the caller
 * frees them.  Returns the count (0: nothing queued, or end of stream:
 * see tn_tcp_at_eof). */
uint16_t tn_tcp_recv_burst(struct tn_tcp_conn *c, struct rte_mbuf **pkts, uint16_t max);
/* Awaits received data or the end of the stream: 0 when there is some
 * or the stream ended, or -errno. */
int tn_tcp_wait_readable(struct tn_tcp_conn *c);
/* The peer has closed its side and everything it sent was read. */
bool tn_tcp_at_eof(const struct tn_tcp_conn *c);
/* Queues m (any pool, any chain; its data is the payload) without
 * copying it into the send buffer, awaiting room as tn_tcp_write does.
 * Takes m, also on error. */
int tn_tcp_send_mbuf(struct tn_tcp_conn *c, struct rte_mbuf *m);

/* ---- introspection ---- */

/* Changes the options that may change on an open connection: nagle,
 * delack, keepalive and its timings, rto_min/max, cc, retries.
 * Buffer sizes may grow but not past what the window scale announced
 * in the handshake allows (-EINVAL), and the no_* flags and mss are
 * ignored after the handshake. */
int tn_tcp_set_opts(struct tn_tcp_conn *c, const struct tn_tcp_opts *opts);
void tn_tcp_info(const struct tn_tcp_conn *c, struct tn_tcp_info *info);
/* Either pointer may be NULL. */
void tn_tcp_getsockname(const struct tn_tcp_conn *c, uint32_t *addr, uint16_t *port);
void tn_tcp_getpeername(const struct tn_tcp_conn *c, uint32_t *addr, uint16_t *port);
const char *tn_tcp_state_name(int state);

/* A connection as tn_tcp_conns lists it. */
struct tn_tcp_conn_entry {
	uint32_t laddr, raddr;  /* network order */
	uint16_t lport, rport;  /* host order */
	struct tn_tcp_info info;
};
/* Monitoring (the dataplane's telemetry): copies up to max of the
 * stack's connections into out, in no particular order, and returns how
 * many it has (possibly more than max).  Every connection the stack
 * demultiplexes to is listed (handshakes, open, closing, TIME-WAIT);
 * listeners and closed handles are not.  Changes nothing; call it on
 * the stack's core. */
unsigned tn_tcp_conns(const struct tn_stack *s, struct tn_tcp_conn_entry *out, unsigned max);

#ifdef __cplusplus
}
#endif
#endif
