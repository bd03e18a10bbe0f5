/* Port bring-up on any PMD: one RX/TX queue pair per polling core where
 * the port has enough queues (RSS with a symmetric key spreads flows),
 * software steering through core 0 where it has fewer; checksum and TSO
 * offloads where the port offers them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <net/if.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "tn_dp_internal.h"
#include "tn_xdp.h"

/* 0x6d5a repeated: the well-known symmetric Toeplitz key (Woo and Park),
 * under which (src, dst) and (dst, src) hash alike. */
const uint8_t tn__rss_key[40] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

/* Describes how port 0 hands flows to cores, so that each core's stack
 * connects from ports whose replies come back to it: software steering
 * (tn__flow_core), or RSS with our key and the port's RETA.  A PMD that
 * does not show its RETA is not described (ports are not filtered):
 * net_tap's queues are chosen by the kernel's tun with a hash of its
 * own, which no port choice can aim at. */
static void steer_describe(struct tn_runtime *rt, const struct rte_eth_dev_info *info)
{
	struct rte_eth_rss_reta_entry64 conf[TN_STEER_RETA_MAX / RTE_ETH_RETA_GROUP_SIZE];
	struct tn_stack_steer *st = &rt->steer0;
	uint16_t n = info->reta_size, i;

	memset(st, 0, sizeof(*st));
	if (rt->ncores <= 1)
		return;
	memcpy(st->key, tn__rss_key, sizeof(st->key));
	if (rt->sw_steer[0]) {
		st->kind = TN_STEER_SOFT;
		st->n = (uint16_t)rt->ncores;
		return;
	}
	memset(conf, 0, sizeof(conf));
	for (i = 0; i < RTE_DIM(conf); i++)
		conf[i].mask = UINT64_MAX;
	if (n < 1 || n > TN_STEER_RETA_MAX ||
	    rte_eth_dev_rss_reta_query(rt->port_ids[0], conf, n) != 0) {
		st->kind = TN_STEER_NONE;
		return;
	}
	st->kind = TN_STEER_RSS;
	st->reta_size = n;
	for (i = 0; i < n; i++)
		st->reta[i] = conf[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
}

static int port_setup(struct tn_runtime *rt, unsigned idx)
{
	uint16_t port = rt->port_ids[idx];
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	uint16_t nq, nb_rxd = (uint16_t)rt->cfg.nb_rxd, nb_txd = (uint16_t)rt->cfg.nb_txd;
	int err, socket = rte_eth_dev_socket_id(port);
	uint16_t q;

	if (socket < 0)
		socket = (int)rte_socket_id();
	err = rte_eth_dev_info_get(port, &info);
	if (err)
		return err;
	nq = (uint16_t)RTE_MIN(rt->ncores, RTE_MIN(info.max_rx_queues, info.max_tx_queues));
	if (nq == 0)
		nq = 1;
	/* Software steering hashes on core 0 alone: a port with some
	 * queues but fewer than cores gets one, not RSS and steering on
	 * top of each other (a flow's RSS queue would not be its core). */
	if (nq < rt->ncores)
		nq = 1;
	memset(&conf, 0, sizeof(conf));
	if (nq > 1 && info.flow_type_rss_offloads) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = (uint8_t *)tn__rss_key;
		conf.rx_adv_conf.rss_conf.rss_key_len = sizeof(tn__rss_key);
		/* RTE_ETH_RSS_IP includes FRAG_IPV4: every fragment of a
		 * datagram, the first too, hashes on the addresses alone, so
		 * they all reach the core that reassembles them. */
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP) &
			info.flow_type_rss_offloads;
	} else if (nq > 1) {
		nq = 1; /* several queues but no RSS: one queue, steer in software */
	}
	/* Offloads the port has; the stack computes the rest in software. */
	conf.txmode.offloads = info.tx_offload_capa &
		(RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM |
		 RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_TSO |
		 RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
	conf.rxmode.offloads = info.rx_offload_capa &
		(RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM |
		 RTE_ETH_RX_OFFLOAD_TCP_CKSUM);
	err = rte_eth_dev_configure(port, nq, nq, &conf);
	if (err)
		return err;
	err = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	if (err)
		return err;
	for (q = 0; q < nq; q++) {
		struct rte_eth_txconf txc = info.default_txconf;
		struct rte_eth_rxconf rxc = info.default_rxconf;

		txc.offloads = conf.txmode.offloads;
		rxc.offloads = conf.rxmode.offloads;
		err = rte_eth_rx_queue_setup(port, q, nb_rxd, (unsigned)socket, &rxc, rt->mp);
		if (err)
			return err;
		err = rte_eth_tx_queue_setup(port, q, nb_txd, (unsigned)socket, &txc);
		if (err)
			return err;
	}
	rt->port_nq[idx] = nq;
	rt->port_tx_offloads[idx] = conf.txmode.offloads;
	rt->sw_steer[idx] = nq < rt->ncores;
	rt->port_af_xdp[idx] = info.driver_name && strcmp(info.driver_name, "net_af_xdp") == 0;
	/* A PMD without multi-segment TX may read only the first segment
	 * (af_xdp copies pkt_len bytes from it).  af_xdp's zero-copy TX
	 * also hands the kernel the mbuf's own buffer, which an indirect
	 * mbuf's data is not in. */
	rt->port_tx_flat[idx] = !(info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) ||
				rt->port_af_xdp[idx];
	err = rte_eth_dev_start(port);
	if (err)
		return err;
	rt->port_started[idx] = true;
	if (idx == 0)
		steer_describe(rt, &info);
	/* Not every PMD has a promiscuous mode (net_ring does not): fine. */
	rte_eth_promiscuous_enable(port);
	return 0;
}

