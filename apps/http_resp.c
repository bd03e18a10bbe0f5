/* HTTP/1.1 response framing on http-parser (see http_resp.h).
 *
 * The common response (HTTP/1.1, a status that has a body, a
 * Content-Length, no Transfer-Encoding, Connection or Upgrade field)
 * is framed here without http-parser when its header section is whole
 * in one feed: http-parser costs about 25 instructions a byte on it
 * (3,600 per tern-httpd response), this scan about 4; its body is then
 * counted off.  Anything else, and anything this scan is unsure of,
 * goes to http-parser from the response's first byte, so the framing
 * is http-parser's either way (tests/test_http_resp.c compares them).
 *
 * A header that is byte for byte the last fast-framed one (kept in
 * memo[]) is framed as that one was without a scan: the scan's verdict
 * depends on the header's bytes alone, which end at its empty line.  A
 * server's responses to one request differ only in their Date, so a
 * memcmp (~40 instructions) stands for the scan (~850) on all but the
 * first response of each second. */
#include "http_resp.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "http_scan.h"

/* http-parser's default bound on a header section (HTTP_MAX_HEADER_SIZE). */
#define MAX_HEAD (80u * 1024)

#define T 1 /* tchar (RFC 9110 5.6.2): a field name */
#define V 2 /* VCHAR, SP, HTAB: a field value, a reason phrase */

static const uint8_t cls[256] = {
	['\t'] = V, [' '] = V, ['!'] = T | V, ['"'] = V, ['#' ... '\''] = T | V,
	['('] = V, [')'] = V, ['*'] = T | V, ['+'] = T | V, [','] = V, ['-'] = T | V,
	['.'] = T | V, ['/'] = V, ['0' ... '9'] = T | V, [':' ... '@'] = V,
	['A' ... 'Z'] = T | V, ['['] = V, ['\\'] = V, [']'] = V, ['^'] = T | V, ['_'] = T | V,
	['`'] = T | V, ['a' ... 'z'] = T | V, ['{'] = V, ['|'] = T | V, ['}'] = V, ['~'] = T | V,
};

/* A whole common response header at buf: its length, with *status and
 * *clen; 0 to leave it to http-parser. */
static size_t fast_head(const char *buf, size_t len, unsigned *status, uint64_t *clen)
{
	const char *p = buf, *end = buf + (len < MAX_HEAD ? len : MAX_HEAD);
	bool have_len = false;

	if (end - p < 13 || memcmp(p, "HTTP/1.1 ", 9) != 0 || p[9] < '1' || p[9] > '9' ||
	    p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' || p[12] != ' ')
		return 0;
	*status = (unsigned)(p[9] - '0') * 100 + (unsigned)(p[10] - '0') * 10 +
		  (unsigned)(p[11] - '0');
	/* No body whatever the fields say: http-parser's business. */
	if (*status < 200 || *status == 204 || *status == 304)
		return 0;
	p += 13;
	while (p < end && (cls[(uint8_t)*p] & V))
		p++;
	if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
		return 0;
	p += 2;
	for (;;) {
		const char *name = p, *v;
		size_t nl;

		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			break;
		while (p < end && (cls[(uint8_t)*p] & T))
			p++;
		nl = (size_t)(p - name);
		if (!nl || p == end || *p != ':')
			return 0;
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		v = p;
		p = http_skip_printable(p, end);
		while (p < end && (cls[(uint8_t)*p] & V))
			p++;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return 0;
		if (nl == 14 && strncasecmp(name, "content-length", 14) == 0) {
			uint64_t n = 0;

			if (have_len || v == p || p - v > 15)
				return 0;
			for (; v < p; v++) {
				if (*v < '0' || *v > '9')
					return 0;
				n = n * 10 + (uint64_t)(*v - '0');
			}
			*clen = n;
			have_len = true;
		} else if ((nl == 7 && strncasecmp(name, "upgrade", 7) == 0) ||
			   (nl == 10 && strncasecmp(name, "connection", 10) == 0) ||
			   (nl == 16 && strncasecmp(name, "proxy-connection", 16) == 0) ||
			   (nl == 17 && strncasecmp(name, "transfer-encoding", 17) == 0)) {
			return 0;
		}
		p += 2;
	}
	return have_len ? (size_t)(p + 2 - buf) : 0;
}

/* fast_head's verdict, from the memo when the header is the last one
 * it framed (see the top of the file). */
static size_t head(struct tn_http_resp *r, const char *buf, size_t len, unsigned *status,
		   uint64_t *clen)
{
	size_t n;

	if (r->memo_len && len >= r->memo_len && memcmp(buf, r->memo, r->memo_len) == 0) {
		*status = r->memo_status;
		*clen = r->memo_clen;
		return r->memo_len;
	}
	n = fast_head(buf, len, status, clen);
	if (n && n <= sizeof(r->memo)) {
		memcpy(r->memo, buf, n);
		r->memo_len = (uint16_t)n;
		r->memo_status = *status;
		r->memo_clen = *clen;
	}
	return n;
}

static void complete(struct tn_http_resp *r, unsigned status, bool keep_alive)
{
	r->in_msg = false;
	r->responses++;
	r->cb(r->arg, status, keep_alive);
}

static int on_message_begin(http_parser *p)
{
	((struct tn_http_resp *)p->data)->in_msg = true;
	return 0;
}

static int on_message_complete(http_parser *p)
{
	complete(p->data, p->status_code, http_should_keep_alive(p) != 0);
	/* Back to feed: the next response may take the fast path. */
	http_parser_pause(p, 1);
	return 0;
}

/* Only the framing matters: the parser skips headers and bodies on its
 * own when no data callbacks are set. */
static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_message_complete = on_message_complete,
};

