/* Counters: each core counts its own packets per port (single writer, no
 * atomics); readers sum them.  Exposed through DPDK telemetry
 * (dpdk-telemetry.py: /tern/stats, /tern/cores) and printed at exit. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "tn_dp_internal.h"

static void add(struct tn_port_stats *a, const struct tn_port_stats *b)
{
	a->rx_pkts += b->rx_pkts;
	a->rx_bytes += b->rx_bytes;
	a->rx_bursts += b->rx_bursts;
	a->tx_pkts += b->tx_pkts;
	a->tx_bytes += b->tx_bytes;
	a->tx_bursts += b->tx_bursts;
	a->rx_drops += b->rx_drops;
	a->tx_drops += b->tx_drops;
}

int tn_port_stats_get(int core, uint16_t pidx, struct tn_port_stats *st)
{
	struct tn_runtime *rt = tn__rt;
	struct rte_eth_stats es;
	unsigned i;

	if (!rt || pidx >= rt->nports || core >= (int)rt->ncores)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	for (i = 0; i < rt->ncores; i++)
		if ((core < 0 || (unsigned)core == i) && rt->cores[i])
			add(st, &rt->cores[i]->stats[pidx]);
	/* Port-wide drops only the device knows. */
	if (core < 0 && rte_eth_stats_get(rt->port_ids[pidx], &es) == 0) {
		st->rx_nombuf = es.rx_nombuf;
		st->rx_missed = es.imissed;
	}
	return 0;
}

static void dict_stats(struct rte_tel_data *d, const struct tn_port_stats *s)
{
	rte_tel_data_add_dict_u64(d, "rx_pkts", s->rx_pkts);
	rte_tel_data_add_dict_u64(d, "rx_bytes", s->rx_bytes);
	rte_tel_data_add_dict_u64(d, "rx_bursts", s->rx_bursts);
	rte_tel_data_add_dict_u64(d, "tx_pkts", s->tx_pkts);
	rte_tel_data_add_dict_u64(d, "tx_bytes", s->tx_bytes);
	rte_tel_data_add_dict_u64(d, "tx_bursts", s->tx_bursts);
	rte_tel_data_add_dict_u64(d, "rx_drops", s->rx_drops);
	rte_tel_data_add_dict_u64(d, "tx_drops", s->tx_drops);
	rte_tel_data_add_dict_u64(d, "rx_nombuf", s->rx_nombuf);
	rte_tel_data_add_dict_u64(d, "rx_missed", s->rx_missed);
}

/* /tern/stats[,PORT]: a port's counters summed over cores (port 0 by
 * default). */
static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct tn_port_stats st;
	unsigned long port = params && *params ? strtoul(params, NULL, 10) : 0;

	if (!tn__rt || port >= tn__rt->nports)
		return -EINVAL;
	tn_port_stats_get(-1, (uint16_t)port, &st);
	rte_tel_data_start_dict(d);
	dict_stats(d, &st);
	return 0;
}

/* /tern/cores: per core, packets received and sent over all ports. */
static int tel_cores(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct tn_runtime *rt = tn__rt;
	unsigned i;
	uint16_t p;

	if (!rt)
		return -EINVAL;
	rte_tel_data_start_dict(d);
	for (i = 0; i < rt->ncores; i++) {
		struct tn_port_stats sum = {0};
		char name[32];
		struct rte_tel_data *c = rte_tel_data_alloc();

		if (!c)
			return -ENOMEM;
		for (p = 0; p < rt->nports; p++)
			add(&sum, &rt->cores[i]->stats[p]);
		rte_tel_data_start_dict(c);
		dict_stats(c, &sum);
		rte_tel_data_add_dict_u64(c, "mail_sent", rt->cores[i]->mail_sent);
		rte_tel_data_add_dict_u64(c, "mail_recv", rt->cores[i]->mail_recv);
		snprintf(name, sizeof(name), "core%u", i);
		rte_tel_data_add_dict_container(d, name, c, 0);
	}
	return 0;
}

int tn__stats_register(struct tn_runtime *rt)
{
	/* Registering twice (a second tn_main in one process) is harmless. */
	rte_telemetry_register_cmd("/tern/stats", tel_stats,
				   "Tern port counters summed over cores. Parameters: int port_id");
	rte_telemetry_register_cmd("/tern/cores", tel_cores, "Tern per-core counters");
	tn__stack_stats_register();
	tn__tcp_conns_register();
	return 0;
}

void tn__stats_print(struct tn_runtime *rt, FILE *out)
{
	uint16_t p;
	unsigned i;

	for (p = 0; p < rt->nports; p++) {
		struct tn_port_stats st;

		tn_port_stats_get(-1, p, &st);
		fprintf(out,
			"port %u: rx %llu pkts %llu bytes %llu bursts, tx %llu pkts %llu bytes "
			"%llu bursts, drops rx %llu tx %llu, no-mbuf %llu, missed %llu\n",
			p, (unsigned long long)st.rx_pkts, (unsigned long long)st.rx_bytes,
			(unsigned long long)st.rx_bursts, (unsigned long long)st.tx_pkts,
			(unsigned long long)st.tx_bytes, (unsigned long long)st.tx_bursts,
			(unsigned long long)st.rx_drops, (unsigned long long)st.tx_drops,
			(unsigned long long)st.rx_nombuf, (unsigned long long)st.rx_missed);
		if (rt->ncores > 1)
			for (i = 0; i < rt->ncores; i++) {
				const struct tn_port_stats *c = &rt->cores[i]->stats[p];
				fprintf(out, "  core %u: rx %llu tx %llu drops rx %llu tx %llu\n", i,
					(unsigned long long)c->rx_pkts,
					(unsigned long long)c->tx_pkts,
					(unsigned long long)c->rx_drops,
					(unsigned long long)c->tx_drops);
			}
	}
	tn__stack_stats_print(rt, out);
}
