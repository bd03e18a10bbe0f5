/* TLS (stack/tls.c) between two Tern stacks in the network simulator
 * (tests/netsim.c), in virtual time: a handshake and 1 MB each way at
 * once, byte-exact, over a lossy link, ended by close_notify both ways;
 * certificates a verifying client rejects (untrusted, wrong name, wrong
 * address) and ones it accepts; reads interrupted by a timeout scope and
 * by cancellation, with nothing lost (also half of a read_exactly); an
 * interrupted write whose committed prefix still arrives whole and in
 * order; read_until (a header cut across records, interrupted, over
 * its limit, the end without a delimiter); a stream cut without
 * close_notify; contexts from bad files.
 * Every run ends with no mbuf held and nothing leaked (ns_destroy).
 *
 * The certificates are made here (EC P-256, self-signed) in a temporary
 * directory.  Tasks cannot use cmocka's asserts (they would longjmp out
 * of a coroutine): they record the first failure, which the test
 * function asserts on after the run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <rte_log.h>

#include <tern/coro.h>
#include <tern/tcp.h>
#include <tern/tls.h>

#include "eal_test.h"
#include "netsim.h"

#define PORT 4433
#define BULK (1u << 20)
#define MS ((uint64_t)TN_NS_PER_MS)

static char dir[64], cert_a[96], key_a[96], cert_b[96], key_b[96];

/* ---- failures recorded in tasks ---- */

static char why[512];
static bool failed;

static void note(int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (failed)
		return;
	failed = true;
	n = snprintf(why, sizeof(why), "line %d: ", line);
	va_start(ap, fmt);
	vsnprintf(why + n, sizeof(why) - (size_t)n, fmt, ap);
	va_end(ap);
}

#define CHECK(cond, ...)                                  \
	do {                                              \
		if (!(cond)) {                            \
			note(__LINE__, __VA_ARGS__);      \
			return -1;                        \
		}                                         \
	} while (0)

/* ---- certificates ---- */

/* A self-signed EC certificate for CN tern.test with SANs
 * DNS:tern.test and IP:10.0.0.2 (the server node's address). */
static void make_cert(const char *cert, const char *key, long serial)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;
	X509V3_CTX v3;
	X509_EXTENSION *e;
	FILE *f;

	assert_non_null(pk);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pk);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"tern.test", -1, -1,
				   0);
	X509_set_issuer_name(x, n);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:tern.test,IP:10.0.0.2");
	assert_non_null(e);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	assert_non_null(f = fopen(cert, "w"));
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
	assert_non_null(f = fopen(key, "w"));
	assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
}

/* ---- the byte streams ---- */

static uint8_t sbyte(uint64_t key, uint64_t off)
{
	uint64_t z = key + (off >> 3) * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (uint8_t)(z >> ((off & 7) * 8));
}

static void sfill(uint64_t key, uint64_t off, uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = sbyte(key, off + i);
}

static bool scheck(uint64_t key, uint64_t off, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != sbyte(key, off + i))
			return false;
	return true;
}

/* ---- the fixture: two nodes, a listener on node 1 ---- */

struct fix {
	struct ns_sim *sim;
	struct tn_tcp_listener *l;
	struct tn_tls_ctx *sctx, *cctx;
	int done; /* tasks finished */
	int want;
};

static struct ns_sim *live_sim;

static void fix_make(struct fix *f, uint64_t seed, const struct ns_link_cfg *lc)
{
	struct ns_cfg c = { .seed = seed, .trace = getenv("TN_SIM_TRACE") != NULL };

	memset(f, 0, sizeof(*f));
	failed = false;
	why[0] = 0;
	f->sim = live_sim = ns_create(&c);
	assert_non_null(f->sim);
	assert_int_equal(ns_add_node(f->sim, NULL), 0);
	assert_int_equal(ns_add_node(f->sim, NULL), 1);
	if (lc)
		ns_link_set_both(f->sim, 0, 1, lc);
	assert_int_equal(tn_tcp_listen(ns_stack(f->sim, 1), 0, PORT, 8, NULL, &f->l), 0);
	f->sctx = tn_tls_ctx_new_server(cert_a, key_a);
	assert_non_null(f->sctx);
}

