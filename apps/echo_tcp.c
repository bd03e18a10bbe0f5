/* tern-echo over TCP (see echo_tcp.h).
 *
 * Server: a task per listening port accepts; a task per connection
 * echoes with the zero-copy calls (the received mbufs go straight into
 * the send buffer: tn_tcp_recv_burst, tn_tcp_send_mbuf), then closes
 * when the peer has.
 *
 * Client: requests of --size bytes, each a stamp (magic, run, sequence
 * number, send time) and a pattern of its sequence number; a writer
 * task keeps up to --window of them in flight while the main task reads
 * the replies, checks them byte for byte and records the round trip.
 * Two tasks, so a request larger than the windows cannot deadlock
 * against an echo server that stops reading while it cannot write.
 * With --window 1 (and a request that fits in the send buffer) one task
 * writes, reads and checks in turn.  --reconnect: one connection per
 * request (connect, write, read, close), sequentially.
 *
 * Bulk (bench/run_tcp.py): --discard servers drop what they receive,
 * and a --send-bytes client streams into one.  --bytes: one connection
 * carries a seeded byte stream (mt_stream.h, which Python reproduces) of
 * that length, written by a task while the main task checks the echo
 * byte for byte; then our FIN, and the server's once it has echoed
 * everything.
 *
 * --tls (tern/tls.h): the echo ports speak TLS, each core with a
 * context of its own (loaded from the same files) so that no handshake
 * takes another core's locks; a connection echoes what it decrypts and
 * answers the client's close_notify with its own.  The --bytes client
 * runs its stream over TLS, and closes with close_notify too. */
#include "echo_tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include <tern/coro.h>
#include <tern/dataplane.h>
#include <tern/tcp.h>
#include <tern/tls.h>

#include "echo_pattern.h"
#include "latency_hist.h"
#include "mt_stream.h"

#define PROG "tern-echo"
#define MAX_PORTS 8
#define MAGIC 0x50435445u /* "ETCP" */

/* ---- server ---- */

/* Per core: with --ip on several lcores every core has its own stack,
 * listens on the same ports, and serves the flows RSS gives it. */
struct srv {
	unsigned n;
	struct srv_port {
		uint16_t port;
		bool discard; /* --discard: drop what arrives (RFC 863) */
		struct tn_tcp_listener *l;
		struct tn_task *task;
		struct tn_tls_ctx *tls; /* --tls: this core's context */
		uint64_t accepted, bytes, errors, tls_failed;
		bool tls_logged;
	} p[2 * MAX_PORTS];
};
static const char *tls_cert, *tls_key;
static struct srv srv_core[TN_MAX_CORES];

/* --tcp-buf (set before the tasks start; read-only after). */
static uint32_t tcp_buf;

void echo_tcp_set_buf(uint32_t bytes)
{
	tcp_buf = bytes;
}

static struct srv *my_srv(void)
{
	return &srv_core[tn_core_id(tn_core_self())];
}

struct srv_conn {
	struct tn_tcp_conn *c;
	struct srv_port *p;
};

static intptr_t conn_task(void *arg)
{
	struct srv_conn sc = *(struct srv_conn *)arg;
	struct rte_mbuf *m[32];
	int err = 0;

	free(arg);
	for (;;) {
		uint16_t n, i;

		err = tn_tcp_wait_readable(sc.c);
		if (err)
			break;
		n = tn_tcp_recv_burst(sc.c, m, 32);
		if (!n)
			break; /* the peer closed its side */
		for (i = 0; i < n; i++) {
			uint32_t len = m[i]->pkt_len;

			err = tn_tcp_send_mbuf(sc.c, m[i]);
			if (err) {
				while (++i < n)
					rte_pktmbuf_free(m[i]);
				break;
			}
			sc.p->bytes += len;
		}
		if (err)
			break;
	}
	if (err && err != -ECANCELED)
		sc.p->errors++;
	if (err == -ECANCELED || err == -EBADF)
		tn_tcp_abort(sc.c);
	else
		tn_tcp_close(sc.c);
	return 0;
}

/* --tls: the handshake (at most 10 s), then what arrives goes back,
 * until the client's close_notify, which gets ours. */
