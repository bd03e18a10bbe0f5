/* tern-game's tick server: clients send inputs, and every tick each
 * client gets a snapshot of the world around it.
 *
 * Clients are known by their address and port (a real server's clients
 * sit behind NATs: that pair is all it has).  They live in a table of
 * --max-clients; a DPDK rte_hash maps address:port to a slot
 * (the position rte_hash_add_key returns is the slot, and the entity id
 * the client sees).  The first input from a new address:port makes a
 * client, placed at a random point; a full table drops it (counted).  A
 * client silent for --client-timeout, or one that says it leaves, is
 * removed.
 *
 * Two tasks.  The receiver takes inputs in bursts (zero copy) and applies
 * each at once: the move (each axis clamped to +-16, the position to the
 * world) and the ack (the highest input seq; older ones are counted
 * stale and ignored).  The ticker wakes every 1/--tick-hz s: it drops
 * silent clients, files everyone in a grid of 64-unit cells, and sends
 * each client its snapshot: the tick, the time, its ack, and its own
 * entity followed by those in its and the eight neighbouring cells, at
 * most --view (so a snapshot is bounded by the view, never by the
 * number of clients).  Snapshots are built in mbufs and handed to the
 * stack without a copy, GAME_CHUNK per loop turn: the stack's output
 * queue and the TX burst stay bounded however many clients there are,
 * and the receiver runs between chunks.  A tick that starts more than a
 * period late is counted late, and the ticks it missed are skipped, not
 * sent in a burst.
 *
 * One core: the clients' table, the socket and both tasks are core 0's
 * (tern-game refuses more than one lcore). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <tern/udp.h>

#include "game.h"
#include "latency_hist.h"

#define CELL 64 /* grid cell side, world units */
#define RX_BURST 64

struct client_key {
	uint32_t addr; /* network order */
	uint16_t port;
	uint16_t zero; /* hashed too: always 0 */
};

struct client {
	bool leaving; /* said so: removed at the next tick */
	struct client_key key;
	uint16_t x, y;
	uint32_t ack;
	uint64_t last_seen; /* loop time */
	int32_t next_in_cell;
};

struct server {
	struct tn_udp_sock *u;
	struct rte_hash *h;
	struct rte_mempool *mp;
	struct client *c;        /* slots: the hash's positions */
	uint32_t slots;
	uint32_t *active;        /* slots in use, dense */
	uint32_t *active_pos;    /* a slot's index in active */
	uint32_t nactive;
	int32_t *cell_head;      /* grid cells: first client, -1 */
	unsigned grid;           /* cells per side */
	uint64_t rng;
	uint64_t tick;
	/* counters */
	uint64_t joined, timed_out, left, rejected, inputs, stale, bad;
	uint64_t snapshots, send_errors, late_ticks, skipped_ticks;
	struct tn_hist tick_work; /* ns from a tick's start to its last snapshot queued */
};

static uint64_t rnd(struct server *s)
{
	/* xorshift64*: placement only, nothing secret. */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545f4914f6cdd1dull;
}

static uint16_t clamp_pos(int v)
{
	if (v < 0)
		return 0;
	if (v >= (int)game_opt.world)
		return (uint16_t)(game_opt.world - 1);
	return (uint16_t)v;
}

static int step(int16_t d)
{
	return d > TN_GAME_MAX_STEP ? TN_GAME_MAX_STEP : d < -TN_GAME_MAX_STEP ? -TN_GAME_MAX_STEP : d;
}

static void client_remove(struct server *s, uint32_t slot)
{
	struct client *c = &s->c[slot];
	uint32_t i = s->active_pos[slot], last = s->active[--s->nactive];

	s->active[i] = last;
	s->active_pos[last] = i;
	rte_hash_del_key(s->h, &c->key);
}

static struct client *client_find_or_add(struct server *s, const struct tn_udp_addr *from)
{
	struct client_key key = {from->addr, from->port, 0};
	int32_t pos = rte_hash_lookup(s->h, &key);
	struct client *c;

