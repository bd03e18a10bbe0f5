/* dataplane/ internals shared between its files; not installed. */
#ifndef TN_DP_INTERNAL_H
#define TN_DP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "tern/dataplane.h"
#include "tern/stack.h"
#include "tn_fault.h"
#include "tn_pcap.h"

#pragma GCC visibility push(hidden)

#define TN_TXBUF 64          /* per core and port; flushed each loop turn */
/* Task resumptions per loop turn (--task-batch).  What the tasks of a
 * turn sent leaves in that turn's TX phase, so a smaller batch lets the
 * peer start on the first replies while later tasks still run (see
 * docs/ARCHITECTURE.md, "The loop"). */
#define TN_TASK_BATCH 8
#define TN_CALLS_PER_CORE 4096 /* tn_submit_to records a core can run at once */
#define TN_MAIL_RING 1024    /* messages per ordered pair of cores */
#define TN_MAIL_BATCH 16     /* drained per ring per loop turn (Seastar's 16) */
#define TN_ARP_RING 256      /* ARP bindings per ordered pair of cores (--ip) */
#define TN_STACK_TX_RING 1024 /* frames a core without a queue on port 0 sends via core 0 */
#define TN_ICMP_RING 64      /* ICMP errors per ordered pair of cores (icmp_steer.c) */

struct tn_txbuf {
	uint16_t n;
	/* pkts[0..left) are what the port did not take at the last flush:
	 * they met --fault and --pcap then, and must not again. */
	uint16_t left;
	struct rte_mbuf *pkts[TN_TXBUF];
};

/* A cross-core call running on its target core. */
struct tn_call {
	intptr_t (*fn)(void *arg);
	void *arg;
	struct tn_future *reply_to; /* on the source core: opaque here */
	unsigned src;
	int err;
	intptr_t value;
	struct tn_call *next;       /* free list / pending replies */
};

/* What travels in a mail ring: a call or a reply. */
struct tn_mail {
	uint32_t kind;              /* TN_MAIL_CALL or TN_MAIL_REPLY */
	int32_t err;
	intptr_t (*fn)(void *arg);
	void *arg;
	struct tn_future *future;   /* only ever dereferenced on its own core */
	intptr_t value;
};
enum { TN_MAIL_CALL = 1, TN_MAIL_REPLY = 2 };

struct tn_runtime;

/* Everything one polling core touches, written only by that core. */
struct tn_core {
	unsigned id;                 /* 0 .. ncores-1; 0 is the main core */
	unsigned lcore;              /* EAL lcore id */
	struct tn_runtime *rt;
	struct tn_sched *sched;
	struct rte_mempool *mp;
	bool polls[TN_MAX_PORTS];    /* has an RX/TX queue on the port */
	uint16_t queue;              /* its queue id on every port it polls */
	struct tn_txbuf tx[TN_MAX_PORTS];
	bool tx_pending;             /* a TX buffer may hold packets (tx.c) */
	struct tn_port_stats stats[TN_MAX_PORTS];
	struct tn_fault *fault_rx[TN_MAX_PORTS], *fault_tx[TN_MAX_PORTS];
	struct rte_ring *steer_in;   /* packets core 0 steered to this core */
	struct tn_call *calls;       /* records for tn_submit_to on this core */
	struct tn_call *free_calls;
	struct tn_call *pending_replies;
	uint64_t mail_sent, mail_recv;
	struct tn_stack *stack;      /* port 0's protocol stack (--ip) */
	uint64_t stack_deadline;
	/* --ip on several cores.  stack_tx: this core has no queue on port 0
	 * (software steering), so its stack's frames go to core 0 to send.
	 * arp_mail_*: bindings sent to the other cores' stacks, received
	 * from them, and dropped because a ring was full; stack_tx_fwd:
	 * frames handed to core 0 through stack_tx. */
	struct rte_ring *stack_tx;
	uint64_t arp_mail_sent, arp_mail_recv, arp_mail_dropped, stack_tx_fwd;
	uint64_t icmp_steered;       /* ICMP errors rung to their flow's core */
	bool had_stack;
	struct tn_stack_stats stack_final; /* the stack's counters at its end */
	/* A telemetry request for the stack's connections (tcp_conns.c). */
	struct tn_conns_req *conns_req;
	int exit_code;
} __rte_cache_aligned;

struct tn_runtime {
	struct tn_config cfg;
	const struct tn_app *app;
	unsigned ncores;
	struct tn_core *cores[TN_MAX_CORES];
	uint16_t nports;
	uint16_t port_ids[TN_MAX_PORTS];
	uint16_t port_nq[TN_MAX_PORTS];   /* queues configured on the port */
	bool port_started[TN_MAX_PORTS];
	bool sw_steer[TN_MAX_PORTS];      /* fewer queues than cores */
	bool port_af_xdp[TN_MAX_PORTS];   /* driven by net_af_xdp */
	/* The port sends a packet only from one direct segment: chains and
	 * indirect mbufs are copied first (tx.c). */
	bool port_tx_flat[TN_MAX_PORTS];
	uint64_t port_tx_offloads[TN_MAX_PORTS]; /* RTE_ETH_TX_OFFLOAD_* enabled */
	/* mbufs the port keeps for good (af_xdp's fill ring: leak.c). */
	unsigned port_kept[TN_MAX_PORTS];
	/* How port 0 steers flows to cores, for the stacks' connect ports
	 * (self is filled per core). */
	struct tn_stack_steer steer0;
	struct rte_mempool *mp;
	struct tn_pcap *pcap;
	struct tn_fault_spec fault;
	bool fault_on;
	/* mail[from][to]: single producer, single consumer. */
	struct rte_ring *mail[TN_MAX_CORES][TN_MAX_CORES];
	/* arp[from][to]: ARP bindings between the cores' stacks (--ip on
	 * several cores); single producer, single consumer. */
	struct rte_ring *arp[TN_MAX_CORES][TN_MAX_CORES];
	/* icmp[from][to]: ICMP errors about a flow of core to's (--ip on
	 * several cores); single producer, single consumer. */
	struct rte_ring *icmp[TN_MAX_CORES][TN_MAX_CORES];
	volatile int stop;
	volatile unsigned cores_ready;
	uint64_t tsc_mult;                /* ns = (tsc * tsc_mult) >> 32 */
	uint8_t ts_key[16];               /* the stacks' ts_key: boot_key() */
};

