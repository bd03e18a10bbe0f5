/* tn_main: EAL, ports and one loop per core, then the application's main
 * task (asyncio.run() for a networked program), and an orderly exit on
 * SIGINT/SIGTERM: stop polling, drain, stop ports, free everything. */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "tn_dp_internal.h"
#include "tn_xdp.h"

struct tn_runtime *tn__rt;

void tn_stop(void)
{
	if (tn__rt)
		tn__rt->stop = 1;
}

bool tn_stopping(void)
{
	return tn__rt && tn__rt->stop;
}

static void on_signal(int sig)
{
	(void)sig;
	tn_stop(); /* a store: async-signal-safe */
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* DPDK's virtio-user writes to its vhost-user socket with a plain
	 * sendmsg: once the vhost side has gone (a peer that exited first),
	 * closing our port would die of SIGPIPE.  The write fails with
	 * EPIPE instead, for every app. */
	signal(SIGPIPE, SIG_IGN);
}

static int make_cores(struct tn_runtime *rt)
{
	unsigned lcore, id = 0;

	/* The main lcore is core 0; workers follow in lcore order. */
	RTE_LCORE_FOREACH(lcore) {
		struct tn_core *c;
		unsigned cid;

		if (id == TN_MAX_CORES)
			break;
		cid = lcore == rte_get_main_lcore() ? 0 : ++id;
		if (cid >= TN_MAX_CORES)
			break;
		c = rte_zmalloc_socket("tn_core", sizeof(*c), RTE_CACHE_LINE_SIZE,
				       (int)rte_lcore_to_socket_id(lcore));
		if (!c)
			return -ENOMEM;
		c->id = cid;
		c->lcore = lcore;
		c->rt = rt;
		c->queue = (uint16_t)cid;
		rt->cores[cid] = c;
	}
	rt->ncores = id + 1;
	return 0;
}

