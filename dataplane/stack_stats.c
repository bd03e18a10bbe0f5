/* The protocol stacks' counters (--ip): one stack per core, so readers
 * sum them.  DPDK telemetry /tern/stack (summed) and /tern/stack,CORE
 * (one core), and at exit a "stack:" line of the sums followed, with
 * several cores, by one line per core; both print only the counters that
 * are not zero.  The cores' stack mail counters (mail.c, loop.c) come
 * along: arp_mail_sent/recv/dropped, stack_tx_fwd and icmp_steered. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "tn_dp_internal.h"

#define STACK_COUNTERS(X)                                                                \
	X(rx_frames) X(tx_frames) X(eth_runt) X(eth_vlan) X(eth_other_type) X(eth_not_ours) \
	X(arp_rx) X(arp_bad) X(arp_not_ours) X(arp_requests_sent) X(arp_replies_sent)       \
	X(arp_rate_limited) X(arp_pending_dropped) X(arp_cache_full) X(arp_unresolved)     \
	X(arp_evicted) X(ip_rx) X(ip_bad_version) X(ip_bad_ihl) X(ip_bad_len)               \
	X(ip_bad_csum) X(ip_bad_options) X(ip_ttl_expired) X(ip_not_ours) X(ip_bad_src)     \
	X(ip_no_route) X(ip_tx_too_big) X(ip_unknown_proto) X(ip_frag_rx) X(ip_frag_bad)    \
	X(ip_frag_reassembled) X(ip_frag_dropped) X(ip_frag_evicted) X(ip_frag_timeout)    \
	X(ip_frag_tx)                                                                       \
	X(udp_rx) X(udp_tx) X(udp_bad_len) X(udp_bad_csum) X(udp_no_port) X(udp_rcvq_full)  \
	X(udp_icmp_err) X(udp_icmp_err_ignored) X(udp_copy_failed) X(igmp_rx) X(igmp_bad)   \
	X(igmp_queries_rx) X(igmp_reports_sent) X(igmp_reports_suppressed)                 \
	X(igmp_leaves_sent) X(icmp_rx) X(icmp_bad) X(icmp_echo_replied) X(icmp_echo_bcast)  \
	X(icmp_echo_reply_rx) X(icmp_unreach_sent) X(icmp_rate_limited)                    \
	X(icmp_err_suppressed) X(icmp_errors_rx) X(icmp_err_truncated) X(icmp_unhandled)   \
	X(tx_queue_full) X(no_mbuf) X(arp_shared) X(arp_share_lost) X(arp_updates) \
	X(tcp_rx) X(tcp_tx) X(tcp_rst_tx) X(tcp_rst_rx) X(tcp_bad_len) X(tcp_bad_csum) \
	X(tcp_bad_flags) X(tcp_bad_opts) X(tcp_no_conn) X(tcp_bad_seq) X(tcp_paws) \
	X(tcp_bad_ack) X(tcp_rcvwnd_drop) X(tcp_ooo_drop) X(tcp_syn_drop) \
	X(tcp_after_close) X(tcp_no_mem) X(tcp_challenge_ack) X(tcp_challenge_ack_limited) \
	X(tcp_syncookies_sent) X(tcp_syncookies_ok) X(tcp_syncookies_bad) \
	X(tcp_tw_overflow) X(tcp_tw_reuse) X(tcp_active_opens) X(tcp_passive_opens) \
	X(tcp_estab_resets) X(tcp_timeouts) X(tcp_aborts) X(tcp_retransmits) X(tcp_rto) \
	X(tcp_fast_retransmits) X(tcp_delayed_acks) X(tcp_zwp) X(tcp_icmp_err) \
	X(tcp_icmp_err_ignored) X(tcp_pmtu_clamp) X(tcp_tlp) X(tcp_fast_path)

static const struct {
	const char *name;
	size_t off;
} counters[] = {
#define X(f) {#f, offsetof(struct tn_stack_stats, f)},
	STACK_COUNTERS(X)
#undef X
};

/* A counter added to struct tn_stack_stats must be named here too. */
_Static_assert(sizeof(counters) / sizeof(counters[0]) * sizeof(uint64_t) ==
		       sizeof(struct tn_stack_stats),
	       "struct tn_stack_stats has a counter that STACK_COUNTERS lacks");

