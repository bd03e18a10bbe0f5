/* tern-ordergw: a TCP order gateway and its load client on the stack.
 *
 *     tern-ordergw [EAL] -- --ip 10.0.0.1/24 --listen 9100
 *     tern-ordergw [EAL] -- --ip 10.0.0.2/24 --connect 10.0.0.1:9100 \
 *                           --rate 10000 --duration 5 [--connections 4]
 *
 * Messages are ordergw_msg.h's: 48-byte new orders, 40-byte acks, each
 * with an 8-byte header that carries the length.
 *
 * Gateway (--listen, on every core with a stack: each serves the flows
 * RSS gives it): a task per connection reads what has arrived, answers
 * every whole order in it (an ack with the next order id of this core,
 * or a rejected ack naming the bad field), and writes the acks of one
 * read with one tn_tcp_write.  A header that is not ours (magic,
 * version, type, length, flags) is counted as invalid and the
 * connection is closed: its stream can no longer be framed.
 *
 * Client (--connect): --connections connections, each with a share of
 * --rate; order k of a connection is due at t0 + k / rate_per_conn and
 * carries that intended time as send_ns, so a late send (the loop busy,
 * the --window of orders in flight full) counts in the round trip
 * instead of hiding it (coordinated omission).  One task per connection
 * sends what is due, then reads acks until the next order is due;
 * acks come back in order, so each must echo the next client order id.
 * A live line per second, percentiles and a summary line at the end
 * (also on SIGINT/SIGTERM, which exit 0).
 *
 * The client runs on one lcore: the stack does not yet steer a client
 * connection's replies to the core that opened it (tcp.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern/coro.h>
#include <tern/dataplane.h>
#include <tern/tcp.h>

#include "app_opts.h"
#include "latency_hist.h"
#include "ordergw_msg.h"

#define PROG "tern-ordergw"
#define BUF_LEN 8192
#define MAX_CONNS 1024
#define MAX_WINDOW 4096 /* x 48 bytes stays below the 256 KiB send buffer */
#define STOP_WAIT_NS (2 * TN_NS_PER_S)
#define WARMUP_NS (5 * TN_NS_PER_S) /* for the first connects */
#define RETRY_NS (10 * TN_NS_PER_MS) /* between them */

static struct {
	bool server, client, quiet;
	uint16_t port;     /* --listen */
	uint32_t dst;      /* --connect, network order */
	uint16_t dport;
	double rate;       /* orders per second, all connections together */
	double duration;
	unsigned conns, window;
	uint64_t timeout_ns;
} opt = {
	.rate = 1000,
	.duration = 5,
	.conns = 1,
	.window = 1024,
	.timeout_ns = 2 * TN_NS_PER_S,
};

static const char usage[] =
	"  gateway:\n"
	"  --listen PORT        accept orders on TCP PORT (on every core)\n"
	"  client:\n"
	"  --connect A.B.C.D:PORT  send orders to this gateway\n"
	"  --rate R             orders per second over all connections (default 1000)\n"
	"  --duration S         seconds to send (default 5)\n"
	"  --connections N      connections, 1..1024 (default 1)\n"
	"  --window N           orders in flight per connection, 1..4096 (default 1024)\n"
	"  --timeout MS         an order unanswered this long after it was due ends its\n"
	"                       connection (default 2000)\n"
	"  --quiet              no live line\n"
	"  Both need --ip for port 0.  The client runs on one lcore.\n";

static const char *const value_opts[] = {
	"listen", "connect", "rate", "duration", "connections", "window", "timeout", NULL,
};

static int parse_num(const char *name, const char *v, double lo, double hi, double *out)
{
	return tn_app_parse_num(PROG, name, v, lo, hi, out);
}

