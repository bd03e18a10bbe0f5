/* TCP internals shared by the tcp*.c files; not installed.
 *
 * Files: tcp.c (the per-stack state: connection table, listeners, TCB
 * pool, ephemeral ports, demultiplexing, ICMP errors), tcp_wire.c (the
 * header and option parser), tcp_input.c (RFC 9293 3.10.7: a segment
 * arrives), tcp_rcv.c (receive and out-of-order queues, SACK blocks we
 * send), tcp_output.c (what to send and building segments), tcp_timer.c
 * (the timer wheel: RTO, delayed ACK, persist, keepalive, FIN-WAIT-2,
 * TIME-WAIT), tcp_cc.c (NewReno and CUBIC), tcp_isn.c (ISNs and SYN
 * cookies), tcp_sock.c (the await points: the only file that wakes
 * tasks).
 *
 * Pure like the rest of stack/: the engine's clock is s->now, which
 * tn_stack_input/tn_stack_timers set and the coroutine layer refreshes
 * from the scheduler's clock before it calls in.
 *
 * Queues of data are lists of single-segment mbufs linked by next (a
 * received chain is split into its segments); a segment's first sequence
 * number, where needed, is in m->hash.usr. */
#ifndef TN_TCP_INTERNAL_H
#define TN_TCP_INTERNAL_H

#include <rte_tcp.h>

#include "tern/sync.h"
#include "tern/tcp.h"
#include "tn_stack_internal.h"

#pragma GCC visibility push(hidden)

/* ---- sequence numbers (RFC 9293 3.4: modulo 2^32) ---- */
static inline bool tn__seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool tn__seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool tn__seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline bool tn__seq_geq(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }
static inline uint32_t tn__seq_max(uint32_t a, uint32_t b) { return tn__seq_gt(a, b) ? a : b; }
static inline uint32_t tn__seq_min(uint32_t a, uint32_t b) { return tn__seq_lt(a, b) ? a : b; }

#define TN_TCP_HDR_LEN 20
#define TN_TCP_MAX_OPT 40
#define TN_TCP_MSS_DEFAULT 536  /* RFC 9293 3.7.1: no MSS option */
#define TN_TCP_MSS_FLOOR 64     /* tiny announced MSS and PMTU are raised to this */
#define TN_TCP_WSCALE_MAX 14    /* RFC 7323 2.3 */
#define TN_TCP_INIT_RTO (1000ull * 1000000)      /* RFC 6298 2.1 */
#define TN_TCP_FALLBACK_RTO (3000ull * 1000000)  /* RFC 6298 5.7 */
#define TN_TCP_TICK_NS 1000000ull                /* the timer wheel's tick: 1 ms */
#define TN_TCP_MSL_NS (30ull * 1000000000)       /* TIME-WAIT lasts 2 MSL: 60 s, as Linux */
#define TN_TCP_FIN2_NS (60ull * 1000000000)      /* orphaned FIN-WAIT-2 (Linux's tcp_fin_timeout) */
#define TN_TCP_PERSIST_MAX (60ull * 1000000000)  /* zero-window probe backoff cap */
#define TN_TCP_PERSIST_MIN (200ull * 1000000)
#define TN_TCP_TW_MAX 65536      /* TIME-WAIT connections per stack */
#define TN_TCP_OOO_MAX_SEGS 128  /* out-of-order segments held per connection */
#define TN_TCP_SACK_MAX 8        /* SACKed ranges the sender remembers */
#define TN_TCP_CHALLENGE_PER_S 10 /* challenge/out-of-window ACKs per connection per second */
#define TN_TCP_IW_SEGS 10        /* initial window (RFC 6928) */
#define TN_TCP_PAWS_IDLE_NS (24ull * 86400 * 1000000000) /* RFC 7323 5.5 */
#define TN_TCP_DUPTHRESH 3
#define TN_TCP_SPARES 2          /* mbufs a stack keeps aside (tn_tcp.spare) */
/* Frames the stack's output queue may hold before a connection with
 * data in flight stops adding to it (its ACKs resume it): enough to
 * keep a port's ring (256-1024 descriptors) fed, while a saturated
 * port holds back a queue of milliseconds, not the 2,048 frames of
 * TN_STACK_OUTQ (Linux's TCP small queues idea). */
