/* tern-load: an HTTP/1.1 load generator on the stack, like wrk.
 *
 *     tern-load [EAL] -- --ip 10.0.0.2/24 --url http://10.0.0.1:8080/ \
 *                        --connections 10 --duration 10 [--pipeline 4] [--rate 5000]
 *
 * --connections keep-alive connections, each with up to --pipeline GET
 * requests in flight.  A request is wrk's, byte for byte: "GET PATH
 * HTTP/1.1\r\nHost: AUTHORITY\r\n\r\n", the authority as the URL has
 * it (a port only if given), no other field; so tern-httpd + tern-load
 * and nginx + wrk (bench/run_http.py) parse the same requests.  Without
 * --rate each connection sends a request whenever one of its slots is
 * free (closed loop: the latency of a request runs from its write).
 * With --rate R the requests are due on a
 * schedule, R per second over all connections (each connection has an
 * equal share, phases spread over the period), and a request's latency
 * runs from when it was due, not from when it went out: a server that
 * stalls the pipeline is charged for the requests that waited behind
 * the stall (wrk2's correction for coordinated omission).
 *
 * One task per connection writes the requests due, then reads until the
 * next one is due; responses are framed by http-parser (http_resp.c:
 * Content-Length, chunked, to the end of the stream) and answer the
 * requests in order.  A connection that fails (connect or read error, a
 * response that does not parse or was not asked for, the oldest
 * request unanswered for --timeout) is counted, its requests in flight
 * with it, and reopened; so is one the server ends (Connection: close).
 *
 * A live line per second; at the end the rates, the latency percentiles
 * from a histogram (latency_hist.h), the error counts and one `summary:`
 * line for scripts.  SIGINT/SIGTERM end the run early and still report
 * (exit 0).
 *
 * Several lcores: --connections are spread over the cores, each core's
 * share opened on its own stack, from ports whose replies the link (RSS
 * or software steering) hands back to that core (tn_tcp_connect).  Core
 * 0 runs the show with cross-core calls (tn_submit_to), so no core
 * touches another's tasks, futures or connections: core_run on each
 * core (its connections, until they end), core_poll (how many are still
 * connecting: the warm-up ends when none is, on any core), core_go (the
 * clock starts, within microseconds on every core), core_snap (each
 * second: the core's counts and its last second's histogram, copied
 * into core 0's buffer), then the counts and histograms are merged into
 * one live line and one report, as on one core.  A core's final counts
 * are read by core 0 only after its core_run has answered (after a
 * signal too: each core cancels its own run, which then answers). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern/coro.h>
#include <tern/dataplane.h>
#include <tern/tcp.h>

#include "app_opts.h"
#include "http_resp.h"
#include "latency_hist.h"

#define PROG "tern-load"
#define MAX_CONNS 10000
#define MAX_PIPELINE 256 /* x the request stays below the send buffer */
#define MAX_PATH 1024
#define IN_LEN 16384
#define RETRY_NS (10 * TN_NS_PER_MS) /* between failed connects */
#define WARMUP_NS (5 * TN_NS_PER_S)  /* for the first connects */
#define CLOSE_WAIT_NS TN_NS_PER_S    /* for the server's FIN at the end */

static struct {
	uint32_t dst; /* network order */
	uint16_t dport;
	char host[48]; /* A.B.C.D[:PORT], the Host header */
	char path[MAX_PATH + 1];
	unsigned conns, pipeline;
	double duration, rate;
	uint64_t timeout_ns;
	bool quiet;
} opt = {
	.conns = 10,
	.pipeline = 1,
	.duration = 10,
	.timeout_ns = 2 * TN_NS_PER_S,
};

static const char usage[] =
	"  --url http://A.B.C.D[:PORT][/PATH]  what to GET (required)\n"
	"  --connections N  keep-alive connections, 1..10000 (default 10)\n"
	"  --duration S     seconds to send (default 10)\n"
	"  --pipeline D     requests in flight per connection, 1..256 (default 1)\n"
	"  --rate R         requests per second over all connections, on a schedule;\n"
	"                   latency from when each was due (default: as fast as the\n"
	"                   responses come back)\n"
	"  --timeout MS     a request unanswered this long ends its connection\n"
	"                   (default 2000)\n"
	"  --quiet          no live line\n"
	"  Each request is wrk's: GET PATH HTTP/1.1 with only a Host field (the\n"
	"  URL's A.B.C.D[:PORT] as given).\n"
	"  Needs --ip for port 0.  On several lcores the connections are spread\n"
	"  over them (a port whose replies are steered back to each core: RSS or\n"
	"  software steering) and the results merged.\n";

