/* TLS over Tern's TCP streams (OpenSSL): asyncio's ssl streams in C.
 *
 * A struct tn_tls_conn wraps an established struct tn_tcp_conn (tcp.h)
 * and speaks TLS 1.2 or 1.3 over it; its calls mirror tcp.h's: 0 or a
 * negative errno (reads return a byte count), awaits that take a
 * pending cancellation first (-ECANCELED), work inside
 * tn_timeout_enter/exit (-ETIMEDOUT) and return -EPERM outside a task.
 * A connection belongs to the TCP connection's core.
 *
 * What an interrupted call (-ECANCELED, -ETIMEDOUT) guarantees:
 * - tn_tls_read, tn_tls_read_exactly, tn_tls_read_until: nothing was
 *   consumed; the next read returns the same bytes.  (OpenSSL only ever
 *   sees the bytes TCP already delivered, so its state is never
 *   mid-await.)
 * - tn_tls_write: a prefix of buf (possibly all, possibly none) may have
 *   been committed to the TLS stream; committed bytes are never lost or
 *   repeated: they go out before anything written later (on the next
 *   write, shutdown or close).  As with tn_tcp_write's long writes.
 * - tn_tls_accept, tn_tls_connect: the handshake is abandoned; the TCP
 *   connection stays the caller's, in no state to reuse (abort it).
 * In every case the TLS connection stays usable.
 *
 * Errors besides TCP's (tcp.h), which pass through unchanged: -EPROTO
 * (a TLS protocol failure: a bad record, a fatal alert from the peer, no
 * shared version or cipher), -EKEYREJECTED (our side's verification of
 * the peer's certificate failed: untrusted, expired, wrong name),
 * -ECONNRESET also when the TCP stream ended without the peer's
 * close_notify (a truncation: RFC 8446 6.1), -EPIPE (writing after
 * tn_tls_shutdown), -ENOMEM.  After a TLS failure
 * (-EPROTO, -EKEYREJECTED, -ENOMEM, -ENOBUFS) every later call returns
 * the same error.  On a failure OpenSSL's reasons are left in its
 * per-thread error queue (ERR_print_errors_fp prints them for logs).
 *
 * Memory: unlike the rest of stack/, TLS allocates: OpenSSL allocates
 * internally (each connection's record buffers, about 35 KiB, the
 * handshake's objects, session tickets), and each connection has an
 * output buffer that grows once to 32 KiB when it writes a full record.
 * Received bytes go from the TCP mbufs into OpenSSL's record buffer in
 * one copy (as a socket read would), with no buffer of ours between.
 *
 * Contexts and cores: a struct tn_tls_ctx is an SSL_CTX (certificate,
 * key, trust store, settings) and belongs to the core that made it (its
 * reference count is not atomic).  SSL_CTX has locks of its own
 * (reference counts, session cache) that every handshake takes; to keep
 * cores from sharing them, a multi-core server creates one context per
 * core, each core calling tn_tls_ctx_new_server with the same files at
 * start-up (apps/echo_tcp.c does) and using only its own.  Server contexts keep no session cache;
 * TLS 1.3 tickets are stateless but encrypted with a per-context key,
 * so a client resumes only on the core that issued its ticket (another
 * core makes a full handshake).  Client contexts do not resume
 * sessions. */
#ifndef TERN_TLS_H
#define TERN_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tn_tcp_conn;
struct tn_tls_ctx;
struct tn_tls_conn;

/* ---- contexts ---- */

/* A server context with the certificate chain (PEM: the leaf first)
 * and its private key (PEM).  TLS 1.2 and 1.3, OpenSSL's default
 * ciphers.  NULL with errno: ENOENT (a file is missing), EINVAL (not a
 * PEM certificate or key), EKEYREJECTED (the key does not match the
 * certificate), ENOMEM. */
struct tn_tls_ctx *tn_tls_ctx_new_server(const char *cert_path, const char *key_path);
/* A client context.  verify: check the server's certificate against
 * ca_path (a PEM file of trusted certificates, or a directory hashed
 * by `openssl rehash`; NULL: the system's store) and its name against
 * tn_tls_connect's hostname.  verify false accepts any certificate (for
 * tests only).  NULL with errno: ENOENT, EINVAL, ENOMEM. */
struct tn_tls_ctx *tn_tls_ctx_new_client(const char *ca_path, bool verify);
/* Offers (client) or accepts (server) ALPN protocols (RFC 7301),
 * given in preference order as NUL-terminated names, e.g. {"h2",
 * "http/1.1"}.  A server with a list picks the first of its own that
 * the client offers and goes on without ALPN when none matches.  0,
 * -EINVAL, -ENOMEM. */