#define TN_TCP_OUTQ_MAX 512

/* Flag bits of struct tn_tcp_conn.f. */
enum {
	TF_USER = 1 << 0,        /* a handle exists (not closed or never accepted) */
	TF_ACCEPTED = 1 << 1,    /* passive: handed to tn_tcp_accept */
	TF_ACK_NOW = 1 << 2,     /* send an ACK at the next output */
	TF_DELACK = 1 << 3,      /* an ACK is owed; the delayed-ACK timer runs */
	TF_FIN_QUEUED = 1 << 4,  /* shutdown/close: send a FIN after the data */
	TF_FIN_SENT = 1 << 5,    /* our FIN has a sequence number (fin_seq) */
	TF_FIN_RCVD = 1 << 6,    /* the peer's FIN was processed */
	TF_TS = 1 << 7,          /* timestamps negotiated */
	TF_SACK = 1 << 8,        /* SACK negotiated */
	TF_WS = 1 << 9,          /* window scaling negotiated */
	TF_IN_RECOVERY = 1 << 10, /* fast recovery until snd_una passes recover */
	TF_RTT_TIMING = 1 << 11, /* rtt_seq is being timed */
	TF_SYN_REXMIT = 1 << 12, /* the SYN was retransmitted (RFC 6298 5.7) */
	TF_PERSIST = 1 << 13,    /* the rexmt timer is the persist timer */
	TF_HASHED = 1 << 14,     /* in the connection table */
	TF_PASSIVE = 1 << 15,    /* opened by a listener */
	TF_OOO_FIN = 1 << 16,    /* a FIN beyond rcv_nxt is remembered (ooo_fin) */
	TF_COOKIE = 1 << 17,     /* made from a SYN cookie */
	TF_WAS_SYNRCVD = 1 << 18, /* passed SYN-RECEIVED (simultaneous open) */
	TF_ON_AQ = 1 << 19,      /* on its listener's accept queue (else half-open) */
	TF_ORPHAN = 1 << 20,     /* the handle was closed: data that arrives gets a RST */
	TF_TLP = 1 << 21,        /* the rexmt timer is the tail loss probe's (RFC 8985 7) */
	TF_TLP_DONE = 1 << 22,   /* a probe went for the flight up to tlp_high */
};

/* A list of single-segment mbufs (linked by next). */
struct tn__tcp_q {
	struct rte_mbuf *head, *tail;
	uint32_t bytes;
	uint32_t nsegs;
};

/* A SACKed range [start, end) of our sequence space. */
struct tn__tcp_sack {
	uint32_t start, end;
};

/* The parsed segment (tcp_wire.c). */
struct tn__tcp_seg {
	uint32_t seq, ack;
	uint32_t len;      /* payload bytes */
	uint16_t win;      /* as received (unscaled) */
	uint8_t flags;     /* RTE_TCP_*_FLAG */
	uint8_t hlen;      /* header with options */
	/* options */
	uint16_t mss;      /* 0: absent */
	uint8_t ws;        /* 0xff: absent */
	bool sack_ok, has_ts;
	uint8_t nsack;
	uint32_t tsval, tsecr;
	struct tn__tcp_sack sack[4];
	/* the IP addresses, network order; ports host order */
	uint32_t src, dst;
	uint16_t sport, dport;
};

/* 0, or -EINVAL (bad option length: the segment is dropped). */
int tn__tcp_parse_opts_all(const uint8_t *o, unsigned len, bool syn, struct tn__tcp_seg *g);

/* tn__tcp_parse_opts_all, with the layout of nearly every segment
 * (Linux's and ours: NOP, NOP, timestamps) recognized inline by one
 * 32-bit compare: every segment received asks (a call and four byte
 * compares were ~25 instructions of the round trip; callgrind). */
