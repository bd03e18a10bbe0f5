/* tern-load's response framing (apps/http_resp.c on http-parser): canned
 * streams of HTTP/1.1 responses (Content-Length, chunked with extensions
 * and trailers, no body, a body to the end of the stream) fed whole,
 * split at every offset into two pieces, and byte by byte, must give the
 * same responses with the same statuses; broken streams must fail. */
#include <errno.h>
#include <stdlib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http_resp.h"

#define MAX_SEEN 16

struct seen {
	unsigned n;
	unsigned status[MAX_SEEN];
	bool keep_alive[MAX_SEEN];
};

static void on_resp(void *arg, unsigned status, bool keep_alive)
{
	struct seen *s = arg;

	assert_true(s->n < MAX_SEEN);
	s->status[s->n] = status;
	s->keep_alive[s->n] = keep_alive;
	s->n++;
}

/* Four keep-alive responses, pipelined. */
static const char pipelined[] =
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	"4;ext=1\r\nabcd\r\n0a\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"
	"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
	"HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n";
static const unsigned pipelined_status[] = {200, 200, 404, 204};

/* Feeds stream[0..len) cut at the given offsets (ascending, then len). */
static int feed_split(struct tn_http_resp *r, const char *stream, size_t len, const size_t *cuts,
		      unsigned ncuts)
{
	size_t at = 0;

	for (unsigned i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : len;
		int err = tn_http_resp_feed(r, stream + at, to - at);

		if (err)
			return err;
		at = to;
	}
	return 0;
}

static void expect_pipelined(const struct seen *s, const struct tn_http_resp *r)
{
	assert_int_equal(s->n, 4);
	assert_int_equal(r->responses, 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(s->status[i], pipelined_status[i]);
		assert_true(s->keep_alive[i]);
	}
	assert_true(tn_http_resp_idle(r));
}

static void test_whole(void **state)
{
	struct tn_http_resp r;
	struct seen s = {0};

	(void)state;
	tn_http_resp_init(&r, on_resp, &s);
	assert_int_equal(feed_split(&r, pipelined, strlen(pipelined), NULL, 0), 0);
	expect_pipelined(&s, &r);
	assert_int_equal(tn_http_resp_eof(&r), 0);
	assert_int_equal(s.n, 4);
}

static void test_every_split(void **state)
{
	size_t len = strlen(pipelined);

	(void)state;
	for (size_t cut = 0; cut <= len; cut++) {
		struct tn_http_resp r;
		struct seen s = {0};

		tn_http_resp_init(&r, on_resp, &s);
		assert_int_equal(feed_split(&r, pipelined, len, &cut, 1), 0);
		expect_pipelined(&s, &r);
	}
	/* Two cuts: every pair at a stride, so the chunk sizes, CRLFs
	 * and trailers are split in several places at once. */
	for (size_t a = 0; a <= len; a += 3)
		for (size_t b = a; b <= len; b += 7) {
			size_t cuts[2] = {a, b};
			struct tn_http_resp r;
			struct seen s = {0};

			tn_http_resp_init(&r, on_resp, &s);
			assert_int_equal(feed_split(&r, pipelined, len, cuts, 2), 0);
			expect_pipelined(&s, &r);
		}
}

static void test_byte_by_byte(void **state)
{
	size_t len = strlen(pipelined);
	struct tn_http_resp r;
	struct seen s = {0};

	(void)state;
	tn_http_resp_init(&r, on_resp, &s);
	for (size_t i = 0; i < len; i++) {
		unsigned before = s.n;

		assert_int_equal(tn_http_resp_feed(&r, pipelined + i, 1), 0);
		/* Idle exactly when this byte ended a response. */
		assert_int_equal(tn_http_resp_idle(&r), s.n != before);
	}
	expect_pipelined(&s, &r);
}

/* A body that runs to the end of the stream completes at EOF, and says
 * the connection ends; so does Connection: close. */
