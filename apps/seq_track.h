/* Sequence-number accounting for a stream of numbered messages (a feed):
 * how many arrived, which are missing, which came twice or out of order.
 * Header-only and allocation-free; unit-tested by tests/test_seq_track.c.
 *
 * The tracker keeps `next`, one past the highest number seen, and a
 * bitmap of the last TN_SEQ_WINDOW numbers below it.  A number at or
 * above next opens a gap for the ones it skips (counted missing); one
 * below next inside the window is a duplicate if its bit is set, else a
 * reordered arrival that fills a gap.  One older than the window cannot
 * be told apart and is counted late.  Tracking starts at the first number
 * seen (a subscriber that joins mid-stream misses nothing before it);
 * numbers below that first one that still arrive are reordered, not
 * gap fillers. */
#ifndef TN_SEQ_TRACK_H
#define TN_SEQ_TRACK_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define TN_SEQ_WINDOW 4096 /* numbers below `next` told apart (a power of two) */

struct tn_seq_track {
	bool started;
	uint64_t first, next;
	/* received: every arrival, duplicates included; missing: numbers
	 * skipped and not (yet) filled; gap_events: times a jump opened a
	 * gap; dup, reordered, late: see above. */
	uint64_t received, missing, gap_events, dup, reordered, late;
	uint64_t seen[TN_SEQ_WINDOW / 64];
};

static inline void tn__seq_bit_set(struct tn_seq_track *t, uint64_t s)
{
	t->seen[(s % TN_SEQ_WINDOW) / 64] |= 1ull << (s % 64);
}

static inline bool tn__seq_bit(const struct tn_seq_track *t, uint64_t s)
{
	return t->seen[(s % TN_SEQ_WINDOW) / 64] >> (s % 64) & 1;
}

static inline void tn_seq_init(struct tn_seq_track *t)
{
	memset(t, 0, sizeof(*t));
}

/* Starts over (a new session of the stream) and keeps the counters. */
static inline void tn_seq_restart(struct tn_seq_track *t)
{
	t->started = false;
	memset(t->seen, 0, sizeof(t->seen));
}

static inline void tn_seq_add(struct tn_seq_track *t, uint64_t s)
{
	t->received++;
	if (!t->started) {
		t->started = true;
		t->first = s;
		t->next = s + 1;
		tn__seq_bit_set(t, s);
		return;
	}
	if (s >= t->next) {
		uint64_t skipped = s - t->next;

		/* Positions next..s are reused: clear them first. */
		if (skipped + 1 >= TN_SEQ_WINDOW)
			memset(t->seen, 0, sizeof(t->seen));
		else
			for (uint64_t x = t->next; x <= s; x++)
				t->seen[(x % TN_SEQ_WINDOW) / 64] &= ~(1ull << (x % 64));
		if (skipped) {
			t->missing += skipped;
			t->gap_events++;
		}
		t->next = s + 1;
		tn__seq_bit_set(t, s);
		return;
	}
	if (t->next - s > TN_SEQ_WINDOW) {
		t->late++;
		return;
	}
	if (tn__seq_bit(t, s)) {
		t->dup++;
		return;
	}
	tn__seq_bit_set(t, s);
	t->reordered++;
	if (s > t->first)
		t->missing--; /* it was counted when the gap opened */
}

#endif