static inline int tn__tcp_parse_opts(const uint8_t *o, unsigned len, bool syn,
				     struct tn__tcp_seg *g)
{
	rte_be32_t w, tsval, tsecr;

	if (len != 12)
		return tn__tcp_parse_opts_all(o, len, syn, g);
	memcpy(&w, o, sizeof(w));
	if (w != RTE_BE32(0x0101080au)) /* NOP, NOP, kind 8, length 10 */
		return tn__tcp_parse_opts_all(o, len, syn, g);
	memcpy(&tsval, o + 4, sizeof(tsval));
	memcpy(&tsecr, o + 8, sizeof(tsecr));
	g->mss = 0;
	g->ws = 0xff;
	g->sack_ok = false;
	g->has_ts = true;
	g->nsack = 0;
	g->tsval = rte_be_to_cpu_32(tsval);
	g->tsecr = rte_be_to_cpu_32(tsecr);
	return 0;
}

struct tn_tcp_listener {
	struct tn_stack *s;
	struct tn_tcp_listener *hnext;
	uint32_t laddr;
	uint16_t lport;
	uint16_t backlog;
	struct tn_tcp_opts opts;
	/* Established connections waiting for tn_tcp_accept (FIFO, by
	 * aq_next), and the half-open ones (SYN-RECEIVED, by lprev/lnext). */
	struct tn_tcp_conn *aq_head, *aq_tail;
	unsigned aq_len;
	struct tn_tcp_conn *syn_head;
	unsigned syn_len;
	struct tn_waitq acceptq;
};

struct tn_tcp_conn {
	struct tn_stack *s;
	struct tn_tcp_conn *hnext;        /* connection table chain */
	struct tn_tcp_conn *t_next, **t_pprev; /* timer wheel slot */
	uint64_t t_at;                    /* the wheel deadline: min of the three */
	uint64_t rexmt_at, delack_at, idle_at; /* 0: off */
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	uint8_t state;
	uint8_t cc;
	uint8_t snd_wscale, rcv_wscale;
	uint32_t f;                       /* TF_* */

	/* Send sequence space (RFC 9293 3.3.1).  snd_max: the highest
	 * sequence number sent (snd_nxt is pulled back below it by a
	 * retransmission timeout). */
	uint32_t iss, snd_una, snd_nxt, snd_max;
	uint32_t snd_wnd, max_sndwnd, snd_wl1, snd_wl2;
	uint32_t fin_seq;                 /* our FIN's sequence number */
	uint16_t mss;                     /* send MSS (data bytes per segment) */
	uint16_t rcv_mss;                 /* what we announced */
	uint16_t peer_mss;                /* what the peer announced (before PMTU) */
	/* Receive sequence space.  rcv_adv: the right edge of the window we
	 * announced last (never moved left). */
	uint32_t irs, rcv_nxt, rcv_adv, last_ack_sent;
	uint32_t ooo_fin;                 /* TF_OOO_FIN: the peer's FIN's sequence number */
	uint32_t last_ooo;                /* seq of the last out-of-order arrival */
	uint32_t rcv_seg_max;             /* the largest segment received (the peer's MSS) */
	uint32_t wr_need;                 /* send-buffer room the first waiting writer needs */

	/* Timestamps (RFC 7323). */
	uint32_t ts_recent, ts_offset;
	uint64_t ts_recent_at;            /* when ts_recent was set, ns */

	/* RTT and RTO (RFC 6298), ns. */
	uint64_t srtt, rttvar, rto;
	uint64_t rtt_start;
	uint32_t rtt_seq;
	uint8_t backoff;                  /* RTO / persist doublings */
	uint8_t nrexmt;                   /* consecutive timeouts of the same data */
	uint8_t ka_probes;
	uint8_t dupacks;

	/* Congestion control (tcp_cc.c). */
	uint32_t cwnd, ssthresh, recover;
	uint32_t bytes_acked_ca;          /* congestion avoidance byte counting */
	struct {
		uint64_t epoch;               /* ns; 0: none */
		uint32_t w_max, w_last_max;   /* segments * 1024 */
		uint32_t k_ms;
		uint32_t origin;              /* segments * 1024 */
		uint32_t w_est;               /* Reno-friendly estimate, bytes */
	} cubic;

