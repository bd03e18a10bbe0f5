/* Scripted TCP segments (packetdrill's spirit, our own): a scripted
 * peer injects segments it builds (flags, seq, ack, window, options,
 * payload) into one stack on a virtual clock, and the test asserts the
 * exact segments the stack sends, advancing the clock to fire timers.
 *
 * The peer is 10.0.0.2 (tests/stack_test.h), the stack 10.0.0.1.  The
 * stack's clock (st_now) and the scheduler's (tn_test_clock_ns) move
 * together, so the coroutine API (tn_tcp_*) runs in tasks of the
 * tn_test fixture's scheduler. */
#ifndef TCP_SCRIPT_H
#define TCP_SCRIPT_H

#include "stack_test.h"
#include "tn_test.h"

#include <stdbool.h>

#include <rte_tcp.h>

#include <tern/tcp.h>

#define TH_FIN RTE_TCP_FIN_FLAG
#define TH_SYN RTE_TCP_SYN_FLAG
#define TH_RST RTE_TCP_RST_FLAG
#define TH_PSH RTE_TCP_PSH_FLAG
#define TH_ACK RTE_TCP_ACK_FLAG
#define TS_MS 1000000ull
#define TS_ANY (-1ll)

/* A segment, to inject or as received. */
struct ts_seg {
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	uint32_t len;            /* payload bytes */
	const uint8_t *data;     /* payload to send (NULL: ts_pattern from seq) */
	uint16_t sport, dport;   /* 0: the peer's port / the stack's port */
	/* Options.  Injected: mss 0 and ws -1 mean absent (set ws_set). */
	uint16_t mss;
	int ws;                  /* -1: absent */
	bool sack_ok, ts;
	uint32_t tsval, tsecr;
	unsigned nsack;
	uint32_t sack[4][2];
	const uint8_t *opt;      /* raw options instead (length a multiple of 4) */
	unsigned optlen;
	bool bad_csum;
	uint64_t ol_flags;       /* the PMD's RX flags on the injected mbuf */
	uint32_t rx_seg;         /* injected as a chain of rx_seg-byte mbufs (0: one) */
	/* Received only. */
	unsigned hlen;           /* TCP header with options */
	uint8_t opt_kinds[16];   /* option kinds in order (NOP 1 included) */
	unsigned nopt;
	bool df;                 /* the IPv4 header's DF bit */
	uint16_t ip_len;         /* its total length */
	uint8_t payload[9000];
};

/* The scripted peer's side of one connection. */
struct ts_peer {
	uint16_t port, our_port; /* peer's and stack's */
	uint32_t iss;            /* the peer's ISN: its payload is ts_pl from seq - iss - 1 */
	uint32_t our_iss;        /* the stack's ISN */
	uint32_t seq;            /* the peer's next sequence number */
	uint32_t ack;            /* what the peer acknowledges: the stack's next */
	uint16_t win;            /* window the peer announces (unscaled field) */
	int ws;                  /* the peer's window scale option (-1: none) */
	bool ts, sack;           /* the peer uses timestamps / SACK */
	uint32_t tsval;          /* the peer's timestamp clock */
	uint32_t their_ts;       /* the last TSval the stack sent (echoed) */
	uint32_t rx_seg;         /* its segments arrive in chains of rx_seg-byte mbufs */
	struct tn_tcp_conn *c;   /* the stack's handle */
};

extern uint8_t ts_pl[1 << 20]; /* a pattern: ts_pl[i] = f(i) */

/* cmocka per-test setup/teardown: the scheduler (tn_test) and clocks. */
int ts_setup(void **state);
int ts_teardown(void **state);
/* A stack that knows the peer's MAC; cfg NULL: defaults (MTU 1500). */
struct tn_stack *ts_stack(const struct tn_stack_config *cfg);

/* Moves both clocks by ns, runs the stack's timers and the tasks. */
uint64_t ts_advance(struct tn_stack *s, uint64_t ns);
/* Runs ready tasks (no clock change). */
void ts_settle(void);

