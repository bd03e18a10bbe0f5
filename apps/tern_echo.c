/* tern-echo: a UDP and TCP echo server and its client on the protocol
 * stack (TCP in echo_tcp.c).
 *
 *     tern-echo [EAL] -- --ip 10.0.0.2/24 --udp 7 [--udp 9000 ...] [--sockperf]
 *                        [--tcp 7 ...]
 *     tern-echo [EAL] -- --ip 10.0.0.1/24 --client 10.0.0.2:7 --udp \
 *                        --size 64 (--count N | --duration S) [--window N]
 *     tern-echo [EAL] -- --ip 10.0.0.2/24 --discard 9
 *     tern-echo [EAL] -- --ip 10.0.0.1/24 --client 10.0.0.2:9 --tcp --send-bytes N
 *     tern-echo [EAL] -- --ip 10.0.0.1/24 --client 10.0.0.2:7 --tcp --bytes N [--seed S]
 *     tern-echo [EAL] -- --ip 10.0.0.2/24 --tcp 443 --tls CERT KEY
 *     tern-echo [EAL] -- --ip 10.0.0.1/24 --client 10.0.0.2:443 --tcp --bytes N --tls \
 *                        [--tls-ca CA] [--tls-name NAME]
 *     tern-echo -l 0,1 [EAL] -- --ip 10.0.0.1/24 --client 10.0.0.2:7 --tcp --all-cores ...
 *
 * Server: on every core, one socket per --udp port on that core's stack
 * and a task per socket sends every datagram back to its sender, byte
 * for byte (RSS or software steering picks a flow's core).  Client (one
 * core; TCP's on every core with --all-cores, each stack connecting from
 * ports steered back to it): datagrams carrying a sequence
 * number and their send time, at most --window in flight; a reply must
 * come back byte-exact within --timeout or the request counts as lost.
 * At the end: round-trip percentiles and the loss.
 *
 * --sockperf: the server speaks sockperf's UDP message format instead
 * (sockperf_msg.h), so the standard sockperf client (ping-pong,
 * under-load, throughput) measures the stack.  Only the messages that
 * ask for an answer get one, the received mbuf turned around in place
 * (tn_udp_recv_burst / tn_udp_send_mbuf): no copy.  Warm-up and other
 * messages are counted and dropped, and so is anything that is not a
 * sockperf message.
 *
 * --udp is PORT for the server and a plain flag (the protocol) for the
 * client, whose port is in --client: main() looks for --client before
 * the command line is parsed to know which.  Likewise --tls: CERT KEY
 * for the server, a flag for the client; main() takes it out of the
 * command line before the parser sees it. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include <tern/dataplane.h>
#include <tern/tcp.h>
#include <tern/udp.h>

#include "app_opts.h"
#include "echo_pattern.h"
#include "echo_tcp.h"
#include "latency_hist.h"
#include "sockperf_msg.h"

#define PROG "tern-echo"
#define MAX_PORTS 8
#define BUF_LEN 65535
#define MAGIC 0x4f484345u /* "ECHO" */
#define MAX_WINDOW 4096
#define SP_BURST 32
#define ECHO_BURST 64 /* the loop's RX burst is 32 */
#define CLI_BURST 64
#define WARMUP_NS (10 * TN_NS_PER_S) /* UDP client: the longest wait for a first reply */

/* The head of every request; the rest is a pattern of seq. */
struct stamp {
	uint32_t magic;
	uint32_t gen; /* this run: replies to an earlier run are ignored */
	uint64_t seq;
	uint64_t tsc;
} __attribute__((packed));

struct echo_sock {
	uint16_t port;
	struct tn_udp_sock *u;
	uint64_t echoed, bytes, send_errors;
	uint64_t quiet, bad; /* --sockperf: no answer wanted; not a message */
};

struct slot {
	uint64_t seq;
	uint64_t deadline; /* tn_now() domain */
	bool active;
};

static struct {
	bool client;
	/* server */
	bool sockperf;
	unsigned nports;
	struct echo_sock socks[MAX_PORTS];
	/* client */
	uint32_t dst;  /* network order */
	uint16_t dport;
	unsigned size, window;
	uint64_t count;
	double duration;
	uint64_t timeout_ns;
	bool count_set, duration_set;
	const char *hist_path; /* --hist: the UDP client's RTT histogram */
	/* TCP: server ports; the client's protocol flag and --reconnect */
	unsigned ntcp;
	uint16_t tcp_ports[MAX_PORTS];
	bool tcp, reconnect;
	/* TCP bulk: --discard server ports; the client's --send-bytes */
	unsigned ndiscard;
	uint16_t discard_ports[MAX_PORTS];
	uint64_t send_bytes;
	uint64_t bytes; /* --bytes: a bulk stream instead of requests */
	uint32_t seed;
	/* --tls: the server's files; the client's flag, trust and name */
	const char *tls_cert, *tls_key, *tls_ca, *tls_name;
	bool tls;
	bool all_cores; /* the TCP client on every lcore, each on its stack */
	uint32_t tcp_buf; /* --tcp-buf: TCP send and receive buffers (0: default) */
} opt = {
	.size = 64,
	.window = 1,
	.timeout_ns = 100 * TN_NS_PER_MS,
	.seed = 1,
};