static const char *const value_opts[] = {
	"url", "connections", "duration", "pipeline", "rate", "timeout", NULL,
};

static int parse_num(const char *name, const char *v, double lo, double hi, double *out)
{
	return tn_app_parse_num(PROG, name, v, lo, hi, out);
}

/* http://A.B.C.D[:PORT][/PATH]: an IPv4 address (no names: there is no
 * resolver on the stack), a path of visible ASCII. */
static int parse_url(const char *v)
{
	const char *p = v + 7, *end;
	char host[16];
	struct in_addr a;
	size_t hl;

	if (strncmp(v, "http://", 7) != 0) {
		fprintf(stderr, PROG ": --url wants http://A.B.C.D[:PORT][/PATH], not '%s'%s\n", v,
			strncmp(v, "https://", 8) == 0 ? " (no TLS)" : "");
		return -EINVAL;
	}
	end = p + strcspn(p, ":/");
	hl = (size_t)(end - p);
	if (hl == 0 || hl >= sizeof(host))
		goto bad_host;
	memcpy(host, p, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &a) != 1 || a.s_addr == 0)
		goto bad_host;
	opt.dst = a.s_addr;
	opt.dport = 80;
	if (*end == ':') {
		char port[8];
		size_t pl = strcspn(end + 1, "/");
		double x;

		if (pl == 0 || pl >= sizeof(port)) {
			fprintf(stderr, PROG ": --url: bad port in '%s'\n", v);
			return -EINVAL;
		}
		memcpy(port, end + 1, pl);
		port[pl] = '\0';
		if (parse_num("url port", port, 1, 65535, &x))
			return -EINVAL;
		opt.dport = (uint16_t)x;
		end += 1 + pl;
	}
	/* The Host field is the URL's authority as written, a port only if
	 * the URL has one: wrk's (wrk.lua's init). */
	snprintf(opt.host, sizeof(opt.host), "%.*s", (int)(end - p), p);
	if (*end == '\0')
		end = "/";
	if (strlen(end) > MAX_PATH) {
		fprintf(stderr, PROG ": --url: the path is longer than %d bytes\n", MAX_PATH);
		return -EINVAL;
	}
	for (const char *c = end; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) {
			fprintf(stderr, PROG ": --url: the path has a space or a control or "
					     "non-ASCII byte (percent-encode it)\n");
			return -EINVAL;
		}
	strcpy(opt.path, end);
	return 0;
bad_host:
	fprintf(stderr, PROG ": --url wants an IPv4 address as the host (no resolver), "
			     "not '%s'\n", v);
	return -EINVAL;
}

static int parse_opt(void *arg, const char *name, const char *v)
{
	double x;

	(void)arg;
	if (strcmp(name, "url") == 0)
		return parse_url(v);
	if (strcmp(name, "quiet") == 0) {
		opt.quiet = true;
	} else if (strcmp(name, "connections") == 0) {
		if (parse_num(name, v, 1, MAX_CONNS, &x))
			return -EINVAL;
		opt.conns = (unsigned)x;
	} else if (strcmp(name, "duration") == 0) {
		if (parse_num(name, v, 0.001, 86400, &opt.duration))
			return -EINVAL;
	} else if (strcmp(name, "pipeline") == 0) {
		if (parse_num(name, v, 1, MAX_PIPELINE, &x))
			return -EINVAL;
		opt.pipeline = (unsigned)x;
	} else if (strcmp(name, "rate") == 0) {
		if (parse_num(name, v, 1, 1e8, &opt.rate))
			return -EINVAL;
	} else if (strcmp(name, "timeout") == 0) {
		if (parse_num(name, v, 1, 600000, &x))
			return -EINVAL;
		opt.timeout_ns = (uint64_t)(x * TN_NS_PER_MS);
	} else {
		return -ENOENT;
	}
	return 0;
}

