/* Received data: the in-order receive queue, the out-of-order queue and
 * the SACK blocks we announce (RFC 2018).
 *
 * Both queues are lists of single-segment mbufs (tn__tcp_q).  Memory is
 * bounded by bytes, not segments: a small segment is copied into the
 * tailroom of the one before it when that one is ours alone (direct,
 * refcnt 1), so a flood of 1-byte segments fills few mbufs, as Linux's
 * coalescing does.  The out-of-order queue is sorted by sequence number
 * (each segment's in m->hash.usr), holds no overlaps (a newcomer is
 * trimmed to what is new), is bounded by TN_TCP_OOO_MAX_SEGS segments
 * (a newcomer over the bound is dropped and counted; the sender learns
 * of it by SACK) and by the window (data past it never gets here). */
#include <string.h>

#include "tn_tcp.h"

#define SEG_SEQ(m) ((m)->hash.usr)

/* ---- queues ---- */

void tn__tcp_q_free(struct tn__tcp_q *q)
{
	struct rte_mbuf *m = q->head, *n;

	for (; m; m = n) {
		n = m->next;
		m->next = NULL;
		rte_pktmbuf_free_seg(m);
	}
	q->head = q->tail = NULL;
	q->bytes = 0;
	q->nsegs = 0;
}

/* Whether we may write into m's tailroom: ours alone. */
static inline bool writable(const struct rte_mbuf *m)
{
	return RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1;
}

/* Appends m's data to q, into the tail's room if it fits; takes m. */
static void q_push_coalesce(struct tn__tcp_q *q, struct rte_mbuf *m)
{
	struct rte_mbuf *t = q->tail;

	if (t && writable(t) && rte_pktmbuf_tailroom(t) >= m->data_len) {
		memcpy(rte_pktmbuf_mtod_offset(t, uint8_t *, t->data_len),
		       rte_pktmbuf_mtod(m, const uint8_t *), m->data_len);
		t->data_len += m->data_len;
		t->pkt_len = t->data_len;
		q->bytes += m->data_len;
		m->next = NULL;
		rte_pktmbuf_free_seg(m);
		return;
	}
	tn__tcp_q_push(q, m);
}

void tn__tcp_q_append_all(struct tn__tcp_q *q, struct rte_mbuf *m)
{
	while (m) {
		struct rte_mbuf *n = m->next;

		if (m->data_len == 0) {
			m->next = NULL;
			rte_pktmbuf_free_seg(m);
		} else {
			tn__tcp_q_push(q, m);
		}
		m = n;
	}
}

void tn__tcp_q_trim_all(struct tn_stack *s, struct tn__tcp_q *q, uint32_t n)
{
	while (n && q->head) {
		struct rte_mbuf *m = q->head;

		if (n < m->data_len) {
			m->data_off += n;
			m->data_len -= n;
			m->pkt_len = m->data_len;
			q->bytes -= n;
			return;
		}
		n -= m->data_len;
		q->bytes -= m->data_len;
		q->head = m->next;
		if (!q->head)
			q->tail = NULL;
		q->nsegs--;
		m->next = NULL;
		tn__tcp_mbuf_release(s, m);
	}
}

void tn__tcp_q_copy_all(const struct tn__tcp_q *q, uint32_t off, void *buf, uint32_t n)
{
	const struct rte_mbuf *m = q->head;
	uint8_t *p = buf;

	for (; m && n; m = m->next) {
		uint32_t k;

		if (off >= m->data_len) {
			off -= m->data_len;
			continue;
		}
		k = m->data_len - off;
		if (k > n)
			k = n;
		memcpy(p, rte_pktmbuf_mtod_offset(m, const uint8_t *, off), k);
		p += k;
		n -= k;
		off = 0;
	}
}

/* ---- in-order data ---- */

/* Cuts chain m (len bytes of data) into single segments, skipping the
 * first skip bytes and keeping keep bytes; calls push for each kept
 * segment and frees the rest. */
