/* Seeded fault injection on mbuf bursts; the model is described in
 * tn_fault.h.  Everything a stream needs, its held packets included, is
 * allocated by tn_fault_create: the data path allocates nothing but
 * mbufs (duplicates, private copies before corruption). */
#include "tn_fault.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "tn_internal.h"

#define FIFO_MASK (TN_FAULT_MAX_HELD - 1)
_Static_assert((TN_FAULT_MAX_HELD & FIFO_MASK) == 0, "TN_FAULT_MAX_HELD: power of two");

struct held {
	struct rte_mbuf *m;
	uint64_t due; /* now_ns from which it may leave */
};

struct tn_fault {
	uint64_t rng[4]; /* xoshiro256** state */
	/* Probabilities as thresholds on a 53-bit uniform draw: exact for
	 * 0 (never draws) and 1 (always true). */
	uint64_t drop_t, corrupt_t, dup_t, reorder_t;
	uint64_t delay_ns;
	struct rte_mempool *mp;
	struct rte_mbuf *swap; /* held for reordering, or NULL */
	uint64_t swap_since;
	unsigned head, count; /* the FIFO below */
	struct tn_fault_stats st;
	struct held fifo[TN_FAULT_MAX_HELD];
};

/* ---- PRNG: splitmix64 seeds xoshiro256** (Blackman & Vigna) ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct tn_fault *f)
{
	uint64_t *s = f->rng;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

static uint64_t threshold(double p)
{
	const double one = (double)(1ull << 53);

	return p >= 1.0 ? 1ull << 53 : (uint64_t)(p * one);
}

/* A probability 0 draws nothing, so disabled faults cost one compare. */
static inline bool chance(struct tn_fault *f, uint64_t thr)
{
	return thr != 0 && (rng_next(f) >> 11) < thr;
}

/* ---- the stages ---- */

static struct rte_mempool *pool_for(const struct tn_fault *f, const struct rte_mbuf *m)
{
	return f->mp ? f->mp : m->pool;
}

/* Another reference to the data (a clone kept for retransmission, a
 * duplicate) must not see the flipped bit. */
static bool private_data(const struct rte_mbuf *m)
{
	for (; m; m = m->next)
		if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) > 1)
			return false;
	return true;
}

/* Flips one bit; returns the packet to go on with (a private copy when
 * the data was shared), and whether it was corrupted in *done. */
static struct rte_mbuf *corrupt(struct tn_fault *f, struct rte_mbuf *m, bool *done)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);
	struct rte_mbuf *seg;
	uint64_t r;
	uint32_t off;

	*done = false;
	if (len == 0)
		return m;
	if (!private_data(m)) {
		struct rte_mbuf *c = rte_pktmbuf_copy(m, pool_for(f, m), 0, UINT32_MAX);

		if (c == NULL)
			return m; /* no mbuf to spare: leave it intact */
		rte_pktmbuf_free(m);
		m = c;
	}
	r = rng_next(f);
	off = (uint32_t)((r >> 3) % len);
	for (seg = m; off >= seg->data_len; seg = seg->next)
		off -= seg->data_len;
	*rte_pktmbuf_mtod_offset(seg, uint8_t *, off) ^= (uint8_t)(1u << (r & 7));
	/* The flip stands for one on the wire, before the receiving NIC
	 * checks the sums: a verdict the PMD already gave (tap computes one
	 * in software) no longer holds, and a receiver trusting "good" would
	 * take the damaged data.  Unknown makes it check for itself. */
	m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK |
			 RTE_MBUF_F_RX_OUTER_IP_CKSUM_BAD | RTE_MBUF_F_RX_OUTER_L4_CKSUM_MASK);
	*done = true;
	return m;
}

/* The delay stage: every packet queues with its due time, so the FIFO is
 * also where packets wait when the caller's array is full. */
static void enqueue(struct tn_fault *f, struct rte_mbuf *m, uint64_t now)
{
	struct held *h;

	if (f->count == TN_FAULT_MAX_HELD) {
		rte_pktmbuf_free(m);
		f->st.overflow++;
		return;
	}
	h = &f->fifo[(f->head + f->count) & FIFO_MASK];
	h->m = m;
	h->due = now + f->delay_ns;
	f->count++;
	if (f->delay_ns)
		f->st.delayed++;
}