void tn_http_resp_init(struct tn_http_resp *r, tn_http_resp_cb cb, void *arg)
{
	http_parser_init(&r->p, HTTP_RESPONSE);
	r->p.data = r;
	r->cb = cb;
	r->arg = arg;
	r->responses = 0;
	r->skip = 0;
	r->in_msg = false;
	r->fresh = true;
	r->memo_len = 0;
}

int tn_http_resp_feed(struct tn_http_resp *r, const void *data, size_t len)
{
	const char *buf = data;

	if (HTTP_PARSER_ERRNO(&r->p) != HPE_OK)
		return -EBADMSG;
	while (len) {
		uint64_t clen;
		unsigned status;
		size_t n;

		if (r->skip) {
			/* A fast-framed body. */
			n = r->skip < len ? (size_t)r->skip : len;
			r->skip -= n;
			buf += n;
			len -= n;
			if (!r->skip)
				complete(r, r->status, true);
			continue;
		}
		if (r->fresh && (n = head(r, buf, len, &status, &clen))) {
			buf += n;
			len -= n;
			r->in_msg = true;
			if (clen) {
				r->skip = clen;
				r->status = status;
			} else {
				complete(r, status, true);
			}
			continue;
		}
		/* (An empty buffer would be the end of the stream to it.) */
		r->fresh = false;
		n = http_parser_execute(&r->p, &settings, buf, len);
		if (HTTP_PARSER_ERRNO(&r->p) == HPE_PAUSED) {
			http_parser_pause(&r->p, 0);
			r->fresh = true;
		} else if (HTTP_PARSER_ERRNO(&r->p) != HPE_OK || n != len) {
			return -EBADMSG;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

int tn_http_resp_eof(struct tn_http_resp *r)
{
	if (HTTP_PARSER_ERRNO(&r->p) != HPE_OK || r->skip)
		return -EBADMSG;
	/* A zero-length execute is how http-parser learns of the end: it
	 * completes a body that runs to the end, and fails
	 * (HPE_INVALID_EOF_STATE) on a response cut short. */
	http_parser_execute(&r->p, &settings, NULL, 0);
	if (HTTP_PARSER_ERRNO(&r->p) == HPE_PAUSED)
		http_parser_pause(&r->p, 0); /* (completed by the end: ok) */
	if (HTTP_PARSER_ERRNO(&r->p) != HPE_OK || r->in_msg)
		return -EBADMSG;
	return 0;
}

bool tn_http_resp_idle(const struct tn_http_resp *r)
{
	return !r->in_msg && !r->skip && HTTP_PARSER_ERRNO(&r->p) == HPE_OK;
}

const char *tn_http_resp_error(const struct tn_http_resp *r)
{
	return http_errno_name(HTTP_PARSER_ERRNO(&r->p));
}