	/* SACK scoreboard (the sender's view). */
	struct tn__tcp_sack sacks[TN_TCP_SACK_MAX];
	uint8_t nsacks;
	uint32_t sacked;                  /* bytes in sacks */
	uint32_t rxt_next;                /* recovery: holes below this were resent */
	uint32_t tlp_high;                /* snd_max when the last loss probe went */

	/* Data. */
	struct tn__tcp_q sndq;            /* from sb_seq on: unacked and unsent */
	uint32_t sb_seq;                  /* sequence number of sndq's first byte */
	struct rte_mbuf *sb_cur;          /* cursor into sndq: a segment ... */
	uint32_t sb_cur_seq;              /* ... and its first byte's sequence number */
	struct tn__tcp_q rcvq;            /* in order, unread */
	struct tn__tcp_q ooo;             /* out of order, sorted, seq in hash.usr */
	uint32_t read_scan;               /* tn_tcp_read_until: bytes already searched */
	uint32_t rd_want;                 /* rcvq bytes a waiting reader needs (0: none) */

	uint64_t last_tx, last_rx;        /* ns: idle restart, keepalive */
	int err;                          /* the connection's error (0 / -errno) */
	int soft_err;                     /* last ICMP soft error */
	uint32_t chal_n;                  /* challenge ACKs in the current second */
	uint64_t chal_t;

	/* The Ethernet and IPv4 headers every segment starts with
	 * (tn__ip_frame_template), valid while tpl_gen is the stack's
	 * arp_gen and until tpl_until. */
	uint64_t tpl_until;
	uint32_t tpl_gen;
	uint8_t tpl[TN_IP_TPL_LEN];
	uint16_t tpl_phsum;               /* the pseudo header's sum but the length, folded */

	struct tn_tcp_opts o;
	struct tn_tcp_listener *l;        /* passive, until accepted */
	struct tn_tcp_conn *aq_next;      /* accept queue */
	struct tn_tcp_conn *lprev, *lnext; /* listener's half-open list */
	struct tn_tcp_conn *tw_prev, *tw_next; /* TIME-WAIT list (oldest first) */

	struct tn_waitq rq, wq;           /* readers; writers, drain, connect */

	/* Counters for tn_tcp_info. */
	uint32_t retransmits, rto_expiries, fast_retransmits;
	uint64_t bytes_sent, bytes_acked, bytes_received, segs_out, segs_in;
};

/* The per-stack TCP state (tcp.c). */
struct tn_tcp_pool_chunk;
struct tn_tcp {
	struct tn_tcp_conn **tbl;         /* 4-tuple hash; power of two buckets */
	uint32_t tbl_mask, nconns;
	uint32_t hash_seed;
	struct tn_tcp_conn *last;         /* the last lookup's hit (hashed), or NULL */
	/* Mbufs of the stack's pool that acknowledged or read data freed,
	 * for the next segments or send buffers (tcp_output.c); given back
	 * when a connection closes, so a stack without connections holds
	 * none. */
	struct rte_mbuf *spare[TN_TCP_SPARES];
	unsigned nspare;
	struct tn_tcp_listener *lbucket[64];
	struct tn_tcp_conn *free;         /* TCB pool */
	struct tn_tcp_pool_chunk *chunks;
	/* TIME-WAIT connections, oldest first (the bound's victims). */
	struct tn_tcp_conn *tw_head, *tw_tail;
	uint32_t ntw;
	uint16_t eph_lo, eph_hi;
	uint32_t eph_next;
	uint8_t isn_key[16], cookie_key[16], ts_key[16];
	/* The timer wheel (tcp_timer.c). */
	uint64_t cur_tick;                /* every slot up to this tick has run */
	/* No slot is filed before this tick (UINT64_MAX: the wheel is
	 * empty); may be early, after removals, never late.  Most calls of
	 * tn__tcp_timers then cost a compare, not a walk of the wheel. */
	uint64_t next_tick;
	struct tn_tcp_conn *wheel[4096];
	uint64_t wheel_map[4096 / 64];
};
#define TN_TCP_WHEEL 4096