/* ---- the run ---- */

/* One per core (loads[]): set up by core 0 before its core_run call,
 * then the core's own until that call answers. */
struct load {
	struct tn_stack *st;
	unsigned first, n; /* its connections: first .. first + n - 1 of --connections */
	const char *req;   /* one request (core 0's, read only) */
	size_t req_len;
	uint64_t t0, end;
	uint64_t done_at; /* the last connection's last response: the run's end */
	double period_ns; /* between one connection's requests, with --rate */
	unsigned running, connecting;
	struct tn_event go; /* the warm-up is over: t0 and end are set */
	uint64_t requests, bytes, non2xx, connects;
	uint64_t err_connect, err_read, err_write, err_parse, timeouts, lost;
	struct tn_hist lat, lat_sec;
};

static struct load loads[TN_MAX_CORES];

/* A core's counts for the live line, copied by core_snap on its core
 * into core 0's buffer. */
struct snap {
	struct load *g;
	uint64_t requests, non2xx, errs;
	struct tn_hist lat_sec;
};

static struct snap snaps[TN_MAX_CORES];

struct conn {
	struct load *g;
	unsigned idx;
	struct tn_tcp_conn *c;
	struct tn_task *task;
	struct tn_http_resp r;
	uint64_t offset_ns;
	uint64_t seq;      /* requests started (the schedule's index) */
	unsigned head, inflight;
	bool closing;      /* the server ends the connection after a response */
	bool unasked;      /* a response no request was waiting for */
	uint64_t *sent_at; /* per pipeline slot: when the request was due/written */
	char *out;         /* up to --pipeline requests, one write */
	char in[IN_LEN];
};

static uint64_t due(const struct conn *k, uint64_t seq)
{
	return k->g->t0 + k->offset_ns + (uint64_t)((double)seq * k->g->period_ns);
}

/* The clock now, not as of the loop turn's start (tn_now): a turn
 * answers up to a burst of responses, one after another, so the turn's
 * time is late for a request written at its end and early for a
 * response parsed there.  Latency as wrk measures it: from the write
 * of the request to the parse of its response.  The loop time moves on
 * with it (never backwards), so the next request, written by the same
 * task right after the parse, takes its time from tn_now(): one clock
 * read per request. */
static uint64_t fresh_now(void)
{
	return tn_sched_update_clock(tn_sched_self());
}

/* A response, in request order. */
static void on_response(void *arg, unsigned status, bool keep_alive)
{
	struct conn *k = arg;
	struct load *g = k->g;
	uint64_t now = fresh_now(), t;

	if (!k->inflight) {
		k->unasked = true;
		return;
	}
	t = k->sent_at[k->head];
	k->head = (k->head + 1) % opt.pipeline;
	k->inflight--;
	g->requests++;
	if (status < 200 || status > 299)
		g->non2xx++;
	tn_hist_record(&g->lat, now > t ? now - t : 0);
	tn_hist_record(&g->lat_sec, now > t ? now - t : 0);
	if (!keep_alive)
		k->closing = true;
}

/* No more requests: the run is over; with --rate, every request due
 * before the end has gone out (late ones too). */
static bool done_sending(const struct conn *k)
{
	return opt.rate ? due(k, k->seq) >= k->g->end : tn_now() >= k->g->end;
}

/* Writes the requests that may go now: free slots, and with --rate
 * those already due. */
static int send_due(struct conn *k)
{
	struct load *g = k->g;
	/* (Without --rate: on_response has just read the clock, and the
	 * loop time is that: the request's time, a parse's tail early.) */
	uint64_t now = tn_now();
	size_t olen = 0;

	while (k->inflight < opt.pipeline && !done_sending(k) &&
	       (opt.rate == 0 || due(k, k->seq) <= now)) {
		unsigned slot = (k->head + k->inflight) % opt.pipeline;

		k->sent_at[slot] = opt.rate ? due(k, k->seq) : now;
		olen += g->req_len;
		k->inflight++;
		k->seq++;
	}
	if (olen <= g->req_len) /* none, or one: the request as built */
		return olen ? tn_tcp_write(k->c, g->req, olen) : 0;
	for (size_t at = 0; at < olen; at += g->req_len)
		memcpy(k->out + at, g->req, g->req_len);
	return tn_tcp_write(k->c, k->out, olen);
}