/* Waits for every link to come up, polling without sleeping long. */
static void wait_links(struct tn_runtime *rt)
{
	uint64_t deadline = rte_get_timer_cycles() +
			    rte_get_timer_hz() * rt->cfg.link_timeout_ms / 1000;
	unsigned i;

	for (i = 0; i < rt->nports; i++) {
		struct rte_eth_link link;

		for (;;) {
			memset(&link, 0, sizeof(link));
			rte_eth_link_get_nowait(rt->port_ids[i], &link);
			if (link.link_status == RTE_ETH_LINK_UP)
				break;
			if (rte_get_timer_cycles() >= deadline) {
				fprintf(stderr, "tern: port %u: link still down after %u ms; "
					"going on\n", rt->port_ids[i], rt->cfg.link_timeout_ms);
				break;
			}
			usleep(1000);
		}
	}
}

static int steer_add(struct tn_runtime *rt, unsigned i, const char *ifname, uint32_t addr,
		     uint8_t proto, uint16_t port, const char *what)
{
	int err = tn_xdp_steer_add(ifname, addr, proto, port);

	if (err)
		fprintf(stderr, "tern: port %u (%s): steering %s: %s\n", rt->port_ids[i], ifname,
			what, strerror(-err));
	return err;
}

/* The XDP program of every net_af_xdp port gets the --steer rules; port
 * 0's, with --ip, also the stack's address as a whole ({addr, 0, 0}):
 * ARP for it and all IPv4 to it (ICMP, UDP, TCP, every fragment) go to
 * the stack, and everything else (the kernel's own addresses, IPv6,
 * broadcasts, other hosts' ARP) stays with the kernel. */
