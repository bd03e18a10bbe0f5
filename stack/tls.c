/* TLS connections (tern/tls.h): the handshake, reads, writes and the
 * close over a tn_tcp_conn.
 *
 * Why OpenSSL's BIOs never await (memory-BIO style) rather than calling
 * tn_tcp_read/tn_tcp_write from inside OpenSSL (which a stackful
 * coroutine would allow): an await inside an SSL call can be
 * interrupted (cancellation, a timeout scope) or outlived (the
 * connection closed under it), and OpenSSL would then be left with a
 * record half-written into a BIO that returned an error, which it only
 * recovers from if the caller repeats the same SSL_write, and with
 * SSL_ERROR_SYSCALL states that are not retryable.  Here an SSL call
 * only ever sees bytes TCP already delivered and a buffer that always
 * accepts what it writes, so every await happens between SSL calls,
 * where OpenSSL's state is complete: an interrupted read consumed
 * nothing, an interrupted write left whole records in out[] that the
 * next call sends first.  It also lets OpenSSL copy straight from the
 * TCP mbufs (tn_tcp_recv_burst) with no buffer in between, and lets two
 * tasks (a reader and a writer) share a connection: SSL calls never
 * interleave, and flushes hold no pointer into out[] across an await. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <rte_mbuf.h>

#include "tn_tcp.h"
#include "tn_tls.h"
#include "tn_udp.h"

/* Plaintext per SSL_write: one full record (RFC 8446 5.1). */
#define REC_MAX 16384
/* Ciphertext gathered before a flush into TCP: a record, so that out[]
 * stays at 32 KiB (a record and a bit, rounded up by its doubling). */
#define FLUSH_AT REC_MAX

/* ---- moving bytes (the only awaits) ---- */

/* Queues out[] into TCP, awaiting room.  No pointer into out[] is held
 * across the await (another task's SSL call may grow it meanwhile), and
 * the offset is read again after it, so two tasks flushing at once
 * never send a byte twice.  An interruption leaves the rest in out[]. */
static int flush(struct tn_tls_conn *c)
{
	int err;

	while (c->out_off < c->out_len) {
		size_t n = c->out_len - c->out_off, max = tn__tcp_sndbuf(c->tcp);
		ssize_t got;

		if (n > max)
			n = max;
		if ((err = tn__tcp_wait_room(c->tcp, (uint32_t)n)) < 0)
			return err; /* (-EBADF: c is gone; touch nothing) */
		if (c->out_off >= c->out_len)
			break; /* another task sent it meanwhile */
		n = c->out_len - c->out_off;
		if (n > max)
			n = max;
		got = tn__tcp_write_nowait(c->tcp, c->out + c->out_off, (uint32_t)n);
		if (got < 0)
			return (int)got;
		c->out_off += (size_t)got;
		if ((size_t)got < n && tn__tcp_sb_space(c->tcp)) {
			/* The mempool ran dry mid-record: the stream is cut. */
			c->err = -ENOBUFS;
			return c->err;
		}
	}
	c->out_off = c->out_len = 0;
	return 0;
}

/* What fits of out[] now, without awaiting (for readers and close). */
static void flush_nowait(struct tn_tls_conn *c)
{
	ssize_t got;

	if (c->out_off == c->out_len)
		return;
	got = tn__tcp_write_nowait(c->tcp, c->out + c->out_off,
				   (uint32_t)(c->out_len - c->out_off));
	if (got > 0)
		c->out_off += (size_t)got;
}

/* Awaits TCP bytes for OpenSSL (which has used up rx[]). */
static int fill(struct tn_tls_conn *c)
{
	int err;

	if ((err = tn_tcp_wait_readable(c->tcp)) < 0)
		return err;
	if (c->rx_i < c->rx_n)
		return 0; /* another reader filled rx[] meanwhile */
	c->rx_i = 0;
	c->rx_n = tn_tcp_recv_burst(c->tcp, c->rx, TN__TLS_RX_BURST);
	if (!c->rx_n && tn_tcp_at_eof(c->tcp))
		c->rx_eof = true;
	return 0;
}