/* The requests in flight when a connection ends are lost. */
static void drop_conn(struct conn *k, bool abort)
{
	k->g->lost += k->inflight;
	k->inflight = 0;
	k->head = 0;
	if (abort)
		tn_tcp_abort(k->c);
	else
		tn_tcp_close(k->c);
	k->c = NULL;
}

/* The end of a run: our FIN, then the server's (within CLOSE_WAIT_NS), so
 * the close handshake is over before the process exits.  Closed at once,
 * the server's FIN (and its retransmissions) would reach a stack that no
 * longer has the connection, or the next process on the same address and
 * port, and be answered with resets. */
static void close_conn(struct conn *k)
{
	struct tn_timeout to;
	ssize_t n = 0;

	if (tn_tcp_shutdown(k->c) == 0) {
		tn_timeout_enter(&to, tn_now() + CLOSE_WAIT_NS);
		do
			n = tn_tcp_read(k->c, k->in, sizeof(k->in));
		while (n > 0);
		(void)tn_timeout_exit(&to, n < 0 ? (int)n : 0);
	}
	tn_tcp_close(k->c);
	k->c = NULL;
}

/* conn_loop's end when every request sent is answered: the close
 * handshake, out of its timeout scope. */
#define CONN_DONE 1

/* Reads under the connection's scope (to), its deadline moved first: a
 * store when later, as it is from one request to the next.  Nothing
 * else under the scope awaits (a request never waits for room, see
 * MAX_PIPELINE), so only this read can be cut: tn_timeout_renew then
 * gives -ETIMEDOUT and keeps the scope. */
static ssize_t read_by(struct conn *k, struct tn_timeout *to, uint64_t deadline)
{
	ssize_t n;

	tn_timeout_reschedule(to, deadline);
	n = tn_tcp_read(k->c, k->in, sizeof(k->in));
	return tn_timeout_renew(to, n < 0 ? (int)n : 0, tn_now() + opt.timeout_ns) ?: n;
}

/* run_conn's loop, under its timeout scope: 0 or -errno as run_conn,
 * or CONN_DONE. */
static int conn_loop(struct conn *k, struct tn_timeout *to)
{
	struct load *g = k->g;

	for (;;) {
		bool stopping = done_sending(k);
		uint64_t deadline;
		ssize_t n;
		int err;

		if (!stopping && !k->closing && (err = send_due(k)) < 0) {
			if (err == -ECANCELED)
				return err;
			g->err_write++;
			drop_conn(k, true);
			return err;
		}
		if ((stopping || k->closing) && !k->inflight) {
			if (!stopping) {
				drop_conn(k, false);
				return -ECONNRESET;
			}
			/* The close handshake is not the run's: its time
			 * stops with the last response. */
			if (tn_now() > g->done_at)
				g->done_at = tn_now();
			return CONN_DONE;
		}
		deadline = k->inflight ? k->sent_at[k->head] + opt.timeout_ns : UINT64_MAX;
		if (!stopping && !k->closing) {
			if (opt.rate && k->inflight < opt.pipeline && due(k, k->seq) < deadline)
				deadline = due(k, k->seq);
			if (g->end < deadline)
				deadline = g->end;
		}
		n = read_by(k, to, deadline);
		err = n < 0 ? (int)n : 0;
		if (err == -ETIMEDOUT) {
			if (k->inflight && tn_now() >= k->sent_at[k->head] + opt.timeout_ns) {
				g->timeouts += k->inflight;
				k->inflight = 0;
				drop_conn(k, true);
				return -ETIMEDOUT;
			}
			continue;
		}
		if (err == -ECANCELED)
			return err;
		if (err) {
			g->err_read++;
			drop_conn(k, true);
			return err;
		}
		g->bytes += (uint64_t)n;
		err = n ? tn_http_resp_feed(&k->r, k->in, (size_t)n) : tn_http_resp_eof(&k->r);
		if (err || k->unasked) {
			g->err_parse++;
			drop_conn(k, true);
			return -EBADMSG;
		}
		if (n == 0) {
			/* The server closed: what it left unanswered is lost. */
			if (k->inflight && !k->closing)
				g->err_read++;
			drop_conn(k, false);
			return stopping ? 0 : -ECONNRESET;
		}
	}
}