static intptr_t tls_conn_task(void *arg)
{
	struct srv_conn sc = *(struct srv_conn *)arg;
	struct tn_tls_conn *t;
	struct tn_timeout to;
	uint8_t *buf = malloc(16384);
	ssize_t n = 0;
	int err;

	free(arg);
	tn_timeout_enter(&to, tn_now() + 10 * TN_NS_PER_S);
	err = buf ? tn_tls_accept(sc.p->tls, sc.c, &t) : -ENOMEM;
	err = tn_timeout_exit(&to, err);
	if (err) {
		sc.p->tls_failed++;
		fprintf(stderr, PROG ": tls handshake: %s\n", strerror(-err));
		tn_tcp_abort(sc.c);
		free(buf);
		return 0;
	}
	if (!sc.p->tls_logged) {
		sc.p->tls_logged = true;
		printf("tls %u: %s %s\n", sc.p->port, tn_tls_version(t), tn_tls_cipher(t));
		fflush(stdout);
	}
	while ((n = tn_tls_read(t, buf, 16384)) > 0) {
		if ((err = tn_tls_write(t, buf, (size_t)n)) < 0)
			break;
		sc.p->bytes += (uint64_t)n;
	}
	if (n == 0 && !err)
		err = tn_tls_shutdown(t);
	else if (!err)
		err = (int)n;
	if (err && err != -ECANCELED) {
		sc.p->errors++;
		fprintf(stderr, PROG ": tls: %s\n", strerror(-err));
	}
	if (err == -ECANCELED || err == -EBADF)
		tn_tls_abort(t);
	else
		tn_tls_close(t);
	free(buf);
	return 0;
}

/* --discard: frees every received mbuf (zero copy, as the echo), then
 * closes once the peer has. */
static intptr_t discard_task(void *arg)
{
	struct srv_conn sc = *(struct srv_conn *)arg;
	struct rte_mbuf *m[32];
	uint16_t n;
	int err;

	free(arg);
	while ((err = tn_tcp_wait_readable(sc.c)) == 0 &&
	       (n = tn_tcp_recv_burst(sc.c, m, 32)) != 0)
		for (uint16_t i = 0; i < n; i++) {
			sc.p->bytes += m[i]->pkt_len;
			rte_pktmbuf_free(m[i]);
		}
	if (err && err != -ECANCELED)
		sc.p->errors++;
	if (err == -ECANCELED || err == -EBADF)
		tn_tcp_abort(sc.c);
	else
		tn_tcp_close(sc.c);
	return 0;
}

static intptr_t listen_task(void *arg)
{
	struct srv_port *p = arg;

	for (;;) {
		struct tn_tcp_conn *c;
		struct srv_conn *sc;
		struct tn_task *t;
		int err = tn_tcp_accept(p->l, &c);

		if (err == -ECANCELED || err == -EBADF)
			return 0;
		if (err)
			continue;
		p->accepted++;
		sc = malloc(sizeof(*sc));
		if (!sc) {
			tn_tcp_abort(c);
			continue;
		}
		sc->c = c;
		sc->p = p;
		t = tn_task_spawn(p->discard ? discard_task : p->tls ? tls_conn_task : conn_task, sc);
		if (!t) {
			free(sc);
			tn_tcp_abort(c);
			continue;
		}
		tn_task_detach(t);
	}
}

void echo_tcp_server_tls(const char *cert, const char *key)
{
	tls_cert = cert;
	tls_key = key;
}

int echo_tcp_server_start(struct tn_stack *st, const uint16_t *ports, unsigned n, bool discard)
{
	struct srv *srv = my_srv();
	unsigned i;

	for (i = 0; i < n && i < MAX_PORTS; i++) {
		struct srv_port *p = &srv->p[srv->n];
		int err;

		p->port = ports[i];
		p->discard = discard;
		if (tls_cert && !discard && !(p->tls = tn_tls_ctx_new_server(tls_cert, tls_key))) {
			err = -errno;
			fprintf(stderr, PROG ": --tls %s %s: %s\n", tls_cert, tls_key, strerror(errno));
			return err;
		}
		struct tn_tcp_opts o = { .sndbuf = tcp_buf, .rcvbuf = tcp_buf };

		err = tn_tcp_listen(st, 0, p->port, 1024, &o, &p->l);
		if (err) {
			fprintf(stderr, PROG ": listen tcp %u: %s\n", p->port, strerror(-err));
			tn_tls_ctx_free(p->tls);
			p->tls = NULL;
			return err;
		}
		p->task = tn_task_spawn(listen_task, p);
		if (!p->task) {
			tn_tcp_listener_close(p->l);
			return -errno;
		}
		srv->n++;
		if (tn_core_count() > 1)
			printf("echo: tcp port %u%s (core %u)\n", p->port,
			       discard ? " (discard)" : p->tls ? " (tls)" : "", tn_core_id(tn_core_self()));
		else
			printf("echo: tcp port %u%s\n", p->port,
			       discard ? " (discard)" : p->tls ? " (tls)" : "");
	}
	return 0;
}

