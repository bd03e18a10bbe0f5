/* One HTTP/1.1 connection (see http.h): the packaged parser over a read
 * buffer, a request at a time.
 *
 * The parser pauses itself at each request's end (on_message_complete),
 * so http_parser_execute returns with the rest of the buffer unparsed:
 * the request is answered, the parser resumed on what follows.
 * Pipelined requests are therefore answered in order.  Every request
 * goes through the parser: the issue asks for a packaged one, not a
 * hand-written one, and a faster scan of the common GET would be one.
 * The responses to the requests of one read are gathered (http_write,
 * batch) and leave in one write before the next read, so a pipelined
 * batch costs one segment, not one each.
 *
 * Limits, checked as the bytes arrive: the header section (request line
 * and fields) at most max_header bytes (431), a body at most max_body
 * (413: at once from Content-Length, or as chunks add up), the request
 * from its first byte to its last within request_ns (408), and an idle
 * keep-alive connection closed after idle_ns.  Every error response
 * closes the connection; before closing, what the client still sends is
 * read and dropped for a while (a "lingering close"), since closing with
 * unread bytes would send a RST that can destroy the response before the
 * client reads it. */
#include "http.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <tern/coro.h>

#include "http_scan.h"

#define RBUF_LEN (16u * 1024)
#define OUT_LEN 4096u
#define LINGER_NS (2ull * 1000000000)
#define LINGER_BYTES (4u << 20)

void http_server_init(struct http_server *srv, const struct http_cfg *cfg)
{
	memset(srv, 0, sizeof(*srv));
	srv->cfg = cfg;
	TAILQ_INIT(&srv->chat);
}

const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 426: return "Upgrade Required";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

const char *http_hdr(const struct http_req *r, enum http_hdr h)
{
	return r->h[h].set ? r->arena + r->h[h].off : NULL;
}

bool http_has_token(const char *v, const char *token)
{
	size_t n = strlen(token);

	while (v && *v) {
		const char *end;
		size_t len;

		v += strspn(v, " \t,");
		end = v + strcspn(v, ",");
		len = (size_t)(end - v);
		while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		if (len == n && strncasecmp(v, token, n) == 0)
			return true;
		v = end;
	}
	return false;
}

/* The end of a read or write under the connection's scope (r->to): what
 * a scope of the operation's own would have returned (nothing else
 * awaits under it, so only this operation can have been cut). */
static int scoped_end(struct http_req *r, int err)
{
	return tn_timeout_renew(&r->to, err, tn_now() + r->srv->cfg->idle_ns);
}

static int write_now(struct http_req *r, const struct iovec *iov, int iovcnt)
{
	struct tn_timeout to;

	if (r->scoped) {
		tn_timeout_reschedule(&r->to, tn_now() + r->srv->cfg->idle_ns);
		return scoped_end(r, r->io->ops->writev(r->io->ctx, iov, iovcnt));
	}
	tn_timeout_enter(&to, tn_now() + r->srv->cfg->idle_ns);
	return tn_timeout_exit(&to, r->io->ops->writev(r->io->ctx, iov, iovcnt));
}

/* Sends what the connection's responses left in out[]. */
static int flush(struct http_req *r)
{
	struct iovec iov = { r->out, r->out_len };

	r->out_len = 0;
	return iov.iov_len ? write_now(r, &iov, 1) : 0;
}

int http_write(struct http_req *r, const struct iovec *iov, int iovcnt)
{
	size_t n = 0;
	int err;

	if (!r->batch)
		return write_now(r, iov, iovcnt);
	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	if (r->out_len + n > OUT_LEN && (err = flush(r)) < 0)
		return err;
	if (n > OUT_LEN)
		return write_now(r, iov, iovcnt); /* (a file's chunk) */
	for (int i = 0; i < iovcnt; i++) {
		memcpy(r->out + r->out_len, iov[i].iov_base, iov[i].iov_len);
		r->out_len += (uint32_t)iov[i].iov_len;
	}
	return 0;
}

/* RFC 9110 6.6.1's Date, from the coarse clock (vDSO: no system call),
 * formatted when the second changes.  The clock is looked at only once
 * the loop's time passes the end of the second last seen, so a request
 * costs a compare, not a clock read. */
static const char *date_now(struct http_server *srv)
{
	uint64_t now = tn_now();
	struct timespec ts;
	struct tm tm;

	if (now < srv->date_next && srv->date[0])
		return srv->date;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	srv->date_next = now + (uint64_t)(1000000000 - ts.tv_nsec);
	if ((int64_t)ts.tv_sec != srv->date_sec || !srv->date[0]) {
		srv->date_sec = (int64_t)ts.tv_sec;
		gmtime_r(&ts.tv_sec, &tm);
		srv->date_len = (uint32_t)strftime(srv->date, sizeof(srv->date),
						   "%a, %d %b %Y %H:%M:%S GMT", &tm);
	}
	return srv->date;
}

