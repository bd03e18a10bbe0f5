/* A deterministic network simulator for the protocol stack: several
 * stack instances (tern/stack.h) on one switched Ethernet segment, each
 * ordered pair of nodes joined by a simulated link direction with its
 * own seeded PRNG, loss, reordering, duplication, corruption,
 * propagation delay and bandwidth (serialisation delay and a bounded
 * queue with tail drop).  Time is virtual: one clock drives the stacks
 * and a coroutine scheduler (created by the simulator, on this thread),
 * so tasks on every node run against simulated time, and the loop jumps
 * from one event to the next (frame arrival, stack deadline, coroutine
 * timer).  Nothing reads the real clock or sleeps: a seed reproduces a
 * run exactly, and ns_trace_hash() fingerprints it.
 *
 * The loop (ns_run): deliver the frames due now (tn_stack_input, a
 * burst per node), run the coroutine timers and ready tasks, run each
 * stack's timers, move each stack's output onto its links, and repeat
 * until nothing happens at this instant; then advance the clock to the
 * next event.
 *
 * Frames are copied when they enter the wire (into the receiving node's
 * pool, as a NIC's RX would) and the sender's mbuf is freed, so a
 * receiver can never scribble on a sender's retained buffer and a
 * corrupted frame never touches the original.  Needs an initialised
 * EAL (tests/eal_test.h); the per-node mbuf pools are made on first use
 * and kept for the process (ns_pools_free() at the end). */
#ifndef TN_NETSIM_H
#define TN_NETSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tern/stack.h>

struct rte_mempool;
struct ns_sim;

#define NS_MAX_NODES 4
#define NS_POOL_N 16383u /* mbufs per node pool */

/* One direction of a link.  Probabilities are per frame, in [0, 1]. */
struct ns_link_cfg {
	double loss;          /* dropped on the wire (after the queue) */
	double dup;           /* sent twice (the copy is serialised too) */
	double reorder;       /* held back by an extra delay in (0, reorder_ns] */
	uint64_t reorder_ns;  /* 0: 1 ms */
	double corrupt;       /* one bit flipped at a random offset */
	uint64_t delay_ns;    /* propagation delay */
	uint64_t rate_bps;    /* bandwidth, bits/s; 0: infinite (no queue) */
	uint32_t queue_bytes; /* the bottleneck queue in front of the link;
			       * a frame that finds more queued is tail-dropped
			       * (0: 64 KiB) */
	uint32_t rx_seg;      /* receiver gets frames chained in segments of
			       * this many bytes (0: one segment) */
};

/* What happened on one link direction, in frames. */
struct ns_link_stats {
	uint64_t offered;     /* frames the sender put on the link */
	uint64_t bytes;       /* their bytes */
	uint64_t lost;        /* dropped by the loss rate */
	uint64_t queue_drops; /* tail-dropped at the bottleneck queue */
	uint64_t dups;        /* extra copies made */
	uint64_t reordered;   /* frames held back */
	uint64_t corrupted;   /* frames with a bit flipped */
	uint64_t delivered;   /* handed to tn_stack_input */
	uint64_t no_mbuf;     /* dropped: the receiver's pool was dry */
};

struct ns_cfg {
	uint64_t seed;     /* every link's PRNG derives from it */
	bool trace;        /* one line per frame event on stderr */
	uint64_t start_ns; /* the clock at creation (0: 1 s) */
	size_t stack_size; /* coroutine stacks (0: 64 KiB) */
};

/* Makes the simulator and this thread's scheduler on its virtual clock.
 * NULL with errno (EEXIST: the thread already has a scheduler). */
struct ns_sim *ns_create(const struct ns_cfg *cfg);
/* Cancels the tasks still alive and runs them down, destroys the stacks
 * (closing their sockets), frees the frames in flight and the
 * scheduler.  Returns 0, or -1 after printing what leaked: a task,
 * future, timer or coroutine stack, or an mbuf not back in its pool. */
int ns_destroy(struct ns_sim *sim);

/* Adds a node: a stack at 10.0.0.(index + 1)/24 with MAC
 * 02:00:00:00:00:(index + 1) and the node's pool; cfg (NULL: defaults)
 * may set anything else (its mac, ip, mp and seed are overridden when
 * zero).  Links to and from it start perfect (no loss, no delay,
 * infinite rate).  Returns the index, or -errno. */
int ns_add_node(struct ns_sim *sim, const struct tn_stack_config *cfg);
struct tn_stack *ns_stack(struct ns_sim *sim, int node);
uint32_t ns_ip(struct ns_sim *sim, int node); /* network byte order */
struct rte_mempool *ns_pool(struct ns_sim *sim, int node);
/* Mbufs of the node's pool not in it (held by the stack, the wire's
 * frames to the node, or the test). */
unsigned ns_pool_in_use(struct ns_sim *sim, int node);

/* Sets one direction (from -> to) of the link, or both with
 * ns_link_set_both.  The PRNG state is kept. */
void ns_link_set(struct ns_sim *sim, int from, int to, const struct ns_link_cfg *lc);
void ns_link_set_both(struct ns_sim *sim, int a, int b, const struct ns_link_cfg *lc);
void ns_link_stats(struct ns_sim *sim, int from, int to, struct ns_link_stats *st);

uint64_t ns_now(const struct ns_sim *sim);
/* A 64-bit fingerprint of everything that happened on the wire so far
 * (every delivery and drop: time, link, frame bytes). */
uint64_t ns_trace_hash(const struct ns_sim *sim);
/* Frames on the wire right now. */
unsigned ns_in_flight(const struct ns_sim *sim);

/* Runs the simulation until done(arg) is true (checked whenever the
 * clock is about to move, and at the start), or the clock would pass
 * start + limit_ns.  0: done; -ETIMEDOUT: the limit came first (the
 * clock is left at the limit); -EDEADLK: nothing can ever happen again
 * (no frame in flight, no deadline, no ready task) and done is false;
 * -ELOOP: 1,000,000 passes at one instant without the system settling
 * (a livelock: something keeps making work for itself).  done NULL: run
 * for limit_ns, or until nothing can happen (both 0). */
int ns_run(struct ns_sim *sim, bool (*done)(void *arg), void *arg, uint64_t limit_ns);

/* A one-line description of an Ethernet frame (ARP, IPv4 protocol, UDP
 * ports and length, TCP flags/seq/ack/window/length), for traces. */
void ns_describe(const uint8_t *f, uint32_t len, char *buf, size_t cap);

/* Frees the pools ns_add_node made (before tn_test_eal_fini). */
void ns_pools_free(void);

/* ---- a seeded PRNG for tests (splitmix64 seeding, xoshiro256**) ---- */
struct ns_rng {
	uint64_t s[4];
};
void ns_rng_seed(struct ns_rng *r, uint64_t seed);
uint64_t ns_rng_next(struct ns_rng *r);
/* Uniform in [0, n) (n > 0), and in [0, 1). */
uint64_t ns_rng_below(struct ns_rng *r, uint64_t n);
double ns_rng_unit(struct ns_rng *r);

#endif