void echo_tcp_server_stop(void)
{
	struct srv *srv = my_srv();
	char where[24] = "";
	unsigned i;

	if (tn_core_count() > 1)
		snprintf(where, sizeof(where), " (core %u)", tn_core_id(tn_core_self()));
	for (i = 0; i < srv->n; i++) {
		struct srv_port *p = &srv->p[i];

		tn_task_cancel(p->task);
		tn_await(tn_task_join(p->task), NULL);
		tn_tcp_listener_close(p->l);
		printf("tcp %u: accepted %llu connections, %s %llu bytes, errors %llu%s\n",
		       p->port, (unsigned long long)p->accepted, p->discard ? "discarded" : "echoed",
		       (unsigned long long)p->bytes, (unsigned long long)p->errors, where);
		if (p->tls)
			printf("tls %u: handshakes failed %llu%s\n", p->port,
			       (unsigned long long)p->tls_failed, where);
		tn_tls_ctx_free(p->tls); /* (connections still open hold references) */
		p->tls = NULL;
	}
	srv->n = 0;
}

/* ---- client ---- */

struct stamp {
	uint32_t magic;
	uint32_t gen;
	uint64_t seq;
	uint64_t tsc;
} __attribute__((packed));

struct client {
	const struct echo_tcp_client_cfg *cfg;
	struct tn_stack *st;
	struct tn_tcp_conn *c;
	uint8_t *req, *rep;
	uint8_t *pat; /* ECHO_PATTERN_LEN(size) bytes (echo_pattern.h) */
	uint32_t gen;
	uint64_t tsc_hz, end;
	uint64_t started, sent, recv, bad, conns;
	int werr;
	bool wdone;
	struct tn_sem permits; /* requests that may be in flight */
	struct tn_event news;  /* the writer started a request, or ended */
	struct tn_hist rtt;
};

/* Request seq's payload after its stamp, into p. */
static void fill(const struct client *k, uint8_t *p, uint64_t seq)
{
	echo_pattern_fill(k->pat, p, k->cfg->size, seq, sizeof(struct stamp));
}

static bool more(const struct client *k)
{
	return k->cfg->count_set ? k->sent < k->cfg->count : tn_now() < k->end;
}

/* Builds request seq into k->req. */
static void build(struct client *k, uint64_t seq)
{
	struct stamp sp = { MAGIC, k->gen, seq, 0 };

	fill(k, k->req, seq);
	sp.tsc = rte_rdtsc(); /* the round trip starts once the request is built */
	memcpy(k->req, &sp, sizeof(sp));
}

/* Checks reply seq in k->rep; records its round trip, which ended when
 * the reply was read, before this check. */
static void check(struct client *k, uint64_t seq)
{
	uint64_t now = rte_rdtsc();
	struct stamp sp;

	memcpy(&sp, k->rep, sizeof(sp));
	if (sp.magic != MAGIC || sp.gen != k->gen || sp.seq != seq) {
		k->bad++;
		return;
	}
	if (!echo_pattern_ok(k->pat, k->rep, k->cfg->size, seq, sizeof(sp))) {
		k->bad++;
		return;
	}
	k->recv++;
	tn_hist_record(&k->rtt, (now - sp.tsc) * 1000000000ull / k->tsc_hz);
}

static int connect_to(struct client *k)
{
	struct tn_timeout to;
	int err;

	struct tn_tcp_opts o = { .sndbuf = tcp_buf, .rcvbuf = tcp_buf };

	/* read_exactly takes a whole reply into the receive buffer. */
	if (k->cfg->size > (tcp_buf ? tcp_buf : TN_TCP_BUF_DEFAULT))
		o.rcvbuf = k->cfg->size;
	tn_timeout_enter(&to, tn_now() + k->cfg->timeout_ns);
	err = tn_tcp_connect(k->st, k->cfg->dst, k->cfg->dport, &o, &k->c);
	err = tn_timeout_exit(&to, err);
	if (err == 0)
		k->conns++;
	return err;
}

