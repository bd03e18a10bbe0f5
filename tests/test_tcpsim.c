/* TCP in the network simulator (tests/netsim.c): for each seed, two
 * stacks on a link whose loss, reordering, duplication, corruption,
 * delay, bandwidth and queue are drawn from the seed, one connection
 * with options drawn from the seed too, and a transfer in each
 * direction (0 bytes, 1, a few, about an MSS, up to a MB; a few seeds
 * several MB) in one of three shapes: both directions at once, or
 * request then response with a half-close between them (either side
 * first).  Every byte is checked against the sender's PRNG stream as it
 * is read; both ends must see the end of stream and close cleanly (on a
 * link losing 20-40% of its frames a connection may instead end with
 * -ETIMEDOUT or -ECONNRESET, and what arrived must still be a correct
 * prefix); then the simulation runs until nothing is left to happen
 * (TIME-WAIT over), and no mbuf may be held, no timer armed, and the
 * counters must agree with what the link did.
 *
 * Pure CPU in virtual time.  Environment:
 *   TN_SIM_SEED=N     run only seed N (prints its scenario and counters)
 *   TN_SIM_TRACE=1    one line per frame event on stderr (with TN_SIM_SEED)
 *   TN_SIM_SEEDS=N    how many seeds (default 1000), from TN_SIM_FIRST (1)
 *   TN_SIM_STOP=1     stop at the first failing seed
 * A failing seed prints how to reproduce it. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <tern/coro.h>
#include <tern/tcp.h>

#include "eal_test.h"
#include "netsim.h"

#define SRV_PORT 8080
#define BUFSZ (128 * 1024)
#define RUN_LIMIT (6 * 3600 * TN_NS_PER_S)   /* virtual time for the transfer */
#define QUIET_LIMIT (4 * 3600 * TN_NS_PER_S) /* and for everything to end after */
#define MS ((uint64_t)TN_NS_PER_MS)
#define US ((uint64_t)TN_NS_PER_US)

enum { MODE_DUPLEX, MODE_CLIENT_FIRST, MODE_SERVER_FIRST, MODE_N };
static const char *const mode_name[] = { "duplex", "client-first", "server-first" };

struct scen {
	struct ns_link_cfg link[2]; /* [0] client -> server, [1] back */
	uint64_t len[2];            /* bytes client -> server, server -> client */
	struct tn_tcp_opts opts[2]; /* client, server */
	int mode;
	bool shut_second;           /* the second sender shuts down before close */
	bool drain[2];              /* tn_tcp_drain before the end */
	bool extreme;               /* a direction loses >= 20% */
	/* An outage: both directions lose everything from outage_at (after
	 * the start) for outage_len, or for good (OUTAGE_FOREVER: keepalive
	 * on, fewer retries, and both ends must end in -ETIMEDOUT unless
	 * they were done). */
	int outage;
	uint64_t outage_at, outage_len;
	uint64_t read_timeout;      /* the application's, over all its reads (0: none) */
};

enum { OUTAGE_NONE, OUTAGE_TEMP, OUTAGE_FOREVER };

struct run;

struct side {
	struct run *run;
	int id; /* 0 client, 1 server */
	struct tn_stack *st;
	struct tn_tcp_conn *c;
	struct ns_rng rng;
	uint64_t tx_len, rx_len, tx_key, rx_key;
	uint64_t sent, got;
	uint32_t rcvbuf; /* the effective receive buffer */
	int err;
	const char *err_at;
	bool eof, done, writer_done;
	struct tn_tcp_info info;
	uint8_t *wbuf, *rbuf, *ebuf;
};

struct run {
	uint64_t seed;
	struct scen sc;
	struct ns_sim *sim;
	struct tn_tcp_listener *l;
	struct side side[2];
	bool failed;
	char why[512];
};

static bool verbose, trace_app;