/* One connection's life: requests and responses until the end (0), or
 * until it fails or the server ends it (-errno, counted; the caller
 * opens another).  One timeout scope covers its reads, its deadline
 * moved per read (read_by): a scope per read filed and removed a wheel
 * timer on every response. */
static int run_conn(struct conn *k)
{
	struct tn_timeout to;
	int err;

	tn_http_resp_init(&k->r, on_response, k);
	k->closing = k->unasked = false;
	tn_timeout_enter(&to, tn_now() + opt.timeout_ns);
	err = tn_timeout_exit(&to, conn_loop(k, &to));
	if (err != CONN_DONE)
		return err;
	close_conn(k);
	return 0;
}

static int connect_once(struct conn *k)
{
	struct tn_timeout to;
	int err;

	tn_timeout_enter(&to, tn_now() + opt.timeout_ns);
	err = tn_tcp_connect(k->g->st, opt.dst, opt.dport, NULL, &k->c);
	err = tn_timeout_exit(&to, err);
	if (err == 0)
		k->g->connects++;
	return err;
}

static intptr_t conn_task(void *arg)
{
	struct conn *k = arg;
	struct load *g = k->g;
	uint64_t warm_end = tn_now() + WARMUP_NS;
	int err;

	/* Warm-up: the connection opens before the clock starts (as in
	 * wrk), so ARP and the handshake are not charged to the first
	 * requests; a peer that is still coming up gets a few seconds. */
	while ((err = connect_once(k)) != 0 && err != -ECANCELED && tn_now() < warm_end)
		if ((err = tn_sleep(RETRY_NS)) != 0)
			break;
	if (err && err != -ECANCELED)
		g->err_connect++;
	g->connecting--;
	if (err == -ECANCELED || (err = tn_event_wait(&g->go)) != 0)
		goto out;
	while (tn_now() < g->end) {
		if (!k->c && (err = connect_once(k)) != 0) {
			if (err == -ECANCELED)
				break;
			g->err_connect++;
			if ((err = tn_sleep(RETRY_NS)) != 0)
				break;
			continue;
		}
		err = run_conn(k);
		if (err == 0 || err == -ECANCELED)
			break; /* 0: everything sent is answered */
		/* A server that fails every connection before its first
		 * response gets a pause, not a storm of handshakes. */
		if (!k->r.responses && (err = tn_sleep(RETRY_NS)) != 0)
			break;
		/* With --rate the schedule goes on: requests due while we
		 * reconnect are sent late and charged for it. */
	}
out:
	if (k->c)
		drop_conn(k, true); /* cancelled (a signal) */
	g->running--;
	return err;
}

static uint64_t errors_of(const struct load *g)
{
	return g->err_connect + g->err_read + g->err_write + g->err_parse + g->timeouts;
}

/* ---- each core's part (cross-core calls from core 0) ---- */

static void conns_free(struct conn **ks, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (ks[i]) {
			free(ks[i]->sent_at);
			free(ks[i]->out);
			free(ks[i]);
		}
	free(ks);
}

/* This core's connections, from their warm-up until they end (or the
 * process stops); 0 or -errno.  Its counts stay in *g. */