static void test_eof_body_and_close(void **state)
{
	static const char closing[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
				      "Connection: close\r\n\r\nok";
	static const char to_eof[] = "HTTP/1.0 200 OK\r\n\r\nuntil the end";
	size_t len = strlen(to_eof);

	(void)state;
	for (size_t cut = 0; cut <= len; cut++) {
		struct tn_http_resp r;
		struct seen s = {0};

		tn_http_resp_init(&r, on_resp, &s);
		assert_int_equal(feed_split(&r, to_eof, len, &cut, 1), 0);
		assert_int_equal(s.n, 0);
		assert_int_equal(tn_http_resp_eof(&r), 0);
		assert_int_equal(s.n, 1);
		assert_int_equal(s.status[0], 200);
		assert_false(s.keep_alive[0]);
	}
	{
		struct tn_http_resp r;
		struct seen s = {0};

		tn_http_resp_init(&r, on_resp, &s);
		assert_int_equal(tn_http_resp_feed(&r, closing, strlen(closing)), 0);
		assert_int_equal(s.n, 1);
		assert_false(s.keep_alive[0]);
	}
}

/* Cut short at every offset inside a framed body: the EOF is an error,
 * except between responses. */
static void test_truncated(void **state)
{
	size_t len = strlen(pipelined);

	(void)state;
	for (size_t cut = 1; cut < len; cut++) {
		struct tn_http_resp r;
		struct seen s = {0};
		int err;

		tn_http_resp_init(&r, on_resp, &s);
		assert_int_equal(tn_http_resp_feed(&r, pipelined, cut), 0);
		bool idle = tn_http_resp_idle(&r);
		err = tn_http_resp_eof(&r);
		if (idle)
			assert_int_equal(err, 0);
		else
			assert_int_equal(err, -EBADMSG);
	}
}

static void test_garbage(void **state)
{
	static const char *const bad[] = {
		"GET / HTTP/1.1\r\n\r\n",            /* a request, not a response */
		"HTTP/1.1 2x0 OK\r\n\r\n",           /* status not a number */
		"SSH-2.0-OpenSSH_9.2\r\n",           /* another protocol */
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tn_http_resp r;
		struct seen s = {0};

		tn_http_resp_init(&r, on_resp, &s);
		assert_int_equal(tn_http_resp_feed(&r, bad[i], strlen(bad[i])), -EBADMSG);
		assert_int_equal(s.n, 0);
		/* Broken for good: later bytes are refused too. */
		assert_int_equal(tn_http_resp_feed(&r, pipelined, 10), -EBADMSG);
		assert_string_not_equal(tn_http_resp_error(&r), "HPE_OK");
	}
}

/* The fast framing against http-parser alone: a corpus and random
 * mutations of it, fed whole and cut in two, must give the responses
 * (status, keep-alive) and the errors http-parser gives on its own. */
struct ref {
	struct seen s;
};

static int ref_done(http_parser *p)
{
	on_resp(p->data, p->status_code, http_should_keep_alive(p) != 0);
	return 0;
}

static const http_parser_settings ref_settings = { .on_message_complete = ref_done };

/* http-parser's verdict: 0 or -EBADMSG for the bytes, then for the end. */
static void reference(const char *in, size_t len, struct seen *s, int *err, int *eof_err)
{
	http_parser p;
	size_t n;

	http_parser_init(&p, HTTP_RESPONSE);
	p.data = s;
	n = len ? http_parser_execute(&p, &ref_settings, in, len) : 0;
	*err = HTTP_PARSER_ERRNO(&p) != HPE_OK || n != len ? -EBADMSG : 0;
	*eof_err = *err;
	if (!*err) {
		http_parser_execute(&p, &ref_settings, NULL, 0);
		*eof_err = HTTP_PARSER_ERRNO(&p) != HPE_OK ? -EBADMSG : 0;
	}
}

static void compare(const char *in, size_t len, size_t cut)
{
	struct seen want = {0}, got = {0};
	struct tn_http_resp r;
	int err, eof_err, e;

	reference(in, len, &want, &err, &eof_err);
	tn_http_resp_init(&r, on_resp, &got);
	e = feed_split(&r, in, len, &cut, 1);
	if (e != err)
		fail_msg("cut %zu: %d, http-parser %d: '%.*s'", cut, e, err, (int)len, in);
	if (!e) {
		/* (A response at the end of the stream may complete in either
		 * call: compare after both.) */
		e = tn_http_resp_eof(&r);
		if (e != eof_err)
			fail_msg("eof after cut %zu: %d, http-parser %d: '%.*s'", cut, e, eof_err,
				 (int)len, in);
	}
	if (got.n != want.n && !(err && got.n < want.n))
		fail_msg("cut %zu: %u responses, http-parser %u: '%.*s'", cut, got.n, want.n,
			 (int)len, in);
	for (unsigned i = 0; i < got.n && i < want.n; i++) {
		assert_int_equal(got.status[i], want.status[i]);
		assert_int_equal(got.keep_alive[i], want.keep_alive[i]);
	}
}

static void test_fast_vs_parser(void **state)
{
	static const char *const corpus[] = {
		"HTTP/1.1 200 OK\r\nServer: tern-httpd\r\nDate: Thu, 26 Nov 2026 16:41:53 GMT\r\n"
		"Content-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\n"
		"Hello, world!\n",
		"HTTP/1.1 404 Not Found\r\ncontent-length:  3\r\nX-A:\r\n\r\nno\n"
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 500 \r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!",
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
		"HTTP/1.1 200 OK\r\n\r\nto the end",
	};
	static const char bytes[] = "\r\n :\t0123456789HTP/.-\x7f\x80\0cC";
	char buf[512];
	unsigned seed = 777;

	(void)state;
	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++)
		for (size_t cut = 0; cut <= strlen(corpus[i]); cut++)
			compare(corpus[i], strlen(corpus[i]), cut);
	for (int it = 0; it < 100000; it++) {
		const char *src = corpus[rand_r(&seed) % 3];
		size_t len = strlen(src);
		int edits = 1 + rand_r(&seed) % 3;

		memcpy(buf, src, len);
		while (edits--) {
			size_t at = (size_t)rand_r(&seed) % len;
			char c = bytes[rand_r(&seed) % (sizeof(bytes) - 1)];

			switch (rand_r(&seed) % 3) {
			case 0:
				buf[at] = c;
				break;
			case 1:
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = c;
				len++;
				break;
			default:
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
				break;
			}
		}
		compare(buf, len, (size_t)rand_r(&seed) % (len + 1));
		compare(buf, len, len);
		/* After a response whose header the fast framing keeps
		 * (its memo): a header with the same bytes is framed from
		 * the memo, any other scanned or parsed. */
		{
			char two[1024];
			size_t l0 = strlen(corpus[0]);

			memcpy(two, corpus[0], l0);
			memcpy(two + l0, buf, len);
			compare(two, l0 + len, l0 + (size_t)rand_r(&seed) % (len + 1));
			compare(two, l0 + len, l0 + len);
		}
	}
}