/* The process's runtime while tn_main runs (read-only on the data path). */
extern struct tn_runtime *tn__rt;
extern __thread struct tn_core *tn__core_self __attribute__((tls_model("initial-exec")));

/* options.c: parses the part of argv after "--".  Returns 0, 1 if --help
 * was printed (exit 0), or -EINVAL after printing why (exit 2). */
int tn__options_parse(int argc, char **argv, struct tn_config *cfg, const struct tn_app *app,
		      const char *prog);
void tn__options_usage(FILE *out, const char *prog, const struct tn_app *app);

/* pool.c: the mbuf pool; af_xdp: page-sized mbufs, so that the umem
 * net_af_xdp makes of the pool holds every one (tn__pool_fits_umem).
 * NULL with rte_errno set (EFAULT: the memory is in pieces). */
struct rte_mempool *tn__pool_create(const char *name, unsigned n, int socket, bool af_xdp);
bool tn__pool_fits_umem(struct rte_mempool *mp);

/* port.c */
int tn__ports_init(struct tn_runtime *rt);
void tn__ports_fini(struct tn_runtime *rt);

/* leak.c: the exit-time mbuf audit.  tn__ports_quiesce drains RX
 * queues and reaps af_xdp TX completions before the ports stop;
 * tn__mbufs_leaked (after everything is freed) prints and returns how
 * many mbufs are missing from the pool, past what ports keep for good,
 * plus pcap_in_use. */
unsigned tn__mbufs_in_use(const struct rte_mempool *mp);
void tn__ports_quiesce(struct tn_runtime *rt);
unsigned tn__mbufs_leaked(const struct tn_runtime *rt, unsigned pcap_in_use);

/* loop.c: one core's whole life: scheduler, loop, drain. */
int tn__core_run(void *arg);
/* The core that owns m's flow on a single-queue port: the symmetric hash
 * of its IPv4 addresses and ports, so both directions agree. */
unsigned tn__flow_core(const struct rte_mbuf *m, unsigned ncores);

/* tx.c: the loop calls tn__tx_phase when c->tx_pending or --fault is on
 * (faults release packets they delayed). */
bool tn__tx_phase(struct tn_core *c);
void tn__tx_drop_all(struct tn_core *c);

/* mail.c */
int tn__mail_init(struct tn_runtime *rt);
void tn__mail_fini(struct tn_runtime *rt);
int tn__core_calls_init(struct tn_core *c);
bool tn__mail_phase(struct tn_core *c);
/* What this core's stack learned from ARP goes to every other core's,
 * and what theirs learned comes into it.  True if anything moved. */
bool tn__mail_arp_phase(struct tn_core *c, uint64_t now);

/* icmp_steer.c: an ICMP error about a UDP/TCP flow goes to the stack of
 * the core that owns the flow.  tn__icmp_err_owner: that core (the
 * instance st's hash picks: RSS, the queue, which is the core; software
 * steering, the core), or -1 when m is no such error or st steers
 * nothing.  tn__icmp_steer: rings port 0's errors for other cores over
 * and compacts pkts to the rest; returns how many remain.
 * tn__icmp_steer_phase: feeds what the other cores rang here to the
 * stack. */
int tn__icmp_err_owner(const struct tn_stack_steer *st, const struct rte_mbuf *m);
uint16_t tn__icmp_steer(struct tn_core *c, struct rte_mbuf **pkts, uint16_t n);
bool tn__icmp_steer_phase(struct tn_core *c, uint64_t now);

/* stats.c */
int tn__stats_register(struct tn_runtime *rt);
void tn__stats_print(struct tn_runtime *rt, FILE *out);

/* stack_stats.c: the stacks' counters, summed over cores and per core,
 * in telemetry (/tern/stack) and at exit. */
void tn__stack_stats_register(void);
void tn__stack_stats_print(struct tn_runtime *rt, FILE *out);

/* tcp_conns.c: /tern/tcp/conns in telemetry.  The core answers a
 * pending request in its stack phase (tn__tcp_conns_serve). */
struct tn_conns_req;
void tn__tcp_conns_register(void);
void tn__tcp_conns_serve(struct tn_core *c);

/* The symmetric Toeplitz key: a flow and its reverse hash alike, so both
 * directions land on the same core. */
extern const uint8_t tn__rss_key[40];

#pragma GCC visibility pop

#endif
