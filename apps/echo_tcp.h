/* tern-echo's TCP side (apps/echo_tcp.c): the echo server and the
 * client, on the protocol stack's TCP streams (tern/tcp.h). */
#ifndef TN_ECHO_TCP_H
#define TN_ECHO_TCP_H

#include <stdbool.h>
#include <stdint.h>

struct tn_stack;

#define ECHO_TCP_MAX_SIZE (16u << 20) /* client request size limit */

/* TCP send and receive buffers of the connections the server accepts
 * and the client opens from now on, bytes (0: the stack's default). */
void echo_tcp_set_buf(uint32_t bytes);
/* Starts one listener task per port (the caller's core); each accepted
 * connection gets a task that echoes every byte until the peer closes,
 * or with discard drops them.  Called at most once for echo ports and
 * once for discard ports.  0 or -errno (after a message). */
int echo_tcp_server_start(struct tn_stack *st, const uint16_t *ports, unsigned n, bool discard);
/* --tls: the echo ports (not the discard ones) started after this call
 * speak TLS with this certificate chain and key (PEM files); every core
 * makes its own context from them. */
void echo_tcp_server_tls(const char *cert, const char *key);
/* Stops them (listeners closed, connections reset) and prints the
 * counters: "tcp PORT: accepted N connections, echoed B bytes". */
void echo_tcp_server_stop(void);

struct echo_tcp_client_cfg {
	uint32_t dst;            /* network order */
	uint16_t dport;
	unsigned size, window;   /* bytes per request; requests in flight */
	uint64_t count;          /* requests (count_set), else for duration s */
	bool count_set;
	double duration;
	uint64_t timeout_ns;     /* connect, and the wait for each reply */
	bool reconnect;          /* a new connection per request */
	uint64_t send_bytes;     /* bulk: stream this many bytes instead (0: no) */
	uint64_t bytes;          /* non-zero: one connection streams this many */
	uint32_t seed;           /* bytes of mt_stream.h's stream of this seed */
	bool tls;                /* --bytes over TLS (tern/tls.h): "tls: VERSION CIPHER" */
	const char *tls_ca;      /* verify the server against it (NULL: don't) */
	const char *tls_name;    /* SNI and the name to verify (NULL: the address) */
	const char *where;       /* appended to the summary line (NULL: "") */
};

/* Runs the client; prints the UDP client's summary and rtt_ns lines and
 * a throughput line.  With send_bytes one "tcp-send:" line (bytes
 * acknowledged, seconds, Gbit/s, MSS, retransmits).  With bytes: "tcp
 * bulk: sent N bytes, received N verified in S s, R MB/s each way" and
 * the connection's counters ("tcp info: retransmits ...").  0 or -errno. */
int echo_tcp_client(struct tn_stack *st, const struct echo_tcp_client_cfg *cfg);

#endif