	if (pos >= 0)
		return &s->c[pos];
	if (s->nactive == game_opt.max_clients) {
		s->rejected++;
		return NULL;
	}
	pos = rte_hash_add_key(s->h, &key);
	if (pos < 0 || (uint32_t)pos >= s->slots) {
		if (pos >= 0)
			rte_hash_del_key(s->h, &key);
		s->rejected++;
		return NULL;
	}
	c = &s->c[pos];
	*c = (struct client){
		.key = key,
		.x = (uint16_t)(rnd(s) % game_opt.world),
		.y = (uint16_t)(rnd(s) % game_opt.world),
	};
	s->active_pos[pos] = s->nactive;
	s->active[s->nactive++] = (uint32_t)pos;
	s->joined++;
	return c;
}

static void on_input(struct server *s, struct rte_mbuf *m, const struct tn_udp_addr *from)
{
	uint8_t b[TN_GAME_IN_LEN];
	const uint8_t *p = rte_pktmbuf_pkt_len(m) == TN_GAME_IN_LEN
				   ? rte_pktmbuf_read(m, 0, TN_GAME_IN_LEN, b)
				   : NULL;
	struct tn_game_input in;
	struct client *c;

	if (!p || !tn_game_input_get(p, TN_GAME_IN_LEN, &in) || in.seq == 0) {
		s->bad++;
		return;
	}
	if (!(c = client_find_or_add(s, from)))
		return;
	c->last_seen = tn_now();
	if (in.flags & TN_GAME_IN_LEAVE) {
		/* Only the ticker removes clients: it walks the active list
		 * across loop turns. */
		c->leaving = true;
		return;
	}
	if (in.seq <= c->ack) {
		s->stale++; /* reordered or duplicated: already applied */
		return;
	}
	s->inputs++;
	c->ack = in.seq;
	c->x = clamp_pos(c->x + step(in.dx));
	c->y = clamp_pos(c->y + step(in.dy));
}

static intptr_t receiver(void *arg)
{
	struct server *s = arg;
	struct rte_mbuf *pkts[RX_BURST];
	struct tn_udp_addr from[RX_BURST];

	for (;;) {
		int err = tn_udp_wait_readable(s->u);
		uint16_t n;

		if (err == -ECANCELED || err == -EBADF || err == -EPERM)
			return 0;
		if (err)
			continue; /* an ICMP error: unconnected sockets only count them */
		n = tn_udp_recv_burst(s->u, pkts, from, RX_BURST);
		for (uint16_t i = 0; i < n; i++)
			on_input(s, pkts[i], &from[i]);
		rte_pktmbuf_free_bulk(pkts, n);
	}
}

static void expire_and_file(struct server *s, uint64_t now)
{
	unsigned ncells = s->grid * s->grid;

	for (uint32_t i = 0; i < s->nactive;) {
		uint32_t slot = s->active[i];

		if (s->c[slot].leaving || now - s->c[slot].last_seen > game_opt.timeout_ns) {
			if (s->c[slot].leaving)
				s->left++;
			else
				s->timed_out++;
			client_remove(s, slot); /* moves the last one to i */
			continue;
		}
		i++;
	}
	for (unsigned i = 0; i < ncells; i++)
		s->cell_head[i] = -1;
	for (uint32_t i = 0; i < s->nactive; i++) {
		uint32_t slot = s->active[i];
		struct client *c = &s->c[slot];
		unsigned cell = (c->y / CELL) * s->grid + c->x / CELL;

		c->next_in_cell = s->cell_head[cell];
		s->cell_head[cell] = (int32_t)slot;
	}
}

/* Writes the entities client slot sees after its own: up to view - 1
 * others in the 3x3 cells around it.  Returns how many were written. */
static unsigned nearby(struct server *s, uint32_t slot, uint8_t *p, unsigned room)
{
	const struct client *me = &s->c[slot];
	int cx = me->x / CELL, cy = me->y / CELL;
	unsigned n = 0;

	for (int dy = -1; dy <= 1; dy++) {
		for (int dx = -1; dx <= 1; dx++) {
			int x = cx + dx, y = cy + dy;

			if (x < 0 || y < 0 || x >= (int)s->grid || y >= (int)s->grid)
				continue;
			for (int32_t o = s->cell_head[y * (int)s->grid + x]; o >= 0;
			     o = s->c[o].next_in_cell) {
				struct tn_game_ent e = {(uint16_t)o, s->c[o].x, s->c[o].y};

				if ((uint32_t)o == slot)
					continue;
				if (n == room)
					return n;
				tn_game_ent_put(p + n * TN_GAME_ENT_LEN, &e);
				n++;
			}
		}
	}
	return n;
}