int tn_tls_ctx_set_alpn(struct tn_tls_ctx *ctx, const char *const *protos, unsigned n);
/* Connections made from ctx hold references to it, so it may be freed
 * while they are open.  NULL is ignored. */
void tn_tls_ctx_free(struct tn_tls_ctx *ctx);

/* ---- connections ---- */

/* Awaits the server side of a handshake over tcp (established, nothing
 * read yet).  On success *c owns tcp: tn_tls_close/abort close it.  On
 * an error tcp stays the caller's (an alert was sent when the handshake
 * failed, so abort or close it).  -EPROTO, -ECONNRESET, TCP's errors,
 * -ECANCELED, -ETIMEDOUT, -EPERM, -ENOMEM. */
int tn_tls_accept(struct tn_tls_ctx *ctx, struct tn_tcp_conn *tcp, struct tn_tls_conn **c);
/* The client side.  hostname (may be NULL): sent as SNI (unless it is
 * an IPv4 literal, RFC 6066 3) and, when ctx verifies, the name (or
 * address) the certificate must carry; a verifying context without a
 * hostname checks the chain only.  Errors as tn_tls_accept, and
 * -EKEYREJECTED. */
int tn_tls_connect(struct tn_tls_ctx *ctx, struct tn_tcp_conn *tcp, const char *hostname,
		   struct tn_tls_conn **c);

/* Awaits at least one byte of application data and copies up to len;
 * returns the count, 0 at the end of the stream (the peer's
 * close_notify), or -errno. */
ssize_t tn_tls_read(struct tn_tls_conn *c, void *buf, size_t len);
/* Awaits exactly len bytes.  Returns len, the count copied when the
 * stream ended first (0 .. len-1), or -errno; when interrupted nothing
 * was consumed (bytes already decrypted are kept for the next read). */
ssize_t tn_tls_read_exactly(struct tn_tls_conn *c, void *buf, size_t len);
/* Awaits the delimiter (dlen 1..16 bytes) and copies everything up to
 * and including it.  Returns that length; -EMSGSIZE when len bytes
 * arrive without one (nothing consumed); at the end of the stream
 * without a delimiter, what is left (possibly 0); or -errno; when
 * interrupted nothing was consumed.  Decrypted bytes wait in a buffer
 * of the connection (up to len plus a record), which later reads take
 * first. */
ssize_t tn_tls_read_until(struct tn_tls_conn *c, void *buf, size_t len, const void *delim,
			  size_t dlen);
/* Encrypts len bytes (records of up to 16 KiB) and queues them on the
 * TCP connection, awaiting room there (backpressure).  0 or -errno. */
int tn_tls_write(struct tn_tls_conn *c, const void *buf, size_t len);
/* Sends close_notify (after anything written before), then the TCP FIN
 * (tn_tcp_shutdown): we will write no more.  Reading still works until
 * the peer's close_notify.  Awaits room in the send buffer.  0 or
 * -errno; a second call returns 0. */
int tn_tls_shutdown(struct tn_tls_conn *c);
/* Gives the connection up: sends close_notify if tn_tls_shutdown did
 * not (when it fits in the TCP send buffer without waiting, as what
 * was written but not yet queued does), drops bytes received and not
 * read (usually the peer's own close_notify, so unlike tn_tcp_close no
 * RST answers them), then tn_tcp_close.  Never awaits; c and its TCP
 * connection are invalid afterwards.  Tasks waiting on c get -EBADF. */
void tn_tls_close(struct tn_tls_conn *c);
/* Resets the TCP connection (tn_tcp_abort) and frees c at once. */
void tn_tls_abort(struct tn_tls_conn *c);

/* ---- introspection (never await) ---- */

/* The TCP connection underneath (for tn_tcp_info, peer addresses). */
struct tn_tcp_conn *tn_tls_tcp(const struct tn_tls_conn *c);
/* For logs: the negotiated version ("TLSv1.3"), cipher suite
 * ("TLS_AES_256_GCM_SHA384") and ALPN protocol ("" if none); valid
 * while c is. */
const char *tn_tls_version(const struct tn_tls_conn *c);
const char *tn_tls_cipher(const struct tn_tls_conn *c);
const char *tn_tls_alpn(const struct tn_tls_conn *c);
/* Whether the peer's close_notify has been read (tn_tls_read returned 0). */
bool tn_tls_at_eof(const struct tn_tls_conn *c);

#ifdef __cplusplus
}
#endif
#endif
