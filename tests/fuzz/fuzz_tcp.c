/* libFuzzer target for TCP (stack/tcp*.c): built by scripts/fuzz.sh with
 * clang, and by meson as a plain program (tests/fuzz/fuzz_main.c) that
 * replays the seed corpus tests/fuzz/corpus_tcp/ as a regression test.
 *
 * One stack (10.0.0.2, MAC ..:02) per input; the fuzzer plays the peer
 * (10.0.0.1, MAC ..:01, already in the stack's ARP cache) and the
 * application at once.  The input is a sequence of actions, each an op
 * byte and fixed-size arguments (bytes past the end read as 0):
 *
 *   SEG      a segment from fuzzed fields: flow (a known connection's
 *            ports, or new ones), flags (any of the 256), seq and ack as
 *            a mode and a delta (the stack's own values, around them,
 *            half the sequence space away, near the 2^32 wrap, at the
 *            window's edge, or raw), window, options (MSS, WS,
 *            SACK-permitted, SACK blocks placed around the stack's
 *            sequence numbers (reversed, outside the window), timestamps,
 *            NOP, EOL, unknown kinds; lengths correct, 0, 1, overlong or
 *            random), the data offset (bad ones too), urgent pointer,
 *            payload length, a bad checksum
 *   SYN      a SYN to a listening port from a new peer port, with options
 *   ACK      a well-behaved ACK of everything the stack sent on a flow
 *   DATA     in-order data on a flow (with PSH/FIN)
 *   FIN      a FIN on a flow
 *   RST      a RST on a flow (exact, in the window, or outside)
 *   TIME     the virtual clock forward (ms to minutes), timers run
 *   LISTEN / UNLISTEN / CONNECT / ACCEPT           the application
 *   READ / WRITE / CLOSE (close, abort, shutdown) / OPTS (set_opts, info)
 *   ICMP     an ICMP error (unreachable, fragmentation needed with an
 *            MTU) quoting a segment of a flow
 *   ARP      whether the peer answers the stack's ARP requests (at first
 *            it does; the stack's entry for it ages out after 60 s)
 *
 * After each action the coroutines run (at the current virtual time),
 * due stack timers run, and every frame the stack sends is checked (IPv4
 * and TCP checksums, a sane data offset and flags) and tracked: its
 * sequence, acknowledgement, window and timestamp become the "real
 * values" later segments are built around.  At the end: the tasks are
 * cancelled, listeners and connections closed, and the clock advanced
 * until the stack has nothing left to do; then every mbuf must be back
 * in the pool (before tn_stack_destroy too: a connection that never
 * frees itself is a leak) and no task, future or timer alive.  A broken
 * invariant aborts, so libFuzzer reports it as a crash. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>

#include <tern/coro.h>
#include <tern/stack.h>
#include <tern/tcp.h>

#define FZ_POOL_N 8191u
#define FZ_MS 1000000ull
#define FZ_IP(a, b, c, d) rte_cpu_to_be_32(((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))
#define FZ_US FZ_IP(10, 0, 0, 2)
#define FZ_PEER FZ_IP(10, 0, 0, 1)
#define FZ_BURST 32
#define FZ_FLOWS 8
#define FZ_CONNS 8
#define FZ_LISTENERS 2
#define FZ_LPORT 80      /* listeners on 80 and 81 */
#define FZ_BUF 65536
#define FZ_MAX_ACTIONS 4096
#define FZ_SETTLE_MAX 100000 /* loop passes at one instant before "livelock" */
#define FZ_END_STEPS 100000  /* timer wakeups at the end before "never quiet" */
#define FZ_END_TIME (4 * 3600 * 1000 * FZ_MS)

static const struct rte_ether_addr us_mac = { { 0x02, 0, 0, 0, 0, 0x02 } };
static const struct rte_ether_addr peer_mac = { { 0x02, 0, 0, 0, 0, 0x01 } };

static struct rte_mempool *fz_pool;
static struct tn_sched *fz_sched;
static uint64_t fz_now;
static int fz_verbose, fz_trace; /* FUZZ_TCP_STATS, FUZZ_TCP_TRACE */
static uint8_t pattern[FZ_BUF], rbuf[FZ_BUF];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DIE(...)                                                                                  \
	do {                                                                                      \
		fprintf(stderr, "fuzz_tcp: " __VA_ARGS__);                                         \
		fputc('\n', stderr);                                                              \
		abort();                                                                          \
	} while (0)

/* FUZZ_TCP_TRACE: what happens, one line each, for triaging a crash. */
#define TRACE(...)                                                                                \
	do {                                                                                      \
		if (fz_trace) {                                                                   \
			fprintf(stderr, "%10.3f ms ", (double)(fz_now % (1000000 * FZ_MS)) / FZ_MS); \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                      \
		}                                                                                 \
	} while (0)

static void trace_seg(const char *dir, const struct rte_tcp_hdr *t, uint32_t plen)
{
	static const char names[] = "FSRPAUEC";
	char fl[9];
	unsigned k = 0;

	if (!fz_trace)
		return;
	for (int b = 0; b < 8; b++)
		if (t->tcp_flags & (1u << b))
			fl[k++] = names[b];
	fl[k] = '\0';
	TRACE("%s %u>%u [%s] seq %u ack %u win %u len %u doff %u", dir,
	      rte_be_to_cpu_16(t->src_port), rte_be_to_cpu_16(t->dst_port), fl,
	      rte_be_to_cpu_32(t->sent_seq), rte_be_to_cpu_32(t->recv_ack),
	      rte_be_to_cpu_16(t->rx_win), plen, t->data_off >> 4);
	/* SACK blocks, which the line above does not show. */
	for (unsigned o = 20; o + 1 < (t->data_off >> 4) * 4u;) {
		const uint8_t *op = (const uint8_t *)t + o;

		if (op[0] <= 1) {
			o++;
			continue;
		}
		if (op[1] < 2)
			break;
		if (op[0] == 5)
			for (unsigned b = 2; b + 8 <= op[1]; b += 8)
				TRACE("    sack %u-%u", rte_be_to_cpu_32(*(const uint32_t *)(op + b)),
				      rte_be_to_cpu_32(*(const uint32_t *)(op + b + 4)));
		o += op[1];
	}
}