static const char usage[] =
	"  server:\n"
	"  --udp PORT      echo UDP datagrams on PORT (repeatable, up to 8)\n"
	"  --tcp PORT      echo TCP streams on PORT (repeatable, up to 8)\n"
	"  --discard PORT  TCP discard service on PORT: read and drop everything\n"
	"                  (repeatable, up to 8; the bulk sink for --send-bytes)\n"
	"  --tls CERT KEY  the --tcp ports speak TLS (PEM certificate chain and key)\n"
	"  --sockperf      speak sockperf's UDP format on every port: answer the\n"
	"                  messages sockperf wants answered (sockperf ping-pong,\n"
	"                  under-load, throughput -i ADDR -p PORT), drop the rest\n"
	"  client (--client):\n"
	"  --client A.B.C.D:PORT  send requests to this echo server\n"
	"  --udp           over UDP (the default)\n"
	"  --tcp           over TCP (--size up to 16 MiB, --timeout per reply)\n"
	"  --reconnect     TCP: a new connection per request\n"
	"  --send-bytes N  TCP bulk instead of requests: stream N bytes to a\n"
	"                  --discard server (at most --duration s if given) and\n"
	"                  print the acknowledged rate\n"
	"  --bytes N       TCP: stream N bytes of a seeded pattern (Python's\n"
	"                  random.Random(S).randbytes) on one connection and\n"
	"                  check the echo byte for byte (instead of requests)\n"
	"  --seed S        the pattern's seed, 0..4294967295 (default 1)\n"
	"  --tls           TCP --bytes over TLS\n"
	"  --tls-ca FILE   verify the server's certificate against FILE (PEM);\n"
	"                  without it, any certificate is accepted\n"
	"  --tls-name NAME the server name to send (SNI) and verify (default:\n"
	"                  the --client address)\n"
	"  --all-cores     TCP: run the client on every lcore (each core's stack\n"
	"                  connects from ports whose replies reach it)\n"
	"  --size N        payload bytes, 24..65507 (default 64)\n"
	"  --count N       requests to send\n"
	"  --duration S    seconds to send (default 5 unless --count); UDP: from\n"
	"                  the first reply (given up 10 s without one)\n"
	"  --window N      requests in flight, 1..4096 (default 1)\n"
	"  --timeout MS    a request without a reply by then is lost (default 100)\n"
	"  --hist FILE     UDP: write the RTT histogram (\"ns count\" per bucket)\n"
	"  --tcp-buf N     TCP send and receive buffer per connection, bytes\n"
	"                  (2048..67108864; default 262144), server and client\n"
	"  Both need --ip for port 0.\n";

/* "udp" is taken out for the client (see main). */
static const char *value_opts[] = {
	"client", "size", "count", "duration", "window", "timeout", "hist", "discard", "send-bytes",
	"bytes", "seed", "tls-ca", "tls-name", "tcp-buf", "udp", "tcp", NULL,
};

static int parse_num(const char *name, const char *v, double lo, double hi, double *out)
{
	return tn_app_parse_num(PROG, name, v, lo, hi, out);
}

static int parse_client(const char *v)
{
	char host[32];
	const char *colon = strrchr(v, ':');
	struct in_addr a;
	double port;

	if (!colon || (size_t)(colon - v) >= sizeof(host)) {
		fprintf(stderr, PROG ": --client wants A.B.C.D:PORT, not '%s'\n", v);
		return -EINVAL;
	}
	memcpy(host, v, (size_t)(colon - v));
	host[colon - v] = '\0';
	if (inet_pton(AF_INET, host, &a) != 1 || a.s_addr == 0) {
		fprintf(stderr, PROG ": --client wants A.B.C.D:PORT, not '%s'\n", v);
		return -EINVAL;
	}
	if (parse_num("client port", colon + 1, 1, 65535, &port))
		return -EINVAL;
	opt.dst = a.s_addr;
	opt.dport = (uint16_t)port;
	return 0;
}

static int wrong_mode(const char *name)
{
	fprintf(stderr, PROG ": --%s is a %s option%s\n", name, opt.client ? "server" : "client",
		opt.client ? " (the client's port goes in --client A.B.C.D:PORT)"
			   : " (add --client A.B.C.D:PORT)");
	return -EINVAL;
}

/* --bytes and --send-bytes replace the requests: their options make no
 * sense with them. */
static int bulk_conflict(void)
{
	if (opt.bytes && (opt.count_set || opt.duration_set || opt.reconnect || opt.send_bytes)) {
		fprintf(stderr, PROG ": --bytes excludes --count, --duration, --reconnect and "
				     "--send-bytes\n");
		return -EINVAL;
	}
	if (opt.send_bytes && (opt.reconnect || opt.count_set)) {
		fprintf(stderr, PROG ": --send-bytes excludes --reconnect and --count\n");
		return -EINVAL;
	}
	return 0;
}

static int parse_tcp_opt(const char *name, const char *v)
{
	bool discard = strcmp(name, "discard") == 0;
	unsigned *n = discard ? &opt.ndiscard : &opt.ntcp;
	uint16_t *ports = discard ? opt.discard_ports : opt.tcp_ports;
	double x;

	if (strcmp(name, "reconnect") == 0 || strcmp(name, "send-bytes") == 0) {
		if (!opt.client)
			return wrong_mode(name);
		if (name[0] == 'r') {
			opt.reconnect = true;
		} else if (!opt.tcp) {
			fprintf(stderr, PROG ": --send-bytes needs --tcp\n");
			return -EINVAL;
		} else {
			if (parse_num(name, v, 1, 1e15, &x))
				return -EINVAL;
			opt.send_bytes = (uint64_t)x;
		}
		return bulk_conflict();
	}
	if (opt.client && !discard)
		return 0; /* the flag (prescan saw it) */
	if (opt.client)
		return wrong_mode(name);
	if (parse_num(name, v, 1, 65535, &x))
		return -EINVAL;
	for (unsigned i = 0; i < opt.ntcp + opt.ndiscard; i++)
		if ((i < opt.ntcp ? opt.tcp_ports[i] : opt.discard_ports[i - opt.ntcp]) ==
		    (uint16_t)x) {
			fprintf(stderr, PROG ": tcp port %u given twice\n", (unsigned)x);
			return -EINVAL;
		}
	if (*n == MAX_PORTS) {
		fprintf(stderr, PROG ": at most %d --%s ports\n", MAX_PORTS, name);
		return -EINVAL;
	}
	ports[(*n)++] = (uint16_t)x;
	return 0;
}

