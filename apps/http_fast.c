/* The common request without http-parser (see http.h): a GET or HEAD
 * with an origin-form URL, HTTP/1.1 or 1.0, no body and none of the
 * header fields that change how the message is framed or how the
 * connection continues.  Browsers, curl, wrk and tern-load send those
 * on every keep-alive request; http-parser costs about 25 instructions
 * a byte on them (2,200 for tern-load's 78-byte request), this scan
 * about 3.
 *
 * It accepts only a subset of what http-parser accepts, and for that
 * subset says what http-parser would: anything else (an incomplete
 * request, a body, Connection, Upgrade, Expect, an obs-fold, a byte
 * outside the plain sets below, a bare LF) returns 0 and the request
 * goes through http-parser from its first byte.  tests/test_httpd.c
 * checks that agreement on a corpus and on random mutations of it. */
#include "http.h"

#include <string.h>

#include "http_scan.h"

/* Bytes of a URL we take as they are (RFC 3986 unreserved, sub-delims,
 * ':', '@', '/', '?', '%'): no '#', no quote, no brackets. */
#define U 1
/* tchar (RFC 9110 5.6.2): a field name. */
#define T 2
/* A field value: VCHAR, SP, HTAB (no obs-text). */
#define V 4

static const uint8_t cls[256] = {
	['\t'] = V, [' '] = V,
	['!'] = U | T | V, ['"'] = V, ['#'] = T | V, ['$'] = U | T | V, ['%'] = U | T | V,
	['&'] = U | T | V, ['\''] = U | T | V, ['('] = U | V, [')'] = U | V, ['*'] = U | T | V,
	['+'] = U | T | V, [','] = U | V, ['-'] = U | T | V, ['.'] = U | T | V, ['/'] = U | V,
	['0' ... '9'] = U | T | V, [':'] = U | V, [';'] = U | V, ['<'] = V, ['='] = U | V,
	['>'] = V, ['?'] = U | V, ['@'] = U | V, ['A' ... 'Z'] = U | T | V, ['['] = V,
	['\\'] = V, [']'] = V, ['^'] = T | V, ['_'] = U | T | V, ['`'] = T | V,
	['a' ... 'z'] = U | T | V, ['{'] = V, ['|'] = T | V, ['}'] = V, ['~'] = U | T | V,
};

/* Field names http-parser acts on (framing, Connection, Upgrade), or
 * that we do (Expect): such a request takes the full path. */
#define NAME_IS(n, len, lc) http_name_is(n, len, lc, sizeof(lc) - 1)

static bool special(const char *n, size_t len)
{
	return NAME_IS(n, len, "expect") || NAME_IS(n, len, "upgrade") ||
	       NAME_IS(n, len, "connection") || NAME_IS(n, len, "content-length") ||
	       NAME_IS(n, len, "proxy-connection") || NAME_IS(n, len, "transfer-encoding");
}

size_t http_fast_parse(const char *buf, size_t len, size_t max, struct http_fast_req *q)
{
	const char *p = buf, *end = buf + (len < max ? len : max), *url;
	size_t fields = 0;

	if (end - p >= 4 && memcmp(p, "GET ", 4) == 0) {
		q->method = HTTP_GET;
		p += 4;
	} else if (end - p >= 5 && memcmp(p, "HEAD ", 5) == 0) {
		q->method = HTTP_HEAD;
		p += 5;
	} else {
		return 0;
	}
	url = p;
	if (p == end || *p != '/')
		return 0;
	q->path_len = 0;
	while (p < end && (cls[(uint8_t)*p] & U)) {
		if (*p == '?' && !q->path_len)
			q->path_len = (uint32_t)(p - url);
		p++;
	}
	q->url_off = (uint32_t)(url - buf);
	q->url_len = (uint32_t)(p - url);
	if (!q->path_len)
		q->path_len = q->url_len;
	if (end - p < 11 || memcmp(p, " HTTP/1.", 8) != 0 || (p[8] != '0' && p[8] != '1') ||
	    p[9] != '\r' || p[10] != '\n')
		return 0;
	q->minor = (uint8_t)(p[8] - '0');
	p += 11;
	for (;;) {
		const char *name = p;

		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			break;
		while (p < end && (cls[(uint8_t)*p] & T))
			p++;
		if (p == name || p == end || *p != ':' || special(name, (size_t)(p - name)))
			return 0;
		p++;
		p = http_skip_printable(p, end);
		while (p < end && (cls[(uint8_t)*p] & V))
			p++;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return 0;
		p += 2;
		fields++;
	}
	p += 2;
	/* Our own header count (http_conn.c's hdr_count) charges each field
	 * at most one byte more than its line takes: stay under the limit
	 * with that, and http-parser's 431 cannot differ. */
	if ((size_t)(p - buf) + fields > max)
		return 0;
	return (size_t)(p - buf);
}