static char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* A response's header into buf (cap bytes): the length, or -EOVERFLOW.
 * Pieces copied, not formatted: snprintf cost 2,600 instructions a
 * response. */
static int head_build(struct http_server *srv, char *buf, size_t cap, int status,
		      const char *ctype, const char *conn, const char *extra, uint64_t len)
{
	static const char s1[] = "\r\nServer: tern-httpd\r\nDate: ";
	static const char s2[] = "\r\nContent-Type: ";
	static const char s3[] = "\r\nContent-Length: ";
	const char *reason = http_reason(status), *date = date_now(srv);
	size_t rl = strlen(reason), cl = strlen(ctype), nl = strlen(conn);
	size_t xl = extra ? strlen(extra) : 0;
	char num[20], *p = buf, *n = num + sizeof(num);

	do
		*--n = (char)('0' + len % 10);
	while ((len /= 10));
	/* (As snprintf's bound was: room for a NUL, which is not written.) */
	if (status < 100 || status > 999 ||
	    13 + rl + (sizeof(s1) - 1) + srv->date_len + (sizeof(s2) - 1) + cl + (sizeof(s3) - 1) +
			    (size_t)(num + sizeof(num) - n) + 2 + nl + xl + 2 >= cap)
		return -EOVERFLOW;
	p = put(p, "HTTP/1.1 ", 9);
	*p++ = (char)('0' + status / 100);
	*p++ = (char)('0' + status / 10 % 10);
	*p++ = (char)('0' + status % 10);
	*p++ = ' ';
	p = put(p, reason, rl);
	p = put(p, s1, sizeof(s1) - 1);
	p = put(p, date, srv->date_len);
	p = put(p, s2, sizeof(s2) - 1);
	p = put(p, ctype, cl);
	p = put(p, s3, sizeof(s3) - 1);
	p = put(p, n, (size_t)(num + sizeof(num) - n));
	p = put(p, "\r\n", 2);
	p = put(p, conn, nl);
	if (xl)
		p = put(p, extra, xl);
	p = put(p, "\r\n", 2);
	return (int)(p - buf);
}

/* The Connection field the response needs, if any. */
static const char *conn_line(const struct http_req *r)
{
	if (!r->keep_alive)
		return "Connection: close\r\n";
	return r->p.http_minor == 0 ? "Connection: keep-alive\r\n" : "";
}

static int head_fmt(struct http_req *r, char *buf, size_t cap, int status, const char *ctype,
		    const char *extra, uint64_t len)
{
	int n = head_build(r->srv, buf, cap, status, ctype, conn_line(r), extra, len);

	if (n >= 0)
	if (n >= 0 && status < 600)
		r->srv->st.status[status / 100]++;
	return n;
}

int http_respond_head(struct http_req *r, int status, const char *ctype, const char *extra,
		      uint64_t len)
{
	char h[512];
	int n = head_fmt(r, h, sizeof(h), status, ctype, extra, len);
	struct iovec iov = { h, (size_t)n };

	return n < 0 ? n : http_write(r, &iov, 1);
}

int http_respond(struct http_req *r, int status, const char *ctype, const char *extra,
		 const void *body, size_t len)
{
	char h[512];
	int n = head_fmt(r, h, sizeof(h), status, ctype, extra, len);
	struct iovec iov[2] = { { h, (size_t)n }, { (void *)body, len } };

	if (n < 0)
		return n;
	/* One write for both: a small response leaves in one segment. */
	return http_write(r, iov, r->p.method == HTTP_HEAD || !len ? 1 : 2);
}

int http_respond_fixed(struct http_req *r, struct http_fixed *f)
{
	struct http_server *srv = r->srv;
	char out[sizeof(f->buf)];
	struct iovec iov = { out, 0 };
	int n;

	if (!r->keep_alive || r->p.http_minor != 1)
		return http_respond(r, 200, f->ctype, NULL, f->body, f->len);
	date_now(srv);
	if (f->date_sec != srv->date_sec || !f->head_len) {
		n = head_build(srv, f->buf, sizeof(f->buf) - f->len, 200, f->ctype, "", NULL,
			       f->len);
		if (n < 0)
			return http_respond(r, 200, f->ctype, NULL, f->body, f->len);
		memcpy(f->buf + n, f->body, f->len);
		f->head_len = (uint32_t)n;
		f->date_sec = srv->date_sec;
	}
	/* Copied (by http_write into the batch, else here): a write may
	 * wait for room, and another connection may rebuild f (a new
	 * Date) meanwhile. */
	iov.iov_len = f->head_len + (r->p.method == HTTP_HEAD ? 0 : f->len);
	if (r->batch)
		iov.iov_base = f->buf;
	else
		memcpy(out, f->buf, iov.iov_len);
	srv->st.status[2]++;
	return http_write(r, &iov, 1);
}

