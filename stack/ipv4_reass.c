/* IPv4 reassembly on DPDK's rte_ip_frag, with the checks it lacks.
 *
 * Bounds: at most REASS_FLOWS datagrams in progress, each of at most
 * RTE_LIBRTE_IP_FRAG_MAX_FRAG (8) fragments, so the table holds at most
 * 32 x 8 = 256 mbufs of the receive pool.  A datagram not complete
 * REASS_TIMEOUT_NS after its first fragment is dropped (RFC 791 suggests
 * 15 s; on a LAN, 2 s bounds what a flood can pin much better).
 *
 * What rte_ip_frag does itself (lib/ip_frag/ip_frag_internal.c): a second
 * first or last fragment, or a ninth fragment, drops the whole datagram;
 * once the byte count reaches the last fragment's end it chains the
 * fragments end to start and drops the datagram if they do not tile it
 * exactly, so overlaps and duplicates (which overshoot the count or leave
 * a hole) are dropped; a full table (or bucket) refuses new flows.  We
 * then evict the oldest flows, those older than REASS_EVICT_AGE_NS at
 * least, and retry: under loss, datagrams that lost a fragment would
 * otherwise hold the table for the whole timeout and refuse every new
 * fragmented datagram meanwhile (Linux too evicts the oldest when its
 * reassembly memory is full).  A flood of new flows cannot evict flows
 * younger than that age.  What it does not
 * guard, and we do before handing a fragment over: an empty fragment
 * (it would stay unchained in the table and leak), a fragment ending past
 * 65,535 bytes (the rebuilt total length would wrap), and a non-last
 * fragment whose length is not a multiple of 8 (RFC 791).
 *
 * rte_ip_frag wants a timestamp and a timeout in one unit: we give it ns,
 * so it never reads a clock either.  Dropped fragments go to a death row
 * that we free (and count) after every call, before it can overflow. */
/* rte_ip_frag_table_del_expired_entries is still experimental in 22.11. */
#define ALLOW_EXPERIMENTAL_API
#include <stdlib.h>

#include <rte_ip_frag.h>

#include "tn_stack_internal.h"

#define REASS_FLOWS 32
#define REASS_BUCKETS 16
#define REASS_BUCKET_ENTRIES 4
#define REASS_TIMEOUT_NS 2000000000ull
/* Under pressure, flows at least this old may be evicted for new ones. */
#define REASS_EVICT_AGE_NS 8000000ull
/* Timed-out flows are swept this often while any may be held. */
#define REASS_SWEEP_NS 250000000ull

struct tn_reass {
	struct rte_ip_frag_tbl *tbl;
	struct rte_ip_frag_death_row dr;
	bool active;        /* a flow may be held */
	uint64_t last_frag; /* when the last fragment was handed over */
	uint64_t next_sweep;
};

struct tn_reass *tn__reass_create(struct tn_stack *s)
{
	struct tn_reass *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->tbl = rte_ip_frag_table_create(REASS_BUCKETS, REASS_BUCKET_ENTRIES, REASS_FLOWS,
					  REASS_TIMEOUT_NS, SOCKET_ID_ANY);
	if (!r->tbl) {
		free(r);
		return NULL;
	}
	return r;
}

void tn__reass_destroy(struct tn_reass *r)
{
	/* The table frees the fragments it holds. */
	rte_ip_frag_table_destroy(r->tbl);
	rte_ip_frag_free_death_row(&r->dr, 0);
	free(r);
}

static void free_death_row(struct tn_reass *r, uint64_t *counter)
{
	*counter += r->dr.cnt;
	rte_ip_frag_free_death_row(&r->dr, 0);
}

/* Evicts the oldest flows: rte_ip_frag deletes, oldest first, the flows
 * that started before tms - timeout, so asking for ever younger ones
 * (1 s, 0.5 s, ... down to REASS_EVICT_AGE_NS) frees the oldest group.
 * Returns whether any was evicted (their fragments are counted).  The
 * death row must be empty. */
static bool evict_oldest(struct tn_stack *s)
{
	struct tn_reass *r = s->reass;
	uint64_t age;

	for (age = REASS_TIMEOUT_NS / 2; age >= REASS_EVICT_AGE_NS && s->now >= age; age /= 2) {
		rte_ip_frag_table_del_expired_entries(r->tbl, &r->dr,
						      s->now - age + REASS_TIMEOUT_NS);
		if (r->dr.cnt) {
			free_death_row(r, &s->st.ip_frag_evicted);
			return true;
		}
	}
	return false;
}

struct rte_mbuf *tn__reass_input(struct tn_stack *s, struct rte_mbuf *m)
{
	struct tn_reass *r = s->reass;
	struct rte_ipv4_hdr *h = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	uint16_t fo = rte_be_to_cpu_16(h->fragment_offset);
	uint32_t ofs = (fo & RTE_IPV4_HDR_OFFSET_MASK) * RTE_IPV4_HDR_OFFSET_UNITS;
	uint32_t len = rte_be_to_cpu_16(h->total_length) - m->l3_len;
	bool mf = fo & RTE_IPV4_HDR_MF_FLAG;
	struct rte_mbuf *out;

	s->st.ip_frag_rx++;
	if (len == 0 || (mf && len % 8) || m->l3_len + ofs + len > UINT16_MAX) {
		s->st.ip_frag_bad++;
		rte_pktmbuf_free(m);
		return NULL;
	}
	out = rte_ipv4_frag_reassemble_packet(r->tbl, &r->dr, m, s->now, h);
	if (!out && r->dr.cnt == 1 && r->dr.row[0] == m) {
		/* m alone on the death row: no room for its flow (a flow's
		 * errors drop its other fragments too).  Make room, retry. */
		r->dr.cnt = 0;
		if (evict_oldest(s))
			out = rte_ipv4_frag_reassemble_packet(r->tbl, &r->dr, m, s->now, h);
		else
			r->dr.row[r->dr.cnt++] = m;
	}
	free_death_row(r, &s->st.ip_frag_dropped);
	r->last_frag = s->now;
	if (!r->active) {
		r->active = true;
		r->next_sweep = s->now + REASS_SWEEP_NS;
		tn__stack_deadline_lower(s, r->next_sweep);
	}
	if (!out)
		return NULL;
	s->st.ip_frag_reassembled++;
	/* rte_ip_frag rewrote the length and offset and zeroed the checksum;
	 * an ICMP error may quote this header, so make it valid again. */
	h = rte_pktmbuf_mtod(out, struct rte_ipv4_hdr *);
	h->hdr_checksum = rte_ipv4_cksum(h);
	out->l2_len = 0;
	return out;
}

uint64_t tn__reass_timers(struct tn_stack *s)
{
	struct tn_reass *r = s->reass;

	if (!r->active)
		return UINT64_MAX;
	if (s->now < r->next_sweep)
		return r->next_sweep;
	/* Deletion stops when the death row is full: empty it and go on. */
	for (;;) {
		rte_ip_frag_table_del_expired_entries(r->tbl, &r->dr, s->now);
		if (!r->dr.cnt)
			break;
		free_death_row(r, &s->st.ip_frag_timeout);
	}
	/* Every flow started at or before the last fragment, so past its
	 * timeout the table is empty. */
	if (s->now > r->last_frag + REASS_TIMEOUT_NS) {
		r->active = false;
		return UINT64_MAX;
	}
	r->next_sweep = s->now + REASS_SWEEP_NS;
	if (r->next_sweep > r->last_frag + REASS_TIMEOUT_NS + 1)
		r->next_sweep = r->last_frag + REASS_TIMEOUT_NS + 1;
	return r->next_sweep;
}
