/* The dataplane's exit-time mbuf audit (dataplane/leak.c) against a known
 * answer.  On a net_null port, which makes packets up on RX and frees
 * what is sent, the rx handler keeps the first --hold N packets for good
 * and sends the rest back; the main task returns once N are held and
 * 10,000 packets went by.  dp_leak_test.sh checks that the audit finds
 * exactly N missing ("mbufs in use at exit: N", exit status 1), and with
 * N = 0 nothing (exit 0, no such line), also under --fault and --pcap,
 * whose held packets and copies must all be back before it counts.
 *
 * usage: dp_leak_test [EAL arguments] -- [Tern options] --hold N */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include <tern/dataplane.h>

#define MAX_HOLD 64
#define PASSED 10000

static struct {
	unsigned hold, held;
	uint64_t seen;
	struct rte_mbuf *kept[MAX_HOLD];
} g;

static int parse_opt(void *arg, const char *name, const char *v)
{
	char *end;
	unsigned long x;

	(void)arg;
	if (strcmp(name, "hold") != 0)
		return -ENOENT;
	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || end == v || *end || x > MAX_HOLD) {
		fprintf(stderr, "dp_leak_test: --hold wants 0..%d, not '%s'\n", MAX_HOLD, v);
		return -EINVAL;
	}
	g.hold = (unsigned)x;
	return 0;
}

/* Only the main core polls (-l 0): no atomics needed. */
static uint16_t on_rx(struct tn_core *c, uint16_t port, struct rte_mbuf **pkts, uint16_t n,
		      void *arg)
{
	uint16_t i = 0;

	(void)arg;
	while (i < n && g.held < g.hold)
		g.kept[g.held++] = pkts[i++]; /* never freed: the leak */
	g.seen += n;
	if (i < n)
		tn_tx_burst(c, port, pkts + i, (uint16_t)(n - i));
	return n;
}

static intptr_t leak_main(void *arg)
{
	uint64_t deadline = tn_now() + 10 * TN_NS_PER_S;

	(void)arg;
	while (g.held < g.hold || g.seen < PASSED) {
		if (tn_now() > deadline) {
			fprintf(stderr, "dp_leak_test: held %u of %u, saw %llu packets\n", g.held,
				g.hold, (unsigned long long)g.seen);
			return -ETIMEDOUT;
		}
		int err = tn_sleep(TN_NS_PER_MS);
		if (err)
			return err;
	}
	printf("held %u, saw %llu packets\n", g.held, (unsigned long long)g.seen);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const value_opts[] = {"hold", NULL};
	struct tn_app app = {
		.name = "dp_leak_test",
		.usage = "  --hold N   keep N received packets for good (0..64)\n",
		.parse_opt = parse_opt,
		.value_opts = value_opts,
		.rx = on_rx,
		.main = leak_main,
	};

	return tn_main_app(argc, argv, &app);
}