/* ---- the input ---- */

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t u16(struct in *in)
{
	uint16_t hi = u8(in);

	return (uint16_t)(hi << 8 | u8(in));
}

static uint32_t u32(struct in *in)
{
	uint32_t hi = u16(in);

	return hi << 16 | u16(in);
}

/* ---- what we know of the stack's connections, from its output ---- */

struct flow {
	bool used;
	uint16_t pport, sport;  /* the peer's (our fuzzed side) and the stack's port */
	uint32_t peer_nxt;      /* the next sequence number the peer sends */
	uint32_t stack_nxt;     /* past the highest sequence number the stack sent */
	uint32_t stack_ack;     /* the stack's last acknowledgement (its rcv.nxt) */
	bool have_ack;
	uint16_t stack_win;
	uint32_t stack_tsval;
	uint8_t stack_wscale;
};

struct fz {
	struct tn_stack *st;
	struct flow flow[FZ_FLOWS];
	unsigned next_flow;     /* round robin for new flows */
	struct tn_tcp_conn *conn[FZ_CONNS];
	struct tn_tcp_listener *lis[FZ_LISTENERS];
	uint16_t ip_id;
	uint32_t tsval;
	bool arp_answer; /* the peer answers the stack's ARP requests */
	bool arp_due;
};

static struct fz F;

static struct flow *flow_find(uint16_t pport, uint16_t sport)
{
	for (int i = 0; i < FZ_FLOWS; i++)
		if (F.flow[i].used && F.flow[i].pport == pport && F.flow[i].sport == sport)
			return &F.flow[i];
	return NULL;
}

static struct flow *flow_new(uint16_t pport, uint16_t sport)
{
	struct flow *f = flow_find(pport, sport);

	if (f)
		return f;
	f = &F.flow[F.next_flow++ % FZ_FLOWS];
	memset(f, 0, sizeof(*f));
	f->used = true;
	f->pport = pport;
	f->sport = sport;
	return f;
}

/* A known flow by index, or NULL if there is none. */
static struct flow *flow_pick(uint8_t sel)
{
	int n = 0, i;

	for (i = 0; i < FZ_FLOWS; i++)
		n += F.flow[i].used;
	if (!n)
		return NULL;
	sel %= n;
	for (i = 0; i < FZ_FLOWS; i++)
		if (F.flow[i].used && sel-- == 0)
			return &F.flow[i];
	return NULL;
}

static bool seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* A frame the stack sent: check it, learn from it, free it. */
static void observe(struct rte_mbuf *m)
{
	uint8_t buf[1600];
	const uint8_t *p;
	const struct rte_ether_hdr *e;
	const struct rte_ipv4_hdr *ip;
	const struct rte_tcp_hdr *t;
	uint32_t len = m->pkt_len, hl, tl, doff, seq, plen;
	struct flow *f;

	if (len > sizeof(buf)) /* TSO-sized or jumbo: not from this MTU */
		DIE("the stack sent a %u-byte frame at MTU 1500", len);
	p = rte_pktmbuf_read(m, 0, len, buf);
	e = (const struct rte_ether_hdr *)p;
	if (len >= sizeof(*e) + sizeof(struct rte_arp_hdr) &&
	    e->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
		const struct rte_arp_hdr *a = (const struct rte_arp_hdr *)(e + 1);

		if (a->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) &&
		    a->arp_data.arp_tip == FZ_PEER && F.arp_answer)
			F.arp_due = true; /* answered once this burst is out */
		goto out;
	}
	if (len < sizeof(*e) || e->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		goto out;
	ip = (const struct rte_ipv4_hdr *)(e + 1);
	hl = rte_ipv4_hdr_len(ip);
	tl = rte_be_to_cpu_16(ip->total_length);
	if (len < sizeof(*e) + sizeof(*ip) || tl + sizeof(*e) > len || hl < 20)
		DIE("the stack sent a bad IPv4 header");
	if (rte_raw_cksum(ip, hl) != 0xffff)
		DIE("the stack sent a bad IPv4 checksum");
	if (ip->next_proto_id != IPPROTO_TCP)
		goto out; /* ICMP errors, e.g. about a closed UDP port */
	t = (const struct rte_tcp_hdr *)((const uint8_t *)ip + hl);
	if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG)) {
		if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK))
			goto out; /* reported at the first fragment */
		trace_seg("out (fragment)", t, tl - hl - (t->data_off >> 4) * 4u);
		DIE("the stack fragmented a TCP segment at MTU 1500 (first fragment: IP %u bytes, "
		    "TCP header %u, flags 0x%02x)",
		    tl, (t->data_off >> 4) * 4u, t->tcp_flags);
	}
	if (tl < hl + sizeof(*t))
		DIE("the stack sent a truncated TCP header");
	doff = (t->data_off >> 4) * 4u;
	if (doff < 20 || doff > tl - hl)
		DIE("the stack sent a data offset of %u in a %u-byte segment", doff, tl - hl);
	if (__rte_ipv4_udptcp_cksum(ip, t) != 0xffff)
		DIE("the stack sent a bad TCP checksum");
	if ((t->tcp_flags & RTE_TCP_SYN_FLAG) &&
	    (t->tcp_flags & (RTE_TCP_FIN_FLAG | RTE_TCP_RST_FLAG)))
		DIE("the stack sent SYN with FIN or RST (flags 0x%02x)", t->tcp_flags);
	if (ip->dst_addr != FZ_PEER || ip->src_addr != FZ_US)
		DIE("the stack sent a TCP segment to another address");
	plen = tl - hl - doff;
	trace_seg("out", t, plen);
	if (plen > 1460)
		DIE("the stack sent %u bytes of payload at MTU 1500", plen);
	f = flow_find(rte_be_to_cpu_16(t->dst_port), rte_be_to_cpu_16(t->src_port));
	if (!f && (t->tcp_flags & RTE_TCP_SYN_FLAG))
		f = flow_new(rte_be_to_cpu_16(t->dst_port), rte_be_to_cpu_16(t->src_port));
	if (!f)
		goto out;
	seq = rte_be_to_cpu_32(t->sent_seq) + plen + !!(t->tcp_flags & RTE_TCP_SYN_FLAG) +
	      !!(t->tcp_flags & RTE_TCP_FIN_FLAG);
	if ((t->tcp_flags & RTE_TCP_SYN_FLAG) || seq_after(seq, f->stack_nxt))
		f->stack_nxt = seq;
	if (t->tcp_flags & RTE_TCP_ACK_FLAG) {
		f->stack_ack = rte_be_to_cpu_32(t->recv_ack);
		f->have_ack = true;
	}
	f->stack_win = rte_be_to_cpu_16(t->rx_win);
	/* Options: the timestamp (echoed back) and the window scale. */
	for (uint32_t o = 20; o < doff;) {
		const uint8_t *op = (const uint8_t *)t + o;

		if (op[0] == 0)
			break;
		if (op[0] == 1) {
			o++;
			continue;
		}
		if (o + 1 >= doff || op[1] < 2 || o + op[1] > doff)
			DIE("the stack sent a malformed option (kind %u)", op[0]);
		if (op[0] == 8 && op[1] == 10)
			f->stack_tsval = (uint32_t)op[2] << 24 | op[3] << 16 | op[4] << 8 | op[5];
		if (op[0] == 3 && op[1] == 3) {
			/* RFC 7323 2.3: at most 14. */
			if (op[2] > 14)
				DIE("the stack sent a window scale of %u", op[2]);
			f->stack_wscale = op[2] > 14 ? 14 : op[2];
		}
		o += op[1];
	}