static int parse_opt(void *arg, const char *name, const char *v)
{
	double x;

	(void)arg;
	if (strcmp(name, "tcp") == 0 || strcmp(name, "reconnect") == 0 ||
	    strcmp(name, "discard") == 0 || strcmp(name, "send-bytes") == 0)
		return parse_tcp_opt(name, v);
	if (strcmp(name, "tcp-buf") == 0) {
		if (parse_num(name, v, 2048, TN_TCP_BUF_MAX, &x))
			return -EINVAL;
		opt.tcp_buf = (uint32_t)x;
		echo_tcp_set_buf(opt.tcp_buf); /* before any core starts */
		return 0;
	}
	if (strcmp(name, "udp") == 0) {
		if (opt.client)
			return 0; /* the flag */
		if (parse_num(name, v, 1, 65535, &x))
			return -EINVAL;
		for (unsigned i = 0; i < opt.nports; i++)
			if (opt.socks[i].port == (uint16_t)x) {
				fprintf(stderr, PROG ": --udp %u given twice\n", (unsigned)x);
				return -EINVAL;
			}
		if (opt.nports == MAX_PORTS) {
			fprintf(stderr, PROG ": at most %d --udp ports\n", MAX_PORTS);
			return -EINVAL;
		}
		opt.socks[opt.nports++].port = (uint16_t)x;
		return 0;
	}
	if (strcmp(name, "tls-ca") == 0 || strcmp(name, "tls-name") == 0) {
		if (!opt.client)
			return wrong_mode(name);
		if (!opt.tls) {
			fprintf(stderr, PROG ": --%s needs --tls\n", name);
			return -EINVAL;
		}
		if (!*v) {
			fprintf(stderr, PROG ": --%s wants a value\n", name);
			return -EINVAL;
		}
		*(name[4] == 'c' ? &opt.tls_ca : &opt.tls_name) = v;
		return 0;
	}
	if (strcmp(name, "all-cores") == 0) {
		if (!opt.client)
			return wrong_mode(name);
		if (!opt.tcp) {
			fprintf(stderr, PROG ": --all-cores needs --tcp\n");
			return -EINVAL;
		}
		opt.all_cores = true;
		return 0;
	}
	if (strcmp(name, "sockperf") == 0) {
		if (opt.client) {
			fprintf(stderr, PROG ": --sockperf is a server option (the client is "
					     "sockperf itself)\n");
			return -EINVAL;
		}
		opt.sockperf = true;
		return 0;
	}
	if (strcmp(name, "client") && strcmp(name, "size") && strcmp(name, "count") &&
	    strcmp(name, "duration") && strcmp(name, "window") && strcmp(name, "timeout") &&
	    strcmp(name, "hist") && strcmp(name, "bytes") && strcmp(name, "seed"))
		return -ENOENT;
	if (!opt.client)
		return wrong_mode(name);
	if (strcmp(name, "client") == 0)
		return parse_client(v);
	if (strcmp(name, "hist") == 0) {
		if (opt.tcp) {
			fprintf(stderr, PROG ": --hist is a UDP client option\n");
			return -EINVAL;
		}
		opt.hist_path = v;
		return 0;
	}
	if (strcmp(name, "bytes") == 0 || strcmp(name, "seed") == 0) {
		if (!opt.tcp) {
			fprintf(stderr, PROG ": --%s is a TCP client option (add --tcp)\n", name);
			return -EINVAL;
		}
		if (parse_num(name, v, name[0] == 'b' ? 1 : 0, name[0] == 'b' ? 1e15 : 4294967295.0,
			      &x))
			return -EINVAL;
		if (name[0] == 'b')
			opt.bytes = (uint64_t)x;
		else
			opt.seed = (uint32_t)x;
		return bulk_conflict();
	}
	if (strcmp(name, "size") == 0) {
		if (parse_num(name, v, sizeof(struct stamp),
			      opt.tcp ? ECHO_TCP_MAX_SIZE : TN_UDP_MAX_PAYLOAD, &x))
			return -EINVAL;
		opt.size = (unsigned)x;
	} else if (strcmp(name, "count") == 0) {
		if (parse_num(name, v, 1, 1e15, &x))
			return -EINVAL;
		opt.count = (uint64_t)x;
		opt.count_set = true;
	} else if (strcmp(name, "duration") == 0) {
		if (parse_num(name, v, 0.001, 86400, &opt.duration))
			return -EINVAL;
		opt.duration_set = true;
	} else if (strcmp(name, "window") == 0) {
		if (parse_num(name, v, 1, MAX_WINDOW, &x))
			return -EINVAL;
		opt.window = (unsigned)x;
	} else {
		if (parse_num(name, v, 1, 60000, &x))
			return -EINVAL;
		opt.timeout_ns = (uint64_t)(x * TN_NS_PER_MS);
	}
	if (opt.count_set && opt.duration_set) {
		fprintf(stderr, PROG ": --count and --duration exclude each other\n");
		return -EINVAL;
	}
	return bulk_conflict();
}