int http_error(struct http_req *r, int status, const char *extra)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, http_reason(status));

	/* A refusal of a complete request keeps the connection; anything
	 * else means we may have lost track of the stream. */
	if (status != 403 && status != 404 && status != 405 && status != 426)
		r->keep_alive = false;
	return http_respond(r, status, "text/plain; charset=utf-8", extra, body, (size_t)n);
}

/* ---- parser callbacks ---- */

/* The fields kept, lower case, with their lengths: a field's name is
 * compared only with the kept one of its length (kept_by_len: strlen
 * and strncasecmp on all six for every field were 560 instructions of
 * a GET /hello's three fields). */
#define N_UPGRADE "upgrade"
#define N_CONNECTION "connection"
#define N_WS_KEY "sec-websocket-key"
#define N_WS_VERSION "sec-websocket-version"
#define N_EXPECT "expect"
#define N_CONTENT_TYPE "content-type"
#define KEPT(s) { s, sizeof(s) - 1 }
static const struct { const char *lc; size_t len; } kept[HTTP_H_COUNT] = {
	[HTTP_H_UPGRADE] = KEPT(N_UPGRADE),
	[HTTP_H_CONNECTION] = KEPT(N_CONNECTION),
	[HTTP_H_WS_KEY] = KEPT(N_WS_KEY),
	[HTTP_H_WS_VERSION] = KEPT(N_WS_VERSION),
	[HTTP_H_EXPECT] = KEPT(N_EXPECT),
	[HTTP_H_CONTENT_TYPE] = KEPT(N_CONTENT_TYPE),
};

/* Which kept field (index + 1) has a name of each length, 0 for none.
 * No two have the same length: a repeated designator would be
 * -Woverride-init's warning (-Wextra), and one past the end an error. */
#define BY_LEN(s, h) [sizeof(s) - 1] = (h) + 1
static const int8_t kept_by_len[22] = {
	BY_LEN(N_UPGRADE, HTTP_H_UPGRADE),
	BY_LEN(N_CONNECTION, HTTP_H_CONNECTION),
	BY_LEN(N_WS_KEY, HTTP_H_WS_KEY),
	BY_LEN(N_WS_VERSION, HTTP_H_WS_VERSION),
	BY_LEN(N_EXPECT, HTTP_H_EXPECT),
	BY_LEN(N_CONTENT_TYPE, HTTP_H_CONTENT_TYPE),
};
#undef BY_LEN
#undef KEPT

static struct http_req *req_of(http_parser *p)
{
	return p->data;
}

/* Counts header-section bytes against the limit: 431 past it.  An item
 * (the URL, a name, a value) counts 2 more, for its separator: which
 * also leaves room for its NUL in the arena. */
static int hdr_count(struct http_req *r, size_t len, bool first)
{
	r->hdr_bytes += (uint32_t)len + (first ? 2 : 0);
	if (r->hdr_bytes > r->srv->cfg->max_header) {
		r->status = 431;
		return -1;
	}
	return 0;
}

/* Appends to the arena; the sum of what it keeps is below the header
 * limit, so it cannot fill (a NUL per item is counted in hdr_count). */
static void arena_put(struct http_req *r, const char *at, size_t len)
{
	memcpy(r->arena + r->arena_len, at, len);
	r->arena_len += (uint32_t)len;
	r->arena[r->arena_len] = '\0';
}

static int on_message_begin(http_parser *p)
{
	struct http_req *r = req_of(p);

	r->deadline = tn_now() + r->srv->cfg->request_ns;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct http_req *r = req_of(p);

	if (hdr_count(r, len, r->url_len == 0))
		return -1;
	if (!r->url_len)
		r->url_off = r->arena_len;
	arena_put(r, at, len);
	r->url_len += (uint32_t)len;
	r->url_open = true;
	return 0;
}

