/* The per-core loop.  Each turn runs the same named phases, in order:
 *
 *   receive bursts -> packet handler -> ready tasks -> the stack's frames
 *   -> transmit bursts -> timers -> cross-core mail -> other pollers
 *   -> idle policy
 *
 * Each phase reports whether it did work, so the idle policy (busy poll,
 * or sleep until the next timer with --idle sleep) knows when nothing
 * happened. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_thash.h>

#include "tn_dp_internal.h"
#include "tern/stack.h"

__thread struct tn_core *tn__core_self __attribute__((tls_model("initial-exec")));

struct tn_core *tn_core_self(void)
{
	return tn__core_self;
}

unsigned tn_core_id(const struct tn_core *c)
{
	return c->id;
}

unsigned tn_core_count(void)
{
	return tn__rt ? tn__rt->ncores : 0;
}

struct rte_mempool *tn_core_mempool(struct tn_core *c)
{
	return c->mp;
}

struct tn_stack *tn_core_stack(struct tn_core *c)
{
	return c ? c->stack : NULL;
}

/* A stack's frames join port 0's TX buffer; a core without a queue on
 * port 0 (software steering) hands them to core 0 instead. */
static void stack_send(struct tn_core *c, struct rte_mbuf **out, uint16_t n)
{
	unsigned k;

	if (!c->stack_tx) {
		tn_tx_burst(c, 0, out, n);
		return;
	}
	k = rte_ring_sp_enqueue_burst(c->stack_tx, (void **)out, n, NULL);
	c->stack_tx_fwd += k;
	if (k < n) {
		c->stats[0].tx_drops += n - k;
		rte_pktmbuf_free_bulk(out + k, n - k);
	}
}

/* How many frames the stack may hand over now: what port 0's TX
 * buffer has room for (flushed first if it is full), or the ring to
 * core 0.  The rest waits in the stack's output queue, where TCP sees
 * it (tn__tcp_output stops at a nearly full queue): a saturated port
 * holds the stack back instead of dropping segments TCP would have to
 * send again. */
static uint16_t stack_tx_room(struct tn_core *c)
{
	struct tn_txbuf *b = &c->tx[0];

	if (c->stack_tx) {
		unsigned f = rte_ring_free_count(c->stack_tx);

		return f < TN_TXBUF ? (uint16_t)f : TN_TXBUF;
	}
	if (b->n == TN_TXBUF)
		tn_tx_flush(c, 0);
	return (uint16_t)(TN_TXBUF - b->n);
}

/* Core 0 sends what the cores without a queue on port 0 handed it. */
static bool stack_tx_forwarded(struct tn_core *c)
{
	struct rte_mbuf *pkts[TN_TXBUF];
	bool did = false;
	unsigned i, n;

	for (i = 1; i < c->rt->ncores; i++) {
		struct rte_ring *r = c->rt->cores[i]->stack_tx;

		if (r && (n = rte_ring_sc_dequeue_burst(r, (void **)pkts, TN_TXBUF, NULL)) != 0) {
			tn_tx_burst(c, 0, pkts, (uint16_t)n);
			did = true;
		}
	}
	return did;
}

/* The stack's frames through a copy: to core 0's ring (no queue on
 * port 0 here), or through tn_tx_burst for a port that sends only flat
 * packets.  Not inlined: its array stays off the usual path's frame. */
static __rte_noinline bool stack_out_copy(struct tn_core *c)
{
	struct rte_mbuf *out[TN_TXBUF];
	bool did = false;
	uint16_t n, room;

	while ((room = stack_tx_room(c)) != 0 && (n = tn_stack_output(c->stack, out, room)) != 0) {
		stack_send(c, out, n);
		did = true;
	}
	return did;
}

/* The stacks of several cores: ARP bindings to and from the others, and
 * on core 0 the frames of cores without a queue on port 0. */
static bool stack_share(struct tn_core *c, uint64_t now)
{
	bool did = false;

	if (tn__mail_arp_phase(c, now)) {
		/* A new entry's expiry may be the stack's next deadline. */
		c->stack_deadline = 0;
		did = true;
	}
	if (c->id == 0)
		did |= stack_tx_forwarded(c);
	return did;
}