static intptr_t writer_task(void *arg)
{
	struct client *k = arg;
	uint8_t *req = malloc(k->cfg->size);

	if (!req) {
		k->werr = -ENOMEM;
		goto out;
	}
	while (more(k)) {
		struct stamp sp = { MAGIC, k->gen, k->sent, 0 };
		int err = tn_sem_acquire(&k->permits);

		if (err) {
			k->werr = err;
			break;
		}
		fill(k, req, k->sent);
		sp.tsc = rte_rdtsc();
		memcpy(req, &sp, sizeof(sp));
		k->started++;
		tn_event_set(&k->news);
		err = tn_tcp_write(k->c, req, k->cfg->size);
		if (err) {
			k->werr = err;
			break;
		}
		k->sent++;
	}
out:
	free(req);
	k->wdone = true;
	tn_event_set(&k->news);
	return 0;
}

static int run_pipelined(struct client *k)
{
	struct tn_task *w;
	uint64_t seq = 0;
	int err = connect_to(k);

	if (err)
		return err;
	tn_sem_init(&k->permits, k->cfg->window);
	tn_event_init(&k->news);
	w = tn_task_spawn(writer_task, k);
	if (!w)
		return -errno;
	for (;;) {
		struct tn_timeout to;
		ssize_t n;

		if (seq == k->started) {
			if (k->wdone)
				break;
			tn_event_clear(&k->news);
			if ((err = tn_event_wait(&k->news)) < 0)
				break;
			continue;
		}
		tn_timeout_enter(&to, tn_now() + k->cfg->timeout_ns);
		n = tn_tcp_read_exactly(k->c, k->rep, k->cfg->size);
		err = tn_timeout_exit(&to, n < 0 ? (int)n : 0);
		if (err)
			break;
		if ((size_t)n != k->cfg->size) {
			err = -ECONNRESET; /* the server closed early */
			break;
		}
		check(k, seq++);
		tn_sem_release(&k->permits);
	}
	tn_task_cancel(w);
	tn_await(tn_task_join(w), NULL);
	if (!err && k->werr && k->werr != -ECANCELED)
		err = k->werr;
	if (err) {
		tn_tcp_abort(k->c);
	} else {
		/* Graceful: our FIN, then wait for theirs. */
		tn_tcp_shutdown(k->c);
		(void)tn_tcp_read(k->c, k->rep, 1);
		tn_tcp_close(k->c);
	}
	k->c = NULL;
	return err;
}

/* One request in flight that fits in the send buffer: write, read and
 * check in this task.  run_pipelined's writer task, semaphore and event
 * would add three task switches to every round trip measured; with one
 * request queued at once, the server cannot stall us by not reading.
 * One timeout scope covers the loop, its deadline pushed to --timeout
 * past each request (tn_timeout_reschedule: a store), instead of a
 * scope per reply, whose timer filing and removal were ~180 of the
 * client's ~5,000 instructions per round trip, inside the measured
 * time (callgrind, bench/callgrind_tcp.sh client). */
static int run_lockstep(struct client *k)
{
	struct tn_timeout to;
	int err = connect_to(k);

	if (err)
		return err;
	tn_timeout_enter(&to, tn_now() + k->cfg->timeout_ns);
	while (more(k)) {
		ssize_t n;

		build(k, k->sent);
		if ((err = tn_tcp_write(k->c, k->req, k->cfg->size)) < 0)
			break;
		k->sent++;
		tn_timeout_reschedule(&to, tn_now() + k->cfg->timeout_ns);
		n = tn_tcp_read_exactly(k->c, k->rep, k->cfg->size);
		if (n < 0) {
			err = (int)n;
			break;
		}
		if ((size_t)n != k->cfg->size) {
			err = -ECONNRESET; /* the server closed early */
			break;
		}
		check(k, k->sent - 1);
	}
	err = tn_timeout_exit(&to, err);
	if (err) {
		tn_tcp_abort(k->c);
	} else {
		tn_tcp_shutdown(k->c);
		(void)tn_tcp_read(k->c, k->rep, 1);
		tn_tcp_close(k->c);
	}
	k->c = NULL;
	return err;
}