out:
	rte_pktmbuf_free(m);
}

/* ---- building the peer's frames ---- */

/* An Ethernet + IPv4 frame around l4 (len bytes) of protocol proto. */
static void send_ip(uint8_t proto, const uint8_t *l4, uint32_t len, bool tcp_bad_csum)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(fz_pool);
	struct rte_ether_hdr *e;
	struct rte_ipv4_hdr *ip;
	uint8_t *p;

	if (!m)
		DIE("pool dry while building a segment");
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(sizeof(*e) + sizeof(*ip) + len));
	if (!p)
		DIE("segment does not fit an mbuf");
	e = (struct rte_ether_hdr *)p;
	e->dst_addr = us_mac;
	e->src_addr = peer_mac;
	e->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(e + 1);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + len));
	ip->packet_id = rte_cpu_to_be_16(F.ip_id++);
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = FZ_PEER;
	ip->dst_addr = FZ_US;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	memcpy(ip + 1, l4, len);
	if (proto == IPPROTO_TCP) {
		struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)(ip + 1);

		t->cksum = 0;
		t->cksum = rte_ipv4_udptcp_cksum(ip, t);
		if (tcp_bad_csum)
			t->cksum ^= 0x0101;
	}
	tn_stack_input(F.st, &m, 1, fz_now);
}

struct seg {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win, urp;
	uint8_t opt[40];
	unsigned optlen;
	int doff;               /* -1: right for the options */
	uint32_t paylen;
	bool bad_csum;
};

static void send_seg(const struct seg *s)
{
	static uint8_t b[60 + 1460];
	struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)b;
	unsigned hl = 20 + ((s->optlen + 3) & ~3u);
	uint32_t plen = s->paylen > 1460 - (hl - 20) ? 1460 - (hl - 20) : s->paylen;

	memset(b, 0, hl);
	t->src_port = rte_cpu_to_be_16(s->sport);
	t->dst_port = rte_cpu_to_be_16(s->dport);
	t->sent_seq = rte_cpu_to_be_32(s->seq);
	t->recv_ack = rte_cpu_to_be_32(s->ack);
	t->data_off = (uint8_t)((s->doff < 0 ? hl / 4 : (unsigned)s->doff) << 4);
	t->tcp_flags = s->flags;
	t->rx_win = rte_cpu_to_be_16(s->win);
	t->tcp_urp = rte_cpu_to_be_16(s->urp);
	memcpy(b + 20, s->opt, s->optlen);
	memcpy(b + hl, pattern + (s->seq & 0x7fff), plen);
	trace_seg(s->bad_csum ? "in (bad csum)" : "in ", t, plen);
	send_ip(IPPROTO_TCP, b, hl + plen, s->bad_csum);
}

/* The usual options of a SYN: MSS, SACK-permitted, timestamps, WS. */
static unsigned syn_opts(uint8_t *o, uint8_t which, uint16_t mss, uint8_t ws)
{
	unsigned n = 0;

	if (which & 1) {
		o[n++] = 2, o[n++] = 4, o[n++] = (uint8_t)(mss >> 8), o[n++] = (uint8_t)mss;
	}
	if (which & 2) {
		o[n++] = 1, o[n++] = 1, o[n++] = 4, o[n++] = 2;
	}
	if (which & 4) {
		uint32_t v = ++F.tsval;

		o[n++] = 1, o[n++] = 1, o[n++] = 8, o[n++] = 10;
		o[n++] = (uint8_t)(v >> 24), o[n++] = (uint8_t)(v >> 16), o[n++] = (uint8_t)(v >> 8),
		o[n++] = (uint8_t)v;
		memset(o + n, 0, 4);
		n += 4;
	}
	if (which & 8) {
		o[n++] = 1, o[n++] = 3, o[n++] = 3, o[n++] = ws;
	}
	return n;
}