static inline uint32_t tn__tcp_flight(const struct tn_tcp_conn *c)
{
	return c->snd_max - c->snd_una;
}

/* Bytes a waiting reader needs beyond those buffered (0: none waits). */
static inline uint32_t tn__tcp_rd_need(const struct tn_tcp_conn *c)
{
	return c->rd_want > c->rcvq.bytes ? c->rd_want - c->rcvq.bytes : 0;
}

/* The receive window we can announce now (bytes, before scaling). */
static inline uint32_t tn__tcp_rcv_space(const struct tn_tcp_conn *c)
{
	return c->rcvq.bytes >= c->o.rcvbuf ? 0 : c->o.rcvbuf - c->rcvq.bytes;
}

/* Bytes the user may still queue. */
static inline uint32_t tn__tcp_sb_space(const struct tn_tcp_conn *c)
{
	return c->sndq.bytes >= c->o.sndbuf ? 0 : c->o.sndbuf - c->sndq.bytes;
}

/* After the application read, or when a reader starts waiting: whether
 * a window update is due, because the window grew enough (receiver SWS
 * avoidance, RFC 1122 4.2.3.3) or now lets in what the waiting reader
 * needs (tcp_sock.c sends it).  Inline: asked on every read.
 *
 * The window the peer sees vs what we could announce now (no more than
 * the window field holds): update it when that at least doubles it by a
 * segment or more (Linux's tcp_cleanup_rbuf rule), so a reader that
 * frees a full buffer restarts a sender stopped by a zero window, and an
 * update never repeats the window the peer has (it would look like a
 * duplicate ACK). */
static inline bool tn__tcp_rcvd_due(const struct tn_tcp_conn *c)
{
	uint32_t adv, space, need;

	if (c->state < TN_TCP_ESTABLISHED || c->state == TN_TCP_TIME_WAIT)
		return false;
	adv = tn__seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	space = tn__tcp_rcv_space(c);
	if (space > (65535u << c->rcv_wscale))
		space = 65535u << c->rcv_wscale;
	need = tn__tcp_rd_need(c);
	return (space >= adv + c->rcv_mss && space >= 2 * adv) || (need > adv && space > adv);
}

static inline bool tn__tcp_synchronized(const struct tn_tcp_conn *c)
{
	return c->state >= TN_TCP_ESTABLISHED;
}

/* Milliseconds: the timestamp clock. */
static inline uint32_t tn__tcp_ts_now(const struct tn_tcp_conn *c)
{
	return (uint32_t)(c->s->now / 1000000) + c->ts_offset;
}

/* ---- tcp.c ---- */
struct tn_tcp *tn__tcp_create(struct tn_stack *s);
void tn__tcp_destroy(struct tn_stack *s);
void tn__tcp_input(struct tn_stack *s, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip);
void tn__tcp_icmp_error(struct tn_stack *s, const struct tn__icmp_err_view *ev);
struct tn_tcp_conn *tn__tcp_conn_alloc(struct tn_stack *s, const struct tn_tcp_opts *o);
/* Frees a TCB that is no longer in any table, list or the wheel. */
void tn__tcp_conn_free(struct tn_tcp_conn *c);
int tn__tcp_hash_insert(struct tn_tcp_conn *c);
struct tn_tcp_conn *tn__tcp_lookup(struct tn_stack *s, uint32_t laddr, uint16_t lport,
				   uint32_t raddr, uint16_t rport);
/* The connection reaches CLOSED: out of the table, the wheel, the
 * listener and TIME-WAIT lists; its buffers freed; err recorded and the
 * waiting tasks woken.  Freed at once unless a handle still refers to it. */
void tn__tcp_close_conn(struct tn_tcp_conn *c, int err);
/* The state machine's TIME-WAIT entry (bounded; may close instead). */
void tn__tcp_enter_timewait(struct tn_tcp_conn *c);
/* A passive connection became ESTABLISHED: off the half-open list onto
 * the accept queue.  false: the accept queue is full. */