/* The protocol stack's frames out, as many as port 0 has room for; a
 * telemetry request for its connections is answered here too. */
static bool stack_out_phase(struct tn_core *c, uint64_t now)
{
	struct tn_txbuf *b = &c->tx[0];
	bool did = false;
	uint16_t n, room;

	if (!c->stack)
		return false;
	if (c->rt->ncores > 1)
		did = stack_share(c, now);
	/* Telemetry asking for the connections: a load per turn. */
	if (__atomic_load_n(&c->conns_req, __ATOMIC_RELAXED))
		tn__tcp_conns_serve(c);
	if (c->stack_tx || c->rt->port_tx_flat[0])
		return stack_out_copy(c) || did;
	/* The usual case: straight into port 0's TX buffer, no copy.  A
	 * call that filled less than the room emptied the stack's queue:
	 * no second call to learn that. */
	while ((room = stack_tx_room(c)) != 0 &&
	       (n = tn_stack_output(c->stack, b->pkts + b->n, room)) != 0) {
		b->n = (uint16_t)(b->n + n);
		c->tx_pending = true;
		did = true;
		if (n < room)
			break;
	}
	return did;
}

/* The scheduler's timers (sleeps, timeouts), then the stack's when their
 * deadline has passed or input may have armed one (deliver).  This runs
 * after the TX phase, so a reply to a frame that just arrived has left
 * before the stack's timer walk; frames the timers make (retransmissions,
 * ARP retries) leave next turn. */
static bool timers_phase(struct tn_core *c, uint64_t now)
{
	bool did = tn_sched_run_timers(c->sched);

	/* (A task's TCP write may have armed a timer since: the stack's
	 * own view of its deadline covers that.) */
	if (c->stack && (now >= c->stack_deadline || now >= tn_stack_next_deadline(c->stack))) {
		c->stack_deadline = tn_stack_timers(c->stack, now);
		did = true;
	}
	return did;
}

/* The core that owns a packet's flow when the port has a single queue:
 * the same symmetric hash the NIC would compute with RSS. */
unsigned tn__flow_core(const struct rte_mbuf *m, unsigned ncores)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip;
	uint32_t tuple[3], n = 2;
	uint32_t hash;

	if (m->data_len < sizeof(*eth) + sizeof(*ip) ||
	    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return 0; /* ARP and the rest: the main core */
	ip = (const struct rte_ipv4_hdr *)(eth + 1);
	tuple[0] = rte_be_to_cpu_32(ip->src_addr);
	tuple[1] = rte_be_to_cpu_32(ip->dst_addr);
	if ((ip->next_proto_id == IPPROTO_UDP || ip->next_proto_id == IPPROTO_TCP) &&
	    !(ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG)) &&
	    m->data_len >= sizeof(*eth) + rte_ipv4_hdr_len(ip) + 4) {
		const uint16_t *ports = (const uint16_t *)((const uint8_t *)ip + rte_ipv4_hdr_len(ip));
		tuple[2] = ((uint32_t)rte_be_to_cpu_16(ports[0]) << 16) | rte_be_to_cpu_16(ports[1]);
		n = 3;
	}
	hash = rte_softrss(tuple, n, tn__rss_key);
	return hash % ncores;
}

/* Hands a burst to the application (or frees it), counting what it
 * declined. */
static void deliver(struct tn_core *c, uint16_t pidx, struct rte_mbuf **pkts, uint16_t n)
{
	const struct tn_app *app = c->rt->app;
	uint16_t used = 0;

	if (pidx == 0 && c->stack) {
		uint64_t now = tn_now(); /* the turn's time (see loop_turn) */
		if (c->rt->ncores > 1)
			n = tn__icmp_steer(c, pkts, n);
		/* (Timers input arms lower tn_stack_next_deadline: the
		 * timers phase sees them without a walk after every burst.) */
		tn_stack_input(c->stack, pkts, n, now);
		return;
	}
	if (app && app->rx)
		used = app->rx(c, pidx, pkts, n, app->arg);
	if (used < n) {
		c->stats[pidx].rx_drops += n - used;
		rte_pktmbuf_free_bulk(pkts + used, n - used);
	}
}

