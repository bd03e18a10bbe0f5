/* Transmit: packets queue per core and port, and leave in bursts in the
 * loop's TX phase, so a handler that sends one packet at a time still
 * costs one rte_eth_tx_burst per turn. */
#include <rte_ethdev.h>

#include "tn_dp_internal.h"

static uint16_t flush(struct tn_core *c, uint16_t pidx)
{
	struct tn_runtime *rt = c->rt;
	struct tn_txbuf *b = &c->tx[pidx];
	uint16_t n = b->n, left = b->left, sent, i;
	uint64_t bytes = 0;

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
						     tn_sched_update_clock(c->sched)));
		c->stats[pidx].tx_drops += tn_fault_freed(f) - freed;
	}
	if (!n) {
		b->n = b->left = 0;
		return 0;
	}
	if (rt->pcap && n > left)
		tn_pcap_capture(rt->pcap, pidx, c->queue, b->pkts + left, (uint16_t)(n - left), false);
	for (i = 0; i < n; i++)
		bytes += b->pkts[i]->pkt_len;
	sent = rte_eth_tx_burst(rt->port_ids[pidx], c->queue, b->pkts, n);
	for (i = sent; i < n; i++)
		bytes -= b->pkts[i]->pkt_len;
	c->stats[pidx].tx_pkts += sent;
	c->stats[pidx].tx_bytes += bytes;
	if (sent)
		c->stats[pidx].tx_bursts++;
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

uint16_t tn_tx_burst(struct tn_core *c, uint16_t pidx, struct rte_mbuf **pkts, uint16_t n)
{
	struct tn_txbuf *b = &c->tx[pidx];
	bool flat = c->rt->port_tx_flat[pidx];
	uint16_t i, queued = 0;

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
	return queued;
}

uint16_t tn_tx_flush(struct tn_core *c, uint16_t pidx)
{
	return flush(c, pidx);
}

bool tn__tx_phase(struct tn_core *c)
{
	bool did = false;
	uint16_t p;

	for (p = 0; p < c->rt->nports; p++)
		if (c->tx[p].n || c->fault_tx[p])
			did |= flush(c, p) != 0;
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
