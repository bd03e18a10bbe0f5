/* Frames a stream of HTTP/1.1 responses for tern-load: where each one
 * ends and its status, using the packaged nodejs http-parser
 * (<http_parser.h>) in response mode, so Content-Length, chunked bodies
 * (extensions, trailers) and bodies delimited by the end of the stream
 * are all handled the way a browser's parser would.  Pure: no DPDK, no
 * Tern; tests/test_http_resp.c feeds it canned streams split at every
 * offset. */
#ifndef TN_HTTP_RESP_H
#define TN_HTTP_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

/* Called once per complete response; status is its code, keep_alive
 * false when it was the last one the connection will carry
 * (Connection: close, HTTP/1.0 without keep-alive, a body read to the
 * end of the stream). */
typedef void (*tn_http_resp_cb)(void *arg, unsigned status, bool keep_alive);

struct tn_http_resp {
	http_parser p;
	tn_http_resp_cb cb;
	void *arg;
	uint64_t responses;
	uint64_t skip;   /* body bytes still to come of a fast-framed response */
	unsigned status; /* ... and its status */
	bool in_msg;     /* between a response's first byte and its end */
	bool fresh;      /* http-parser has seen nothing of the next response */
	/* The last fast-framed header, byte for byte, and its framing: a
	 * server's responses to the same request repeat it but for the
	 * Date, once a second (http_resp.c). */
	uint16_t memo_len; /* 0: none */
	unsigned memo_status;
	uint64_t memo_clen;
	char memo[256];
};

/* Starts a connection's framing. */
void tn_http_resp_init(struct tn_http_resp *r, tn_http_resp_cb cb, void *arg);
/* Feeds len bytes (any split: a response may span calls, a call may
 * carry several).  0, or -EBADMSG when the bytes are not HTTP/1.x
 * responses (the connection is then useless). */
int tn_http_resp_feed(struct tn_http_resp *r, const void *buf, size_t len);
/* The peer closed the stream: completes a response whose body runs to
 * the end.  0, or -EBADMSG when a response was cut short. */
int tn_http_resp_eof(struct tn_http_resp *r);
/* True between responses (nothing of a next one seen yet). */
bool tn_http_resp_idle(const struct tn_http_resp *r);
/* The parser's name for the last error ("HPE_..."). */
const char *tn_http_resp_error(const struct tn_http_resp *r);

#endif
