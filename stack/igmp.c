/* IGMPv2 host side (RFC 2236) and the stack-wide group memberships.
 *
 * Sockets join groups through udp.c; here each group has a reference
 * count.  The first member sends an unsolicited membership report, the
 * last a leave to all-routers (224.0.0.2).  Queries (general, or for a
 * group we are in) start a delay timer per group, uniform in (0, max
 * response time]; when it fires we report, unless another host's report
 * for the group came first (suppression).  A group with a timer running
 * keeps the earlier deadline, so however many queries arrive, at most
 * one report per group is pending: answers are bounded by the table
 * size (TN_IGMP_GROUPS) per response interval.  IGMPv3 queries are
 * answered as v2 ones (RFC 3376 7.2.1 lets a v2 host do that).
 *
 * Every message goes out with TTL 1 and the Router Alert option.  The
 * all-hosts group 224.0.0.1 is always received and never reported.
 * Known limits: one unsolicited report per join (RFC 2236 suggests
 * repeating it); no IGMPv1-router compatibility mode. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tn_stack_internal.h"
#include "tn_wire.h"

#define TN_IGMP_GROUPS 64

#define IGMP_LEN 8
#define IGMP_QUERY 0x11
#define IGMP_V1_REPORT 0x12
#define IGMP_V2_REPORT 0x16
#define IGMP_LEAVE 0x17
/* A v1 query (max response 0) means 10 s (RFC 2236 4). */
#define IGMP_V1_MAX_RESP_NS 10000000000ull
#define IGMP_UNIT_NS 100000000ull /* max response time unit: 1/10 s */

#define ALL_HOSTS RTE_BE32(0xe0000001)   /* 224.0.0.1 */
#define ALL_ROUTERS RTE_BE32(0xe0000002) /* 224.0.0.2 */

struct igmp_group {
	uint32_t group; /* network order; 0: free slot */
	unsigned refs;
	uint64_t report_at; /* a delayed report is due; 0: none */
};

struct tn_igmp {
	/* The earliest report_at of the table, UINT64_MAX when none is
	 * set, or 0: unknown (a timer was cleared), scan again.  It spares
	 * tn__igmp_timers, which the dataplane runs after every received
	 * burst, a walk over the whole table when nothing is due. */
	uint64_t next_report;
	struct igmp_group g[TN_IGMP_GROUPS];
};

struct tn_igmp *tn__igmp_create(struct tn_stack *s)
{
	struct tn_igmp *ig = calloc(1, sizeof(struct tn_igmp));

	(void)s;
	if (ig)
		ig->next_report = UINT64_MAX;
	return ig;
}

/* g's delayed report is off: the cached earliest deadline may be it. */
static void disarm(struct tn_stack *s, struct igmp_group *g)
{
	g->report_at = 0;
	s->igmp->next_report = 0;
}

void tn__igmp_destroy(struct tn_igmp *g)
{
	free(g);
}

static struct igmp_group *find(const struct tn_stack *s, uint32_t group)
{
	unsigned i;

	for (i = 0; i < TN_IGMP_GROUPS; i++)
		if (s->igmp->g[i].group == group && group)
			return &s->igmp->g[i];
	return NULL;
}

bool tn__igmp_member(const struct tn_stack *s, uint32_t group)
{
	return group == ALL_HOSTS || find(s, group) != NULL;
}

bool tn__igmp_mac_member(const struct tn_stack *s, const struct rte_ether_addr *mac)
{
	struct rte_ether_addr gm;
	unsigned i;

	/* memcmp, not rte_is_same_ether_addr: that one reads gm, just
	 * written byte by byte, through uint16_t pointers, and GCC's
	 * strict aliasing lets it read before the writes. */
	tn__ip_mcast_mac(ALL_HOSTS, &gm);
	if (memcmp(mac, &gm, RTE_ETHER_ADDR_LEN) == 0)
		return true;
	for (i = 0; i < TN_IGMP_GROUPS; i++) {
		if (!s->igmp->g[i].group)
			continue;
		tn__ip_mcast_mac(s->igmp->g[i].group, &gm);
		if (memcmp(mac, &gm, RTE_ETHER_ADDR_LEN) == 0)
			return true;
	}
	return false;
}

