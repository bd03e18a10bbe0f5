/* tern-game's client simulator: --clients N players from one process,
 * each sending an input every tick and measuring the snapshots it gets.
 *
 * One socket per client, each connected to the server from a port of its
 * own (the stack's ephemeral range: up to 16,384).  The server knows a
 * client by address:port, so N clients need N source ports, and a
 * connected socket is what a real client has: it hears only the server,
 * and an ICMP port unreachable becomes its pending error (counted as
 * refused).  The stack demultiplexes by port into per-socket queues, so
 * nothing here has to look at another client's datagrams.
 *
 * One receiving task per client, one sending task for all.  A snapshot
 * wakes exactly the task whose socket it reached (tn_udp_wait_readable),
 * so the cost per snapshot is one wakeup, with no scan of thousands of
 * sockets per loop turn; parked tasks cost a few KiB of stack each.  The
 * sender (the main task) sends every client's input each tick,
 * GAME_CHUNK per loop turn so the receivers run in between.  Before the
 * first tick it pings the server: the reply means ARP is resolved, so
 * the first tick's N inputs do not pile up behind one ARP request (the
 * stack queues 8 frames per unresolved address).
 *
 * Measured per snapshot, with CLOCK_MONOTONIC read once per loop turn
 * (game_turn_clock_ns): latency, arrival minus the server's send time
 * (one clock on one machine; see feed_msg.h); tick jitter, for
 * consecutive ticks, |inter-arrival - tick period|; lost, the tick
 * numbers skipped (less the ones that came late), per client.  At the
 * end, once the last inputs are acked (at most 1 s later), a client
 * whose highest ack is below its last input counts as unacked; then
 * every client says it leaves (the server drops it at once). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include <tern/stack.h>
#include <tern/udp.h>

#include "game.h"
#include "latency_hist.h"

#define RX_BURST 8
#define PING_WAIT_NS (2 * TN_NS_PER_S)
#define ACK_WAIT_NS TN_NS_PER_S

struct sim_client {
	struct tn_udp_sock *u;
	struct tn_task *task;
	uint32_t seq, ack; /* last input sent; highest ack seen */
	uint64_t last_tick, last_arrival;
	int16_t vx, vy;
	bool heard;
};

struct sim {
	struct sim_client *c;
	unsigned n;
	uint64_t period, rng;
	uint64_t t0, t_end;  /* the first tick's time, the last one's end (0: none) */
	uint64_t snaps_end;  /* snaps at t_end */
	uint64_t inputs, send_errors, snaps, lost, reordered, dup, bad, refused, skew;
	struct tn_hist jitter, latency, jitter_sec, latency_sec;
};

static struct sim *sim; /* core 0's, for the receiving tasks */

static uint64_t rnd(void)
{
	sim->rng ^= sim->rng >> 12;
	sim->rng ^= sim->rng << 25;
	sim->rng ^= sim->rng >> 27;
	return sim->rng * 0x2545f4914f6cdd1dull;
}

static void on_snapshot(struct sim_client *c, struct rte_mbuf *m, uint64_t now)
{
	uint8_t b[TN_GAME_SNAP_HDR];
	const uint8_t *p = rte_pktmbuf_read(m, 0, TN_GAME_SNAP_HDR, b);
	struct tn_game_snap h;

	if (!p || !tn_game_snap_get(p, rte_pktmbuf_pkt_len(m), &h)) {
		sim->bad++;
		return;
	}
	sim->snaps++;
	if (now >= h.server_ns) {
		tn_hist_record(&sim->latency, now - h.server_ns);
		tn_hist_record(&sim->latency_sec, now - h.server_ns);
	} else {
		sim->skew++;
	}
	if (h.ack > c->ack)
		c->ack = h.ack;
	if (!c->heard) {
		c->heard = true;
	} else if (h.tick == c->last_tick) {
		sim->dup++;
		return;
	} else if (h.tick < c->last_tick) {
		sim->reordered++;
		if (sim->lost)
			sim->lost--; /* counted when its tick was skipped */
		return;
	} else if (h.tick == c->last_tick + 1) {
		uint64_t gap = now - c->last_arrival;
		uint64_t dev = gap > sim->period ? gap - sim->period : sim->period - gap;

		tn_hist_record(&sim->jitter, dev);
		tn_hist_record(&sim->jitter_sec, dev);
	} else {
		sim->lost += h.tick - c->last_tick - 1;
	}
	c->last_tick = h.tick;
	c->last_arrival = now;
}

