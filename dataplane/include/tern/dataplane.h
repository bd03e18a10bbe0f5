/* The dataplane: DPDK EAL and ports, one polling loop per core that joins
 * ports, packet handling and the coroutine scheduler, cross-core calls,
 * counters, capture and fault injection.
 *
 * Command lines follow DPDK applications:
 *
 *     APP [EAL arguments] -- [Tern options] [application options]
 *
 * e.g. `tern-reflect -l 0 --no-huge -m 512 --vdev=net_tap0 -- --idle sleep`.
 * Every port the EAL probes is used; each polling core (lcore) gets one RX
 * and one TX queue on each port.
 */
#ifndef TERN_DATAPLANE_H
#define TERN_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>

#include <tern/coro.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mbuf;
struct tn_core;
struct tn_stack;

#define TN_MAX_PORTS 8
#define TN_MAX_CORES 16

/* Application hooks.  All but main may be NULL. */
struct tn_app {
	const char *name;  /* program name for messages */
	const char *usage; /* application options, appended to --help */
	/* Application options after the Tern ones.  Called with the option
	 * name (without the leading dashes) and its value (NULL for a flag:
	 * an option is a flag unless it is listed in value_opts).  Returns 0,
	 * or -EINVAL after printing why the value is bad; an option the app
	 * does not know returns -ENOENT and makes tn_main exit with 2. */
	int (*parse_opt)(void *arg, const char *name, const char *value);
	const char *const *value_opts; /* NULL-terminated names taking a value */
	/* Runs once on each polling core's thread before its loop starts. */
	int (*core_init)(struct tn_core *c, void *arg);
	/* Received packets, in bursts, on the core that polled them.  The
	 * handler owns the mbufs (send, keep or free them); returns how many
	 * it handled.  Unhandled mbufs are freed and counted as drops. */
	uint16_t (*rx)(struct tn_core *c, uint16_t port, struct rte_mbuf **pkts,
		       uint16_t n, void *arg);
	/* The main task, on the main core, run as by tn_run.  tn_main returns
	 * when it returns (or on SIGINT/SIGTERM, which cancel it).  NULL: run
	 * until a signal. */
	intptr_t (*main)(void *arg);
	void *arg;
};

/* Tern's own options, filled from the command line (or by an embedder). */
struct tn_config {
	const char *pcap_path;   /* --pcap FILE: pcapng of every port's RX and TX */
	const char *fault_spec;  /* --fault SPEC: see tn_fault_parse */
	enum tn_idle_mode idle;  /* --idle poll|sleep */
	unsigned link_timeout_ms; /* --link-timeout MS (default 5000) */
	unsigned burst;          /* --burst N: RX/TX burst size (default 32) */
	unsigned task_batch;     /* --task-batch N: task resumptions per turn */
	unsigned nb_rxd, nb_txd; /* --rxd/--txd N descriptors (default 1024) */
	unsigned nb_mbufs;       /* --mbufs N per socket (default 16383) */
	/* --ports LO-HI: the ephemeral ports the stacks' connects and
	 * unbound UDP sockets take (0, 0: 49152-65535); with several cores
	 * a connect takes only ports whose replies are steered to its core. */
	uint16_t eph_lo, eph_hi;
	bool stats_exit;         /* print the counters at exit (default on) */
	/* --steer udp:A.B.C.D:PORT | tcp:A.B.C.D:PORT | ip:A.B.C.D (repeatable):
	 * traffic the XDP program on net_af_xdp ports hands to Tern; all else
	 * stays with the kernel.  (The stack adds its own as it binds.) */
	unsigned nsteer;
	struct tn_steer_rule {
		uint32_t addr;  /* network byte order */
		uint16_t port;  /* network byte order, 0 with proto 0 */
		uint8_t proto;  /* IPPROTO_UDP, IPPROTO_TCP or 0 */
	} steer[16];
	/* --ip A.B.C.D/N, --gw A.B.C.D, --mac MAC: give port 0 an address;
	 * the protocol stack (stack/) then owns port 0's traffic on every
	 * core.  ip == 0: no stack, frames go to the app's rx handler. */
	uint32_t ip, gw;         /* network byte order */
	uint8_t prefix_len;
	bool mac_set;
	uint8_t mac[6];
};