/* With TN_SIM_TRACE: the application's calls, among the frame events. */
static void applog(const struct side *s, const char *fmt, ...)
{
	va_list ap;
	uint64_t t;

	if (!trace_app)
		return;
	t = tn_now() - TN_NS_PER_S;
	fprintf(stderr, "%6llu.%06llu app%d       ", (unsigned long long)(t / TN_NS_PER_MS),
		(unsigned long long)(t % TN_NS_PER_MS), s->id + 1);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void fail(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return;
	r->failed = true;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

/* ---- the byte streams ---- */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Bytes off .. off + n of stream key. */
static void stream_fill(uint64_t key, uint64_t off, uint8_t *b, size_t n)
{
	while (n) {
		uint64_t v = mix64(key ^ ((off >> 3) * 0x9e3779b97f4a7c15ull));
		unsigned k = off & 7;

		for (; k < 8 && n; k++, n--, off++)
			*b++ = (uint8_t)(v >> (8 * k));
	}
}

/* n received bytes at the side's read position: they must be the next
 * bytes of the peer's stream. */
static bool check_rx(struct side *s, const uint8_t *p, size_t n)
{
	if (s->got + n > s->rx_len) {
		fail(s->run, "side %d: %zu bytes at %" PRIu64 " past the %" PRIu64 " sent", s->id, n,
		     s->got, s->rx_len);
		return false;
	}
	stream_fill(s->rx_key, s->got, s->ebuf, n);
	if (memcmp(p, s->ebuf, n) != 0) {
		size_t i = 0;

		while (p[i] == s->ebuf[i])
			i++;
		fail(s->run, "side %d: byte %" PRIu64 " is 0x%02x, sent 0x%02x", s->id, s->got + i,
		     p[i], s->ebuf[i]);
		return false;
	}
	s->got += n;
	return true;
}

static void set_err(struct side *s, int err, const char *at)
{
	if (!s->err) {
		s->err = err;
		s->err_at = at;
	}
}

/* ---- the application ---- */

/* Writes the side's stream, in chunks of varied sizes and three ways
 * (copy, gather, zero copy). */
static int do_write(struct side *s)
{
	struct rte_mempool *mp = ns_pool(s->run->sim, s->id);

	while (s->sent < s->tx_len) {
		uint64_t left = s->tx_len - s->sent;
		uint64_t want = 1 + ns_rng_below(&s->rng, ns_rng_below(&s->rng, 4) ? 4096 : BUFSZ);
		uint32_t n = (uint32_t)(want < left ? want : left);
		unsigned how = (unsigned)ns_rng_below(&s->rng, 8);
		int r;

		stream_fill(s->tx_key, s->sent, s->wbuf, n);
		if (how == 0 && n >= 2) {
			struct iovec iov[4];
			int k = 1 + (int)ns_rng_below(&s->rng, 4), i;
			uint32_t off = 0;

			for (i = 0; i < k; i++) {
				uint32_t part = i == k - 1 ? n - off : (uint32_t)ns_rng_below(&s->rng, n - off + 1);

				iov[i].iov_base = s->wbuf + off;
				iov[i].iov_len = part;
				off += part;
			}
			r = tn_tcp_writev(s->c, iov, k);
			applog(s, "writev(%d iovecs, %u) -> %d", k, n, r);
		} else if (how == 1) {
			/* A chain of up to 4 mbufs from this node's pool. */
			uint32_t seg = 1 + (uint32_t)ns_rng_below(&s->rng, 2000), off = 0;
			struct rte_mbuf *head = NULL, *last = NULL;

			if (n > 4 * seg)
				n = 4 * seg;
			while (off < n) {
				struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
				uint32_t k = n - off < seg ? n - off : seg;

				if (!m)
					break;
				memcpy(rte_pktmbuf_append(m, (uint16_t)k), s->wbuf + off, k);
				if (head) {
					last->next = m;
					head->nb_segs++;
					head->pkt_len += k;
				} else {
					head = m;
				}
				last = m;
				off += k;
			}
			if (!head) {
				fail(s->run, "side %d: pool dry", s->id);
				return -ENOBUFS;
			}
			n = off;
			r = tn_tcp_send_mbuf(s->c, head);
			applog(s, "send_mbuf(%u in %u-byte segments) -> %d", n, seg, r);
		} else {
			r = tn_tcp_write(s->c, s->wbuf, n);
			applog(s, "write(%u) -> %d", n, r);
		}
		if (r) {
			set_err(s, r, "write");
			return r;
		}
		s->sent += n;
	}
	if (s->run->sc.drain[s->id]) {
		int r = tn_tcp_drain(s->c);

		applog(s, "drain -> %d", r);
		if (r) {
			set_err(s, r, "drain");
			return r;
		}
		tn_tcp_info(s->c, &s->info);
		if (s->info.bytes_acked != s->tx_len || s->info.unacked)
			fail(s->run, "side %d: drained, but %" PRIu64 " of %" PRIu64 " acked, %u unacked",
			     s->id, s->info.bytes_acked, s->tx_len, s->info.unacked);
	}
	return 0;
}

/* Reads to the end of the stream, three ways (copy, exact, zero copy). */
static int do_read(struct side *s)
{
	while (!s->eof && !s->run->failed) {
		unsigned how = (unsigned)ns_rng_below(&s->rng, 6);
		ssize_t n;

		if (how == 0) {
			size_t want = 1 + ns_rng_below(&s->rng, 4096);

			if (want > s->rcvbuf)
				want = s->rcvbuf;

			applog(s, "read_exactly(%zu) ...", want);
			n = tn_tcp_read_exactly(s->c, s->rbuf, want);
			applog(s, "read_exactly(%zu) -> %zd", want, n);
			if (n < 0) {
				set_err(s, (int)n, "read_exactly");
				return (int)n;
			}
			if (!check_rx(s, s->rbuf, (size_t)n))
				return -EPROTO;
			if ((size_t)n < want)
				s->eof = true; /* the stream ended first */
		} else if (how == 1) {
			struct rte_mbuf *m[32];
			uint16_t k, i;
			int r;

			applog(s, "wait_readable ...");
			r = tn_tcp_wait_readable(s->c);
			applog(s, "wait_readable -> %d", r);
			if (r) {
				set_err(s, r, "wait_readable");
				return r;
			}
			k = tn_tcp_recv_burst(s->c, m, (uint16_t)(1 + ns_rng_below(&s->rng, 32)));
			applog(s, "recv_burst -> %u mbufs", k);
			for (i = 0; i < k; i++) {
				bool ok = m[i]->next == NULL && m[i]->nb_segs == 1 &&
					  m[i]->pkt_len == m[i]->data_len;

				if (!ok)
					fail(s->run, "side %d: recv_burst gave a chained mbuf", s->id);
				else if (!check_rx(s, rte_pktmbuf_mtod(m[i], uint8_t *), m[i]->data_len))
					ok = false;
				rte_pktmbuf_free(m[i]);
				if (!ok) {
					rte_pktmbuf_free_bulk(m + i + 1, k - i - 1);
					return -EPROTO;
				}
			}
			if (k == 0) {
				if (!tn_tcp_at_eof(s->c)) {
					fail(s->run, "side %d: readable, but nothing to read and no EOF",
					     s->id);
					return -EPROTO;
				}
				s->eof = true;
			}
		} else {
			size_t want = 1 + ns_rng_below(&s->rng, ns_rng_below(&s->rng, 2) ? 2048 : BUFSZ);

			applog(s, "read(%zu) ...", want);
			n = tn_tcp_read(s->c, s->rbuf, want);
			applog(s, "read(%zu) -> %zd", want, n);
			if (n < 0) {
				set_err(s, (int)n, "read");
				return (int)n;
			}
			if (n == 0)
				s->eof = true;
			else if (!check_rx(s, s->rbuf, (size_t)n))
				return -EPROTO;
		}
	}
	if (s->eof && s->got != s->rx_len)
		fail(s->run, "side %d: end of stream after %" PRIu64 " of %" PRIu64 " bytes", s->id,
		     s->got, s->rx_len);
	return 0;
}

/* do_read, under the scenario's application timeout if it has one. */
static int do_read_guarded(struct side *s)
{
	struct tn_timeout to;
	int r;

	if (!s->run->sc.read_timeout)
		return do_read(s);
	tn_timeout_enter(&to, tn_now() + s->run->sc.read_timeout);
	r = tn_timeout_exit(&to, do_read(s));
	if (r == -ETIMEDOUT && s->err == -ECANCELED) {
		s->err = -ETIMEDOUT;
		s->err_at = "read (the application's timeout)";
	}
	return r;
}

static intptr_t writer_task(void *arg)
{
	struct side *s = arg;

	if (do_write(s) == 0) {
		int r = tn_tcp_shutdown(s->c);

		applog(s, "shutdown -> %d", r);
		if (r)
			fail(s->run, "side %d: shutdown failed", s->id);
	}
	s->writer_done = true;
	return 0;
}

/* One end's life once connected; closes the connection at the end. */
static void flow(struct side *s)
{
	struct scen *sc = &s->run->sc;
	bool first = (sc->mode == MODE_CLIENT_FIRST) == (s->id == 0);
	int r;

	applog(s, "connected");
	if (sc->mode == MODE_DUPLEX) {
		struct tn_task *t = tn_task_spawn(writer_task, s);
		struct tn_future *f = tn_task_join(t);

		/* When the connection dies, the writer's calls fail too; when
		 * the check failed, it may wait for room forever. */
		do_read_guarded(s);
		if (s->run->failed)
			tn_task_cancel(t);
		tn_await(f, NULL);
	} else if (first) {
		if (do_write(s) == 0) {
			r = tn_tcp_shutdown(s->c);
			applog(s, "shutdown -> %d", r);
			if (r)
				set_err(s, r, "shutdown");
			else
				do_read_guarded(s);
		}
	} else {
		if (do_read_guarded(s) == 0 && !s->err && do_write(s) == 0 && sc->shut_second) {
			r = tn_tcp_shutdown(s->c);
			applog(s, "shutdown -> %d", r);
			if (r)
				set_err(s, r, "shutdown");
		}
	}
	tn_tcp_info(s->c, &s->info);
	if (s->err && ns_rng_below(&s->rng, 2)) {
		applog(s, "abort");
		tn_tcp_abort(s->c);
	} else {
		applog(s, "close");
		tn_tcp_close(s->c);
	}
	s->c = NULL;
}

static intptr_t client_task(void *arg)
{
	struct side *s = arg;
	struct run *r = s->run;
	int e = tn_tcp_connect(s->st, ns_ip(r->sim, 1), SRV_PORT, &r->sc.opts[0], &s->c);

	if (e)
		set_err(s, e, "connect");
	else
		flow(s);
	/* If the server has not accepted it yet (its handshake's last ACK
	 * lost in an outage), it never will: stop listening. */
	if (r->l) {
		tn_tcp_listener_close(r->l);
		r->l = NULL;
	}
	s->done = true;
	return 0;
}

static intptr_t server_task(void *arg)
{
	struct side *s = arg;
	struct run *r = s->run;
	int e = tn_tcp_accept(r->l, &s->c);

	if (e) {
		set_err(s, e, "accept");
	} else {
		tn_tcp_listener_close(r->l);
		r->l = NULL;
		flow(s);
	}
	s->done = true;
	return 0;
}

/* Cuts the link at outage_at, and mends it outage_len later unless the
 * outage is for good. */
static intptr_t outage_task(void *arg)
{
	struct run *r = arg;
	struct ns_link_cfg dead[2];

	if (tn_sleep(r->sc.outage_at) != 0)
		return 0;
	for (int i = 0; i < 2; i++) {
		dead[i] = r->sc.link[i];
		dead[i].loss = 1.0;
	}
	ns_link_set(r->sim, 0, 1, &dead[0]);
	ns_link_set(r->sim, 1, 0, &dead[1]);
	if (trace_app)
		fprintf(stderr, "link down\n");
	if (r->sc.outage == OUTAGE_FOREVER || tn_sleep(r->sc.outage_len) != 0)
		return 0;
	ns_link_set(r->sim, 0, 1, &r->sc.link[0]);
	ns_link_set(r->sim, 1, 0, &r->sc.link[1]);
	if (trace_app)
		fprintf(stderr, "link up\n");
	return 0;
}

/* ---- scenarios ---- */

static uint64_t pick_size(struct ns_rng *g, bool big_ok)
{
	uint64_t x = ns_rng_below(g, 100);
	static const uint64_t mss[] = { 536, 1448, 1460 };

	if (x < 8)
		return 0;
	if (x < 16)
		return 1;
	if (x < 28)
		return 2 + ns_rng_below(g, 15);
	if (x < 45)
		return (1 + ns_rng_below(g, 3)) * mss[ns_rng_below(g, 3)] - 2 + ns_rng_below(g, 5);
	if (x < 85 || !big_ok)
		return 1024 + ns_rng_below(g, 63 * 1024);
	if (x < 97)
		return 65536 + ns_rng_below(g, 448 * 1024);
	return 512 * 1024 + ns_rng_below(g, 512 * 1024);
}

static void pick_link(struct ns_rng *g, struct ns_link_cfg *l, bool *extreme)
{
	static const uint64_t delays[] = { 0, 10 * US, 100 * US, MS, 5 * MS, 25 * MS, 100 * MS };
	static const uint64_t rates[] = { 0, 0, 1000000, 10000000, 100000000, 1000000000 };
	static const uint32_t queues[] = { 8192, 32768, 65536, 262144 };

	memset(l, 0, sizeof(*l));
	l->delay_ns = delays[ns_rng_below(g, 7)];
	l->rate_bps = rates[ns_rng_below(g, 6)];
	l->queue_bytes = queues[ns_rng_below(g, 4)];
	if (ns_rng_below(g, 4) == 0)
		return; /* a clean link */
	if (ns_rng_below(g, 100) < 60)
		l->loss = ns_rng_unit(g) * 0.05;
	if (ns_rng_below(g, 100) < 3) {
		l->loss = 0.2 + ns_rng_unit(g) * 0.2;
		*extreme = true;
	}
	if (ns_rng_below(g, 100) < 30) {
		l->reorder = ns_rng_unit(g) * 0.2;
		l->reorder_ns = 1 + ns_rng_below(g, 2 * l->delay_ns + 2 * MS);
	}
	if (ns_rng_below(g, 100) < 20)
		l->dup = ns_rng_unit(g) * 0.05;
	if (ns_rng_below(g, 100) < 15)
		l->corrupt = ns_rng_unit(g) * 0.02;
	if (ns_rng_below(g, 100) < 10)
		l->rx_seg = 64 + (uint32_t)ns_rng_below(g, 512);
}

static void pick_opts(struct ns_rng *g, struct tn_tcp_opts *o)
{
	static const uint32_t bufs[] = { 0, 4096, 16384, 65536, 1 << 20 };

	memset(o, 0, sizeof(*o));
	o->nagle = ns_rng_below(g, 4) == 0;
	o->delack_off = ns_rng_below(g, 4) == 0;
	o->no_sack = ns_rng_below(g, 5) == 0;
	o->no_timestamps = ns_rng_below(g, 5) == 0;
	o->no_wscale = ns_rng_below(g, 6) == 0;
	o->cc = (uint8_t)ns_rng_below(g, 3);
	o->sndbuf = bufs[ns_rng_below(g, 5)];
	o->rcvbuf = bufs[ns_rng_below(g, 5)];
	if (ns_rng_below(g, 5) == 0)
		o->mss = (uint16_t)(536 + ns_rng_below(g, 1000));
	if (ns_rng_below(g, 3) == 0)
		o->rto_min_ns = (1 + ns_rng_below(g, 50)) * MS;
	if (ns_rng_below(g, 10) == 0) {
		o->keepalive = true;
		o->ka_idle_ns = 10 * TN_NS_PER_S;
		o->ka_intvl_ns = TN_NS_PER_S;
		o->ka_cnt = 5;
	}
}

static void pick(uint64_t seed, struct scen *sc)
{
	struct ns_rng g;
	uint64_t x;
	bool big;

	memset(sc, 0, sizeof(*sc));
	ns_rng_seed(&g, seed * 0x100000001b3ull + 17);
	pick_link(&g, &sc->link[0], &sc->extreme);
	pick_link(&g, &sc->link[1], &sc->extreme);
	pick_opts(&g, &sc->opts[0]);
	pick_opts(&g, &sc->opts[1]);
	sc->mode = (int)ns_rng_below(&g, MODE_N);
	sc->shut_second = ns_rng_below(&g, 2);
	sc->drain[0] = ns_rng_below(&g, 3) == 0;
	sc->drain[1] = ns_rng_below(&g, 3) == 0;
	/* Heavy loss makes every segment cost seconds of backoff: keep
	 * those transfers small. */
	big = !sc->extreme;
	sc->len[0] = pick_size(&g, big);
	sc->len[1] = pick_size(&g, big);
	/* Outages: 5% heal, 3% do not. */
	x = ns_rng_below(&g, 100);
	if (x < 8) {
		sc->outage = x < 5 ? OUTAGE_TEMP : OUTAGE_FOREVER;
		sc->outage_at = ns_rng_below(&g, 3 * TN_NS_PER_S);
		sc->outage_len = 500 * MS + ns_rng_below(&g, 20 * TN_NS_PER_S);
		if (sc->outage == OUTAGE_FOREVER) {
			for (int i = 0; i < 2; i++) {
				sc->opts[i].keepalive = true;
				sc->opts[i].ka_idle_ns = 10 * TN_NS_PER_S;
				sc->opts[i].ka_intvl_ns = TN_NS_PER_S;
				sc->opts[i].ka_cnt = 5;
				sc->opts[i].retries = 6;
				sc->opts[i].syn_retries = 3;
			}
		}
	}
	/* A few seeds move several MB over a decent link. */
	if (seed % 200 == 7) {
		sc->outage = OUTAGE_NONE;
		sc->link[0].loss = sc->link[0].loss > 0.01 ? 0.01 : sc->link[0].loss;
		sc->link[1].loss = sc->link[1].loss > 0.01 ? 0.01 : sc->link[1].loss;
		if (sc->link[0].rate_bps && sc->link[0].rate_bps < 100000000)
			sc->link[0].rate_bps = 100000000;
		sc->extreme = false;
		sc->len[0] = 4 * 1024 * 1024 + ns_rng_below(&g, 1024 * 1024);
	}
}

static void print_link(const char *name, const struct ns_link_cfg *l)
{
	printf("  %s: delay %" PRIu64 " us, rate %" PRIu64 " bit/s, queue %u B, loss %.4f, "
	       "reorder %.3f (%" PRIu64 " us), dup %.3f, corrupt %.4f, rx_seg %u\n",
	       name, l->delay_ns / US, l->rate_bps, l->queue_bytes, l->loss, l->reorder,
	       l->reorder_ns / US, l->dup, l->corrupt, l->rx_seg);
}

static void print_opts(const char *name, const struct tn_tcp_opts *o)
{
	printf("  %s opts: nagle %d delack_off %d sack %d ts %d wscale %d cc %u sndbuf %u "
	       "rcvbuf %u mss %u rto_min %" PRIu64 " ms keepalive %d\n",
	       name, o->nagle, o->delack_off, !o->no_sack, !o->no_timestamps, !o->no_wscale, o->cc,
	       o->sndbuf, o->rcvbuf, o->mss, o->rto_min_ns / MS, o->keepalive);
}

static void print_scen(uint64_t seed, const struct scen *sc)
{
	printf("seed %" PRIu64 ": %s, %" PRIu64 " bytes client->server, %" PRIu64
	       " back, shut_second %d, drain %d/%d%s\n",
	       seed, mode_name[sc->mode], sc->len[0], sc->len[1], sc->shut_second, sc->drain[0],
	       sc->drain[1], sc->extreme ? ", extreme loss" : "");
	if (sc->outage)
		printf("  outage at %.3f s, %s\n", (double)sc->outage_at / TN_NS_PER_S,
		       sc->outage == OUTAGE_FOREVER ? "for good" : "healing");
	if (sc->outage == OUTAGE_TEMP)
		printf("  outage lasts %.3f s\n", (double)sc->outage_len / TN_NS_PER_S);
	print_link("client->server", &sc->link[0]);
	print_link("server->client", &sc->link[1]);
	print_opts("client", &sc->opts[0]);
	print_opts("server", &sc->opts[1]);
}

static void print_stats(int node, const struct tn_stack_stats *st)
{
	printf("  node %d: tcp rx %" PRIu64 " tx %" PRIu64 " rst_tx %" PRIu64 " rst_rx %" PRIu64
	       " bad_csum %" PRIu64 " bad_seq %" PRIu64 " bad_ack %" PRIu64 " rcvwnd_drop %" PRIu64
	       " ooo_drop %" PRIu64 " no_conn %" PRIu64 " retrans %" PRIu64 " rto %" PRIu64
	       " fast %" PRIu64 " zwp %" PRIu64 " delacks %" PRIu64 " timeouts %" PRIu64
	       " challenge %" PRIu64 " paws %" PRIu64 "\n",
	       node, st->tcp_rx, st->tcp_tx, st->tcp_rst_tx, st->tcp_rst_rx, st->tcp_bad_csum,
	       st->tcp_bad_seq, st->tcp_bad_ack, st->tcp_rcvwnd_drop, st->tcp_ooo_drop,
	       st->tcp_no_conn, st->tcp_retransmits, st->tcp_rto, st->tcp_fast_retransmits,
	       st->tcp_zwp, st->tcp_delayed_acks, st->tcp_timeouts, st->tcp_challenge_ack,
	       st->tcp_paws);
}

/* ---- one seed ---- */

static bool both_done(void *arg)
{
	struct run *r = arg;

	return (r->side[0].done && r->side[1].done) || r->failed;
}

static bool allowed_error(int e)
{
	return e == 0 || e == -ETIMEDOUT || e == -ECONNRESET || e == -EPIPE;
}

/* Whether keepalive ended side s: -ETIMEDOUT with keepalive on and
 * nothing of its own in flight (else the retransmission timer owns the
 * connection, and no healing outage outlasts its retries).  A healing
 * outage may outlast the keepalive's idle time and probes: then a side
 * waiting for its peer rightly gives up, as Linux's would. */
static bool keepalive_ended(const struct run *r, const struct side *s)
{
	return s->err == -ETIMEDOUT && r->sc.opts[s->id].keepalive && s->info.unacked == 0;
}

/* The outcome at each end, after the transfer. */
static void judge_side(struct run *r, struct side *s)
{
	if (r->failed)
		return;
	if (s->err) {
		bool ok;

		if (s->id == 1 && s->err == -EBADF && strcmp(s->err_at, "accept") == 0)
			/* The client gave up before the server accepted. */
			ok = r->side[0].err != 0;
		else if (r->sc.outage == OUTAGE_FOREVER)
			ok = s->err == -ETIMEDOUT || s->err == -EPIPE;
		else if (r->sc.outage == OUTAGE_TEMP && keepalive_ended(r, s))
			ok = true;
		else if (r->sc.outage == OUTAGE_TEMP && keepalive_ended(r, &r->side[1 - s->id]))
			/* The peer gave up during the outage; its stack answers
			 * with a RST after. */
			ok = s->err == -ECONNRESET || s->err == -EPIPE;
		else
			ok = r->sc.extreme && allowed_error(s->err);
		if (!ok)
			fail(r, "side %d: %s: %s", s->id, s->err_at, tn_strerror(s->err));
		return;
	}
	if (s->sent != s->tx_len)
		fail(r, "side %d: wrote %" PRIu64 " of %" PRIu64 " bytes", s->id, s->sent, s->tx_len);
	else if (!s->eof)
		fail(r, "side %d: no end of stream (%" PRIu64 " of %" PRIu64 " bytes)", s->id, s->got,
		     s->rx_len);
	else if (s->info.bytes_received != s->rx_len)
		fail(r, "side %d: tn_tcp_info says %" PRIu64 " bytes received, %" PRIu64 " read",
		     s->id, s->info.bytes_received, s->rx_len);
}

/* The stack's counters against what the link did. */
static void judge_stats(struct run *r, int node, const struct tn_stack_stats *st)
{
	struct ns_link_stats in;
	const struct ns_link_cfg *l = &r->sc.link[1 - node];
	bool clean_in;

	ns_link_stats(r->sim, 1 - node, node, &in);
	clean_in = in.corrupted == 0;
	if (st->tcp_bad_csum > in.corrupted)
		fail(r, "node %d: %" PRIu64 " bad checksums from %" PRIu64 " corrupted frames", node,
		     st->tcp_bad_csum, in.corrupted);
	if (clean_in && (st->tcp_bad_csum || st->tcp_bad_len || st->tcp_bad_opts ||
			 st->tcp_bad_flags))
		fail(r, "node %d: malformed segments on a link that corrupts nothing", node);
	if (st->tcp_rx > in.delivered)
		fail(r, "node %d: %" PRIu64 " segments in from %" PRIu64 " frames", node, st->tcp_rx,
		     in.delivered);
	if (!r->sc.extreme && r->sc.outage != OUTAGE_FOREVER && !r->side[0].err && !r->side[1].err &&
	    (st->tcp_timeouts || st->tcp_estab_resets || st->tcp_aborts))
		fail(r, "node %d: %" PRIu64 " timeouts, %" PRIu64 " resets, %" PRIu64
		     " aborts in a clean run", node, st->tcp_timeouts, st->tcp_estab_resets,
		     st->tcp_aborts);
	/* Segments fit the MTU (1500 both ways): IPv4 never fragments them. */
	if (st->ip_frag_tx)
		fail(r, "node %d: %" PRIu64 " IPv4 fragments sent", node, st->ip_frag_tx);
	if (st->tcp_active_opens != (node == 0))
		fail(r, "node %d: %" PRIu64 " active opens", node, st->tcp_active_opens);
	(void)l;
}

static void print_wire(struct run *r);

static void judge_wire(struct run *r)
{
	const struct ns_link_cfg *a = &r->sc.link[0], *b = &r->sc.link[1];
	struct ns_link_stats s01, s10;
	struct tn_stack_stats st[2];

	ns_link_stats(r->sim, 0, 1, &s01);
	ns_link_stats(r->sim, 1, 0, &s10);
	tn_stack_stats_get(ns_stack(r->sim, 0), &st[0]);
	tn_stack_stats_get(ns_stack(r->sim, 1), &st[1]);
	/* A perfect link needs no retransmission timeout and, but for tail
	 * loss probes (spurious when the peer delays its ACK), no
	 * retransmission: no loss, no reordering, no queue (so no delay
	 * spike past the RTO), nothing corrupt, no outage, and the default
	 * RTO floor (a floor below the peer's delayed-ACK timeout makes
	 * spurious timeouts legitimately). */
	if (!r->failed && !r->sc.opts[0].rto_min_ns && !r->sc.opts[1].rto_min_ns &&
	    r->sc.outage == OUTAGE_NONE && a->loss == 0 && b->loss == 0 && a->reorder == 0 &&
	    b->reorder == 0 && a->corrupt == 0 && b->corrupt == 0 && a->dup == 0 && b->dup == 0 &&
	    !a->rate_bps && !b->rate_bps) {
		for (int i = 0; i < 2; i++) {
			if (st[i].tcp_rto)
				fail(r, "node %d: %" PRIu64 " retransmission timeouts on a perfect link",
				     i, st[i].tcp_rto);
			else if (st[i].tcp_retransmits > st[i].tcp_tlp)
				fail(r, "node %d: %" PRIu64 " retransmissions (%" PRIu64
				     " fast) on a perfect link", i,
				     st[i].tcp_retransmits - st[i].tcp_tlp, st[i].tcp_fast_retransmits);
		}
	}
	for (int i = 0; i < 2; i++)
		judge_stats(r, i, &st[i]);
	if (verbose)
		print_wire(r);
}

static void print_wire(struct run *r)
{
	struct ns_link_stats s01, s10;
	struct tn_stack_stats st[2];

	ns_link_stats(r->sim, 0, 1, &s01);
	ns_link_stats(r->sim, 1, 0, &s10);
	tn_stack_stats_get(ns_stack(r->sim, 0), &st[0]);
	tn_stack_stats_get(ns_stack(r->sim, 1), &st[1]);
	{
		printf("  wire c->s: offered %" PRIu64 " lost %" PRIu64 " qdrop %" PRIu64 " dup %" PRIu64
		       " reord %" PRIu64 " corrupt %" PRIu64 "\n",
		       s01.offered, s01.lost, s01.queue_drops, s01.dups, s01.reordered, s01.corrupted);
		printf("  wire s->c: offered %" PRIu64 " lost %" PRIu64 " qdrop %" PRIu64 " dup %" PRIu64
		       " reord %" PRIu64 " corrupt %" PRIu64 "\n",
		       s10.offered, s10.lost, s10.queue_drops, s10.dups, s10.reordered, s10.corrupted);
		print_stats(0, &st[0]);
		print_stats(1, &st[1]);
	}
}

struct totals {
	uint64_t seeds, failed, extreme, extreme_err, outages, outage_err, bytes, vtime_ns, retrans,
		frames;
};

static int run_seed(uint64_t seed, bool trace, struct totals *tot)
{
	static struct run r;
	struct ns_cfg nc = { .seed = seed, .trace = trace };
	uint64_t t0;
	int e, i;

	memset(&r, 0, sizeof(r));
	r.seed = seed;
	pick(seed, &r.sc);
	if (verbose)
		print_scen(seed, &r.sc);
	r.sim = ns_create(&nc);
	if (!r.sim) {
		printf("seed %" PRIu64 ": ns_create: %s\n", seed, strerror(errno));
		exit(1);
	}
	for (i = 0; i < 2; i++) {
		struct side *s = &r.side[i];
		static uint8_t bufs[2][3][BUFSZ];

		if (ns_add_node(r.sim, NULL) != i) {
			printf("seed %" PRIu64 ": ns_add_node failed\n", seed);
			exit(1);
		}
		s->run = &r;
		s->id = i;
		s->st = ns_stack(r.sim, i);
		s->tx_len = r.sc.len[i];
		/* tcp.c's defaults: 0 means 256 KiB, and at least 2 KiB. */
		s->rcvbuf = r.sc.opts[i].rcvbuf ? r.sc.opts[i].rcvbuf : TN_TCP_BUF_DEFAULT;
		if (s->rcvbuf < 2048)
			s->rcvbuf = 2048;
		s->rx_len = r.sc.len[1 - i];
		s->tx_key = mix64(seed * 2 + (uint64_t)i);
		s->rx_key = mix64(seed * 2 + (uint64_t)(1 - i));
		ns_rng_seed(&s->rng, seed * 7 + (uint64_t)i);
		s->wbuf = bufs[i][0];
		s->rbuf = bufs[i][1];
		s->ebuf = bufs[i][2];
	}
	ns_link_set(r.sim, 0, 1, &r.sc.link[0]);
	ns_link_set(r.sim, 1, 0, &r.sc.link[1]);
	t0 = ns_now(r.sim);

	e = tn_tcp_listen(r.side[1].st, 0, SRV_PORT, 4, &r.sc.opts[1], &r.l);
	if (e) {
		fail(&r, "listen: %s", tn_strerror(e));
	} else {
		if (r.sc.outage)
			tn_task_detach(tn_task_spawn(outage_task, &r));
		tn_task_detach(tn_task_spawn(server_task, &r.side[1]));
		tn_task_detach(tn_task_spawn(client_task, &r.side[0]));
		e = ns_run(r.sim, both_done, &r, RUN_LIMIT);
		if (e == -ETIMEDOUT)
			fail(&r, "no end after %" PRIu64 " s of virtual time", RUN_LIMIT / TN_NS_PER_S);
		else if (e == -EDEADLK)
			fail(&r, "deadlock: tasks wait and nothing can happen");
		else if (e)
			fail(&r, "ns_run: %s", tn_strerror(e));
	}
	for (i = 0; i < 2; i++)
		judge_side(&r, &r.side[i]);
	tot->vtime_ns += ns_now(r.sim) - t0;
	if (!r.failed) {
		/* Let TIME-WAIT and every retransmission run out. */
		if (r.l) {
			tn_tcp_listener_close(r.l);
			r.l = NULL;
		}
		ns_run(r.sim, NULL, NULL, QUIET_LIMIT);
		for (i = 0; i < 2 && !r.failed; i++) {
			uint64_t d = tn_stack_next_deadline(ns_stack(r.sim, i));

			if (d != UINT64_MAX)
				fail(&r, "node %d: a timer still armed (in %" PRIu64 " ms) after %" PRIu64
				     " s of quiet", i, (d - ns_now(r.sim)) / MS,
				     QUIET_LIMIT / TN_NS_PER_S);
			else if (ns_pool_in_use(r.sim, i))
				fail(&r, "node %d: %u mbufs still held after the connection ended", i,
				     ns_pool_in_use(r.sim, i));
		}
		if (ns_in_flight(r.sim))
			fail(&r, "frames still on the wire after the quiet period");
		judge_wire(&r);
	} else {
		if (r.l) {
			tn_tcp_listener_close(r.l);
			r.l = NULL;
		}
		if (verbose)
			print_wire(&r);
	}
	if (r.sc.extreme) {
		tot->extreme++;
		tot->extreme_err += r.side[0].err || r.side[1].err;
	}
	if (r.sc.outage == OUTAGE_FOREVER) {
		tot->outages++;
		tot->outage_err += r.side[0].err || r.side[1].err;
	}
	tot->bytes += r.side[0].got + r.side[1].got;
	{
		struct tn_stack_stats st;
		struct ns_link_stats a, b;

		for (i = 0; i < 2; i++) {
			tn_stack_stats_get(ns_stack(r.sim, i), &st);
			tot->retrans += st.tcp_retransmits;
		}
		ns_link_stats(r.sim, 0, 1, &a);
		ns_link_stats(r.sim, 1, 0, &b);
		tot->frames += a.offered + b.offered;
	}
	if (ns_destroy(r.sim) != 0)
		fail(&r, "leak at teardown (see above)");
	tot->seeds++;
	if (r.failed) {
		tot->failed++;
		if (!verbose)
			print_scen(seed, &r.sc);
		printf("FAIL seed %" PRIu64 ": %s\n  reproduce: TN_SIM_SEED=%" PRIu64
		       " TN_SIM_TRACE=1 %s\n",
		       seed, r.why, seed, "build/tests/test_tcpsim");
		return 1;
	}
	if (verbose)
		printf("seed %" PRIu64 ": ok, %" PRIu64 " + %" PRIu64 " bytes, %.3f s virtual\n", seed,
		       r.side[0].got, r.side[1].got, (double)(ns_now(r.sim) - t0) / TN_NS_PER_S);
	return 0;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long x;

	if (!v || !*v)
		return dflt;
	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || *end) {
		fprintf(stderr, "%s: not a number: %s\n", name, v);
		exit(2);
	}
	return x;
}

int main(void)
{
	struct totals tot = { 0 };
	bool trace = getenv("TN_SIM_TRACE") != NULL;
	uint64_t one = env_u64("TN_SIM_SEED", 0);
	uint64_t n = env_u64("TN_SIM_SEEDS", 1000), first = env_u64("TN_SIM_FIRST", 1);
	bool stop = env_u64("TN_SIM_STOP", 0) != 0; /* at the first failure */


	setvbuf(stdout, NULL, _IOLBF, 0);
	char prefix[32];

	/* A prefix per process: the tcpsim tests run in parallel. */
	snprintf(prefix, sizeof(prefix), "tn_tcpsim%d", (int)getpid());
	if (tn_test_eal_init(prefix, NULL) != 0)
		return 1;
	rte_log_set_global_level(RTE_LOG_WARNING);
	if (one) {
		verbose = true;
		trace_app = trace;
		run_seed(one, trace, &tot);
	} else {
		for (uint64_t s = first; s < first + n; s++)
			if (run_seed(s, false, &tot) && stop)
				break;
	}
	printf("tcpsim: %" PRIu64 " seeds, %" PRIu64 " failed; %" PRIu64 " with extreme loss (%" PRIu64
	       " ended in an error), %" PRIu64 " with a lasting outage (%" PRIu64
	       " ended in an error); %.1f MB checked, %" PRIu64 " frames, %" PRIu64
	       " retransmissions, %.0f s of virtual time\n",
	       tot.seeds, tot.failed, tot.extreme, tot.extreme_err, tot.outages, tot.outage_err,
	       (double)tot.bytes / 1e6,
	       tot.frames, tot.retrans, (double)tot.vtime_ns / TN_NS_PER_S);
	ns_pools_free();
	tn_test_eal_fini();
	return tot.failed ? 1 : 0;
}
