/* tern-httpd's request handling (apps/http_*.c) through a fake transport
 * (struct http_io) on the coro test scheduler's virtual clock: parsing,
 * routes, status codes, limits, timeouts, pipelining, static files and
 * the WebSocket handshake and framing; and how the TLS transport's writev
 * gathers records (http_writev_records).  No network, no root. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tn_test.h"

#include "http.h"

struct fake {
	const char *in;
	size_t in_len, pos;
	size_t chunk; /* most bytes per read (0: all there is) */
	bool hang;    /* at the end of the input: wait instead of EOF */
	size_t cut;   /* reads end here; chunk applies only past it */
	uint64_t read_delay;  /* ns each read but the first waits (virtual clock) */
	uint64_t write_delay; /* ns each writev waits before it takes the bytes */
	char out[64 * 1024];
	size_t out_len;
	unsigned writes; /* writev calls */
	bool shut;
};

static ssize_t fake_read(void *ctx, void *buf, size_t len)
{
	struct fake *f = ctx;
	size_t n = f->in_len - f->pos;

	if (f->pos && f->read_delay) {
		int err = tn_sleep(f->read_delay);

		if (err)
			return err;
	}
	if (!n) {
		if (!f->hang)
			return 0;
		int err = tn_sleep(1000ull * 1000000000); /* a timeout ends it */
		return err ? err : 0;
	}
	if (f->pos < f->cut)
		n = n < f->cut - f->pos ? n : f->cut - f->pos;
	else if (f->chunk && n > f->chunk)
		n = f->chunk;
	if (n > len)
		n = len;
	memcpy(buf, f->in + f->pos, n);
	f->pos += n;
	return (ssize_t)n;
}

static int fake_writev(void *ctx, const struct iovec *iov, int iovcnt)
{
	struct fake *f = ctx;

	f->writes++;
	if (f->write_delay) {
		int err = tn_sleep(f->write_delay);

		if (err)
			return err;
	}
	for (int i = 0; i < iovcnt; i++) {
		assert_true(f->out_len + iov[i].iov_len < sizeof(f->out));
		memcpy(f->out + f->out_len, iov[i].iov_base, iov[i].iov_len);
		f->out_len += iov[i].iov_len;
	}
	return 0;
}

static int fake_shutdown(void *ctx)
{
	((struct fake *)ctx)->shut = true;
	return 0;
}

static const struct http_io_ops fake_ops = { fake_read, fake_writev, fake_shutdown };

static struct http_cfg cfg;
static struct http_server srv;
static struct fake fk;
static int serve_rc;

static intptr_t serve_task(void *arg)
{
	struct http_io io = { &fake_ops, &fk };

	(void)arg;
	serve_rc = http_conn_serve(&srv, &io);
	return 0;
}

static int setup(void **state)
{
	cfg = (struct http_cfg){
		.root_fd = -1,
		.max_header = 1024,
		.max_body = 64,
		.idle_ns = 5ull * 1000000000,
		.request_ns = 1ull * 1000000000,
	};
	http_server_init(&srv, &cfg);
	memset(&fk, 0, sizeof(fk));
	return tn_test_setup(state);
}

/* Serves `in` (split into reads of at most chunk bytes) until the fake
 * stream ends; the output is NUL-terminated in fk.out. */
static const char *run(const char *in, size_t len, size_t chunk, bool hang)
{
	intptr_t res;

	fk.in = in;
	fk.in_len = len;
	fk.pos = 0;
	fk.chunk = chunk;
	fk.hang = hang;
	fk.out_len = 0;
	fk.writes = 0;
	fk.shut = false;
	assert_int_equal(tn_test_run(serve_task, NULL, &res), 0);
	fk.out[fk.out_len] = '\0';
	return fk.out;
}