static bool rx_port(struct tn_core *c, uint16_t pidx)
{
	struct tn_runtime *rt = c->rt;
	struct rte_mbuf *pkts[2 * TN_TXBUF];
	uint16_t n, i;
	uint64_t bytes = 0;

	n = rte_eth_rx_burst(rt->port_ids[pidx], c->queue, pkts, (uint16_t)rt->cfg.burst);
	if (c->fault_rx[pidx]) {
		struct tn_fault *f = c->fault_rx[pidx];
		uint64_t freed = tn_fault_freed(f);

		n = tn_fault_apply(f, pkts, n, RTE_DIM(pkts), tn_now());
		c->stats[pidx].rx_drops += tn_fault_freed(f) - freed;
	}
	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		bytes += pkts[i]->pkt_len;
	c->stats[pidx].rx_pkts += n;
	c->stats[pidx].rx_bytes += bytes;
	c->stats[pidx].rx_bursts++;
	if (rt->pcap)
		tn_pcap_capture(rt->pcap, pidx, c->queue, pkts, n, true);
	if (rt->sw_steer[pidx] && rt->ncores > 1) {
		/* Single-queue port: keep what is ours, ring the rest over. */
		struct rte_mbuf *mine[2 * TN_TXBUF];
		uint16_t nm = 0;

		for (i = 0; i < n; i++) {
			unsigned to = tn__flow_core(pkts[i], rt->ncores);
			pkts[i]->port = pidx;
			if (to == c->id)
				mine[nm++] = pkts[i];
			else if (rte_ring_sp_enqueue(rt->cores[to]->steer_in, pkts[i]) != 0) {
				c->stats[pidx].rx_drops++;
				rte_pktmbuf_free(pkts[i]);
			}
		}
		if (nm)
			deliver(c, pidx, mine, nm);
		return true;
	}
	deliver(c, pidx, pkts, n);
	return true;
}

/* Packets core 0 steered here from single-queue ports. */
static bool rx_steered(struct tn_core *c)
{
	struct rte_mbuf *pkts[TN_TXBUF];
	unsigned n, i, start;

	n = rte_ring_sc_dequeue_burst(c->steer_in, (void **)pkts, TN_TXBUF, NULL);
	/* Deliver in runs of the same port. */
	for (start = 0, i = 1; i <= n; i++) {
		if (i == n || pkts[i]->port != pkts[start]->port) {
			deliver(c, pkts[start]->port, pkts + start, (uint16_t)(i - start));
			start = i;
		}
	}
	return n != 0;
}

static bool rx_phase(struct tn_core *c)
{
	bool did = false;
	uint16_t p;

	for (p = 0; p < c->rt->nports; p++)
		if (c->polls[p])
			did |= rx_port(c, p);
	if (c->steer_in)
		did |= rx_steered(c);
	return did;
}

/* One loop turn.  A phase with nothing to do costs a load and a branch
 * here, not a call: a frame that arrives waits on average half a turn
 * before the RX phase sees it. */
static bool loop_turn(struct tn_core *c)
{
	struct tn_sched *s = c->sched;
	/* One clock read per turn: rdtsc costs 13-17 ns on this VM (40
	 * under load), and reading it after every burst and again for the
	 * stack phase was 38% of a busy echo server's samples.  Everything
	 * in the turn (the stack, tasks through tn_now()) sees this time. */
	uint64_t now = tn_sched_update_clock(s);
	bool did;

	did = rx_phase(c);
	did |= tn_sched_run_ready(s);
	did |= stack_out_phase(c, now);
	if (c->tx_pending || c->rt->fault_on)
		did |= tn__tx_phase(c);
	did |= timers_phase(c, now);
	if (c->rt->ncores > 1)
		did |= tn__mail_phase(c);
	did |= tn_sched_run_pollers(s);
	/* The ports are polled here, not as scheduler pollers, so the
	 * scheduler would sleep an idle turn even under --idle poll (up to
	 * idle_sleep_max: 200 us of latency on every quiet link). */
	if (!did && c->rt->cfg.idle == TN_IDLE_SLEEP)
		tn_sched_idle(s);
	return did;
}