static bool all_done(void *arg)
{
	struct fix *f = arg;

	return f->done >= f->want;
}

/* Runs the spawned tasks to their end, lets TCP finish (TIME-WAIT),
 * and checks that nothing is held or leaked. */
static void fix_run(struct fix *f, int tasks, uint64_t limit)
{
	int e;

	f->want = tasks;
	e = ns_run(f->sim, all_done, f, limit);
	if (failed)
		fail_msg("%s", why);
	assert_int_equal(e, 0);
	tn_tcp_listener_close(f->l);
	tn_tls_ctx_free(f->sctx);
	tn_tls_ctx_free(f->cctx);
	assert_int_equal(ns_run(f->sim, NULL, NULL, 4 * 3600 * TN_NS_PER_S), 0); /* TIME-WAIT */
	assert_int_equal(ns_pool_in_use(f->sim, 0), 0);
	assert_int_equal(ns_pool_in_use(f->sim, 1), 0);
	live_sim = NULL;
	assert_int_equal(ns_destroy(f->sim), 0);
}

static int tcp_to_server(struct fix *f, struct tn_tcp_conn **c)
{
	return tn_tcp_connect(ns_stack(f->sim, 0), ns_ip(f->sim, 1), PORT, NULL, c);
}

/* ---- 1 MB each way ---- */

struct side {
	struct fix *f;
	struct tn_tls_conn *c;
	uint64_t tx_key, rx_key;
	struct ns_rng rng;
	bool server;
};

static intptr_t bulk_writer(void *arg)
{
	struct side *s = arg;
	static uint8_t wbuf[2][40000];
	uint8_t *b = wbuf[s->server];
	uint64_t off = 0;
	int e;

	while (off < BULK) {
		size_t n = 1 + ns_rng_below(&s->rng, sizeof(wbuf[0]));

		if (n > BULK - off)
			n = BULK - off;
		sfill(s->tx_key, off, b, n);
		e = tn_tls_write(s->c, b, n);
		CHECK(e == 0, "write at %llu: %s", (unsigned long long)off, tn_strerror(e));
		off += n;
	}
	e = tn_tls_shutdown(s->c);
	CHECK(e == 0, "shutdown: %s", tn_strerror(e));
	CHECK(tn_tls_write(s->c, b, 1) == -EPIPE, "write after shutdown");
	return 0;
}

static int bulk_side(struct side *s)
{
	static uint8_t rbuf[2][50000];
	uint8_t *b = rbuf[s->server];
	struct tn_task *w;
	uint64_t off = 0;
	intptr_t v = -1;
	ssize_t n;
	int e;

	w = tn_task_spawn(bulk_writer, s);
	CHECK(w, "spawn");
	for (;;) {
		size_t want = 1 + ns_rng_below(&s->rng, sizeof(rbuf[0]));

		if (ns_rng_below(&s->rng, 2))
			n = tn_tls_read(s->c, b, want);
		else
			n = tn_tls_read_exactly(s->c, b, want);
		CHECK(n >= 0, "read at %llu: %s", (unsigned long long)off, tn_strerror((int)n));
		CHECK(scheck(s->rx_key, off, b, (size_t)n), "bytes differ near %llu",
		      (unsigned long long)off);
		off += (uint64_t)n;
		if (n == 0)
			break;
	}
	CHECK(off == BULK, "got %llu bytes", (unsigned long long)off);
	CHECK(tn_tls_read(s->c, b, 10) == 0, "read after close_notify");
	e = tn_await(tn_task_join(w), &v);
	CHECK(e == 0 && v == 0, "writer: %d %ld", e, (long)v);
	CHECK(!strcmp(tn_tls_version(s->c), "TLSv1.3"), "version %s", tn_tls_version(s->c));
	CHECK(*tn_tls_cipher(s->c), "no cipher");
	CHECK(!strcmp(tn_tls_alpn(s->c), "http/1.1"), "alpn '%s'", tn_tls_alpn(s->c));
	tn_tls_close(s->c);
	return 0;
}