static int run_reconnect(struct client *k)
{
	int err = 0;

	while (more(k)) {
		struct tn_timeout to;
		ssize_t n;

		if ((err = connect_to(k)) < 0)
			break;
		build(k, k->sent);
		err = tn_tcp_write(k->c, k->req, k->cfg->size);
		if (!err) {
			k->sent++;
			tn_timeout_enter(&to, tn_now() + k->cfg->timeout_ns);
			n = tn_tcp_read_exactly(k->c, k->rep, k->cfg->size);
			err = tn_timeout_exit(&to, n < 0 ? (int)n : 0);
			if (!err && (size_t)n != k->cfg->size)
				err = -ECONNRESET;
			if (!err)
				check(k, k->sent - 1);
		}
		if (err) {
			tn_tcp_abort(k->c);
			break;
		}
		/* We close first: TIME-WAIT stays with us, as with any client. */
		tn_tcp_close(k->c);
		k->c = NULL;
	}
	return err;
}

/* --send-bytes: streams cfg->send_bytes bytes (at most cfg->duration s
 * when set) from one buffer, awaits their acknowledgement, then closes
 * gracefully.  The rate counts the bytes the peer acknowledged, from
 * the first write to the last ACK. */
static int run_send(struct client *k)
{
	const size_t chunk = 64 * 1024;
	uint8_t *buf = malloc(chunk);
	uint64_t left = k->cfg->send_bytes, t0, t1;
	struct tn_tcp_info ti;
	int err;

	if (!buf)
		return -ENOMEM;
	memset(buf, 0x5a, chunk);
	if ((err = connect_to(k)) < 0)
		goto out;
	t0 = tn_now();
	while (left && !err && (k->cfg->duration <= 0 || tn_now() < k->end)) {
		size_t n = left < chunk ? (size_t)left : chunk;

		if ((err = tn_tcp_write(k->c, buf, n)) == 0)
			left -= n;
	}
	if (!err)
		err = tn_tcp_drain(k->c);
	t1 = tn_now();
	tn_tcp_info(k->c, &ti);
	printf("tcp-send: %llu bytes acknowledged in %.6f s, %.3f Gbit/s, mss %u, "
	       "retransmits %llu, srtt %.1f us, cwnd %u\n",
	       (unsigned long long)ti.bytes_acked, (double)(t1 - t0) / 1e9,
	       t1 > t0 ? (double)ti.bytes_acked * 8 / (double)(t1 - t0) : 0.0, ti.mss,
	       (unsigned long long)ti.retransmits, (double)ti.srtt_ns / 1e3, ti.cwnd);
	if (err) {
		tn_tcp_abort(k->c);
	} else {
		tn_tcp_shutdown(k->c);
		(void)tn_tcp_read(k->c, buf, 1); /* the discard server's FIN */
		tn_tcp_close(k->c);
	}
	k->c = NULL;
out:
	free(buf);
	return err;
}

/* ---- bulk (--bytes) ---- */

#define BULK_CHUNK (64u * 1024)

struct bulk {
	struct tn_tcp_conn *c;
	struct tn_tls_conn *t; /* --tls: the stream runs over it */
	uint64_t bytes, sent;
	uint32_t seed;
	int werr;
};

static intptr_t bulk_writer(void *arg)
{
	struct bulk *b = arg;
	struct mt_stream *gen = malloc(sizeof(*gen));
	uint8_t *buf = malloc(BULK_CHUNK);
	int err = 0;

	if (!gen || !buf) {
		err = -ENOMEM;
		goto out;
	}
	mt_stream_init(gen, b->seed);
	while (b->sent < b->bytes) {
		size_t n = b->bytes - b->sent < BULK_CHUNK ? b->bytes - b->sent : BULK_CHUNK;

		mt_stream_fill(gen, buf, n);
		err = b->t ? tn_tls_write(b->t, buf, n) : tn_tcp_write(b->c, buf, n);
		if (err < 0)
			goto out;
		b->sent += n;
	}
	/* The FIN (after close_notify) follows the last byte. */
	err = b->t ? tn_tls_shutdown(b->t) : tn_tcp_shutdown(b->c);
out:
	b->werr = err;
	free(gen);
	free(buf);
	return 0;
}

/* Reads the echo of b->bytes and compares it with the stream; *got is
 * how much matched.  0, -EBADMSG (a difference, reported), or -errno. */