/* ---- server ---- */

/* Each core's sockets, on its own stack (--udp ports from opt.socks). */
static struct echo_sock core_socks[TN_MAX_CORES][MAX_PORTS];

/* Echoes datagrams a burst at a time: one wakeup per burst, and each
 * received mbuf turned around in place by the stack (tn_udp_reply_burst:
 * the payload neither copied nor summed again). */
static intptr_t echo_task(void *arg)
{
	struct echo_sock *s = arg;
	struct rte_mbuf *pkts[ECHO_BURST];
	struct tn_udp_addr from[ECHO_BURST];

	for (;;) {
		int err = tn_udp_wait_readable(s->u);
		uint64_t bytes = 0;
		uint16_t n, sent;

		if (err == -ECANCELED || err == -EBADF || err == -EPERM)
			break;
		if (err)
			continue; /* an ICMP error: unconnected sockets only count them */
		n = tn_udp_recv_burst(s->u, pkts, from, ECHO_BURST);
		for (uint16_t i = 0; i < n; i++)
			bytes += rte_pktmbuf_pkt_len(pkts[i]);
		sent = tn_udp_reply_burst(s->u, pkts, from, n);
		s->echoed += sent;
		s->send_errors += n - sent;
		/* (The bytes of every datagram we tried: a failed send is
		 * rare, one the stack could not queue or resolve.) */
		s->bytes += bytes;
	}
	return 0;
}

/* One datagram for a --sockperf socket: answered in place, or dropped.
 * The stack hands every socket an mbuf of its own (deep copies for
 * multicast), so writing into it is safe, and its headroom still has
 * room for the headers the reply needs. */
static void sockperf_one(struct echo_sock *s, struct rte_mbuf *m, const struct tn_udp_addr *from)
{
	uint32_t len = rte_pktmbuf_pkt_len(m), off = TN_SP_CLIENT_BYTE;
	uint8_t hb[TN_SP_HDR_LEN];
	const uint8_t *h = len >= TN_SP_HDR_LEN ? rte_pktmbuf_read(m, 0, TN_SP_HDR_LEN, hb) : NULL;
	struct rte_mbuf *seg;

	switch (tn_sp_classify(h, len)) {
	case TN_SP_BAD:
		s->bad++;
		rte_pktmbuf_free(m);
		return;
	case TN_SP_QUIET:
		s->quiet++;
		rte_pktmbuf_free(m);
		return;
	case TN_SP_REPLY:
		break;
	}
	/* A reassembled datagram is a chain: the header may span segments. */
	for (seg = m; off >= seg->data_len; seg = seg->next)
		off -= seg->data_len;
	tn_sp_make_reply(rte_pktmbuf_mtod_offset(seg, uint8_t *, off));
	if (tn_udp_send_mbuf(s->u, m, from->addr, from->port) == 0) {
		s->echoed++;
		s->bytes += len;
	} else {
		s->send_errors++; /* m is taken either way */
	}
}

static intptr_t sockperf_task(void *arg)
{
	struct echo_sock *s = arg;
	struct rte_mbuf *pkts[SP_BURST];
	struct tn_udp_addr from[SP_BURST];

	for (;;) {
		int err = tn_udp_wait_readable(s->u);
		uint16_t n;

		if (err == -ECANCELED || err == -EBADF || err == -EPERM)
			break;
		if (err)
			continue; /* an ICMP error: unconnected sockets only count them */
		n = tn_udp_recv_burst(s->u, pkts, from, SP_BURST);
		for (uint16_t i = 0; i < n; i++)
			sockperf_one(s, pkts[i], &from[i]);
	}
	return 0;
}