static intptr_t core_run(void *arg)
{
	struct load *g = arg;
	struct conn **ks = calloc(g->n ? g->n : 1, sizeof(*ks));
	unsigned i, open = 0;
	int err = 0;

	g->st = tn_core_stack(tn_core_self());
	tn_event_init(&g->go);
	if (!ks || !g->st)
		err = ks ? -ENODEV : -ENOMEM;
	if (err == -ENODEV)
		fprintf(stderr, PROG ": core %u has no protocol stack\n", tn_core_id(tn_core_self()));
	for (i = 0; !err && i < g->n; i++) {
		struct conn *k = calloc(1, sizeof(*k));
		unsigned idx = g->first + i;

		if (!(ks[i] = k) || !(k->sent_at = calloc(opt.pipeline, sizeof(uint64_t))) ||
		    !(k->out = malloc(opt.pipeline * g->req_len))) {
			err = -ENOMEM;
			break;
		}
		k->g = g;
		k->idx = idx;
		k->offset_ns = (uint64_t)(g->period_ns * idx / opt.conns);
		if (!(k->task = tn_task_spawn(conn_task, k))) {
			err = -errno;
			break;
		}
		open++;
		g->running++;
		g->connecting++;
	}
	while (!err && g->running && (err = tn_sleep(10 * TN_NS_PER_MS)) == 0)
		;
	while (tn_task_cancelling())
		tn_task_uncancel(); /* a signal: end the connections, keep the counts */
	for (i = 0; i < open; i++) {
		tn_task_cancel(ks[i]->task);
		tn_await(tn_task_join(ks[i]->task), NULL);
	}
	if (ks)
		conns_free(ks, g->n);
	return err == -ECANCELED ? 0 : err;
}

/* How many of this core's connections are still in their warm-up. */
static intptr_t core_poll(void *arg)
{
	return ((struct load *)arg)->connecting;
}

/* The clock starts on this core; its connections opened so far. */
static intptr_t core_go(void *arg)
{
	struct load *g = arg;

	g->t0 = tn_now();
	g->end = g->t0 + (uint64_t)(opt.duration * 1e9);
	tn_event_set(&g->go);
	return (intptr_t)g->connects;
}

/* The counts so far and the last second's latencies, into core 0's
 * buffer; the core's connections still running. */
static intptr_t core_snap(void *arg)
{
	struct snap *sn = arg;
	struct load *g = sn->g;

	sn->requests = g->requests;
	sn->non2xx = g->non2xx;
	sn->errs = errors_of(g);
	sn->lat_sec = g->lat_sec;
	tn_hist_reset(&g->lat_sec);
	return g->running;
}

/* ---- core 0: the calls, the merge, the lines ---- */

/* Calls fn(args[i]) on each of n cores and waits for all: the sum of
 * their values, or -errno. */
static intptr_t call_all(unsigned n, intptr_t (*fn)(void *), void *args, size_t stride)
{
	struct tn_future *fs[TN_MAX_CORES];
	intptr_t vals[TN_MAX_CORES], sum = 0;
	unsigned i;
	int err;

	for (i = 0; i < n; i++)
		if (!(fs[i] = tn_submit_to(i, fn, (char *)args + i * stride))) {
			err = -errno;
			while (i--)
				tn_future_detach(fs[i]); /* (each call still answers) */
			return err;
		}
	if ((err = tn_gather(fs, n, vals, NULL)) != 0)
		return err;
	for (i = 0; i < n; i++)
		sum += vals[i];
	return sum;
}

static void live_line(unsigned ncores, uint64_t now, uint64_t t0, uint64_t *last)
{
	static struct snap m; /* (a histogram: not on the task's stack) */
	uint64_t d;

	memset(&m, 0, sizeof(m));
	if (call_all(ncores, core_snap, snaps, sizeof(snaps[0])) < 0)
		return; /* (a signal) */
	for (unsigned i = 0; i < ncores; i++) {
		m.requests += snaps[i].requests;
		m.non2xx += snaps[i].non2xx;
		m.errs += snaps[i].errs;
		tn_hist_merge(&m.lat_sec, &snaps[i].lat_sec);
	}
	d = m.requests - *last;
	printf("t=%.0fs rps %llu requests %llu non2xx %llu errors %llu latency_us p50=%.1f "
	       "p99=%.1f max=%.1f\n",
	       (double)(now - t0) / 1e9, (unsigned long long)d,
	       (unsigned long long)m.requests, (unsigned long long)m.non2xx,
	       (unsigned long long)m.errs, (double)tn_hist_quantile(&m.lat_sec, 0.5) / 1e3,
	       (double)tn_hist_quantile(&m.lat_sec, 0.99) / 1e3, (double)m.lat_sec.max / 1e3);
	fflush(stdout);
	*last = m.requests;
}