/* Builds and feeds seg from the peer. */
void ts_inject(struct tn_stack *s, const struct ts_seg *seg);
/* Pops the next frame the stack sent, asserting it is a valid TCP/IPv4
 * segment to the peer; false if none. */
bool ts_pop(struct tn_stack *s, struct ts_seg *out);
/* Pops one segment and asserts flags, seq, ack (TS_ANY: any) and
 * payload length; returns it (a static one, overwritten by the next). */
struct ts_seg *ts_expect_at(int line, struct tn_stack *s, uint8_t flags, int64_t seq,
			    int64_t ack, int64_t len);
void ts_expect_none_at(int line, struct tn_stack *s);
/* (The wrappers report the caller's line.) */
#define ts_expect(...) ts_expect_at(__LINE__, __VA_ARGS__)
#define ts_expect_none(s) ts_expect_none_at(__LINE__, s)

/* ---- a connection with the scripted peer ---- */

/* Passive open: listens on lport (l, opts may be NULL), the peer sends
 * SYN (options per p), the stack answers SYN-ACK (returned in *synack
 * if not NULL), the peer ACKs and a task accepts; p->c is the handle. */
void ts_passive(struct tn_stack *s, struct ts_peer *p, uint16_t lport,
		const struct tn_tcp_opts *opts, struct tn_tcp_listener **l, struct ts_seg *synack);
/* Active open: a task connects to the peer's port p->port, the stack
 * sends SYN (in *syn), the peer answers SYN-ACK, the stack ACKs. */
void ts_active(struct tn_stack *s, struct ts_peer *p, const struct tn_tcp_opts *opts,
	       struct ts_seg *syn);
/* A segment from the peer with its current seq/ack/window/timestamps,
 * flags and len bytes of payload (the pattern from seq); advances
 * p->seq. */
void ts_send(struct tn_stack *s, struct ts_peer *p, uint8_t flags, uint32_t len);
/* Pops a segment from the stack, asserts flags/len and that it fits the
 * peer's view (seq == p->ack for data, ack == p->seq), updates p->ack
 * and p->their_ts; returns it. */
struct ts_seg *ts_recv_at(int line, struct tn_stack *s, struct ts_peer *p, uint8_t flags,
			  uint32_t len);
#define ts_recv(...) ts_recv_at(__LINE__, __VA_ARGS__)

/* ---- the coroutine API from the test's thread ---- */

/* Each spawns a task and runs it as far as it goes now. */
struct ts_op {
	struct tn_task *t;
	struct tn_future *fu;
	struct tn_tcp_conn *c;
	struct tn_tcp_listener *l;
	struct tn_stack *s;
	const void *wbuf;
	void *rbuf;
	size_t len;
	uint32_t addr;
	uint16_t port;
	struct tn_tcp_opts opts;
	bool has_opts;
	int kind;
	ssize_t ret;
	struct tn_tcp_conn *out;
};
void ts_op_write(struct ts_op *op, struct tn_tcp_conn *c, const void *buf, size_t len);
void ts_op_read(struct ts_op *op, struct tn_tcp_conn *c, void *buf, size_t len);
void ts_op_drain(struct ts_op *op, struct tn_tcp_conn *c);
void ts_op_accept(struct ts_op *op, struct tn_tcp_listener *l);
void ts_op_connect(struct ts_op *op, struct tn_stack *s, uint16_t port,
		   const struct tn_tcp_opts *opts);
/* Whether the task finished; if so its result is in op->ret (and
 * op->out) and the task is reaped. */
bool ts_op_done(struct ts_op *op);
/* Asserts it finished; returns op->ret. */
ssize_t ts_op_wait(struct ts_op *op);

/* Writes len bytes of the pattern from off (a task, which must finish). */
void ts_write(struct tn_tcp_conn *c, uint32_t off, size_t len);
/* Reads exactly len bytes (must be there) and checks they are the
 * pattern from off. */
void ts_read_check(struct tn_tcp_conn *c, uint32_t off, size_t len);

#endif