static intptr_t server_main(struct tn_stack *st)
{
	struct tn_task *tasks[MAX_PORTS] = {0};
	struct echo_sock *socks = core_socks[tn_core_id(tn_core_self())];
	char where[24] = "";
	intptr_t rc = 0;
	unsigned i;

	if (tn_core_count() > 1)
		snprintf(where, sizeof(where), " (core %u)", tn_core_id(tn_core_self()));
	for (i = 0; i < opt.nports; i++) {
		struct echo_sock *s = &socks[i];
		int err;

		s->port = opt.socks[i].port;
		s->u = tn_udp_open(st);
		if (!s->u) {
			fprintf(stderr, PROG ": out of memory\n");
			rc = -ENOMEM;
			goto out;
		}
		err = tn_udp_bind(s->u, 0, s->port);
		if (err) {
			fprintf(stderr, PROG ": bind udp %u: %s\n", s->port, strerror(-err));
			rc = err;
			goto out;
		}
		tasks[i] = tn_task_spawn(opt.sockperf ? sockperf_task : echo_task, s);
		if (!tasks[i]) {
			rc = -errno;
			fprintf(stderr, PROG ": spawn: %s\n", strerror(errno));
			goto out;
		}
		printf("echo: udp port %u%s%s\n", s->port, opt.sockperf ? " (sockperf)" : "", where);
	}
	if (opt.tls_cert)
		echo_tcp_server_tls(opt.tls_cert, opt.tls_key);
	if (opt.ntcp && (rc = echo_tcp_server_start(st, opt.tcp_ports, opt.ntcp, false)) < 0)
		goto out;
	if (opt.ndiscard &&
	    (rc = echo_tcp_server_start(st, opt.discard_ports, opt.ndiscard, true)) < 0)
		goto out;
	fflush(stdout);
	/* Until SIGINT/SIGTERM cancels us. */
	while (tn_sleep(TN_NS_PER_S) == 0)
		;
	tn_task_uncancel();
out:
	echo_tcp_server_stop();
	for (i = 0; i < opt.nports; i++) {
		struct echo_sock *s = &socks[i];

		if (tasks[i]) {
			tn_task_cancel(tasks[i]);
			tn_await(tn_task_join(tasks[i]), NULL);
		}
		if (s->u) {
			struct tn_udp_stats us;

			tn_udp_stats_get(s->u, &us);
			if (opt.sockperf)
				printf("udp %u: sockperf replied %llu messages %llu bytes, "
				       "no reply wanted %llu, bad %llu, send errors %llu, "
				       "rx dropped %llu%s\n",
				       s->port, (unsigned long long)s->echoed,
				       (unsigned long long)s->bytes, (unsigned long long)s->quiet,
				       (unsigned long long)s->bad, (unsigned long long)s->send_errors,
				       (unsigned long long)us.rx_dropped, where);
			else
				printf("udp %u: echoed %llu datagrams %llu bytes, send errors %llu, "
				       "rx dropped %llu, icmp errors %llu%s\n",
				       s->port, (unsigned long long)s->echoed,
				       (unsigned long long)s->bytes, (unsigned long long)s->send_errors,
				       (unsigned long long)us.rx_dropped,
				       (unsigned long long)us.icmp_errors, where);
			tn_udp_close(s->u);
		}
	}
	fflush(stdout);
	return rc;
}

/* The server on the other cores: core 0's runs as the main task. */
static intptr_t server_core(void *arg)
{
	intptr_t rc = server_main(tn_core_stack(tn_core_self()));

	(void)arg;
	if (rc)
		tn_stop();
	return rc;
}

/* The TCP client on this core's stack.  With --all-cores every core
 * runs one and tags its summary line with its core. */
static int tcp_client_main(struct tn_stack *st)
{
	char where[24] = "";
	struct echo_tcp_client_cfg tc = {
		.dst = opt.dst, .dport = opt.dport, .size = opt.size, .window = opt.window,
		.count = opt.count, .count_set = opt.count_set,
		.duration = opt.duration_set || opt.count_set ? opt.duration : 5,
		.timeout_ns = opt.timeout_ns, .reconnect = opt.reconnect,
		.send_bytes = opt.send_bytes, .bytes = opt.bytes, .seed = opt.seed,
		.tls = opt.tls, .tls_ca = opt.tls_ca, .tls_name = opt.tls_name, .where = where,
	};

	if (opt.all_cores)
		snprintf(where, sizeof(where), " (core %u)", tn_core_id(tn_core_self()));
	if (opt.send_bytes && !opt.duration_set)
		tc.duration = 0; /* no time limit */
	return echo_tcp_client(st, &tc);
}

/* --all-cores: the other cores' clients; core 0 waits for them. */
static unsigned clients_left;
static int client_rc[TN_MAX_CORES];

static intptr_t client_core(void *arg)
{
	unsigned id = tn_core_id(tn_core_self());

	(void)arg;
	client_rc[id] = tcp_client_main(tn_core_stack(tn_core_self()));
	__atomic_sub_fetch(&clients_left, 1, __ATOMIC_RELEASE);
	return 0;
}

static int echo_core_init(struct tn_core *c, void *arg)
{
	struct tn_task *t;

	(void)arg;
	if (tn_core_id(c) == 0 || !tn_core_stack(c))
		return 0;
	if (opt.client && opt.all_cores) {
		__atomic_add_fetch(&clients_left, 1, __ATOMIC_RELAXED);
		t = tn_task_spawn(client_core, NULL);
		if (!t)
			return -1;
		tn_task_detach(t);
		return 0;
	}
	if (opt.client)
		return 0;
	t = tn_task_spawn(server_core, NULL);
	if (!t)
		return -1;
	tn_task_detach(t);
	return 0;
}

/* ---- client ---- */

struct client {
	struct tn_udp_sock *u;
	struct rte_mempool *mp;
	bool zc; /* requests built in mbufs (they fit one), not copied */
	uint8_t *req, *rep;
	uint8_t *pat; /* PAT_LEN bytes: pat[j] = 7 * j (mod 256) */
	struct slot *slots;
	uint32_t gen;
	/* ns = tsc * ns_mult >> 32; slots[seq & slot_mask] (the slots
	 * are a power of two >= the window): no division per reply, which
	 * costs tens of cycles. */
	uint64_t ns_mult;
	uint64_t slot_mask;
	uint64_t next, lo; /* next seq to send; oldest that may be in flight */
	uint64_t sent, recv, lost, bad, late, refused, send_errors;
	/* Received replies kept to carry the next requests (zc). */
	unsigned nspare;
	struct rte_mbuf *spare[CLI_BURST];
	struct tn_hist rtt;
};

/* The payload after the stamp: echo_pattern.h. */
#define PAT_LEN ECHO_PATTERN_LEN(BUF_LEN)

static void fill(const struct client *c, uint8_t *p, unsigned size, uint64_t seq)
{
	echo_pattern_fill(c->pat, p, size, seq, sizeof(struct stamp));
}