/* Fills cfg with the defaults. */
void tn_config_defaults(struct tn_config *cfg);

/* asyncio.run() for a networked program: EAL, ports and one loop per
 * core, then fn as the main task on the main core.  Returns the exit code
 * for main(): 0, 1 if fn failed or an mbuf was not back in the pool at
 * exit ("mbufs in use at exit: N" on stderr), 2 for a bad command line. */
int tn_main(int argc, char **argv, intptr_t (*fn)(void *arg), void *arg);

/* The full form, with packet handlers and application options. */
int tn_main_app(int argc, char **argv, const struct tn_app *app);

/* For programs that embed Tern: EAL arguments as an argv-style array and
 * a config struct instead of a Tern command line. */
int tn_main_config(int eal_argc, char **eal_argv, const struct tn_config *cfg,
		   const struct tn_app *app);

/* ---- per core ---- */

/* The calling thread's core, or NULL on a thread that is not polling. */
struct tn_core *tn_core_self(void);
/* 0 .. tn_core_count()-1; the main core is 0. */
unsigned tn_core_id(const struct tn_core *c);
unsigned tn_core_count(void);
/* How many ports are up, and a port's MAC address. */
uint16_t tn_port_count(void);
int tn_port_mac(uint16_t port, uint8_t mac[6]);
/* 1 if the port's link is up now, 0 if down, or -ENODEV / the PMD's
 * error.  Ports are used whether or not their link came up within
 * --link-timeout; a packet generator asks this before it sends. */
int tn_port_link_up(uint16_t port);

/* Queues packets for transmission on this core's TX queue of port; they
 * leave in the loop's TX phase (or at once when a burst fills).  Takes
 * ownership of all n; returns how many were queued: the rest were freed
 * and counted as tx drops. */
uint16_t tn_tx_burst(struct tn_core *c, uint16_t port, struct rte_mbuf **pkts, uint16_t n);
/* Sends what is queued now; returns how many left. */
uint16_t tn_tx_flush(struct tn_core *c, uint16_t port);

/* This core's protocol stack instance for port 0 (NULL without --ip).
 * Sockets (tern/udp.h) are opened on it from tasks of this core. */
struct tn_stack *tn_core_stack(struct tn_core *c);

/* The mbuf pool of this core's socket, for building packets. */
struct rte_mempool *tn_core_mempool(struct tn_core *c);

/* Asks every core's loop to stop (what SIGINT/SIGTERM do). */
void tn_stop(void);
bool tn_stopping(void);

/* ---- cross-core calls ----
 * Runs fn(arg) as a task on core `core` and returns, on the calling core,
 * a future of its result.  The call and the reply travel through one SPSC
 * ring per ordered pair of cores, drained in batches; the future never
 * leaves the calling core.  arg must stay valid until the future
 * completes.  NULL with errno (EINVAL bad core, ENOBUFS ring full). */
struct tn_future *tn_submit_to(unsigned core, intptr_t (*fn)(void *arg), void *arg);

/* ---- counters ---- */
struct tn_port_stats {
	uint64_t rx_pkts, rx_bytes, rx_bursts;
	uint64_t tx_pkts, tx_bytes, tx_bursts;
	uint64_t rx_drops;  /* handed back unhandled by the app, or faults */
	uint64_t tx_drops;  /* the TX queue was full, or faults */
	uint64_t rx_nombuf; /* the port ran out of mbufs (from ethdev) */
	uint64_t rx_missed; /* dropped by the port (from ethdev) */
};
/* A core's counters for a port (core < 0: summed over all cores). */
int tn_port_stats_get(int core, uint16_t port, struct tn_port_stats *st);

#ifdef __cplusplus
}
#endif
#endif
