/* Tern's command-line options (after the EAL's, behind "--"). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "tn_dp_internal.h"

void tn_config_defaults(struct tn_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->idle = TN_IDLE_POLL;
	cfg->link_timeout_ms = 5000;
	cfg->burst = 32;
	cfg->task_batch = TN_TASK_BATCH;
	cfg->nb_rxd = 1024;
	cfg->nb_txd = 1024;
	cfg->nb_mbufs = 16383;
	cfg->stats_exit = true;
}

void tn__options_usage(FILE *out, const char *prog, const struct tn_app *app)
{
	fprintf(out,
		"usage: %s [EAL options] -- [Tern options] [application options]\n"
		"\n"
		"Tern options:\n"
		"  --help               this text\n"
		"  --idle poll|sleep    busy-poll (default) or sleep when idle\n"
		"  --pcap FILE          write a pcapng capture of every port's RX and TX\n"
		"  --fault SPEC         seeded faults on every port, RX and TX, e.g.\n"
		"                       drop=0.05,dup=0.01,reorder=0.05,delay_us=200,corrupt=0.001,seed=7\n"
		"  --link-timeout MS    wait this long for links to come up (default 5000)\n"
		"  --burst N            RX/TX burst size, 1..%d (default 32)\n"
		"  --task-batch N       task resumptions per loop turn, 1..1024 (default %d):\n"
		"                       what they sent leaves before more tasks run\n"
		"  --rxd N, --txd N     descriptors per queue (default 1024)\n"
		"  --mbufs N            mbufs in the pool (default 16383)\n"
		"  --ports LO-HI        ephemeral ports for connects (default 49152-65535)\n"
		"  --no-stats           do not print the counters at exit\n"
		"  --steer RULE         on net_af_xdp ports, traffic for Tern (repeatable):\n"
		"                       udp:A.B.C.D:PORT, tcp:A.B.C.D:PORT or ip:A.B.C.D\n"
		"  --ip A.B.C.D/N       port 0's address: the protocol stack serves it (on\n"
		"                       net_af_xdp, all traffic to it, ARP included, is steered)\n"
		"  --gw A.B.C.D         default gateway\n"
		"  --mac MAC            port 0's MAC for the stack (default: the port's)\n",
		prog, TN_TXBUF, TN_TASK_BATCH);
	if (app && app->usage)
		fprintf(out, "\n%s options:\n%s", app->name ? app->name : prog, app->usage);
}

static int parse_uint(const char *prog, const char *name, const char *v, unsigned lo,
		      unsigned hi, unsigned *out)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || x < lo || x > hi) {
		fprintf(stderr, "%s: --%s wants a number in %u..%u, not '%s'\n", prog, name,
			lo, hi, v);
		return -EINVAL;
	}
	*out = (unsigned)x;
	return 0;
}

static bool app_takes_value(const struct tn_app *app, const char *name)
{
	const char *const *v;

	if (!app || !app->value_opts)
		return false;
	for (v = app->value_opts; *v; v++)
		if (strcmp(*v, name) == 0)
			return true;
	return false;
}

static const char *const tern_value_opts[] = {
	"idle", "pcap", "fault", "link-timeout", "burst", "task-batch", "rxd", "txd", "mbufs", "ports", "steer", "ip", "gw", "mac", NULL,
};

static bool tern_takes_value(const char *name)
{
	const char *const *v;

	for (v = tern_value_opts; *v; v++)
		if (strcmp(*v, name) == 0)
			return true;
	return false;
}

static int parse_steer(const char *prog, struct tn_config *cfg, const char *val)
{
	struct tn_steer_rule r = {0};
	char buf[64], *addr, *port = NULL, *end;
	struct in_addr a;
	unsigned long p = 0;

	if (cfg->nsteer == sizeof(cfg->steer) / sizeof(cfg->steer[0])) {
		fprintf(stderr, "%s: too many --steer rules\n", prog);
		return -EINVAL;
	}
	if (strlen(val) >= sizeof(buf))
		goto bad;
	strcpy(buf, val);
	addr = strchr(buf, ':');
	if (!addr)
		goto bad;
	*addr++ = '\0';
	if (strcmp(buf, "udp") == 0)
		r.proto = IPPROTO_UDP;
	else if (strcmp(buf, "tcp") == 0)
		r.proto = IPPROTO_TCP;
	else if (strcmp(buf, "ip") != 0)
		goto bad;
	port = strchr(addr, ':');
	if (port)
		*port++ = '\0';
	if ((r.proto != 0) != (port != NULL) || inet_pton(AF_INET, addr, &a) != 1)
		goto bad;
	if (port) {
		errno = 0;
		p = strtoul(port, &end, 10);
		if (errno || end == port || *end || p == 0 || p > 65535)
			goto bad;
	}
	r.addr = a.s_addr;
	r.port = htons((uint16_t)p);
	cfg->steer[cfg->nsteer++] = r;
	return 0;
bad:
	fprintf(stderr, "%s: --steer wants udp:A.B.C.D:PORT, tcp:A.B.C.D:PORT or ip:A.B.C.D, "
		"not '%s'\n", prog, val);
	return -EINVAL;
}

static int parse_ip(const char *prog, struct tn_config *cfg, const char *val)
{
	char buf[32], *slash, *end;
	struct in_addr a;
	unsigned long len;

	if (strlen(val) >= sizeof(buf))
		goto bad;
	strcpy(buf, val);
	slash = strchr(buf, '/');
	if (!slash)
		goto bad;
	*slash++ = '\0';
	errno = 0;
	len = strtoul(slash, &end, 10);
	if (errno || end == slash || *end || len < 1 || len > 32)
		goto bad;
	if (inet_pton(AF_INET, buf, &a) != 1 || a.s_addr == 0)
		goto bad;
	cfg->ip = a.s_addr;
	cfg->prefix_len = (uint8_t)len;
	return 0;
bad:
	fprintf(stderr, "%s: --ip wants A.B.C.D/N (N in 1..32), not '%s'\n", prog, val);
	return -EINVAL;
}

static int tern_opt(const char *prog, struct tn_config *cfg, const char *name, const char *val)
{
	if (strcmp(name, "idle") == 0) {
		if (strcmp(val, "poll") == 0)
			cfg->idle = TN_IDLE_POLL;
		else if (strcmp(val, "sleep") == 0)
			cfg->idle = TN_IDLE_SLEEP;
		else {
			fprintf(stderr, "%s: --idle wants poll or sleep, not '%s'\n", prog, val);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(name, "pcap") == 0) {
		cfg->pcap_path = val;
		return 0;
	}
	if (strcmp(name, "fault") == 0) {
		struct tn_fault_spec spec;
		char err[160];

		if (tn_fault_parse(val, &spec, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: --fault: %s\n", prog, err);
			return -EINVAL;
		}
		cfg->fault_spec = val;
		return 0;
	}
	if (strcmp(name, "link-timeout") == 0)
		return parse_uint(prog, name, val, 0, 600000, &cfg->link_timeout_ms);
	if (strcmp(name, "burst") == 0)
		return parse_uint(prog, name, val, 1, TN_TXBUF, &cfg->burst);
	if (strcmp(name, "task-batch") == 0)
		return parse_uint(prog, name, val, 1, 1024, &cfg->task_batch);
	if (strcmp(name, "rxd") == 0)
		return parse_uint(prog, name, val, 64, 16384, &cfg->nb_rxd);
	if (strcmp(name, "txd") == 0)
		return parse_uint(prog, name, val, 64, 16384, &cfg->nb_txd);
	if (strcmp(name, "mbufs") == 0)
		return parse_uint(prog, name, val, 1024, 1u << 24, &cfg->nb_mbufs);
	if (strcmp(name, "ports") == 0) {
		unsigned lo, hi;
		char extra;

		if (sscanf(val, "%5u-%5u%c", &lo, &hi, &extra) != 2 || lo < 1 || hi > 65535 ||
		    lo > hi || strchr(val, '+') || strchr(val, ' ')) {
			fprintf(stderr, "%s: --ports wants LO-HI, ports 1..65535 with LO <= HI, "
				"not '%s'\n", prog, val);
			return -EINVAL;
		}
		cfg->eph_lo = (uint16_t)lo;
		cfg->eph_hi = (uint16_t)hi;
		return 0;
	}
	if (strcmp(name, "steer") == 0)
		return parse_steer(prog, cfg, val);
	if (strcmp(name, "ip") == 0)
		return parse_ip(prog, cfg, val);
	if (strcmp(name, "gw") == 0) {
		struct in_addr a;
		if (inet_pton(AF_INET, val, &a) != 1 || a.s_addr == 0) {
			fprintf(stderr, "%s: --gw wants an address A.B.C.D, not '%s'\n", prog, val);
			return -EINVAL;
		}
		cfg->gw = a.s_addr;
		return 0;
	}
	if (strcmp(name, "mac") == 0) {
		unsigned b[6];
		char extra;
		if (sscanf(val, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
			   &b[5], &extra) != 6 || (b[0] & 1)) {
			fprintf(stderr, "%s: --mac wants a unicast aa:bb:cc:dd:ee:ff, not '%s'\n",
				prog, val);
			return -EINVAL;
		}
		for (int i = 0; i < 6; i++)
			cfg->mac[i] = (uint8_t)b[i];
		cfg->mac_set = true;
		return 0;
	}
	if (strcmp(name, "no-stats") == 0) {
		cfg->stats_exit = false;
		return 0;
	}
	return -ENOENT;
}

int tn__options_parse(int argc, char **argv, struct tn_config *cfg, const struct tn_app *app,
		      const char *prog)
{
	int i;

	for (i = 0; i < argc; i++) {
		char name[64];
		const char *arg = argv[i], *val = NULL, *eq;
		size_t len;
		int err;

		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
			fprintf(stderr, "%s: unexpected argument '%s' (try --help)\n", prog, arg);
			return -EINVAL;
		}
		arg += 2;
		eq = strchr(arg, '=');
		len = eq ? (size_t)(eq - arg) : strlen(arg);
		if (len >= sizeof(name)) {
			fprintf(stderr, "%s: unknown option '%s' (try --help)\n", prog, argv[i]);
			return -EINVAL;
		}
		memcpy(name, arg, len);
		name[len] = '\0';
		if (strcmp(name, "help") == 0) {
			tn__options_usage(stdout, prog, app);
			return 1;
		}
		if (tern_takes_value(name) || app_takes_value(app, name)) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				fprintf(stderr, "%s: --%s needs a value\n", prog, name);
				return -EINVAL;
			}
		} else if (eq) {
			fprintf(stderr, "%s: --%s takes no value\n", prog, name);
			return -EINVAL;
		}
		err = tern_opt(prog, cfg, name, val);
		if (err == -ENOENT && app && app->parse_opt)
			err = app->parse_opt(app->arg, name, val);
		if (err == -ENOENT) {
			fprintf(stderr, "%s: unknown option '--%s' (try --help)\n", prog, name);
			return -EINVAL;
		}
		if (err)
			return -EINVAL;
	}
	return 0;
}
