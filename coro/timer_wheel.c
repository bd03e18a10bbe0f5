/* Hierarchical timing wheel: 9 levels of 64 slots over 1.024 us ticks.
 * 54 bits of ticks cover every 64-bit nanosecond value, so no deadline is
 * clamped and clocks far from zero (TSC, realtime) work too.
 *
 * A timer sits at the level of the highest 6-bit digit in which its
 * expiry tick differs from the wheel's current tick, in the slot of that
 * digit.  So every timer at level l has a digit there greater than the
 * current one, and it must move down ("cascade") exactly when the current
 * tick reaches the start of its slot.  Per-level occupancy bitmaps find
 * the next such event in O(levels), so an idle second costs a handful of
 * steps, not a million ticks.
 *
 * Level-0 slots hold a single tick; they and the due list are kept sorted
 * by (deadline, seq) so equal deadlines fire in start order.  Insertion
 * walks from the tail, which is O(1) for the usual in-order starts.
 */
#include <string.h>

#include "tn_internal.h"

#define MASK (TN_WHEEL_SLOTS - 1)
#define DUE_SLOT 0xFFFF
#define MAX_TICK ((1ull << (TN_WHEEL_BITS * TN_WHEEL_LEVELS)) - 1)

static inline void list_init(struct tn_timer_list *l)
{
	l->next = l->prev = (struct tn_timer *)l;
}

static inline bool list_empty(const struct tn_timer_list *l)
{
	return l->next == (const struct tn_timer *)l;
}

static inline bool before(const struct tn_timer *a, const struct tn_timer *b)
{
	return a->deadline < b->deadline ||
	       (a->deadline == b->deadline && a->seq < b->seq);
}

static inline void insert_after(struct tn_timer *pos, struct tn_timer *t)
{
	t->prev = pos;
	t->next = pos->next;
	pos->next->prev = t;
	pos->next = t;
}

/* Sorted insert, scanning back from the tail. */
static void list_insert_sorted(struct tn_timer_list *l, struct tn_timer *t)
{
	struct tn_timer *head = (struct tn_timer *)l;
	struct tn_timer *pos = head->prev;

	while (pos != head && before(t, pos))
		pos = pos->prev;
	insert_after(pos, t);
}

static inline uint64_t tick_of(uint64_t ns)
{
	/* Round up: a timer must never fire before its deadline. */
	uint64_t t = (ns >> TN_WHEEL_TICK_SHIFT) +
		     ((ns & ((1u << TN_WHEEL_TICK_SHIFT) - 1)) != 0);
	return t > MAX_TICK ? MAX_TICK : t;
}

void tn__wheel_init(struct tn_wheel *w, uint64_t now_ns)
{
	unsigned l, s;

	memset(w->bitmap, 0, sizeof(w->bitmap));
	w->cur = now_ns >> TN_WHEEL_TICK_SHIFT;
	w->seq = 0;
	w->count = 0;
	w->next_ev = 0;
	list_init(&w->due);
	for (l = 0; l < TN_WHEEL_LEVELS; l++)
		for (s = 0; s < TN_WHEEL_SLOTS; s++)
			list_init(&w->slots[l][s]);
}

/* Places t relative to the current tick (its seq is already set). */
static void place(struct tn_wheel *w, struct tn_timer *t)
{
	uint64_t e = tick_of(t->deadline);
	uint64_t diff = e ^ w->cur;
	unsigned level, slot;

	if (e <= w->cur) {
		t->slot = DUE_SLOT;
		list_insert_sorted(&w->due, t);
		return;
	}
	level = (63 - __builtin_clzll(diff)) / TN_WHEEL_BITS;
	slot = (e >> (level * TN_WHEEL_BITS)) & MASK;
	t->slot = (uint16_t)(level * TN_WHEEL_SLOTS + slot);
	w->bitmap[level] |= 1ull << slot;
	/* The slot's event is its start: e with the digits below this
	 * level cleared (above them e and cur agree). */
	e &= ~((1ull << (level * TN_WHEEL_BITS)) - 1);
	if (e < w->next_ev)
		w->next_ev = e;
	if (level == 0) {
		list_insert_sorted(&w->slots[0][slot], t);
	} else {
		struct tn_timer *head = (struct tn_timer *)&w->slots[level][slot];
		insert_after(head->prev, t);
	}
}

