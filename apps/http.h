/* tern-httpd's HTTP/1.1 and WebSocket server, apart from its transport.
 *
 * http_conn.c drives one connection: the packaged parser (nodejs
 * http-parser, <http_parser.h>) over a read buffer, one request at a
 * time, responses in request order (pipelining), errors answered and the
 * connection closed.  http_routes.c picks what answers a request,
 * http_static.c serves files from --root, http_ws.c the WebSocket
 * endpoints (libwslay).  httpd_main.c owns the listeners, the options and
 * the transports.
 *
 * The transport is a small vtable (struct http_io): plain TCP streams
 * (tn_tcp_read/tn_tcp_writev) or, for --tls, tn_tls over them, which
 * provides the same three calls.  Nothing here names tern/tcp.h or
 * tern/tls.h.
 *
 * Everything runs in the connection's task on one core; the only state
 * shared between connections is the core's struct http_server (counters
 * and the chat room), touched between awaits only. */
#ifndef TN_HTTP_H
#define TN_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <http_parser.h>
#include <tern/timer.h>

/* A byte stream.  Each call may await; all return -errno on failure. */
struct http_io_ops {
	/* Awaits at least one byte, copies up to len; 0 at end of stream. */
	ssize_t (*read)(void *ctx, void *buf, size_t len);
	/* Queues every byte of iov (awaiting room); 0 or -errno. */
	int (*writev)(void *ctx, const struct iovec *iov, int iovcnt);
	/* No more writes: the peer sees the end of the stream. */
	int (*shutdown)(void *ctx);
};

struct http_io {
	const struct http_io_ops *ops;
	void *ctx;
};

/* For a transport that frames what it sends in records of rec_len bytes
 * (TLS): passes iov to write in pieces that are whole records where it
 * can.  Small pieces are gathered in rec[] (a header and a short body
 * become one call); a piece of at least a record that starts on a
 * record boundary goes to write whole, uncopied.  0 or write's -errno
 * (what an interrupted write committed is the transport's to say). */
int http_writev_records(uint8_t *rec, size_t rec_len, const struct iovec *iov, int iovcnt,
			int (*write)(void *ctx, const void *buf, size_t len), void *ctx);

/* Limits and where files come from; fixed once the server starts. */
struct http_cfg {
	int root_fd;          /* --root's directory, or -1: no static files */
	uint32_t max_header;  /* request line and header fields, bytes (431) */
	uint64_t max_body;    /* request body, and a WebSocket message, bytes (413) */
	uint64_t idle_ns;     /* keep-alive wait for a request, and each write */
	uint64_t request_ns;  /* a request's first byte to its last (408) */
};

#define HTTP_DEF_MAX_HEADER 8192u
#define HTTP_DEF_MAX_BODY (1u << 20)
#define HTTP_DEF_IDLE_NS (60ull * 1000000000)
#define HTTP_DEF_REQUEST_NS (10ull * 1000000000)

struct http_stats {
	uint64_t conns, requests;
	uint64_t status[6];   /* responses by class: [2] is 2xx ... [5] 5xx */
	uint64_t timeouts;    /* 408s sent, and idle connections closed */
	uint64_t ws_conns, ws_msgs, ws_dropped; /* dropped: slow chat clients cut off */
	uint64_t ws_xcore_lost; /* chat lines the other cores' rooms did not get */
};

/* How a chat line leaves for the other cores' rooms (http_chat.c; NULL:
 * the room is this core's).  The reader that got the line owns one
 * reference from line_new, hands the line on with line_send before it
 * reads its member's next line (so one member's lines stay in order),
 * and drops its reference with line_put, sent or not. */
struct http_chat_ops {
	/* A copy of the line, or NULL (out of memory). */
	void *(*line_new)(int opcode, const void *msg, size_t len);
	/* Hands the line to the cores that do not have it yet: 0 once all
	 * do, -ENOBUFS when a ring is full (call again later), other
	 * -errno: give up. */
	int (*line_send)(void *line);
	void (*line_put)(void *line);
};

struct ws_conn;
TAILQ_HEAD(ws_room, ws_conn);

/* One per core. */
struct http_server {
	const struct http_cfg *cfg;
	struct http_stats st;
	struct ws_room chat; /* /ws/chat: this core's members */
	const struct http_chat_ops *chat_out; /* the other cores' rooms, or NULL */
	int64_t date_sec;    /* the Date header, formatted once a second */
	uint64_t date_next;  /* tn_now() past which the second may have changed */
	uint32_t date_len;
	char date[40];
};

/* A 200 with a fixed body (GET /hello), its header built once per
 * second, the Date's (http_respond_fixed); one per thread. */
struct http_fixed {
	const char *ctype;
	const void *body;
	size_t len;             /* at most 256 bytes */
	int64_t date_sec;       /* the second of the Date in buf */
	uint32_t head_len;
	char buf[512];          /* the header, then the body */
};