static int parse_connect(const char *v)
{
	char host[32];
	const char *colon = strrchr(v, ':');
	struct in_addr a;
	double port;

	if (!colon || (size_t)(colon - v) >= sizeof(host))
		goto bad;
	memcpy(host, v, (size_t)(colon - v));
	host[colon - v] = '\0';
	if (inet_pton(AF_INET, host, &a) != 1 || a.s_addr == 0)
		goto bad;
	if (parse_num("connect port", colon + 1, 1, 65535, &port))
		return -EINVAL;
	opt.dst = a.s_addr;
	opt.dport = (uint16_t)port;
	return 0;
bad:
	fprintf(stderr, PROG ": --connect wants A.B.C.D:PORT, not '%s'\n", v);
	return -EINVAL;
}

static int parse_opt(void *arg, const char *name, const char *v)
{
	double x;

	(void)arg;
	if (strcmp(name, "listen") == 0) {
		if (parse_num(name, v, 1, 65535, &x))
			return -EINVAL;
		opt.port = (uint16_t)x;
		return 0;
	}
	if (strcmp(name, "connect") == 0)
		return parse_connect(v);
	if (strcmp(name, "rate") != 0 && strcmp(name, "duration") != 0 &&
	    strcmp(name, "connections") != 0 && strcmp(name, "window") != 0 &&
	    strcmp(name, "timeout") != 0 && strcmp(name, "quiet") != 0)
		return -ENOENT;
	if (!opt.client) {
		fprintf(stderr, PROG ": --%s is a client option (add --connect A.B.C.D:PORT)\n",
			name);
		return -EINVAL;
	}
	if (strcmp(name, "quiet") == 0) {
		opt.quiet = true;
	} else if (strcmp(name, "rate") == 0) {
		if (parse_num(name, v, 1, 1e8, &opt.rate))
			return -EINVAL;
	} else if (strcmp(name, "duration") == 0) {
		if (parse_num(name, v, 0.001, 86400, &opt.duration))
			return -EINVAL;
	} else if (strcmp(name, "connections") == 0) {
		if (parse_num(name, v, 1, MAX_CONNS, &x))
			return -EINVAL;
		opt.conns = (unsigned)x;
	} else if (strcmp(name, "window") == 0) {
		if (parse_num(name, v, 1, MAX_WINDOW, &x))
			return -EINVAL;
		opt.window = (unsigned)x;
	} else {
		if (parse_num(name, v, 1, 600000, &x))
			return -EINVAL;
		opt.timeout_ns = (uint64_t)(x * TN_NS_PER_MS);
	}
	return 0;
}

/* ---- gateway ---- */

struct gw_conn {
	struct gw_core *g;
	struct tn_tcp_conn *c;
	struct tn_task *task;
	struct gw_conn *next, **pprev; /* the core's open connections */
	uint8_t in[BUF_LEN], out[BUF_LEN];
};

/* Per core (shared-nothing): its listener, order ids and counters. */
struct gw_core {
	struct tn_tcp_listener *l;
	struct tn_task *task;
	struct gw_conn *conns;
	unsigned live;
	uint64_t next_id;
	uint64_t accepted, orders, acked, rejected, invalid, truncated, errors;
} __attribute__((aligned(64)));
static struct gw_core gw_cores[TN_MAX_CORES];

/* Answers the whole orders in in[0..have): acks into out, *used the
 * bytes consumed.  Returns the ack bytes, or -EBADMSG at a header that
 * is not a new order (what came before it is answered). */
static ssize_t gw_answer(struct gw_core *g, const uint8_t *in, size_t have, uint8_t *out,
			 size_t *used)
{
	size_t off = 0, olen = 0;
	ssize_t rc = 0;

	for (;;) {
		struct tn_og_order o;
		struct tn_og_ack a;
		uint8_t type;
		uint16_t len;
		enum tn_og_frame f = tn_og_hdr_check(in + off, have - off, &type, &len);

		if (f == TN_OG_FRAME_SHORT)
			break;
		if (f != TN_OG_FRAME_OK || type != TN_OG_NEW_ORDER) {
			rc = -EBADMSG;
			break;
		}
		if (have - off < len)
			break;
		tn_og_order_decode(in + off, &o);
		tn_og_answer(&o, g->next_id, &a);
		if (a.status == TN_OG_ACCEPTED) {
			g->next_id++;
			g->acked++;
		} else {
			g->rejected++;
		}
		g->orders++;
		tn_og_ack_encode(out + olen, &a);
		olen += TN_OG_ACK_LEN;
		off += len;
	}
	*used = off;
	return rc ? rc : (ssize_t)olen;
}