static intptr_t bulk_server(void *arg)
{
	struct side *s = arg;
	struct tn_tcp_conn *tcp;
	int e;

	e = tn_tcp_accept(s->f->l, &tcp);
	CHECK(e == 0, "accept: %s", tn_strerror(e));
	e = tn_tls_accept(s->f->sctx, tcp, &s->c);
	CHECK(e == 0, "tls accept: %s", tn_strerror(e));
	CHECK(tn_tls_tcp(s->c) == tcp, "tn_tls_tcp");
	e = bulk_side(s);
	s->f->done++;
	return e;
}

static intptr_t bulk_client(void *arg)
{
	struct side *s = arg;
	struct tn_tcp_conn *tcp;
	int e;

	e = tcp_to_server(s->f, &tcp);
	CHECK(e == 0, "connect: %s", tn_strerror(e));
	e = tn_tls_connect(s->f->cctx, tcp, "tern.test", &s->c);
	CHECK(e == 0, "tls connect: %s", tn_strerror(e));
	e = bulk_side(s);
	s->f->done++;
	return e;
}

static void test_bulk(void **state)
{
	static const char *const srv_alpn[] = { "http/1.1" };
	static const char *const cli_alpn[] = { "h2", "http/1.1" };
	struct ns_link_cfg lc = { .loss = 0.005, .delay_ns = 500 * 1000, .rate_bps = 200000000 };
	struct side s[2];
	struct fix f;

	(void)state;
	fix_make(&f, 1, &lc);
	assert_non_null(f.cctx = tn_tls_ctx_new_client(cert_a, true));
	assert_int_equal(tn_tls_ctx_set_alpn(f.sctx, srv_alpn, 1), 0);
	assert_int_equal(tn_tls_ctx_set_alpn(f.cctx, cli_alpn, 2), 0);
	for (int i = 0; i < 2; i++) {
		s[i] = (struct side){ .f = &f, .server = i == 1, .tx_key = 100 + (uint64_t)i,
				      .rx_key = 101 - (uint64_t)i };
		ns_rng_seed(&s[i].rng, 7 + (uint64_t)i);
	}
	tn_task_detach(tn_task_spawn(bulk_server, &s[1]));
	tn_task_detach(tn_task_spawn(bulk_client, &s[0]));
	fix_run(&f, 2, 600 * TN_NS_PER_S);
}

/* ---- certificates a verifying client rejects ---- */

struct attempt {
	struct tn_tls_ctx *ctx;
	const char *host;
	int want_client, want_server;
};

struct verify_run {
	struct fix *f;
	const struct attempt *a;
	int n;
	int server_err[8];
};

static intptr_t verify_server(void *arg)
{
	struct verify_run *r = arg;
	struct tn_tcp_conn *tcp;
	struct tn_tls_conn *c;
	uint8_t b[16];
	int e;

	for (int i = 0; i < r->n; i++) {
		e = tn_tcp_accept(r->f->l, &tcp);
		CHECK(e == 0, "accept: %s", tn_strerror(e));
		e = tn_tls_accept(r->f->sctx, tcp, &c);
		r->server_err[i] = e;
		if (e) {
			tn_tcp_abort(tcp);
			continue;
		}
		CHECK(tn_tls_read(c, b, sizeof(b)) == 0, "attempt %d: no close_notify", i);
		tn_tls_close(c);
	}
	r->f->done++;
	return 0;
}

static intptr_t verify_client(void *arg)
{
	struct verify_run *r = arg;
	struct tn_tcp_conn *tcp;
	struct tn_tls_conn *c;
	uint8_t b[16];
	int e;

	for (int i = 0; i < r->n; i++) {
		e = tcp_to_server(r->f, &tcp);
		CHECK(e == 0, "connect: %s", tn_strerror(e));
		e = tn_tls_connect(r->a[i].ctx, tcp, r->a[i].host, &c);
		CHECK(e == r->a[i].want_client, "attempt %d (%s): %s, want %s", i, r->a[i].host,
		      tn_strerror(e), tn_strerror(r->a[i].want_client));
		if (e) {
			tn_tcp_abort(tcp);
			continue;
		}
		e = tn_tls_shutdown(c);
		CHECK(e == 0, "shutdown: %s", tn_strerror(e));
		CHECK(tn_tls_read(c, b, sizeof(b)) == 0, "attempt %d: no close_notify back", i);
		tn_tls_close(c);
	}
	r->f->done++;
	return 0;
}