bool tn__tcp_listener_established(struct tn_tcp_conn *c);
void tn__tcp_listener_add_syn(struct tn_tcp_listener *l, struct tn_tcp_conn *c);
/* The oldest established connection, off the accept queue; NULL if none. */
struct tn_tcp_conn *tn__tcp_listener_pop(struct tn_tcp_listener *l);
int tn__tcp_pick_port(struct tn_stack *s, uint32_t raddr, uint16_t rport, uint16_t *port);
/* Applies option defaults. */
void tn__tcp_opts_fix(struct tn_tcp_opts *o);
/* Window scale and MSS we announce, from the options and the MTU. */
void tn__tcp_init_local(struct tn_tcp_conn *c);
/* The new connection's send side after the handshake settled options. */
void tn__tcp_init_send(struct tn_tcp_conn *c);
/* Listener input (tcp_input.c): a segment for no connection. */
void tn__tcp_listen_input(struct tn_tcp_listener *l, struct rte_mbuf *m,
			  struct tn__tcp_seg *g);
struct tn_tcp_listener *tn__tcp_listener_find(struct tn_stack *s, uint32_t addr, uint16_t port);

/* ---- tcp_input.c ---- */
/* A segment for c; takes m (data at the TCP header). */
void tn__tcp_conn_input(struct tn_tcp_conn *c, struct rte_mbuf *m, struct tn__tcp_seg *g);
/* RFC 6298 2.2-2.3: one RTT sample. */
void tn__tcp_rtt_sample(struct tn_tcp_conn *c, uint64_t rtt);

/* ---- tcp_rcv.c ---- */
/* Appends the in-order payload m (data at the payload, len bytes); takes m. */
void tn__tcp_rcv_data(struct tn_tcp_conn *c, struct rte_mbuf *m, uint32_t seq, uint32_t len);
/* Moves what the out-of-order queue now has in order to rcvq; true if
 * anything moved. */
bool tn__tcp_ooo_pull(struct tn_tcp_conn *c);
/* The SACK blocks to send (most recent first); returns how many. */
unsigned tn__tcp_sack_blocks(const struct tn_tcp_conn *c, struct tn__tcp_sack *b, unsigned max);
/* How many blocks tn__tcp_sack_blocks(c, b, max) returns. */
unsigned tn__tcp_sack_count(const struct tn_tcp_conn *c, unsigned max);
void tn__tcp_q_free(struct tn__tcp_q *q);
/* Appends every segment of chain m (empty ones freed); tn__tcp_q_append
 * below is the one to call. */
void tn__tcp_q_append_all(struct tn__tcp_q *q, struct rte_mbuf *m);

/* Appends one segment m (its data_len bytes), inline. */
static inline void tn__tcp_q_push(struct tn__tcp_q *q, struct rte_mbuf *m)
{
	m->next = NULL;
	m->nb_segs = 1;
	m->pkt_len = m->data_len;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->bytes += m->data_len;
	q->nsegs++;
}
/* Appends every segment of chain m (empty ones freed); a one-segment
 * mbuf (a zero-copy send of a message: tn_tcp_send_mbuf) without a
 * call. */
static inline void tn__tcp_q_append(struct tn__tcp_q *q, struct rte_mbuf *m)
{
	if (!m->next && m->data_len)
		tn__tcp_q_push(q, m);
	else
		tn__tcp_q_append_all(q, m);
}
/* Drops n bytes from q's front (its mbufs to tn__tcp_mbuf_release);
 * tn__tcp_q_trim below is the one to call. */
void tn__tcp_q_trim_all(struct tn_stack *s, struct tn__tcp_q *q, uint32_t n);
/* Copies n bytes from q's front from offset off (q holds them);
 * tn__tcp_q_copy is the one to call. */
void tn__tcp_q_copy_all(const struct tn__tcp_q *q, uint32_t off, void *buf, uint32_t n);
/* The same, inline with one memcpy when the bytes are all in q's first
 * mbuf (a read of a message that came in one segment). */