static intptr_t gw_conn_task(void *arg)
{
	struct gw_conn *gc = arg;
	struct gw_core *g = gc->g;
	size_t have = 0;
	int err = 0;

	for (;;) {
		ssize_t n = tn_tcp_read(gc->c, gc->in + have, sizeof(gc->in) - have);
		size_t used;

		if (n <= 0) {
			err = (int)n;
			if (n == 0 && have)
				g->truncated++; /* the stream ended inside a message */
			break;
		}
		have += (size_t)n;
		/* BUF_LEN / 48 orders give at most BUF_LEN * 40 / 48 bytes of acks. */
		n = gw_answer(g, gc->in, have, gc->out, &used);
		if (n == -EBADMSG) {
			g->invalid++;
			err = -EBADMSG;
			break;
		}
		if (n > 0 && (err = tn_tcp_write(gc->c, gc->out, (size_t)n)) < 0)
			break;
		memmove(gc->in, gc->in + used, have - used);
		have -= used;
	}
	if (err && err != -EBADMSG && err != -ECANCELED)
		g->errors++;
	if (err == -ECANCELED || err == -EBADF)
		tn_tcp_abort(gc->c);
	else
		tn_tcp_close(gc->c); /* after bad input: a RST, as bytes are unread */
	*gc->pprev = gc->next;
	if (gc->next)
		gc->next->pprev = gc->pprev;
	g->live--;
	free(gc);
	return 0;
}

static intptr_t gw_listen_task(void *arg)
{
	struct gw_core *g = arg;

	for (;;) {
		struct tn_tcp_conn *c;
		struct gw_conn *gc;
		int err = tn_tcp_accept(g->l, &c);

		if (err == -ECANCELED || err == -EBADF)
			return 0;
		if (err)
			continue;
		g->accepted++;
		gc = malloc(sizeof(*gc));
		if (!gc) {
			tn_tcp_abort(c);
			continue;
		}
		gc->g = g;
		gc->c = c;
		gc->task = tn_task_spawn(gw_conn_task, gc);
		if (!gc->task) {
			free(gc);
			tn_tcp_abort(c);
			continue;
		}
		gc->next = g->conns;
		gc->pprev = &g->conns;
		if (g->conns)
			g->conns->pprev = &gc->next;
		g->conns = gc;
		g->live++;
		tn_task_detach(gc->task);
	}
}

static intptr_t gw_main(struct tn_stack *st)
{
	unsigned id = tn_core_id(tn_core_self());
	struct gw_core *g = &gw_cores[id];
	char where[24] = "";
	uint64_t deadline;
	int err;

	if (tn_core_count() > 1)
		snprintf(where, sizeof(where), " (core %u)", id);
	/* Ids unique across cores: the core in the top byte. */
	g->next_id = ((uint64_t)id << 56) + 1;
	err = tn_tcp_listen(st, 0, opt.port, 1024, NULL, &g->l);
	if (err) {
		fprintf(stderr, PROG ": listen tcp %u: %s\n", opt.port, strerror(-err));
		return err;
	}
	g->task = tn_task_spawn(gw_listen_task, g);
	if (!g->task) {
		tn_tcp_listener_close(g->l);
		return -errno;
	}
	printf("ordergw: listening on tcp port %u%s\n", opt.port, where);
	fflush(stdout);
	/* Until SIGINT/SIGTERM cancels us. */
	while (tn_sleep(TN_NS_PER_S) == 0)
		;
	tn_task_uncancel();
	tn_task_cancel(g->task);
	tn_await(tn_task_join(g->task), NULL);
	tn_tcp_listener_close(g->l);
	/* The connection tasks unlink themselves as they end. */
	for (struct gw_conn *gc = g->conns; gc; gc = gc->next)
		tn_task_cancel(gc->task);
	deadline = tn_now() + STOP_WAIT_NS;
	while (g->live && tn_now() < deadline)
		tn_sleep(TN_NS_PER_MS);
	printf("ordergw: accepted %llu connections, orders %llu acked %llu rejected %llu "
	       "invalid %llu truncated %llu errors %llu%s\n",
	       (unsigned long long)g->accepted, (unsigned long long)g->orders,
	       (unsigned long long)g->acked, (unsigned long long)g->rejected,
	       (unsigned long long)g->invalid, (unsigned long long)g->truncated,
	       (unsigned long long)g->errors, where);
	fflush(stdout);
	return 0;
}