static intptr_t client_rx(void *arg)
{
	struct sim_client *c = arg;
	struct rte_mbuf *pkts[RX_BURST];

	for (;;) {
		int err = tn_udp_wait_readable(c->u);
		uint64_t now;
		uint16_t n;

		if (err == -ECANCELED || err == -EBADF || err == -EPERM)
			return 0;
		if (err == -ECONNREFUSED)
			sim->refused++; /* no server on that port (yet) */
		if (err)
			continue;
		n = tn_udp_recv_burst(c->u, pkts, NULL, RX_BURST);
		now = game_turn_clock_ns();
		for (uint16_t i = 0; i < n; i++)
			on_snapshot(c, pkts[i], now);
		rte_pktmbuf_free_bulk(pkts, n);
	}
}

/* A random walk: keep going, now and then turn. */
static void send_input(struct sim_client *c, uint32_t flags)
{
	uint8_t b[TN_GAME_IN_LEN];
	struct tn_game_input in;

	if (rnd() % 16 == 0) {
		c->vx = (int16_t)(rnd() % 9) - 4;
		c->vy = (int16_t)(rnd() % 9) - 4;
	}
	in = (struct tn_game_input){
		.seq = ++c->seq,
		.client_ns = tn_feed_clock_ns(),
		.dx = flags ? 0 : c->vx,
		.dy = flags ? 0 : c->vy,
		.flags = flags,
	};
	tn_game_input_put(b, &in);
	if (tn_udp_send(c->u, b, sizeof(b)) == 0)
		sim->inputs++;
	else
		sim->send_errors++;
}

/* Every client's input, GAME_CHUNK per loop turn. */
static int send_all(uint32_t flags)
{
	int err;

	for (unsigned i = 0; i < sim->n; i += GAME_CHUNK) {
		for (unsigned j = i; j < sim->n && j < i + GAME_CHUNK; j++)
			send_input(&sim->c[j], flags);
		if ((err = tn_sleep(0)) != 0)
			return err;
	}
	return 0;
}

/* Pings the server until it answers or PING_WAIT_NS pass. */
static int ping_server(struct tn_stack *st)
{
	struct tn_stack_stats ss;
	uint64_t end = tn_now() + PING_WAIT_NS, before;
	uint16_t seq = 0;
	int err;

	tn_stack_stats_get(st, &ss);
	before = ss.icmp_echo_reply_rx;
	while (tn_now() < end) {
		tn_stack_ping(st, game_opt.server, 0x7467, seq++, "tern-game", 9, tn_now());
		if ((err = tn_sleep(100 * TN_NS_PER_MS)) != 0)
			return err;
		tn_stack_stats_get(st, &ss);
		if (ss.icmp_echo_reply_rx > before)
			return 0;
	}
	fprintf(stderr, GAME_PROG ": the server does not answer ping; sending anyway\n");
	return 0;
}

static void line(double t, uint64_t dsnaps)
{
	unsigned heard = 0;

	for (unsigned i = 0; i < sim->n; i++)
		heard += sim->c[i].heard;
	printf("t=%.0fs heard %u of %u snapshots %llu/s lost %llu latency_ns p50=%llu p99=%llu "
	       "jitter_ns p50=%llu p99=%llu\n",
	       t, heard, sim->n, (unsigned long long)dsnaps, (unsigned long long)sim->lost,
	       (unsigned long long)tn_hist_quantile(&sim->latency_sec, 0.5),
	       (unsigned long long)tn_hist_quantile(&sim->latency_sec, 0.99),
	       (unsigned long long)tn_hist_quantile(&sim->jitter_sec, 0.5),
	       (unsigned long long)tn_hist_quantile(&sim->jitter_sec, 0.99));
	fflush(stdout);
	tn_hist_reset(&sim->latency_sec);
	tn_hist_reset(&sim->jitter_sec);
}

static void summary(double secs)
{
	unsigned heard = 0, unacked = 0;

	for (unsigned i = 0; i < sim->n; i++) {
		heard += sim->c[i].heard;
		unacked += sim->c[i].ack < sim->c[i].seq;
	}
	printf("summary: clients %u heard %u inputs %llu send_errors %llu snapshots %llu lost %llu "
	       "reordered %llu dup %llu bad %llu refused %llu unacked %u in %.3f s\n",
	       sim->n, heard, (unsigned long long)sim->inputs, (unsigned long long)sim->send_errors,
	       (unsigned long long)sim->snaps, (unsigned long long)sim->lost,
	       (unsigned long long)sim->reordered, (unsigned long long)sim->dup,
	       (unsigned long long)sim->bad, (unsigned long long)sim->refused, unacked, secs);
	/* Over the ticks the clients sent inputs. */
	double play = sim->t_end > sim->t0 ? (double)(sim->t_end - sim->t0) / 1e9 : 0;
	printf("rate: %.2f snapshots/s per client (tick %.2f/s)\n",
	       play > 0 ? (double)sim->snaps_end / sim->n / play : 0, game_opt.tick_hz);
	printf("jitter_ns p50=%llu p99=%llu p999=%llu max=%llu\n",
	       (unsigned long long)tn_hist_quantile(&sim->jitter, 0.5),
	       (unsigned long long)tn_hist_quantile(&sim->jitter, 0.99),
	       (unsigned long long)tn_hist_quantile(&sim->jitter, 0.999),
	       (unsigned long long)sim->jitter.max);
	printf("latency_ns p50=%llu p99=%llu p999=%llu max=%llu\n",
	       (unsigned long long)tn_hist_quantile(&sim->latency, 0.5),
	       (unsigned long long)tn_hist_quantile(&sim->latency, 0.99),
	       (unsigned long long)tn_hist_quantile(&sim->latency, 0.999),
	       (unsigned long long)sim->latency.max);
	fflush(stdout);
}

