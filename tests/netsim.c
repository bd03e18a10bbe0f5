/* The network simulator (see netsim.h). */
#include "netsim.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_hash_crc.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <tern/coro.h>

#define NS_BURST 32
#define NS_MAX_FRAME 16384          /* the largest frame the wire carries */
#define NS_SETTLE_MAX 1000000u      /* passes at one instant before -ELOOP */
#define NS_STUCK_MAX 1000u          /* empty wakeups at one instant before -ELOOP */
#define NS_DRAIN_LIMIT (3600 * TN_NS_PER_S) /* ns_destroy's run-down of tasks */

static struct rte_mempool *ns_pools[NS_MAX_NODES];

struct ns_dir {
	struct ns_link_cfg cfg;
	struct ns_rng rng;
	uint64_t busy_until; /* when the link finishes serialising its queue */
	struct ns_link_stats st;
};

struct ns_node {
	struct tn_stack *st;
	struct rte_mempool *mp;
	struct rte_ether_addr mac;
	uint32_t ip;
};

/* A frame on the wire, due at t; seq breaks ties in send order. */
struct ns_ev {
	uint64_t t, seq;
	struct rte_mbuf *m;
	uint8_t from, to;
};

struct ns_sim {
	struct ns_cfg cfg;
	uint64_t now;
	struct tn_sched *sched;
	int n;
	struct ns_node node[NS_MAX_NODES];
	struct ns_dir dir[NS_MAX_NODES][NS_MAX_NODES];
	struct ns_ev *heap;
	unsigned heap_n, heap_cap;
	uint64_t seq;
	uint64_t hash;
	uint64_t unknown_dst; /* unicast frames to a MAC no node has */
	uint8_t frame[NS_MAX_FRAME];
};

/* ---- PRNG ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void ns_rng_seed(struct ns_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t ns_rng_next(struct ns_rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

uint64_t ns_rng_below(struct ns_rng *r, uint64_t n)
{
	/* Lemire's multiply-shift; the bias (< n / 2^64) is irrelevant here. */
	return (uint64_t)(((unsigned __int128)ns_rng_next(r) * n) >> 64);
}

double ns_rng_unit(struct ns_rng *r)
{
	return (double)(ns_rng_next(r) >> 11) * 0x1p-53;
}

static bool chance(struct ns_rng *r, double p)
{
	/* Always draw, so a probability of 0 leaves the stream as it is. */
	return ns_rng_unit(r) < p;
}

/* ---- the trace ---- */

static void mix(struct ns_sim *sim, uint64_t x)
{
	sim->hash = rotl((sim->hash ^ x) * 0x9e3779b97f4a7c15ull, 29) * 0xbf58476d1ce4e5b9ull;
}

static void trace(struct ns_sim *sim, int from, int to, const char *what, const uint8_t *f,
		  uint32_t len)
{
	char d[256];
	uint64_t t = sim->now - sim->cfg.start_ns;

	ns_describe(f, len, d, sizeof(d));
	fprintf(stderr, "%6llu.%06llu %d>%d %-10s %s\n", (unsigned long long)(t / TN_NS_PER_MS),
		(unsigned long long)(t % TN_NS_PER_MS), from + 1, to + 1, what, d);
}

/* An event on a link (a verdict about a frame): into the hash, and the
 * trace if on. */
static void record(struct ns_sim *sim, int from, int to, unsigned kind, uint64_t when,
		   const char *what, const uint8_t *f, uint32_t len)
{
	mix(sim, sim->now);
	mix(sim, when);
	mix(sim, (uint64_t)kind << 32 | (uint64_t)from << 8 | (uint64_t)to);
	mix(sim, (uint64_t)len << 32 | rte_hash_crc(f, len, 0));
	if (sim->cfg.trace)
		trace(sim, from, to, what, f, len);
}

uint64_t ns_trace_hash(const struct ns_sim *sim)
{
	return sim->hash;
}

/* ---- the event heap ---- */