static inline void tn__tcp_q_copy(const struct tn__tcp_q *q, uint32_t off, void *buf, uint32_t n)
{
	if (q->head && off + n <= q->head->data_len)
		memcpy(buf, rte_pktmbuf_mtod_offset(q->head, const uint8_t *, off), n);
	else
		tn__tcp_q_copy_all(q, off, buf, n);
}

/* ---- tcp_output.c ---- */
/* Sends what the state, windows, Nagle and pending ACK call for. */
void tn__tcp_output(struct tn_tcp_conn *c);
/* The payload of a full-sized segment now: the MSS less the SACK blocks
 * a segment carries while out-of-order data waits (RFC 6691). */
uint32_t tn__tcp_seg_mss(const struct tn_tcp_conn *c);
/* One segment: seq, len bytes of the send buffer from seq, flags.  0 or
 * -ENOBUFS. */
int tn__tcp_xmit(struct tn_tcp_conn *c, uint32_t seq, uint32_t len, uint8_t flags);
void tn__tcp_send_ack(struct tn_tcp_conn *c);
/* An ACK for an unacceptable segment or a challenge (RFC 5961),
 * rate-limited per connection (counted as challenge if chal). */
void tn__tcp_send_ack_limited(struct tn_tcp_conn *c, bool chal);
/* RST for c's peer with seq = snd_nxt. */
void tn__tcp_send_rst(struct tn_tcp_conn *c);
/* RST answering segment g that has no connection (RFC 9293 3.10.7.1). */
void tn__tcp_reply_rst(struct tn_stack *s, const struct tn__tcp_seg *g);
/* A SYN-ACK for a stateless (cookie) answer; wscale 0xff: no window
 * scale option (scaling declined). */
void tn__tcp_reply_synack(struct tn_stack *s, const struct tn__tcp_seg *g, uint32_t iss,
			  uint16_t mss, uint8_t wscale, bool sack, uint32_t tsval, uint32_t rcvwnd);
/* Appends len bytes to the send buffer (coalescing into the tail);
 * returns how many fit in the mempool. */
uint32_t tn__tcp_sb_append(struct tn_tcp_conn *c, const void *buf, uint32_t len);
/* For tls.c, which must never hold a pointer into its own buffer
 * across an await: awaits room for need bytes (at most the buffer's
 * size) as tn_tcp_write does (0 or -errno: cancellation, -EBADF, the
 * connection's error, -EPIPE); queues what fits of buf now without
 * awaiting (the count, or -errno when the connection may not send;
 * fewer than fitted means the mempool ran dry); the buffer's size. */
int tn__tcp_wait_room(struct tn_tcp_conn *c, uint32_t need);
ssize_t tn__tcp_write_nowait(struct tn_tcp_conn *c, const void *buf, uint32_t len);
uint32_t tn__tcp_sndbuf(const struct tn_tcp_conn *c);
/* Frees acknowledged bytes up to ack. */
void tn__tcp_sb_ack(struct tn_tcp_conn *c, uint32_t ack);
/* Returns the stack's spare mbufs to their pool. */
void tn__tcp_spare_free(struct tn_stack *s);
/* Frees m (one segment, unlinked) of a send or receive queue, or keeps
 * it aside for the next allocation (tcp_output.c's tcp_alloc); only
 * while a connection is in the table, as a closed connection's handle
 * may still be read.  Inline: every acknowledged or read mbuf. */
static inline void tn__tcp_mbuf_release(struct tn_stack *s, struct rte_mbuf *m)
{
	struct tn_tcp *t = s->tcp;

	if (t->nspare < TN_TCP_SPARES && t->nconns && m->pool == s->cfg.mp &&
	    RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1) {
		t->spare[t->nspare++] = m;
		return;
	}
	rte_pktmbuf_free_seg(m);
}

/* Drops n bytes from q's front (its mbufs to tn__tcp_mbuf_release).
 * Inline when they are all q holds, in one mbuf: a request/response
 * exchange's every ACK of a message and every read of one (the call and
 * tn__tcp_q_trim_all's loop were ~60 instructions each; callgrind). */