void http_server_init(struct http_server *srv, const struct http_cfg *cfg);

/* Serves one connection until it ends.  0 when it ended cleanly (the
 * caller closes the transport gracefully), or -errno (-ECANCELED when
 * the task was cancelled: the caller aborts it). */
int http_conn_serve(struct http_server *srv, const struct http_io *io);

/* ---- internal: shared by the http_*.c files ---- */

/* Request headers the routes look at (others are parsed and dropped). */
enum http_hdr {
	HTTP_H_UPGRADE,
	HTTP_H_CONNECTION,
	HTTP_H_WS_KEY,
	HTTP_H_WS_VERSION,
	HTTP_H_EXPECT,
	HTTP_H_CONTENT_TYPE,
	HTTP_H_COUNT,
};

struct http_req {
	http_parser p;
	struct http_server *srv;
	const struct http_io *io;
	/* The URL and the kept header values, in an arena of max_header
	 * bytes (they are part of the header section, which is at most
	 * that long). */
	char *arena;
	uint32_t arena_len, hdr_bytes;
	uint32_t url_off, url_len;
	bool url_open;        /* the URL's NUL is not yet kept */
	struct { uint32_t off, len; bool set; } h[HTTP_H_COUNT];
	char field[24];       /* the field name being read (longer: not kept) */
	uint32_t field_len;
	int cur;              /* enum http_hdr whose value is being read, or -1 */
	bool in_value;
	uint8_t *body;        /* POST /echo's body; others are counted, not kept */
	uint64_t body_len;
	size_t body_cap;
	bool keep_body;
	int status;           /* an error decided while parsing (413, 431, 505, 500) */
	bool keep_alive;      /* after this response */
	uint64_t deadline;    /* the request's --request-timeout */
	const uint8_t *rest;  /* after an Upgrade request: the bytes after it */
	size_t rest_len;
	/* While batch is set (the request loop; not a WebSocket session),
	 * http_write gathers responses in out[] and the loop sends them
	 * when it has answered every request of a read: pipelined
	 * requests get their responses in one write, one segment. */
	char *out;
	uint32_t out_len;
	bool batch;
	/* While scoped (the request loop, not a WebSocket session or the
	 * lingering close), every read and write runs under this one
	 * timeout scope, its deadline moved before each (http_conn.c). */
	bool scoped;
	struct tn_timeout to;
};

/* A kept header's value (NUL-terminated in the arena), or NULL. */
const char *http_hdr(const struct http_req *r, enum http_hdr h);
/* Case-insensitive: does the comma-separated list v contain token? */
bool http_has_token(const char *v, const char *token);
const char *http_reason(int status);

/* Writes with the idle timeout as the bound (or gathers, see batch);
 * 0 or -errno. */
int http_write(struct http_req *r, const struct iovec *iov, int iovcnt);
/* A response with body (len bytes; none for HEAD, but its length is
 * given).  extra: more header lines, each ending in \r\n, or NULL.
 * Connection: close unless r->keep_alive.  0 or -errno. */
int http_respond(struct http_req *r, int status, const char *ctype, const char *extra,
		 const void *body, size_t len);
/* The 200 response of f, from its cached bytes when the response needs
 * no Connection field (HTTP/1.1 keep-alive), else by http_respond. */
int http_respond_fixed(struct http_req *r, struct http_fixed *f);
/* The header of a response whose body the caller sends. */
int http_respond_head(struct http_req *r, int status, const char *ctype, const char *extra,
		      uint64_t len);
/* An error response with a short text body; closes after it, except
 * for 403, 404, 405 and 426 (refusals of a well-formed request). */
int http_error(struct http_req *r, int status, const char *extra);

/* Answers a complete request (http_routes.c).  0 or -errno. */
int http_route(struct http_req *r);
/* GET/HEAD of a decoded path under cfg->root_fd (http_static.c). */
int http_static(struct http_req *r, const char *path, size_t len);
/* Whether the request asks for a WebSocket (Upgrade: websocket). */
bool http_ws_wanted(const struct http_req *r);
/* The handshake and then the session on the rest of the stream (r->rest
 * holds bytes that followed the request).  Returns when the session
 * ends: 0 or -errno (http_ws.c). */
int http_ws_serve(struct http_req *r, bool chat);
/* Queues a chat line on every member of srv's room (this core's),
 * cutting off those whose queue is full.  Never awaits. */
void http_ws_chat_deliver(struct http_server *srv, int opcode, const void *msg, size_t len);
/* Makes srv this core's room, and, with several cores, links it to the
 * other cores' rooms (http_chat.c; needs the dataplane). */
void http_chat_join(struct http_server *srv);
/* Sec-WebSocket-Accept for key (RFC 6455 4.2.2): out gets 28 chars + NUL. */
void http_ws_accept(const char *key, char out[29]);

#endif