/* The reorder stage, for a packet m and its duplicate d (or NULL). */
static void reorder(struct tn_fault *f, struct rte_mbuf *m, struct rte_mbuf *d, uint64_t now)
{
	if (f->swap) {
		/* m is the successor the held packet waited for. */
		enqueue(f, m, now);
		enqueue(f, f->swap, now);
		f->swap = NULL;
		f->st.reordered++;
	} else if (chance(f, f->reorder_t)) {
		f->swap = m;
		f->swap_since = now;
	} else {
		enqueue(f, m, now);
	}
	if (d)
		enqueue(f, d, now);
}

static void process(struct tn_fault *f, struct rte_mbuf *m, uint64_t now)
{
	struct rte_mbuf *d = NULL;
	bool done;

	f->st.seen++;
	if (chance(f, f->drop_t)) {
		rte_pktmbuf_free(m);
		f->st.dropped++;
		return;
	}
	if (chance(f, f->corrupt_t)) {
		m = corrupt(f, m, &done);
		f->st.corrupted += done;
	}
	if (chance(f, f->dup_t)) {
		d = rte_pktmbuf_copy(m, pool_for(f, m), 0, UINT32_MAX);
		f->st.duplicated += d != NULL;
	}
	reorder(f, m, d, now);
}

/* Moves due packets from the FIFO to pkts[w..limit). */
static uint16_t emit(struct tn_fault *f, struct rte_mbuf **pkts, uint16_t w,
		     uint16_t limit, uint64_t now)
{
	while (w < limit && f->count && f->fifo[f->head].due <= now) {
		pkts[w++] = f->fifo[f->head].m;
		f->head = (f->head + 1) & FIFO_MASK;
		f->count--;
	}
	return w;
}

uint16_t tn_fault_apply(struct tn_fault *f, struct rte_mbuf **pkts, uint16_t n,
			uint16_t cap, uint64_t now_ns)
{
	uint16_t w = 0;

	TN_ASSERT(cap >= n, "tn_fault_apply: cap < n");
	if (f->swap && now_ns - f->swap_since >= TN_FAULT_REORDER_TIMEOUT_NS) {
		enqueue(f, f->swap, now_ns);
		f->swap = NULL;
	}
	for (uint16_t i = 0; i < n; i++) {
		process(f, pkts[i], now_ns);
		/* pkts[0..i] have been read, so only those slots may be
		 * overwritten before the loop ends. */
		w = emit(f, pkts, w, i + 1, now_ns);
	}
	return emit(f, pkts, w, cap, now_ns);
}

/* ---- lifetime and counters ---- */

struct tn_fault *tn_fault_create(const struct tn_fault_spec *spec, uint64_t stream_id,
				 struct rte_mempool *mp)
{
	struct tn_fault *f = calloc(1, sizeof(*f));
	uint64_t x = stream_id, s;

	if (f == NULL)
		return NULL;
	/* Mixing the stream id first keeps streams 0, 1, 2... of one seed
	 * as unrelated as different seeds are. */
	s = spec->seed ^ splitmix64(&x);
	for (int i = 0; i < 4; i++)
		f->rng[i] = splitmix64(&s);
	f->drop_t = threshold(spec->drop);
	f->corrupt_t = threshold(spec->corrupt);
	f->dup_t = threshold(spec->dup);
	f->reorder_t = threshold(spec->reorder);
	f->delay_ns = spec->delay_us * 1000;
	f->mp = mp;
	return f;
}

void tn_fault_destroy(struct tn_fault *f)
{
	if (f == NULL)
		return;
	rte_pktmbuf_free(f->swap);
	for (; f->count; f->count--, f->head = (f->head + 1) & FIFO_MASK)
		rte_pktmbuf_free(f->fifo[f->head].m);
	free(f);
}

unsigned tn_fault_held(const struct tn_fault *f)
{
	return f->count + (f->swap != NULL);
}

void tn_fault_stats_get(const struct tn_fault *f, struct tn_fault_stats *st)
{
	*st = f->st;
}

uint64_t tn_fault_freed(const struct tn_fault *f)
{
	return f->st.dropped + f->st.overflow;
}

/* ---- the spec ---- */

enum kind { PROB, U64 };

