/* tern-httpd: an HTTP/1.1 and WebSocket server on Tern's TCP streams.
 *
 *     tern-httpd [EAL] -- --ip 10.0.0.1/24 [--port 80] [--root DIR] \
 *                         [--tls CERT KEY [--tls-port N]] \
 *                         [--max-header N] [--max-body N] [--max-conns N] \
 *                         [--idle-timeout S] [--request-timeout S]
 *
 * Every polling core has its own stack (--ip on several lcores) and its
 * own listeners, and serves the flows RSS gives it: a task per
 * connection runs http_conn_serve (http.h) over one of the two
 * transports below.  The routes are http_routes.c's.  SIGINT/SIGTERM:
 * the listeners close, each core prints its counters, the connections
 * are reset.
 *
 * --tls CERT KEY (tern/tls.h): --port speaks HTTPS, or with --tls-port N
 * port N does and --port stays plain HTTP.  Each core makes its own
 * context from the files (tls.h: contexts are per core), advertising
 * ALPN "http/1.1".  The handshake runs in the connection's task, bounded
 * by --request-timeout; one that fails (a plain-HTTP client, a client
 * that does not trust us, a timeout) is counted and the connection
 * reset.  A WebSocket session's reader and writer tasks share the TLS
 * connection, which tls.h allows. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tern/coro.h>
#include <tern/dataplane.h>
#include <tern/tcp.h>
#include <tern/tls.h>

#include "app_opts.h"
#include "http.h"

#define PROG "tern-httpd"

static struct {
	uint16_t port, tls_port; /* tls_port: 0 unless --tls-port */
	unsigned max_conns;
	const char *root;
	const char *tls_cert, *tls_key; /* --tls, or NULL */
	struct http_cfg cfg;
} opt = {
	.port = 80,
	.max_conns = 10000,
	.cfg = {
		.root_fd = -1,
		.max_header = HTTP_DEF_MAX_HEADER,
		.max_body = HTTP_DEF_MAX_BODY,
		.idle_ns = HTTP_DEF_IDLE_NS,
		.request_ns = HTTP_DEF_REQUEST_NS,
	},
};

static const char usage[] =
	"  --port N             TCP port to serve, 1..65535 (default 80)\n"
	"  --tls CERT KEY       serve HTTPS (PEM certificate chain, leaf first, and\n"
	"                       its key) on --port; ALPN http/1.1\n"
	"  --tls-port N         with --tls: HTTPS on port N, and plain HTTP on --port\n"
	"  --root DIR           serve the files under DIR (GET, HEAD; / is\n"
	"                       DIR/index.html); without it only the built-in routes\n"
	"  --max-header N       request line and header fields, bytes, 256..1048576\n"
	"                       (default 8192; more: 431)\n"
	"  --max-body N         request body and WebSocket message, bytes,\n"
	"                       0..1073741824 (default 1048576; more: 413)\n"
	"  --idle-timeout S     close a keep-alive connection idle this long, and\n"
	"                       give up on a write that waits this long (default 60)\n"
	"  --request-timeout S  a request must arrive whole within S of its first\n"
	"                       byte (default 10; else 408)\n"
	"  --max-conns N        connections per core, 1..1000000 (default 10000);\n"
	"                       more are reset as they are accepted\n"
	"  Routes: GET /hello, POST /echo (the body back), WebSocket /ws/echo and\n"
	"  /ws/chat (one room for every core), files under --root.  Needs --ip.\n";

static const char *const value_opts[] = {
	"port", "tls-port", "root", "max-header", "max-body", "idle-timeout", "request-timeout",
	"max-conns", NULL,
};