static void send_snapshot(struct server *s, uint32_t slot, uint64_t now_ns)
{
	const struct client *c = &s->c[slot];
	struct rte_mbuf *m;
	uint8_t *p;
	struct tn_game_snap h = {
		.ack = c->ack,
		.tick = s->tick,
		.server_ns = now_ns,
		.you = (uint16_t)slot,
		.clients = s->nactive,
	};
	struct tn_game_ent self = {(uint16_t)slot, c->x, c->y};
	unsigned len;

	if (c->leaving)
		return;
	if (!(m = rte_pktmbuf_alloc(s->mp))) {
		s->send_errors++;
		return;
	}
	p = rte_pktmbuf_mtod(m, uint8_t *);
	tn_game_ent_put(p + TN_GAME_SNAP_HDR, &self);
	h.n = (uint16_t)(1 + nearby(s, slot, p + TN_GAME_SNAP_HDR + TN_GAME_ENT_LEN,
				    game_opt.view - 1));
	tn_game_snap_put(p, &h);
	len = TN_GAME_SNAP_HDR + h.n * TN_GAME_ENT_LEN;
	rte_pktmbuf_append(m, (uint16_t)len);
	if (tn_udp_send_mbuf(s->u, m, c->key.addr, c->key.port) == 0)
		s->snapshots++;
	else
		s->send_errors++;
}

/* One tick: expire, file, and a snapshot for everyone, GAME_CHUNK per
 * loop turn.  The receiver runs between chunks: a client it adds is
 * appended to the active list, past the n walked here, and gets its
 * first snapshot next tick; one that says it leaves is only marked
 * (removals happen here, in expire_and_file, so the walk is stable). */
static int tick(struct server *s)
{
	uint64_t start = tn_now();
	uint32_t n;
	int err;

	s->tick++;
	expire_and_file(s, start);
	n = s->nactive;
	for (uint32_t i = 0; i < n; i += GAME_CHUNK) {
		uint64_t now_ns = tn_feed_clock_ns();

		for (uint32_t j = i; j < n && j < i + GAME_CHUNK; j++)
			send_snapshot(s, s->active[j], now_ns);
		if ((err = tn_sleep(0)) != 0)
			return err;
	}
	tn_hist_record(&s->tick_work, tn_now() - start);
	return 0;
}

static void line(struct server *s, double t, uint64_t dinputs, uint64_t dsnaps)
{
	printf("t=%.0fs tick %llu clients %u joined %llu timed_out %llu left %llu rejected %llu "
	       "inputs %llu/s snapshots %llu/s late_ticks %llu tick_work_us p99=%.1f max=%.1f\n",
	       t, (unsigned long long)s->tick, s->nactive, (unsigned long long)s->joined,
	       (unsigned long long)s->timed_out, (unsigned long long)s->left,
	       (unsigned long long)s->rejected, (unsigned long long)dinputs,
	       (unsigned long long)dsnaps, (unsigned long long)s->late_ticks,
	       tn_hist_quantile(&s->tick_work, 0.99) / 1e3, s->tick_work.max / 1e3);
	fflush(stdout);
}