/* The gateway on the other cores: core 0's runs as the main task. */
static intptr_t gw_core_task(void *arg)
{
	intptr_t rc = gw_main(tn_core_stack(tn_core_self()));

	(void)arg;
	if (rc)
		tn_stop();
	return rc;
}

static int gw_core_init(struct tn_core *c, void *arg)
{
	struct tn_task *t;

	(void)arg;
	if (!opt.server || tn_core_id(c) == 0 || !tn_core_stack(c))
		return 0;
	t = tn_task_spawn(gw_core_task, NULL);
	if (!t)
		return -1;
	tn_task_detach(t);
	return 0;
}

/* ---- client ---- */

struct client {
	struct tn_stack *st;
	uint64_t t0, end;
	double period_ns; /* between one connection's orders */
	uint64_t sent, acked, rejected, bad, errors, timeouts, conns_up;
	unsigned running;    /* connection tasks not yet ended */
	unsigned connecting; /* still in the warm-up */
	struct tn_event go;  /* the warm-up is over: t0 and end are set */
	struct tn_hist rtt, rtt_sec;
};

struct cl_conn {
	struct client *k;
	unsigned idx;
	struct tn_tcp_conn *c;
	struct tn_task *task;
	uint64_t offset_ns; /* this connection's phase within a period */
	uint64_t sent, answered;
	size_t have;
	uint8_t in[BUF_LEN], out[BUF_LEN];
};

/* When order seq of this connection is due. */
static uint64_t due(const struct cl_conn *cc, uint64_t seq)
{
	return cc->k->t0 + cc->offset_ns + (uint64_t)((double)seq * cc->k->period_ns);
}

static uint64_t client_id(const struct cl_conn *cc, uint64_t seq)
{
	return ((uint64_t)cc->idx << 40) | seq;
}

/* Every order due before the end has been sent. */
static bool all_sent(const struct cl_conn *cc)
{
	return due(cc, cc->sent) >= cc->k->end;
}

/* Queues the orders due by now (window permitting) in one write.  An
 * order due before the end goes out even when we are late for it. */
static int cl_send_due(struct cl_conn *cc)
{
	struct client *k = cc->k;
	uint64_t now = tn_now();
	size_t olen = 0;

	while (!all_sent(cc) && cc->sent - cc->answered < opt.window && due(cc, cc->sent) <= now &&
	       olen + TN_OG_ORDER_LEN <= sizeof(cc->out)) {
		struct tn_og_order o = {
			.client_id = client_id(cc, cc->sent),
			.side = cc->sent & 1 ? TN_OG_SELL : TN_OG_BUY,
			.qty = 100 + (uint32_t)(cc->sent % 900),
			.price = 1000000 + (int64_t)(cc->sent % 1000),
			.send_ns = due(cc, cc->sent),
		};

		memcpy(o.symbol, "TERN", 4);
		tn_og_order_encode(cc->out + olen, &o);
		olen += TN_OG_ORDER_LEN;
		cc->sent++;
		k->sent++;
	}
	return olen ? tn_tcp_write(cc->c, cc->out, olen) : 0;
}

