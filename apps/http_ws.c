/* WebSocket (RFC 6455) on an upgraded connection (see http.h), framed by
 * libwslay's event API.
 *
 * wslay assumes non-blocking I/O; here its callbacks never await: the
 * receive callback hands it bytes already read, the send callback copies
 * frames into an output buffer.  So every wslay call runs to its end
 * without a task switch, and calls on one context from different tasks
 * cannot interleave.  Two tasks per session:
 *
 *   the reader (the connection's task): reads, feeds wslay; a complete
 *     message is queued back (echo) or on every chat member's context
 *     (chat), whose writers it wakes;
 *   the writer: moves queued frames into the buffer (wslay_event_send)
 *     and writes it out, awaiting as long as the peer is slow.
 *
 * A chat member whose queue passes WS_QUEUE_MAX (a reader that does not
 * keep up) is cut off rather than let the core's memory grow.  With
 * several cores the room spans them: the reader also hands each line to
 * the other cores (srv->chat_out, http_chat.c), before it reads its
 * member's next line, so one member's lines keep their order everywhere.
 * Control frames are wslay's: pings answered, a close answered and the
 * session ended. */
#include "http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <wslay/wslay.h>

#include <tern/coro.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define OUT_LEN (16u * 1024)
#define IN_LEN (16u * 1024)
#define WS_QUEUE_MAX (4u << 20) /* bytes queued for one chat member */
#define XCORE_RETRY_NS 20000    /* a full cross-core ring: look again after */

struct ws_conn {
	TAILQ_ENTRY(ws_conn) link;
	struct http_req *r;
	wslay_event_context_ptr ctx;
	const uint8_t *in;    /* read, not yet given to wslay */
	size_t in_len;
	uint8_t hdr[14];      /* the frame header being handed over */
	uint8_t hlen, hneed;
	uint64_t left;        /* payload bytes of the frame not yet handed over */
	bool msg_done;        /* a message completed in this wslay_event_recv */
	void *xline;          /* a chat line still to hand to the other cores */
	uint64_t sends;       /* the writer's wslay_event_send calls */
	struct tn_event sent; /* ... and another one happened */
	uint8_t out[OUT_LEN]; /* frames from wslay, not yet written */
	size_t out_len;
	struct tn_event wake; /* something to send, or closing */
	struct tn_event done; /* the writer has ended */
	struct tn_task *reader;
	bool chat, closing, wdone;
	int werr;             /* why the writer or a broadcast ended us */
};

bool http_ws_wanted(const struct http_req *r)
{
	return http_has_token(http_hdr(r, HTTP_H_UPGRADE), "websocket");
}

void http_ws_accept(const char *key, char out[29])
{
	char cat[64 + sizeof(WS_GUID)];
	unsigned char md[SHA_DIGEST_LENGTH];
	size_t n = strlen(key);

	if (n > 64)
		n = 64;
	memcpy(cat, key, n);
	memcpy(cat + n, WS_GUID, sizeof(WS_GUID) - 1);
	SHA1((const unsigned char *)cat, n + sizeof(WS_GUID) - 1, md);
	EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

/* ---- wslay's callbacks: none of them awaits ---- */

/* Hands wslay at most one frame per call, and nothing more once a
 * message is complete in this wslay_event_recv: wslay answers a close
 * (and pings) ahead of queued data, so a close that arrived with a
 * message would otherwise overtake the message's echo.  The reader lets
 * the writer take the echo first (read_loop).  Frame boundaries come
 * from the header's length fields (RFC 6455 5.2); wslay checks the rest. */
static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
		       void *ud)
{
	struct ws_conn *ws = ud;
	size_t n = 0;

	(void)flags;
	if (!ws->in_len || ws->msg_done) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	while (n < len && ws->in_len) {
		if (ws->left) {
			size_t take = ws->left < len - n ? (size_t)ws->left : len - n;

			if (take > ws->in_len)
				take = ws->in_len;
			memcpy(buf + n, ws->in, take);
			n += take;
			ws->in += take;
			ws->in_len -= take;
			if ((ws->left -= take) == 0)
				break; /* the frame's end */
			continue;
		}
		/* A header byte. */
		buf[n++] = ws->hdr[ws->hlen++] = *ws->in++;
		ws->in_len--;
		if (ws->hlen == 2) {
			uint8_t l7 = ws->hdr[1] & 0x7f;

			ws->hneed = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) +
				    (ws->hdr[1] & 0x80 ? 4 : 0);
		}
		if (ws->hlen >= 2 && ws->hlen == ws->hneed) {
			uint8_t l7 = ws->hdr[1] & 0x7f;
			uint64_t plen = l7;

			if (l7 >= 126) {
				plen = 0;
				for (unsigned i = 0; i < (l7 == 126 ? 2u : 8u); i++)
					plen = plen << 8 | ws->hdr[2 + i];
			}
			ws->hlen = 0;
			ws->left = plen;
			if (!plen)
				break; /* an empty frame ends here */
		}
	}
	return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
		       void *ud)
{
	struct ws_conn *ws = ud;
	size_t room = OUT_LEN - ws->out_len;

	(void)flags;
	if (!room) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (len > room)
		len = room;
	memcpy(ws->out + ws->out_len, data, len);
	ws->out_len += len;
	return (ssize_t)len;
}