static void for_each_piece(struct rte_mbuf *m, uint32_t skip, uint32_t keep,
			   void (*push)(struct tn__tcp_q *, struct rte_mbuf *), struct tn__tcp_q *q,
			   uint32_t seq)
{
	while (m) {
		struct rte_mbuf *n = m->next;
		uint32_t dl = m->data_len;

		m->next = NULL;
		if (skip >= dl || keep == 0) {
			skip -= skip >= dl ? dl : skip;
			rte_pktmbuf_free_seg(m);
			m = n;
			continue;
		}
		if (skip) {
			m->data_off += skip;
			m->data_len -= skip;
			skip = 0;
		}
		if (m->data_len > keep)
			m->data_len = keep;
		keep -= m->data_len;
		m->pkt_len = m->data_len;
		m->nb_segs = 1;
		SEG_SEQ(m) = seq;
		seq += m->data_len;
		push(q, m);
		m = n;
	}
}

static void ooo_insert(struct tn_tcp_conn *c, struct rte_mbuf *m, uint32_t seq, uint32_t len);

void tn__tcp_rcv_data(struct tn_tcp_conn *c, struct rte_mbuf *m, uint32_t seq, uint32_t len)
{
	if (seq != c->rcv_nxt) {
		ooo_insert(c, m, seq, len);
		return;
	}
	if (!m->next && m->data_len == len) {
		/* One segment, all of it kept: the usual arrival. */
		SEG_SEQ(m) = seq;
		q_push_coalesce(&c->rcvq, m);
	} else {
		for_each_piece(m, 0, len, q_push_coalesce, &c->rcvq, seq);
	}
	c->rcv_nxt += len;
	c->bytes_received += len;
}

/* ---- out of order ---- */

/* Inserts one segment p ([a, a + p->data_len)) after prev (NULL: at the
 * head), merging it into prev when it continues prev and fits. */
static void ooo_link(struct tn_tcp_conn *c, struct rte_mbuf *prev, struct rte_mbuf *p)
{
	struct tn__tcp_q *q = &c->ooo;

	if (prev && SEG_SEQ(prev) + prev->data_len == SEG_SEQ(p) && writable(prev) &&
	    rte_pktmbuf_tailroom(prev) >= p->data_len) {
		memcpy(rte_pktmbuf_mtod_offset(prev, uint8_t *, prev->data_len),
		       rte_pktmbuf_mtod(p, const uint8_t *), p->data_len);
		prev->data_len += p->data_len;
		prev->pkt_len = prev->data_len;
		q->bytes += p->data_len;
		rte_pktmbuf_free_seg(p);
		return;
	}
	if (q->nsegs >= TN_TCP_OOO_MAX_SEGS) {
		c->s->st.tcp_ooo_drop++;
		rte_pktmbuf_free_seg(p);
		return;
	}
	p->next = prev ? prev->next : q->head;
	if (prev)
		prev->next = p;
	else
		q->head = p;
	if (!p->next)
		q->tail = p;
	q->bytes += p->data_len;
	q->nsegs++;
}