static int parse_opt(void *arg, const char *name, const char *v)
{
	double x;

	(void)arg;
	if (strcmp(name, "port") == 0) {
		if (tn_app_parse_num(PROG, name, v, 1, 65535, &x))
			return -EINVAL;
		opt.port = (uint16_t)x;
	} else if (strcmp(name, "tls-port") == 0) {
		if (!opt.tls_cert) {
			fprintf(stderr, PROG ": --tls-port needs --tls CERT KEY\n");
			return -EINVAL;
		}
		if (tn_app_parse_num(PROG, name, v, 1, 65535, &x))
			return -EINVAL;
		opt.tls_port = (uint16_t)x;
	} else if (strcmp(name, "root") == 0) {
		int fd = open(v, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0) {
			fprintf(stderr, PROG ": --root %s: %s\n", v, strerror(errno));
			return -EINVAL;
		}
		if (opt.cfg.root_fd >= 0)
			close(opt.cfg.root_fd);
		opt.cfg.root_fd = fd;
		opt.root = v;
	} else if (strcmp(name, "max-header") == 0) {
		if (tn_app_parse_num(PROG, name, v, 256, 1 << 20, &x))
			return -EINVAL;
		opt.cfg.max_header = (uint32_t)x;
		/* The parser's own bound (a process-wide setting of the
		 * library, 80 KiB by default) stays above ours, which
		 * http_conn.c checks; it catches what ours does not count
		 * (whitespace between fields). */
		http_parser_set_max_header_size(opt.cfg.max_header + 1024 > 80 * 1024
							? opt.cfg.max_header + 1024
							: 80 * 1024);
	} else if (strcmp(name, "max-body") == 0) {
		if (tn_app_parse_num(PROG, name, v, 0, 1 << 30, &x))
			return -EINVAL;
		opt.cfg.max_body = (uint64_t)x;
	} else if (strcmp(name, "idle-timeout") == 0) {
		if (tn_app_parse_num(PROG, name, v, 0.001, 86400, &x))
			return -EINVAL;
		opt.cfg.idle_ns = (uint64_t)(x * 1e9);
	} else if (strcmp(name, "max-conns") == 0) {
		if (tn_app_parse_num(PROG, name, v, 1, 1000000, &x))
			return -EINVAL;
		opt.max_conns = (unsigned)x;
	} else if (strcmp(name, "request-timeout") == 0) {
		if (tn_app_parse_num(PROG, name, v, 0.001, 86400, &x))
			return -EINVAL;
		opt.cfg.request_ns = (uint64_t)(x * 1e9);
	} else {
		return -ENOENT;
	}
	if (opt.tls_port == opt.port) {
		fprintf(stderr, PROG ": --tls-port %u is --port's too: give two ports\n", opt.port);
		return -EINVAL;
	}
	return 0;
}

/* ---- the plain-TCP transport ---- */

static ssize_t tcp_read(void *c, void *buf, size_t len)
{
	return tn_tcp_read(c, buf, len);
}

static int tcp_writev(void *c, const struct iovec *iov, int iovcnt)
{
	return tn_tcp_writev(c, iov, iovcnt);
}

static int tcp_shutdown(void *c)
{
	return tn_tcp_shutdown(c);
}

static const struct http_io_ops tcp_ops = {
	.read = tcp_read,
	.writev = tcp_writev,
	.shutdown = tcp_shutdown,
};

/* ---- the TLS transport ---- */

/* A TLS record's plaintext (RFC 8446 5.1). */
#define TLS_REC 16384

struct tls_io {
	struct tn_tls_conn *t;
	uint8_t rec[TLS_REC]; /* writev's records (http_writev_records) */
};

static ssize_t tls_read(void *ctx, void *buf, size_t len)
{
	struct tls_io *s = ctx;

	return tn_tls_read(s->t, buf, len);
}

static int tls_write(void *ctx, const void *buf, size_t len)
{
	return tn_tls_write(ctx, buf, len);
}

/* Only the writer task calls this (a WebSocket session's reader only
 * reads), so rec[] has one user. */