static void test_verify(void **state)
{
	struct tn_tls_ctx *other, *lax;
	struct verify_run r;
	struct fix f;

	(void)state;
	fix_make(&f, 2, NULL);
	assert_non_null(f.cctx = tn_tls_ctx_new_client(cert_a, true));
	assert_non_null(other = tn_tls_ctx_new_client(cert_b, true)); /* trusts another cert */
	assert_non_null(lax = tn_tls_ctx_new_client(NULL, false));
	const struct attempt a[] = {
		{ other, "tern.test", -EKEYREJECTED, -EPROTO },
		{ f.cctx, "evil.test", -EKEYREJECTED, -EPROTO },
		{ f.cctx, "10.0.0.9", -EKEYREJECTED, -EPROTO },
		{ f.cctx, "10.0.0.2", 0, 0 },
		{ f.cctx, "tern.test", 0, 0 },
		{ lax, "evil.test", 0, 0 },
	};
	r = (struct verify_run){ .f = &f, .a = a, .n = 6 };
	tn_task_detach(tn_task_spawn(verify_server, &r));
	tn_task_detach(tn_task_spawn(verify_client, &r));
	fix_run(&f, 2, 60 * TN_NS_PER_S);
	tn_tls_ctx_free(other);
	tn_tls_ctx_free(lax);
	for (int i = 0; i < r.n; i++)
		if (r.server_err[i] != a[i].want_server)
			fail_msg("attempt %d: server %s, want %s", i, tn_strerror(r.server_err[i]),
				 tn_strerror(a[i].want_server));
}

/* ---- interrupted reads and writes ---- */

struct cancel_run {
	struct fix *f;
	struct tn_event ev[4];
	struct tn_tls_conn *cc;
	int reader_ret;
};

static intptr_t blocked_reader(void *arg)
{
	struct cancel_run *r = arg;
	uint8_t b[8];

	r->reader_ret = (int)tn_tls_read(r->cc, b, sizeof(b));
	return 0;
}

static intptr_t cancel_server(void *arg)
{
	struct cancel_run *r = arg;
	struct tn_tcp_conn *tcp;
	struct tn_tls_conn *c;
	uint8_t b[1000];
	int e;

	e = tn_tcp_accept(r->f->l, &tcp);
	CHECK(e == 0, "accept: %s", tn_strerror(e));
	e = tn_tls_accept(r->f->sctx, tcp, &c);
	CHECK(e == 0, "tls accept: %s", tn_strerror(e));
	sfill(5, 0, b, sizeof(b));
	CHECK(tn_event_wait(&r->ev[0]) == 0, "ev0");
	CHECK(tn_tls_write(c, b, 50) == 0, "write 1");
	CHECK(tn_event_wait(&r->ev[1]) == 0, "ev1");
	CHECK(tn_tls_write(c, b + 50, 50) == 0, "write 2");
	CHECK(tn_event_wait(&r->ev[2]) == 0, "ev2");
	CHECK(tn_tls_write(c, b + 100, 900) == 0, "write 3");
	CHECK(tn_tls_shutdown(c) == 0, "shutdown");
	CHECK(tn_tls_read(c, b, sizeof(b)) == 0, "no close_notify");
	tn_tls_close(c);
	r->f->done++;
	return 0;
}

