/* Idle TCP connections held on one core: what they cost in memory.
 *
 * Two stacks wired back to back in one process (as tn-tcp-bench), a
 * client at 10.0.0.1 and a server at 10.0.0.2, all on this thread.
 * Connector tasks open N connections to the server's listeners (two
 * ports: one client address has 64,512 ports per destination); the
 * server accepts and keeps every handle.  Once all are established and
 * the stacks are quiet, the process's RSS and heap are compared with
 * their values before the first connection: both ends of every
 * connection are in this process, so the delta / N is the cost of a
 * whole connection (two TCBs, two table slots), twice what a server
 * holding N connections to remote clients pays.  Idle connections hold
 * no mbufs: the mempool's in-use count is checked, and its peak during
 * the handshakes reported.
 *
 *     build/bench/tn-tcp-conns [N]      (default 100000)
 *
 * Prints one line to parse: "conns: N=... rss_bytes=... heap_bytes=...
 * per_conn_rss=... per_conn_heap=... mbufs_idle=... mbufs_peak=...
 * pool_mbufs=... pool_bytes=... open_s=..." and exits 0 when every
 * connection was established and is still so after an idle second. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#include <tern/coro.h>
#include <tern/stack.h>
#include <tern/tcp.h>

#define PORT0 7000
#define NPORTS 2 /* server ports: 2 x 64,512 client ports */
#define CONNECTORS 64
#define POOL_MBUFS 8191

static struct tn_stack *sa, *sb;
static unsigned long nconns = 100000;
static struct tn_tcp_conn **cli, **srv;
static unsigned long opened, accepted, failed, next_conn;
static unsigned mbufs_peak;
static struct rte_mempool *mp;
static bool done;

/* The wire and both stacks' timers, every loop turn. */
static bool wire(void *arg)
{
	struct rte_mbuf *m[64];
	uint64_t now = tn_now();
	bool did = false;
	unsigned inuse;
	uint16_t n;

	(void)arg;
	inuse = rte_mempool_in_use_count(mp);
	if (inuse > mbufs_peak)
		mbufs_peak = inuse;
	while ((n = tn_stack_output(sa, m, 64)) != 0) {
		tn_stack_input(sb, m, n, now);
		did = true;
	}
	while ((n = tn_stack_output(sb, m, 64)) != 0) {
		tn_stack_input(sa, m, n, now);
		did = true;
	}
	if (now >= tn_stack_next_deadline(sa))
		tn_stack_timers(sa, now);
	if (now >= tn_stack_next_deadline(sb))
		tn_stack_timers(sb, now);
	return did || !done;
}

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* Resident set size in bytes, from /proc/self/statm. */
static long rss_bytes(void)
{
	long size, res;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = -1;
	fclose(f);
	return res < 0 ? -1 : res * sysconf(_SC_PAGESIZE);
}

static intptr_t acceptor(void *arg)
{
	struct tn_tcp_listener *l = arg;

	while (accepted < nconns) {
		struct tn_tcp_conn *c;
		int err = tn_tcp_accept(l, &c);

		if (err == -ECANCELED || err == -EBADF)
			return 0;
		if (err == 0)
			srv[accepted++] = c;
	}
	return 0;
}

static intptr_t connector(void *arg)
{
	struct tn_tcp_opts o = { 0 };

	(void)arg;
	while (next_conn < nconns) {
		unsigned long i = next_conn++;
		uint16_t port = (uint16_t)(PORT0 + i % NPORTS);
		int err = tn_tcp_connect(sa, rte_cpu_to_be_32(0x0a000002), port, &o, &cli[i]);

		if (err) {
			cli[i] = NULL;
			if (failed++ < 5)
				fprintf(stderr, "connect %lu: %s\n", i, tn_strerror(err));
		} else {
			opened++;
		}
	}
	return 0;
}

static unsigned long established(struct tn_tcp_conn **cs, unsigned long n)
{
	unsigned long k = 0;

	for (unsigned long i = 0; i < n; i++) {
		struct tn_tcp_info ti;

		if (!cs[i])
			continue;
		tn_tcp_info(cs[i], &ti);
		k += ti.state == TN_TCP_ESTABLISHED;
	}
	return k;
}

