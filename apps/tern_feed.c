/* tern-feed: a UDP multicast market-data publisher and subscriber on the
 * protocol stack.
 *
 *     tern-feed [EAL] -- --ip 10.0.0.1/24 --publish 239.1.1.1:5000 \
 *                        --rate 100000 --size 64 (--count N | --duration S)
 *     tern-feed [EAL] -- --ip 10.0.0.2/24 --subscribe 239.1.1.1:5000 \
 *                        [--count N] [--duration S]
 *
 * Messages are feed_msg.h's: a 32-byte header (magic, feed id, session,
 * payload length, 64-bit sequence number, send time as CLOCK_MONOTONIC
 * ns), then a payload whose bytes follow from the sequence number.
 *
 * Publisher: one socket, messages built straight in mbufs and handed to
 * the stack without a copy (tn_udp_send_mbuf), paced by a token bucket
 * on the loop clock (as tern-pktgen) holding at most 1 ms of messages
 * (or --pkt-burst), so a stalled loop does not turn into a flood.  The task
 * waits for the next loop turn (tn_sleep(0)) after each burst: that turn
 * hands the burst to the port.
 *
 * Subscriber: binds the group's port for the group alone, joins it (the
 * stack sends the IGMPv2 report), takes datagrams in bursts without a
 * copy (tn_udp_wait_readable + tn_udp_recv_burst), checks each message
 * (header, length, payload pattern), accounts its sequence number per
 * feed (seq_track.h: gaps, duplicates, reordering) and its one-way
 * latency: CLOCK_MONOTONIC read once per burst at arrival minus send_ns.
 * A live line per second, a summary at the end; it leaves the group
 * (IGMPv2 leave) before it exits, also on SIGINT/SIGTERM.
 *
 * Both print their summary and exit 0 on SIGINT/SIGTERM. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include <tern/dataplane.h>
#include <tern/udp.h>

#include "app_opts.h"
#include "feed_msg.h"
#include "latency_hist.h"
#include "seq_track.h"

#define PROG "tern-feed"
#define MAX_BURST 64
#define MAX_FEEDS 16
#define LINGER_NS (5 * TN_NS_PER_MS) /* lets the last frames leave */
#define LINK_WAIT_NS (5 * TN_NS_PER_S)

enum mode { MODE_NONE, MODE_PUB, MODE_SUB };

static struct {
	enum mode mode;
	uint32_t group; /* network order */
	uint16_t port;
	uint64_t rate;  /* messages per second, 0: as fast as possible */
	unsigned size;  /* whole message, header included */
	unsigned burst;
	unsigned feed_id;
	unsigned rcvq;
	uint64_t count;
	double duration;
	bool count_set, duration_set, quiet, linger;
} opt = {
	.rate = 1000,
	.size = 64,
	.burst = 32,
	.feed_id = 1,
	.rcvq = 4096,
};

static const char usage[] =
	"  publisher (--publish):\n"
	"  --publish GROUP:PORT  send to this multicast group (224.0.0.0/4) and port\n"
	"  --rate N        messages per second (default 1000; 0: as fast as possible)\n"
	"  --size N        message bytes with the 32-byte header, 32..8192 (default 64)\n"
	"  --count N       messages to send\n"
	"  --duration S    seconds to send (default 5 unless --count)\n"
	"  --feed-id N     the feed id in every message, 0..65535 (default 1)\n"
	"  --pkt-burst N   most messages per loop turn, 1..64 (default 32)\n"
	"  --linger        once done, keep the port up until a signal: over a\n"
	"                  shared-memory link (virtio-user) the ring's tail lives\n"
	"                  in our memory until the subscriber has taken it\n"
	"  subscriber (--subscribe):\n"
	"  --subscribe GROUP:PORT  join this group and receive on this port\n"
	"  --count N       exit after N messages (default: run until a signal)\n"
	"  --duration S    exit after S seconds (with --count: whichever first)\n"
	"  --rcvq N        socket receive queue, datagrams, 1..65536 (default 4096)\n"
	"  both:\n"
	"  --quiet         no live line\n"
	"  Both need --ip for port 0.  send_ns is CLOCK_MONOTONIC (feed_msg.h).\n";

