/* kernel-feed: tern-feed's publisher and subscriber on kernel UDP sockets,
 * the baseline bench/run_feed.py measures tern-feed against.  No Tern in
 * it on purpose: the same message format (apps/feed_msg.h: CLOCK_MONOTONIC
 * send times), the same sequence accounting (apps/seq_track.h) and
 * histogram (apps/latency_hist.h), the same pacing and output lines.
 *
 *     kernel-feed pub GROUP:PORT [--ifaddr A] [--rate N] [--size N]
 *                     [--count N] [--feed-id N]
 *     kernel-feed sub GROUP:PORT [--ifaddr A] [--count N] [--idle-exit S] [--spin]
 *
 * pub: a token bucket on CLOCK_MONOTONIC, spinning between messages as
 * tern-feed's loop does, holding 1 ms of messages (or 32), sent with
 * sendmmsg in batches of up to 32 stamped with one clock reading.
 * IP_MULTICAST_IF is --ifaddr (default 127.0.0.1), TTL 1, loopback on,
 * so a subscriber on the same host (on loopback: `ip link set lo
 * multicast on` and a 224.0.0.0/4 route on lo, which run_feed.py sets up
 * in a namespace of its own) gets the messages.
 * sub: joins GROUP on --ifaddr and receives with recvmmsg, 32 at a time,
 * one clock reading per batch: blocking (MSG_WAITFORONE), or with --spin
 * non-blocking in a busy loop (as Tern polls).  It exits after --count
 * messages, after --idle-exit seconds without one (once one came), or
 * on SIGINT/SIGTERM, and prints tern-feed's summary and latency lines.
 * Exit 0, 1 on a socket error, 2 on a bad command line. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "feed_msg.h"
#include "latency_hist.h"
#include "seq_track.h"

#define PROG "kernel-feed"
#define BATCH 32

static volatile sig_atomic_t stop;

static struct {
	bool pub, spin;
	struct sockaddr_in group;
	struct in_addr ifaddr;
	double rate, idle_exit;
	unsigned size, feed_id;
	uint64_t count;
} opt = {
	.rate = 1000,
	.size = 64,
	.feed_id = 1,
	.idle_exit = 2,
};

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: " PROG " pub GROUP:PORT [--ifaddr A] [--rate N] [--size N] "
			"[--count N] [--feed-id N]\n"
			"       " PROG " sub GROUP:PORT [--ifaddr A] [--count N] "
			"[--idle-exit S] [--spin]\n");
	return 2;
}

static int num(const char *name, const char *v, double lo, double hi, double *out)
{
	char *end;
	double x = v ? strtod(v, &end) : 0;

	if (!v || end == v || *end || !(x >= lo && x <= hi)) {
		fprintf(stderr, PROG ": --%s wants a number in %g..%g, not '%s'\n", name, lo, hi,
			v ? v : "");
		return -1;
	}
	*out = x;
	return 0;
}

static int parse(int argc, char **argv)
{
	char host[32];
	const char *colon;
	double x;

	if (argc < 3 || (strcmp(argv[1], "pub") && strcmp(argv[1], "sub")))
		return usage();
	opt.pub = strcmp(argv[1], "pub") == 0;
	colon = strrchr(argv[2], ':');
	if (!colon || (size_t)(colon - argv[2]) >= sizeof(host))
		return usage();
	memcpy(host, argv[2], (size_t)(colon - argv[2]));
	host[colon - argv[2]] = '\0';
	opt.group.sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &opt.group.sin_addr) != 1 ||
	    (ntohl(opt.group.sin_addr.s_addr) >> 28) != 0xe) {
		fprintf(stderr, PROG ": '%s' is not a multicast group\n", host);
		return 2;
	}
	if (num("port", colon + 1, 1, 65535, &x))
		return 2;
	opt.group.sin_port = htons((uint16_t)x);
	opt.ifaddr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 3; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--spin") == 0) {
			opt.spin = true;
			continue;
		}
		i++;
		if (strcmp(a, "--ifaddr") == 0) {
			if (!v || inet_pton(AF_INET, v, &opt.ifaddr) != 1) {
				fprintf(stderr, PROG ": --ifaddr wants A.B.C.D\n");
				return 2;
			}
		} else if (strcmp(a, "--rate") == 0 && opt.pub) {
			if (num("rate", v, 1, 1e9, &opt.rate))
				return 2;
		} else if (strcmp(a, "--size") == 0 && opt.pub) {
			if (num("size", v, TN_FEED_HDR_LEN, TN_FEED_MAX_MSG, &x))
				return 2;
			opt.size = (unsigned)x;
		} else if (strcmp(a, "--feed-id") == 0 && opt.pub) {
			if (num("feed-id", v, 0, 65535, &x))
				return 2;
			opt.feed_id = (unsigned)x;
		} else if (strcmp(a, "--count") == 0) {
			if (num("count", v, 1, 1e15, &x))
				return 2;
			opt.count = (uint64_t)x;
		} else if (strcmp(a, "--idle-exit") == 0 && !opt.pub) {
			if (num("idle-exit", v, 0.01, 3600, &opt.idle_exit))
				return 2;
		} else {
			fprintf(stderr, PROG ": unknown option '%s' for %s\n", a, argv[1]);
			return 2;
		}
	}
	if (opt.pub && !opt.count) {
		fprintf(stderr, PROG ": pub needs --count N\n");
		return 2;
	}
	return 0;
}

static int pub(void)
{
	static uint8_t bufs[BATCH][TN_FEED_MAX_MSG];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct tn_feed_hdr h = {
		.magic = TN_FEED_MAGIC,
		.version = TN_FEED_VERSION,
		.feed_id = (uint16_t)opt.feed_id,
		.session = (uint32_t)getpid() ^ (uint32_t)tn_feed_clock_ns(),
		.payload_len = opt.size - TN_FEED_HDR_LEN,
	};
	double slack = opt.rate / 1000 > BATCH ? opt.rate / 1000 : BATCH, credit = 0;
	uint64_t sent = 0, errors = 0, t0, last;
	unsigned char ttl = 1, loop = 1;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (s < 0 || setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &opt.ifaddr, sizeof(opt.ifaddr)) ||
	    setsockopt(s, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, 1) ||
	    setsockopt(s, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, 1)) {
		perror(PROG ": socket");
		return 1;
	}
	memset(msgs, 0, sizeof(msgs));
	for (unsigned i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){bufs[i], opt.size};
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &opt.group;
		msgs[i].msg_hdr.msg_namelen = sizeof(opt.group);
	}
	printf("ready\n");
	fflush(stdout);
	t0 = last = tn_feed_clock_ns();
	while (h.seq < opt.count && !stop) {
		uint64_t now = tn_feed_clock_ns();
		unsigned n;
		int k;

		credit += (double)(now - last) * opt.rate / 1e9;
		last = now;
		if (credit > slack)
			credit = slack;
		n = credit < BATCH ? (unsigned)credit : BATCH;
		if (opt.count - h.seq < n)
			n = (unsigned)(opt.count - h.seq);
		if (!n)
			continue; /* spin, as tern-feed's loop does */
		credit -= n;
		h.send_ns = tn_feed_clock_ns();
		for (unsigned i = 0; i < n; i++) {
			tn_feed_hdr_put(bufs[i], &h);
			tn_feed_fill(bufs[i] + TN_FEED_HDR_LEN, h.payload_len, h.seq, 0);
			h.seq++;
		}
		k = sendmmsg(s, msgs, n, 0);
		if (k < 0)
			k = 0;
		sent += (unsigned)k;
		errors += n - (unsigned)k; /* numbers used anyway: a gap downstream */
	}
	double secs = (double)(tn_feed_clock_ns() - t0) / 1e9;
	printf("summary: sent %llu errors %llu in %.3f s: %.0f msgs/s\n", (unsigned long long)sent,
	       (unsigned long long)errors, secs, secs > 0 ? (double)sent / secs : 0);
	close(s);
	return 0;
}