/* Takes the acks in cc->in; -EBADMSG on one that is not the next. */
static int cl_take_acks(struct cl_conn *cc, uint64_t now)
{
	struct client *k = cc->k;
	size_t off = 0;
	int err = 0;

	for (;;) {
		struct tn_og_ack a;
		uint8_t type;
		uint16_t len;
		enum tn_og_frame f = tn_og_hdr_check(cc->in + off, cc->have - off, &type, &len);

		if (f == TN_OG_FRAME_SHORT)
			break;
		if (f != TN_OG_FRAME_OK || type != TN_OG_ACK) {
			err = -EBADMSG;
			break;
		}
		if (cc->have - off < len)
			break;
		if (!tn_og_ack_decode(cc->in + off, &a) || cc->answered == cc->sent ||
		    a.client_id != client_id(cc, cc->answered) ||
		    a.send_ns != due(cc, cc->answered)) {
			err = -EBADMSG;
			break;
		}
		off += len;
		cc->answered++;
		if (a.status == TN_OG_ACCEPTED)
			k->acked++;
		else
			k->rejected++;
		tn_hist_record(&k->rtt, now > a.send_ns ? now - a.send_ns : 0);
		tn_hist_record(&k->rtt_sec, now > a.send_ns ? now - a.send_ns : 0);
	}
	memmove(cc->in, cc->in + off, cc->have - off);
	cc->have -= off;
	return err;
}

/* Sends on schedule and takes the acks until every order due within
 * --duration is sent and answered (or the oldest one is --timeout
 * late). */
static int cl_run(struct cl_conn *cc)
{
	struct client *k = cc->k;

	for (;;) {
		struct tn_timeout to;
		uint64_t deadline;
		ssize_t n;
		int err;

		if ((err = cl_send_due(cc)) < 0)
			return err;
		if (all_sent(cc) && cc->answered == cc->sent)
			return 0;
		/* Wake for the next order due or the oldest order's
		 * timeout, whichever comes first. */
		deadline = cc->answered < cc->sent ? due(cc, cc->answered) + opt.timeout_ns
						   : UINT64_MAX;
		if (!all_sent(cc) && cc->sent - cc->answered < opt.window &&
		    due(cc, cc->sent) < deadline)
			deadline = due(cc, cc->sent);
		tn_timeout_enter(&to, deadline);
		n = tn_tcp_read(cc->c, cc->in + cc->have, sizeof(cc->in) - cc->have);
		err = tn_timeout_exit(&to, n < 0 ? (int)n : 0);
		if (err == -ETIMEDOUT) {
			if (cc->answered < cc->sent &&
			    tn_now() >= due(cc, cc->answered) + opt.timeout_ns) {
				k->timeouts += cc->sent - cc->answered;
				return -ETIMEDOUT;
			}
			continue;
		}
		if (err)
			return err;
		if (n == 0)
			return -ECONNRESET; /* the gateway closed with orders open */
		cc->have += (size_t)n;
		if ((err = cl_take_acks(cc, tn_now())) < 0) {
			k->bad++;
			return err;
		}
	}
}

static int cl_conn_body(struct cl_conn *cc)
{
	struct client *k = cc->k;
	struct tn_timeout to;
	int err;

	uint64_t warm_end = tn_now() + WARMUP_NS;

	/* Warm-up: every connection opens before the schedule starts, so
	 * ARP and the handshake are not charged to the first orders; a
	 * gateway that is still coming up gets a few seconds. */
	for (;;) {
		tn_timeout_enter(&to, tn_now() + opt.timeout_ns);
		err = tn_tcp_connect(k->st, opt.dst, opt.dport, NULL, &cc->c);
		err = tn_timeout_exit(&to, err);
		if (!err || err == -ECANCELED || tn_now() >= warm_end ||
		    (err = tn_sleep(RETRY_NS)) != 0)
			break;
	}
	k->connecting--;
	if (err) {
		if (err != -ECANCELED) {
			fprintf(stderr, PROG ": connection %u: connect: %s\n", cc->idx,
				strerror(-err));
			k->errors++;
		}
		return err;
	}
	k->conns_up++;
	if ((err = tn_event_wait(&k->go)) != 0) {
		tn_tcp_abort(cc->c);
		return err;
	}
	err = cl_run(cc);
	if (err) {
		if (err != -ECANCELED) {
			fprintf(stderr, PROG ": connection %u: %s\n", cc->idx, strerror(-err));
			k->errors++;
		}
		tn_tcp_abort(cc->c);
		return err;
	}
	/* Graceful: our FIN, then the gateway's. */
	tn_tcp_shutdown(cc->c);
	tn_timeout_enter(&to, tn_now() + opt.timeout_ns);
	err = tn_timeout_exit(&to, (int)tn_tcp_read(cc->c, cc->in, sizeof(cc->in)));
	if (err < 0 && err != -ECANCELED)
		tn_tcp_abort(cc->c);
	else
		tn_tcp_close(cc->c);
	return 0;
}