static const char *const value_opts[] = {
	"publish", "subscribe", "rate", "size", "count", "duration", "feed-id", "pkt-burst",
	"rcvq", NULL,
};

static int parse_num(const char *name, const char *v, double lo, double hi, double *out)
{
	return tn_app_parse_num(PROG, name, v, lo, hi, out);
}

static int parse_group(const char *name, const char *v)
{
	char host[32];
	const char *colon = strrchr(v, ':');
	struct in_addr a;
	double port;

	if (!colon || (size_t)(colon - v) >= sizeof(host))
		goto bad;
	memcpy(host, v, (size_t)(colon - v));
	host[colon - v] = '\0';
	if (inet_pton(AF_INET, host, &a) != 1)
		goto bad;
	if ((ntohl(a.s_addr) >> 28) != 0xe) {
		fprintf(stderr, PROG ": --%s wants a multicast group (224.0.0.0 to "
				     "239.255.255.255), not '%s'\n", name, host);
		return -EINVAL;
	}
	char pname[24];

	snprintf(pname, sizeof(pname), "%s port", name);
	if (parse_num(pname, colon + 1, 1, 65535, &port))
		return -EINVAL;
	opt.group = a.s_addr;
	opt.port = (uint16_t)port;
	return 0;
bad:
	fprintf(stderr, PROG ": --%s wants GROUP:PORT (e.g. 239.1.1.1:5000), not '%s'\n", name,
		v);
	return -EINVAL;
}

static int wrong_mode(const char *name, const char *owner)
{
	fprintf(stderr, PROG ": --%s is a %s option\n", name, owner);
	return -EINVAL;
}

static int parse_opt(void *arg, const char *name, const char *v)
{
	double x;

	(void)arg;
	if (strcmp(name, "publish") == 0 || strcmp(name, "subscribe") == 0)
		return parse_group(name, v);
	if (strcmp(name, "quiet") == 0) {
		opt.quiet = true;
		return 0;
	}
	if (strcmp(name, "linger") == 0) {
		if (opt.mode != MODE_PUB) {
			fprintf(stderr, PROG ": --linger is a publisher option\n");
			return -EINVAL;
		}
		opt.linger = true;
		return 0;
	}
	if (strcmp(name, "count") == 0) {
		if (parse_num(name, v, 1, 1e15, &x))
			return -EINVAL;
		opt.count = (uint64_t)x;
		opt.count_set = true;
	} else if (strcmp(name, "duration") == 0) {
		if (parse_num(name, v, 0.001, 86400, &opt.duration))
			return -EINVAL;
		opt.duration_set = true;
	} else if (strcmp(name, "rate") == 0 || strcmp(name, "size") == 0 ||
		   strcmp(name, "feed-id") == 0 || strcmp(name, "pkt-burst") == 0) {
		if (opt.mode != MODE_PUB)
			return wrong_mode(name, "publisher (--publish)");
		if (strcmp(name, "rate") == 0) {
			if (parse_num(name, v, 0, 1e9, &x))
				return -EINVAL;
			opt.rate = (uint64_t)x;
		} else if (strcmp(name, "size") == 0) {
			if (parse_num(name, v, TN_FEED_HDR_LEN, TN_FEED_MAX_MSG, &x))
				return -EINVAL;
			opt.size = (unsigned)x;
		} else if (strcmp(name, "feed-id") == 0) {
			if (parse_num(name, v, 0, 65535, &x))
				return -EINVAL;
			opt.feed_id = (unsigned)x;
		} else {
			if (parse_num(name, v, 1, MAX_BURST, &x))
				return -EINVAL;
			opt.burst = (unsigned)x;
		}
	} else if (strcmp(name, "rcvq") == 0) {
		if (opt.mode != MODE_SUB)
			return wrong_mode(name, "subscriber (--subscribe)");
		if (parse_num(name, v, 1, TN_UDP_RCVQ_MAX, &x))
			return -EINVAL;
		opt.rcvq = (unsigned)x;
	} else {
		return -ENOENT;
	}
	if (opt.mode == MODE_PUB && opt.count_set && opt.duration_set) {
		fprintf(stderr, PROG ": --count and --duration exclude each other when "
				     "publishing\n");
		return -EINVAL;
	}
	return 0;
}