/* dst += src: the counts and the histogram. */
static void load_add(struct load *dst, const struct load *src)
{
	dst->requests += src->requests;
	dst->bytes += src->bytes;
	dst->non2xx += src->non2xx;
	dst->connects += src->connects;
	dst->err_connect += src->err_connect;
	dst->err_read += src->err_read;
	dst->err_write += src->err_write;
	dst->err_parse += src->err_parse;
	dst->timeouts += src->timeouts;
	dst->lost += src->lost;
	if (src->done_at > dst->done_at)
		dst->done_at = src->done_at;
	tn_hist_merge(&dst->lat, &src->lat);
}

static void report(const struct load *g, double secs)
{
	uint64_t errs = errors_of(g);
	double rps = secs > 0 ? (double)g->requests / secs : 0;
	double bps = secs > 0 ? (double)g->bytes / secs : 0;
	double q[5] = {
		(double)tn_hist_quantile(&g->lat, 0.5) / 1e3,
		(double)tn_hist_quantile(&g->lat, 0.9) / 1e3,
		(double)tn_hist_quantile(&g->lat, 0.99) / 1e3,
		(double)tn_hist_quantile(&g->lat, 0.999) / 1e3,
		(double)g->lat.max / 1e3,
	};

	printf("requests %llu in %.3f s, %.1f requests/s, %llu bytes, %.3f MB/s, %llu "
	       "connections opened\n",
	       (unsigned long long)g->requests, secs, rps, (unsigned long long)g->bytes,
	       bps / 1e6, (unsigned long long)g->connects);
	printf("latency_us p50=%.1f p90=%.1f p99=%.1f p999=%.1f max=%.1f mean=%.1f\n", q[0], q[1],
	       q[2], q[3], q[4], g->lat.count ? (double)g->lat.sum / (double)g->lat.count / 1e3 : 0);
	printf("non-2xx %llu; errors: connect %llu read %llu write %llu parse %llu timeout %llu; "
	       "requests lost with their connection %llu\n",
	       (unsigned long long)g->non2xx, (unsigned long long)g->err_connect,
	       (unsigned long long)g->err_read, (unsigned long long)g->err_write,
	       (unsigned long long)g->err_parse, (unsigned long long)g->timeouts,
	       (unsigned long long)g->lost);
	printf("summary: requests %llu non2xx %llu errors %llu timeouts %llu rps %.1f "
	       "bytes_per_s %.0f p50_us %.1f p90_us %.1f p99_us %.1f p999_us %.1f max_us %.1f\n",
	       (unsigned long long)g->requests, (unsigned long long)g->non2xx,
	       (unsigned long long)errs, (unsigned long long)g->timeouts, rps, bps, q[0], q[1],
	       q[2], q[3], q[4]);
	fflush(stdout);
}