/* Queues a message for m and wakes its writer; cuts m off instead when
 * its queue is full. */
static void deliver(struct ws_conn *m, int opcode, const void *data, size_t len)
{
	struct wslay_event_msg msg = { (uint8_t)opcode, data, len };

	if (m->werr)
		return;
	if (wslay_event_get_queued_msg_length(m->ctx) + len > WS_QUEUE_MAX ||
	    wslay_event_queue_msg(m->ctx, &msg) != 0) {
		m->werr = -ENOBUFS;
		m->r->srv->st.ws_dropped++;
		tn_task_cancel(m->reader);
		return;
	}
	tn_event_set(&m->wake);
}

void http_ws_chat_deliver(struct http_server *srv, int opcode, const void *msg, size_t len)
{
	struct ws_conn *m, *next;

	for (m = TAILQ_FIRST(&srv->chat); m; m = next) {
		next = TAILQ_NEXT(m, link);
		deliver(m, opcode, msg, len);
	}
}

static void on_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
		      void *ud)
{
	struct ws_conn *ws = ud;
	struct http_server *srv = ws->r->srv;

	(void)ctx;
	if (wslay_is_ctrl_frame(arg->opcode))
		return;
	ws->msg_done = true;
	srv->st.ws_msgs++;
	if (!ws->chat) {
		deliver(ws, arg->opcode, arg->msg, arg->msg_length);
		return;
	}
	http_ws_chat_deliver(srv, arg->opcode, arg->msg, arg->msg_length);
	/* The other cores: the reader hands the copy on (xcore_send), since
	 * that may have to wait for room in a ring. */
	if (srv->chat_out &&
	    !(ws->xline = srv->chat_out->line_new(arg->opcode, arg->msg, arg->msg_length)))
		srv->st.ws_xcore_lost++;
}

static const struct wslay_event_callbacks callbacks = {
	.recv_callback = recv_cb,
	.send_callback = send_cb,
	.on_msg_recv_callback = on_msg_cb,
};

/* ---- the session ---- */

static intptr_t writer_task(void *arg)
{
	struct ws_conn *ws = arg;
	int err = 0;

	for (;;) {
		if (wslay_event_want_write(ws->ctx)) {
			if (wslay_event_send(ws->ctx) != 0) {
				err = -EPROTO;
				break;
			}
			ws->sends++;
			tn_event_set(&ws->sent);
			if (ws->out_len) {
				struct iovec iov = { ws->out, ws->out_len };

				err = http_write(ws->r, &iov, 1);
				ws->out_len = 0;
				if (err)
					break;
			}
			continue;
		}
		if (ws->closing)
			break;
		tn_event_clear(&ws->wake);
		if ((err = tn_event_wait(&ws->wake)) < 0)
			break;
	}
	if (err && !ws->closing && !ws->werr) {
		/* The peer does not take our bytes: end the reader too. */
		ws->werr = err;
		tn_task_cancel(ws->reader);
	}
	ws->wdone = true;
	tn_event_set(&ws->done);
	return 0;
}

/* After a message that queued something for us: waits until the writer
 * has taken it (one wslay_event_send), so that a close or ping parsed
 * next cannot overtake it.  Backpressure too: an echo client that does
 * not read stops being read. */
static int wait_sent(struct ws_conn *ws)
{
	uint64_t want = ws->sends + 1;

	tn_event_set(&ws->wake);
	while (ws->sends < want && !ws->wdone) {
		int err;

		tn_event_clear(&ws->sent);
		if ((err = tn_event_wait(&ws->sent)) < 0)
			return err;
	}
	return 0;
}

/* Hands the line the last message made to the other cores' rooms,
 * waiting while a ring is full: the member's next line must not go
 * first.  A ring that stays full past the idle timeout loses the line
 * (counted) rather than stall the member for good. */
static int xcore_send(struct ws_conn *ws)
{
	struct http_server *srv = ws->r->srv;
	uint64_t until = tn_now() + srv->cfg->idle_ns;
	int err;

	while ((err = srv->chat_out->line_send(ws->xline)) == -ENOBUFS && tn_now() < until)
		if ((err = tn_sleep(XCORE_RETRY_NS)) < 0)
			return err; /* (session() drops the line) */
	if (err)
		srv->st.ws_xcore_lost++;
	srv->chat_out->line_put(ws->xline);
	ws->xline = NULL;
	return 0;
}

