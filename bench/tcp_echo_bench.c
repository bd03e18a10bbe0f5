/* TCP on two stacks wired back to back in one process, one core: the
 * cost of the protocol stack and the stream API with no NIC and no
 * kernel.  A client task sends 64-byte requests and awaits each echo
 * from a server task (ping-pong), then sends a bulk stream one way.
 * Prints ns and (where perf_event_open is allowed) instructions per
 * round trip, counting both ends, and the bulk rate.
 *
 *     build/bench/tn-tcp-bench [ROUND_TRIPS] [BULK_MB] [offload]
 *
 * offload: the stacks leave TCP checksums to the "port" and the wire
 * hands such frames over marked RTE_MBUF_F_RX_L4_CKSUM_NONE, as
 * vhost-user does for virtio's NEEDS_CSUM: the stack's cost on a link
 * with checksum offload. */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#include <tern/coro.h>
#include <tern/stack.h>
#include <tern/tcp.h>

static struct tn_stack *sa, *sb;
static unsigned long rounds = 200000, bulk_mb = 512;
static bool done, offload;

/* What a virtio link does to a frame whose sum was left to the port:
 * the receiver sees it unsummed, its integrity vouched for. */
static void link_offload(struct rte_mbuf **m, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		if (m[i]->ol_flags & RTE_MBUF_F_TX_L4_MASK)
			m[i]->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE;
		else
			m[i]->ol_flags = 0;
	}
}

/* The wire and both stacks' timers, every loop turn. */
static bool wire(void *arg)
{
	struct rte_mbuf *m[64];
	uint64_t now = tn_now();
	bool did = false;
	uint16_t n;

	(void)arg;
	while ((n = tn_stack_output(sa, m, 64)) != 0) {
		link_offload(m, n);
		tn_stack_input(sb, m, n, now);
		did = true;
	}
	while ((n = tn_stack_output(sb, m, 64)) != 0) {
		link_offload(m, n);
		tn_stack_input(sa, m, n, now);
		did = true;
	}
	if (now >= tn_stack_next_deadline(sa))
		tn_stack_timers(sa, now);
	if (now >= tn_stack_next_deadline(sb))
		tn_stack_timers(sb, now);
	return did || !done;
}

static int perf_open(void)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_HARDWARE;
	a.size = sizeof(a);
	a.config = PERF_COUNT_HW_INSTRUCTIONS;
	a.disabled = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