static bool pcap_poll(void *arg)
{
	return tn_pcap_drain(arg);
}

/* The loop clock: the TSC scaled to ns.  clock_gettime costs ~30 ns per
 * call here (12-20% of a reflector's CPU at full rate), rdtsc ~8. */
static uint64_t tsc_ns(void *arg)
{
	const struct tn_runtime *rt = arg;

	return (uint64_t)(((unsigned __int128)rte_rdtsc() * rt->tsc_mult) >> 32);
}

static int core_setup(struct tn_core *c)
{
	struct tn_runtime *rt = c->rt;
	struct tn_sched_config sc = {
		.idle = rt->cfg.idle,
		/* Laptops: wake at least every 200 us to look at the ports. */
		.idle_sleep_max = 200 * TN_NS_PER_US,
		.clock = tsc_ns,
		.clock_arg = rt,
		.clock_real = true,
		.batch = rt->cfg.task_batch,
	};
	uint16_t p;

	c->sched = tn_sched_create(&sc);
	if (!c->sched)
		return -errno;
	tn__core_self = c;
	c->mp = rt->mp;
	for (p = 0; p < rt->nports; p++) {
		c->polls[p] = c->queue < rt->port_nq[p];
		if (rt->fault_on && c->polls[p]) {
			uint64_t id = ((uint64_t)c->id << 32) | ((uint64_t)p << 1);
			c->fault_rx[p] = tn_fault_create(&rt->fault, id, c->mp);
			c->fault_tx[p] = tn_fault_create(&rt->fault, id | 1, c->mp);
			if (!c->fault_rx[p] || !c->fault_tx[p])
				return -ENOMEM;
		}
	}
	if (c->id == 0 && rt->pcap)
		tn_poller_register(c->sched, pcap_poll, rt->pcap);
	if (rt->cfg.ip && rt->nports) {
		/* One stack per core, shared-nothing: each serves the flows
		 * RSS or software steering gives its core, and they share
		 * what ARP teaches over the arp rings (mail.c).  One
		 * gratuitous ARP is enough: core 0's. */
		struct tn_stack_config sc2 = {
			.ip = rt->cfg.ip,
			.prefix_len = rt->cfg.prefix_len,
			.gw = rt->cfg.gw,
			.mp = c->mp,
			.seed = rte_rdtsc() ^ ((uint64_t)c->id << 48),
			.no_garp = c->id != 0,
			.arp_share = rt->ncores > 1,
			.steer = rt->steer0,
			/* What port 0 sums for the stack (port.c enabled it). */
			.udp_eph_lo = rt->cfg.eph_lo,
			.udp_eph_hi = rt->cfg.eph_hi,
			.tx_tcp_cksum = (rt->port_tx_offloads[0] & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) != 0,
			.tx_ipv4_cksum = (rt->port_tx_offloads[0] & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0,
		};
		uint16_t mtu = 1500;

		/* Connects pick ports whose replies reach this core. */
		sc2.steer.self = rt->sw_steer[0] ? (uint16_t)c->id : c->queue;
		memcpy(sc2.ts_key, rt->ts_key, sizeof(sc2.ts_key));
		if (rt->cfg.mac_set)
			memcpy(sc2.mac, rt->cfg.mac, 6);
		else
			tn_port_mac(0, sc2.mac);
		if (rte_eth_dev_get_mtu(rt->port_ids[0], &mtu) == 0 && mtu >= 576)
			sc2.mtu = mtu;
		c->stack = tn_stack_create(&sc2, tn_sched_update_clock(c->sched));
		if (!c->stack)
			return -errno;
		c->stack_deadline = 0;
		c->had_stack = true;
	}
	return tn__core_calls_init(c);
}

static void core_teardown(struct tn_core *c)
{
	struct tn_runtime *rt = c->rt;
	uint16_t p;

	if (c->stack) {
		struct tn_stack *s = c->stack;
		struct rte_mbuf *out[TN_TXBUF];
		uint16_t n;

		/* Frames still waiting for room at the port (stack_tx_room)
		 * are dropped, and counted as port 0's like those left in its
		 * TX buffer (tn__tx_drop_all). */
		while ((n = tn_stack_output(s, out, TN_TXBUF)) != 0) {
			c->stats[0].tx_drops += n;
			rte_pktmbuf_free_bulk(out, n);
		}
		/* The counters outlive it, for the exit summary; telemetry
		 * reads them instead once the pointer is gone. */
		tn_stack_stats_get(s, &c->stack_final);
		__atomic_store_n(&c->stack, NULL, __ATOMIC_RELEASE);
		/* Closes the sockets still open; their tasks already ended. */
		tn_stack_destroy(s);
	}
	tn__tx_drop_all(c);
	for (p = 0; p < rt->nports; p++) {
		if (c->fault_rx[p])
			tn_fault_destroy(c->fault_rx[p]);
		if (c->fault_tx[p])
			tn_fault_destroy(c->fault_tx[p]);
		c->fault_rx[p] = c->fault_tx[p] = NULL;
	}
	tn_sched_destroy(c->sched);
	c->sched = NULL;
	tn__core_self = NULL;
}

/* Cancels what still runs on this core and lets it unwind, bounded. */
static void core_drain(struct tn_core *c)
{
	unsigned turns;

	tn_sched_cancel_all(c->sched);
	for (turns = 0; turns < 100000; turns++) {
		struct tn_sched_stats st;

		tn_sched_get_stats(c->sched, &st);
		if (!st.live_tasks)
			break;
		loop_turn(c);
	}
	/* Send what the unwinding queued. */
	tn__tx_phase(c);
}

static void take_result(void *arg, int err, intptr_t value)
{
	*(int *)arg = err;
}

/* main's outcome as an exit code: a cancellation (a signal) is a clean
 * exit. */
static int main_exit_code(struct tn_future *main_f)
{
	int err = 0;

	if (!tn_future_done(main_f)) {
		fprintf(stderr, "tern: the main task ignored its cancellation\n");
		tn_future_detach(main_f);
		return 1;
	}
	tn_future_then(main_f, take_result, &err);
	if (err && err != -ECANCELED) {
		fprintf(stderr, "tern: main task failed: %s\n", tn_strerror(err));
		return 1;
	}
	return 0;
}

int tn__core_run(void *arg)
{
	struct tn_core *c = arg;
	struct tn_runtime *rt = c->rt;
	const struct tn_app *app = rt->app;
	struct tn_future *main_f = NULL;
	int err;

	err = core_setup(c);
	if (err) {
		fprintf(stderr, "tern: core %u: setup failed: %s\n", c->id, tn_strerror(err));
		c->exit_code = 1;
		tn_stop();
		if (c->sched)
			tn_sched_destroy(c->sched);
		return err;
	}
	if (app && app->core_init && app->core_init(c, app->arg) != 0) {
		c->exit_code = 1;
		tn_stop();
	}
	__atomic_add_fetch(&rt->cores_ready, 1, __ATOMIC_RELEASE);
	if (c->id == 0) {
		/* Everyone polls before we say so. */
		while (__atomic_load_n(&rt->cores_ready, __ATOMIC_ACQUIRE) < rt->ncores && !rt->stop)
			rte_pause();
		if (!rt->stop) {
			printf("ready\n");
			fflush(stdout);
		}
		if (app && app->main && !rt->stop) {
			struct tn_task *t = tn_task_spawn_opts(app->main, app->arg,
					&(struct tn_task_opts){.name = "main"});
			main_f = t ? tn_task_join(t) : NULL;
			if (!main_f) {
				c->exit_code = 1;
				tn_stop();
			}
		}
	}
	while (!rt->stop) {
		loop_turn(c);
		if (main_f && tn_future_done(main_f))
			tn_stop();
	}
	if (main_f) {
		if (!tn_future_done(main_f))
			tn_future_cancel(main_f); /* a signal: cancel main */
		core_drain(c);
		c->exit_code = main_exit_code(main_f);
	} else {
		core_drain(c);
	}
	core_teardown(c);
	return 0;
}