static intptr_t cancel_client(void *arg)
{
	struct cancel_run *r = arg;
	struct tn_tcp_conn *tcp;
	struct tn_timeout to;
	struct tn_task *t;
	uint8_t b[1000];
	size_t got;
	ssize_t n;
	int e;

	e = tcp_to_server(r->f, &tcp);
	CHECK(e == 0, "connect: %s", tn_strerror(e));
	e = tn_tls_connect(r->f->cctx, tcp, "tern.test", &r->cc);
	CHECK(e == 0, "tls connect: %s", tn_strerror(e));

	/* A timeout scope around a read with nothing coming. */
	tn_timeout_enter(&to, tn_now() + 10 * MS);
	n = tn_tls_read(r->cc, b, sizeof(b));
	n = tn_timeout_exit(&to, (int)n);
	CHECK(n == -ETIMEDOUT, "timed read: %zd", n);

	/* A reader cancelled while it waits. */
	t = tn_task_spawn(blocked_reader, r);
	CHECK(t, "spawn");
	tn_yield();
	tn_task_cancel(t);
	CHECK(tn_await(tn_task_join(t), NULL) == 0, "join");
	CHECK(r->reader_ret == -ECANCELED, "cancelled read: %d", r->reader_ret);

	/* read_exactly interrupted after 50 of its 100 bytes... */
	tn_event_set(&r->ev[0]);
	tn_timeout_enter(&to, tn_now() + 50 * MS);
	n = tn_tls_read_exactly(r->cc, b, 100);
	n = tn_timeout_exit(&to, (int)n);
	CHECK(n == -ETIMEDOUT, "timed read_exactly: %zd", n);
	/* ...keeps them: the next one returns all 100, in order. */
	tn_event_set(&r->ev[1]);
	n = tn_tls_read_exactly(r->cc, b, 100);
	CHECK(n == 100 && scheck(5, 0, b, 100), "read_exactly after: %zd", n);

	/* The rest in small reads, then close_notify. */
	tn_event_set(&r->ev[2]);
	for (got = 100; got < 1000; got += (size_t)n) {
		n = tn_tls_read(r->cc, b, 7);
		CHECK(n > 0 && scheck(5, got, b, (size_t)n), "read at %zu: %zd", got, n);
	}
	CHECK(tn_tls_read(r->cc, b, 7) == 0 && tn_tls_at_eof(r->cc), "close_notify");
	CHECK(tn_tls_shutdown(r->cc) == 0, "shutdown");
	tn_tls_close(r->cc);
	r->f->done++;
	return 0;
}

static void test_cancel_read(void **state)
{
	struct ns_link_cfg lc = { .delay_ns = 1000 * 1000 };
	struct cancel_run r;
	struct fix f;

	(void)state;
	fix_make(&f, 3, &lc);
	assert_non_null(f.cctx = tn_tls_ctx_new_client(cert_a, true));
	r = (struct cancel_run){ .f = &f };
	for (int i = 0; i < 4; i++)
		tn_event_init(&r.ev[i]);
	tn_task_detach(tn_task_spawn(cancel_server, &r));
	tn_task_detach(tn_task_spawn(cancel_client, &r));
	fix_run(&f, 2, 60 * TN_NS_PER_S);
}

#define WBIG (8u << 20)
#define TAIL 1000

static intptr_t wcancel_server(void *arg)
{
	struct cancel_run *r = arg;
	static uint8_t b[WBIG + TAIL];
	struct tn_tcp_conn *tcp;
	struct tn_tls_conn *c;
	size_t got = 0, k;
	ssize_t n;
	int e;

	e = tn_tcp_accept(r->f->l, &tcp);
	CHECK(e == 0, "accept: %s", tn_strerror(e));
	e = tn_tls_accept(r->f->sctx, tcp, &c);
	CHECK(e == 0, "tls accept: %s", tn_strerror(e));
	CHECK(tn_event_wait(&r->ev[0]) == 0, "ev0");
	while ((n = tn_tls_read(c, b + got, sizeof(b) - got)) > 0)
		got += (size_t)n;
	CHECK(n == 0, "read: %s", tn_strerror((int)n));
	/* What the interrupted write committed, then the tail, nothing else. */
	CHECK(got > TAIL && got < WBIG, "got %zu", got);
	k = got - TAIL;
	CHECK(scheck(11, 0, b, k), "the committed prefix (%zu bytes) differs", k);
	CHECK(scheck(12, 0, b + k, TAIL), "the tail differs");
	tn_tls_close(c);
	r->f->done++;
	return 0;
}