/* The end of the URL or of a value: keep its NUL in the arena. */
static void value_done(struct http_req *r)
{
	if (r->url_open) {
		r->url_open = false;
		r->arena_len++;
	}
	if (r->in_value && r->cur >= 0) {
		r->h[r->cur].len = r->arena_len - r->h[r->cur].off;
		r->arena_len++;
	}
	r->in_value = false;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_req *r = req_of(p);

	if (hdr_count(r, len, r->in_value || r->field_len == 0))
		return -1;
	if (r->in_value)
		r->field_len = 0;
	value_done(r);
	if (r->field_len + len < sizeof(r->field)) {
		memcpy(r->field + r->field_len, at, len);
		r->field_len += (uint32_t)len;
	} else {
		r->field_len = sizeof(r->field); /* too long for any we keep */
	}
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_req *r = req_of(p);

	if (hdr_count(r, len, !r->in_value))
		return -1;
	if (!r->in_value) {
		r->in_value = true;
		r->cur = -1;
		int i = r->field_len < sizeof(kept_by_len) ? kept_by_len[r->field_len] - 1 : -1;

		/* (A field name is tchars, checked by the parser:
		 * http_name_is's case folding holds.) */
		if (i >= 0 && http_name_is(r->field, r->field_len, kept[i].lc, kept[i].len) &&
		    !r->h[i].set) {
			r->cur = i;
			r->h[i].set = true;
			r->h[i].off = r->arena_len;
			r->arena[r->arena_len] = '\0';
		}
	}
	if (r->cur >= 0)
		arena_put(r, at, len);
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct http_req *r = req_of(p);
	const char *expect;

	value_done(r);
	if (p->http_major != 1) {
		r->status = 505;
		return -1;
	}
	if (!(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX &&
	    p->content_length > r->srv->cfg->max_body) {
		r->status = 413;
		return -1;
	}
	r->keep_body = p->method == HTTP_POST;
	expect = http_hdr(r, HTTP_H_EXPECT);
	if (expect && p->http_minor >= 1 && strcasecmp(expect, "100-continue") == 0) {
		/* The body is within the limit so far: ask for it (curl
		 * otherwise waits a second before it sends a large one). */
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		struct iovec iov = { (void *)cont, sizeof(cont) - 1 };

		if (http_write(r, &iov, 1) < 0) {
			r->status = -1; /* the connection is gone: no response */
			return -1;
		}
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct http_req *r = req_of(p);

	if (r->body_len + len > r->srv->cfg->max_body) {
		r->status = 413;
		return -1;
	}
	if (r->keep_body) {
		if (r->body_len + len > r->body_cap) {
			size_t cap = r->body_cap ? r->body_cap : 4096;
			uint8_t *b;

			while (cap < r->body_len + len)
				cap *= 2;
			if (!(b = realloc(r->body, cap))) {
				r->status = 500;
				return -1;
			}
			r->body = b;
			r->body_cap = cap;
		}
		memcpy(r->body + r->body_len, at, len);
	}
	r->body_len += len;
	return 0;
}

static int on_message_complete(http_parser *p)
{
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* ---- the connection ---- */

/* Ready for the next request on the same parser. */
static void req_reset(struct http_req *r)
{
	r->arena_len = r->hdr_bytes = 0;
	r->url_off = r->url_len = 0;
	r->url_open = false;
	memset(r->h, 0, sizeof(r->h));
	r->field_len = 0;
	r->cur = -1;
	r->in_value = false;
	r->body_len = 0;
	r->keep_body = false;
	r->status = 0;
	r->deadline = 0;
}

/* Reads into buf with the request's deadline while one is under way,
 * else the idle timeout (under the connection's scope). */
static ssize_t read_some(struct http_req *r, uint8_t *buf, size_t len)
{
	ssize_t n;

	tn_timeout_reschedule(&r->to, r->deadline ? r->deadline
						  : tn_now() + r->srv->cfg->idle_ns);
	n = r->io->ops->read(r->io->ctx, buf, len);
	return scoped_end(r, n < 0 ? (int)n : 0) ?: n;
}

/* After the last response (an error's, or Connection: close): what is
 * batched goes, our FIN, then what the client still sends is dropped
 * until it closes, for at most LINGER_NS and LINGER_BYTES.  0, or the
 * batch's write error. */
static int linger(struct http_req *r, uint8_t *buf)
{
	uint64_t got = 0;
	struct tn_timeout to;
	ssize_t n;
	int err;

	r->batch = false;
	if ((err = flush(r)) < 0)
		return err;
	if (r->io->ops->shutdown(r->io->ctx) < 0)
		return 0;
	tn_timeout_enter(&to, tn_now() + LINGER_NS);
	while (got < LINGER_BYTES && (n = r->io->ops->read(r->io->ctx, buf, RBUF_LEN)) > 0)
		got += (uint64_t)n;
	(void)tn_timeout_exit(&to, 0);
	return 0;
}

static int parse_error_status(const struct http_req *r)
{
	enum http_errno e = HTTP_PARSER_ERRNO(&r->p);

	if (r->status)
		return r->status;
	if (e == HPE_HEADER_OVERFLOW)
		return 431;
	if (e == HPE_INVALID_VERSION)
		return 505;
	return 400;
}

/* What the request loop leaves to do once out of the connection's
 * scope, as it returns: positive, unlike its errors. */
enum { NEXT_LINGER = 1, NEXT_UPGRADE };

/* The parser stopped on an error: answer it (unless the connection is
 * gone), then linger: NEXT_LINGER or -errno. */
static int fail(struct http_req *r)
{
	int status = parse_error_status(r);
	int err;

	if (status < 0)
		return -EPIPE;
	/* The parser may not have seen the version yet: answer as 1.1. */
	r->p.http_major = 1;
	r->p.http_minor = 1;
	r->p.method = HTTP_GET;
	err = http_error(r, status, NULL);
	return err ? err : NEXT_LINGER;
}

/* Requests until the connection ends (0 or -errno), needs a lingering
 * close (NEXT_LINGER), or changes protocol (NEXT_UPGRADE). */
static int requests(struct http_req *r, uint8_t *buf)
{
	size_t pos = 0, len = 0;

	for (;;) {
		enum http_errno e;
		size_t used;
		int err;

		if (pos == len) {
			ssize_t n;

			/* Everything that came in one read is answered: the
			 * responses go out together (pipelining). */
			if ((err = flush(r)) < 0)
				return err;
			n = read_some(r, buf, RBUF_LEN);

			if (n == -ETIMEDOUT) {
				r->srv->st.timeouts++;
				if (!r->deadline)
					return 0; /* idle: close quietly */
				r->status = 408;
				return fail(r);
			}
			if (n <= 0)
				return (int)n; /* the end (mid-request too), or an error */
			pos = 0;
			len = (size_t)n;
		}
		used = http_parser_execute(&r->p, &settings, (const char *)buf + pos, len - pos);
		pos += used;
		e = HTTP_PARSER_ERRNO(&r->p);
		if (e != HPE_OK && e != HPE_PAUSED)
			return fail(r);
		if (r->p.upgrade) {
			/* The rest of the stream is another protocol's (or
			 * nobody's): this is the last request either way. */
			r->srv->st.requests++;
			r->keep_alive = false;
			/* (The session writes from two tasks: no batching.) */
			r->batch = false;
			if ((err = flush(r)) < 0)
				return err;
			r->rest = buf + pos;
			r->rest_len = len - pos;
			return NEXT_UPGRADE;
		}
		if (e != HPE_PAUSED)
			continue; /* all of it parsed: read on */
		r->keep_alive = http_should_keep_alive(&r->p);
		http_parser_pause(&r->p, 0);
		r->srv->st.requests++;
		if ((err = http_route(r)) < 0)
			return err;
		if (!r->keep_alive)
			return NEXT_LINGER;
		req_reset(r);
	}
}

/* The request loop runs under one timeout scope for the connection,
 * its deadline moved before each read and write (tn_timeout_reschedule:
 * a store when later, as it is from one request to the next): a scope
 * per read and per write filed and removed a wheel timer twice a
 * request (~300 instructions of ~7,600).  What follows the loop runs
 * outside it: a WebSocket session keeps its own timeouts, and the
 * lingering close its bound. */
static int serve(struct http_req *r, uint8_t *buf)
{
	int next;

	tn_timeout_enter(&r->to, tn_now() + r->srv->cfg->idle_ns);
	r->scoped = true;
	next = requests(r, buf);
	r->scoped = false;
	next = tn_timeout_exit(&r->to, next);
	if (next == NEXT_UPGRADE && (next = http_route(r)) == 0)
		next = NEXT_LINGER;
	return next == NEXT_LINGER ? linger(r, buf) : next;
}

int http_conn_serve(struct http_server *srv, const struct http_io *io)
{
	struct http_req *r = calloc(1, sizeof(*r));
	uint8_t *buf = malloc(RBUF_LEN);
	int err = -ENOMEM;

	srv->st.conns++;
	if (!r || !buf || !(r->arena = malloc((size_t)srv->cfg->max_header + 1)) ||
	    !(r->out = malloc(OUT_LEN)))
		goto out;
	r->batch = true;
	r->srv = srv;
	r->io = io;
	http_parser_init(&r->p, HTTP_REQUEST);
	r->p.data = r;
	req_reset(r);
	err = serve(r, buf);
out:
	if (r) {
		free(r->out);
		free(r->arena);
		free(r->body);
	}
	free(r);
	free(buf);
	return err;
}