/* The errno for a failed SSL call (SSL_ERROR_SSL or _SYSCALL). */
static int fail_errno(struct tn_tls_conn *c, int e)
{
	unsigned long r = ERR_peek_last_error();

	if (!c->ctx->server && c->ctx->verify && SSL_get_verify_result(c->ssl) != X509_V_OK)
		return -EKEYREJECTED;
	if (ERR_GET_LIB(r) == ERR_LIB_SSL && ERR_GET_REASON(r) == SSL_R_CERTIFICATE_VERIFY_FAILED)
		return -EKEYREJECTED;
	if (c->rx_eof && c->rx_i == c->rx_n)
		return -ECONNRESET; /* TCP ended without close_notify */
	if (ERR_GET_REASON(r) == ERR_R_MALLOC_FAILURE)
		return -ENOMEM;
	return -EPROTO;
}

/* After an SSL call returned ret <= 0: does what OpenSSL waits for
 * (sends what it wrote, awaits TCP bytes).  Returns 1 to call it again,
 * 0 at the peer's close_notify, or -errno.  wait_out: flush awaiting
 * room (the handshake, writes) or only what fits (reads, which must not
 * block on a peer that is not reading). */
static int await_io(struct tn_tls_conn *c, int ret, bool wait_out)
{
	int e = SSL_get_error(c->ssl, ret), err;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		if (wait_out) {
			if ((err = flush(c)) < 0)
				return err;
		} else {
			flush_nowait(c);
		}
		if ((err = fill(c)) < 0)
			return err;
		return 1;
	case SSL_ERROR_WANT_WRITE: /* (out[] never refuses; harmless) */
		if ((err = flush(c)) < 0)
			return err;
		return 1;
	case SSL_ERROR_ZERO_RETURN:
		c->peer_closed = true;
		return 0;
	default:
		err = fail_errno(c, e);
		c->err = err;
		/* Best effort: the alert OpenSSL queued tells the peer why. */
		flush_nowait(c);
		return err;
	}
}

/* ---- handshake ---- */

static int conn_new(struct tn_tls_ctx *ctx, struct tn_tcp_conn *tcp, struct tn_tls_conn **cp)
{
	struct tn_tls_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->ctx = ctx;
	c->tcp = tcp;
	ctx->refs++;
	if (!(c->ssl = SSL_new(ctx->ssl)) || tn__tls_bio_attach(c) < 0) {
		SSL_free(c->ssl);
		tn__tls_ctx_unref(ctx);
		free(c);
		return -ENOMEM;
	}
	*cp = c;
	return 0;
}

/* Frees everything but the TCP connection. */
static void conn_free(struct tn_tls_conn *c)
{
	while (c->rx_i < c->rx_n)
		rte_pktmbuf_free(c->rx[c->rx_i++]);
	SSL_free(c->ssl);
	tn__tls_ctx_unref(c->ctx);
	free(c->out);
	free(c->stash);
	free(c);
}

static int handshake(struct tn_tls_conn *c)
{
	const unsigned char *p;
	unsigned n;
	int r, k;

	for (;;) {
		ERR_clear_error();
		r = SSL_do_handshake(c->ssl);
		if (r == 1)
			break;
		if ((k = await_io(c, r, true)) <= 0)
			return k ? k : -ECONNRESET; /* (close_notify mid-handshake) */
	}
	SSL_get0_alpn_selected(c->ssl, &p, &n);
	if (n && n < sizeof(c->alpn)) {
		memcpy(c->alpn, p, n);
		c->alpn[n] = 0;
	}
	/* The last flight (the client's Finished, the server's tickets). */
	return flush(c);
}

static int start(struct tn_tls_ctx *ctx, struct tn_tcp_conn *tcp, const char *host,
		 struct tn_tls_conn **cp)
{
	struct tn_tls_conn *c;
	struct in_addr a;
	int err;

	if ((err = tn__udp_await_enter()) < 0)
		return err;
	if (!ctx || !tcp || !cp)
		return -EINVAL;
	if ((err = conn_new(ctx, tcp, &c)) < 0)
		return err;
	if (ctx->server) {
		SSL_set_accept_state(c->ssl);
	} else {
		SSL_set_connect_state(c->ssl);
		if (host && inet_pton(AF_INET, host, &a) == 1) {
			if (ctx->verify &&
			    !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host))
				err = -EINVAL;
		} else if (host) {
			if (!SSL_set_tlsext_host_name(c->ssl, host) ||
			    (ctx->verify && !SSL_set1_host(c->ssl, host)))
				err = -EINVAL;
		}
	}
	if (!err)
		err = handshake(c);
	if (err < 0) {
		/* (Even after -EBADF: c is still ours, only tcp is gone.) */
		conn_free(c);
		return err;
	}
	*cp = c;
	return 0;
}