static int tls_writev(void *ctx, const struct iovec *iov, int iovcnt)
{
	struct tls_io *s = ctx;

	return http_writev_records(s->rec, sizeof(s->rec), iov, iovcnt, tls_write, s->t);
}

static int tls_shutdown(void *ctx)
{
	struct tls_io *s = ctx;

	return tn_tls_shutdown(s->t);
}

static const struct http_io_ops tls_ops = {
	.read = tls_read,
	.writev = tls_writev,
	.shutdown = tls_shutdown,
};

/* ---- per core ---- */

struct core;

struct listener {
	struct core *k;
	struct tn_tcp_listener *l;
	struct tn_task *task;
	uint16_t port;
	bool tls;
};

static struct core {
	struct http_server srv;
	struct listener ls[2]; /* --port, and --tls-port */
	unsigned nls;
	struct tn_tls_ctx *tls;  /* --tls: this core's context */
	unsigned live;           /* connection tasks running */
	uint64_t accept_errors, refused;
	uint64_t tls_ok, tls_failed;
	bool tls_logged;
} cores[TN_MAX_CORES];

static struct core *my_core(void)
{
	return &cores[tn_core_id(tn_core_self())];
}

static intptr_t conn_task(void *arg)
{
	struct tn_tcp_conn *c = arg;
	struct http_io io = { &tcp_ops, c };
	struct core *k = my_core();
	int err;

	err = http_conn_serve(&k->srv, &io);
	k->live--; /* counted when spawned */

	/* A clean end closes gracefully (what we wrote still leaves); a
	 * cancellation (shutdown), a timeout or a broken stream resets. */
	if (err)
		tn_tcp_abort(c);
	else
		tn_tcp_close(c);
	return 0;
}

/* --tls: the handshake, within --request-timeout (a client that opens
 * a connection and says nothing holds a task no longer than one that
 * starts a request and stalls), then HTTP over it. */
static intptr_t tls_conn_task(void *arg)
{
	struct tn_tcp_conn *c = arg;
	struct core *k = my_core();
	struct tls_io *s = malloc(sizeof(*s));
	struct http_io io = { &tls_ops, s };
	struct tn_timeout to;
	int err = -ENOMEM;

	if (s) {
		s->t = NULL;
		tn_timeout_enter(&to, tn_now() + opt.cfg.request_ns);
		err = tn_tls_accept(k->tls, c, &s->t);
		err = tn_timeout_exit(&to, err);
	}
	if (err) {
		/* (A shutdown's cancellation is not the client's failure.) */
		if (err != -ECANCELED)
			k->tls_failed++;
		k->live--;
		tn_tcp_abort(c);
		free(s);
		return 0;
	}
	k->tls_ok++;
	if (!k->tls_logged) {
		k->tls_logged = true;
		printf("httpd: tls %s %s, alpn %s", tn_tls_version(s->t), tn_tls_cipher(s->t),
		       tn_tls_alpn(s->t)[0] ? tn_tls_alpn(s->t) : "none");
		if (tn_core_count() > 1)
			printf(" (core %u)", tn_core_id(tn_core_self()));
		printf("\n");
		fflush(stdout);
	}
	err = http_conn_serve(&k->srv, &io);
	k->live--;
	if (err)
		tn_tls_abort(s->t); /* (the TCP connection with it) */
	else
		tn_tls_close(s->t); /* close_notify, then TCP's close */
	free(s);
	return 0;
}

static intptr_t listen_task(void *arg)
{
	struct listener *ln = arg;
	struct core *k = ln->k;

	for (;;) {
		struct tn_tcp_conn *c;
		struct tn_task *t;
		int err = tn_tcp_accept(ln->l, &c);

		if (err == -ECANCELED || err == -EBADF)
			return 0;
		if (err) {
			k->accept_errors++;
			continue;
		}
		if (k->live >= opt.max_conns) {
			/* Each costs a task stack and buffers: past the bound a
			 * flood of connections is turned away, not served. */
			k->refused++;
			tn_tcp_abort(c);
			continue;
		}
		if (!(t = tn_task_spawn(ln->tls ? tls_conn_task : conn_task, c))) {
			k->accept_errors++;
			tn_tcp_abort(c);
			continue;
		}
		k->live++;
		tn_task_detach(t);
	}
}