static void fmt_group(char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &opt.group, a, sizeof(a));
	snprintf(buf, len, "%s:%u", a, opt.port);
}

/* ---- publisher ---- */

struct pub {
	struct tn_udp_sock *u;
	struct rte_mempool *mp;
	uint8_t *buf; /* messages larger than one mbuf go through a copy */
	struct tn_feed_hdr h;
	uint64_t sent, send_errors;
};

/* Waits for port 0's link (a vhost-user or memif peer may still be
 * connecting), so messages are not sent into nothing. */
static int wait_link(void)
{
	uint64_t end = tn_now() + LINK_WAIT_NS;
	int err;

	while (tn_port_link_up(0) != 1) {
		if (tn_now() >= end) {
			fprintf(stderr, PROG ": port 0: link is down (is the peer running?); "
					     "not sending\n");
			return -ENETDOWN;
		}
		if ((err = tn_sleep(10 * TN_NS_PER_MS)) != 0)
			return err;
	}
	return 0;
}

/* Sends n messages, stamped with one clock reading. */
static void pub_burst(struct pub *p, unsigned n)
{
	struct rte_mbuf *ms[MAX_BURST];
	uint32_t plen = opt.size - TN_FEED_HDR_LEN;
	bool zc = opt.size <= rte_pktmbuf_data_room_size(p->mp) - RTE_PKTMBUF_HEADROOM;
	unsigned i;

	if (zc && rte_pktmbuf_alloc_bulk(p->mp, ms, n) != 0) {
		p->send_errors += n; /* the pool is empty: frames are in flight */
		return;
	}
	p->h.send_ns = tn_feed_clock_ns();
	for (i = 0; i < n; i++) {
		uint8_t *d = zc ? (uint8_t *)rte_pktmbuf_append(ms[i], (uint16_t)opt.size) : p->buf;
		int err;

		tn_feed_hdr_put(d, &p->h);
		tn_feed_fill(d + TN_FEED_HDR_LEN, plen, p->h.seq, 0);
		if (zc)
			err = tn_udp_send_mbuf(p->u, ms[i], opt.group, opt.port);
		else
			err = tn_udp_sendto(p->u, d, opt.size, opt.group, opt.port);
		/* A number is used whether or not the send worked: a
		 * subscriber sees a failed send as a gap, as it should. */
		p->h.seq++;
		if (err)
			p->send_errors++;
		else
			p->sent++;
	}
}