void tn__wheel_add(struct tn_wheel *w, struct tn_timer *t)
{
	t->seq = w->seq++;
	w->count++;
	place(w, t);
}

void tn__wheel_del(struct tn_wheel *w, struct tn_timer *t)
{
	t->prev->next = t->next;
	t->next->prev = t->prev;
	w->count--;
	if (t->slot != DUE_SLOT) {
		unsigned level = t->slot / TN_WHEEL_SLOTS;
		unsigned slot = t->slot & MASK;
		if (list_empty(&w->slots[level][slot]))
			w->bitmap[level] &= ~(1ull << slot);
	}
}

/* The next tick > cur at which a slot must expire (level 0) or cascade,
 * or UINT64_MAX if the wheel is empty. */
static uint64_t next_event(const struct tn_wheel *w)
{
	unsigned l;

	for (l = 0; l < TN_WHEEL_LEVELS; l++) {
		unsigned shift = l * TN_WHEEL_BITS;
		unsigned digit = (w->cur >> shift) & MASK;
		uint64_t above, bm;

		bm = w->bitmap[l] & ~((2ull << digit) - 1);
		if (digit == MASK || !bm)
			continue;
		above = (shift + TN_WHEEL_BITS >= 64)
				? 0
				: (w->cur >> (shift + TN_WHEEL_BITS)) << (shift + TN_WHEEL_BITS);
		/* Events found at a lower level lie inside the current block
		 * of the level above, so they precede every higher one. */
		return above | ((uint64_t)__builtin_ctzll(bm) << shift);
	}
	return UINT64_MAX;
}

uint64_t tn__wheel_next_deadline(const struct tn_wheel *w)
{
	uint64_t e;

	if (!list_empty(&w->due))
		return 0;
	if (!w->count)
		return UINT64_MAX;
	e = next_event(w);
	/* A cascade is not a firing, but waking for it is harmless and keeps
	 * this O(levels). */
	return e == UINT64_MAX ? UINT64_MAX : e << TN_WHEEL_TICK_SHIFT;
}

/* The current tick has reached the start of some slots: move level-0's
 * slot to the due list and cascade higher levels' slots down. */
static void process_tick(struct tn_wheel *w)
{
	unsigned l;

	for (l = TN_WHEEL_LEVELS; l-- > 0;) {
		unsigned shift = l * TN_WHEEL_BITS;
		unsigned slot = (w->cur >> shift) & MASK;
		struct tn_timer_list *sl = &w->slots[l][slot];
		struct tn_timer *t, *next;

		if (!(w->bitmap[l] & (1ull << slot)))
			continue;
		/* Only a slot whose start is exactly cur is due to move. */
		if (shift && (w->cur & ((1ull << shift) - 1)))
			continue;
		w->bitmap[l] &= ~(1ull << slot);
		t = sl->next;
		list_init(sl);
		for (; t != (struct tn_timer *)sl; t = next) {
			next = t->next;
			place(w, t);
		}
	}
}

unsigned tn__wheel_expire(struct tn_wheel *w, uint64_t now_ns)
{
	uint64_t target = now_ns >> TN_WHEEL_TICK_SHIFT;
	struct tn_timer_list run;
	unsigned fired = 0;

	if (tn__wheel_quiet(w, now_ns))
		return 0;
	while (w->cur < target) {
		uint64_t e = next_event(w);
		if (e > target) {
			w->cur = target;
			w->next_ev = e;
			break;
		}
		w->cur = e;
		w->next_ev = 0; /* the tick moves timers: ask again next time */
		process_tick(w);
	}
	if (list_empty(&w->due))
		return 0;
	/* Fire a snapshot: timers started by callbacks wait for the next
	 * turn, so a zero-delay re-arm cannot spin this loop forever. */
	run = w->due;
	run.next->prev = (struct tn_timer *)&run;
	run.prev->next = (struct tn_timer *)&run;
	list_init(&w->due);
	while (!list_empty(&run)) {
		struct tn_timer *t = run.next;
		t->prev->next = t->next;
		t->next->prev = t->prev;
		w->count--;
		t->armed = 0;
		t->sched = NULL;
		t->fn(t, t->arg);
		fired++;
	}
	return fired;
}
