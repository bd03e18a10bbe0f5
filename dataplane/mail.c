/* Cross-core calls (tn_submit_to): one single-producer single-consumer
 * ring per ordered pair of cores, drained in batches of TN_MAIL_BATCH.
 * A call runs as a task on the target core; its result travels back as a
 * reply and completes the caller's future on the caller's core.  Futures
 * never cross cores: the pointer rides along opaque and is only touched
 * where it was made.
 *
 * With --ip on several cores, two more kinds of ring join the cores'
 * stacks: ARP bindings (a ring per ordered pair, like the calls, so an
 * ARP flood cannot crowd out calls), and, where software steering leaves
 * a core without a queue on port 0, a ring that carries its stack's
 * frames to core 0, which sends them; and rings of ICMP errors about
 * another core's flows (icmp_steer.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_lcore.h>

#include "tn_dp_internal.h"

/* The rings between the cores' stacks (--ip on several cores). */
static int stack_rings_init(struct tn_runtime *rt)
{
	unsigned from, to;
	char name[RTE_RING_NAMESIZE + 16];

	if (!rt->cfg.ip || !rt->nports || rt->ncores < 2)
		return 0;
	for (from = 0; from < rt->ncores; from++) {
		for (to = 0; to < rt->ncores; to++) {
			if (from == to)
				continue;
			snprintf(name, sizeof(name), "tn_arp_%u_%u", from, to);
			rt->arp[from][to] = rte_ring_create_elem(name, sizeof(struct tn_arp_binding),
					TN_ARP_RING, (int)rte_socket_id(),
					RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (!rt->arp[from][to])
				return -ENOMEM;
			snprintf(name, sizeof(name), "tn_icmp_%u_%u", from, to);
			rt->icmp[from][to] = rte_ring_create(name, TN_ICMP_RING, (int)rte_socket_id(),
							     RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (!rt->icmp[from][to])
				return -ENOMEM;
		}
		if (rt->cores[from]->queue < rt->port_nq[0])
			continue;
		snprintf(name, sizeof(name), "tn_stack_tx_%u", from);
		rt->cores[from]->stack_tx = rte_ring_create(name, TN_STACK_TX_RING,
				(int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (!rt->cores[from]->stack_tx)
			return -ENOMEM;
	}
	return 0;
}

int tn__mail_init(struct tn_runtime *rt)
{
	unsigned from, to;
	char name[RTE_RING_NAMESIZE + 16];

	for (from = 0; from < rt->ncores; from++) {
		for (to = 0; to < rt->ncores; to++) {
			if (from == to)
				continue;
			snprintf(name, sizeof(name), "tn_mail_%u_%u", from, to);
			rt->mail[from][to] = rte_ring_create_elem(name, sizeof(struct tn_mail),
					TN_MAIL_RING, (int)rte_socket_id(),
					RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (!rt->mail[from][to])
				return -ENOMEM;
		}
	}
	return stack_rings_init(rt);
}

void tn__mail_fini(struct tn_runtime *rt)
{
	unsigned from, to;

	for (from = 0; from < TN_MAX_CORES; from++)
		for (to = 0; to < TN_MAX_CORES; to++) {
			struct rte_mbuf *m;

			rte_ring_free(rt->mail[from][to]);
			rte_ring_free(rt->arp[from][to]);
			rt->mail[from][to] = rt->arp[from][to] = NULL;
			/* Errors rung over after the target core stopped. */
			while (rt->icmp[from][to] &&
			       rte_ring_sc_dequeue(rt->icmp[from][to], (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(rt->icmp[from][to]);
			rt->icmp[from][to] = NULL;
		}
	for (from = 0; from < TN_MAX_CORES; from++) {
		struct tn_core *c = rt->cores[from];
		struct rte_mbuf *m;

		if (!c || !c->stack_tx)
			continue;
		/* Frames core 0 stopped before sending. */
		while (rte_ring_sc_dequeue(c->stack_tx, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(c->stack_tx);
		c->stack_tx = NULL;
	}
}

int tn__core_calls_init(struct tn_core *c)
{
	unsigned i;

	/* Allocated once: running a call never mallocs. */
	c->calls = calloc(TN_CALLS_PER_CORE, sizeof(*c->calls));
	if (!c->calls)
		return -ENOMEM;
	for (i = 0; i < TN_CALLS_PER_CORE; i++) {
		c->calls[i].next = c->free_calls;
		c->free_calls = &c->calls[i];
	}
	return 0;
}

static bool send_reply(struct tn_core *c, struct tn_call *call)
{
	struct tn_mail m = {
		.kind = TN_MAIL_REPLY,
		.err = call->err,
		.future = call->reply_to,
		.value = call->value,
	};

	return rte_ring_sp_enqueue_elem(c->rt->mail[c->id][call->src], &m, sizeof(m)) == 0;
}

static void call_done(struct tn_core *c, struct tn_call *call)
{
	if (send_reply(c, call)) {
		call->next = c->free_calls;
		c->free_calls = call;
		c->mail_sent++;
		return;
	}
	/* The reply ring is full: retry from the mail phase. */
	call->next = c->pending_replies;
	c->pending_replies = call;
}

static intptr_t run_call(void *arg)
{
	struct tn_call *call = arg;
	intptr_t r = call->fn(call->arg);

	call->err = TN_IS_ERR(r) ? (int)r : 0;
	call->value = TN_IS_ERR(r) ? 0 : r;
	call_done(tn__core_self, call);
	return 0;
}

static void start_call(struct tn_core *c, const struct tn_mail *m, unsigned src)
{
	struct tn_call *call = c->free_calls;
	struct tn_task *t;

	if (!call) {
		/* Out of records: refuse the call rather than allocate. */
		struct tn_call tmp = {.reply_to = m->future, .src = src, .err = -ENOBUFS};
		if (!send_reply(c, &tmp))
			fprintf(stderr, "tern: core %u: lost a reply to core %u\n", c->id, src);
		return;
	}
	c->free_calls = call->next;
	call->fn = m->fn;
	call->arg = m->arg;
	call->reply_to = m->future;
	call->src = src;
	t = tn_task_spawn(run_call, call);
	if (!t) {
		call->err = -ENOMEM;
		call->value = 0;
		call_done(c, call);
		return;
	}
	tn_task_detach(t);
}

bool tn__mail_phase(struct tn_core *c)
{
	struct tn_runtime *rt = c->rt;
	struct tn_mail batch[TN_MAIL_BATCH];
	bool did = false;
	unsigned from, n, i;

	while (c->pending_replies) {
		struct tn_call *call = c->pending_replies;
		if (!send_reply(c, call))
			break;
		c->pending_replies = call->next;
		call->next = c->free_calls;
		c->free_calls = call;
		c->mail_sent++;
		did = true;
	}
	for (from = 0; from < rt->ncores; from++) {
		if (from == c->id)
			continue;
		n = rte_ring_sc_dequeue_burst_elem(rt->mail[from][c->id], batch, sizeof(batch[0]),
						   TN_MAIL_BATCH, NULL);
		for (i = 0; i < n; i++) {
			if (batch[i].kind == TN_MAIL_CALL) {
				start_call(c, &batch[i], from);
			} else if (batch[i].err) {
				tn_future_reject(batch[i].future, batch[i].err);
			} else {
				tn_future_resolve(batch[i].future, batch[i].value);
			}
		}
		c->mail_recv += n;
		did |= n != 0;
	}
	return did;
}

bool tn__mail_arp_phase(struct tn_core *c, uint64_t now)
{
	struct tn_runtime *rt = c->rt;
	struct tn_arp_binding b[TN_MAIL_BATCH];
	unsigned from, to, n, k, i;
	bool did = false;

	/* Ours to every other core: a full ring loses the binding, and that
	 * core resolves the address itself if it needs it. */
	while ((n = tn_stack_arp_learned(c->stack, b, TN_MAIL_BATCH)) != 0) {
		for (to = 0; to < rt->ncores; to++) {
			if (to == c->id)
				continue;
			k = rte_ring_sp_enqueue_burst_elem(rt->arp[c->id][to], b, sizeof(b[0]), n,
							   NULL);
			c->arp_mail_sent += k;
			c->arp_mail_dropped += n - k;
		}
		did = true;
	}
	/* Theirs into our stack, which decides what to keep. */
	for (from = 0; from < rt->ncores; from++) {
		if (from == c->id)
			continue;
		n = rte_ring_sc_dequeue_burst_elem(rt->arp[from][c->id], b, sizeof(b[0]),
						   TN_MAIL_BATCH, NULL);
		for (i = 0; i < n; i++)
			tn_stack_arp_update(c->stack, b[i].ip, b[i].mac, b[i].held, now);
		c->arp_mail_recv += n;
		did |= n != 0;
	}
	did |= tn__icmp_steer_phase(c, now);
	return did;
}

struct tn_future *tn_submit_to(unsigned core, intptr_t (*fn)(void *arg), void *arg)
{
	struct tn_core *c = tn__core_self;
	struct tn_future *f;
	struct tn_mail m;

	if (!c || !tn__rt || core >= tn__rt->ncores || !fn) {
		errno = EINVAL;
		return NULL;
	}
	if (core == c->id) {
		/* Same core: no mail, just a task. */
		struct tn_task *t = tn_task_spawn(fn, arg);
		return t ? tn_task_join(t) : NULL;
	}
	f = tn_future_create();
	if (!f) {
		errno = ENOMEM;
		return NULL;
	}
	m = (struct tn_mail){.kind = TN_MAIL_CALL, .fn = fn, .arg = arg, .future = f};
	if (rte_ring_sp_enqueue_elem(tn__rt->mail[c->id][core], &m, sizeof(m)) != 0) {
		tn_future_detach(f);
		tn_future_reject(f, -ENOBUFS);
		errno = ENOBUFS;
		return NULL;
	}
	c->mail_sent++;
	return f;
}
