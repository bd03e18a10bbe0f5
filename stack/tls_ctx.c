/* TLS contexts (tern/tls.h) and the two BIO methods that connect a
 * connection's SSL object to its buffers (tn_tls.h).  Nothing here
 * awaits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <rte_mbuf.h>

#include "tn_tls.h"

/* ---- the BIOs ---- */

/* OpenSSL reads: copy from the held TCP mbufs, freeing each one used
 * up; none left: "retry" (SSL_ERROR_WANT_READ), or 0 at TCP's EOF. */
static int bio_in_read(BIO *b, char *out, int len)
{
	struct tn_tls_conn *c = BIO_get_data(b);
	int n = 0;

	BIO_clear_retry_flags(b);
	while (n < len && c->rx_i < c->rx_n) {
		struct rte_mbuf *m = c->rx[c->rx_i];
		uint32_t k = m->data_len < (uint32_t)(len - n) ? m->data_len : (uint32_t)(len - n);

		memcpy(out + n, rte_pktmbuf_mtod(m, const void *), k);
		rte_pktmbuf_adj(m, (uint16_t)k);
		n += (int)k;
		if (!m->data_len) {
			rte_pktmbuf_free(m);
			c->rx[c->rx_i++] = NULL;
		}
	}
	if (n || c->rx_eof)
		return n;
	BIO_set_retry_read(b);
	return -1;
}

/* OpenSSL writes: append to out[], compacting it first; it grows (once,
 * in practice) to the largest flight between two flushes. */
static int bio_out_write(BIO *b, const char *in, int len)
{
	struct tn_tls_conn *c = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + (size_t)len > c->out_cap && c->out_off) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + (size_t)len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		uint8_t *p;

		while (cap < c->out_len + (size_t)len)
			cap *= 2;
		if (!(p = realloc(c->out, cap)))
			return -1; /* not a retry: the SSL call fails (-ENOMEM) */
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, in, (size_t)len);
	c->out_len += (size_t)len;
	return len;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct tn_tls_conn *c = BIO_get_data(b);

	switch (cmd) {
	case BIO_CTRL_FLUSH: /* the tn_tls_* calls flush, between SSL calls */
		return 1;
	case BIO_CTRL_WPENDING:
		return (long)(c->out_len - c->out_off);
	case BIO_CTRL_EOF:
		return c->rx_eof && c->rx_i == c->rx_n;
	default:
		return 0;
	}
}

int tn__tls_bio_attach(struct tn_tls_conn *c)
{
	BIO *in = BIO_new(c->ctx->bio_in), *out = BIO_new(c->ctx->bio_out);

	if (!in || !out) {
		BIO_free(in);
		BIO_free(out);
		return -ENOMEM;
	}
	BIO_set_data(in, c);
	BIO_set_data(out, c);
	BIO_set_init(in, 1);
	BIO_set_init(out, 1);
	SSL_set_bio(c->ssl, in, out);
	return 0;
}

/* ---- contexts ---- */

static struct tn_tls_ctx *ctx_new(bool server)
{
	struct tn_tls_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->server = server;
	ctx->refs = 1;
	ctx->ssl = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	/* A plain source/sink type, not BIO_get_new_index(): that hands out
	 * about 127 indices per process, and a context is not forever. */
	ctx->bio_in = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "tern-tcp-in");
	ctx->bio_out = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "tern-tcp-out");
	if (!ctx->ssl || !ctx->bio_in || !ctx->bio_out) {
		tn__tls_ctx_unref(ctx);
		errno = ENOMEM;
		return NULL;
	}
	BIO_meth_set_read(ctx->bio_in, bio_in_read);
	BIO_meth_set_ctrl(ctx->bio_in, bio_ctrl);
	BIO_meth_set_write(ctx->bio_out, bio_out_write);
	BIO_meth_set_ctrl(ctx->bio_out, bio_ctrl);
	SSL_CTX_set_min_proto_version(ctx->ssl, TLS1_2_VERSION);
	/* No renegotiation: a TLS 1.2 peer cannot make SSL_write read. */
	SSL_CTX_set_options(ctx->ssl, SSL_OP_NO_RENEGOTIATION);
	/* Let OpenSSL take whole mbufs rather than a header at a time. */
	SSL_CTX_set_read_ahead(ctx->ssl, 1);
	/* No session cache (its lock, its memory); see tls.h. */
	SSL_CTX_set_session_cache_mode(ctx->ssl, SSL_SESS_CACHE_OFF);
	return ctx;
}