/* This core's context for --tls: the same files on every core. */
static int tls_ctx_make(struct core *k)
{
	static const char *const alpn[] = { "http/1.1" };
	int err;

	if (!(k->tls = tn_tls_ctx_new_server(opt.tls_cert, opt.tls_key))) {
		err = -errno;
		fprintf(stderr, PROG ": --tls %s %s: %s\n", opt.tls_cert, opt.tls_key,
			strerror(errno));
		return err;
	}
	if ((err = tn_tls_ctx_set_alpn(k->tls, alpn, 1)) < 0) {
		fprintf(stderr, PROG ": tls alpn: %s\n", strerror(-err));
		tn_tls_ctx_free(k->tls);
		k->tls = NULL;
	}
	return err;
}

static void listeners_close(struct core *k)
{
	for (unsigned i = 0; i < k->nls; i++) {
		tn_task_cancel(k->ls[i].task);
		tn_await(tn_task_join(k->ls[i].task), NULL);
		tn_tcp_listener_close(k->ls[i].l);
	}
	k->nls = 0;
}

static int listener_open(struct tn_stack *st, struct core *k, uint16_t port, bool tls,
			 const char *where)
{
	struct listener *ln = &k->ls[k->nls];
	int err;

	ln->k = k;
	ln->port = port;
	ln->tls = tls;
	if ((err = tn_tcp_listen(st, 0, port, 1024, NULL, &ln->l)) != 0) {
		fprintf(stderr, PROG ": listen tcp %u: %s\n", port, strerror(-err));
		return err;
	}
	if (!(ln->task = tn_task_spawn(listen_task, ln))) {
		err = -errno;
		tn_tcp_listener_close(ln->l);
		return err;
	}
	k->nls++;
	printf("httpd: listening on tcp port %u%s%s%s%s\n", port, tls ? " (tls)" : "",
	       opt.root ? ", root " : "", opt.root ? opt.root : "", where);
	return 0;
}