static int read_loop(struct ws_conn *ws, uint8_t *buf)
{
	for (;;) {
		struct tn_timeout to;
		ssize_t n;
		int err;

		ws->msg_done = false;
		if (wslay_event_recv(ws->ctx) != 0)
			return -EPROTO;
		if (ws->xline && (err = xcore_send(ws)) != 0)
			return err;
		if (wslay_event_want_write(ws->ctx)) {
			/* An echo, a pong, a close (or a chat line). */
			if (ws->msg_done && (err = wait_sent(ws)) != 0)
				return err;
			tn_event_set(&ws->wake);
		}
		if (!wslay_event_want_read(ws->ctx))
			return 0; /* the peer's close, or a protocol error answered */
		if (ws->in_len)
			continue;
		tn_timeout_enter(&to, tn_now() + ws->r->srv->cfg->idle_ns);
		n = ws->r->io->ops->read(ws->r->io->ctx, buf, IN_LEN);
		if ((err = tn_timeout_exit(&to, n < 0 ? (int)n : 0)) != 0)
			return err;
		if (n == 0)
			return 0;
		ws->in = buf;
		ws->in_len = (size_t)n;
	}
}

static int session(struct ws_conn *ws)
{
	uint8_t *buf = malloc(IN_LEN);
	struct tn_task *w;
	int err;

	if (!buf)
		return -ENOMEM;
	tn_event_init(&ws->wake);
	tn_event_init(&ws->done);
	tn_event_init(&ws->sent);
	ws->reader = tn_task_current();
	if (!(w = tn_task_spawn(writer_task, ws))) {
		free(buf);
		return -ENOMEM;
	}
	tn_task_detach(w); /* valid until it sets wdone: we wait for that */
	if (ws->chat)
		TAILQ_INSERT_TAIL(&ws->r->srv->chat, ws, link);
	ws->in = ws->r->rest;
	ws->in_len = ws->r->rest_len;
	err = read_loop(ws, buf);
	if (err == -ECANCELED && ws->werr) {
		tn_task_uncancel(); /* our writer or a broadcast ended us */
		err = ws->werr;
	}
	if (ws->chat)
		TAILQ_REMOVE(&ws->r->srv->chat, ws, link);
	if (ws->xline) {
		ws->r->srv->chat_out->line_put(ws->xline);
		ws->xline = NULL;
	}
	/* The writer sends what is queued (our close frame too), then ends;
	 * at once when we were cancelled or it failed. */
	ws->closing = true;
	tn_event_set(&ws->wake);
	if (err == -ECANCELED)
		tn_task_cancel(w);
	while (!ws->wdone)
		if (tn_event_wait(&ws->done) < 0 && !ws->wdone)
			tn_task_cancel(w);
	free(buf);
	return err;
}

int http_ws_serve(struct http_req *r, bool chat)
{
	const char *key = http_hdr(r, HTTP_H_WS_KEY), *ver = http_hdr(r, HTTP_H_WS_VERSION);
	unsigned char raw[32];
	char accept[29], head[256];
	struct ws_conn *ws;
	struct iovec iov;
	int err, n;

	r->keep_alive = false;
	if (!http_has_token(http_hdr(r, HTTP_H_CONNECTION), "upgrade") || !key ||
	    strlen(key) != 24 || EVP_DecodeBlock(raw, (const unsigned char *)key, 24) != 18)
		return http_error(r, 400, NULL);
	if (!ver || strcmp(ver, "13") != 0)
		return http_error(r, 426, "Sec-WebSocket-Version: 13\r\n");
	if (!(ws = calloc(1, sizeof(*ws))))
		return http_error(r, 500, NULL);
	if (wslay_event_context_server_init(&ws->ctx, &callbacks, ws) != 0) {
		free(ws);
		return http_error(r, 500, NULL);
	}
	wslay_event_config_set_max_recv_msg_length(ws->ctx, r->srv->cfg->max_body);
	ws->r = r;
	ws->chat = chat;
	http_ws_accept(key, accept);
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 101 Switching Protocols\r\nServer: tern-httpd\r\n"
		     "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		     accept);
	iov.iov_base = head;
	iov.iov_len = (size_t)n;
	r->srv->st.status[1]++;
	err = http_write(r, &iov, 1);
	if (!err) {
		r->srv->st.ws_conns++;
		err = session(ws);
	}
	wslay_event_context_free(ws->ctx);
	free(ws);
	return err;
}