static int sub(void)
{
	static uint8_t bufs[BATCH][TN_FEED_MAX_MSG];
	static struct tn_hist lat;
	static struct tn_seq_track seq;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct ip_mreq mreq = {opt.group.sin_addr, opt.ifaddr};
	struct sockaddr_in bind_to = opt.group;
	uint64_t received = 0, bad = 0, skew = 0, restarts = 0, t0, last_rx = 0;
	uint32_t session = 0;
	bool have_session = false;
	int one = 1, rcvbuf = 8 << 20;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s, (struct sockaddr *)&bind_to, sizeof(bind_to)) ||
	    setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq))) {
		perror(PROG ": socket");
		return 1;
	}
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (!opt.spin) {
		/* Wakes a blocked recvmmsg now and then to look at the idle
		 * exit; signals wake it at once (no SA_RESTART). */
		struct timeval tv = {0, 100000};

		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	memset(msgs, 0, sizeof(msgs));
	for (unsigned i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	tn_seq_init(&seq);
	printf("ready\nsubscribed to %s:%u\n", inet_ntoa(opt.group.sin_addr),
	       ntohs(opt.group.sin_port));
	fflush(stdout);
	t0 = tn_feed_clock_ns();
	while (!stop && (!opt.count || received < opt.count)) {
		int n = recvmmsg(s, msgs, BATCH, opt.spin ? MSG_DONTWAIT : MSG_WAITFORONE, NULL);
		uint64_t now = tn_feed_clock_ns();

		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				perror(PROG ": recvmmsg");
				return 1;
			}
			if (last_rx && now - last_rx > (uint64_t)(opt.idle_exit * 1e9))
				break;
			continue;
		}
		last_rx = now;
		for (int i = 0; i < n; i++) {
			struct tn_feed_hdr h;
			uint32_t len = msgs[i].msg_len;

			if (!tn_feed_hdr_get(bufs[i], len, &h) ||
			    !tn_feed_check(bufs[i] + TN_FEED_HDR_LEN, h.payload_len, h.seq, 0)) {
				bad++;
				continue;
			}
			if (have_session && h.session != session) {
				tn_seq_restart(&seq); /* one feed: a new publisher run */
				restarts++;
			}
			session = h.session;
			have_session = true;
			received++;
			tn_seq_add(&seq, h.seq);
			if (now < h.send_ns)
				skew++;
			else
				tn_hist_record(&lat, now - h.send_ns);
		}
	}
	setsockopt(s, IPPROTO_IP, IP_DROP_MEMBERSHIP, &mreq, sizeof(mreq));
	close(s);
	printf("summary: received %llu gaps %llu dup %llu reordered %llu late %llu bad %llu "
	       "skew %llu feeds %d restarts %llu rx_dropped 0 in %.3f s\n",
	       (unsigned long long)received, (unsigned long long)seq.missing,
	       (unsigned long long)seq.dup, (unsigned long long)seq.reordered,
	       (unsigned long long)seq.late, (unsigned long long)bad, (unsigned long long)skew,
	       have_session, (unsigned long long)restarts, (double)(tn_feed_clock_ns() - t0) / 1e9);
	printf("latency_ns p50=%llu p99=%llu p999=%llu max=%llu\n",
	       (unsigned long long)tn_hist_quantile(&lat, 0.5),
	       (unsigned long long)tn_hist_quantile(&lat, 0.99),
	       (unsigned long long)tn_hist_quantile(&lat, 0.999), (unsigned long long)lat.max);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
	int rc = parse(argc, argv);

	if (rc)
		return rc;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = opt.pub ? pub() : sub();
	fflush(stdout);
	return rc;
}