static uint64_t perf_read(int fd)
{
	uint64_t v = 0;

	if (fd < 0 || read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* This thread's CPU time: on a shared machine the wall clock also
 * counts other processes' turns. */
static double cpu(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static intptr_t server(void *arg)
{
	struct tn_tcp_listener *l = arg;
	struct tn_tcp_conn *c;
	static uint8_t buf[65536];
	ssize_t n;

	if (tn_tcp_accept(l, &c))
		return -1;
	/* Ping-pong: echo 64-byte requests. */
	for (unsigned long i = 0; i < rounds; i++) {
		if (tn_tcp_read_exactly(c, buf, 64) != 64 || tn_tcp_write(c, buf, 64))
			return -1;
	}
	/* Bulk: read until the end. */
	while ((n = tn_tcp_read(c, buf, sizeof(buf))) > 0)
		;
	tn_tcp_close(c);
	return 0;
}

static intptr_t client(void *arg)
{
	struct tn_tcp_opts o = { 0 };
	struct tn_tcp_conn *c;
	static uint8_t buf[65536];
	double t0, t1, c0, c1;
	uint64_t i0, i1;
	int fd = perf_open(), err;

	(void)arg;
	if ((err = tn_tcp_connect(sa, rte_cpu_to_be_32(0x0a000002), 7000, &o, &c))) {
		fprintf(stderr, "connect: %s\n", strerror(-err));
		return -1;
	}
	memset(buf, 0x5a, sizeof(buf));
	if (fd >= 0)
		ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	i0 = perf_read(fd);
	t0 = mono();
	c0 = cpu();
	for (unsigned long i = 0; i < rounds; i++) {
		if (tn_tcp_write(c, buf, 64) || tn_tcp_read_exactly(c, buf, 64) != 64)
			return -1;
	}
	t1 = mono();
	c1 = cpu();
	i1 = perf_read(fd);
	printf("ping-pong: %lu round trips of 64 bytes, %.0f ns of CPU each (%.0f ns wall)", rounds,
	       (c1 - c0) * 1e9 / rounds, (t1 - t0) * 1e9 / rounds);
	if (fd >= 0)
		printf(", %.0f instructions each (both ends, user space)", (double)(i1 - i0) / rounds);
	printf("\n");
	t0 = mono();
	c0 = cpu();
	for (unsigned long i = 0; i < bulk_mb * 16; i++)
		if (tn_tcp_write(c, buf, 65536))
			return -1;
	if (tn_tcp_drain(c))
		return -1;
	t1 = mono();
	c1 = cpu();
	if (bulk_mb)
		printf("bulk: %lu MiB one way, %.2f Gbit/s of CPU time (%.2f wall)\n", bulk_mb,
		       bulk_mb * 8.0 * 1.048576 / 1000 / (c1 - c0),
		       bulk_mb * 8.0 * 1.048576 / 1000 / (t1 - t0));
	tn_tcp_shutdown(c);
	tn_tcp_read(c, buf, 1);
	tn_tcp_close(c);
	if (fd >= 0)
		close(fd);
	return 0;
}

static intptr_t main_task(void *arg)
{
	struct tn_tcp_listener *l;
	struct tn_future *fs, *fc;
	int e1, e2;

	(void)arg;
	tn_poller_register(tn_sched_self(), wire, NULL);
	if (tn_tcp_listen(sb, 0, 7000, 16, NULL, &l))
		return -1;
	fs = tn_task_join(tn_task_spawn(server, l));
	fc = tn_task_join(tn_task_spawn(client, NULL));
	e1 = tn_await(fc, NULL);
	e2 = tn_await(fs, NULL);
	done = true;
	tn_tcp_listener_close(l);
	return e1 ? e1 : e2;
}

int main(int argc, char **argv)
{
	char *eal[] = { argv[0], "--no-huge", "-m", "512", "--no-pci", "--file-prefix",
			"tn_tcp_bench", "--log-level", "lib.eal:error", NULL };
	struct tn_stack_config ca = { .mac = { 2, 0, 0, 0, 0, 1 }, .ip = rte_cpu_to_be_32(0x0a000001),
				      .prefix_len = 24, .seed = 1 };
	struct tn_stack_config cb = { .mac = { 2, 0, 0, 0, 0, 2 }, .ip = rte_cpu_to_be_32(0x0a000002),
				      .prefix_len = 24, .seed = 2 };
	struct rte_mempool *mp;
	int rc;

	if (argc > 1)
		rounds = strtoul(argv[1], NULL, 0);
	if (argc > 2)
		bulk_mb = strtoul(argv[2], NULL, 0);
	if (argc > 3 && strcmp(argv[3], "offload") == 0)
		offload = true;
	else if (argc > 3) {
		fprintf(stderr, "usage: tn-tcp-bench [ROUND_TRIPS] [BULK_MB] [offload]\n");
		return 2;
	}
	ca.tx_tcp_cksum = cb.tx_tcp_cksum = offload;
	if (rte_eal_init(9, eal) < 0)
		return 1;
	mp = rte_pktmbuf_pool_create("bench", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     SOCKET_ID_ANY);
	if (!mp)
		return 1;
	ca.mp = cb.mp = mp;
	/* (The scheduler's default clock is CLOCK_MONOTONIC in ns.) */
	sa = tn_stack_create(&ca, (uint64_t)(mono() * 1e9));
	sb = tn_stack_create(&cb, (uint64_t)(mono() * 1e9));
	if (!sa || !sb)
		return 1;
	rc = tn_run(main_task, NULL, NULL, NULL);
	tn_stack_destroy(sa);
	tn_stack_destroy(sb);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return rc ? 1 : 0;
}