static intptr_t cl_conn_task(void *arg)
{
	struct cl_conn *cc = arg;
	int err = cl_conn_body(cc);

	cc->k->running--;
	return err;
}

static void cl_live(struct client *k, uint64_t now, uint64_t *last_acked)
{
	uint64_t d = k->acked + k->rejected - *last_acked;

	printf("t=%.0fs acks %llu/s sent %llu acked %llu rejected %llu errors %llu "
	       "rtt_us p50=%.1f p99=%.1f max=%.1f\n",
	       (double)(now - k->t0) / 1e9, (unsigned long long)d, (unsigned long long)k->sent,
	       (unsigned long long)k->acked, (unsigned long long)k->rejected,
	       (unsigned long long)(k->errors + k->bad),
	       (double)tn_hist_quantile(&k->rtt_sec, 0.5) / 1e3,
	       (double)tn_hist_quantile(&k->rtt_sec, 0.99) / 1e3,
	       (double)k->rtt_sec.max / 1e3);
	fflush(stdout);
	*last_acked += d;
	tn_hist_reset(&k->rtt_sec);
}

static intptr_t client_main(struct tn_stack *st)
{
	struct client *k = calloc(1, sizeof(*k));
	struct cl_conn **cc = calloc(opt.conns, sizeof(*cc));
	uint64_t next_line, last = 0;
	unsigned i, open = 0;
	char a[INET_ADDRSTRLEN];
	double secs;
	int err = 0;

	if (!k || !cc) {
		free(k);
		free(cc);
		return -ENOMEM;
	}
	inet_ntop(AF_INET, &opt.dst, a, sizeof(a));
	printf("ordergw client: %s:%u, %u connections, %.0f orders/s for %.3f s, window %u\n",
	       a, opt.dport, opt.conns, opt.rate, opt.duration, opt.window);
	fflush(stdout);
	k->st = st;
	k->period_ns = 1e9 * opt.conns / opt.rate;
	tn_event_init(&k->go);
	for (i = 0; i < opt.conns; i++) {
		if (!(cc[i] = calloc(1, sizeof(**cc)))) {
			err = -ENOMEM;
			break;
		}
		cc[i]->k = k;
		cc[i]->idx = i;
		/* Spread the connections' orders evenly over a period. */
		cc[i]->offset_ns = (uint64_t)(k->period_ns * i / opt.conns);
		if (!(cc[i]->task = tn_task_spawn(cl_conn_task, cc[i]))) {
			err = -errno;
			break;
		}
		open++;
		k->running++;
		k->connecting++;
	}
	while (!err && k->connecting && (err = tn_sleep(TN_NS_PER_MS)) == 0)
		;
	k->t0 = tn_now();
	k->end = k->t0 + (uint64_t)(opt.duration * 1e9);
	if (!err) {
		printf("connected %llu of %u\n", (unsigned long long)k->conns_up, opt.conns);
		fflush(stdout);
		tn_event_set(&k->go);
	}
	next_line = k->t0 + TN_NS_PER_S;
	while (!err) {
		if (!k->running)
			break;
		if (tn_now() >= next_line) {
			if (!opt.quiet)
				cl_live(k, tn_now(), &last);
			next_line += TN_NS_PER_S;
		}
		if (tn_sleep(10 * TN_NS_PER_MS) != 0)
			break; /* SIGINT/SIGTERM: report what we have */
	}
	if (err == -ECANCELED)
		err = 0; /* a signal during the warm-up */
	tn_task_uncancel();
	for (i = 0; i < open; i++) {
		tn_task_cancel(cc[i]->task);
		tn_await(tn_task_join(cc[i]->task), NULL);
	}
	secs = (double)(tn_now() - k->t0) / 1e9;
	printf("orders: sent %llu acked %llu rejected %llu unanswered %llu bad %llu in %.3f s "
	       "(%u of %u connections up)\n",
	       (unsigned long long)k->sent, (unsigned long long)k->acked,
	       (unsigned long long)k->rejected,
	       (unsigned long long)(k->sent - k->acked - k->rejected), (unsigned long long)k->bad,
	       secs, (unsigned)k->conns_up, opt.conns);
	printf("rtt_us p50=%.1f p90=%.1f p99=%.1f p999=%.1f max=%.1f\n",
	       (double)tn_hist_quantile(&k->rtt, 0.5) / 1e3,
	       (double)tn_hist_quantile(&k->rtt, 0.9) / 1e3,
	       (double)tn_hist_quantile(&k->rtt, 0.99) / 1e3,
	       (double)tn_hist_quantile(&k->rtt, 0.999) / 1e3, (double)k->rtt.max / 1e3);
	printf("summary: sent %llu acked %llu rejected %llu errors %llu timeouts %llu "
	       "rate %.0f p50_us %.1f p90_us %.1f p99_us %.1f p999_us %.1f max_us %.1f\n",
	       (unsigned long long)k->sent, (unsigned long long)k->acked,
	       (unsigned long long)k->rejected, (unsigned long long)(k->errors + k->bad),
	       (unsigned long long)k->timeouts,
	       secs > 0 ? (double)(k->acked + k->rejected) / secs : 0.0,
	       (double)tn_hist_quantile(&k->rtt, 0.5) / 1e3,
	       (double)tn_hist_quantile(&k->rtt, 0.9) / 1e3,
	       (double)tn_hist_quantile(&k->rtt, 0.99) / 1e3,
	       (double)tn_hist_quantile(&k->rtt, 0.999) / 1e3, (double)k->rtt.max / 1e3);
	fflush(stdout);
	for (i = 0; i < opt.conns; i++)
		free(cc[i]);
	free(cc);
	free(k);
	return err;
}