static int bulk_check(struct bulk *b, uint64_t timeout_ns, uint64_t *got)
{
	struct mt_stream *gen = malloc(sizeof(*gen));
	uint8_t *buf = malloc(BULK_CHUNK), *want = malloc(BULK_CHUNK);
	int err = 0;

	if (!gen || !buf || !want) {
		err = -ENOMEM;
		goto out;
	}
	mt_stream_init(gen, b->seed);
	for (;;) {
		struct tn_timeout to;
		ssize_t n;

		tn_timeout_enter(&to, tn_now() + timeout_ns);
		n = b->t ? tn_tls_read(b->t, buf, BULK_CHUNK) : tn_tcp_read(b->c, buf, BULK_CHUNK);
		err = tn_timeout_exit(&to, n < 0 ? (int)n : 0);
		if (err)
			break;
		if (n == 0) {
			if (*got != b->bytes)
				err = -ECONNRESET; /* the server closed early */
			break;
		}
		if (*got + (uint64_t)n > b->bytes) {
			fprintf(stderr, PROG ": tcp bulk: %llu bytes more than sent\n",
				(unsigned long long)(*got + (uint64_t)n - b->bytes));
			err = -EBADMSG;
			break;
		}
		mt_stream_fill(gen, want, (size_t)n);
		if (memcmp(buf, want, (size_t)n) != 0) {
			ssize_t i = 0;

			while (buf[i] == want[i])
				i++;
			fprintf(stderr, PROG ": tcp bulk: byte %llu differs (0x%02x, want 0x%02x)\n",
				(unsigned long long)(*got + (uint64_t)i), buf[i], want[i]);
			err = -EBADMSG;
			break;
		}
		*got += (uint64_t)n;
	}
out:
	free(gen);
	free(buf);
	free(want);
	return err;
}

/* --tls: the client's handshake on k->c (verifying the server when
 * --tls-ca is given, by --tls-name or else the address). */
static int tls_start(struct client *k, struct tn_tls_ctx **ctx, struct tn_tls_conn **t)
{
	const struct echo_tcp_client_cfg *cfg = k->cfg;
	char addr[INET_ADDRSTRLEN];
	struct tn_timeout to;
	int err;

	if (!(*ctx = tn_tls_ctx_new_client(cfg->tls_ca, cfg->tls_ca != NULL))) {
		err = -errno;
		fprintf(stderr, PROG ": --tls-ca %s: %s\n", cfg->tls_ca, strerror(errno));
		return err;
	}
	inet_ntop(AF_INET, &cfg->dst, addr, sizeof(addr));
	tn_timeout_enter(&to, tn_now() + cfg->timeout_ns);
	err = tn_tls_connect(*ctx, k->c, cfg->tls_name ? cfg->tls_name : addr, t);
	err = tn_timeout_exit(&to, err);
	if (err) {
		fprintf(stderr, PROG ": tls handshake: %s\n", strerror(-err));
		tn_tls_ctx_free(*ctx);
		*ctx = NULL;
		return err;
	}
	printf("tls: %s %s\n", tn_tls_version(*t), tn_tls_cipher(*t));
	return 0;
}

static int run_bulk(struct client *k)
{
	struct bulk b = { .bytes = k->cfg->bytes, .seed = k->cfg->seed };
	struct tn_tls_ctx *ctx = NULL;
	struct tn_tcp_info ti;
	uint64_t got = 0, t0 = tn_now();
	struct tn_task *w;
	double secs;
	int err = connect_to(k);

	if (err)
		return err;
	b.c = k->c;
	if (k->cfg->tls && (err = tls_start(k, &ctx, &b.t)) < 0) {
		tn_tcp_abort(k->c);
		return err;
	}
	w = tn_task_spawn(bulk_writer, &b);
	if (!w) {
		err = -errno;
		if (b.t)
			tn_tls_abort(b.t);
		else
			tn_tcp_abort(k->c);
		tn_tls_ctx_free(ctx);
		return err;
	}
	err = bulk_check(&b, k->cfg->timeout_ns, &got);
	tn_task_cancel(w);
	tn_await(tn_task_join(w), NULL);
	if (!err && b.werr && b.werr != -ECANCELED)
		err = b.werr;
	secs = (double)(tn_now() - t0) / 1e9;
	tn_tcp_info(k->c, &ti);
	if (b.t && err)
		tn_tls_abort(b.t);
	else if (b.t)
		tn_tls_close(b.t);
	else if (err)
		tn_tcp_abort(k->c);
	else
		tn_tcp_close(k->c);
	tn_tls_ctx_free(ctx);
	k->c = NULL;
	printf("tcp bulk: sent %llu bytes, received %llu%s in %.3f s, %.1f MB/s each way\n",
	       (unsigned long long)b.sent, (unsigned long long)got,
	       !err && got == b.bytes ? " verified" : "", secs,
	       secs > 0 ? (double)got / 1e6 / secs : 0.0);
	printf("tcp info: retransmits %llu (fast %llu, rto %llu) srtt_us %llu cwnd %u "
	       "segs_out %llu segs_in %llu\n",
	       (unsigned long long)ti.retransmits, (unsigned long long)ti.fast_retransmits,
	       (unsigned long long)ti.rto_expiries, (unsigned long long)(ti.srtt_ns / 1000),
	       ti.cwnd, (unsigned long long)ti.segs_out, (unsigned long long)ti.segs_in);
	fflush(stdout);
	return err;
}