static intptr_t server_main(struct tn_stack *st)
{
	struct core *k = my_core();
	const struct http_stats *s = &k->srv.st;
	char where[24] = "", tls[80] = "";
	int err;

	if (tn_core_count() > 1)
		snprintf(where, sizeof(where), " (core %u)", tn_core_id(tn_core_self()));
	http_server_init(&k->srv, &opt.cfg);
	http_chat_join(&k->srv); /* /ws/chat: one room across the cores */
	if (opt.tls_cert && (err = tls_ctx_make(k)) < 0)
		return err;
	/* --port: HTTPS under --tls, unless --tls-port takes that role. */
	err = listener_open(st, k, opt.port, opt.tls_cert && !opt.tls_port, where);
	if (!err && opt.tls_port)
		err = listener_open(st, k, opt.tls_port, true, where);
	fflush(stdout);
	if (err) {
		listeners_close(k);
		tn_tls_ctx_free(k->tls);
		k->tls = NULL;
		return err;
	}
	/* Until SIGINT/SIGTERM cancels us. */
	while (tn_sleep(TN_NS_PER_S) == 0)
		;
	tn_task_uncancel();
	listeners_close(k);
	if (k->tls)
		snprintf(tls, sizeof(tls), ", tls handshakes %llu ok %llu failed",
			 (unsigned long long)k->tls_ok, (unsigned long long)k->tls_failed);
	printf("httpd: %llu connections, %llu requests, responses 1xx %llu 2xx %llu 3xx %llu "
	       "4xx %llu 5xx %llu, timeouts %llu, websocket %llu sessions %llu messages "
	       "%llu cut off %llu lost across cores, refused %llu, accept errors %llu%s%s\n",
	       (unsigned long long)s->conns, (unsigned long long)s->requests,
	       (unsigned long long)s->status[1], (unsigned long long)s->status[2],
	       (unsigned long long)s->status[3], (unsigned long long)s->status[4],
	       (unsigned long long)s->status[5], (unsigned long long)s->timeouts,
	       (unsigned long long)s->ws_conns, (unsigned long long)s->ws_msgs,
	       (unsigned long long)s->ws_dropped, (unsigned long long)s->ws_xcore_lost,
	       (unsigned long long)k->refused,
	       (unsigned long long)k->accept_errors, tls, where);
	fflush(stdout);
	/* (Connections still open hold references to it.) */
	tn_tls_ctx_free(k->tls);
	k->tls = NULL;
	return 0;
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

static int httpd_core_init(struct tn_core *c, void *arg)
{
	struct tn_task *t;

	(void)arg;
	if (tn_core_id(c) == 0 || !tn_core_stack(c))
		return 0;
	if (!(t = tn_task_spawn(server_core, NULL)))
		return -1;
	tn_task_detach(t);
	return 0;
}

static intptr_t httpd_main(void *arg)
{
	struct tn_stack *st = tn_core_stack(tn_core_self());

	(void)arg;
	if (!st) {
		fprintf(stderr, PROG ": no protocol stack on this core (give port 0 --ip "
				"A.B.C.D/N and an EAL port, e.g. --vdev=net_tap0)\n");
		return -ENODEV;
	}
	return server_main(st);
}

/* Looks at the Tern part of the command line (after "--") for whole
 * words: --ip is required.  0, 1 for --help, or -EINVAL after a
 * message. */
static int prescan(int argc, char **argv)
{
	struct tn_app_scan s;

	tn_app_scan(&s, argc, argv);
	return s.help ? 1 : tn_app_need_ip(&s, PROG);
}

/* Takes --tls CERT KEY (two values, which the shared parser cannot
 * take) out of the Tern part of the command line, and loads the pair
 * once here, so that a bad file is a bad option (exit 2) rather than a
 * failure of every core after the EAL started.  0 or -EINVAL after a
 * message. */
static int take_tls(int *argc, char **argv)
{
	struct tn_tls_ctx *ctx;
	bool tern = false;
	int i, j;

	for (i = 1, j = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (!tern || strcmp(a, "--tls") != 0) {
			tern |= strcmp(a, "--") == 0;
			argv[j++] = argv[i];
			continue;
		}
		if (i + 2 >= *argc ||
		    strncmp(argv[i + 1], "--", 2) == 0 || strncmp(argv[i + 2], "--", 2) == 0) {
			fprintf(stderr, PROG ": --tls wants CERT KEY (PEM files)\n");
			return -EINVAL;
		}
		opt.tls_cert = argv[++i];
		opt.tls_key = argv[++i];
	}
	*argc = j;
	argv[j] = NULL;
	if (!opt.tls_cert)
		return 0;
	if (!(ctx = tn_tls_ctx_new_server(opt.tls_cert, opt.tls_key))) {
		fprintf(stderr, PROG ": --tls %s %s: %s\n", opt.tls_cert, opt.tls_key,
			errno == EINVAL ? "not a PEM certificate and key" : strerror(errno));
		return -EINVAL;
	}
	tn_tls_ctx_free(ctx);
	return 0;
}

int main(int argc, char **argv)
{
	struct tn_app app = {
		.name = PROG,
		.usage = usage,
		.parse_opt = parse_opt,
		.value_opts = value_opts,
		.core_init = httpd_core_init,
		.main = httpd_main,
	};
	int rc = prescan(argc, argv);

	if (rc < 0 || (rc == 0 && take_tls(&argc, argv) < 0))
		return 2;
	return tn_main_app(argc, argv, &app);
}