static inline void tn__tcp_q_trim(struct tn_stack *s, struct tn__tcp_q *q, uint32_t n)
{
	struct rte_mbuf *m = q->head;

	if (n && m && m == q->tail && n == q->bytes && n == m->data_len) {
		q->head = q->tail = NULL;
		q->bytes = 0;
		q->nsegs = 0;
		tn__tcp_mbuf_release(s, m);
		return;
	}
	tn__tcp_q_trim_all(s, q, n);
}

/* ---- tcp_timer.c ---- */
/* Re-files c in the wheel after one of its deadlines changed. */
void tn__tcp_timer_update(struct tn_tcp_conn *c);
void tn__tcp_timer_remove(struct tn_tcp_conn *c);
uint64_t tn__tcp_timers(struct tn_stack *s);
/* (Re)arms the retransmission timer at now + rto << backoff. */
void tn__tcp_rexmt_arm(struct tn_tcp_conn *c);
void tn__tcp_rexmt_stop(struct tn_tcp_conn *c);
/* After new data went out or an ACK advanced: the tail loss probe's
 * timer when it may help (SACK, an RTT sample, no recovery or backoff),
 * else the RTO. */
void tn__tcp_rexmt_arm_data(struct tn_tcp_conn *c);
void tn__tcp_persist_arm(struct tn_tcp_conn *c);
void tn__tcp_delack_arm(struct tn_tcp_conn *c);
/* Keepalive or FIN-WAIT-2 or TIME-WAIT deadline, per state. */
void tn__tcp_idle_arm(struct tn_tcp_conn *c);
/* The current RTO with backoff, capped. */
uint64_t tn__tcp_rto_backed(const struct tn_tcp_conn *c);

/* ---- tcp_cc.c ---- */
void tn__tcp_cc_init(struct tn_tcp_conn *c);
/* acked bytes newly acknowledged (not in recovery). */
void tn__tcp_cc_ack(struct tn_tcp_conn *c, uint32_t acked);
/* Loss detected by duplicate ACKs / SACK: sets ssthresh (and cwnd). */
void tn__tcp_cc_loss(struct tn_tcp_conn *c);
/* Retransmission timeout. */
void tn__tcp_cc_rto(struct tn_tcp_conn *c);
/* After an idle period longer than an RTO (RFC 5681 4.1). */
void tn__tcp_cc_idle_restart(struct tn_tcp_conn *c);

/* ---- tcp_isn.c ---- */
void tn__tcp_isn_init(struct tn_stack *s);
uint32_t tn__tcp_isn(struct tn_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
		     uint16_t rport);
/* The tuple's timestamp offset (tn_stack_config's ts_key). */
uint32_t tn__tcp_ts_offset(const struct tn_stack *s, uint32_t laddr, uint16_t lport,
			   uint32_t raddr, uint16_t rport);
/* A SYN cookie (RFC 4987) encoding the MSS index; and its check:
 * the MSS index or -1. */
uint32_t tn__tcp_cookie_make(struct tn_stack *s, const struct tn__tcp_seg *g, unsigned mss_idx);
int tn__tcp_cookie_check(struct tn_stack *s, const struct tn__tcp_seg *g, uint32_t cookie);
uint64_t tn__siphash24(const uint8_t key[16], const void *data, size_t len);

/* ---- tcp_sock.c (wakes tasks) ---- */
void tn__tcp_sock_readable(struct tn_tcp_conn *c);
/* Send-buffer room freed or everything acknowledged: wakes writers
 * (when enough room) and drain. */
void tn__tcp_sock_writable(struct tn_tcp_conn *c);
/* The state changed (established, closed, FIN received): wakes all. */
void tn__tcp_sock_state(struct tn_tcp_conn *c);
void tn__tcp_sock_accept_ready(struct tn_tcp_listener *l);
/* c is going away under waiting tasks (close, stack teardown): -EBADF. */
void tn__tcp_sock_closing(struct tn_tcp_conn *c);
void tn__tcp_listener_free(struct tn_tcp_listener *l);

#pragma GCC visibility pop

#endif
