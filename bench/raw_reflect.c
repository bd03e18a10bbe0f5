/* raw-reflect: the smallest DPDK MAC-swap reflector, without Tern, as the
 * floor that bench/run_dataplane.py compares tern-reflect's round trip
 * with.  One port (the first the EAL probes), one RX and one TX queue,
 * and a loop of rx_burst -> swap -> tx_burst on the main lcore; frames the
 * TX queue does not take are freed (as testpmd does without --retry).
 *
 *     raw-reflect [EAL arguments] [-- --burst N]
 *
 * Prints `ready` once the port is up and exits 0 on SIGINT/SIGTERM. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#define NB_DESC 1024
#define NB_MBUFS 8191
#define MAX_BURST 64

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int port_init(uint16_t port, struct rte_mempool *mp)
{
	struct rte_eth_conf conf;
	struct rte_eth_link link;
	uint16_t nb_rxd = NB_DESC, nb_txd = NB_DESC;
	int err, tries;

	memset(&conf, 0, sizeof(conf));
	err = rte_eth_dev_configure(port, 1, 1, &conf);
	if (!err)
		err = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	if (!err)
		err = rte_eth_rx_queue_setup(port, 0, nb_rxd, (unsigned)rte_socket_id(), NULL, mp);
	if (!err)
		err = rte_eth_tx_queue_setup(port, 0, nb_txd, (unsigned)rte_socket_id(), NULL);
	if (!err)
		err = rte_eth_dev_start(port);
	if (err)
		return err;
	rte_eth_promiscuous_enable(port); /* not every PMD has it: fine */
	/* memif and vhost come up when the peer connects; we reflect
	 * whatever arrives, so waiting is only for a tidy start. */
	for (tries = 0; tries < 50 && !stop; tries++) {
		memset(&link, 0, sizeof(link));
		rte_eth_link_get_nowait(port, &link);
		if (link.link_status == RTE_ETH_LINK_UP)
			break;
		usleep(1000);
	}
	return 0;
}

static void reflect_loop(uint16_t port, unsigned burst)
{
	struct rte_mbuf *pkts[MAX_BURST];
	uint16_t n, sent, i;

	while (!stop) {
		n = rte_eth_rx_burst(port, 0, pkts, (uint16_t)burst);
		if (n == 0)
			continue;
		for (i = 0; i < n; i++) {
			struct rte_ether_hdr *eth = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);
			struct rte_ether_addr tmp;

			if (pkts[i]->data_len < sizeof(*eth))
				continue;
			rte_ether_addr_copy(&eth->src_addr, &tmp);
			rte_ether_addr_copy(&eth->dst_addr, &eth->src_addr);
			rte_ether_addr_copy(&tmp, &eth->dst_addr);
		}
		sent = rte_eth_tx_burst(port, 0, pkts, n);
		if (sent < n)
			rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct rte_mempool *mp;
	unsigned burst = 32;
	uint16_t port = 0;
	int n, err;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "raw-reflect: EAL initialisation failed: %s\n",
			rte_strerror(rte_errno));
		return 2;
	}
	argc -= n;
	argv += n;
	if (argc >= 3 && strcmp(argv[1], "--burst") == 0)
		burst = (unsigned)atoi(argv[2]);
	if (burst < 1 || burst > MAX_BURST) {
		fprintf(stderr, "raw-reflect: --burst wants 1..%d\n", MAX_BURST);
		rte_eal_cleanup();
		return 2;
	}
	if (rte_eth_dev_count_avail() == 0) {
		fprintf(stderr, "raw-reflect: no port (pass e.g. --vdev=net_memif0)\n");
		rte_eal_cleanup();
		return 2;
	}
	port = 0;
	while (!rte_eth_dev_is_valid_port(port))
		port++;
	mp = rte_pktmbuf_pool_create("raw_mbufs", NB_MBUFS, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     (int)rte_socket_id());
	if (!mp) {
		fprintf(stderr, "raw-reflect: cannot create the mbuf pool: %s\n",
			rte_strerror(rte_errno));
		rte_eal_cleanup();
		return 1;
	}
	err = port_init(port, mp);
	if (err) {
		fprintf(stderr, "raw-reflect: port %u: setup failed: %s\n", port,
			rte_strerror(-err));
		rte_eal_cleanup();
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	reflect_loop(port, burst);
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port); /* removes the memif/vhost socket it made */
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return 0;
}