static int setup(struct server *s, struct tn_stack *st)
{
	/* rte_hash wants at least a bucket's worth (8) of entries; the
	 * bound on clients is nactive's. */
	unsigned max = game_opt.max_clients < 8 ? 8 : game_opt.max_clients;
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = max,
		.key_len = sizeof(struct client_key),
		.hash_func = rte_jhash,
		.socket_id = (int)rte_socket_id(),
		/* Every key fits until the table is full. */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	int err;

	snprintf(name, sizeof(name), "tn_game_%u", (unsigned)rte_lcore_id());
	s->slots = max;
	s->grid = (game_opt.world + CELL - 1) / CELL;
	s->mp = tn_core_mempool(tn_core_self());
	s->rng = rte_rdtsc() | 1;
	s->c = calloc(max, sizeof(*s->c));
	s->active = calloc(max, sizeof(*s->active));
	s->active_pos = calloc(max, sizeof(*s->active_pos));
	s->cell_head = calloc(s->grid * s->grid, sizeof(*s->cell_head));
	s->h = rte_hash_create(&hp);
	s->u = tn_udp_open(st);
	if (!s->c || !s->active || !s->active_pos || !s->cell_head || !s->h || !s->u) {
		fprintf(stderr, GAME_PROG ": out of memory\n");
		return -ENOMEM;
	}
	if ((err = tn_udp_set_rcvq(s->u, TN_UDP_RCVQ_MAX / 4)) != 0 ||
	    (err = tn_udp_bind(s->u, 0, game_opt.port)) != 0) {
		fprintf(stderr, GAME_PROG ": bind udp %u: %s\n", game_opt.port, strerror(-err));
		return err;
	}
	return 0;
}

intptr_t game_server_main(struct tn_stack *st)
{
	struct server *s = calloc(1, sizeof(*s));
	struct tn_task *rx = NULL;
	uint64_t period = (uint64_t)(1e9 / game_opt.tick_hz);
	uint64_t t0, next, next_line, last_in = 0, last_snap = 0;
	int err;

	if (!s) {
		fprintf(stderr, GAME_PROG ": out of memory\n");
		return -ENOMEM;
	}
	if ((err = setup(s, st)) != 0)
		goto out;
	if (!(rx = tn_task_spawn(receiver, s))) {
		err = -errno;
		goto out;
	}
	printf("game: udp port %u, %.0f ticks/s, up to %u clients\n", game_opt.port,
	       game_opt.tick_hz, game_opt.max_clients);
	fflush(stdout);
	t0 = tn_now();
	next = t0 + period;
	next_line = t0 + TN_NS_PER_S;
	for (;;) {
		if ((err = tn_sleep_until(next)) != 0)
			break;
		if (tn_now() >= next + period) {
			/* Late by a whole period or more: skip what was missed
			 * rather than catch up with a burst of ticks. */
			uint64_t missed = (tn_now() - next) / period;

			s->late_ticks++;
			s->skipped_ticks += missed;
			next += missed * period;
		}
		next += period;
		if ((err = tick(s)) != 0)
			break;
		if (tn_now() >= next_line) {
			if (!game_opt.quiet)
				line(s, (double)(tn_now() - t0) / 1e9, s->inputs - last_in,
				     s->snapshots - last_snap);
			last_in = s->inputs;
			last_snap = s->snapshots;
			next_line += TN_NS_PER_S;
		}
	}
	if (err == -ECANCELED) {
		tn_task_uncancel(); /* a signal */
		err = 0;
	}
	printf("summary: ticks %llu clients %u joined %llu timed_out %llu left %llu rejected %llu "
	       "inputs %llu stale %llu bad %llu snapshots %llu send_errors %llu late_ticks %llu "
	       "skipped_ticks %llu\n",
	       (unsigned long long)s->tick, s->nactive, (unsigned long long)s->joined,
	       (unsigned long long)s->timed_out, (unsigned long long)s->left,
	       (unsigned long long)s->rejected, (unsigned long long)s->inputs,
	       (unsigned long long)s->stale, (unsigned long long)s->bad,
	       (unsigned long long)s->snapshots, (unsigned long long)s->send_errors,
	       (unsigned long long)s->late_ticks, (unsigned long long)s->skipped_ticks);
	printf("tick_work_ns p50=%llu p99=%llu max=%llu\n",
	       (unsigned long long)tn_hist_quantile(&s->tick_work, 0.5),
	       (unsigned long long)tn_hist_quantile(&s->tick_work, 0.99),
	       (unsigned long long)s->tick_work.max);
	fflush(stdout);
out:
	if (rx) {
		tn_task_cancel(rx);
		tn_await(tn_task_join(rx), NULL);
	}
	if (s->u)
		tn_udp_close(s->u);
	if (s->h)
		rte_hash_free(s->h);
	free(s->c);
	free(s->active);
	free(s->active_pos);
	free(s->cell_head);
	free(s);
	return err;
}