/* One piece of a newcomer: trimmed against its neighbours, linked. */
static void ooo_piece(struct tn__tcp_q *qc, struct rte_mbuf *p)
{
	struct tn_tcp_conn *c = container_of(qc, struct tn_tcp_conn, ooo);
	struct tn__tcp_q *q = &c->ooo;
	struct rte_mbuf *prev = NULL, *x;
	uint32_t a = SEG_SEQ(p), b = a + p->data_len;

	/* Fast path: past the tail (a hole fills from one end). */
	if (q->tail && tn__seq_geq(a, SEG_SEQ(q->tail))) {
		prev = q->tail;
	} else {
		for (x = q->head; x && tn__seq_leq(SEG_SEQ(x), a); x = x->next)
			prev = x;
	}
	if (prev) {
		uint32_t pe = SEG_SEQ(prev) + prev->data_len;

		if (tn__seq_geq(pe, b)) {
			rte_pktmbuf_free_seg(p); /* all old */
			return;
		}
		if (tn__seq_gt(pe, a)) {
			p->data_off += pe - a;
			p->data_len -= pe - a;
			a = pe;
			SEG_SEQ(p) = a;
		}
	}
	x = prev ? prev->next : q->head;
	if (x && tn__seq_lt(SEG_SEQ(x), b)) {
		/* Keep what precedes the next segment; what lies past it (if
		 * anything) is dropped and will be sent again. */
		if (tn__seq_leq(SEG_SEQ(x), a)) {
			rte_pktmbuf_free_seg(p);
			return;
		}
		p->data_len = (uint16_t)(SEG_SEQ(x) - a);
	}
	p->pkt_len = p->data_len;
	ooo_link(c, prev, p);
}

static void ooo_insert(struct tn_tcp_conn *c, struct rte_mbuf *m, uint32_t seq, uint32_t len)
{
	c->last_ooo = seq;
	for_each_piece(m, 0, len, ooo_piece, &c->ooo, seq);
}

bool tn__tcp_ooo_pull(struct tn_tcp_conn *c)
{
	struct tn__tcp_q *q = &c->ooo;
	bool moved = false;

	while (q->head && tn__seq_leq(SEG_SEQ(q->head), c->rcv_nxt)) {
		struct rte_mbuf *m = q->head;
		uint32_t a = SEG_SEQ(m), end = a + m->data_len;

		q->head = m->next;
		if (!q->head)
			q->tail = NULL;
		q->nsegs--;
		q->bytes -= m->data_len;
		m->next = NULL;
		if (tn__seq_leq(end, c->rcv_nxt)) {
			rte_pktmbuf_free_seg(m);
			continue;
		}
		if (a != c->rcv_nxt) {
			m->data_off += c->rcv_nxt - a;
			m->data_len -= c->rcv_nxt - a;
			m->pkt_len = m->data_len;
		}
		c->rcv_nxt = end;
		c->bytes_received += m->data_len;
		q_push_coalesce(&c->rcvq, m);
		moved = true;
	}
	return moved;
}

unsigned tn__tcp_sack_count(const struct tn_tcp_conn *c, unsigned max)
{
	const struct rte_mbuf *m;
	unsigned n = 0;
	uint32_t end = 0;

	/* The runs of contiguous segments, as tn__tcp_sack_blocks finds them. */
	for (m = c->ooo.head; m; m = m->next) {
		if (!n || SEG_SEQ(m) != end) {
			if (n == max)
				break;
			n++;
		}
		end = SEG_SEQ(m) + m->data_len;
	}
	return n;
}

unsigned tn__tcp_sack_blocks(const struct tn_tcp_conn *c, struct tn__tcp_sack *b, unsigned max)
{
	struct tn__tcp_sack runs[TN_TCP_OOO_MAX_SEGS];
	const struct rte_mbuf *m;
	unsigned n = 0, out = 0, i, first = 0;

	/* The runs of contiguous segments. */
	for (m = c->ooo.head; m; m = m->next) {
		uint32_t a = SEG_SEQ(m), e = a + m->data_len;

		if (n && runs[n - 1].end == a)
			runs[n - 1].end = e;
		else if (n < RTE_DIM(runs))
			runs[n++] = (struct tn__tcp_sack){ a, e };
	}
	if (!n || !max)
		return 0;
	/* RFC 2018 4: the first block holds the segment that arrived last;
	 * then the others, highest first (the likeliest to be news). */
	for (i = 0; i < n; i++)
		if (tn__seq_geq(c->last_ooo, runs[i].start) && tn__seq_lt(c->last_ooo, runs[i].end))
			first = i;
	b[out++] = runs[first];
	for (i = n; i-- > 0 && out < max;)
		if (i != first)
			b[out++] = runs[i];
	return out;
}