static const char *runs(const char *in)
{
	return run(in, strlen(in), 0, false);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_hello(void **state)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nServer: tern-httpd\r\nDate: ";
	static const char tail[] = " GMT\r\nContent-Type: text/plain; charset=utf-8\r\n"
				   "Content-Length: 14\r\n\r\nHello, world!\n";
	const char *o = runs("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	size_t n = strlen(o);

	(void)state;
	/* "Date: Thu, 26 Nov 2026 13:27:42 GMT": 25 characters between. */
	if (n != sizeof(head) - 1 + 25 + sizeof(tail) - 1 || strncmp(o, head, sizeof(head) - 1) ||
	    strcmp(o + n - (sizeof(tail) - 1), tail))
		fail_msg("'%s'", o);
	assert_int_equal(serve_rc, 0);
	assert_false(fk.shut); /* keep-alive: the peer's EOF ended it */
	o = runs("HEAD /hello HTTP/1.1\r\n\r\n");
	assert_non_null(strstr(o, "Content-Length: 14\r\n\r\n"));
	assert_null(strstr(o, "Hello"));
	o = runs("GET / HTTP/1.1\r\n\r\n");
	assert_true(strncmp(o, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_int_equal(srv.st.requests, 3);
	assert_int_equal(srv.st.status[2], 3);

	/* /hello's bytes are cached per second of the Date: a new second
	 * (here a made-up one) rebuilds them. */
	strcpy(srv.date, "Thu, 01 Jan 1970 00:00:01 GMT");
	srv.date_sec = 1;
	srv.date_next = UINT64_MAX;
	o = runs("GET /hello HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
	assert_int_equal(count(o, "\r\nDate: Thu, 01 Jan 1970 00:00:01 GMT\r\n"), 2);
	assert_int_equal(count(o, "Hello, world!\n"), 2);
	/* Without keep-alive, or in 1.0, the Connection field is there. */
	o = runs("GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(o, "Content-Length: 14\r\nConnection: close\r\n\r\nHello"));
	o = runs("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	assert_non_null(strstr(o, "Content-Length: 14\r\nConnection: keep-alive\r\n\r\nHello"));
	o = runs("HEAD /hello HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(o, "Content-Length: 14\r\nConnection: close\r\n\r\n"));
	assert_null(strstr(o, "Hello"));
	assert_int_equal(srv.st.status[2], 8);
}

/* The request target's forms: the origin form without a query or a
 * fragment is its own path (http_routes.c's shortcut), the others go
 * through http_parser_parse_url; both route alike. */
static void test_url_forms(void **state)
{
	static const char *const ok[] = {
		"GET /hello HTTP/1.1\r\n\r\n",
		"GET /hello?x=1&y=/z HTTP/1.1\r\n\r\n",
		"GET /hello#frag HTTP/1.1\r\n\r\n",
		"GET /hello?#x HTTP/1.1\r\n\r\n",
		"GET http://example.com/hello HTTP/1.1\r\n\r\n",
		"GET http://example.com:8080/hello?q HTTP/1.1\r\n\r\n",
	};
	static const char *const missing[] = {
		"GET /hellox HTTP/1.1\r\n\r\n",
		"GET /hello/ HTTP/1.1\r\n\r\n",
		"GET /hell?o HTTP/1.1\r\n\r\n",
		"GET //hello HTTP/1.1\r\n\r\n",
		"GET http://example.com/hellox HTTP/1.1\r\n\r\n",
	};
	const char *o;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		o = runs(ok[i]);
		if (strncmp(o, "HTTP/1.1 200 OK\r\n", 17) || !strstr(o, "Hello, world!\n"))
			fail_msg("'%s': '%s'", ok[i], o);
	}
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		o = runs(missing[i]);
		if (strncmp(o, "HTTP/1.1 404 ", 13))
			fail_msg("'%s': '%s'", missing[i], o);
	}
	o = runs("GET * HTTP/1.1\r\n\r\n");
	assert_true(strncmp(o, "HTTP/1.1 400 ", 13) == 0);
}

/* The fields kept (http_conn.c) match in any case, and only by their
 * whole name: Accept and User-Agent have Expect's and Connection's
 * lengths. */
static void test_kept_fields(void **state)
{
	const char *o;

	(void)state;
	o = runs("POST /echo HTTP/1.1\r\nCONTENT-type: text/x-a\r\nContent-Length: 2\r\n\r\nab");
	assert_non_null(strstr(o, "Content-Type: text/x-a\r\n"));
	o = runs("POST /echo HTTP/1.1\r\nContent-Typo: text/x-a\r\nContent-Length: 2\r\n\r\nab");
	assert_null(strstr(o, "text/x-a"));
	assert_non_null(strstr(o, "Content-Type: application/octet-stream\r\n"));
	o = runs("POST /echo HTTP/1.1\r\nAccept: 100-continue\r\nContent-Length: 2\r\n\r\nab");
	assert_null(strstr(o, "100 Continue"));
	o = runs("POST /echo HTTP/1.1\r\neXpEcT: 100-continue\r\nContent-Length: 2\r\n\r\nab");
	assert_true(strncmp(o, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0);
	/* Upgrade and Connection in capitals: still a WebSocket request
	 * (426 without the key: the fields were seen); User-Agent in
	 * Connection's place is no Connection. */
	o = runs("GET /ws/echo HTTP/1.1\r\nUPGRADE: websocket\r\nCONNECTION: Upgrade\r\n\r\n");
	assert_true(strncmp(o, "HTTP/1.1 426 ", 13) == 0 || strncmp(o, "HTTP/1.1 400 ", 13) == 0);
	o = runs("GET /hello HTTP/1.1\r\nUser-Agent: close\r\n\r\n");
	assert_true(strncmp(o, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_false(fk.shut);
}

/* Two requests in one read, and the same a byte at a time: both answered,
 * in order, on one connection. */
static void test_pipelined(void **state)
{
	static const char two[] = "GET /hello HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n"
				  "POST /hello HTTP/1.1\r\nContent-Length: 2\r\n\r\nabGET /hello "
				  "HTTP/1.1\r\nConnection: close\r\n\r\nGET /hello HTTP/1.1\r\n\r\n";

	(void)state;
	for (size_t chunk = 0; chunk < 2; chunk++) {
		const char *o = run(two, sizeof(two) - 1, chunk, false), *a, *b, *c, *d;

		a = strstr(o, "200 OK");
		b = strstr(o, "404 Not Found");
		c = strstr(o, "405 Method Not Allowed");
		d = a ? strstr(a + 1, "200 OK") : NULL;
		if (!(a && b && c && d && a < b && b < c && c < d))
			fail_msg("chunk %zu: out of order or missing: '%s'", chunk, o);
		assert_non_null(strstr(c, "Allow: GET, HEAD\r\n"));
		/* Connection: close: the fifth is never answered. */
		assert_int_equal(count(o, "HTTP/1.1 "), 4);
		assert_non_null(strstr(d, "Connection: close\r\n"));
		assert_true(fk.shut);
	}
}

/* Requests that came in one read are answered with one write; a byte
 * at a time, each with its own.  An error response is still sent
 * before the FIN, after the answers to the requests before it. */
static void test_pipelined_batch(void **state)
{
	static const char three[] = "GET /hello HTTP/1.1\r\n\r\nHEAD /hello HTTP/1.1\r\n\r\n"
				    "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char bad[] = "GET /hello HTTP/1.1\r\n\r\nGET /hello HTTP/9.9\r\n\r\n";
	const char *o;

	(void)state;
	o = run(three, sizeof(three) - 1, 0, false);
	assert_int_equal(count(o, "HTTP/1.1 200 OK\r\n"), 2);
	assert_int_equal(count(o, "Hello, world!\n"), 1);
	assert_non_null(strstr(o, "404 Not Found"));
	assert_int_equal(fk.writes, 1);
	o = run(three, sizeof(three) - 1, 1, false);
	assert_int_equal(count(o, "HTTP/1.1 "), 3);
	assert_int_equal(fk.writes, 3);
	o = run(bad, sizeof(bad) - 1, 0, false);
	assert_true(strstr(o, "200 OK") && strstr(o, "505 HTTP Version Not Supported") &&
		    strstr(o, "200 OK") < strstr(o, "505"));
	assert_int_equal(fk.writes, 1);
	assert_true(fk.shut);
}

static void test_chunked_echo(void **state)
{
	static const char req[] = "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
				  "Content-Type: text/x-test\r\n\r\n"
				  "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n";
	const char *o;

	(void)state;
	for (size_t chunk = 0; chunk < 4; chunk += 3) {
		o = run(req, sizeof(req) - 1, chunk, false);
		if (!strstr(o, "HTTP/1.1 200 OK\r\n"))
			fail_msg("chunk %zu: '%s'", chunk, o);
		assert_non_null(strstr(o, "Content-Type: text/x-test\r\n"));
		assert_non_null(strstr(o, "Content-Length: 11\r\n\r\nhello world"));
	}
	/* Expect: 100-continue is answered before the body. */
	o = runs("POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc");
	assert_true(strncmp(o, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 42) == 0);
	assert_non_null(strstr(o, "\r\n\r\nabc"));
	o = runs("GET /echo HTTP/1.1\r\n\r\n");
	assert_non_null(strstr(o, "405 Method Not Allowed\r\n"));
	assert_non_null(strstr(o, "Allow: POST\r\n"));
}

/* Each error answered with its code, the connection closed (shutdown)
 * and whatever followed never answered. */
static void expect_error(const char *in, int status)
{
	char want[32];
	const char *o = runs(in);

	snprintf(want, sizeof(want), "HTTP/1.1 %d ", status);
	if (strncmp(o, want, strlen(want)) != 0)
		fail_msg("want %d for '%s', got '%s'", status, in, o);
	assert_non_null(strstr(o, "Connection: close\r\n"));
	assert_int_equal(count(o, "HTTP/1.1 "), 1);
	assert_true(fk.shut);
}

static void test_errors(void **state)
{
	char big[2048];

	(void)state;
	expect_error("GARBAGE\r\n\r\nGET /hello HTTP/1.1\r\n\r\n", 400);
	expect_error("GET /hello HTTP/1.1\r\nNo colon here\r\n\r\nGET /hello HTTP/1.1\r\n\r\n", 400);
	expect_error("GET /hello HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400);
	expect_error("GET nothing HTTP/1.1\r\n\r\n", 400);
	expect_error("GET /hello HTTP/2.0\r\n\r\n", 505);
	expect_error("GET /hello HTTP/0.9\r\n\r\n", 505);
	expect_error("POST /echo HTTP/1.1\r\nContent-Length: 65\r\n\r\n", 413);
	expect_error("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "40\r\n0123456789012345678901234567890123456789012345678901234567890123\r\n"
		     "1\r\nx\r\n0\r\n\r\n",
		     413);
	/* A header section over max_header (1024): 431, whether one field or
	 * a long URL does it. */
	snprintf(big, sizeof(big), "GET /hello HTTP/1.1\r\nX-Big: %01100d\r\n\r\n", 0);
	expect_error(big, 431);
	snprintf(big, sizeof(big), "GET /%01100d HTTP/1.1\r\n\r\n", 0);
	expect_error(big, 431);
	assert_int_equal(srv.st.status[4], 8);
	assert_int_equal(srv.st.status[5], 2);
}

/* A request that stops half way gets 408 after request_ns; an idle
 * keep-alive connection is closed quietly after idle_ns. */
static void test_timeouts(void **state)
{
	static const char part[] = "GET /hello HTTP/1.1\r\nHost: x\r\n";
	uint64_t t0 = tn_test_clock_ns;
	const char *o;

	(void)state;
	o = run(part, sizeof(part) - 1, 0, true);
	assert_true(strncmp(o, "HTTP/1.1 408 Request Timeout\r\n", 30) == 0);
	assert_true(tn_test_clock_ns - t0 >= cfg.request_ns);
	assert_true(tn_test_clock_ns - t0 < cfg.idle_ns);
	t0 = tn_test_clock_ns;
	o = run("GET /hello HTTP/1.1\r\n\r\n", 23, 0, true);
	assert_int_equal(count(o, "HTTP/1.1 "), 1);
	assert_int_equal(serve_rc, 0);
	assert_true(tn_test_clock_ns - t0 >= cfg.idle_ns);
	assert_int_equal(srv.st.timeouts, 2);
}

/* Every read and write has its own bound, though one timeout scope
 * covers the connection's request loop: reads and writes that each
 * take most of idle_ns still succeed one after another, a write that
 * never ends times out after idle_ns, a later request that stalls
 * still gets its 408 after request_ns; and a WebSocket session is not
 * under the request loop's bound (its reads have their own). */
static void test_timeout_each_op(void **state)
{
	static const char req[] = "GET /hello HTTP/1.1\r\n\r\n";
	static const char three[] = "GET /hello HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n"
				    "GET /hello HTTP/1.1\r\n\r\n";
	static const char ws[] = "GET /ws/echo HTTP/1.1\r\nUpgrade: websocket\r\n"
				 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				 "Sec-WebSocket-Version: 13\r\n\r\n"
				 "\x89\x80\x01\x02\x03\x04"
				 "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
				 "\x88\x80\x01\x02\x03\x04";
	uint64_t step = cfg.idle_ns * 4 / 5, t0 = tn_test_clock_ns;
	const char *o;

	(void)state;
	/* Three requests, one a read, each read 4 s after the last began;
	 * the fourth read waits 4 s too and then for ever: the idle close,
	 * idle_ns after it began (2 x 4 + 5 s in all, idle_ns 5 s). */
	fk.read_delay = step;
	o = run(three, sizeof(three) - 1, sizeof(req) - 1, true);
	assert_int_equal(count(o, "200 OK"), 3);
	assert_int_equal(serve_rc, 0);
	assert_int_equal(srv.st.timeouts, 1);
	assert_true(tn_test_clock_ns - t0 >= 2 * step + cfg.idle_ns);
	assert_true(tn_test_clock_ns - t0 < 2 * step + cfg.idle_ns + cfg.request_ns);

	/* Three responses, each write 4 s long, each after a read 4 s
	 * long (but the first). */
	fk.write_delay = step;
	t0 = tn_test_clock_ns;
	o = run(three, sizeof(three) - 1, sizeof(req) - 1, false);
	assert_int_equal(count(o, "200 OK"), 3);
	assert_int_equal(serve_rc, 0);
	assert_true(tn_test_clock_ns - t0 >= 6 * step);
	fk.read_delay = 0;

	/* A write that never ends: -ETIMEDOUT after idle_ns. */
	fk.write_delay = 1000ull * 1000000000;
	t0 = tn_test_clock_ns;
	run(req, sizeof(req) - 1, 0, false);
	assert_int_equal(serve_rc, -ETIMEDOUT);
	assert_true(tn_test_clock_ns - t0 >= cfg.idle_ns);
	assert_true(tn_test_clock_ns - t0 < cfg.idle_ns + cfg.request_ns);
	fk.write_delay = 0;

	/* A keep-alive connection's second request stalls: 408 request_ns
	 * after it began, its first answered. */
	{
		static const char two[] = "GET /hello HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n";

		t0 = tn_test_clock_ns;
		o = run(two, sizeof(two) - 1, sizeof(req) - 1, true);
		assert_int_equal(count(o, "200 OK"), 1);
		assert_non_null(strstr(o, "HTTP/1.1 408 Request Timeout\r\n"));
		assert_true(tn_test_clock_ns - t0 >= cfg.request_ns);
		assert_true(tn_test_clock_ns - t0 < cfg.idle_ns);
	}

	/* A WebSocket session whose frames come 4 s apart (12 s after the
	 * handshake in all): every one answered. */
	fk.read_delay = step;
	fk.cut = strstr(ws, "\r\n\r\n") + 4 - ws; /* the handshake in one read */
	o = run(ws, sizeof(ws) - 1, 6, false);
	assert_true(strncmp(o, "HTTP/1.1 101 Switching Protocols\r\n", 34) == 0);
	assert_non_null(memmem(o, fk.out_len, "\x81\x05Hello\x88\x00", 9));
	assert_int_equal(serve_rc, 0);
}

static void test_static(void **state)
{
	char dir[] = "/tmp/test_httpd.XXXXXX", path[256];
	const char *o;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.txt", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "file a\n", 7), 7);
	close(fd);
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/sub/index.html", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "<p>", 3), 3);
	close(fd);
	snprintf(path, sizeof(path), "%s/out", dir);
	assert_int_equal(symlink("/etc", path), 0);
	cfg.root_fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(cfg.root_fd >= 0);

	o = runs("GET /a.txt HTTP/1.1\r\n\r\n");
	assert_non_null(strstr(o, "200 OK\r\n"));
	assert_non_null(strstr(o, "Content-Type: text/plain; charset=utf-8\r\n"));
	assert_non_null(strstr(o, "Content-Length: 7\r\n\r\nfile a\n"));
	o = runs("GET /%61.txt?q=1 HTTP/1.1\r\n\r\n");
	assert_non_null(strstr(o, "\r\n\r\nfile a\n"));
	o = runs("HEAD /a.txt HTTP/1.1\r\n\r\n");
	assert_non_null(strstr(o, "Content-Length: 7\r\n\r\n"));
	assert_null(strstr(o, "file a"));
	o = runs("GET /sub/ HTTP/1.1\r\n\r\n");
	assert_non_null(strstr(o, "Content-Type: text/html; charset=utf-8\r\n"));
	assert_non_null(strstr(o, "\r\n\r\n<p>"));
	/* Ways out of the root: all 404. */
	static const char *const out[] = {
		"/../a.txt", "/sub/../../a.txt", "/%2e%2e/a.txt", "/out/passwd", "/sub/%00",
		"//etc/passwd", "/nope", "/%zz",
	};
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
		char req[128];

		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n\r\n", out[i]);
		o = runs(req);
		if (!strstr(o, "404 Not Found"))
			fail_msg("%s: want 404, got '%s'", out[i], o);
	}
	o = runs("DELETE /a.txt HTTP/1.1\r\n\r\n");
	assert_non_null(strstr(o, "405 Method Not Allowed"));
	close(cfg.root_fd);
	cfg.root_fd = -1;
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

/* RFC 6455 1.3's example key, and a session: a ping gets its pong, a
 * masked "Hello" (5.7's example frame) comes back unmasked, and a close
 * that came with it in one read gets its close only after the echo. */
static void test_websocket(void **state)
{
	char acc[29];
	static const char req[] = "GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
				  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				  "Sec-WebSocket-Version: 13\r\n\r\n"
				  "\x89\x80\x01\x02\x03\x04"
				  "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
				  "\x88\x80\x01\x02\x03\x04";
	static const char frames[] = "\x8a\x00\x81\x05Hello\x88\x00";
	const char *o, *body;

	(void)state;
	http_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", acc);
	assert_string_equal(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	o = run(req, sizeof(req) - 1, 0, false);
	assert_true(strncmp(o, "HTTP/1.1 101 Switching Protocols\r\n", 34) == 0);
	assert_non_null(strstr(o, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	body = strstr(o, "\r\n\r\n");
	assert_non_null(body);
	body += 4;
	if (fk.out_len - (size_t)(body - o) != sizeof(frames) - 1) {
		for (const char *p = body; p < o + fk.out_len; p++)
			print_message("%02x ", (uint8_t)*p);
		fail_msg("want %zu bytes of frames", sizeof(frames) - 1);
	}
	assert_memory_equal(body, frames, sizeof(frames) - 1);
	assert_int_equal(serve_rc, 0);
	assert_int_equal(srv.st.ws_conns, 1);
	assert_int_equal(srv.st.ws_msgs, 1);

	/* A message over max_body (64): closed with 1009 (too big). */
	{
		static const char hs[] = "GET /ws/chat HTTP/1.1\r\nUpgrade: websocket\r\n"
					 "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
					 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
					 "\x82\xc8\0\0\0\0"; /* binary, masked, 72 bytes */
		char big[sizeof(hs) - 1 + 72];

		memcpy(big, hs, sizeof(hs) - 1);
		memset(big + sizeof(hs) - 1, 'x', 72);
		o = run(big, sizeof(big), 0, false);
		body = strstr(o, "\r\n\r\n");
		assert_non_null(body);
		body += 4;
		assert_true(fk.out_len - (size_t)(body - o) >= 4);
		assert_memory_equal(body, "\x88\x02\x03\xf1", 4);
		assert_int_equal(srv.st.ws_msgs, 1); /* not counted */
	}

	/* Not an upgrade, or a bad one. */
	o = runs("GET /ws/echo HTTP/1.1\r\n\r\n");
	assert_non_null(strstr(o, "426 Upgrade Required"));
	o = runs("GET /ws/chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n");
	assert_non_null(strstr(o, "400 Bad Request"));
	o = runs("GET /ws/chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
	assert_non_null(strstr(o, "426 Upgrade Required"));
	assert_non_null(strstr(o, "Sec-WebSocket-Version: 13\r\n"));
}

/* The chat's way to other cores (srv.chat_out, http_chat.c in the
 * server): a fake whose rings are full for the first tries of each line
 * (or for good).  Each line leaves whole before the reader takes the
 * member's next one, every copy is given back, and the member still
 * hears its own lines. */
struct fake_line {
	char data[16];
	size_t len;
	unsigned tries, puts;
	bool sent;
};
static struct fake_line flines[4];
static unsigned nflines, full_tries;
static bool fail_for_good;

static void *fake_line_new(int opcode, const void *msg, size_t len)
{
	struct fake_line *l = &flines[nflines++];

	assert_int_equal(opcode, 1);
	assert_true(len < sizeof(l->data));
	/* The member's earlier line has left (or been given up) first. */
	for (unsigned i = 0; i + 1 < nflines; i++)
		assert_int_equal(flines[i].puts, 1);
	memcpy(l->data, msg, len);
	l->len = len;
	return l;
}

static int fake_line_send(void *p)
{
	struct fake_line *l = p;

	if (fail_for_good)
		return -EPIPE;
	if (++l->tries <= full_tries)
		return -ENOBUFS;
	l->sent = true;
	return 0;
}

static void fake_line_put(void *p)
{
	((struct fake_line *)p)->puts++;
}

static const struct http_chat_ops fake_chat = { fake_line_new, fake_line_send, fake_line_put };

static void test_ws_chat_out(void **state)
{
	static const char req[] = "GET /ws/chat HTTP/1.1\r\nUpgrade: websocket\r\n"
				  "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
				  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
				  "\x81\x83\0\0\0\0one\x81\x83\0\0\0\0two\x88\x80\0\0\0\0";
	const char *o;

	(void)state;
	srv.chat_out = &fake_chat;
	memset(flines, 0, sizeof(flines));
	nflines = 0;
	full_tries = 3;
	fail_for_good = false;
	o = run(req, sizeof(req) - 1, 0, false);
	assert_int_equal(serve_rc, 0);
	assert_int_equal(nflines, 2);
	for (unsigned i = 0; i < 2; i++) {
		assert_true(flines[i].sent);
		assert_int_equal(flines[i].tries, 4);
		assert_int_equal(flines[i].puts, 1);
	}
	assert_memory_equal(flines[0].data, "one", 3);
	assert_memory_equal(flines[1].data, "two", 3);
	assert_non_null(strstr(o, "\x81\x03one\x81\x03two"));
	assert_int_equal(srv.st.ws_xcore_lost, 0);

	/* Rings that refuse for good: each line counted lost, given back. */
	memset(flines, 0, sizeof(flines));
	nflines = 0;
	fail_for_good = true;
	o = run(req, sizeof(req) - 1, 0, false);
	assert_int_equal(serve_rc, 0);
	assert_int_equal(nflines, 2);
	assert_int_equal(flines[0].puts + flines[1].puts, 2);
	assert_int_equal(srv.st.ws_xcore_lost, 2);
	assert_non_null(strstr(o, "\x81\x03one\x81\x03two"));
	srv.chat_out = NULL;
}

/* Seeded mutations of valid requests (a WebSocket session among them),
 * fed in random pieces: every run ends, and what comes out is HTTP.
 * (The sanitizer build turns any memory error into a failure.) */
static void test_garbage(void **state)
{
#define REQ(s) { s, sizeof(s) - 1 }
	static const struct {
		const char *s;
		size_t len;
	} base[] = {
		REQ("GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n\r\n"),
		REQ("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
		REQ("POST /echo HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"),
		REQ("GET /ws/echo HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
		    "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58\x82\xfe\x00\x03\x01\x02\x03\x04"
		    "abc\x88\x80\x01\x02\x03\x04"),
	};
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int ok = 0, ws = 0;
	char buf[512];

	(void)state;
	for (int it = 0; it < 2000; it++) {
		const char *b = base[it % 4].s;
		size_t len = base[it % 4].len, n;
		const char *o;

		memcpy(buf, b, len);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		n = x % 6;
		for (size_t k = 0; k < n; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			buf[x % len] = (char)(x >> 32);
		}
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if (x % 3 == 0)
			len = x % len; /* cut short */
		o = run(buf, len, x >> 40 & 7, false);
		ok += strstr(o, " 200 OK") != NULL;
		ws += strstr(o, " 101 ") != NULL;
		if (fk.out_len && strncmp(o, "HTTP/1.1 ", 9) != 0)
			fail_msg("iteration %d: '%s'", it, o);
	}
	/* Some of them were still good requests. */
	print_message("garbage: 2000 runs, %d with a 200, %d WebSocket sessions\n", ok, ws);
	assert_true(ok > 100 && ws > 50);
}

/* A response header is built in 512 bytes, as snprintf bounded it: the
 * longest Content-Type that /echo can repeat leaves 511 (111 + 400). */
static void test_head_bound(void **state)
{
	char req[1024], type[402];
	const char *o;

	(void)state;
	memset(type, 'a', sizeof(type) - 1);
	type[400] = '\0';
	snprintf(req, sizeof(req), "POST /echo HTTP/1.1\r\nContent-Type: %s\r\nContent-Length: 2\r\n\r\nab",
		 type);
	o = runs(req);
	assert_int_equal(strlen(o), 511 + 2);
	assert_int_equal(serve_rc, 0);
	type[400] = 'a';
	type[401] = '\0';
	snprintf(req, sizeof(req), "POST /echo HTTP/1.1\r\nContent-Type: %s\r\nContent-Length: 2\r\n\r\nab",
		 type);
	o = runs(req);
	assert_string_equal(o, "");
	assert_int_equal(serve_rc, -EOVERFLOW);
}

static void test_tokens(void **state)
{
	(void)state;
	assert_true(http_has_token("keep-alive, Upgrade", "upgrade"));
	assert_true(http_has_token("upgrade", "Upgrade"));
	assert_false(http_has_token("upgraded", "upgrade"));
	assert_false(http_has_token(NULL, "upgrade"));
	assert_false(http_has_token("", "upgrade"));
}

/* http_writev_records (the TLS transport's writev): what each write
 * call gets, and the bytes in order. */
struct rec_sink {
	uint8_t out[200000];
	size_t len;
	size_t calls[64];
	int ncalls;
	int fail_at; /* the call (1-based) that fails with -EPIPE, or 0 */
};

static int rec_write(void *ctx, const void *buf, size_t len)
{
	struct rec_sink *k = ctx;

	if (k->ncalls + 1 == k->fail_at)
		return -EPIPE;
	assert_true(k->ncalls < 64 && k->len + len <= sizeof(k->out));
	k->calls[k->ncalls++] = len;
	memcpy(k->out + k->len, buf, len);
	k->len += len;
	return 0;
}

static void test_records(void **state)
{
	static uint8_t src[100000], rec[16384];
	static struct rec_sink k;
	struct iovec iov[40];
	unsigned seed = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 131 + (i >> 8));
	/* A header and a short body: one record. */
	memset(&k, 0, sizeof(k));
	iov[0] = (struct iovec){ src, 100 };
	iov[1] = (struct iovec){ src + 100, 200 };
	assert_int_equal(http_writev_records(rec, sizeof(rec), iov, 2, rec_write, &k), 0);
	assert_int_equal(k.ncalls, 1);
	assert_int_equal(k.calls[0], 300);
	/* A header and a long body: a full record, then the rest whole. */
	memset(&k, 0, sizeof(k));
	iov[1] = (struct iovec){ src + 100, 40000 };
	assert_int_equal(http_writev_records(rec, sizeof(rec), iov, 2, rec_write, &k), 0);
	assert_int_equal(k.ncalls, 2);
	assert_int_equal(k.calls[0], 16384);
	assert_int_equal(k.calls[1], 40100 - 16384);
	assert_memory_equal(k.out, src, 40100);
	/* A long piece first: passed through, uncopied. */
	memset(&k, 0, sizeof(k));
	iov[0] = (struct iovec){ src, 40000 };
	assert_int_equal(http_writev_records(rec, sizeof(rec), iov, 1, rec_write, &k), 0);
	assert_int_equal(k.ncalls, 1);
	assert_int_equal(k.calls[0], 40000);
	/* Nothing: no call. */
	memset(&k, 0, sizeof(k));
	iov[0] = (struct iovec){ src, 0 };
	assert_int_equal(http_writev_records(rec, sizeof(rec), iov, 1, rec_write, &k), 0);
	assert_int_equal(k.ncalls, 0);
	/* A failing write ends it with its error. */
	memset(&k, 0, sizeof(k));
	k.fail_at = 2;
	iov[0] = (struct iovec){ src, 100 };
	iov[1] = (struct iovec){ src + 100, 40000 };
	assert_int_equal(http_writev_records(rec, sizeof(rec), iov, 2, rec_write, &k), -EPIPE);
	/* Random splits: the bytes in order, every call but the last a
	 * record or more. */
	for (int run = 0; run < 500; run++) {
		size_t off = 0;
		int n = 0;

		memset(&k, 0, sizeof(k));
		while (n < 40 && off < sizeof(src)) {
			size_t len = (size_t)(rand_r(&seed) % (rand_r(&seed) % 4 ? 3000 : 30000));

			if (len > sizeof(src) - off)
				len = sizeof(src) - off;
			iov[n++] = (struct iovec){ src + off, len };
			off += len;
		}
		assert_int_equal(http_writev_records(rec, sizeof(rec), iov, n, rec_write, &k), 0);
		assert_int_equal(k.len, off);
		assert_memory_equal(k.out, src, off);
		for (int c = 0; c + 1 < k.ncalls; c++)
			assert_true(k.calls[c] >= sizeof(rec));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hello, setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_url_forms, setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_kept_fields, setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_pipelined, setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_batch, setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_chunked_echo, setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_timeouts, setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_timeout_each_op, setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_static, setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_websocket, setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_ws_chat_out, setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, tn_test_teardown),
		cmocka_unit_test_setup_teardown(test_head_bound, setup, tn_test_teardown),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
