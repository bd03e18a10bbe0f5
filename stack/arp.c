/* ARP: the neighbour cache, requests and replies, and the queue of
 * frames waiting for an address to resolve.
 *
 * The cache is a fixed array of cfg.arp_entries entries indexed by an
 * open-addressing (linear probing, backward-shift deletion) table of
 * twice as many slots, so neither lookups nor a flood ever allocate.
 * Entries are INCOMPLETE (a request is out, frames wait) or REACHABLE
 * (until cfg.arp_ttl_ns after they were last confirmed by ARP).
 *
 * Flood safety: an entry is created only when we need an address, or
 * when a host asks for ours (it is about to talk to us, RFC 826); other
 * ARP only updates entries we already hold.  When the table is full the
 * least recently used of a few entries sampled round-robin is evicted
 * ("LRU-ish", O(1)), never the gateway's.
 *
 * Instances sharing a link (one per core, cfg.arp_share): what an ARP
 * frame teaches this instance is also recorded in a small log that the
 * caller drains (tn_stack_arp_learned) and hands to the others
 * (tn_stack_arp_update).  The log keeps the bindings we hold an entry
 * for, and those of frames addressed to us or announced, since a reply
 * to another instance's request may land here; the others make an entry
 * only from a binding its sender holds, so the flood rule above holds on
 * every instance.
 *
 * Known limits: an expired entry is removed, not refreshed in the
 * background, so the first frame after expiry waits for a new request. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <rte_arp.h>

#include "tn_stack_internal.h"
#include "tn_wire.h"

#define ARP_RETRY_NS 1000000000ull /* also the per-destination rate limit */
#define ARP_TRIES 3                /* requests before giving up */
#define ARP_EVICT_SAMPLE 8         /* entries looked at to pick a victim */
#define ARP_SHARE_LOG 64           /* bindings kept for tn_stack_arp_learned */

enum { ARP_FREE, ARP_INCOMPLETE, ARP_REACHABLE };

struct arp_entry {
	uint32_t ip; /* network byte order */
	uint8_t state, tries;
	uint16_t npending;
	struct rte_ether_addr mac;
	uint64_t deadline; /* INCOMPLETE: next request; REACHABLE: expiry */
	uint64_t used;     /* last use, for eviction */
	struct rte_mbuf **pending;
};

struct tn_arp {
	unsigned n, mask, nused, nfree, hand;
	uint32_t hseed;
	uint64_t next_deadline; /* no entry is due before this */
	uint32_t *slot;         /* entry index + 1; 0: empty */
	unsigned *free_idx;     /* a stack of free entry indices */
	struct arp_entry *e;
	struct rte_mbuf **pend; /* n * cfg.arp_pending */
	/* cfg.arp_share: a ring of the newest bindings learned */
	struct tn_arp_binding log[ARP_SHARE_LOG];
	unsigned log_head, log_len;
};

