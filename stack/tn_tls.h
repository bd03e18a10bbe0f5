/* TLS internals shared by tls_ctx.c (contexts, the BIO methods) and
 * tls.c (connections and their await points); not installed. */
#ifndef TN_TLS_INTERNAL_H
#define TN_TLS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "tern/tls.h"

#pragma GCC visibility push(hidden)

struct rte_mbuf;

/* TCP mbufs taken per tn_tcp_recv_burst while OpenSSL reads. */
#define TN__TLS_RX_BURST 32

struct tn_tls_ctx {
	SSL_CTX *ssl;
	BIO_METHOD *bio_in, *bio_out; /* per context: stack/ keeps no globals */
	unsigned refs;                /* the user's + one per connection */
	bool server, verify;
	unsigned char *alpn;          /* wire format (RFC 7301 3.1), or NULL */
	unsigned alpn_len;
};

/* Bridging (see tls.c's head comment for why): OpenSSL reads and writes
 * through two BIOs that never await.  The input BIO hands OpenSSL the
 * bytes of the TCP mbufs held in rx[] (and frees each one once read),
 * or asks it to retry once they are used up; the output BIO appends to
 * out[].  The tn_tls_* calls do all the awaiting: they refill rx[] from
 * TCP and flush out[] into TCP between OpenSSL calls. */
struct tn_tls_conn {
	SSL *ssl;
	struct tn_tls_ctx *ctx;
	struct tn_tcp_conn *tcp;
	int err;          /* a TLS failure (sticky), or 0 */
	bool rx_eof;      /* TCP's end of stream reached (FIN, all read) */
	bool peer_closed; /* the peer's close_notify was read */
	bool shut_sent;   /* our close_notify is in out[] or sent */
	bool fin_sent;
	uint16_t rx_i, rx_n; /* rx[rx_i .. rx_n) hold bytes to read */
	struct rte_mbuf *rx[TN__TLS_RX_BURST];
	uint8_t *out;     /* ciphertext out[out_off .. out_len) not yet in TCP */
	size_t out_off, out_len, out_cap;
	uint8_t *stash;   /* plaintext an interrupted read_exactly gave back */
	size_t st_off, st_len, st_cap;
	char alpn[32];
};

/* Makes the two BIOs of c for ctx and gives them to c->ssl: 0 or -ENOMEM. */
int tn__tls_bio_attach(struct tn_tls_conn *c);
void tn__tls_ctx_unref(struct tn_tls_ctx *ctx);

#pragma GCC visibility pop
#endif