static intptr_t wcancel_client(void *arg)
{
	struct cancel_run *r = arg;
	static uint8_t b[WBIG];
	struct tn_tcp_conn *tcp;
	struct tn_tls_conn *c;
	struct tn_timeout to;
	int e;

	e = tcp_to_server(r->f, &tcp);
	CHECK(e == 0, "connect: %s", tn_strerror(e));
	e = tn_tls_connect(r->f->cctx, tcp, "tern.test", &c);
	CHECK(e == 0, "tls connect: %s", tn_strerror(e));
	sfill(11, 0, b, WBIG);
	/* The server reads nothing yet: the write fills both buffers. */
	tn_timeout_enter(&to, tn_now() + 200 * MS);
	e = tn_tls_write(c, b, WBIG);
	e = tn_timeout_exit(&to, e);
	CHECK(e == -ETIMEDOUT, "timed write: %s", tn_strerror(e));
	tn_event_set(&r->ev[0]);
	sfill(12, 0, b, TAIL);
	e = tn_tls_write(c, b, TAIL);
	CHECK(e == 0, "write after: %s", tn_strerror(e));
	CHECK(tn_tls_shutdown(c) == 0, "shutdown");
	CHECK(tn_tls_read(c, b, 1) == 0, "close_notify");
	tn_tls_close(c);
	r->f->done++;
	return 0;
}

static void test_cancel_write(void **state)
{
	struct ns_link_cfg lc = { .delay_ns = 1000 * 1000, .rate_bps = 100000000 };
	struct cancel_run r;
	struct fix f;

	(void)state;
	fix_make(&f, 4, &lc);
	assert_non_null(f.cctx = tn_tls_ctx_new_client(cert_a, true));
	r = (struct cancel_run){ .f = &f };
	tn_event_init(&r.ev[0]);
	tn_task_detach(tn_task_spawn(wcancel_server, &r));
	tn_task_detach(tn_task_spawn(wcancel_client, &r));
	fix_run(&f, 2, 60 * TN_NS_PER_S);
}

/* ---- read_until ---- */

static const char req[] = "GET / HTTP/1.1\r\nHost: tern.test\r\n\r\nBODYtail-without-delimiter";
#define HDR_LEN 35 /* through the blank line */

static intptr_t until_server(void *arg)
{
	struct cancel_run *r = arg;
	struct tn_tcp_conn *tcp;
	struct tn_tls_conn *c;
	uint8_t b[8];
	int e;

	e = tn_tcp_accept(r->f->l, &tcp);
	CHECK(e == 0, "accept: %s", tn_strerror(e));
	e = tn_tls_accept(r->f->sctx, tcp, &c);
	CHECK(e == 0, "tls accept: %s", tn_strerror(e));
	CHECK(tn_tls_write(c, req, 20) == 0, "write 1"); /* half the header */
	CHECK(tn_event_wait(&r->ev[0]) == 0, "ev0");
	/* The rest, cut across records. */
	for (size_t off = 20; off < sizeof(req) - 1; off += 3)
		CHECK(tn_tls_write(c, req + off, sizeof(req) - 1 - off < 3 ? sizeof(req) - 1 - off : 3)
		      == 0, "write at %zu", off);
	CHECK(tn_tls_shutdown(c) == 0, "shutdown");
	CHECK(tn_tls_read(c, b, sizeof(b)) == 0, "no close_notify");
	tn_tls_close(c);
	r->f->done++;
	return 0;
}