/* Marks the next request in flight; returns its stamp (tsc: the burst's
 * send time, one clock read for all of them: they leave together). */
static struct stamp take_seq(struct client *c, uint64_t tsc)
{
	struct stamp sp = {MAGIC, c->gen, c->next, tsc};
	struct slot *sl = &c->slots[c->next & c->slot_mask];

	sl->seq = c->next;
	sl->deadline = tn_now() + opt.timeout_ns;
	sl->active = true;
	c->next++;
	c->sent++;
	return sp;
}

/* Sends k requests: built in mbufs (the spare replies first) and handed
 * over in one burst, or, when a request does not fit one mbuf, copied
 * by tn_udp_send one at a time.  Returns how many requests it made (0:
 * out of mbufs for now), or a send error. */
static int send_some(struct client *c, unsigned k)
{
	struct rte_mbuf *pkts[CLI_BURST];
	uint64_t tsc = rte_rdtsc();
	unsigned i, have;
	uint16_t sent;
	int err;

	if (!c->zc) {
		for (i = 0; i < k; i++) {
			struct stamp sp = take_seq(c, tsc);

			fill(c, c->req, opt.size, sp.seq);
			memcpy(c->req, &sp, sizeof(sp));
			err = tn_udp_send(c->u, c->req, opt.size);
			if (err) {
				c->send_errors++; /* it will time out as lost */
				if (err != -ENOBUFS)
					return err;
			}
		}
		return (int)k;
	}
	if (k > CLI_BURST)
		k = CLI_BURST;
	have = c->nspare < k ? c->nspare : k;
	c->nspare -= have;
	memcpy(pkts, c->spare + c->nspare, have * sizeof(pkts[0]));
	for (i = 0; i < have; i++)
		rte_pktmbuf_reset(pkts[i]);
	if (have < k && rte_pktmbuf_alloc_bulk(c->mp, pkts + have, k - have) != 0) {
		/* Out of mbufs: send what we have; the rest waits a turn. */
		k = have;
	}
	for (i = 0; i < k; i++) {
		uint8_t *p = (uint8_t *)rte_pktmbuf_append(pkts[i], (uint16_t)opt.size);
		struct stamp sp = take_seq(c, tsc);

		memcpy(p, &sp, sizeof(sp));
		fill(c, p, opt.size, sp.seq);
	}
	sent = tn_udp_send_burst(c->u, pkts, (uint16_t)k, 0, 0);
	c->send_errors += k - sent; /* they will time out as lost */
	return (int)k;
}

/* A reply (p: its opt.size bytes): in flight, byte-exact, then its round
 * trip, which ends when the reply's burst arrived (now). */
static void on_reply(struct client *c, const uint8_t *p, uint32_t n, uint64_t now)
{
	struct stamp sp;
	struct slot *sl;

	if (n != opt.size) {
		c->bad++;
		return;
	}
	memcpy(&sp, p, sizeof(sp));
	if (sp.magic != MAGIC || sp.gen != c->gen) {
		c->bad++;
		return;
	}
	sl = &c->slots[sp.seq & c->slot_mask];
	if (sp.seq < c->lo || sp.seq >= c->next || !sl->active || sl->seq != sp.seq) {
		c->late++; /* after its timeout, or a duplicate */
		return;
	}
	if (!echo_pattern_ok(c->pat, p, opt.size, sp.seq, sizeof(sp))) {
		c->bad++;
		return;
	}
	sl->active = false;
	c->recv++;
	tn_hist_record(&c->rtt, (uint64_t)((unsigned __int128)(now - sp.tsc) * c->ns_mult >> 32));
}

/* Takes the queued replies, a burst at a time; keeps their mbufs for
 * the next requests while they fit.  A short burst emptied the queue
 * (nothing arrives while this task runs): no second call to find it
 * empty, ~35 instructions of every round trip with a window of 1. */
static void take_replies(struct client *c)
{
	struct rte_mbuf *pkts[CLI_BURST];
	uint16_t n;

	do {
		n = tn_udp_recv_burst(c->u, pkts, NULL, CLI_BURST);
		uint64_t now = rte_rdtsc();

		for (uint16_t i = 0; i < n; i++) {
			struct rte_mbuf *m = pkts[i];
			uint32_t len = rte_pktmbuf_pkt_len(m);
			const uint8_t *p = len >= opt.size ? rte_pktmbuf_read(m, 0, opt.size, c->rep)
							   : NULL;

			on_reply(c, p ? p : c->rep, p ? len : 0, now);
			if (c->zc && c->nspare < CLI_BURST && m->nb_segs == 1 &&
			    RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1 && m->pool == c->mp)
				c->spare[c->nspare++] = m;
			else
				rte_pktmbuf_free(m);
		}
	} while (n == CLI_BURST);
}

/* Waits for replies under client_loop's timeout scope, its deadline
 * moved first: a store when later, as it is from one request to the
 * next (a scope per wait filed and removed a wheel timer on every
 * round trip); tn_timeout_renew keeps the scope when it cut the wait. */
static int wait_replies(struct client *c, struct tn_timeout *to, uint64_t deadline)
{
	tn_timeout_reschedule(to, deadline);
	return tn_timeout_renew(to, tn_udp_wait_readable(c->u), UINT64_MAX);
}