static intptr_t pub_main(struct tn_stack *st)
{
	struct pub p = {0};
	uint64_t t0, end, credit_t, next_line, last_sent = 0;
	double credit = 0, slack;
	char where[40];
	int err;

	fmt_group(where, sizeof(where));
	p.mp = tn_core_mempool(tn_core_self());
	p.buf = malloc(TN_FEED_MAX_MSG);
	p.u = tn_udp_open(st);
	if (!p.buf || !p.u) {
		fprintf(stderr, PROG ": out of memory\n");
		err = -ENOMEM;
		goto out;
	}
	err = tn_udp_bind(p.u, 0, 0);
	if (err) {
		fprintf(stderr, PROG ": bind: %s\n", strerror(-err));
		goto out;
	}
	if ((err = wait_link()) != 0)
		goto out;
	p.h = (struct tn_feed_hdr){
		.magic = TN_FEED_MAGIC,
		.version = TN_FEED_VERSION,
		.feed_id = (uint16_t)opt.feed_id,
		.session = (uint32_t)(rte_rdtsc() >> 4),
		.payload_len = opt.size - TN_FEED_HDR_LEN,
	};
	if (!opt.count_set && !opt.duration_set)
		opt.duration = 5;
	printf("publishing to %s feed %u: %u-byte messages at %llu/s\n", where, opt.feed_id,
	       opt.size, (unsigned long long)opt.rate);
	fflush(stdout);
	slack = (double)opt.rate / 1000 > opt.burst ? (double)opt.rate / 1000 : opt.burst;
	t0 = credit_t = tn_now();
	next_line = t0 + TN_NS_PER_S;
	end = opt.count_set ? UINT64_MAX : t0 + (uint64_t)(opt.duration * 1e9);
	while (tn_now() < end && (!opt.count_set || p.h.seq < opt.count)) {
		unsigned n = opt.burst;

		if (opt.count_set && opt.count - p.h.seq < n)
			n = (unsigned)(opt.count - p.h.seq);
		if (opt.rate) {
			/* Token bucket on the loop clock.  It holds a burst or
			 * 1 ms of messages, whichever is more: a loop that was
			 * preempted catches up that much, --pkt-burst per
			 * turn, and no more (pktgen's one burst of slack
			 * loses rate on a busy machine). */
			credit += (double)(tn_now() - credit_t) * (double)opt.rate / 1e9;
			credit_t = tn_now();
			if (credit > slack)
				credit = slack;
			if (n > (unsigned)credit)
				n = (unsigned)credit;
			credit -= n;
		}
		if (n)
			pub_burst(&p, n);
		if (tn_now() >= next_line) {
			if (!opt.quiet)
				printf("t=%.0fs sent %llu msgs/s total %llu errors %llu\n",
				       (double)(tn_now() - t0) / 1e9,
				       (unsigned long long)(p.sent - last_sent),
				       (unsigned long long)p.sent,
				       (unsigned long long)p.send_errors);
			fflush(stdout);
			last_sent = p.sent;
			next_line += TN_NS_PER_S;
		}
		/* The next loop turn sends the burst (tn_yield would only let
		 * other tasks run). */
		if ((err = tn_sleep(0)) != 0)
			break;
	}
	if (err == -ECANCELED) {
		tn_task_uncancel(); /* a signal: report, then exit 0 */
		err = 0;
	}
	double secs = (double)(tn_now() - t0) / 1e9;
	tn_sleep(LINGER_NS);
	printf("summary: sent %llu errors %llu in %.3f s: %.0f msgs/s\n",
	       (unsigned long long)p.sent, (unsigned long long)p.send_errors, secs,
	       secs > 0 ? (double)p.sent / secs : 0);
	fflush(stdout);
	if (opt.linger && !err) {
		/* Until SIGINT/SIGTERM cancels us. */
		while (tn_sleep(TN_NS_PER_S) == 0)
			;
		tn_task_uncancel();
	}
out:
	if (p.u)
		tn_udp_close(p.u);
	free(p.buf);
	return err;
}

/* ---- subscriber ---- */

struct feed {
	bool used;
	uint16_t id;
	uint32_t session;
	struct tn_seq_track seq;
};

struct sub {
	struct tn_udp_sock *u;
	struct feed feeds[MAX_FEEDS];
	uint64_t received, bad, skew, restarts, overflow, nfeeds;
	struct tn_hist lat, lat_sec;
};

static struct feed *feed_of(struct sub *s, const struct tn_feed_hdr *h)
{
	struct feed *free_slot = NULL;

	for (unsigned i = 0; i < MAX_FEEDS; i++) {
		struct feed *f = &s->feeds[i];

		if (f->used && f->id == h->feed_id) {
			if (f->session != h->session) {
				/* The publisher restarted: its numbers start over. */
				f->session = h->session;
				tn_seq_restart(&f->seq);
				s->restarts++;
			}
			return f;
		}
		if (!f->used && !free_slot)
			free_slot = f;
	}
	if (!free_slot)
		return NULL;
	free_slot->used = true;
	free_slot->id = h->feed_id;
	free_slot->session = h->session;
	tn_seq_init(&free_slot->seq);
	s->nfeeds++;
	return free_slot;
}

/* The payload, segment by segment (a reassembled datagram is a chain). */
static bool payload_ok(const struct rte_mbuf *m, uint64_t seq)
{
	uint32_t off = TN_FEED_HDR_LEN, pos = 0;

	for (const struct rte_mbuf *seg = m; seg; seg = seg->next) {
		uint32_t len = seg->data_len;

		if (off >= len) {
			off -= len;
			continue;
		}
		if (!tn_feed_check(rte_pktmbuf_mtod_offset(seg, const uint8_t *, off), len - off,
				   seq, pos))
			return false;
		pos += len - off;
		off = 0;
	}
	return true;
}