static intptr_t until_client(void *arg)
{
	struct cancel_run *r = arg;
	struct tn_tcp_conn *tcp;
	struct tn_tls_conn *c;
	struct tn_timeout to;
	char b[64];
	ssize_t n;
	int e;

	e = tcp_to_server(r->f, &tcp);
	CHECK(e == 0, "connect: %s", tn_strerror(e));
	e = tn_tls_connect(r->f->cctx, tcp, "tern.test", &c);
	CHECK(e == 0, "tls connect: %s", tn_strerror(e));
	/* Half a header: the timeout ends the wait, nothing is consumed. */
	tn_timeout_enter(&to, tn_now() + 50 * MS);
	n = tn_tls_read_until(c, b, sizeof(b), "\r\n\r\n", 4);
	n = tn_timeout_exit(&to, (int)n);
	CHECK(n == -ETIMEDOUT, "timed read_until: %zd", n);
	CHECK(tn_tls_read_until(c, b, 10, "\r\n\r\n", 4) == -EMSGSIZE, "over len");
	CHECK(tn_tls_read_until(c, b, 10, "", 0) == -EINVAL, "no delimiter");
	tn_event_set(&r->ev[0]);
	CHECK(tn_tls_read_until(c, b, 30, "\r\n\r\n", 4) == -EMSGSIZE, "the header is 35");
	n = tn_tls_read_until(c, b, sizeof(b), "\r\n\r\n", 4);
	CHECK(n == HDR_LEN && !memcmp(b, req, HDR_LEN), "the header: %zd", n);
	n = tn_tls_read_exactly(c, b, 4);
	CHECK(n == 4 && !memcmp(b, "BODY", 4), "the body: %zd", n);
	/* No delimiter before close_notify: what is left. */
	n = tn_tls_read_until(c, b, sizeof(b), "\n", 1);
	CHECK(n == (ssize_t)strlen("tail-without-delimiter") && !memcmp(b, "tail-", 5),
	      "the tail: %zd", n);
	CHECK(tn_tls_read_until(c, b, sizeof(b), "\n", 1) == 0 && tn_tls_at_eof(c), "eof");
	CHECK(tn_tls_shutdown(c) == 0, "shutdown");
	tn_tls_close(c);
	r->f->done++;
	return 0;
}

static void test_read_until(void **state)
{
	struct ns_link_cfg lc = { .delay_ns = 1000 * 1000 };
	struct cancel_run r;
	struct fix f;

	(void)state;
	fix_make(&f, 6, &lc);
	assert_non_null(f.cctx = tn_tls_ctx_new_client(cert_a, true));
	r = (struct cancel_run){ .f = &f };
	tn_event_init(&r.ev[0]);
	tn_task_detach(tn_task_spawn(until_server, &r));
	tn_task_detach(tn_task_spawn(until_client, &r));
	fix_run(&f, 2, 60 * TN_NS_PER_S);
}

/* ---- a stream cut without close_notify ---- */

static intptr_t trunc_server(void *arg)
{
	struct fix *f = arg;
	struct tn_tcp_conn *tcp;
	struct tn_tls_conn *c;
	uint8_t b[100];
	ssize_t n;
	int e;

	e = tn_tcp_accept(f->l, &tcp);
	CHECK(e == 0, "accept: %s", tn_strerror(e));
	e = tn_tls_accept(f->sctx, tcp, &c);
	CHECK(e == 0, "tls accept: %s", tn_strerror(e));
	sfill(9, 0, b, sizeof(b));
	CHECK(tn_tls_write(c, b, sizeof(b)) == 0, "write");
	CHECK(tn_tcp_shutdown(tcp) == 0, "tcp shutdown"); /* FIN, no close_notify */
	/* The client, cut off, answered with a fatal alert (OpenSSL sends
	 * decode_error on an unexpected EOF) before its own FIN. */
	n = tn_tls_read(c, b, 1);
	CHECK(n == -EPROTO, "the client's alert: %s", tn_strerror((int)n));
	tn_tls_abort(c);
	f->done++;
	return 0;
}