static int client_loop(struct client *c, struct tn_timeout *to)
{
	uint64_t dur = (uint64_t)(opt.duration * 1e9);
	/* Until the first reply: the duration, but at least WARMUP_NS. */
	uint64_t end = opt.count_set ? UINT64_MAX : tn_now() + RTE_MAX(dur, WARMUP_NS);
	bool stopped = false, timed = false;
	unsigned win;

	for (;;) {
		struct slot *old;
		uint64_t k;
		int err;

		/* Retire the oldest: answered, or past its deadline. */
		while (c->lo < c->next) {
			old = &c->slots[c->lo & c->slot_mask];
			if (old->active && tn_now() < old->deadline)
				break;
			if (old->active) {
				old->active = false;
				c->lost++;
			}
			c->lo++;
		}
		/* --duration counts from the first reply: the first request
		 * waits for the link and ARP, which on a loaded machine can
		 * take longer than a short run (sockperf warms up likewise).
		 * No reply within WARMUP_NS: it ends there, all lost. */
		if (!timed && c->recv && !opt.count_set) {
			timed = true;
			end = tn_now() + dur;
		}
		stopped = opt.count_set ? c->next >= opt.count : tn_now() >= end;
		/* One request in flight until the first reply: the first
		 * one waits for ARP, which holds only a few frames meanwhile
		 * (the rest of a full window would be lost). */
		win = c->recv ? opt.window : 1;
		while (!stopped && c->next - c->lo < win && (!opt.count_set || c->next < opt.count)) {
			k = win - (c->next - c->lo);
			if (opt.count_set && k > opt.count - c->next)
				k = opt.count - c->next;
			err = send_some(c, k > CLI_BURST ? CLI_BURST : (unsigned)k);
			if (err < 0) {
				fprintf(stderr, PROG ": send: %s\n", strerror(-err));
				return err;
			}
			if (err == 0)
				break; /* no mbuf: replies will free some */
		}
		if (c->lo == c->next) {
			if (stopped || (opt.count_set && c->next >= opt.count))
				return 0; /* all answered or lost, nothing more to send */
			/* Out of mbufs with nothing in flight: try again soon
			 * (the scope's deadline, an old request's, moved out
			 * of the way). */
			tn_timeout_reschedule(to, UINT64_MAX);
			if ((err = tn_sleep(10 * TN_NS_PER_US)) < 0)
				return err;
			continue;
		}
		old = &c->slots[c->lo & c->slot_mask];
		err = wait_replies(c, to, old->deadline);
		if (err == -ETIMEDOUT)
			continue;
		if (err == -ECONNREFUSED) {
			c->refused++; /* ICMP port unreachable; the request is lost */
			continue;
		}
		if (err == -EHOSTUNREACH || err == -ENETUNREACH || err == -EMSGSIZE ||
		    err == -ENOPROTOOPT || err == -EPROTO)
			continue;
		if (err)
			return err; /* -ECANCELED: a signal */
		take_replies(c);
	}
}

/* The requests and their replies, under one timeout scope (see
 * wait_replies). */
static int client_run(struct client *c)
{
	struct tn_timeout to;

	tn_timeout_enter(&to, UINT64_MAX);
	return tn_timeout_exit(&to, client_loop(c, &to));
}

static intptr_t client_main(struct tn_stack *st)
{
	struct client c = {0};
	uint64_t t0;
	int err;

	c.req = malloc(BUF_LEN);
	c.rep = malloc(BUF_LEN);
	c.pat = malloc(PAT_LEN);
	c.slot_mask = rte_align64pow2(opt.window) - 1;
	c.slots = calloc(c.slot_mask + 1, sizeof(*c.slots));
	c.u = tn_udp_open(st);
	if (!c.req || !c.rep || !c.pat || !c.slots || !c.u) {
		fprintf(stderr, PROG ": out of memory\n");
		err = -ENOMEM;
		goto out;
	}
	/* Connected, so ICMP errors about our requests reach us. */
	err = tn_udp_connect(c.u, opt.dst, opt.dport);
	if (err) {
		fprintf(stderr, PROG ": connect: %s\n", strerror(-err));
		goto out;
	}
	echo_pattern_init(c.pat, PAT_LEN);
	c.mp = tn_core_mempool(tn_core_self());
	c.zc = c.mp && RTE_PKTMBUF_HEADROOM + opt.size <= rte_pktmbuf_data_room_size(c.mp);
	c.gen = (uint32_t)rte_rdtsc();
	c.ns_mult = (uint64_t)(((unsigned __int128)TN_NS_PER_S << 32) / rte_get_tsc_hz());
	if (!opt.count_set && !opt.duration_set)
		opt.duration = 5;
	t0 = tn_now();
	err = client_run(&c);
	if (err == -ECANCELED)
		err = 0; /* SIGINT/SIGTERM: report what we have */
	double secs = (double)(tn_now() - t0) / 1e9;
	/* Requests still in flight when a signal stopped us count as lost. */
	c.lost += c.sent - c.recv - c.lost;
	/* rate: replies (good requests) per second, the throughput. */
	printf("summary: sent %llu recv %llu lost %llu bad %llu late %llu refused %llu "
	       "in %.3f s rate=%.0f/s\n",
	       (unsigned long long)c.sent, (unsigned long long)c.recv,
	       (unsigned long long)c.lost, (unsigned long long)c.bad,
	       (unsigned long long)c.late, (unsigned long long)c.refused, secs,
	       secs > 0 ? (double)c.recv / secs : 0.0);
	printf("rtt_ns p50=%llu p99=%llu p999=%llu max=%llu\n",
	       (unsigned long long)tn_hist_quantile(&c.rtt, 0.5),
	       (unsigned long long)tn_hist_quantile(&c.rtt, 0.99),
	       (unsigned long long)tn_hist_quantile(&c.rtt, 0.999),
	       (unsigned long long)c.rtt.max);
	printf("lost %llu\n", (unsigned long long)c.lost);
	fflush(stdout);
	if (opt.hist_path) {
		FILE *f = fopen(opt.hist_path, "w");
		int bad = !f || tn_hist_write(&c.rtt, f) < 0;

		if ((f && fclose(f) != 0) || bad) {
			fprintf(stderr, PROG ": --hist %s: %s\n", opt.hist_path, strerror(errno));
			err = err ? err : -EIO;
		}
	}
out:
	rte_pktmbuf_free_bulk(c.spare, c.nspare);
	if (c.u)
		tn_udp_close(c.u);
	free(c.req);
	free(c.rep);
	free(c.pat);
	free(c.slots);
	return err;
}