static void sub_one(struct sub *s, struct rte_mbuf *m, uint64_t now_ns)
{
	uint8_t hb[TN_FEED_HDR_LEN];
	const uint8_t *p = rte_pktmbuf_read(m, 0, TN_FEED_HDR_LEN, hb);
	struct tn_feed_hdr h;
	struct feed *f;

	if (!p || !tn_feed_hdr_get(p, rte_pktmbuf_pkt_len(m), &h) || !payload_ok(m, h.seq)) {
		s->bad++;
		return;
	}
	if (!(f = feed_of(s, &h))) {
		s->overflow++;
		return;
	}
	s->received++;
	tn_seq_add(&f->seq, h.seq);
	if (now_ns < h.send_ns) {
		s->skew++; /* another clock: see feed_msg.h */
		return;
	}
	tn_hist_record(&s->lat, now_ns - h.send_ns);
	tn_hist_record(&s->lat_sec, now_ns - h.send_ns);
}

/* Sums over the feeds. */
static struct tn_seq_track seq_sum(const struct sub *s)
{
	struct tn_seq_track t;

	tn_seq_init(&t);
	for (unsigned i = 0; i < MAX_FEEDS; i++) {
		const struct tn_seq_track *q = &s->feeds[i].seq;

		if (!s->feeds[i].used)
			continue;
		t.missing += q->missing;
		t.gap_events += q->gap_events;
		t.dup += q->dup;
		t.reordered += q->reordered;
		t.late += q->late;
	}
	return t;
}

static void sub_line(struct sub *s, double t, uint64_t drecv)
{
	struct tn_seq_track q = seq_sum(s);

	printf("t=%.0fs rx %llu msgs/s total %llu gaps %llu dup %llu reordered %llu "
	       "latency_ns p50=%llu p99=%llu p999=%llu max=%llu\n",
	       t, (unsigned long long)drecv, (unsigned long long)s->received,
	       (unsigned long long)q.missing, (unsigned long long)q.dup,
	       (unsigned long long)q.reordered,
	       (unsigned long long)tn_hist_quantile(&s->lat_sec, 0.5),
	       (unsigned long long)tn_hist_quantile(&s->lat_sec, 0.99),
	       (unsigned long long)tn_hist_quantile(&s->lat_sec, 0.999),
	       (unsigned long long)s->lat_sec.max);
	fflush(stdout);
	tn_hist_reset(&s->lat_sec);
}

static int sub_run(struct sub *s, uint64_t t0)
{
	uint64_t end = opt.duration_set ? t0 + (uint64_t)(opt.duration * 1e9) : UINT64_MAX;
	uint64_t next_line = t0 + TN_NS_PER_S, last_recv = 0;
	struct rte_mbuf *pkts[MAX_BURST];

	for (;;) {
		struct tn_timeout to;
		uint64_t now_ns;
		uint16_t n;
		int err;

		if (opt.count_set && s->received >= opt.count)
			return 0;
		if (tn_now() >= next_line) {
			if (!opt.quiet)
				sub_line(s, (double)(tn_now() - t0) / 1e9, s->received - last_recv);
			last_recv = s->received;
			next_line += TN_NS_PER_S;
			continue;
		}
		if (tn_now() >= end)
			return 0;
		tn_timeout_enter(&to, next_line < end ? next_line : end);
		err = tn_timeout_exit(&to, tn_udp_wait_readable(s->u));
		if (err == -ETIMEDOUT)
			continue;
		if (err == -ECANCELED || err == -EBADF || err == -EPERM)
			return err;
		if (err)
			continue; /* an ICMP error: unconnected sockets only count them */
		n = tn_udp_recv_burst(s->u, pkts, NULL, MAX_BURST);
		/* One reading for the burst: they arrived in one loop turn. */
		now_ns = tn_feed_clock_ns();
		for (uint16_t i = 0; i < n; i++)
			sub_one(s, pkts[i], now_ns);
		rte_pktmbuf_free_bulk(pkts, n);
	}
}