/* The timestamp option echoing the stack's, if it sent one. */
static unsigned ts_opt(uint8_t *o, const struct flow *f)
{
	uint32_t v = ++F.tsval, e = f->stack_tsval;

	if (!e)
		return 0;
	o[0] = 1, o[1] = 1, o[2] = 8, o[3] = 10;
	o[4] = (uint8_t)(v >> 24), o[5] = (uint8_t)(v >> 16), o[6] = (uint8_t)(v >> 8), o[7] = (uint8_t)v;
	o[8] = (uint8_t)(e >> 24), o[9] = (uint8_t)(e >> 16), o[10] = (uint8_t)(e >> 8), o[11] = (uint8_t)e;
	return 12;
}

/* A sequence number from a mode and a delta, around base. */
static uint32_t around(uint8_t mode, uint32_t delta, uint32_t base, uint32_t win)
{
	switch (mode % 8) {
	case 0:
		return base;
	case 1:
		return base + (int16_t)delta;
	case 2:
		return base - (delta & 0xffff);
	case 3:
		return delta;
	case 4:
		return base + 0x80000000u + (int16_t)delta;
	case 5:
		return 0xffffffffu - (delta & 0xffff);
	case 6:
		return base + win + (int8_t)delta;
	default:
		return base + (delta & 0xfffff);
	}
}

/* Fuzzed options into s->opt. */
static void fuzz_opts(struct in *in, struct seg *s, const struct flow *f)
{
	unsigned n = u8(in) % 8, k;
	uint8_t *o = s->opt;
	unsigned len = 0;

	for (k = 0; k < n && len < 40; k++) {
		uint8_t kind = u8(in), lmode = u8(in);
		uint8_t tmp[40];
		unsigned tl = 0, i;

		switch (kind % 9) {
		case 0:
			tmp[tl++] = 0; /* EOL */
			break;
		case 1:
			tmp[tl++] = 1; /* NOP */
			break;
		case 2: {
			uint16_t mss = u16(in);

			tmp[0] = 2, tmp[1] = 4, tmp[2] = (uint8_t)(mss >> 8), tmp[3] = (uint8_t)mss;
			tl = 4;
			break;
		}
		case 3:
			tmp[0] = 3, tmp[1] = 3, tmp[2] = u8(in);
			tl = 3;
			break;
		case 4:
			tmp[0] = 4, tmp[1] = 2;
			tl = 2;
			break;
		case 5: {
			unsigned nb = 1 + u8(in) % 4;
			uint32_t una = f ? f->stack_nxt : 0;

			tmp[0] = 5;
			tl = 2;
			for (i = 0; i < nb; i++) {
				uint8_t bm = u8(in);
				uint32_t base = bm % 3 == 0 ? una : bm % 3 == 1 ? (f ? f->stack_ack : 0) : u32(in);
				uint32_t l = base + (int16_t)u16(in), r = l + (int16_t)u16(in);

				for (int b = 3; b >= 0; b--)
					tmp[tl++] = (uint8_t)(l >> (8 * b));
				for (int b = 3; b >= 0; b--)
					tmp[tl++] = (uint8_t)(r >> (8 * b));
			}
			tmp[1] = (uint8_t)tl;
			break;
		}
		case 6: {
			uint32_t v = u32(in), e = u8(in) & 1 ? u32(in) : (f ? f->stack_tsval : 0);

			tmp[0] = 8, tmp[1] = 10;
			for (int b = 3; b >= 0; b--)
				tmp[2 + 3 - b] = (uint8_t)(v >> (8 * b));
			for (int b = 3; b >= 0; b--)
				tmp[6 + 3 - b] = (uint8_t)(e >> (8 * b));
			tl = 10;
			break;
		}
		case 7:
			tmp[0] = u8(in), tmp[1] = 2 + u8(in) % 8;
			for (i = 2; i < tmp[1]; i++)
				tmp[i] = u8(in);
			tl = tmp[1];
			break;
		default:
			tmp[0] = u8(in), tmp[1] = u8(in); /* raw bytes */
			tl = 2;
			break;
		}
		/* The length byte: right, 0, 1, overlong, or anything. */
		if (tl >= 2) {
			switch (lmode % 8) {
			case 1:
				tmp[1] = 0;
				break;
			case 2:
				tmp[1] = 1;
				break;
			case 3:
				tmp[1] = 40;
				break;
			case 4:
				tmp[1] = u8(in);
				break;
			default:
				break;
			}
		}
		if (len + tl > 40)
			tl = 40 - len;
		memcpy(o + len, tmp, tl);
		len += tl;
	}
	s->optlen = len;
}

static void act_seg(struct in *in)
{
	uint8_t sel = u8(in);
	struct flow *f = sel & 0x80 ? NULL : flow_pick(sel);
	struct seg s = { .doff = -1 };
	uint8_t smode, amode, dmode, bad;
	uint32_t sdelta, adelta;

	if (f) {
		s.sport = f->pport;
		s.dport = f->sport;
	} else {
		s.sport = u16(in);
		s.dport = (sel & 0x40) ? (uint16_t)(FZ_LPORT + (sel & 1)) : u16(in);
	}
	s.flags = u8(in);
	smode = u8(in);
	sdelta = u32(in);
	amode = u8(in);
	adelta = u32(in);
	s.win = u16(in);
	fuzz_opts(in, &s, f);
	dmode = u8(in);
	if (dmode >= 224)
		s.doff = dmode & 15; /* any, even below 5 or past the segment */
	s.urp = u16(in);
	s.paylen = u16(in) % 1501;
	bad = u8(in);
	s.bad_csum = (bad & 15) == 15;
	s.seq = around(smode, sdelta, f ? (f->have_ack ? f->stack_ack : f->peer_nxt) : 0,
		       f ? (uint32_t)f->stack_win << f->stack_wscale : 0);
	s.ack = around(amode, adelta, f ? f->stack_nxt : 0, 0);
	send_seg(&s);
	if (f && smode % 8 == 0 && !s.bad_csum)
		f->peer_nxt = s.seq + s.paylen + !!(s.flags & RTE_TCP_SYN_FLAG) +
			      !!(s.flags & RTE_TCP_FIN_FLAG);
}