static int run(struct tn_stack *st)
{
	uint64_t t0, next, end, next_line, last_snaps = 0;
	int err;

	for (unsigned i = 0; i < sim->n; i++) {
		struct sim_client *c = &sim->c[i];

		if (!(c->u = tn_udp_open(st))) {
			fprintf(stderr, GAME_PROG ": out of memory at client %u\n", i);
			return -ENOMEM;
		}
		if ((err = tn_udp_connect(c->u, game_opt.server, game_opt.server_port)) != 0) {
			fprintf(stderr, GAME_PROG ": client %u: connect: %s\n", i, strerror(-err));
			return err;
		}
		if (!(c->task = tn_task_spawn(client_rx, c))) {
			fprintf(stderr, GAME_PROG ": client %u: spawn: %s\n", i, strerror(errno));
			return -errno;
		}
	}
	if ((err = ping_server(st)) != 0)
		return err;
	printf("clients: %u sending at %.0f/s\n", sim->n, game_opt.tick_hz);
	fflush(stdout);
	t0 = sim->t0 = tn_now();
	next = t0;
	end = game_opt.duration ? t0 + (uint64_t)(game_opt.duration * 1e9) : UINT64_MAX;
	next_line = t0 + TN_NS_PER_S;
	while (next < end) {
		if ((err = tn_sleep_until(next)) != 0)
			return err;
		if ((err = send_all(0)) != 0)
			return err;
		next += sim->period;
		if (tn_now() > next)
			next = tn_now(); /* late: no catching up in a burst */
		if (tn_now() >= next_line) {
			if (!game_opt.quiet)
				line((double)(tn_now() - t0) / 1e9, sim->snaps - last_snaps);
			last_snaps = sim->snaps;
			next_line += TN_NS_PER_S;
		}
	}
	sim->t_end = tn_now();
	sim->snaps_end = sim->snaps;
	return 0;
}

/* Waits until every client's last input is acked, at least two ticks
 * and at most ACK_WAIT_NS. */
static void drain_acks(void)
{
	uint64_t end = tn_now() + ACK_WAIT_NS;

	if (tn_sleep(2 * sim->period))
		return;
	while (tn_now() < end) {
		unsigned i = 0;

		while (i < sim->n && sim->c[i].ack >= sim->c[i].seq)
			i++;
		if (i == sim->n || tn_sleep(sim->period))
			return;
	}
}

intptr_t game_client_main(struct tn_stack *st)
{
	int err;

	sim = calloc(1, sizeof(*sim));
	if (!sim || !(sim->c = calloc(game_opt.clients, sizeof(*sim->c)))) {
		fprintf(stderr, GAME_PROG ": out of memory\n");
		free(sim);
		return -ENOMEM;
	}
	sim->n = game_opt.clients;
	sim->period = (uint64_t)(1e9 / game_opt.tick_hz);
	sim->rng = rte_rdtsc() | 1;
	err = run(st);
	if (err == -ECANCELED) {
		tn_task_uncancel(); /* a signal: report what we have */
		err = 0;
	}
	if (sim->t0 && !sim->t_end) {
		sim->t_end = tn_now();
		sim->snaps_end = sim->snaps;
	}
	if (!err) {
		double secs;

		/* The snapshots that ack the last inputs (a server on a busy
		 * machine may be some ticks late), then the numbers, then
		 * goodbye (the server drops us at once). */
		drain_acks();
		secs = sim->t0 ? (double)(tn_now() - sim->t0) / 1e9 : 0;
		summary(secs);
		send_all(TN_GAME_IN_LEAVE);
		tn_sleep(sim->period); /* lets the leaves go out */
	}
	for (unsigned i = 0; i < sim->n; i++) {
		struct sim_client *c = &sim->c[i];

		if (c->task) {
			tn_task_cancel(c->task);
			tn_await(tn_task_join(c->task), NULL);
		}
		if (c->u)
			tn_udp_close(c->u);
	}
	free(sim->c);
	free(sim);
	sim = NULL;
	return err;
}