static const struct key {
	const char *name;
	enum kind kind;
	size_t off;
} keys[] = {
	{ "drop", PROB, offsetof(struct tn_fault_spec, drop) },
	{ "dup", PROB, offsetof(struct tn_fault_spec, dup) },
	{ "reorder", PROB, offsetof(struct tn_fault_spec, reorder) },
	{ "corrupt", PROB, offsetof(struct tn_fault_spec, corrupt) },
	{ "delay_us", U64, offsetof(struct tn_fault_spec, delay_us) },
	{ "seed", U64, offsetof(struct tn_fault_spec, seed) },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A value starts with a digit or '.' (or a sign, for probabilities, so
 * that "-0.1" gets the range message): strtod/strtoull would otherwise
 * skip whitespace, and strtoull would wrap "-1" around. */
static int parse_value(const struct key *k, const char *v, struct tn_fault_spec *out,
		       char *err, size_t errlen)
{
	char *end;
	bool digit = (*v >= '0' && *v <= '9') || *v == '.';

	errno = 0;
	if (k->kind == PROB) {
		double d;

		if (!digit && *v != '-' && *v != '+')
			return fail(err, errlen, "fault: %s=%s: not a number", k->name, v);
		d = strtod(v, &end);
		if (*end != '\0' || end == v || !isfinite(d))
			return fail(err, errlen, "fault: %s=%s: not a number", k->name, v);
		if (!(d >= 0.0 && d <= 1.0))
			return fail(err, errlen, "fault: %s=%s: a probability must be in [0, 1]",
				    k->name, v);
		memcpy((char *)out + k->off, &d, sizeof(d));
	} else {
		unsigned long long u;
		uint64_t u64;

		if (!(*v >= '0' && *v <= '9'))
			return fail(err, errlen, "fault: %s=%s: not a non-negative integer",
				    k->name, v);
		u = strtoull(v, &end, 10);
		if (*end != '\0')
			return fail(err, errlen, "fault: %s=%s: not a non-negative integer",
				    k->name, v);
		if (errno == ERANGE)
			return fail(err, errlen, "fault: %s=%s: too large", k->name, v);
		if (k->off == offsetof(struct tn_fault_spec, delay_us) &&
		    u > TN_FAULT_MAX_DELAY_US)
			return fail(err, errlen, "fault: delay_us=%s: at most %llu", v,
				    (unsigned long long)TN_FAULT_MAX_DELAY_US);
		u64 = u;
		memcpy((char *)out + k->off, &u64, sizeof(u64));
	}
	return 0;
}

static const struct key *find_key(const char *name, size_t len)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strlen(keys[i].name) == len && memcmp(keys[i].name, name, len) == 0)
			return &keys[i];
	return NULL;
}

int tn_fault_parse(const char *spec, struct tn_fault_spec *out, char *err, size_t errlen)
{
	struct tn_fault_spec s = { .seed = 1 };
	unsigned given = 0;
	const char *p = spec ? spec : "";
	char val[64];

	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		const struct key *k;
		size_t vlen;
		int rc;

		if (len == 0)
			return fail(err, errlen, "fault: empty item at offset %zu of \"%s\"",
				    (size_t)(p - spec), spec);
		if (eq == NULL)
			return fail(err, errlen, "fault: \"%.*s\": expected key=value", (int)len, p);
		k = find_key(p, (size_t)(eq - p));
		if (k == NULL)
			return fail(err, errlen,
				    "fault: unknown key \"%.*s\" (known: drop, dup, reorder, "
				    "corrupt, delay_us, seed)", (int)(eq - p), p);
		if (given & (1u << (k - keys)))
			return fail(err, errlen, "fault: %s given twice", k->name);
		given |= 1u << (k - keys);
		vlen = len - (size_t)(eq - p) - 1;
		if (vlen == 0)
			return fail(err, errlen, "fault: %s: missing value", k->name);
		if (vlen >= sizeof(val))
			return fail(err, errlen, "fault: %s: value too long", k->name);
		memcpy(val, eq + 1, vlen);
		val[vlen] = '\0';
		rc = parse_value(k, val, &s, err, errlen);
		if (rc)
			return rc;
		if (end == NULL)
			break;
		p = end + 1;
		if (*p == '\0')
			return fail(err, errlen, "fault: empty item at the end of \"%s\"", spec);
	}
	*out = s;
	return 0;
}