static void act_syn(struct in *in)
{
	uint16_t pport = u16(in);
	uint8_t l = u8(in), which = u8(in);
	uint32_t iss = u32(in);
	uint16_t win = u16(in), mss = u16(in);
	uint8_t ws = u8(in);
	struct seg s = { .doff = -1 };
	struct flow *f;

	s.sport = pport;
	s.dport = (uint16_t)(FZ_LPORT + (l & 1));
	s.seq = iss;
	s.flags = RTE_TCP_SYN_FLAG | ((which & 0x80) ? RTE_TCP_ECE_FLAG | RTE_TCP_CWR_FLAG : 0);
	s.win = win;
	s.optlen = syn_opts(s.opt, which, mss, ws % 16);
	f = flow_new(s.sport, s.dport);
	f->peer_nxt = iss + 1;
	send_seg(&s);
}

/* Well-behaved segments on a known flow. */
static void act_ack(struct in *in, bool data, bool fin)
{
	struct flow *f = flow_pick(u8(in));
	struct seg s = { .doff = -1 };
	uint8_t fl = 0;

	if (!f)
		return;
	s.sport = f->pport;
	s.dport = f->sport;
	s.seq = f->have_ack ? f->stack_ack : f->peer_nxt;
	s.ack = f->stack_nxt;
	s.flags = RTE_TCP_ACK_FLAG;
	s.win = 65535;
	if (data) {
		s.paylen = u16(in) % 1461;
		fl = u8(in);
		if (fl & 1)
			s.flags |= RTE_TCP_PSH_FLAG;
		if (fl & 2)
			s.flags |= RTE_TCP_FIN_FLAG;
	} else {
		s.win = u16(in);
	}
	if (fin)
		s.flags |= RTE_TCP_FIN_FLAG;
	s.optlen = ts_opt(s.opt, f);
	send_seg(&s);
	f->peer_nxt = s.seq + s.paylen + !!(s.flags & RTE_TCP_FIN_FLAG);
}

static void act_rst(struct in *in)
{
	struct flow *f = flow_pick(u8(in));
	uint8_t mode = u8(in);
	struct seg s = { .doff = -1 };

	if (!f)
		return;
	s.sport = f->pport;
	s.dport = f->sport;
	s.seq = f->have_ack ? f->stack_ack : f->peer_nxt;
	if (mode % 3 == 1)
		s.seq += 1 + u16(in) % 1000; /* in the window: a challenge ACK */
	else if (mode % 3 == 2)
		s.seq += 0x40000000u;
	s.flags = RTE_TCP_RST_FLAG | (mode & 4 ? RTE_TCP_ACK_FLAG : 0);
	s.ack = f->stack_nxt;
	send_seg(&s);
}

static void act_icmp(struct in *in)
{
	struct flow *f = flow_pick(u8(in));
	uint8_t kind = u8(in);
	uint16_t mtu = u16(in);
	uint8_t b[8 + 20 + 8];
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(b + 8);
	uint32_t seq;

	if (!f)
		return;
	memset(b, 0, sizeof(b));
	b[0] = 3;                                             /* destination unreachable */
	b[1] = (uint8_t)((const uint8_t[]){ 0, 1, 2, 3, 4, 13 }[kind % 6]); /* net, host, proto, port, frag, admin */
	if (kind & 0x80)
		b[0] = 11, b[1] = 0;                          /* time exceeded */
	b[6] = (uint8_t)(mtu >> 8);
	b[7] = (uint8_t)mtu;
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(40);
	ip->time_to_live = 1;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = FZ_US;
	ip->dst_addr = FZ_PEER;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	b[28] = (uint8_t)(f->sport >> 8), b[29] = (uint8_t)f->sport;
	b[30] = (uint8_t)(f->pport >> 8), b[31] = (uint8_t)f->pport;
	/* The quoted sequence number: one the stack has in flight, or not. */
	seq = f->stack_nxt - (kind & 0x40 ? 0x10000 : 1);
	b[32] = (uint8_t)(seq >> 24), b[33] = (uint8_t)(seq >> 16), b[34] = (uint8_t)(seq >> 8),
	b[35] = (uint8_t)seq;
	{
		uint16_t ck = ~rte_raw_cksum(b, sizeof(b));

		memcpy(b + 2, &ck, 2);
	}
	send_ip(IPPROTO_ICMP, b, sizeof(b), false);
}

/* ---- the application's tasks ---- */

static intptr_t connect_task(void *arg)
{
	uintptr_t a = (uintptr_t)arg;
	struct tn_tcp_opts o = { 0 };
	struct tn_tcp_conn *c;
	int slot = (int)(a & 7);

	o.no_sack = a & 0x100;
	o.no_timestamps = a & 0x200;
	o.no_wscale = a & 0x400;
	o.nagle = a & 0x800;
	o.rcvbuf = a & 0x1000 ? 4096 : 0;
	o.sndbuf = a & 0x2000 ? 4096 : 0;
	o.syn_retries = (uint8_t)(a >> 16 & 7);
	o.keepalive = a & 0x4000;
	o.ka_idle_ns = 1000 * FZ_MS;
	o.ka_intvl_ns = 1000 * FZ_MS;
	o.ka_cnt = 2;
	int e = tn_tcp_connect(F.st, FZ_PEER, (uint16_t)(a >> 24 | 1), &o, &c);

	TRACE("connect -> %d", e);
	if (e == 0) {
		if (F.conn[slot])
			tn_tcp_abort(c); /* the slot was taken meanwhile */
		else
			F.conn[slot] = c;
	}
	return 0;
}