/* The memo: a repeated header is framed as before, a changed one (a
 * new Date, another Content-Length of as many digits, a Connection
 * field) is framed anew. */
static void test_memo(void **state)
{
	static const char a[] = "HTTP/1.1 200 OK\r\nDate: Thu, 26 Nov 2026 16:41:53 GMT\r\n"
				"Content-Length: 3\r\n\r\nabc";
	static const char b[] = "HTTP/1.1 200 OK\r\nDate: Thu, 26 Nov 2026 16:41:54 GMT\r\n"
				"Content-Length: 5\r\n\r\nabcde";
	static const char c[] = "HTTP/1.1 404 OK\r\nDate: Thu, 26 Nov 2026 16:41:54 GMT\r\n"
				"Content-Length: 5\r\n\r\nabcde";
	static const char d[] = "HTTP/1.1 404 OK\r\nDate: Thu, 26 Nov 2026 16:41:54 GMT\r\n"
				"Content-Length: 5\r\nConnection: close\r\n\r\nabcde";
	struct seen s = {0};
	struct tn_http_resp r;

	(void)state;
	tn_http_resp_init(&r, on_resp, &s);
	assert_int_equal(tn_http_resp_feed(&r, a, sizeof(a) - 1), 0);
	assert_int_equal(r.memo_len, sizeof(a) - 1 - 3);
	assert_int_equal(tn_http_resp_feed(&r, a, sizeof(a) - 1), 0);
	assert_int_equal(tn_http_resp_feed(&r, b, sizeof(b) - 1), 0);
	assert_int_equal(tn_http_resp_feed(&r, b, sizeof(b) - 1), 0);
	assert_int_equal(tn_http_resp_feed(&r, c, sizeof(c) - 1), 0);
	assert_int_equal(tn_http_resp_feed(&r, d, sizeof(d) - 1), 0);
	assert_int_equal(s.n, 6);
	assert_true(tn_http_resp_idle(&r));
	for (unsigned i = 0; i < 6; i++) {
		assert_int_equal(s.status[i], i < 4 ? 200 : 404);
		assert_int_equal(s.keep_alive[i], i < 5);
	}
	/* (d, unframed by the fast scan, left the memo c's.) */
	assert_int_equal(r.memo_len, sizeof(c) - 1 - 5);
	assert_memory_equal(r.memo, c, r.memo_len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_eof_body_and_close),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_fast_vs_parser),
		cmocka_unit_test(test_memo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