static intptr_t echo_main(void *arg)
{
	struct tn_stack *st = tn_core_stack(tn_core_self());

	(void)arg;
	if (!st) {
		fprintf(stderr, PROG ": no protocol stack on this core (give port 0 --ip "
				"A.B.C.D/N and an EAL port, e.g. --vdev=net_tap0)\n");
		return -ENODEV;
	}
	if (opt.client && opt.tcp) {
		int rc = tcp_client_main(st);

		/* The other cores' clients end on their own (a count or the
		 * duration): wait for them before the process ends.  A signal
		 * cancels every core's tasks, theirs too. */
		while (__atomic_load_n(&clients_left, __ATOMIC_ACQUIRE))
			if (tn_sleep(TN_NS_PER_MS) == -ECANCELED)
				return rc;
		for (unsigned i = 1; i < tn_core_count() && !rc; i++)
			rc = client_rc[i];
		return rc;
	}
	return opt.client ? client_main(st) : server_main(st);
}

/* Looks at the Tern part of the command line (after "--") for whole
 * words: --client decides what --udp means before parsing starts, and
 * the required options are checked here (parse_opt sees one at a time).
 * 0, 1 for --help, or -EINVAL after a message. */
static int prescan(int argc, char **argv)
{
	struct tn_app_scan s;
	bool udp, tcp, client;

	tn_app_scan(&s, argc, argv);
	udp = tn_app_has(&s, "udp");
	tcp = tn_app_has(&s, "tcp") || tn_app_has(&s, "discard");
	client = tn_app_has(&s, "client");
	opt.client = client;
	opt.tcp = client && tcp;
	if (s.help)
		return 1;
	if (tn_app_need_ip(&s, PROG) < 0)
		return -EINVAL;
	if (!udp && !tcp) {
		fprintf(stderr, PROG ": needs --udp or --tcp %s\n",
			client ? "(the protocol)" : "PORT (or --client A.B.C.D:PORT)");
		return -EINVAL;
	}
	return 0;
}

/* Takes --tls out of the Tern part of the command line (after "--"):
 * the server's --tls CERT KEY (two values, which the shared parser
 * cannot take), the client's --tls flag; and checks what it needs.  0,
 * or -EINVAL after a message. */
static int take_tls(int *argc, char **argv)
{
	bool tern = false, bytes = false, tcp = false;
	int i, j;

	for (i = 1, j = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (tern) {
			bytes |= strcmp(a, "--bytes") == 0 || strncmp(a, "--bytes=", 8) == 0;
			tcp |= strcmp(a, "--tcp") == 0 || strncmp(a, "--tcp=", 6) == 0;
		}
		if (!tern || strcmp(a, "--tls") != 0) {
			tern |= strcmp(a, "--") == 0;
			argv[j++] = argv[i];
			continue;
		}
		opt.tls = true;
		if (opt.client)
			continue;
		if (i + 2 >= *argc ||
		    strncmp(argv[i + 1], "--", 2) == 0 || strncmp(argv[i + 2], "--", 2) == 0) {
			fprintf(stderr, PROG ": --tls wants CERT KEY (PEM files)\n");
			return -EINVAL;
		}
		opt.tls_cert = argv[++i];
		opt.tls_key = argv[++i];
		if (access(opt.tls_cert, R_OK) != 0 || access(opt.tls_key, R_OK) != 0) {
			fprintf(stderr, PROG ": --tls %s %s: %s\n", opt.tls_cert, opt.tls_key,
				strerror(errno));
			return -EINVAL;
		}
	}
	*argc = j;
	argv[j] = NULL;
	if (opt.tls && opt.client && !bytes) {
		fprintf(stderr, PROG ": the client's --tls needs --tcp --bytes N\n");
		return -EINVAL;
	}
	if (opt.tls && !opt.client && !tcp) {
		fprintf(stderr, PROG ": --tls CERT KEY needs --tcp PORT\n");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct tn_app app = {
		.name = PROG,
		.usage = usage,
		.parse_opt = parse_opt,
		.value_opts = (const char *const *)value_opts,
		.core_init = echo_core_init,
		.main = echo_main,
	};

	if (prescan(argc, argv) < 0 || take_tls(&argc, argv) < 0)
		return 2;
	if (opt.client) {
		/* The client's --udp and --tcp are flags: drop them from the
		 * value options (they are last). */
		for (unsigned i = 0; value_opts[i]; i++)
			if (strcmp(value_opts[i], "udp") == 0)
				value_opts[i] = NULL;
	}
	return tn_main_app(argc, argv, &app);
}