static intptr_t accept_task(void *arg)
{
	uintptr_t a = (uintptr_t)arg;
	int li = (int)(a >> 8 & 1), slot = (int)(a & 7);
	struct tn_tcp_conn *c;

	if (!F.lis[li])
		return 0;
	int e = tn_tcp_accept(F.lis[li], &c);

	TRACE("accept -> %d", e);
	if (e == 0) {
		if (F.conn[slot])
			tn_tcp_close(c);
		else
			F.conn[slot] = c;
	}
	return 0;
}

/* A task's view of a connection: the slot may be closed while it waits,
 * which ends its call with -EBADF; it touches the connection no more. */
static intptr_t read_task(void *arg)
{
	uintptr_t a = (uintptr_t)arg;
	struct tn_tcp_conn *c = F.conn[a & 7];
	size_t len = 1 + (a >> 8 & 0xffff);
	ssize_t n;

	if (!c)
		return 0;
	switch (a >> 24 & 3) {
	case 0:
		n = tn_tcp_read(c, rbuf, len);
		break;
	case 1:
		n = tn_tcp_read_exactly(c, rbuf, len > 4096 ? 4096 : len);
		break;
	case 2:
		n = tn_tcp_read_until(c, rbuf, len, "\r\n", 2);
		break;
	default:
		n = tn_tcp_wait_readable(c);
		break;
	}
	TRACE("read style %u -> %zd", (unsigned)(a >> 24 & 3), n);
	return 0;
}

static intptr_t write_task(void *arg)
{
	uintptr_t a = (uintptr_t)arg;
	struct tn_tcp_conn *c = F.conn[a & 7];
	size_t len = (a >> 8 & 0xffff) * (a & 0x1000000 ? 16 : 1);

	if (!c)
		return 0;
	switch (a >> 25 & 3) {
	case 0:
		tn_tcp_write(c, pattern, len > FZ_BUF ? FZ_BUF : len);
		break;
	case 1: {
		struct iovec iov[3] = { { pattern, len / 3 }, { pattern + 7, len / 3 },
					{ pattern + 99, len - 2 * (len / 3) } };

		if (len <= FZ_BUF - 100)
			tn_tcp_writev(c, iov, 3);
		break;
	}
	case 2: {
		struct rte_mbuf *m = rte_pktmbuf_alloc(fz_pool);

		if (m) {
			uint16_t k = (uint16_t)(len % 2000);

			memcpy(rte_pktmbuf_append(m, k), pattern, k);
			tn_tcp_send_mbuf(c, m);
		}
		break;
	}
	default:
		tn_tcp_drain(c);
		break;
	}
	return 0;
}

static void spawn(tn_task_fn fn, uintptr_t arg)
{
	struct tn_task *t = tn_task_spawn(fn, (void *)arg);

	if (!t)
		DIE("tn_task_spawn failed");
	tn_task_detach(t);
}

static void act_read_sync(int slot)
{
	struct rte_mbuf *m[FZ_BURST];
	uint16_t n;

	if (!F.conn[slot])
		return;
	while ((n = tn_tcp_recv_burst(F.conn[slot], m, FZ_BURST)) > 0) {
		for (uint16_t i = 0; i < n; i++)
			if (m[i]->next || m[i]->nb_segs != 1)
				DIE("tn_tcp_recv_burst gave a chained mbuf");
		rte_pktmbuf_free_bulk(m, n);
	}
	(void)tn_tcp_at_eof(F.conn[slot]);
}

static void act_close(int slot, uint8_t how)
{
	struct tn_tcp_conn *c = F.conn[slot];

	if (!c)
		return;
	TRACE("close slot %d how %u", slot, how % 3);
	switch (how % 3) {
	case 0:
		F.conn[slot] = NULL;
		tn_tcp_close(c);
		break;
	case 1:
		F.conn[slot] = NULL;
		tn_tcp_abort(c);
		break;
	default:
		tn_tcp_shutdown(c);
		break;
	}
}

static void act_opts(int slot, struct in *in)
{
	struct tn_tcp_conn *c = F.conn[slot];
	struct tn_tcp_opts o = { 0 };
	struct tn_tcp_info info;
	uint8_t b = u8(in);

	if (!c)
		return;
	o.nagle = b & 1;
	o.delack_off = b & 2;
	o.keepalive = b & 4;
	o.ka_idle_ns = (1 + u8(in)) * 100 * FZ_MS;
	o.ka_intvl_ns = (1 + u8(in)) * 10 * FZ_MS;
	o.ka_cnt = u8(in) % 4;
	o.cc = (uint8_t)(b >> 3 & 3);
	o.rto_min_ns = (b & 0x20) ? FZ_MS : 0;
	o.retries = (uint8_t)(b >> 6);
	if (b & 0x80)
		o.rcvbuf = o.sndbuf = 1u << (10 + u8(in) % 12);
	(void)tn_tcp_set_opts(c, &o);
	tn_tcp_info(c, &info);
	tn_tcp_getsockname(c, NULL, NULL);
	tn_tcp_getpeername(c, NULL, NULL);
	(void)tn_tcp_state_name(info.state);
}

/* ---- the loop ---- */