/* Sends an IGMP message of type about group to dst. */
static void send_msg(struct tn_stack *s, uint8_t type, uint32_t group, uint32_t dst)
{
	static const uint8_t router_alert[4] = { 0x94, 0x04, 0x00, 0x00 };
	struct rte_mbuf *m = tn__stack_alloc(s);
	uint8_t *p;
	uint16_t sum;

	if (!m)
		return;
	p = (uint8_t *)rte_pktmbuf_append(m, IGMP_LEN);
	p[0] = type;
	p[1] = 0;
	p[2] = p[3] = 0;
	memcpy(p + 4, &group, 4);
	sum = ~rte_raw_cksum(p, IGMP_LEN);
	memcpy(p + 2, &sum, 2);
	if (type == IGMP_LEAVE)
		s->st.igmp_leaves_sent++;
	else
		s->st.igmp_reports_sent++;
	tn__ip_output_opt(s, m, dst, IPPROTO_IGMP, router_alert, sizeof(router_alert));
}

int tn__igmp_join(struct tn_stack *s, uint32_t group)
{
	struct igmp_group *g = find(s, group);
	unsigned i;

	if (g) {
		g->refs++;
		return 0;
	}
	for (i = 0; i < TN_IGMP_GROUPS && s->igmp->g[i].group; i++)
		;
	if (i == TN_IGMP_GROUPS)
		return -ENOBUFS;
	g = &s->igmp->g[i];
	g->group = group;
	g->refs = 1;
	g->report_at = 0;
	if (group != ALL_HOSTS)
		send_msg(s, IGMP_V2_REPORT, group, group);
	return 0;
}

void tn__igmp_leave(struct tn_stack *s, uint32_t group, bool quiet)
{
	struct igmp_group *g = find(s, group);

	if (!g || --g->refs)
		return;
	g->group = 0;
	disarm(s, g);
	if (!quiet && group != ALL_HOSTS)
		send_msg(s, IGMP_LEAVE, group, ALL_ROUTERS);
}

/* A query with this maximum response time: start (or keep an earlier)
 * delay timer for g. */
static void arm(struct tn_stack *s, struct igmp_group *g, uint64_t max_ns)
{
	uint64_t at;

	if (g->group == ALL_HOSTS)
		return;
	at = s->now + 1 + tn__stack_rand(s) % max_ns;
	if (!g->report_at || at < g->report_at)
		g->report_at = at;
	if (s->igmp->next_report && at < s->igmp->next_report)
		s->igmp->next_report = at; /* (0, unknown, stays unknown) */
	tn__stack_deadline_lower(s, at);
}

void tn__igmp_input(struct tn_stack *s, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip)
{
	uint32_t len = m->pkt_len - m->l3_len;
	uint8_t buf[IGMP_LEN];
	const uint8_t *p;
	struct igmp_group *g;
	uint32_t group;
	uint64_t max_ns;
	uint16_t sum = 0;
	unsigned i;

	(void)ip;
	s->st.igmp_rx++;
	if (len < IGMP_LEN || tn__raw_cksum_mbuf(m, m->l3_len, len, &sum) < 0 || sum != 0xffff) {
		s->st.igmp_bad++;
		goto out;
	}
	p = rte_pktmbuf_read(m, m->l3_len, IGMP_LEN, buf);
	memcpy(&group, p + 4, 4);
	switch (p[0]) {
	case IGMP_QUERY:
		max_ns = p[1] ? p[1] * IGMP_UNIT_NS : IGMP_V1_MAX_RESP_NS;
		if (group == 0) {
			s->st.igmp_queries_rx++;
			for (i = 0; i < TN_IGMP_GROUPS; i++)
				if (s->igmp->g[i].group)
					arm(s, &s->igmp->g[i], max_ns);
		} else if ((g = find(s, group)) != NULL) {
			s->st.igmp_queries_rx++;
			arm(s, g, max_ns);
		}
		break;
	case IGMP_V1_REPORT:
	case IGMP_V2_REPORT:
		/* Someone else answered for the group: we need not. */
		g = find(s, group);
		if (g && g->report_at) {
			disarm(s, g);
			s->st.igmp_reports_suppressed++;
		}
		break;
	default: /* leaves (for routers) and v3 reports */
		break;
	}
out:
	rte_pktmbuf_free(m);
}

uint64_t tn__igmp_timers(struct tn_stack *s)
{
	uint64_t next = UINT64_MAX;
	unsigned i;

	/* Known and not due: what the walk below would return. */
	if (s->igmp->next_report > s->now)
		return s->igmp->next_report;
	for (i = 0; i < TN_IGMP_GROUPS; i++) {
		struct igmp_group *g = &s->igmp->g[i];

		if (!g->group || !g->report_at)
			continue;
		if (g->report_at <= s->now) {
			g->report_at = 0;
			send_msg(s, IGMP_V2_REPORT, g->group, g->group);
		} else if (g->report_at < next) {
			next = g->report_at;
		}
	}
	s->igmp->next_report = next;
	return next;
}