static intptr_t load_main(void *arg)
{
	unsigned ncores = tn_core_count(), i, running;
	struct tn_future *runs[TN_MAX_CORES];
	static struct load total; /* (two histograms: not on a task's stack) */
	uint64_t t0, next_line, last = 0;
	char *req;
	size_t req_len;
	intptr_t v;
	int err = 0;

	(void)arg;
	if (!tn_core_stack(tn_core_self())) {
		fprintf(stderr, PROG ": no protocol stack on this core (give port 0 --ip "
				"A.B.C.D/N and an EAL port, e.g. --vdev=net_tap0)\n");
		return -ENODEV;
	}
	if (!(req = malloc(MAX_PATH + 256)))
		return -ENOMEM;
	/* wrk's request, byte for byte (wrk.format: the request line and
	 * only a Host field), so the benchmark against wrk compares like
	 * with like: User-Agent and Accept fields were ~40 more bytes for
	 * the server to parse per request than wrk's. */
	req_len = (size_t)snprintf(req, MAX_PATH + 256, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
				   opt.path, opt.host);
	printf("tern-load: http://%s%s, %u connections, pipeline %u, %.3f s", opt.host, opt.path,
	       opt.conns, opt.pipeline, opt.duration);
	if (opt.rate)
		printf(", %.0f requests/s", opt.rate);
	if (ncores > 1)
		printf(", %u cores", ncores);
	printf("\n");
	fflush(stdout);
	/* Each core's share, written before its call publishes it. */
	for (i = 0; i < ncores; i++) {
		struct load *g = &loads[i];

		memset(g, 0, sizeof(*g));
		g->first = opt.conns / ncores * i + (i < opt.conns % ncores ? i : opt.conns % ncores);
		g->n = opt.conns / ncores + (i < opt.conns % ncores);
		g->req = req;
		g->req_len = req_len;
		if (opt.rate)
			g->period_ns = 1e9 * opt.conns / opt.rate;
		snaps[i].g = g;
	}
	for (running = 0; running < ncores; running++)
		if (!(runs[running] = tn_submit_to(running, core_run, &loads[running]))) {
			err = -errno;
			break;
		}
	/* The warm-up: until no core has a connection still opening. */
	while (!err) {
		if ((v = call_all(ncores, core_poll, loads, sizeof(loads[0]))) <= 0) {
			err = (int)v;
			break;
		}
		for (i = 0; !err && i < ncores; i++)
			if (tn_future_done(runs[i]))
				err = -EIO; /* a core could not start (its error below) */
		if (!err)
			err = tn_sleep(TN_NS_PER_MS);
	}
	if (!err && (v = call_all(ncores, core_go, loads, sizeof(loads[0]))) < 0)
		err = (int)v;
	t0 = tn_now();
	if (!err) {
		printf("connected %llu of %u\n", (unsigned long long)v, opt.conns);
		fflush(stdout);
	}
	next_line = t0 + TN_NS_PER_S;
	for (;;) {
		for (i = 0; i < running && tn_future_done(runs[i]); i++)
			;
		if (err || i == running)
			break;
		if (tn_now() >= next_line) {
			if (!opt.quiet)
				live_line(ncores, tn_now(), t0, &last);
			next_line += TN_NS_PER_S;
		}
		if ((err = tn_sleep(10 * TN_NS_PER_MS)) != 0)
			break; /* SIGINT/SIGTERM: report what we have */
	}
	if (err == -ECANCELED || err == -EIO)
		err = 0; /* a signal; or a core's own error, taken from its call */
	while (tn_task_cancelling())
		tn_task_uncancel();
	memset(&total, 0, sizeof(total));
	for (i = 0; i < running; i++) {
		/* After a signal every core cancels its own run, which then
		 * answers with its counts final: wait for that answer (for
		 * at most a second), so no reply outlives core 0's loop. */
		struct tn_future *f = runs[i];
		uint64_t until = tn_now() + TN_NS_PER_S;
		int e;

		while (!tn_future_done(f) && tn_now() < until && tn_sleep(TN_NS_PER_MS) == 0)
			;
		if (!tn_future_done(f)) {
			fprintf(stderr, PROG ": core %u stopped before it gave its counts\n", i);
			tn_future_cancel(f);
			tn_future_detach(f);
			if (!err)
				err = -ETIMEDOUT;
			continue;
		}
		if ((e = tn_await(f, NULL)) != 0 && !err)
			err = e;
		load_add(&total, &loads[i]); /* final: its run has answered */
		if (ncores > 1)
			printf("core %u: %u connections, %llu opened, requests %llu, errors %llu\n", i,
			       loads[i].n, (unsigned long long)loads[i].connects,
			       (unsigned long long)loads[i].requests,
			       (unsigned long long)errors_of(&loads[i]));
	}
	/* The cores share one clock (the TSC); without a finished
	 * connection (a signal), the run ends now. */
	report(&total, (double)((total.done_at > t0 ? total.done_at : tn_now()) - t0) / 1e9);
	free(req);
	return err;
}

/* --url and --ip are required: checked before the EAL starts.  0, 1 for
 * --help, or -EINVAL after a message. */
static int prescan(int argc, char **argv)
{
	struct tn_app_scan s;

	tn_app_scan(&s, argc, argv);
	if (s.help)
		return 1;
	if (!tn_app_has(&s, "url")) {
		fprintf(stderr, PROG ": needs --url http://A.B.C.D[:PORT][/PATH]\n");
		return -EINVAL;
	}
	return tn_app_need_ip(&s, PROG);
}

int main(int argc, char **argv)
{
	struct tn_app app = {
		.name = PROG,
		.usage = usage,
		.parse_opt = parse_opt,
		.value_opts = value_opts,
		.main = load_main,
	};

	if (prescan(argc, argv) < 0)
		return 2;
	return tn_main_app(argc, argv, &app);
}