/* An ARP request from the peer for our address, or its reply to ours. */
static void send_arp(uint16_t op)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(fz_pool);
	struct rte_ether_hdr *e = m ? (struct rte_ether_hdr *)rte_pktmbuf_append(m, 60) : NULL;
	struct rte_arp_hdr *a;

	if (!e)
		DIE("no mbuf for an ARP frame");
	a = (struct rte_arp_hdr *)(e + 1);
	memset(e, 0, 60);
	if (op == RTE_ARP_OP_REQUEST)
		memset(&e->dst_addr, 0xff, 6);
	else
		e->dst_addr = us_mac;
	e->src_addr = peer_mac;
	e->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = 6;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	a->arp_data.arp_sha = peer_mac;
	a->arp_data.arp_sip = FZ_PEER;
	if (op != RTE_ARP_OP_REQUEST)
		a->arp_data.arp_tha = us_mac;
	a->arp_data.arp_tip = FZ_US;
	tn_stack_input(F.st, &m, 1, fz_now);
}

static void drain_output(void)
{
	struct rte_mbuf *out[FZ_BURST];
	uint16_t n, i;

	while ((n = tn_stack_output(F.st, out, FZ_BURST)) > 0 || F.arp_due) {
		for (i = 0; i < n; i++)
			observe(out[i]);
		if (F.arp_due) {
			F.arp_due = false;
			TRACE("arp reply");
			send_arp(RTE_ARP_OP_REPLY);
		}
	}
}

/* Runs everything due at fz_now until nothing more happens. */
static void settle(void)
{
	unsigned pass = 0;
	bool did;

	do {
		did = false;
		tn_sched_update_clock(fz_sched);
		did |= tn_sched_run_timers(fz_sched);
		while (tn_sched_has_ready(fz_sched)) {
			tn_sched_run_ready(fz_sched);
			did = true;
		}
		if (tn_stack_next_deadline(F.st) <= fz_now) {
			tn_stack_timers(F.st, fz_now);
			did = true;
		}
		if (tn_stack_next_deadline(F.st) <= fz_now && !did)
			DIE("tn_stack_timers left its deadline in the past");
		drain_output();
		if (++pass > FZ_SETTLE_MAX)
			DIE("livelock at t=%llu", (unsigned long long)fz_now);
	} while (did);
}

static uint64_t next_event(void)
{
	uint64_t a = tn_sched_next_deadline(fz_sched), b = tn_stack_next_deadline(F.st);

	return a < b ? a : b;
}

/* Moves the clock forward by ns, waking for every deadline on the way. */
static void advance(uint64_t ns)
{
	uint64_t end = fz_now + ns;
	unsigned steps = 0;

	settle();
	for (;;) {
		uint64_t t = next_event();

		if (t > end)
			break;
		if (t > fz_now)
			fz_now = t;
		settle();
		if (++steps > FZ_END_STEPS)
			DIE("timers keep firing: %u wakeups in %llu ms", steps,
			    (unsigned long long)(ns / FZ_MS));
	}
	fz_now = end;
	settle();
}

static uint64_t fz_clock(void *arg)
{
	(void)arg;
	return fz_now;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char prefix[32];
	char *eal_argv[] = { "fuzz", "--no-huge", "-m", "512", "--no-pci", "--file-prefix",
			     prefix, "--log-level", "*:error", "--no-telemetry", NULL };
	(void)argc;
	(void)argv;
	fz_verbose = getenv("FUZZ_TCP_STATS") != NULL;
	fz_trace = getenv("FUZZ_TCP_TRACE") != NULL;
	snprintf(prefix, sizeof(prefix), "tnfuzztcp%d", (int)getpid());
	if (rte_eal_init(10, eal_argv) < 0)
		DIE("rte_eal_init failed: %s", rte_strerror(rte_errno));
	fz_pool = rte_pktmbuf_pool_create("fz_pool", FZ_POOL_N, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  SOCKET_ID_ANY);
	if (!fz_pool)
		DIE("no mempool: %s", rte_strerror(rte_errno));
	for (unsigned i = 0; i < FZ_BUF; i++)
		pattern[i] = (uint8_t)(i * 7 + (i >> 8));
	/* CRLF now and then, for read_until. */
	for (unsigned i = 100; i + 1 < FZ_BUF; i += 997)
		pattern[i] = '\r', pattern[i + 1] = '\n';
	return 0;
}

/* Ends every task, listener and connection and lets the stack finish
 * alone; then nothing may be left. */
