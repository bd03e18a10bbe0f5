/* tern-game: a UDP game tick server and a simulator of its clients, on
 * the protocol stack.
 *
 *     tern-game [EAL] -- --ip 10.0.0.2/24 --serve 7777 --tick-hz 60 \
 *                        [--max-clients N] [--client-timeout MS] [--world N] [--view N]
 *     tern-game [EAL] -- --ip 10.0.0.1/24 --clients 1000 --server 10.0.0.2:7777 \
 *                        --tick-hz 60 [--duration S]
 *
 * The server (game_server.c) holds a bounded table of clients keyed by
 * address:port, applies their inputs and sends each a snapshot every
 * tick; silent clients time out.  The simulator (game_client.c) runs
 * --clients players from one process, each on a socket of its own, and
 * reports snapshot latency, tick jitter and lost snapshots.  Messages:
 * game_msg.h.  One lcore (the table, the socket and the tasks are one
 * core's).
 *
 * Sizing: a tick's snapshots leave together, so with thousands of
 * clients give both ends rings that hold a tick of them (--rxd/--txd
 * 4096, --mbufs 65535): with the default 1,024 descriptors, 4,000
 * clients at 30 ticks/s over vhost-user lost half their snapshots at
 * the server's TX; with 4,096, 1.4% on a busy machine. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <tern/dataplane.h>

#include "app_opts.h"
#include "game.h"

struct game_opts game_opt = {
	.tick_hz = 60,
	.max_clients = 4096,
	.timeout_ns = 3 * TN_NS_PER_S,
	.world = 1024,
	.view = 16,
	.clients = 100,
	.duration = 10,
};

static const char usage[] =
	"  server (--serve):\n"
	"  --serve PORT        serve the game on UDP PORT\n"
	"  --tick-hz N         ticks (snapshots to every client) per second, 1..1000\n"
	"                      (default 60)\n"
	"  --max-clients N     clients held at once, 1..16384 (default 4096); more are\n"
	"                      dropped and counted\n"
	"  --client-timeout MS a client silent this long is dropped, 10..600000\n"
	"                      (default 3000)\n"
	"  --world N           the world is N x N units, 64..4096 (default 1024)\n"
	"  --view N            entities in a snapshot, the client's own included,\n"
	"                      1..128 (default 16)\n"
	"  client simulator (--clients):\n"
	"  --clients N         simulated clients, one socket each, 1..16384 (default 100)\n"
	"  --server A.B.C.D:PORT  the server\n"
	"  --tick-hz N         the server's tick rate: inputs go at it, and jitter is\n"
	"                      measured against it (default 60)\n"
	"  --duration S        seconds of play, 0: until a signal (default 10)\n"
	"  both:\n"
	"  --quiet             no live line\n"
	"  Both need --ip for port 0 and run on one lcore.\n";

static const char *const value_opts[] = {
	"serve", "tick-hz", "max-clients", "client-timeout", "world", "view",
	"clients", "server", "duration", NULL,
};

static int parse_num(const char *name, const char *v, double lo, double hi, double *out)
{
	return tn_app_parse_num(GAME_PROG, name, v, lo, hi, out);
}

static int parse_server(const char *v)
{
	char host[32];
	const char *colon = strrchr(v, ':');
	struct in_addr a;
	double port;

	if (!colon || (size_t)(colon - v) >= sizeof(host))
		goto bad;
	memcpy(host, v, (size_t)(colon - v));
	host[colon - v] = '\0';
	if (inet_pton(AF_INET, host, &a) != 1 || a.s_addr == 0 || (ntohl(a.s_addr) >> 28) >= 0xe)
		goto bad;
	if (parse_num("server port", colon + 1, 1, 65535, &port))
		return -EINVAL;
	game_opt.server = a.s_addr;
	game_opt.server_port = (uint16_t)port;
	return 0;
bad:
	fprintf(stderr, GAME_PROG ": --server wants A.B.C.D:PORT (a unicast address), not '%s'\n",
		v);
	return -EINVAL;
}

static int wrong_mode(const char *name)
{
	fprintf(stderr, GAME_PROG ": --%s is a %s option\n", name,
		game_opt.client ? "server (--serve)" : "client (--clients)");
	return -EINVAL;
}

static int parse_opt(void *arg, const char *name, const char *v)
{
	static const char *const server_only[] = {
		"serve", "max-clients", "client-timeout", "world", "view", NULL,
	};
	static const char *const client_only[] = {"clients", "server", "duration", NULL};
	double x;

	(void)arg;
	for (unsigned i = 0; server_only[i]; i++)
		if (strcmp(name, server_only[i]) == 0 && game_opt.client)
			return wrong_mode(name);
	for (unsigned i = 0; client_only[i]; i++)
		if (strcmp(name, client_only[i]) == 0 && !game_opt.client)
			return wrong_mode(name);
	if (strcmp(name, "quiet") == 0) {
		game_opt.quiet = true;
		return 0;
	}
	if (strcmp(name, "server") == 0)
		return parse_server(v);
	if (strcmp(name, "serve") == 0) {
		if (parse_num(name, v, 1, 65535, &x))
			return -EINVAL;
		game_opt.port = (uint16_t)x;
	} else if (strcmp(name, "tick-hz") == 0) {
		if (parse_num(name, v, 1, 1000, &game_opt.tick_hz))
			return -EINVAL;
	} else if (strcmp(name, "max-clients") == 0) {
		if (parse_num(name, v, 1, GAME_MAX_CLIENTS, &x))
			return -EINVAL;
		game_opt.max_clients = (unsigned)x;
	} else if (strcmp(name, "client-timeout") == 0) {
		if (parse_num(name, v, 10, 600000, &x))
			return -EINVAL;
		game_opt.timeout_ns = (uint64_t)(x * TN_NS_PER_MS);
	} else if (strcmp(name, "world") == 0) {
		if (parse_num(name, v, 64, 4096, &x))
			return -EINVAL;
		game_opt.world = (unsigned)x;
	} else if (strcmp(name, "view") == 0) {
		if (parse_num(name, v, 1, TN_GAME_MAX_VIEW, &x))
			return -EINVAL;
		game_opt.view = (unsigned)x;
	} else if (strcmp(name, "clients") == 0) {
		if (parse_num(name, v, 1, GAME_MAX_CLIENTS, &x))
			return -EINVAL;
		game_opt.clients = (unsigned)x;
	} else if (strcmp(name, "duration") == 0) {
		if (parse_num(name, v, 0, 86400, &game_opt.duration))
			return -EINVAL;
	} else {
		return -ENOENT;
	}
	return 0;
}

static intptr_t game_main(void *arg)
{
	struct tn_stack *st = tn_core_stack(tn_core_self());

	(void)arg;
	if (!st) {
		fprintf(stderr, GAME_PROG ": no protocol stack on this core (give port 0 --ip "
				     "A.B.C.D/N and an EAL port, e.g. --vdev=net_tap0)\n");
		return -ENODEV;
	}
	if (tn_core_count() > 1) {
		fprintf(stderr, GAME_PROG ": runs on one lcore (e.g. -l 1), not %u\n",
			tn_core_count());
		return -EINVAL;
	}
	return game_opt.client ? game_client_main(st) : game_server_main(st);
}

/* The Tern part of the command line (after "--"), whole words: the mode
 * decides which options apply before parsing starts, and the required
 * ones are checked here.  0, 1 for --help, or -EINVAL after a message. */
static int prescan(int argc, char **argv)
{
	struct tn_app_scan s;
	bool serve, clients;

	tn_app_scan(&s, argc, argv);
	if (s.help)
		return 1;
	serve = tn_app_has(&s, "serve");
	clients = tn_app_has(&s, "clients");
	if (serve == clients) {
		fprintf(stderr, GAME_PROG ": needs one of --serve PORT or --clients N --server "
					  "A.B.C.D:PORT\n");
		return -EINVAL;
	}
	game_opt.client = clients;
	if (clients && !tn_app_has(&s, "server")) {
		fprintf(stderr, GAME_PROG ": --clients needs --server A.B.C.D:PORT\n");
		return -EINVAL;
	}
	return tn_app_need_ip(&s, GAME_PROG);
}

int main(int argc, char **argv)
{
	struct tn_app app = {
		.name = GAME_PROG,
		.usage = usage,
		.parse_opt = parse_opt,
		.value_opts = value_opts,
		.main = game_main,
	};

	if (prescan(argc, argv) < 0)
		return 2;
	return tn_main_app(argc, argv, &app);
}