static intptr_t ordergw_main(void *arg)
{
	struct tn_stack *st = tn_core_stack(tn_core_self());

	(void)arg;
	if (!st) {
		fprintf(stderr, PROG ": no protocol stack on this core (give port 0 --ip "
				"A.B.C.D/N and an EAL port, e.g. --vdev=net_tap0)\n");
		return -ENODEV;
	}
	if (opt.client && tn_core_count() > 1) {
		fprintf(stderr, PROG ": the client runs on one lcore (e.g. -l 1), not %u: the "
				     "stack does not steer a connection's replies to its core yet\n",
			tn_core_count());
		return -EINVAL;
	}
	return opt.server ? gw_main(st) : client_main(st);
}

/* Looks at the Tern part of the command line (after "--") for whole
 * words: the mode decides which options apply before parsing starts.
 * 0, 1 for --help, or -EINVAL after a message. */
static int prescan(int argc, char **argv)
{
	struct tn_app_scan s;

	tn_app_scan(&s, argc, argv);
	opt.server = tn_app_has(&s, "listen");
	opt.client = tn_app_has(&s, "connect");
	if (s.help)
		return 1;
	if (opt.server == opt.client) {
		fprintf(stderr, PROG ": needs one of --listen PORT or --connect A.B.C.D:PORT\n");
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
		.core_init = gw_core_init,
		.main = ordergw_main,
	};

	if (prescan(argc, argv) < 0)
		return 2;
	return tn_main_app(argc, argv, &app);
}