static intptr_t sub_main(struct tn_stack *st)
{
	struct sub *s = calloc(1, sizeof(*s));
	struct tn_udp_stats us;
	struct tn_seq_track q;
	bool joined = false;
	char where[40];
	uint64_t t0;
	int err;

	fmt_group(where, sizeof(where));
	if (!s || !(s->u = tn_udp_open(st))) {
		fprintf(stderr, PROG ": out of memory\n");
		free(s);
		return -ENOMEM;
	}
	if ((err = tn_udp_set_rcvq(s->u, opt.rcvq)) != 0 ||
	    (err = tn_udp_bind(s->u, opt.group, opt.port)) != 0) {
		fprintf(stderr, PROG ": bind %s: %s\n", where, strerror(-err));
		goto out;
	}
	if ((err = tn_udp_join(s->u, opt.group)) != 0) {
		fprintf(stderr, PROG ": join %s: %s\n", where, strerror(-err));
		goto out;
	}
	joined = true;
	printf("subscribed to %s\n", where);
	fflush(stdout);
	t0 = tn_now();
	err = sub_run(s, t0);
	if (err == -ECANCELED) {
		tn_task_uncancel(); /* a signal: report, then exit 0 */
		err = 0;
	}
	double secs = (double)(tn_now() - t0) / 1e9;
	q = seq_sum(s);
	tn_udp_stats_get(s->u, &us);
	printf("summary: received %llu gaps %llu dup %llu reordered %llu late %llu bad %llu "
	       "skew %llu feeds %llu restarts %llu rx_dropped %llu in %.3f s\n",
	       (unsigned long long)s->received, (unsigned long long)q.missing,
	       (unsigned long long)q.dup, (unsigned long long)q.reordered,
	       (unsigned long long)q.late, (unsigned long long)s->bad,
	       (unsigned long long)s->skew, (unsigned long long)s->nfeeds,
	       (unsigned long long)s->restarts, (unsigned long long)us.rx_dropped, secs);
	printf("latency_ns p50=%llu p99=%llu p999=%llu max=%llu\n",
	       (unsigned long long)tn_hist_quantile(&s->lat, 0.5),
	       (unsigned long long)tn_hist_quantile(&s->lat, 0.99),
	       (unsigned long long)tn_hist_quantile(&s->lat, 0.999),
	       (unsigned long long)s->lat.max);
	fflush(stdout);
out:
	if (joined) {
		/* The IGMPv2 leave goes out now; the linger lets it leave the
		 * port before the process does. */
		tn_udp_leave(s->u, opt.group);
		printf("left %s\n", where);
		fflush(stdout);
		tn_sleep(LINGER_NS);
	}
	tn_udp_close(s->u);
	free(s);
	return err;
}

static intptr_t feed_main(void *arg)
{
	struct tn_stack *st = tn_core_stack(tn_core_self());

	(void)arg;
	if (!st) {
		fprintf(stderr, PROG ": no protocol stack on this core (give port 0 --ip "
				"A.B.C.D/N and an EAL port, e.g. --vdev=net_tap0)\n");
		return -ENODEV;
	}
	if (tn_core_count() > 1) {
		/* The socket is core 0's; other cores' stacks would get flows
		 * it never hears. */
		fprintf(stderr, PROG ": runs on one lcore (e.g. -l 1), not %u\n", tn_core_count());
		return -EINVAL;
	}
	return opt.mode == MODE_PUB ? pub_main(st) : sub_main(st);
}

/* Looks at the Tern part of the command line (after "--") for whole
 * words: the mode decides which options apply before parsing starts, and
 * the required options are checked here.  0, 1 for --help, or -EINVAL
 * after a message. */
static int prescan(int argc, char **argv)
{
	struct tn_app_scan s;
	bool pub;

	tn_app_scan(&s, argc, argv);
	if (s.help)
		return 1;
	pub = tn_app_has(&s, "publish");
	if (pub == tn_app_has(&s, "subscribe")) {
		fprintf(stderr, PROG ": needs one of --publish GROUP:PORT or --subscribe "
				     "GROUP:PORT\n");
		return -EINVAL;
	}
	opt.mode = pub ? MODE_PUB : MODE_SUB;
	return tn_app_need_ip(&s, PROG);
}

int main(int argc, char **argv)
{
	struct tn_app app = {
		.name = PROG,
		.usage = usage,
		.parse_opt = parse_opt,
		.value_opts = value_opts,
		.main = feed_main,
	};

	if (prescan(argc, argv) < 0)
		return 2;
	return tn_main_app(argc, argv, &app);
}