int echo_tcp_client(struct tn_stack *st, const struct echo_tcp_client_cfg *cfg)
{
	struct client *k = calloc(1, sizeof(*k));
	uint64_t t0;
	double secs;
	int err;

	if (!k)
		return -ENOMEM;
	k->cfg = cfg;
	k->st = st;
	k->req = malloc(cfg->size);
	k->rep = malloc(cfg->size);
	k->pat = malloc(ECHO_PATTERN_LEN(cfg->size));
	if (!k->req || !k->rep || !k->pat) {
		err = -ENOMEM;
		goto out;
	}
	echo_pattern_init(k->pat, ECHO_PATTERN_LEN(cfg->size));
	k->gen = (uint32_t)rte_rdtsc();
	k->tsc_hz = rte_get_tsc_hz();
	t0 = tn_now();
	k->end = t0 + (uint64_t)(cfg->duration * 1e9);
	if (cfg->send_bytes) {
		err = run_send(k);
		if (err == -ECANCELED)
			err = 0; /* SIGINT/SIGTERM: the line above says how far it got */
		if (err)
			fprintf(stderr, PROG ": tcp: %s\n", strerror(-err));
		goto out;
	}
	if (cfg->bytes) {
		err = run_bulk(k);
		if (err == -ECANCELED)
			err = 0; /* SIGINT/SIGTERM: the line above has no "verified" */
		if (err)
			fprintf(stderr, PROG ": tcp: %s\n", strerror(-err));
		goto out;
	}
	if (cfg->reconnect)
		err = run_reconnect(k);
	else if (cfg->window == 1 && cfg->size <= TN_TCP_BUF_DEFAULT)
		err = run_lockstep(k);
	else
		err = run_pipelined(k);
	secs = (double)(tn_now() - t0) / 1e9;
	if (err == -ECANCELED)
		err = 0; /* SIGINT/SIGTERM: report what we have */
	if (err)
		fprintf(stderr, PROG ": tcp: %s\n", strerror(-err));
	printf("summary: sent %llu recv %llu lost %llu bad %llu late 0 refused %llu in %.3f s%s\n",
	       (unsigned long long)k->sent, (unsigned long long)k->recv,
	       (unsigned long long)(k->sent - k->recv - k->bad), (unsigned long long)k->bad,
	       (unsigned long long)(err == -ECONNREFUSED), secs, cfg->where ? cfg->where : "");
	printf("rtt_ns p50=%llu p99=%llu p999=%llu max=%llu\n",
	       (unsigned long long)tn_hist_quantile(&k->rtt, 0.5),
	       (unsigned long long)tn_hist_quantile(&k->rtt, 0.99),
	       (unsigned long long)tn_hist_quantile(&k->rtt, 0.999),
	       (unsigned long long)k->rtt.max);
	printf("tcp: %llu connections, %.1f MB each way, %.1f MB/s\n",
	       (unsigned long long)k->conns, (double)k->recv * cfg->size / 1e6,
	       secs > 0 ? (double)k->recv * cfg->size / 1e6 / secs : 0.0);
	printf("lost %llu\n", (unsigned long long)(k->sent - k->recv));
	fflush(stdout);
out:
	free(k->req);
	free(k->rep);
	free(k->pat);
	free(k);
	return err;
}