static void finish(void)
{
	struct tn_sched_stats ss;
	unsigned avail, i;

	tn_sched_cancel_all(fz_sched);
	settle();
	tn_sched_get_stats(fz_sched, &ss);
	if (ss.live_tasks)
		DIE("%llu tasks still alive after cancellation", (unsigned long long)ss.live_tasks);
	for (i = 0; i < FZ_LISTENERS; i++)
		if (F.lis[i]) {
			tn_tcp_listener_close(F.lis[i]);
			F.lis[i] = NULL;
		}
	for (i = 0; i < FZ_CONNS; i++)
		if (F.conn[i]) {
			/* Half closed, half aborted: close leaves the stack to
			 * finish on its own against a silent peer. */
			if (i & 1)
				tn_tcp_abort(F.conn[i]);
			else
				tn_tcp_close(F.conn[i]);
			F.conn[i] = NULL;
		}
	advance(FZ_END_TIME);
	if (tn_stack_next_deadline(F.st) != UINT64_MAX)
		DIE("a stack timer is still armed after %llu s of silence",
		    (unsigned long long)(FZ_END_TIME / FZ_MS / 1000));
	avail = rte_mempool_avail_count(fz_pool);
	if (avail != FZ_POOL_N)
		DIE("%u mbufs still held after every connection ended", FZ_POOL_N - avail);
	tn_stack_destroy(F.st);
	F.st = NULL;
	avail = rte_mempool_avail_count(fz_pool);
	if (avail != FZ_POOL_N)
		DIE("mbuf leak: %u of %u mbufs back in the pool", avail, FZ_POOL_N);
	tn_sched_get_stats(fz_sched, &ss);
	if (ss.live_tasks || ss.live_futures || ss.live_timers)
		DIE("leaked %llu tasks, %llu futures, %llu timers",
		    (unsigned long long)ss.live_tasks, (unsigned long long)ss.live_futures,
		    (unsigned long long)ss.live_timers);
	tn_sched_destroy(fz_sched);
	fz_sched = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tn_sched_config sc = { 0 };
	struct tn_stack_config cfg;
	struct in in = { data, size };
	unsigned actions = 0;

	memset(&F, 0, sizeof(F));
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.mac, us_mac.addr_bytes, 6);
	cfg.ip = FZ_US;
	cfg.prefix_len = 24;
	cfg.mtu = 1500;
	cfg.mp = fz_pool;
	cfg.arp_entries = 16;
	cfg.seed = 1;
	/* A scheduler per input, so every input starts at the same virtual
	 * time and replays exactly on its own (ISNs, timer wheels). */
	fz_now = 1000 * FZ_MS;
	sc.stack_size = 64 * 1024;
	sc.clock = fz_clock; /* virtual: the harness moves it */
	fz_sched = tn_sched_create(&sc);
	if (!fz_sched)
		DIE("tn_sched_create failed");
	F.st = tn_stack_create(&cfg, fz_now);
	if (!F.st)
		DIE("tn_stack_create failed");
	drain_output();
	/* The peer asks for our address, so the stack knows its MAC. */
	send_arp(RTE_ARP_OP_REQUEST);
	drain_output();
	F.arp_answer = true;

	while (in.n && actions++ < FZ_MAX_ACTIONS) {
		uint8_t op = u8(&in);

		TRACE("op %u", op % 18);
		switch (op % 19) {
		case 0:
		case 1:
			act_seg(&in);
			break;
		case 2:
			act_syn(&in);
			break;
		case 3:
			act_ack(&in, false, false);
			break;
		case 4:
			act_ack(&in, true, false);
			break;
		case 5:
			act_ack(&in, false, true);
			break;
		case 6:
			act_rst(&in);
			break;
		case 7: {
			static const uint64_t unit[] = { FZ_MS / 10, FZ_MS, 100 * FZ_MS, 60000 * FZ_MS };
			uint8_t u = u8(&in);

			advance((uint64_t)u16(&in) % 1000 * unit[u % 4]);
			break;
		}
		case 8: {
			uint8_t l = u8(&in) & 1, bl = u8(&in);
			struct tn_tcp_opts o = { 0 };

			o.no_sack = bl & 0x10;
			o.no_timestamps = bl & 0x20;
			o.rcvbuf = bl & 0x40 ? 2048 : 0;
			o.delack_off = bl & 0x80;
			if (!F.lis[l])
				(void)tn_tcp_listen(F.st, 0, (uint16_t)(FZ_LPORT + l), bl % 4, &o,
						    &F.lis[l]);
			break;
		}
		case 9: {
			uint8_t l = u8(&in) & 1;

			if (F.lis[l]) {
				tn_tcp_listener_close(F.lis[l]);
				F.lis[l] = NULL;
			}
			break;
		}
		case 10: {
			uint32_t a = u32(&in);

			spawn(connect_task, a);
			break;
		}
		case 11:
			spawn(accept_task, u16(&in));
			break;
		case 12: {
			uint8_t slot = u8(&in) & 7, style = u8(&in);
			uint16_t len = u16(&in);

			if (style & 4)
				act_read_sync(slot);
			else
				spawn(read_task, slot | (uintptr_t)len << 8 | (uintptr_t)(style & 3) << 24);
			break;
		}
		case 13: {
			uint8_t slot = u8(&in) & 7, style = u8(&in);
			uint16_t len = u16(&in);

			spawn(write_task, slot | (uintptr_t)len << 8 | (uintptr_t)(style & 7) << 24);
			break;
		}
		case 14: {
			uint8_t slot = u8(&in) & 7;

			act_close(slot, u8(&in));
			break;
		}
		case 15:
			act_opts(u8(&in) & 7, &in);
			break;
		case 16:
			act_icmp(&in);
			break;
		case 17:
			act_ack(&in, true, true);
			break;
		default:
			F.arp_answer = u8(&in) & 1;
			break;
		}
		settle();
	}

	if (fz_verbose) {
		struct tn_stack_stats st;

		tn_stack_stats_get(F.st, &st);
		fprintf(stderr,
			"tcp rx %llu tx %llu rst_tx %llu bad_len %llu bad_csum %llu bad_flags %llu "
			"bad_opts %llu no_conn %llu bad_seq %llu paws %llu bad_ack %llu "
			"rcvwnd_drop %llu challenge %llu passive %llu active %llu retrans %llu\n",
			(unsigned long long)st.tcp_rx, (unsigned long long)st.tcp_tx,
			(unsigned long long)st.tcp_rst_tx, (unsigned long long)st.tcp_bad_len,
			(unsigned long long)st.tcp_bad_csum, (unsigned long long)st.tcp_bad_flags,
			(unsigned long long)st.tcp_bad_opts, (unsigned long long)st.tcp_no_conn,
			(unsigned long long)st.tcp_bad_seq, (unsigned long long)st.tcp_paws,
			(unsigned long long)st.tcp_bad_ack, (unsigned long long)st.tcp_rcvwnd_drop,
			(unsigned long long)st.tcp_challenge_ack,
			(unsigned long long)st.tcp_passive_opens,
			(unsigned long long)st.tcp_active_opens,
			(unsigned long long)st.tcp_retransmits);
	}
	finish();
	return 0;
}