static int steer_af_xdp(struct tn_runtime *rt)
{
	unsigned i, r;
	int err;

	for (i = 0; i < rt->nports; i++) {
		struct rte_eth_dev_info info;
		char ifname[IF_NAMESIZE], what[32];
		bool stack = i == 0 && rt->cfg.ip;

		if (!rt->port_af_xdp[i] || (!rt->cfg.nsteer && !stack))
			continue;
		if (rte_eth_dev_info_get(rt->port_ids[i], &info) != 0 || !info.if_index ||
		    !if_indextoname(info.if_index, ifname))
			return -ENODEV;
		for (r = 0; r < rt->cfg.nsteer; r++) {
			const struct tn_steer_rule *s = &rt->cfg.steer[r];

			snprintf(what, sizeof(what), "rule %u", r + 1);
			err = steer_add(rt, i, ifname, s->addr, s->proto, s->port, what);
			if (err)
				return err;
		}
		if (!stack)
			continue;
		err = steer_add(rt, i, ifname, rt->cfg.ip, 0, 0, "--ip");
		if (err)
			return err;
		if (tn_xdp_kernel_has_addr(ifname, rt->cfg.ip))
			fprintf(stderr, "tern: port %u (%s): the kernel has --ip's address on %s "
				"too; the stack takes all of its traffic, ARP included\n",
				rt->port_ids[i], ifname, ifname);
	}
	return 0;
}

int tn__ports_init(struct tn_runtime *rt)
{
	bool af_xdp = false;
	uint16_t port;
	unsigned i;
	int err;

	RTE_ETH_FOREACH_DEV(port) {
		if (rt->nports == TN_MAX_PORTS) {
			fprintf(stderr, "tern: more than %d ports; using the first %d\n",
				TN_MAX_PORTS, TN_MAX_PORTS);
			break;
		}
		rt->port_ids[rt->nports++] = port;
	}
	for (i = 0; i < rt->nports; i++) {
		struct rte_eth_dev_info info;

		if (rte_eth_dev_info_get(rt->port_ids[i], &info) == 0 && info.driver_name &&
		    strcmp(info.driver_name, "net_af_xdp") == 0)
			af_xdp = true;
	}
	rt->mp = tn__pool_create("tn_mbufs", rt->cfg.nb_mbufs, (int)rte_socket_id(), af_xdp);
	if (!rt->mp) {
		fprintf(stderr, "tern: cannot create the mbuf pool (%u mbufs): %s\n",
			rt->cfg.nb_mbufs, rte_errno == EFAULT ? "its memory is in pieces, "
				"and net_af_xdp needs it in one" : rte_strerror(rte_errno));
		return -ENOMEM;
	}
	for (i = 0; i < rt->nports; i++) {
		unsigned before = tn__mbufs_in_use(rt->mp);

		err = port_setup(rt, i);
		/* What af_xdp's fill ring took, which it never gives back
		 * (leak.c); nothing else allocates while ports are set up. */
		if (rt->port_af_xdp[i])
			rt->port_kept[i] = tn__mbufs_in_use(rt->mp) - before;
		if (err) {
			fprintf(stderr, "tern: port %u: setup failed: %s\n", rt->port_ids[i],
				rte_strerror(-err));
			return err < 0 ? err : -EIO;
		}
	}
	wait_links(rt);
	return steer_af_xdp(rt);
}

void tn__ports_fini(struct tn_runtime *rt)
{
	unsigned i;

	tn__ports_quiesce(rt);
	for (i = 0; i < rt->nports; i++) {
		if (rt->port_started[i])
			rte_eth_dev_stop(rt->port_ids[i]);
		/* Closing removes what the PMD created: tap devices, XDP
		 * programs, vhost sockets. */
		rte_eth_dev_close(rt->port_ids[i]);
		rt->port_started[i] = false;
	}
}

uint16_t tn_port_count(void)
{
	return tn__rt ? tn__rt->nports : 0;
}

int tn_port_mac(uint16_t port, uint8_t mac[6])
{
	struct rte_ether_addr a;
	int err;

	if (!tn__rt || port >= tn__rt->nports)
		return -ENODEV;
	err = rte_eth_macaddr_get(tn__rt->port_ids[port], &a);
	if (err)
		return err;
	memcpy(mac, a.addr_bytes, 6);
	return 0;
}

int tn_port_link_up(uint16_t port)
{
	struct rte_eth_link link;
	int err;

	if (!tn__rt || port >= tn__rt->nports)
		return -ENODEV;
	memset(&link, 0, sizeof(link));
	err = rte_eth_link_get_nowait(tn__rt->port_ids[port], &link);
	if (err)
		return err;
	return link.link_status == RTE_ETH_LINK_UP;
}