static const struct rte_ether_addr bcast_mac = { .addr_bytes = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
static const struct rte_ether_addr zero_mac;

struct tn_arp *tn__arp_create(struct tn_stack *s)
{
	struct tn_arp *a = calloc(1, sizeof(*a));
	unsigned cap = 2, i;

	if (!a)
		return NULL;
	a->n = s->cfg.arp_entries;
	while (cap < 2 * a->n)
		cap <<= 1;
	a->mask = cap - 1;
	a->hseed = (uint32_t)tn__stack_rand(s) | 1;
	a->next_deadline = UINT64_MAX;
	a->slot = calloc(cap, sizeof(*a->slot));
	a->free_idx = calloc(a->n, sizeof(*a->free_idx));
	a->e = calloc(a->n, sizeof(*a->e));
	a->pend = calloc((size_t)a->n * s->cfg.arp_pending, sizeof(*a->pend));
	if (!a->slot || !a->free_idx || !a->e || !a->pend) {
		tn__arp_destroy(a);
		return NULL;
	}
	for (i = 0; i < a->n; i++) {
		a->e[i].pending = a->pend + (size_t)i * s->cfg.arp_pending;
		a->free_idx[i] = a->n - 1 - i;
	}
	a->nfree = a->n;
	return a;
}

void tn__arp_destroy(struct tn_arp *a)
{
	unsigned i, j;

	if (!a)
		return;
	if (a->e && a->pend)
		for (i = 0; i < a->n; i++)
			for (j = 0; j < a->e[i].npending; j++)
				rte_pktmbuf_free(a->e[i].pending[j]);
	free(a->slot);
	free(a->free_idx);
	free(a->e);
	free(a->pend);
	free(a);
}

/* ---- the index ---- */

static unsigned home(const struct tn_arp *a, uint32_t ip)
{
	/* Seeded multiplicative hash: a flooder cannot aim at one chain. */
	return ((ip ^ a->hseed) * 0x9E3779B1u) & a->mask;
}

/* The slot holding ip, or the empty slot ending its probe sequence. */
static unsigned find_slot(const struct tn_arp *a, uint32_t ip)
{
	unsigned i = home(a, ip);

	while (a->slot[i] && a->e[a->slot[i] - 1].ip != ip)
		i = (i + 1) & a->mask;
	return i;
}

static struct arp_entry *lookup(struct tn_arp *a, uint32_t ip)
{
	uint32_t x = a->slot[find_slot(a, ip)];

	return x ? &a->e[x - 1] : NULL;
}

/* Removes an entry; its pending frames must be gone already. */
static void entry_del(struct tn_stack *s, struct tn_arp *a, struct arp_entry *e)
{
	unsigned i = find_slot(a, e->ip), j = i, k;

	/* Backward shift: pull later members of the cluster into the hole
	 * unless their home lies cyclically in (i, j]. */
	for (;;) {
		j = (j + 1) & a->mask;
		if (!a->slot[j])
			break;
		k = home(a, a->e[a->slot[j] - 1].ip);
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		a->slot[i] = a->slot[j];
		i = j;
	}
	a->slot[i] = 0;
	s->arp_gen++; /* templates holding its MAC are stale */
	e->state = ARP_FREE;
	e->npending = 0;
	a->free_idx[a->nfree++] = (unsigned)(e - a->e);
	a->nused--;
}

static void drop_pending(struct arp_entry *e, uint64_t *counter)
{
	unsigned i;

	for (i = 0; i < e->npending; i++)
		rte_pktmbuf_free(e->pending[i]);
	*counter += e->npending;
	e->npending = 0;
}

/* Room for one more entry: evicts the least recently used of a few
 * sampled ones, never the gateway's.  False if only the gateway's is. */
static bool make_room(struct tn_stack *s, struct tn_arp *a)
{
	struct arp_entry *victim = NULL;
	unsigned i;

	if (a->nfree)
		return true;
	for (i = 0; i < ARP_EVICT_SAMPLE && i < a->n; i++) {
		struct arp_entry *e = &a->e[a->hand];

		a->hand = (a->hand + 1) % a->n;
		if (s->cfg.gw && e->ip == s->cfg.gw)
			continue;
		if (!victim || e->used < victim->used)
			victim = e;
	}
	if (!victim)
		return false;
	drop_pending(victim, &s->st.arp_pending_dropped);
	entry_del(s, a, victim);
	s->st.arp_evicted++;
	return true;
}

static struct arp_entry *entry_add(struct tn_stack *s, uint32_t ip)
{
	struct tn_arp *a = s->arp;
	struct arp_entry *e;
	unsigned i;

	if (!make_room(s, a))
		return NULL;
	i = find_slot(a, ip);
	e = &a->e[a->free_idx[--a->nfree]];
	a->slot[i] = (uint32_t)(e - a->e) + 1;
	a->nused++;
	memset(e, 0, offsetof(struct arp_entry, pending));
	e->ip = ip;
	e->used = s->now;
	return e;
}

/* Also the stack's: input arms ARP timers too, and the loop runs
 * tn_stack_timers only once tn_stack_next_deadline has passed. */
static void set_deadline(struct tn_stack *s, struct arp_entry *e, uint64_t t)
{
	e->deadline = t;
	if (t < s->arp->next_deadline)
		s->arp->next_deadline = t;
	tn__stack_deadline_lower(s, t);
}

/* ---- frames ---- */

static void send_arp(struct tn_stack *s, uint16_t op, const struct rte_ether_addr *dst,
		     const struct rte_ether_addr *tha, uint32_t tpa)
{
	struct rte_mbuf *m = tn__stack_alloc(s);
	void *p;

	if (!m)
		return;
	p = rte_pktmbuf_append(m, TN_ARP_LEN);
	if (!p) {
		rte_pktmbuf_free(m);
		s->st.no_mbuf++;
		return;
	}
	tn__arp_write(p, op, &s->mac, s->ip, tha, tpa);
	tn__eth_output(s, m, dst, RTE_ETHER_TYPE_ARP);
}

static void send_request(struct tn_stack *s, struct arp_entry *e)
{
	s->st.arp_requests_sent++;
	send_arp(s, RTE_ARP_OP_REQUEST, &bcast_mac, &zero_mac, e->ip);
}

void tn__arp_announce(struct tn_stack *s)
{
	/* Gratuitous ARP: a request for our own address (RFC 5227 2.3), so
	 * neighbours holding a stale MAC for it update their caches. */
	send_arp(s, RTE_ARP_OP_REQUEST, &bcast_mac, &zero_mac, s->ip);
}

/* An entry's MAC is now known: confirm it and send what waited. */
static void resolved(struct tn_stack *s, struct arp_entry *e, const struct rte_ether_addr *mac)
{
	unsigned i;

	e->mac = *mac;
	e->state = ARP_REACHABLE;
	s->arp_gen++;
	e->tries = 0;
	e->used = s->now;
	set_deadline(s, e, s->now + s->cfg.arp_ttl_ns);
	for (i = 0; i < e->npending; i++)
		tn__eth_output(s, e->pending[i], &e->mac, RTE_ETHER_TYPE_IPV4);
	e->npending = 0;
}

/* Records a binding for the other instances on the link (arp_share). */
static void share(struct tn_stack *s, uint32_t ip, const struct rte_ether_addr *mac, bool held)
{
	struct tn_arp *a = s->arp;
	struct tn_arp_binding *b;

	if (!s->cfg.arp_share)
		return;
	if (a->log_len == ARP_SHARE_LOG) {
		/* Drop the oldest: a newer binding supersedes it. */
		a->log_head = (a->log_head + 1) % ARP_SHARE_LOG;
		a->log_len--;
		s->st.arp_share_lost++;
	}
	b = &a->log[(a->log_head + a->log_len++) % ARP_SHARE_LOG];
	b->ip = ip;
	memcpy(b->mac, mac->addr_bytes, 6);
	b->held = held;
	s->st.arp_shared++;
}

void tn__arp_input(struct tn_stack *s, struct rte_mbuf *m)
{
	uint8_t buf[TN_ARP_LEN];
	struct tn__arp_view v;
	struct arp_entry *e = NULL;
	const void *p;
	bool for_us;

	s->st.arp_rx++;
	p = rte_pktmbuf_read(m, sizeof(struct rte_ether_hdr), TN_ARP_LEN, buf);
	if (!p || tn__arp_parse(p, m->pkt_len - sizeof(struct rte_ether_hdr), &v) < 0 ||
	    v.spa == s->ip) {
		/* (A sender with our address is a conflict or a spoof: learn
		 * nothing from it.) */
		s->st.arp_bad++;
		goto out;
	}
	for_us = v.tpa == s->ip;
	/* 0.0.0.0 is a probe (RFC 5227): answer it, learn nothing. */
	if (v.spa != 0 && !tn__ip_is_bcast(s, v.spa)) {
		e = lookup(s->arp, v.spa);
		if (!e && for_us && v.op == RTE_ARP_OP_REQUEST && tn__ip_on_link(s, v.spa))
			e = entry_add(s, v.spa);
		if (e)
			resolved(s, e, &v.sha);
		/* Others on the link may hold or wait for what we do not: a
		 * reply to a request one of them sent can land here. */
		if (e || ((for_us || v.spa == v.tpa) && tn__ip_on_link(s, v.spa)))
			share(s, v.spa, &v.sha, e != NULL);
	}
	if (for_us && v.op == RTE_ARP_OP_REQUEST) {
		s->st.arp_replies_sent++;
		send_arp(s, RTE_ARP_OP_REPLY, &v.sha, &v.sha, v.spa);
	} else if (!e) {
		s->st.arp_not_ours++;
	}
out:
	rte_pktmbuf_free(m);
}

void tn__arp_resolve_output(struct tn_stack *s, struct rte_mbuf *m, uint32_t nh)
{
	struct arp_entry *e = lookup(s->arp, nh);

	if (e && e->state == ARP_REACHABLE && e->deadline > s->now) {
		e->used = s->now;
		tn__eth_output(s, m, &e->mac, RTE_ETHER_TYPE_IPV4);
		return;
	}
	if (e && e->state == ARP_REACHABLE) {
		/* Expired but not yet swept: resolve it again. */
		e->state = ARP_INCOMPLETE;
		s->arp_gen++;
		e->tries = 0;
		e->deadline = s->now;
	}
	if (!e) {
		e = entry_add(s, nh);
		if (!e) {
			s->st.arp_cache_full++;
			rte_pktmbuf_free(m);
			return;
		}
		e->state = ARP_INCOMPLETE;
		e->deadline = s->now;
	}
	e->used = s->now;
	if (e->npending == s->cfg.arp_pending) {
		s->st.arp_pending_dropped++;
		rte_pktmbuf_free(m);
	} else {
		e->pending[e->npending++] = m;
	}
	/* (Out of tries: the timers drop the entry and its queue.) */
	if (e->deadline <= s->now && e->tries < ARP_TRIES) {
		send_request(s, e);
		e->tries++;
		set_deadline(s, e, s->now + ARP_RETRY_NS);
	} else {
		s->st.arp_rate_limited++;
	}
}

int tn__arp_lookup(struct tn_stack *s, uint32_t nh, struct rte_ether_addr *mac, uint64_t *until)
{
	struct arp_entry *e = lookup(s->arp, nh);

	if (!e || e->state != ARP_REACHABLE || e->deadline <= s->now)
		return -EAGAIN;
	e->used = s->now;
	*mac = e->mac;
	*until = e->deadline;
	return 0;
}

void tn__arp_learn(struct tn_stack *s, uint32_t ip, const struct rte_ether_addr *mac)
{
	struct arp_entry *e = lookup(s->arp, ip);

	/* IP traffic only refreshes what ARP confirmed: a forged source
	 * MAC in a datagram must not redirect our frames. */
	if (e && e->state == ARP_REACHABLE && rte_is_same_ether_addr(&e->mac, mac) &&
	    e->deadline > s->now) {
		e->deadline = s->now + s->cfg.arp_ttl_ns;
		e->used = s->now;
		s->arp_fresh_ip = ip;
		s->arp_fresh_gen = s->arp_gen;
		s->arp_fresh_until = s->now + (s->cfg.arp_ttl_ns >> 10);
	}
}

uint64_t tn__arp_timers(struct tn_stack *s)
{
	struct tn_arp *a = s->arp;
	uint64_t next = UINT64_MAX;
	unsigned i;

	if (s->now < a->next_deadline)
		return a->next_deadline;
	for (i = 0; i < a->n && a->nused; i++) {
		struct arp_entry *e = &a->e[i];

		if (e->state == ARP_FREE)
			continue;
		if (e->deadline <= s->now) {
			if (e->state == ARP_REACHABLE) {
				entry_del(s, a, e);
				continue;
			}
			if (e->tries >= ARP_TRIES) {
				drop_pending(e, &s->st.arp_unresolved);
				entry_del(s, a, e);
				continue;
			}
			send_request(s, e);
			e->tries++;
			e->deadline = s->now + ARP_RETRY_NS;
		}
		if (e->deadline < next)
			next = e->deadline;
	}
	a->next_deadline = next;
	return next;
}

uint16_t tn_stack_arp_learned(struct tn_stack *s, struct tn_arp_binding *out, uint16_t max)
{
	struct tn_arp *a = s->arp;
	uint16_t n = 0;

	while (n < max && a->log_len) {
		out[n++] = a->log[a->log_head];
		a->log_head = (a->log_head + 1) % ARP_SHARE_LOG;
		a->log_len--;
	}
	return n;
}

int tn_stack_arp_update(struct tn_stack *s, uint32_t ip, const uint8_t mac[6], bool create,
			uint64_t now)
{
	struct rte_ether_addr ea;
	struct arp_entry *e;

	memcpy(ea.addr_bytes, mac, 6);
	/* The checks tn__arp_input makes before it learns anything. */
	if (ip == 0 || ip == s->ip || tn__ip_is_bcast(s, ip) || tn__ip_is_mcast(ip) ||
	    !tn__ip_on_link(s, ip) || rte_is_multicast_ether_addr(&ea) ||
	    rte_is_zero_ether_addr(&ea))
		return -EINVAL;
	s->now = now;
	e = lookup(s->arp, ip);
	if (!e) {
		if (!create)
			return -ENOENT;
		e = entry_add(s, ip);
		if (!e)
			return -ENOSPC;
	}
	/* Not recorded for sharing again: it came from the others. */
	resolved(s, e, &ea);
	s->st.arp_updates++;
	return 0;
}
