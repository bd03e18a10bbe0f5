/* Transmit: packets queue per core and port, and leave in bursts in the
 * loop's TX phase, so a handler that sends one packet at a time still
 * costs one rte_eth_tx_burst per turn.  A whole burst handed over while
 * nothing waits (a reflector's received burst) leaves at once, from the
 * caller's array: no copy into the buffer, no wait for the TX phase. */
#include <rte_ethdev.h>

#include "tn_dp_internal.h"

/* A burst at least this long goes straight to the port when the buffer
 * is empty; shorter ones wait for the TX phase to meet others. */
#define TN_TX_DIRECT 4

/* Counts what the port took: pkts[0..sent). */
static void count_tx(struct tn_core *c, uint16_t pidx, struct rte_mbuf **pkts, uint16_t sent)
{
	uint64_t bytes = 0;
	uint16_t i;

	for (i = 0; i < sent; i++)
		bytes += pkts[i]->pkt_len;
	c->stats[pidx].tx_pkts += sent;
	c->stats[pidx].tx_bytes += bytes;
	if (sent)
		c->stats[pidx].tx_bursts++;
}

static uint16_t flush(struct tn_core *c, uint16_t pidx)
{
	struct tn_runtime *rt = c->rt;
	struct tn_txbuf *b = &c->tx[pidx];
	uint16_t n = b->n, left = b->left, sent, i;

	if (!n && !c->fault_tx[pidx])
		return 0;
	/* Faults also release packets they delayed, so they run even on an
	 * empty buffer.  What the port did not take last time is at the
	 * front and has met the faults and the capture already: only the
	 * rest does now. */
	if (c->fault_tx[pidx]) {
		struct tn_fault *f = c->fault_tx[pidx];
		uint64_t freed = tn_fault_freed(f);

		n = (uint16_t)(left + tn_fault_apply(f, b->pkts + left, (uint16_t)(n - left),
						     (uint16_t)(TN_TXBUF - left),
						     tn_now()));
		c->stats[pidx].tx_drops += tn_fault_freed(f) - freed;
	}
	if (!n) {
		b->n = b->left = 0;
		return 0;
	}
	if (rt->pcap && n > left)
		tn_pcap_capture(rt->pcap, pidx, c->queue, b->pkts + left, (uint16_t)(n - left), false);
	sent = rte_eth_tx_burst(rt->port_ids[pidx], c->queue, b->pkts, n);
	count_tx(c, pidx, b->pkts, sent);
	/* Keep what the queue did not take, in order, for the next turn;
	 * the buffer bounds how much waits. */
	for (i = sent; i < n; i++)
		b->pkts[i - sent] = b->pkts[i];
	b->n = b->left = (uint16_t)(n - sent);
	return sent;
}

/* m as one direct segment, for a port that sends nothing else
 * (port_tx_flat: the stack's fragments are a header mbuf plus indirect
 * ones): m itself if it is one, else a copy (m is freed), or NULL. */
static struct rte_mbuf *flatten(struct tn_core *c, struct rte_mbuf *m)
{
	struct rte_mbuf *f;

	if (m->nb_segs == 1 && RTE_MBUF_DIRECT(m))
		return m;
	f = rte_pktmbuf_copy(m, c->mp, 0, UINT32_MAX);
	if (f && f->nb_segs != 1) { /* longer than one mbuf holds */
		rte_pktmbuf_free(f);
		f = NULL;
	}
	rte_pktmbuf_free(m);
	return f;
}

/* Whether pkts can go to the port as they are: nothing waits before
 * them, no --fault or --pcap has to see them first, and a port that
 * sends only flat packets gets only flat packets. */
static bool direct_ok(struct tn_core *c, uint16_t pidx, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i;

	if (c->tx[pidx].n || n < TN_TX_DIRECT || c->fault_tx[pidx] || c->rt->pcap)
		return false;
	if (c->rt->port_tx_flat[pidx])
		for (i = 0; i < n; i++)
			if (pkts[i]->nb_segs != 1 || !RTE_MBUF_DIRECT(pkts[i]))
				return false;
	return true;
}

uint16_t tn_tx_burst(struct tn_core *c, uint16_t pidx, struct rte_mbuf **pkts, uint16_t n)
{
	struct tn_txbuf *b = &c->tx[pidx];
	bool flat = c->rt->port_tx_flat[pidx];
	uint16_t i, queued = 0;

	if (direct_ok(c, pidx, pkts, n)) {
		uint16_t sent = rte_eth_tx_burst(c->rt->port_ids[pidx], c->queue, pkts, n);

		count_tx(c, pidx, pkts, sent);
		if (sent == n)
			return n;
		/* The rest waits in the (empty) buffer, in order. */
		pkts += sent;
		n = (uint16_t)(n - sent);
		queued = sent;
	}
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (b->n == TN_TXBUF && (flush(c, pidx), b->n == TN_TXBUF)) {
			/* The port is saturated: drop rather than block the loop. */
			c->stats[pidx].tx_drops += n - i;
			rte_pktmbuf_free_bulk(pkts + i, n - i);
			return queued;
		}
		if (flat && !(m = flatten(c, m))) {
			c->stats[pidx].tx_drops++;
			continue;
		}
		b->pkts[b->n++] = m;
		queued++;
	}
	if (b->n)
		c->tx_pending = true;
	return queued;
}

uint16_t tn_tx_flush(struct tn_core *c, uint16_t pidx)
{
	return flush(c, pidx);
}

bool tn__tx_phase(struct tn_core *c)
{
	bool did = false, pending = false;
	uint16_t p;

	for (p = 0; p < c->rt->nports; p++) {
		if (c->tx[p].n || c->fault_tx[p])
			did |= flush(c, p) != 0;
		pending |= c->tx[p].n != 0;
	}
	c->tx_pending = pending;
	return did;
}

void tn__tx_drop_all(struct tn_core *c)
{
	uint16_t p;

	for (p = 0; p < c->rt->nports; p++) {
		if (c->tx[p].n) {
			c->stats[p].tx_drops += c->tx[p].n;
			rte_pktmbuf_free_bulk(c->tx[p].pkts, c->tx[p].n);
			c->tx[p].n = c->tx[p].left = 0;
		}
	}
}