static intptr_t main_task(void *arg)
{
	struct tn_tcp_listener *l[NPORTS];
	struct tn_task *acc[NPORTS], *con[CONNECTORS];
	struct mallinfo2 h0, h1;
	long r0, r1;
	double t0, t1;
	unsigned long est_c, est_s;
	unsigned idle_inuse, i;
	int rc = 0;

	(void)arg;
	tn_poller_register(tn_sched_self(), wire, NULL);
	for (i = 0; i < NPORTS; i++)
		if (tn_tcp_listen(sb, 0, (uint16_t)(PORT0 + i), 65535, NULL, &l[i]))
			return -1;
	/* One connection first, so that the client's ARP entry exists:
	 * 64 SYNs at once would overflow the queue of frames waiting for
	 * it (8) and wait out the initial RTO. */
	{
		struct tn_tcp_opts o = { 0 };
		struct tn_tcp_conn *c;

		acc[0] = tn_task_spawn(acceptor, l[0]);
		if (tn_tcp_connect(sa, rte_cpu_to_be_32(0x0a000002), PORT0, &o, &c))
			return -1;
		tn_sleep(TN_NS_PER_MS);
		tn_tcp_abort(c);
		tn_task_cancel(acc[0]);
		tn_await(tn_task_join(acc[0]), NULL);
		if (accepted != 1)
			return -1;
		tn_tcp_abort(srv[0]);
		srv[0] = NULL;
		accepted = 0;
	}
	/* The baseline: stacks, listeners and the handle arrays exist and
	 * are touched; no connection yet. */
	h0 = mallinfo2();
	r0 = rss_bytes();
	t0 = mono();
	for (i = 0; i < NPORTS; i++)
		acc[i] = tn_task_spawn(acceptor, l[i]);
	for (i = 0; i < CONNECTORS; i++)
		con[i] = tn_task_spawn(connector, NULL);
	for (i = 0; i < CONNECTORS; i++)
		tn_await(tn_task_join(con[i]), NULL);
	t1 = mono();
	/* The last ACKs of the handshakes, and the server side's accepts. */
	while (accepted < opened && tn_sleep(TN_NS_PER_MS) == 0 && mono() < t1 + 5)
		;
	for (i = 0; i < NPORTS; i++) {
		tn_task_cancel(acc[i]);
		tn_await(tn_task_join(acc[i]), NULL);
	}
	/* Idle for a second: the handshakes' timers run out, and an idle
	 * connection must not need any. */
	tn_sleep(TN_NS_PER_S);
	idle_inuse = rte_mempool_in_use_count(mp);
	h1 = mallinfo2();
	r1 = rss_bytes();
	est_c = established(cli, nconns);
	est_s = established(srv, accepted);
	printf("conns: N=%lu established_client=%lu established_server=%lu failed=%lu "
	       "rss_bytes=%ld heap_bytes=%ld per_conn_rss=%.0f per_conn_heap=%.0f "
	       "mbufs_idle=%u mbufs_peak=%u pool_mbufs=%u pool_bytes=%zu open_s=%.3f\n",
	       nconns, est_c, est_s, failed, r1 - r0, (long)(h1.uordblks - h0.uordblks),
	       (double)(r1 - r0) / nconns, (double)(h1.uordblks - h0.uordblks) / nconns,
	       idle_inuse, mbufs_peak, mp->size,
	       (size_t)mp->size * (mp->header_size + mp->elt_size + mp->trailer_size), t1 - t0);
	if (est_c != nconns || est_s != nconns || idle_inuse != 0)
		rc = -1;
	for (unsigned long k = 0; k < nconns; k++) {
		if (cli[k])
			tn_tcp_abort(cli[k]);
		if (k < accepted)
			tn_tcp_abort(srv[k]);
	}
	for (i = 0; i < NPORTS; i++)
		tn_tcp_listener_close(l[i]);
	tn_sleep(10 * TN_NS_PER_MS); /* the RSTs cross */
	done = true;
	return rc;
}

int main(int argc, char **argv)
{
	char prefix[32];
	char *eal[] = { argv[0], "--no-huge", "-m", "256", "--no-pci", "--file-prefix", prefix,
			"--log-level", "lib.eal:error", NULL };
	struct tn_stack_config ca = { .mac = { 2, 0, 0, 0, 0, 1 }, .ip = rte_cpu_to_be_32(0x0a000001),
				      .prefix_len = 24, .seed = 1, .udp_eph_lo = 1024,
				      .udp_eph_hi = 65535 };
	struct tn_stack_config cb = { .mac = { 2, 0, 0, 0, 0, 2 }, .ip = rte_cpu_to_be_32(0x0a000002),
				      .prefix_len = 24, .seed = 2 };
	char *end;
	int rc;

	if (argc > 1) {
		nconns = strtoul(argv[1], &end, 0);
		if (*end || !nconns || nconns > NPORTS * 64512ul) {
			fprintf(stderr, "usage: %s [N]  (1..%lu connections)\n", argv[0],
				NPORTS * 64512ul);
			return 2;
		}
	}
	snprintf(prefix, sizeof(prefix), "tn_tcp_conns_%d", (int)getpid());
	if (rte_eal_init(9, eal) < 0)
		return 1;
	mp = rte_pktmbuf_pool_create("conns", POOL_MBUFS, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     SOCKET_ID_ANY);
	cli = calloc(nconns, sizeof(*cli));
	srv = calloc(nconns, sizeof(*srv));
	if (!mp || !cli || !srv)
		return 1;
	/* Touch them now: they belong to the baseline. */
	memset(cli, 0, nconns * sizeof(*cli));
	memset(srv, 0, nconns * sizeof(*srv));
	ca.mp = cb.mp = mp;
	sa = tn_stack_create(&ca, (uint64_t)(mono() * 1e9));
	sb = tn_stack_create(&cb, (uint64_t)(mono() * 1e9));
	if (!sa || !sb)
		return 1;
	rc = tn_run(main_task, NULL, NULL, NULL);
	tn_stack_destroy(sa);
	tn_stack_destroy(sb);
	free(cli);
	free(srv);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return rc ? 1 : 0;
}
