/* A log-linear latency histogram (HdrHistogram's idea, small): about 1.5%
 * relative precision from 1 ns to hours in 2,624 fixed buckets, so
 * recording is O(1) and allocation-free.  Shared by the apps. */
#ifndef TN_LATENCY_HIST_H
#define TN_LATENCY_HIST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define TN_HIST_SUB 64 /* sub-buckets per power of two */
#define TN_HIST_BUCKETS (41 * TN_HIST_SUB)

struct tn_hist {
	uint64_t count, max, sum;
	uint64_t b[TN_HIST_BUCKETS];
};

static inline unsigned tn_hist_index(uint64_t v)
{
	unsigned msb;

	if (v < TN_HIST_SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	if (msb > 40 + 5)
		return TN_HIST_BUCKETS - 1;
	/* 6 bits below the leading one pick the sub-bucket. */
	return (msb - 5) * TN_HIST_SUB + (unsigned)((v >> (msb - 6)) & (TN_HIST_SUB - 1));
}

/* The smallest value that lands in bucket i. */
static inline uint64_t tn_hist_value(unsigned i)
{
	unsigned msb;

	if (i < TN_HIST_SUB)
		return i;
	msb = i / TN_HIST_SUB + 5;
	return (1ull << msb) | ((uint64_t)(i % TN_HIST_SUB) << (msb - 6));
}

static inline void tn_hist_reset(struct tn_hist *h)
{
	memset(h, 0, sizeof(*h));
}

static inline void tn_hist_record(struct tn_hist *h, uint64_t v)
{
	unsigned i = tn_hist_index(v);

	h->b[i < TN_HIST_BUCKETS ? i : TN_HIST_BUCKETS - 1]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

/* dst += src: the same samples as if they had been recorded in dst
 * (per-core histograms merged by one core). */
static inline void tn_hist_merge(struct tn_hist *dst, const struct tn_hist *src)
{
	for (unsigned i = 0; i < TN_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->max > dst->max)
		dst->max = src->max;
}

/* The value at quantile q (0..1), 0 when empty. */
static inline uint64_t tn_hist_quantile(const struct tn_hist *h, double q)
{
	uint64_t want, seen = 0;
	unsigned i;

	if (!h->count)
		return 0;
	want = (uint64_t)(q * (double)h->count);
	if (want >= h->count)
		want = h->count - 1;
	for (i = 0; i < TN_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen > want) {
			uint64_t v = tn_hist_value(i);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}

/* Writes "value_ns count" for every non-empty bucket, smallest first:
 * enough for a CDF plot (scripts/demo.py) without keeping samples.  0,
 * or -1 when the stream failed. */
static inline int tn_hist_write(const struct tn_hist *h, FILE *f)
{
	for (unsigned i = 0; i < TN_HIST_BUCKETS; i++)
		if (h->b[i])
			fprintf(f, "%llu %llu\n", (unsigned long long)tn_hist_value(i),
				(unsigned long long)h->b[i]);
	return ferror(f) ? -1 : 0;
}

#endif