static int readable(const char *path)
{
	if (!path || !*path)
		return EINVAL;
	return access(path, R_OK) == 0 ? 0 : errno;
}

struct tn_tls_ctx *tn_tls_ctx_new_server(const char *cert_path, const char *key_path)
{
	struct tn_tls_ctx *ctx;
	int e;

	if ((e = readable(cert_path)) || (e = readable(key_path))) {
		errno = e;
		return NULL;
	}
	if (!(ctx = ctx_new(true)))
		return NULL;
	e = 0;
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx->ssl, cert_path) != 1)
		e = EINVAL;
	else if (SSL_CTX_use_PrivateKey_file(ctx->ssl, key_path, SSL_FILETYPE_PEM) != 1)
		/* (OpenSSL compares the key with the certificate here) */
		e = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH
			    ? EKEYREJECTED : EINVAL;
	else if (SSL_CTX_check_private_key(ctx->ssl) != 1)
		e = EKEYREJECTED;
	if (e) {
		tn__tls_ctx_unref(ctx);
		errno = e;
		return NULL;
	}
	return ctx;
}

struct tn_tls_ctx *tn_tls_ctx_new_client(const char *ca_path, bool verify)
{
	struct tn_tls_ctx *ctx;
	struct stat st;
	int ok, e;

	if (ca_path && (e = readable(ca_path))) {
		errno = e;
		return NULL;
	}
	if (!(ctx = ctx_new(false)))
		return NULL;
	ctx->verify = verify;
	if (!ca_path)
		ok = SSL_CTX_set_default_verify_paths(ctx->ssl);
	else if (stat(ca_path, &st) == 0 && S_ISDIR(st.st_mode))
		ok = SSL_CTX_load_verify_locations(ctx->ssl, NULL, ca_path);
	else
		ok = SSL_CTX_load_verify_locations(ctx->ssl, ca_path, NULL);
	if (ok != 1) {
		tn__tls_ctx_unref(ctx);
		errno = EINVAL;
		return NULL;
	}
	SSL_CTX_set_verify(ctx->ssl, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	return ctx;
}

/* The server's ALPN choice: its own order first (RFC 7301 3.2 leaves
 * it to the server); no match: go on without ALPN. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned inlen, void *arg)
{
	struct tn_tls_ctx *ctx = arg;
	unsigned char *o;

	if (SSL_select_next_proto(&o, outlen, ctx->alpn, ctx->alpn_len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = o;
	return SSL_TLSEXT_ERR_OK;
}

int tn_tls_ctx_set_alpn(struct tn_tls_ctx *ctx, const char *const *protos, unsigned n)
{
	size_t len = 0, k;
	unsigned char *w;
	unsigned i;

	if (!n)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		k = protos[i] ? strlen(protos[i]) : 0;
		if (!k || k > 255)
			return -EINVAL;
		len += 1 + k;
	}
	if (len > 65535 || !(w = malloc(len)))
		return len > 65535 ? -EINVAL : -ENOMEM;
	for (i = 0, len = 0; i < n; i++) {
		k = strlen(protos[i]);
		w[len++] = (unsigned char)k;
		memcpy(w + len, protos[i], k);
		len += k;
	}
	free(ctx->alpn);
	ctx->alpn = w;
	ctx->alpn_len = (unsigned)len;
	if (ctx->server)
		SSL_CTX_set_alpn_select_cb(ctx->ssl, alpn_select, ctx);
	else if (SSL_CTX_set_alpn_protos(ctx->ssl, w, (unsigned)len) != 0)
		return -ENOMEM; /* (0 is success here) */
	return 0;
}

void tn__tls_ctx_unref(struct tn_tls_ctx *ctx)
{
	if (--ctx->refs)
		return;
	SSL_CTX_free(ctx->ssl);
	BIO_meth_free(ctx->bio_in);
	BIO_meth_free(ctx->bio_out);
	free(ctx->alpn);
	free(ctx);
}

void tn_tls_ctx_free(struct tn_tls_ctx *ctx)
{
	if (ctx)
		tn__tls_ctx_unref(ctx);
}