int tn_tls_accept(struct tn_tls_ctx *ctx, struct tn_tcp_conn *tcp, struct tn_tls_conn **c)
{
	if (ctx && !ctx->server)
		return -EINVAL;
	return start(ctx, tcp, NULL, c);
}

int tn_tls_connect(struct tn_tls_ctx *ctx, struct tn_tcp_conn *tcp, const char *hostname,
		   struct tn_tls_conn **c)
{
	if (ctx && ctx->server)
		return -EINVAL;
	return start(ctx, tcp, hostname, c);
}

/* ---- reading ---- */

ssize_t tn_tls_read(struct tn_tls_conn *c, void *buf, size_t len)
{
	int r, k, err;

	if ((err = tn__udp_await_enter()) < 0)
		return err;
	if (c->st_off < c->st_len) {
		size_t n = c->st_len - c->st_off < len ? c->st_len - c->st_off : len;

		memcpy(buf, c->stash + c->st_off, n);
		c->st_off += n;
		return (ssize_t)n;
	}
	if (c->err)
		return c->err;
	if (c->peer_closed || !len)
		return 0;
	for (;;) {
		ERR_clear_error();
		r = SSL_read(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
		if (r > 0) {
			flush_nowait(c); /* a reply OpenSSL wrote meanwhile (KeyUpdate) */
			return r;
		}
		if ((k = await_io(c, r, false)) <= 0)
			return k;
	}
}

/* Keeps n bytes an interrupted read_exactly had copied, for the next
 * read (the stash is empty then: reads take from it first). */
static int stash_put(struct tn_tls_conn *c, const void *buf, size_t n)
{
	if (n > c->st_cap) {
		uint8_t *p = realloc(c->stash, n);

		if (!p)
			return c->err = -ENOMEM;
		c->stash = p;
		c->st_cap = n;
	}
	memcpy(c->stash, buf, n);
	c->st_off = 0;
	c->st_len = n;
	return 0;
}

ssize_t tn_tls_read_exactly(struct tn_tls_conn *c, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	int err;

	if ((err = tn__udp_await_enter()) < 0)
		return err;
	while (got < len) {
		n = tn_tls_read(c, (uint8_t *)buf + got, len - got);
		if (n == 0)
			return (ssize_t)got; /* the stream ended first */
		if (n < 0) {
			if (got && (n == -ECANCELED || n == -ETIMEDOUT) &&
			    (err = stash_put(c, buf, got)) < 0)
				return err;
			return n;
		}
		got += (size_t)n;
	}
	return (ssize_t)len;
}

/* Makes room in the stash for want more bytes after st_len. */
static int stash_room(struct tn_tls_conn *c, size_t want)
{
	if (c->st_off) {
		memmove(c->stash, c->stash + c->st_off, c->st_len - c->st_off);
		c->st_len -= c->st_off;
		c->st_off = 0;
	}
	if (c->st_len + want > c->st_cap) {
		size_t cap = c->st_len + want;
		uint8_t *p = realloc(c->stash, cap);

		if (!p)
			return c->err = -ENOMEM;
		c->stash = p;
		c->st_cap = cap;
	}
	return 0;
}

/* The offset just past the first delimiter in the stash at or after
 * from, or -1. */
static ssize_t stash_find(const struct tn_tls_conn *c, size_t from, const void *d, size_t dlen)
{
	const uint8_t *base = c->stash + c->st_off;
	size_t avail = c->st_len - c->st_off;
	const uint8_t *hit;

	if (avail < dlen || from > avail - dlen)
		return -1;
	hit = memmem(base + from, avail - from, d, dlen);
	return hit ? (hit - base) + (ssize_t)dlen : -1;
}

/* Decrypts into the stash until the delimiter shows; the bytes stay
 * there until they are handed out, so nothing is consumed by an
 * interruption or -EMSGSIZE. */
ssize_t tn_tls_read_until(struct tn_tls_conn *c, void *buf, size_t len, const void *delim,
			  size_t dlen)
{
	size_t scan = 0, avail;
	ssize_t end;
	int r, k, err;

	if ((err = tn__udp_await_enter()) < 0)
		return err;
	if (!dlen || dlen > 16 || !len)
		return -EINVAL;
	for (;;) {
		avail = c->st_len - c->st_off;
		if ((end = stash_find(c, scan, delim, dlen)) >= 0) {
			if ((size_t)end > len)
				return -EMSGSIZE;
			memcpy(buf, c->stash + c->st_off, (size_t)end);
			c->st_off += (size_t)end;
			return end;
		}
		if (avail >= len)
			return -EMSGSIZE;
		scan = avail >= dlen - 1 ? avail - (dlen - 1) : 0;
		if (c->err)
			return c->err;
		if (c->peer_closed) {
			memcpy(buf, c->stash + c->st_off, avail);
			c->st_off += avail;
			return (ssize_t)avail;
		}
		if ((err = stash_room(c, REC_MAX)) < 0)
			return err;
		ERR_clear_error();
		r = SSL_read(c->ssl, c->stash + c->st_len, REC_MAX);
		if (r > 0) {
			c->st_len += (size_t)r;
			flush_nowait(c);
			continue;
		}
		if ((k = await_io(c, r, false)) < 0)
			return k;
	}
}

/* ---- writing and closing ---- */

int tn_tls_write(struct tn_tls_conn *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int r, k, err;

	if ((err = tn__udp_await_enter()) < 0)
		return err;
	if (c->err)
		return c->err;
	if (c->shut_sent)
		return -EPIPE;
	/* What an interrupted write left goes first. */
	if ((err = flush(c)) < 0)
		return err;
	while (len) {
		int n = len > REC_MAX ? REC_MAX : (int)len;

		ERR_clear_error();
		r = SSL_write(c->ssl, p, n);
		if (r <= 0) {
			if ((k = await_io(c, r, true)) < 0)
				return k;
			if (!k)
				return -EPIPE;
			continue;
		}
		p += r;
		len -= (size_t)r;
		if ((c->out_len - c->out_off >= FLUSH_AT || !len) && (err = flush(c)) < 0)
			return err;
	}
	return 0;
}

int tn_tls_shutdown(struct tn_tls_conn *c)
{
	int err;

	if ((err = tn__udp_await_enter()) < 0)
		return err;
	if (c->err)
		return c->err;
	if (!c->shut_sent) {
		ERR_clear_error();
		if (SSL_shutdown(c->ssl) < 0) {
			c->err = fail_errno(c, SSL_ERROR_SSL);
			return c->err;
		}
		c->shut_sent = true;
	}
	if ((err = flush(c)) < 0)
		return err;
	if (!c->fin_sent) {
		if ((err = tn_tcp_shutdown(c->tcp)) < 0)
			return err;
		c->fin_sent = true;
	}
	return 0;
}

/* Drops what TCP received and nobody will read. */
static void drop_rx(struct tn_tls_conn *c)
{
	struct rte_mbuf *m[TN__TLS_RX_BURST];
	uint16_t n, i;

	while (c->rx_i < c->rx_n)
		rte_pktmbuf_free(c->rx[c->rx_i++]);
	while ((n = tn_tcp_recv_burst(c->tcp, m, TN__TLS_RX_BURST)))
		for (i = 0; i < n; i++)
			rte_pktmbuf_free(m[i]);
}

void tn_tls_close(struct tn_tls_conn *c)
{
	if (!c)
		return;
	if (!c->err && !c->shut_sent) {
		ERR_clear_error();
		if (SSL_shutdown(c->ssl) >= 0)
			c->shut_sent = true;
		ERR_clear_error();
	}
	if (!c->err)
		flush_nowait(c);
	drop_rx(c);
	tn_tcp_close(c->tcp);
	conn_free(c);
}

void tn_tls_abort(struct tn_tls_conn *c)
{
	if (!c)
		return;
	tn_tcp_abort(c->tcp);
	conn_free(c);
}

/* ---- introspection ---- */

struct tn_tcp_conn *tn_tls_tcp(const struct tn_tls_conn *c)
{
	return c->tcp;
}

const char *tn_tls_version(const struct tn_tls_conn *c)
{
	return SSL_get_version(c->ssl);
}

const char *tn_tls_cipher(const struct tn_tls_conn *c)
{
	const char *s = SSL_get_cipher_name(c->ssl);

	return s ? s : "";
}

const char *tn_tls_alpn(const struct tn_tls_conn *c)
{
	return c->alpn;
}

bool tn_tls_at_eof(const struct tn_tls_conn *c)
{
	return c->peer_closed && c->st_off == c->st_len;
}