static intptr_t trunc_client(void *arg)
{
	struct fix *f = arg;
	struct tn_tcp_conn *tcp;
	struct tn_tls_conn *c;
	uint8_t b[100];
	ssize_t n;
	int e;

	e = tcp_to_server(f, &tcp);
	CHECK(e == 0, "connect: %s", tn_strerror(e));
	e = tn_tls_connect(f->cctx, tcp, "tern.test", &c);
	CHECK(e == 0, "tls connect: %s", tn_strerror(e));
	n = tn_tls_read_exactly(c, b, sizeof(b));
	CHECK(n == 100 && scheck(9, 0, b, 100), "read: %zd", n);
	n = tn_tls_read(c, b, 1);
	CHECK(n == -ECONNRESET, "after the cut: %s", tn_strerror((int)n));
	CHECK(tn_tls_read(c, b, 1) == -ECONNRESET, "sticky");
	CHECK(tn_tcp_shutdown(tcp) == 0, "tcp shutdown");
	tn_tls_close(c);
	f->done++;
	return 0;
}

static void test_truncation(void **state)
{
	struct fix f;

	(void)state;
	fix_make(&f, 5, NULL);
	assert_non_null(f.cctx = tn_tls_ctx_new_client(cert_a, true));
	tn_task_detach(tn_task_spawn(trunc_server, &f));
	tn_task_detach(tn_task_spawn(trunc_client, &f));
	fix_run(&f, 2, 60 * TN_NS_PER_S);
}

/* ---- contexts from bad files ---- */

static void test_ctx_errors(void **state)
{
	char junk[96];
	FILE *fp;

	(void)state;
	snprintf(junk, sizeof(junk), "%s/junk.pem", dir);
	assert_non_null(fp = fopen(junk, "w"));
	fputs("not a certificate\n", fp);
	fclose(fp);
	errno = 0;
	assert_null(tn_tls_ctx_new_server("/nonexistent/cert.pem", key_a));
	assert_int_equal(errno, ENOENT);
	assert_null(tn_tls_ctx_new_server(junk, key_a));
	assert_int_equal(errno, EINVAL);
	assert_null(tn_tls_ctx_new_server(cert_a, key_b)); /* not its key */
	assert_int_equal(errno, EKEYREJECTED);
	assert_null(tn_tls_ctx_new_client("/nonexistent/ca.pem", true));
	assert_int_equal(errno, ENOENT);
	assert_null(tn_tls_ctx_new_client(junk, true));
	assert_int_equal(errno, EINVAL);
	unlink(junk);
	/* Contexts come and go (reloads): nothing runs out. */
	for (int i = 0; i < 300; i++) {
		struct tn_tls_ctx *c = tn_tls_ctx_new_client(cert_a, true);

		assert_non_null(c);
		tn_tls_ctx_free(c);
	}
}

/* ---- fixture ---- */

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tn_tls_test.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(cert_a, sizeof(cert_a), "%s/a.pem", dir);
	snprintf(key_a, sizeof(key_a), "%s/a.key", dir);
	snprintf(cert_b, sizeof(cert_b), "%s/b.pem", dir);
	snprintf(key_b, sizeof(key_b), "%s/b.key", dir);
	make_cert(cert_a, key_a, 1);
	make_cert(cert_b, key_b, 2);
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "tn_tls%d", (int)getpid());
	if (tn_test_eal_init(prefix, NULL) != 0)
		return -1;
	rte_log_set_global_level(RTE_LOG_WARNING);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	ns_pools_free();
	tn_test_eal_fini();
	unlink(cert_a);
	unlink(key_a);
	unlink(cert_b);
	unlink(key_b);
	rmdir(dir);
	return 0;
}

static int test_teardown(void **state)
{
	(void)state;
	if (live_sim) {
		if (tn_task_current()) {
			printf("test failed inside a task; exiting\n");
			exit(1);
		}
		ns_destroy(live_sim);
		live_sim = NULL;
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_ctx_errors, test_teardown),
		cmocka_unit_test_teardown(test_bulk, test_teardown),
		cmocka_unit_test_teardown(test_verify, test_teardown),
		cmocka_unit_test_teardown(test_cancel_read, test_teardown),
		cmocka_unit_test_teardown(test_cancel_write, test_teardown),
		cmocka_unit_test_teardown(test_truncation, test_teardown),
		cmocka_unit_test_teardown(test_read_until, test_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
