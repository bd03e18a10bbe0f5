/* tern-httpd: an HTTP/1.1 and WebSocket server on Tern's TCP streams.
 *
 *     tern-httpd [EAL] -- --ip 10.0.0.1/24 [--port 80] [--root DIR] \
 *                         [--max-header N] [--max-body N] [--max-conns N] \
 *                         [--idle-timeout S] [--request-timeout S]
 *
 * Every polling core has its own stack (--ip on several lcores) and its
 * own listener on --port, and serves the flows RSS gives it: a task per
 * connection runs http_conn_serve (http.h) over the plain-TCP transport
 * below.  The routes are http_routes.c's.  SIGINT/SIGTERM: the listeners
 * close, each core prints its counters, the connections are reset.
 *
 * --tls CERT KEY is refused for now: tn_tls is not there yet; its
 * transport will be another struct http_io_ops. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tern/coro.h>
#include <tern/dataplane.h>
#include <tern/tcp.h>

#include "app_opts.h"
#include "http.h"

#define PROG "tern-httpd"

static struct {
	uint16_t port;
	unsigned max_conns;
	const char *root;
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
	"  /ws/chat (a room per core), files under --root.  Needs --ip.\n";

static const char *const value_opts[] = {
	"port", "root", "max-header", "max-body", "idle-timeout", "request-timeout", "max-conns",
	NULL,
};

static int parse_opt(void *arg, const char *name, const char *v)
{
	double x;

	(void)arg;
	if (strcmp(name, "port") == 0) {
		if (tn_app_parse_num(PROG, name, v, 1, 65535, &x))
			return -EINVAL;
		opt.port = (uint16_t)x;
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

/* ---- per core ---- */

static struct core {
	struct http_server srv;
	struct tn_tcp_listener *l;
	unsigned live;           /* connection tasks running */
	uint64_t accept_errors, refused;
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

static intptr_t listen_task(void *arg)
{
	struct core *k = arg;

	for (;;) {
		struct tn_tcp_conn *c;
		struct tn_task *t;
		int err = tn_tcp_accept(k->l, &c);

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
		if (!(t = tn_task_spawn(conn_task, c))) {
			k->accept_errors++;
			tn_tcp_abort(c);
			continue;
		}
		k->live++;
		tn_task_detach(t);
	}
}

static intptr_t server_main(struct tn_stack *st)
{
	struct core *k = my_core();
	const struct http_stats *s = &k->srv.st;
	char where[24] = "";
	struct tn_task *lt;
	int err;

	if (tn_core_count() > 1)
		snprintf(where, sizeof(where), " (core %u)", tn_core_id(tn_core_self()));
	http_server_init(&k->srv, &opt.cfg);
	if ((err = tn_tcp_listen(st, 0, opt.port, 1024, NULL, &k->l)) != 0) {
		fprintf(stderr, PROG ": listen tcp %u: %s\n", opt.port, strerror(-err));
		return err;
	}
	if (!(lt = tn_task_spawn(listen_task, k))) {
		err = -errno;
		tn_tcp_listener_close(k->l);
		return err;
	}
	printf("httpd: listening on tcp port %u%s%s%s\n", opt.port, opt.root ? ", root " : "",
	       opt.root ? opt.root : "", where);
	fflush(stdout);
	/* Until SIGINT/SIGTERM cancels us. */
	while (tn_sleep(TN_NS_PER_S) == 0)
		;
	tn_task_uncancel();
	tn_task_cancel(lt);
	tn_await(tn_task_join(lt), NULL);
	tn_tcp_listener_close(k->l);
	printf("httpd: %llu connections, %llu requests, responses 1xx %llu 2xx %llu 3xx %llu "
	       "4xx %llu 5xx %llu, timeouts %llu, websocket %llu sessions %llu messages "
	       "%llu cut off, refused %llu, accept errors %llu%s\n",
	       (unsigned long long)s->conns, (unsigned long long)s->requests,
	       (unsigned long long)s->status[1], (unsigned long long)s->status[2],
	       (unsigned long long)s->status[3], (unsigned long long)s->status[4],
	       (unsigned long long)s->status[5], (unsigned long long)s->timeouts,
	       (unsigned long long)s->ws_conns, (unsigned long long)s->ws_msgs,
	       (unsigned long long)s->ws_dropped, (unsigned long long)k->refused,
	       (unsigned long long)k->accept_errors, where);
	fflush(stdout);
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
 * words: --ip is required and --tls is refused before the EAL starts.
 * 0, 1 for --help, or -EINVAL after a message. */
static int prescan(int argc, char **argv)
{
	bool tern = false, help = false, ip = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		help |= strcmp(a, "--help") == 0;
		if (!tern) {
			tern = strcmp(a, "--") == 0;
			continue;
		}
		ip |= strcmp(a, "--ip") == 0 || strncmp(a, "--ip=", 5) == 0;
		if (strcmp(a, "--tls") == 0 || strncmp(a, "--tls=", 6) == 0) {
			fprintf(stderr, PROG ": --tls is not supported yet (the TLS layer, tn_tls, "
					"is not part of this build); serve plain HTTP\n");
			return -EINVAL;
		}
	}
	if (help)
		return 1;
	if (!ip) {
		fprintf(stderr, PROG ": needs --ip A.B.C.D/N (the address of port 0)\n");
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
		.value_opts = value_opts,
		.core_init = httpd_core_init,
		.main = httpd_main,
	};

	if (prescan(argc, argv) < 0)
		return 2;
	return tn_main_app(argc, argv, &app);
}