enum { MAIL_SENT, MAIL_RECV, MAIL_DROPPED, TX_FWD, ICMP_STEERED, NMAIL };
static const char *const mail_names[NMAIL] = {
	"arp_mail_sent", "arp_mail_recv", "arp_mail_dropped", "stack_tx_fwd", "icmp_steered",
};

/* Adds core c's counters (its live stack's, or the last ones) to st and
 * mail; false if the core never had a stack. */
static bool core_add(const struct tn_core *c, struct tn_stack_stats *st, uint64_t mail[NMAIL])
{
	struct tn_stack *s = __atomic_load_n(&c->stack, __ATOMIC_ACQUIRE);
	struct tn_stack_stats one;
	const uint64_t *a = (const uint64_t *)&one;
	uint64_t *sum = (uint64_t *)st;
	size_t i;

	if (!c->had_stack)
		return false;
	if (s)
		tn_stack_stats_get(s, &one);
	else
		one = c->stack_final;
	for (i = 0; i < sizeof(one) / sizeof(uint64_t); i++)
		sum[i] += a[i];
	mail[MAIL_SENT] += c->arp_mail_sent;
	mail[MAIL_RECV] += c->arp_mail_recv;
	mail[MAIL_DROPPED] += c->arp_mail_dropped;
	mail[TX_FWD] += c->stack_tx_fwd;
	mail[ICMP_STEERED] += c->icmp_steered;
	return true;
}

/* Sums over every core (core < 0) or takes one; false if none had a
 * stack. */
static bool collect(struct tn_runtime *rt, int core, struct tn_stack_stats *st,
		    uint64_t mail[NMAIL])
{
	bool any = false;
	unsigned i;

	memset(st, 0, sizeof(*st));
	memset(mail, 0, NMAIL * sizeof(mail[0]));
	for (i = 0; i < rt->ncores; i++)
		if ((core < 0 || (unsigned)core == i) && rt->cores[i])
			any |= core_add(rt->cores[i], st, mail);
	return any;
}

static uint64_t counter(const struct tn_stack_stats *st, size_t k)
{
	return *(const uint64_t *)((const char *)st + counters[k].off);
}

/* /tern/stack[,CORE]: every counter, summed over the cores or for one. */
static int tel_stack(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct tn_runtime *rt = tn__rt;
	struct tn_stack_stats st;
	uint64_t mail[NMAIL];
	int core = -1;
	size_t k;

	(void)cmd;
	if (!rt)
		return -EINVAL;
	if (params && *params) {
		char *end;
		unsigned long v = strtoul(params, &end, 10);

		if (*end || v >= rt->ncores)
			return -EINVAL;
		core = (int)v;
	}
	if (!collect(rt, core, &st, mail))
		return -ENODEV; /* no --ip */
	rte_tel_data_start_dict(d);
	for (k = 0; k < RTE_DIM(counters); k++)
		rte_tel_data_add_dict_u64(d, counters[k].name, counter(&st, k));
	for (k = 0; k < NMAIL; k++)
		rte_tel_data_add_dict_u64(d, mail_names[k], mail[k]);
	return 0;
}

void tn__stack_stats_register(void)
{
	rte_telemetry_register_cmd("/tern/stack", tel_stack,
				   "Tern protocol stack counters, summed over cores. "
				   "Parameters: int core (one core's)");
}

static void print_line(FILE *out, const char *head, const struct tn_stack_stats *st,
		       const uint64_t mail[NMAIL])
{
	size_t k;

	fputs(head, out);
	for (k = 0; k < RTE_DIM(counters); k++)
		if (counter(st, k))
			fprintf(out, " %s=%llu", counters[k].name,
				(unsigned long long)counter(st, k));
	for (k = 0; k < NMAIL; k++)
		if (mail[k])
			fprintf(out, " %s=%llu", mail_names[k], (unsigned long long)mail[k]);
	fputc('\n', out);
}

void tn__stack_stats_print(struct tn_runtime *rt, FILE *out)
{
	struct tn_stack_stats st;
	uint64_t mail[NMAIL];
	unsigned i;

	if (!collect(rt, -1, &st, mail))
		return;
	print_line(out, "stack:", &st, mail);
	if (rt->ncores < 2)
		return;
	for (i = 0; i < rt->ncores; i++) {
		char head[32];

		if (!collect(rt, (int)i, &st, mail))
			continue;
		snprintf(head, sizeof(head), "  stack core %u:", i);
		print_line(out, head, &st, mail);
	}
}