static int make_steer_rings(struct tn_runtime *rt)
{
	unsigned i;
	char name[RTE_RING_NAMESIZE + 16];

	for (i = 1; i < rt->ncores; i++) {
		snprintf(name, sizeof(name), "tn_steer_%u", i);
		rt->cores[i]->steer_in = rte_ring_create(name, 4096, (int)rte_socket_id(),
							 RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (!rt->cores[i]->steer_in)
			return -ENOMEM;
	}
	return 0;
}

/* Frees everything; with audit (the cores ran and stopped), then checks
 * that every mbuf came back and returns how many did not (leak.c). */
static unsigned free_runtime(struct tn_runtime *rt, bool audit)
{
	unsigned i, pcap_in_use = 0, leaked = 0;

	if (rt->pcap) {
		uint64_t lost;

		while (tn_pcap_drain(rt->pcap))
			;
		pcap_in_use = tn_pcap_in_use(rt->pcap);
		lost = tn_pcap_close(rt->pcap);
		if (lost)
			fprintf(stderr, "tern: pcap: %llu packets not captured (ring full)\n",
				(unsigned long long)lost);
		rt->pcap = NULL;
	}
	tn__ports_fini(rt);
	tn__mail_fini(rt);
	for (i = 0; i < TN_MAX_CORES; i++) {
		if (!rt->cores[i])
			continue;
		if (rt->cores[i]->steer_in) {
			struct rte_mbuf *m;
			while (rte_ring_dequeue(rt->cores[i]->steer_in, (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(rt->cores[i]->steer_in);
		}
		free(rt->cores[i]->calls);
		rte_free(rt->cores[i]);
		rt->cores[i] = NULL;
	}
	if (audit)
		leaked = tn__mbufs_leaked(rt, pcap_in_use);
	rte_mempool_free(rt->mp);
	rt->mp = NULL;
	return leaked;
}

/* The key of the stacks' TCP timestamp offsets (tn_stack_config's
 * ts_key): the machine's boot ID, the same in every process until the
 * next boot, as Linux keys its offsets per boot.  All zero (each stack
 * draws its own) where the file cannot be read. */
static void boot_key(uint8_t key[16])
{
	char buf[64];
	unsigned n = 0;
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	memset(key, 0, 16);
	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f)) {
		/* 36 characters: 32 hex digits and four dashes. */
		for (const char *p = buf; *p && n < 32; p++) {
			int v = *p >= '0' && *p <= '9'   ? *p - '0'
				: *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
							 : -1;

			if (v < 0)
				continue;
			key[n / 2] |= (uint8_t)(n % 2 ? v : v << 4);
			n++;
		}
	}
	fclose(f);
	if (n != 32)
		memset(key, 0, 16);
}

int tn_main_config(int eal_argc, char **eal_argv, const struct tn_config *cfg,
		   const struct tn_app *app)
{
	static struct tn_runtime runtime;
	struct tn_runtime *rt = &runtime;
	char **argv;
	int argc, err, code = 0;
	bool ran = false;
	unsigned i;

	if (tn__rt) {
		fprintf(stderr, "tern: tn_main is already running in this process\n");
		return 1;
	}
	memset(rt, 0, sizeof(*rt));
	rt->cfg = *cfg;
	rt->app = app;
	if (cfg->fault_spec) {
		char why[160];
		if (tn_fault_parse(cfg->fault_spec, &rt->fault, why, sizeof(why)) != 0) {
			fprintf(stderr, "tern: --fault: %s\n", why);
			return 2;
		}
		rt->fault_on = true;
	}
	/* net_af_xdp ports get Tern's steering program. */
	argv = tn_xdp_args_rewrite(eal_argc, eal_argv, &argc);
	if (!argv) {
		fprintf(stderr, "tern: %s\n", strerror(errno));
		return 1;
	}
	err = rte_eal_init(argc, argv);
	if (err < 0) {
		fprintf(stderr, "tern: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		tn_xdp_args_free(argc, argv);
		return 2;
	}
	tn__rt = rt;
	rt->tsc_mult = (uint64_t)(((unsigned __int128)1000000000ull << 32) / rte_get_tsc_hz());
	boot_key(rt->ts_key);
	install_signals();
	err = make_cores(rt);
	if (!err)
		err = make_steer_rings(rt);
	if (!err)
		err = tn__ports_init(rt);
	if (!err)
		err = tn__mail_init(rt);
	if (!err && cfg->pcap_path) {
		rt->pcap = tn_pcap_open(cfg->pcap_path, rt->nports);
		if (!rt->pcap) {
			fprintf(stderr, "tern: --pcap %s: %s\n", cfg->pcap_path, strerror(errno));
			err = -errno;
		}
	}
	if (!err)
		tn__stats_register(rt);
	if (err) {
		code = 1;
		goto out;
	}
	for (i = 1; i < rt->ncores; i++) {
		err = rte_eal_remote_launch(tn__core_run, rt->cores[i], rt->cores[i]->lcore);
		if (err) {
			fprintf(stderr, "tern: cannot start core %u\n", i);
			tn_stop();
			break;
		}
	}
	tn__core_run(rt->cores[0]);
	rte_eal_mp_wait_lcore();
	for (i = 0; i < rt->ncores; i++)
		if (rt->cores[i]->exit_code > code)
			code = rt->cores[i]->exit_code;
	if (cfg->stats_exit)
		tn__stats_print(rt, stderr);
	ran = true;
out:
	/* A leak fails a run that otherwise succeeded. */
	if (free_runtime(rt, ran) && code == 0)
		code = 1;
	tn__rt = NULL;
	rte_eal_cleanup();
	tn_xdp_args_free(argc, argv);
	return code;
}

int tn_main_app(int argc, char **argv, const struct tn_app *app)
{
	struct tn_config cfg;
	const char *prog = argc > 0 ? basename(argv[0]) : "tern";
	int sep, err;

	tn_config_defaults(&cfg);
	for (sep = 1; sep < argc; sep++)
		if (strcmp(argv[sep], "--") == 0)
			break;
	/* Tern's options are checked before the EAL starts, so --help and
	 * a typo answer at once and without hugepages or ports. */
	if (sep < argc) {
		err = tn__options_parse(argc - sep - 1, argv + sep + 1, &cfg, app, prog);
		if (err == 1)
			return 0;
		if (err)
			return 2;
	}
	return tn_main_config(sep, argv, &cfg, app);
}

int tn_main(int argc, char **argv, intptr_t (*fn)(void *arg), void *arg)
{
	struct tn_app app = {.main = fn, .arg = arg};

	return tn_main_app(argc, argv, &app);
}