static bool ev_before(const struct ns_ev *a, const struct ns_ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static int heap_push(struct ns_sim *sim, struct ns_ev ev)
{
	unsigned i;

	if (sim->heap_n == sim->heap_cap) {
		unsigned cap = sim->heap_cap ? sim->heap_cap * 2 : 1024;
		struct ns_ev *h = realloc(sim->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		sim->heap = h;
		sim->heap_cap = cap;
	}
	i = sim->heap_n++;
	while (i > 0) {
		unsigned p = (i - 1) / 2;

		if (!ev_before(&ev, &sim->heap[p]))
			break;
		sim->heap[i] = sim->heap[p];
		i = p;
	}
	sim->heap[i] = ev;
	return 0;
}

static struct ns_ev heap_pop(struct ns_sim *sim)
{
	struct ns_ev top = sim->heap[0], last = sim->heap[--sim->heap_n];
	unsigned i = 0, n = sim->heap_n;

	for (;;) {
		unsigned c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && ev_before(&sim->heap[c + 1], &sim->heap[c]))
			c++;
		if (!ev_before(&sim->heap[c], &last))
			break;
		sim->heap[i] = sim->heap[c];
		i = c;
	}
	if (n)
		sim->heap[i] = last;
	return top;
}

unsigned ns_in_flight(const struct ns_sim *sim)
{
	return sim->heap_n;
}

/* ---- the wire ---- */

/* The frame's bytes as a fresh mbuf (chain) from pool mp, in segments of
 * seg bytes; NULL if the pool is dry. */
static struct rte_mbuf *copy_in(struct rte_mempool *mp, const uint8_t *p, uint32_t len,
				uint32_t seg)
{
	struct rte_mbuf *head = NULL, *last = NULL;
	uint32_t room = rte_pktmbuf_data_room_size(mp) - RTE_PKTMBUF_HEADROOM, off = 0;

	if (!seg || seg > room)
		seg = room;
	do {
		struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
		uint32_t k = len - off < seg ? len - off : seg;

		if (!m) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		if (k)
			memcpy(rte_pktmbuf_append(m, k), p + off, k);
		off += k;
		if (!head) {
			head = m;
		} else {
			last->next = m;
			head->nb_segs++;
			head->pkt_len += k;
		}
		last = m;
	} while (off < len);
	return head;
}

enum { EV_TX, EV_LOST, EV_QDROP, EV_COPY, EV_NOMBUF, EV_RX, EV_UNKNOWN };

/* Schedules one copy of frame f (len bytes) from -> to, arriving at t
 * (plus a reordering delay, maybe), corrupted maybe. */
static void put_copy(struct ns_sim *sim, int from, int to, uint64_t t, uint8_t *f, uint32_t len,
		     bool dup)
{
	struct ns_dir *d = &sim->dir[from][to];
	struct ns_ev ev;
	char what[32];
	uint32_t flip = UINT32_MAX;

	if (chance(&d->rng, d->cfg.reorder)) {
		uint64_t r = d->cfg.reorder_ns ? d->cfg.reorder_ns : TN_NS_PER_MS;

		t += 1 + ns_rng_below(&d->rng, r);
		d->st.reordered++;
	}
	if (chance(&d->rng, d->cfg.corrupt) && len) {
		flip = (uint32_t)ns_rng_below(&d->rng, (uint64_t)len * 8);
		d->st.corrupted++;
	}
	if (flip != UINT32_MAX)
		f[flip / 8] ^= (uint8_t)(1u << (flip % 8));
	ev.m = copy_in(sim->node[to].mp, f, len, d->cfg.rx_seg);
	snprintf(what, sizeof(what), "%s%s@%lluus", dup ? "dup" : "tx",
		 flip != UINT32_MAX ? "+bit" : "", (unsigned long long)((t - sim->now) / TN_NS_PER_US));
	if (!ev.m) {
		d->st.no_mbuf++;
		record(sim, from, to, EV_NOMBUF, t, "no-mbuf", f, len);
	} else {
		ev.t = t;
		ev.seq = sim->seq++;
		ev.from = (uint8_t)from;
		ev.to = (uint8_t)to;
		if (heap_push(sim, ev) != 0) {
			rte_pktmbuf_free(ev.m);
			d->st.no_mbuf++;
		}
		record(sim, from, to, dup ? EV_COPY : EV_TX, t, what, f, len);
	}
	if (flip != UINT32_MAX) /* undo: the next copy goes out intact */
		f[flip / 8] ^= (uint8_t)(1u << (flip % 8));
}

/* Frame f (len bytes) offered to the link from -> to at sim->now. */
static void link_send(struct ns_sim *sim, int from, int to, uint8_t *f, uint32_t len)
{
	struct ns_dir *d = &sim->dir[from][to];
	uint64_t depart = sim->now;
	int copies;

	d->st.offered++;
	d->st.bytes += len;
	if (d->cfg.rate_bps) {
		uint64_t start = d->busy_until > sim->now ? d->busy_until : sim->now;
		uint64_t qlim = d->cfg.queue_bytes ? d->cfg.queue_bytes : 65536;
		/* What is still queued, in bytes, at this rate. */
		uint64_t backlog = (uint64_t)(((unsigned __int128)(start - sim->now) * d->cfg.rate_bps) /
					      (8 * TN_NS_PER_S));
		uint64_t ser = (uint64_t)(((unsigned __int128)len * 8 * TN_NS_PER_S +
					   d->cfg.rate_bps - 1) / d->cfg.rate_bps);

		/* A frame that finds the link idle is always taken. */
		if (start > sim->now && backlog + len > qlim) {
			d->st.queue_drops++;
			record(sim, from, to, EV_QDROP, sim->now, "qdrop", f, len);
			return;
		}
		d->busy_until = start + ser;
		depart = d->busy_until;
	}
	if (chance(&d->rng, d->cfg.loss)) {
		d->st.lost++;
		record(sim, from, to, EV_LOST, depart, "lost", f, len);
		return;
	}
	copies = chance(&d->rng, d->cfg.dup) ? 2 : 1;
	put_copy(sim, from, to, depart + d->cfg.delay_ns, f, len, false);
	if (copies == 2) {
		d->st.dups++;
		put_copy(sim, from, to, depart + d->cfg.delay_ns, f, len, true);
	}
}

/* A frame from node i's stack: to the node its MAC names, or to every
 * other node for a group address.  Frees m. */
static void wire_send(struct ns_sim *sim, int from, struct rte_mbuf *m)
{
	uint32_t len = m->pkt_len;
	const void *p;
	const struct rte_ether_hdr *eth;
	int j;

	if (len > NS_MAX_FRAME || len < sizeof(*eth)) {
		/* The stack never builds these; let the trace show it. */
		record(sim, from, from, EV_UNKNOWN, sim->now, "bad-frame", NULL, 0);
		sim->unknown_dst++;
		rte_pktmbuf_free(m);
		return;
	}
	p = rte_pktmbuf_read(m, 0, len, sim->frame);
	if (p != sim->frame)
		memcpy(sim->frame, p, len);
	rte_pktmbuf_free(m);
	eth = (const struct rte_ether_hdr *)sim->frame;
	if (rte_is_multicast_ether_addr(&eth->dst_addr)) {
		for (j = 0; j < sim->n; j++)
			if (j != from)
				link_send(sim, from, j, sim->frame, len);
		return;
	}
	for (j = 0; j < sim->n; j++) {
		if (j != from && rte_is_same_ether_addr(&eth->dst_addr, &sim->node[j].mac)) {
			link_send(sim, from, j, sim->frame, len);
			return;
		}
	}
	sim->unknown_dst++;
	record(sim, from, from, EV_UNKNOWN, sim->now, "no-such-mac", sim->frame, len);
}

/* Hands every frame due now to its node, in bursts. */
static bool deliver_due(struct ns_sim *sim)
{
	struct rte_mbuf *burst[NS_MAX_NODES][NS_BURST];
	unsigned nb[NS_MAX_NODES] = { 0 };
	bool fed[NS_MAX_NODES] = { false };
	bool did = false;
	int i;

	while (sim->heap_n && sim->heap[0].t <= sim->now) {
		struct ns_ev ev = heap_pop(sim);
		struct ns_dir *d = &sim->dir[ev.from][ev.to];

		d->st.delivered++;
		record(sim, ev.from, ev.to, EV_RX, sim->now, "rx",
		       rte_pktmbuf_read(ev.m, 0, ev.m->pkt_len, sim->frame), ev.m->pkt_len);
		burst[ev.to][nb[ev.to]++] = ev.m;
		if (nb[ev.to] == NS_BURST) {
			tn_stack_input(sim->node[ev.to].st, burst[ev.to], NS_BURST, sim->now);
			nb[ev.to] = 0;
		}
		fed[ev.to] = true;
		did = true;
	}
	for (i = 0; i < sim->n; i++)
		if (nb[i])
			tn_stack_input(sim->node[i].st, burst[i], (uint16_t)nb[i], sim->now);
	/* As the dataplane does: input may have armed timers. */
	for (i = 0; i < sim->n; i++)
		if (fed[i])
			tn_stack_timers(sim->node[i].st, sim->now);
	return did;
}

static bool drain_output(struct ns_sim *sim, int i)
{
	struct rte_mbuf *out[NS_BURST];
	bool did = false;
	uint16_t n, k;

	while ((n = tn_stack_output(sim->node[i].st, out, NS_BURST)) != 0) {
		for (k = 0; k < n; k++)
			wire_send(sim, i, out[k]);
		did = true;
	}
	return did;
}

/* Runs everything due at sim->now until nothing more happens. */
static int settle(struct ns_sim *sim)
{
	unsigned pass = 0;
	bool did;
	int i;

	do {
		did = deliver_due(sim);
		tn_sched_update_clock(sim->sched);
		did |= tn_sched_run_timers(sim->sched);
		while (tn_sched_has_ready(sim->sched)) {
			tn_sched_run_ready(sim->sched);
			did = true;
		}
		/* As the dataplane does: the timers only when their deadline
		 * (which calls from tasks may have lowered) has come. */
		for (i = 0; i < sim->n; i++)
			if (tn_stack_next_deadline(sim->node[i].st) <= sim->now)
				tn_stack_timers(sim->node[i].st, sim->now);
		for (i = 0; i < sim->n; i++)
			did |= drain_output(sim, i);
		/* Input and the stacks' timers wake tasks (a connection that
		 * timed out sends nothing): they run at this instant too. */
		did |= tn_sched_has_ready(sim->sched);
		if (++pass > NS_SETTLE_MAX) {
			fprintf(stderr, "netsim: no settling at t=%" PRIu64 " ns\n", sim->now);
			return -ELOOP;
		}
	} while (did);
	return 0;
}

static uint64_t next_event(const struct ns_sim *sim)
{
	uint64_t t = tn_sched_next_deadline(sim->sched);
	int i;

	if (sim->heap_n && sim->heap[0].t < t)
		t = sim->heap[0].t;
	for (i = 0; i < sim->n; i++)
		if (tn_stack_next_deadline(sim->node[i].st) < t)
			t = tn_stack_next_deadline(sim->node[i].st);
	return t;
}

int ns_run(struct ns_sim *sim, bool (*done)(void *arg), void *arg, uint64_t limit_ns)
{
	uint64_t limit = sim->now + limit_ns < sim->now ? UINT64_MAX : sim->now + limit_ns;
	unsigned stuck = 0;
	int r;

	for (;;) {
		uint64_t next;

		if ((r = settle(sim)) != 0)
			return r;
		if (done && done(arg))
			return 0;
		next = next_event(sim);
		if (next == UINT64_MAX)
			return done ? -EDEADLK : 0;
		if (next <= sim->now) {
			/* A deadline that is due but did nothing: fine once
			 * (a timer-wheel cascade), a livelock if it lasts. */
			if (++stuck > NS_STUCK_MAX) {
				fprintf(stderr, "netsim: stuck at t=%" PRIu64 " ns\n", sim->now);
				return -ELOOP;
			}
			continue;
		}
		stuck = 0;
		if (next > limit) {
			sim->now = limit;
			return done ? -ETIMEDOUT : 0;
		}
		sim->now = next;
	}
}

/* ---- setup and teardown ---- */

static uint64_t ns_clock(void *arg)
{
	return ((struct ns_sim *)arg)->now;
}

struct ns_sim *ns_create(const struct ns_cfg *cfg)
{
	struct ns_sim *sim = calloc(1, sizeof(*sim));
	struct tn_sched_config sc = { 0 };

	if (!sim) {
		errno = ENOMEM;
		return NULL;
	}
	if (cfg)
		sim->cfg = *cfg;
	if (!sim->cfg.start_ns)
		sim->cfg.start_ns = TN_NS_PER_S;
	sim->now = sim->cfg.start_ns;
	sim->hash = 0x6a09e667f3bcc908ull ^ sim->cfg.seed;
	sc.stack_size = sim->cfg.stack_size;
	sc.clock = ns_clock;
	sc.clock_arg = sim;
	sim->sched = tn_sched_create(&sc);
	if (!sim->sched) {
		int e = errno;

		free(sim);
		errno = e;
		return NULL;
	}
	return sim;
}

static struct rte_mempool *pool_for(int i)
{
	char name[32];

	if (!ns_pools[i]) {
		snprintf(name, sizeof(name), "ns_pool%d", i);
		/* No per-lcore cache, so the available count is exact at once. */
		ns_pools[i] = rte_pktmbuf_pool_create(name, NS_POOL_N, 0, 0,
						      RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	}
	return ns_pools[i];
}

void ns_pools_free(void)
{
	for (int i = 0; i < NS_MAX_NODES; i++) {
		rte_mempool_free(ns_pools[i]);
		ns_pools[i] = NULL;
	}
}

int ns_add_node(struct ns_sim *sim, const struct tn_stack_config *cfg)
{
	struct tn_stack_config c;
	struct ns_node *nd;
	int i = sim->n, j;

	if (i == NS_MAX_NODES)
		return -ENOSPC;
	if (cfg)
		c = *cfg;
	else
		memset(&c, 0, sizeof(c));
	nd = &sim->node[i];
	if (!c.mp)
		c.mp = pool_for(i);
	if (!c.mp)
		return -ENOMEM;
	if (!c.ip) {
		c.ip = rte_cpu_to_be_32((10u << 24) | (uint32_t)(i + 1));
		c.prefix_len = 24;
	}
	if (!(c.mac[0] | c.mac[1] | c.mac[2] | c.mac[3] | c.mac[4] | c.mac[5])) {
		c.mac[0] = 0x02;
		c.mac[5] = (uint8_t)(i + 1);
	}
	if (!c.seed)
		c.seed = sim->cfg.seed * 31 + (uint64_t)i + 1;
	nd->st = tn_stack_create(&c, sim->now);
	if (!nd->st)
		return -errno;
	nd->mp = c.mp;
	memcpy(nd->mac.addr_bytes, c.mac, 6);
	nd->ip = c.ip;
	sim->n++;
	for (j = 0; j < sim->n; j++) {
		ns_rng_seed(&sim->dir[i][j].rng, sim->cfg.seed ^ (0x1000ull * (uint64_t)(i + 1) + (uint64_t)j));
		ns_rng_seed(&sim->dir[j][i].rng, sim->cfg.seed ^ (0x1000ull * (uint64_t)(j + 1) + (uint64_t)i));
	}
	return i;
}

struct tn_stack *ns_stack(struct ns_sim *sim, int node)
{
	return sim->node[node].st;
}

uint32_t ns_ip(struct ns_sim *sim, int node)
{
	return sim->node[node].ip;
}

struct rte_mempool *ns_pool(struct ns_sim *sim, int node)
{
	return sim->node[node].mp;
}

unsigned ns_pool_in_use(struct ns_sim *sim, int node)
{
	struct rte_mempool *mp = sim->node[node].mp;

	return mp->size - rte_mempool_avail_count(mp);
}

void ns_link_set(struct ns_sim *sim, int from, int to, const struct ns_link_cfg *lc)
{
	sim->dir[from][to].cfg = *lc;
}

void ns_link_set_both(struct ns_sim *sim, int a, int b, const struct ns_link_cfg *lc)
{
	ns_link_set(sim, a, b, lc);
	ns_link_set(sim, b, a, lc);
}

void ns_link_stats(struct ns_sim *sim, int from, int to, struct ns_link_stats *st)
{
	*st = sim->dir[from][to].st;
}

uint64_t ns_now(const struct ns_sim *sim)
{
	return sim->now;
}

static bool no_tasks(void *arg)
{
	struct tn_sched_stats st;

	tn_sched_get_stats(((struct ns_sim *)arg)->sched, &st);
	return st.live_tasks == 0;
}

int ns_destroy(struct ns_sim *sim)
{
	struct tn_sched_stats st;
	int bad = 0, i, r;

	/* Tasks first (they may close their sockets, which may talk on the
	 * wire), in simulated time. */
	tn_sched_cancel_all(sim->sched);
	r = ns_run(sim, no_tasks, sim, NS_DRAIN_LIMIT);
	if (r != 0) {
		fprintf(stderr, "netsim: tasks did not end after cancellation (%s)\n",
			tn_strerror(r));
		bad = 1;
	}
	for (i = 0; i < sim->n; i++)
		tn_stack_destroy(sim->node[i].st);
	while (sim->heap_n)
		rte_pktmbuf_free(heap_pop(sim).m);
	free(sim->heap);
	tn_sched_get_stats(sim->sched, &st);
	if (st.live_tasks || st.live_futures || st.live_timers || st.stacks_in_use) {
		fprintf(stderr,
			"netsim: leaked %" PRIu64 " tasks, %" PRIu64 " futures, %" PRIu64
			" timers, %" PRIu64 " stacks\n",
			st.live_tasks, st.live_futures, st.live_timers, st.stacks_in_use);
		bad = 1;
	}
	/* A task still alive cannot be freed (it may be anywhere in its
	 * code); the scheduler then stays and the process should end. */
	if (!st.live_tasks)
		tn_sched_destroy(sim->sched);
	for (i = 0; i < sim->n; i++) {
		unsigned avail = rte_mempool_avail_count(sim->node[i].mp);

		if (sim->node[i].mp == ns_pools[i] && avail != NS_POOL_N) {
			fprintf(stderr, "netsim: node %d: %u mbufs not back in its pool\n", i + 1,
				NS_POOL_N - avail);
			bad = 1;
		}
	}
	free(sim);
	return bad ? -1 : 0;
}

/* ---- describing frames ---- */

static void ip_str(uint32_t be, char *b, size_t cap)
{
	uint32_t a = rte_be_to_cpu_32(be);

	snprintf(b, cap, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static void describe_tcp(const uint8_t *p, uint32_t n, char *buf, size_t cap)
{
	const struct rte_tcp_hdr *t = (const struct rte_tcp_hdr *)p;
	static const char names[] = "FSRPAUEC";
	char fl[9];
	unsigned hl, k = 0;

	if (n < sizeof(*t)) {
		snprintf(buf, cap, "TCP truncated (%u bytes)", n);
		return;
	}
	for (int b = 0; b < 8; b++)
		if (t->tcp_flags & (1u << b))
			fl[k++] = names[b];
	fl[k] = '\0';
	hl = (t->data_off >> 4) * 4u;
	snprintf(buf, cap, "TCP %u>%u [%s] seq %u ack %u win %u len %d%s", rte_be_to_cpu_16(t->src_port),
		 rte_be_to_cpu_16(t->dst_port), fl, rte_be_to_cpu_32(t->sent_seq),
		 rte_be_to_cpu_32(t->recv_ack), rte_be_to_cpu_16(t->rx_win),
		 hl <= n ? (int)(n - hl) : -1, hl > 20 ? " +opts" : "");
}

void ns_describe(const uint8_t *f, uint32_t len, char *buf, size_t cap)
{
	const struct rte_ether_hdr *e = (const struct rte_ether_hdr *)f;
	uint16_t type;
	char s[16], d[16], tail[160];

	if (!f || len < sizeof(*e)) {
		snprintf(buf, cap, "runt (%u bytes)", len);
		return;
	}
	type = rte_be_to_cpu_16(e->ether_type);
	if (type == RTE_ETHER_TYPE_ARP) {
		const struct rte_arp_hdr *a = (const struct rte_arp_hdr *)(e + 1);

		if (len < sizeof(*e) + sizeof(*a)) {
			snprintf(buf, cap, "ARP truncated");
			return;
		}
		ip_str(a->arp_data.arp_tip, d, sizeof(d));
		ip_str(a->arp_data.arp_sip, s, sizeof(s));
		snprintf(buf, cap, "ARP %s %s from %s",
			 a->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ? "who-has" : "reply",
			 d, s);
		return;
	}
	if (type == RTE_ETHER_TYPE_IPV4) {
		const struct rte_ipv4_hdr *h = (const struct rte_ipv4_hdr *)(e + 1);
		uint32_t n = len - sizeof(*e), hl;
		uint16_t fo;
		const uint8_t *p;

		if (n < sizeof(*h)) {
			snprintf(buf, cap, "IPv4 truncated");
			return;
		}
		hl = (h->version_ihl & 15) * 4u;
		fo = rte_be_to_cpu_16(h->fragment_offset);
		ip_str(h->src_addr, s, sizeof(s));
		ip_str(h->dst_addr, d, sizeof(d));
		if (hl < sizeof(*h) || hl > n) {
			snprintf(buf, cap, "IPv4 %s>%s bad ihl", s, d);
			return;
		}
		n = rte_be_to_cpu_16(h->total_length) <= n && rte_be_to_cpu_16(h->total_length) >= hl ?
			    rte_be_to_cpu_16(h->total_length) - hl : n - hl;
		p = (const uint8_t *)h + hl;
		if (fo & (RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG)) {
			snprintf(buf, cap, "IPv4 %s>%s proto %u frag id %u off %u%s len %u", s, d,
				 h->next_proto_id, rte_be_to_cpu_16(h->packet_id),
				 (fo & RTE_IPV4_HDR_OFFSET_MASK) * 8,
				 fo & RTE_IPV4_HDR_MF_FLAG ? " MF" : "", n);
			return;
		}
		if (h->next_proto_id == IPPROTO_TCP) {
			describe_tcp(p, n, tail, sizeof(tail));
		} else if (h->next_proto_id == IPPROTO_UDP && n >= sizeof(struct rte_udp_hdr)) {
			const struct rte_udp_hdr *u = (const struct rte_udp_hdr *)p;

			snprintf(tail, sizeof(tail), "UDP %u>%u len %u", rte_be_to_cpu_16(u->src_port),
				 rte_be_to_cpu_16(u->dst_port), n - 8);
		} else if (h->next_proto_id == IPPROTO_ICMP && n >= 4) {
			snprintf(tail, sizeof(tail), "ICMP type %u code %u", p[0], p[1]);
		} else {
			snprintf(tail, sizeof(tail), "proto %u len %u", h->next_proto_id, n);
		}
		snprintf(buf, cap, "%s>%s %s", s, d, tail);
		return;
	}
	snprintf(buf, cap, "ethertype 0x%04x len %u", type, len);
}
