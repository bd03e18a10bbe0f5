/* Timers on the virtual clock: never early, FIFO ties (also across
 * cascades), a seeded randomised run against the sorted expectation,
 * cancel and re-arm from callbacks, far and past deadlines, sleeps and
 * timeout scopes. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tn_test.h"

#define TICK 1024ull /* the wheel's tick (timer.h: 1.024 us) */
#define HOUR (3600ull * TN_NS_PER_S)
#define YEAR (365ull * 24 * HOUR)

/* Comparisons that print both values. */
#define assert_u64_cmp(a, op, b)                                               \
	do {                                                                   \
		unsigned long long a_ = (a), b_ = (b);                         \
		if (!(a_ op b_))                                               \
			fail_msg("%s = %llu, %s = %llu: expected %s %s %s", #a, \
				 a_, #b, b_, #a, #op, #b);                      \
	} while (0)

static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
	rng_state = seed ? seed : 0x9e3779b97f4a7c15ull;
}

static uint64_t rng(void) /* xorshift64* */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* A value in [lo, hi). */
static uint64_t rng_range(uint64_t lo, uint64_t hi)
{
	return lo + rng() % (hi - lo);
}

static struct tn_sched_stats stats(void)
{
	struct tn_sched_stats st;

	tn_sched_get_stats(tn_sched_self(), &st);
	return st;
}

/* Sets the clock (forwards only) and runs what became due. */
static void clock_to(uint64_t t)
{
	assert_u64_cmp(t, >=, tn_test_clock_ns);
	tn_test_clock_ns = t;
	tn_test_settle();
}

/* ---- a recording timer ---- */

struct rec {
	struct tn_timer t;
	int id;
	unsigned fired;
	uint64_t fired_at;
	uint64_t turn;
};

static int fire_log[256];
static int nlog;

static void rec_fire(struct tn_timer *t, void *arg)
{
	struct rec *r = arg;

	assert_ptr_equal(&r->t, t);
	assert_false(tn_timer_armed(t));
	/* Never before the deadline, by the loop's time and by the clock. */
	assert_u64_cmp(tn_now(), >=, t->deadline);
	assert_u64_cmp(tn_test_clock_ns, >=, t->deadline);
	r->fired++;
	r->fired_at = tn_now();
	r->turn = stats().loop_turns;
	assert_true(nlog < 256);
	fire_log[nlog++] = r->id;
}

static void rec_init(struct rec *r, int id)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	tn_timer_init(&r->t, rec_fire, r);
}

static void log_reset(void)
{
	nlog = 0;
}

static void assert_log(const int *want, int n)
{
	assert_int_equal(nlog, n);
	for (int i = 0; i < n; i++)
		if (fire_log[i] != want[i])
			fail_msg("firing %d: timer %d, expected timer %d", i, fire_log[i],
				 want[i]);
}

/* ---- never early, never later than the first tick after ---- */

/* Starts a timer at now + off and walks the clock around its deadline. */
static void check_deadline(uint64_t off, bool walk)
{
	struct rec r;
	uint64_t d, t;

	rec_init(&r, 0);
	log_reset();
	d = tn_test_clock_ns + off;
	tn_timer_start(&r.t, d);
	assert_true(tn_timer_armed(&r.t));
	if (d > tn_test_clock_ns + 3) {
		clock_to(walk ? d - 3 : d - 1);
		assert_int_equal(r.fired, 0);
	}
	if (walk) {
		/* 1 ns at a time: the callback asserts it is not early. */
		for (t = tn_test_clock_ns; t < d + TICK && !r.fired; t++)
			clock_to(t);
	}
	clock_to(d > tn_test_clock_ns ? d : tn_test_clock_ns);
	clock_to(d + TICK - 1 > tn_test_clock_ns ? d + TICK - 1 : tn_test_clock_ns);
	/* The first tick boundary at or after d has passed: it fired, once. */
	assert_int_equal(r.fired, 1);
	assert_false(tn_timer_armed(&r.t));
	assert_u64_cmp(r.fired_at, >=, d);
	assert_u64_cmp(r.fired_at, <, d + TICK);
	tn_test_advance(10 * TICK);
	assert_int_equal(r.fired, 1);
	assert_int_equal(stats().live_timers, 0);
}

static void test_never_early(void **state)
{
	static const uint64_t offs[] = {
		0, 1, 2, 3, 511, 1022, 1023, 1024, 1025, 2047, 2048, 2049,
		4095, 4097, 64 * 1024 - 1, 64 * 1024 + 1, 4096 * 1024 + 5,
		TN_NS_PER_MS + 7, 123456789, 61 * TN_NS_PER_S + 333,
		3 * HOUR + 517, 40 * HOUR + 1,
	};

	/* The fixture's clock (1 s) is not on a tick boundary either. */
	assert_int_not_equal(tn_test_clock_ns % TICK, 0);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		check_deadline(offs[i], false);
		check_deadline(offs[i], true);
		/* from a clock on a tick boundary too */
		clock_to((tn_test_clock_ns + TICK - 1) / TICK * TICK);
		check_deadline(offs[i], true);
		/* and from one just past it */
		clock_to(tn_test_clock_ns + TICK + 1);
		check_deadline(offs[i], false);
	}
	rng_seed(1);
	for (int i = 0; i < 2000; i++) {
		uint64_t mag = 1ull << rng_range(0, 44);

		clock_to(tn_test_clock_ns + rng_range(0, 5000));
		check_deadline(rng_range(0, mag), i % 8 == 0);
	}
}

/* ---- FIFO for equal deadlines, also across cascades ---- */

static void test_equal_deadlines_fifo(void **state)
{
	struct rec a, b, c, e;
	uint64_t d;

	/* A waits on a high wheel level through many steps; B and E start
	 * just before the deadline (level 0) and C has an earlier one. */
	rec_init(&a, 1);
	rec_init(&b, 2);
	rec_init(&c, 3);
	rec_init(&e, 4);
	log_reset();
	d = tn_test_clock_ns + 2 * HOUR + 517;
	tn_timer_start(&a.t, d);
	while (tn_test_clock_ns + 17 * 60 * TN_NS_PER_S < d - 300)
		tn_test_advance(17 * 60 * TN_NS_PER_S);
	clock_to(d - 300);
	assert_int_equal(a.fired, 0);
	tn_timer_start(&b.t, d);
	tn_timer_start(&c.t, d - 1);
	tn_timer_start(&e.t, d);
	clock_to(d + TICK);
	assert_log((int[]){3, 1, 2, 4}, 4);

	/* One big jump instead of many steps. */
	rec_init(&a, 1);
	rec_init(&b, 2);
	log_reset();
	d = tn_test_clock_ns + 5 * HOUR + 3;
	tn_timer_start(&a.t, d);
	clock_to(d - 1);
	tn_timer_start(&b.t, d);
	clock_to(d + TICK);
	assert_log((int[]){1, 2}, 2);

	/* B started while the wheel has not caught up with the clock yet
	 * (no loop turn since the jump). */
	rec_init(&a, 1);
	rec_init(&b, 2);
	log_reset();
	d = tn_test_clock_ns + 3 * HOUR + 999;
	tn_timer_start(&a.t, d);
	tn_test_clock_ns = d - 10;
	tn_timer_start(&b.t, d);
	clock_to(d + TICK);
	assert_log((int[]){1, 2}, 2);

	/* Re-arming with the same deadline moves a timer behind the others. */
	rec_init(&a, 1);
	rec_init(&b, 2);
	log_reset();
	d = tn_test_clock_ns + HOUR;
	tn_timer_start(&a.t, d);
	tn_test_advance(HOUR / 2);
	tn_timer_start(&b.t, d);
	tn_timer_start(&a.t, d);
	clock_to(d + TICK);
	assert_log((int[]){2, 1}, 2);
}

/* Within one tick, distinct deadlines fire in deadline order whatever
 * the start order, both from level 0 and after a cascade. */
static void test_same_tick_deadline_order(void **state)
{
	struct rec rs[8];
	uint64_t base;

	for (int round = 0; round < 2; round++) {
		/* A tick boundary: level 0 nearby, or hours away. */
		base = (tn_test_clock_ns / TICK + (round ? 4 * HOUR / TICK : 10)) * TICK;
		log_reset();
		for (int i = 0; i < 8; i++)
			rec_init(&rs[i], i);
		/* rs[k] is due at base + 1 + k; started from rs[7] down. */
		for (int k = 7; k >= 0; k--)
			tn_timer_start(&rs[k].t, base + 1 + (uint64_t)k);
		clock_to(base + TICK - 1);
		assert_int_equal(nlog, 0);
		clock_to(base + TICK);
		assert_log((int[]){0, 1, 2, 3, 4, 5, 6, 7}, 8);
	}
}

/* Many timers with one deadline, started at times spread over hours
 * (every wheel level), fire in start order. */
static void test_equal_deadlines_fifo_spread(void **state)
{
	static struct rec rs[200];
	int want[200];
	uint64_t d = tn_test_clock_ns + 4 * HOUR + 12345;

	rng_seed(7);
	log_reset();
	for (int i = 0; i < 200; i++) {
		uint64_t left = d - tn_test_clock_ns;

		rec_init(&rs[i], i);
		tn_timer_start(&rs[i].t, d);
		want[i] = i;
		/* Halve the remaining time on average, with random small steps
		 * near the end. */
		if (left > 2)
			clock_to(tn_test_clock_ns + rng_range(0, left / 2));
	}
	assert_int_equal(nlog, 0);
	clock_to(d + TICK);
	assert_log(want, 200);
}

/* ---- a seeded random run against the sorted expectation ---- */

#define NRND 20000

struct rt {
	struct tn_timer t;
	uint64_t deadline;
	uint64_t order;      /* our start counter: re-set on re-arm */
	uint64_t start_step; /* settle count when started */
	bool started, fired, cancelled;
};

static struct rt rts[NRND];
static uint64_t rt_step;       /* settles done */
static uint64_t rt_last_clock; /* clock at the previous settle */
static uint64_t rt_last_deadline, rt_last_order;
static unsigned rt_nfired;

static void rt_fire(struct tn_timer *t, void *arg)
{
	struct rt *r = arg;
	uint64_t now = tn_now();

	if (now < r->deadline)
		fail_msg("timer %td fired early: now %llu < deadline %llu", r - rts,
			 (unsigned long long)now, (unsigned long long)r->deadline);
	if (r->fired || r->cancelled)
		fail_msg("timer %td fired twice or after cancel", r - rts);
	/* Due at the previous settle already: late. */
	if (r->start_step < rt_step && rt_last_clock >= r->deadline + TICK - 1)
		fail_msg("timer %td late: deadline %llu, due at clock %llu", r - rts,
			 (unsigned long long)r->deadline, (unsigned long long)rt_last_clock);
	if (rt_nfired && (r->deadline < rt_last_deadline ||
			  (r->deadline == rt_last_deadline && r->order < rt_last_order)))
		fail_msg("out of order: (%llu, %llu) after (%llu, %llu)",
			 (unsigned long long)r->deadline, (unsigned long long)r->order,
			 (unsigned long long)rt_last_deadline,
			 (unsigned long long)rt_last_order);
	r->fired = true;
	rt_last_deadline = r->deadline;
	rt_last_order = r->order;
	rt_nfired++;
}

static uint64_t rt_order;

static uint64_t rnd_delay(unsigned nstarted)
{
	unsigned k = (unsigned)rng_range(0, 100);

	if (k < 5) /* many in the same few ticks */
		return rng_range(TN_NS_PER_US, 70 * TN_NS_PER_US);
	if (k < 30)
		return rng_range(TN_NS_PER_US, TN_NS_PER_MS);
	if (k < 55)
		return rng_range(TN_NS_PER_MS, TN_NS_PER_S);
	if (k < 75)
		return rng_range(TN_NS_PER_S, 600 * TN_NS_PER_S);
	if (k < 90)
		return rng_range(600 * TN_NS_PER_S, 5 * HOUR);
	/* Same deadline as a pending timer, possibly on another level. */
	for (int tries = 0; tries < 4 && nstarted; tries++) {
		struct rt *o = &rts[rng_range(0, nstarted)];

		if (o->started && !o->fired && !o->cancelled &&
		    o->deadline > tn_test_clock_ns + TN_NS_PER_US)
			return o->deadline - tn_test_clock_ns;
	}
	return rng_range(TN_NS_PER_US, 10 * TN_NS_PER_US);
}

static void rt_start(struct rt *r, unsigned nstarted)
{
	r->deadline = tn_test_clock_ns + rnd_delay(nstarted);
	r->order = rt_order++;
	r->start_step = rt_step;
	r->started = true;
	tn_timer_start(&r->t, r->deadline);
}

static uint64_t rnd_step(void)
{
	unsigned k = (unsigned)rng_range(0, 100);

	if (k < 50)
		return rng_range(0, 2 * TICK);
	if (k < 75)
		return rng_range(0, TN_NS_PER_MS);
	if (k < 92)
		return rng_range(0, TN_NS_PER_S);
	if (k < 99)
		return rng_range(0, 600 * TN_NS_PER_S);
	return rng_range(0, 3 * HOUR);
}

static void test_random_order(void **state)
{
	unsigned nstarted = 0, ncancelled = 0, nrearmed = 0;

	rng_seed(0x7e47);
	memset(rts, 0, sizeof(rts));
	rt_step = rt_nfired = 0;
	rt_order = 0;
	rt_last_clock = tn_test_clock_ns;
	for (unsigned i = 0; i < NRND; i++)
		tn_timer_init(&rts[i].t, rt_fire, &rts[i]);

	while (rt_nfired + ncancelled < NRND) {
		unsigned k = nstarted < NRND ? (unsigned)rng_range(0, 8) : 0;

		for (; k && nstarted < NRND; k--, nstarted++)
			rt_start(&rts[nstarted], nstarted);
		if (nstarted && rng_range(0, 100) < 10) {
			/* A recent timer: more likely still pending. */
			unsigned lo = nstarted > 300 ? nstarted - 300 : 0;
			struct rt *r = &rts[rng_range(lo, nstarted)];

			for (int tries = 0; tries < 8 && (r->fired || r->cancelled); tries++)
				r = &rts[rng_range(lo, nstarted)];
			if (!r->fired && !r->cancelled) {
				if (rng() & 1) {
					assert_true(tn_timer_cancel(&r->t));
					r->cancelled = true;
					ncancelled++;
				} else {
					rt_start(r, nstarted); /* re-arm */
					nrearmed++;
				}
			}
		}
		tn_test_clock_ns += rnd_step();
		tn_test_settle();
		rt_step++;
		rt_last_clock = tn_test_clock_ns;
		assert_true(rt_step < 10000000);
	}
	for (unsigned i = 0; i < NRND; i++) {
		if (rts[i].fired == rts[i].cancelled)
			fail_msg("timer %u: fired %d cancelled %d", i, rts[i].fired,
				 rts[i].cancelled);
		assert_false(tn_timer_armed(&rts[i].t));
	}
	assert_int_equal(rt_nfired + ncancelled, NRND);
	print_message("%llu steps, %u cancelled, %u re-armed\n",
		      (unsigned long long)rt_step, ncancelled, nrearmed);
	assert_u64_cmp(ncancelled, >, 100);
	assert_u64_cmp(nrearmed, >, 100);
	assert_int_equal(stats().live_timers, 0);
	assert_int_equal(tn_sched_next_deadline(tn_sched_self()), UINT64_MAX);
}

/* ---- cancel ---- */

static void test_cancel(void **state)
{
	struct rec near, far, past, keep;

	rec_init(&near, 1);
	rec_init(&far, 2);
	rec_init(&past, 3);
	rec_init(&keep, 4);
	assert_false(tn_timer_cancel(&near.t)); /* never started */
	tn_timer_start(&near.t, tn_test_clock_ns + 5 * TICK);  /* level 0 */
	tn_timer_start(&far.t, tn_test_clock_ns + 2 * HOUR);   /* a high level */
	tn_timer_start(&past.t, tn_test_clock_ns - TN_NS_PER_S); /* already due */
	tn_timer_start(&keep.t, tn_test_clock_ns + 3 * HOUR);
	assert_int_equal(stats().live_timers, 4);
	assert_true(tn_timer_cancel(&near.t));
	assert_true(tn_timer_cancel(&far.t));
	assert_true(tn_timer_cancel(&past.t));
	assert_false(tn_timer_armed(&near.t));
	assert_false(tn_timer_cancel(&near.t)); /* twice */
	assert_int_equal(stats().live_timers, 1);
	tn_test_advance(2 * HOUR + TICK);
	assert_int_equal(near.fired + far.fired + past.fired, 0);
	assert_int_equal(keep.fired, 0);
	/* A cancelled timer can be started again. */
	tn_timer_start(&far.t, tn_test_clock_ns + 10 * TICK);
	tn_test_advance(11 * TICK);
	assert_int_equal(far.fired, 1);
	assert_true(tn_timer_cancel(&keep.t));
	assert_int_equal(stats().live_timers, 0);
	assert_int_equal(tn_sched_next_deadline(tn_sched_self()), UINT64_MAX);
	tn_test_advance(4 * HOUR);
	assert_int_equal(keep.fired, 0);
}

/* Callbacks that cancel other timers of the same expiry batch. */
static struct rec batch[6];

static void canceller_fire(struct tn_timer *t, void *arg)
{
	rec_fire(t, arg);
	/* batch[0] already ran in this batch; batch[2] and [3] are due in it
	 * but have not run; batch[5] is far away. */
	assert_false(tn_timer_cancel(&batch[0].t));
	assert_true(tn_timer_armed(&batch[2].t));
	assert_true(tn_timer_cancel(&batch[2].t));
	assert_true(tn_timer_cancel(&batch[3].t));
	assert_true(tn_timer_cancel(&batch[5].t));
	assert_false(tn_timer_cancel(&batch[2].t));
}

static void test_cancel_in_same_batch(void **state)
{
	uint64_t d = tn_test_clock_ns + 100 * TICK;

	log_reset();
	for (int i = 0; i < 6; i++)
		rec_init(&batch[i], i);
	tn_timer_init(&batch[1].t, canceller_fire, &batch[1]);
	tn_timer_start(&batch[0].t, d);
	tn_timer_start(&batch[1].t, d);
	tn_timer_start(&batch[2].t, d);
	tn_timer_start(&batch[3].t, d + 1); /* same tick, later */
	tn_timer_start(&batch[4].t, d + 2);
	tn_timer_start(&batch[5].t, d + HOUR);
	/* One turn fires the whole batch. */
	tn_test_clock_ns = d + TICK;
	tn_sched_run_once(tn_sched_self());
	assert_log((int[]){0, 1, 4}, 3);
	assert_int_equal(stats().live_timers, 0);
	tn_test_advance(2 * HOUR);
	assert_int_equal(nlog, 3);
}

/* ---- re-arm from the callback ---- */

struct rearm {
	struct tn_timer t;
	unsigned count, limit;
	uint64_t delay;   /* re-arm at now + delay; UINT64_MAX: at 0 */
	uint64_t last_turn;
	uint64_t last_deadline;
};

static void rearm_fire(struct tn_timer *t, void *arg)
{
	struct rearm *r = arg;
	uint64_t turn = stats().loop_turns;

	assert_u64_cmp(tn_now(), >=, r->last_deadline);
	/* A re-armed timer fires on a later turn, never the same one. */
	if (r->count)
		assert_u64_cmp(turn, >, r->last_turn);
	r->last_turn = turn;
	if (++r->count < r->limit) {
		r->last_deadline = r->delay == UINT64_MAX ? 0 : tn_now() + r->delay;
		tn_timer_start(t, r->last_deadline);
		assert_true(tn_timer_armed(t));
	}
}

static void test_rearm_in_callback(void **state)
{
	struct tn_sched *s = tn_sched_self();
	struct rearm z = {.limit = 1000, .delay = 0};
	struct rearm p = {.limit = 1000, .delay = UINT64_MAX};
	struct rearm f = {.limit = 5, .delay = 1500};

	/* On a tick boundary, a deadline of "now" is due now. */
	clock_to((tn_test_clock_ns + TICK - 1) / TICK * TICK);
	tn_timer_init(&z.t, rearm_fire, &z);
	tn_timer_init(&p.t, rearm_fire, &p);
	tn_timer_init(&f.t, rearm_fire, &f);
	tn_timer_start(&z.t, tn_test_clock_ns);
	tn_timer_start(&p.t, 0);
	tn_timer_start(&f.t, tn_test_clock_ns + 1500);
	/* Zero delay and a past deadline: once per turn, the clock standing
	 * still. */
	for (unsigned i = 1; i <= 10; i++) {
		tn_sched_run_once(s);
		assert_int_equal(z.count, i);
		assert_int_equal(p.count, i);
		assert_u64_cmp(tn_sched_next_deadline(s), <=, tn_test_clock_ns);
	}
	assert_int_equal(f.count, 0);
	assert_true(tn_timer_cancel(&z.t));
	assert_true(tn_timer_cancel(&p.t));
	/* With a delay: at the later time, once each. */
	tn_test_advance(1500 + TICK);
	assert_int_equal(f.count, 1);
	tn_test_advance(1500 + TICK);
	assert_int_equal(f.count, 2);
	for (int i = 0; i < 10; i++)
		tn_test_advance(1500 + TICK);
	assert_int_equal(f.count, 5);
	assert_false(tn_timer_armed(&f.t));
}

/* ---- tn_timer_start on an armed timer ---- */

static void test_start_rearms(void **state)
{
	struct rec r;
	uint64_t t0 = tn_test_clock_ns;

	rec_init(&r, 0);
	tn_timer_start(&r.t, t0 + 10 * TN_NS_PER_US);
	tn_timer_start(&r.t, t0 + 50 * TN_NS_PER_US); /* later */
	assert_int_equal(stats().live_timers, 1);
	clock_to(t0 + 20 * TN_NS_PER_US);
	assert_int_equal(r.fired, 0);
	clock_to(t0 + 50 * TN_NS_PER_US + TICK);
	assert_int_equal(r.fired, 1);

	t0 = tn_test_clock_ns;
	tn_timer_start(&r.t, t0 + HOUR);
	tn_timer_start(&r.t, t0 + 5 * TN_NS_PER_US); /* earlier */
	assert_int_equal(stats().live_timers, 1);
	clock_to(t0 + 5 * TN_NS_PER_US + TICK);
	assert_int_equal(r.fired, 2);
	assert_u64_cmp(r.fired_at, <, t0 + HOUR);
	tn_test_advance(2 * HOUR);
	assert_int_equal(r.fired, 2);
	assert_int_equal(stats().live_timers, 0);
}

/* ---- next deadline ---- */

static void test_next_deadline(void **state)
{
	struct tn_sched *s = tn_sched_self();
	struct rec a, b, far;
	uint64_t da, db, dfar;
	int wakeups = 0;

	assert_int_equal(tn_sched_next_deadline(s), UINT64_MAX);
	rec_init(&a, 1);
	rec_init(&b, 2);
	rec_init(&far, 3);
	/* On a tick boundary: the next deadline is at or before it. */
	da = (tn_test_clock_ns / TICK + 100) * TICK;
	tn_timer_start(&a.t, da);
	assert_u64_cmp(tn_sched_next_deadline(s), <=, da);
	assert_u64_cmp(tn_sched_next_deadline(s), >, tn_test_clock_ns);
	/* Between ticks: at or before the first tick boundary after it,
	 * which is when it can fire. */
	db = tn_test_clock_ns + 7 * TICK + 13;
	tn_timer_start(&b.t, db);
	assert_u64_cmp(tn_sched_next_deadline(s), <=, (db + TICK - 1) / TICK * TICK);
	assert_true(tn_timer_cancel(&b.t));
	assert_u64_cmp(tn_sched_next_deadline(s), <=, da);
	assert_true(tn_timer_cancel(&a.t));
	assert_int_equal(tn_sched_next_deadline(s), UINT64_MAX);

	/* Sleeping until each next deadline reaches a far timer in a few
	 * wake-ups (one per wheel level at most), never too early, never
	 * beyond it. */
	dfar = tn_test_clock_ns + 7 * HOUR + 12345;
	tn_timer_start(&far.t, dfar);
	while (!far.fired) {
		uint64_t next = tn_sched_next_deadline(s);

		assert_u64_cmp(next, >, tn_test_clock_ns);
		assert_u64_cmp(next, <=, (dfar + TICK - 1) / TICK * TICK);
		clock_to(next);
		assert_true(++wakeups <= 16);
	}
	assert_u64_cmp(far.fired_at, <, dfar + TICK);
	assert_int_equal(tn_sched_next_deadline(s), UINT64_MAX);
}

/* One turn of a busy loop at time t: the dataplane runs the timers
 * every turn, due or not (clock_to runs turns only when one is due). */
static void busy_turn(uint64_t t)
{
	assert_u64_cmp(t, >=, tn_test_clock_ns);
	tn_test_clock_ns = t;
	tn_sched_run_once(tn_sched_self());
}

/* The wheel remembers its next event between turns (next_ev) so a busy
 * loop with a far timer armed does not walk the bitmaps every turn: a
 * timer started earlier than the remembered event, at every level, must
 * still fire on time, and one cancelled must not leave it stuck. */
static void test_earlier_than_remembered(void **state)
{
	struct rec far, near, mid;
	uint64_t t0 = tn_test_clock_ns, d;

	(void)state;
	rec_init(&far, 1);
	rec_init(&near, 2);
	rec_init(&mid, 3);
	tn_timer_start(&far.t, t0 + HOUR);
	/* Busy turns on tick boundaries (so every delay below is whole
	 * ticks): next_ev is known after the first. */
	for (unsigned i = 1; i <= 5; i++)
		busy_turn((t0 / TICK + i) * TICK);
	/* Earlier than the remembered event at level 0, 1 and 2. */
	for (uint64_t delay = 3 * TICK; delay <= 200000 * TICK; delay *= 37) {
		d = tn_test_clock_ns + delay;
		tn_timer_start(&near.t, d);
		while (!near.fired) {
			assert_u64_cmp(tn_test_clock_ns, <, d + TICK);
			busy_turn(tn_test_clock_ns + TICK);
		}
		assert_u64_cmp(near.fired_at, <, d + TICK);
		near.fired = 0;
	}
	/* One cancelled, then another later but still before far. */
	d = tn_test_clock_ns + 10 * TICK;
	tn_timer_start(&mid.t, d);
	busy_turn(tn_test_clock_ns + TICK);
	assert_true(tn_timer_cancel(&mid.t));
	d = tn_test_clock_ns + 50 * TICK;
	tn_timer_start(&near.t, d);
	while (!near.fired) {
		assert_u64_cmp(tn_test_clock_ns, <, d + TICK);
		busy_turn(tn_test_clock_ns + TICK);
	}
	assert_u64_cmp(near.fired_at, <, d + TICK);
	assert_int_equal(mid.fired, 0);
	assert_int_equal(far.fired, 0);
	assert_true(tn_timer_cancel(&far.t));
}

/* ---- deadlines in the past ---- */

static void test_past_deadline(void **state)
{
	struct tn_sched *s = tn_sched_self();
	struct rec a, b, c;
	uint64_t now;

	/* On a tick boundary, a deadline of "now" is due now. */
	clock_to((tn_test_clock_ns + TICK - 1) / TICK * TICK);
	now = tn_test_clock_ns;
	rec_init(&a, 1);
	rec_init(&b, 2);
	rec_init(&c, 3);
	log_reset();
	tn_sched_run_once(s);
	tn_timer_start(&a.t, now - TN_NS_PER_S);
	tn_timer_start(&b.t, 0);
	tn_timer_start(&c.t, now);
	assert_u64_cmp(tn_sched_next_deadline(s), <=, now);
	tn_sched_run_once(s); /* the clock did not move */
	assert_log((int[]){2, 1, 3}, 3);
	assert_u64_cmp(tn_now(), ==, now);
	assert_int_equal(tn_sched_next_deadline(s), UINT64_MAX);
}

/* ---- very far deadlines ---- */

static void test_far_deadlines(void **state)
{
	struct rec y5, y20, max;
	uint64_t t0 = tn_test_clock_ns;

	rec_init(&y5, 1);
	rec_init(&y20, 2);
	rec_init(&max, 3);
	tn_timer_start(&y20.t, t0 + 20 * YEAR);
	tn_timer_start(&max.t, UINT64_MAX);
	tn_timer_start(&y5.t, t0 + 5 * YEAR);
	assert_u64_cmp(tn_sched_next_deadline(tn_sched_self()), <=, t0 + 5 * YEAR + TICK);
	for (int i = 0; i < 12; i++)
		tn_test_advance(YEAR / 12);
	assert_int_equal(y5.fired + y20.fired + max.fired, 0);
	clock_to(t0 + 5 * YEAR - 1);
	assert_int_equal(y5.fired, 0);
	clock_to(t0 + 5 * YEAR + TICK);
	assert_int_equal(y5.fired, 1);
	assert_int_equal(y20.fired + max.fired, 0);
	assert_true(tn_timer_armed(&y20.t));
	assert_true(tn_timer_cancel(&y20.t));
	assert_true(tn_timer_cancel(&max.t));
	assert_int_equal(stats().live_timers, 0);
}

/* The wheel must not depend on where the clock's epoch is: a clock
 * reading about 54 years (a CLOCK_REALTIME-like clock, or one host up
 * for a decade) still keeps timers from firing early. */
static void test_clock_far_from_epoch(void **state)
{
	struct rec r;
	uint64_t d;

	clock_to(54 * YEAR + 12345);
	rec_init(&r, 0);
	d = tn_test_clock_ns + TN_NS_PER_MS;
	tn_timer_start(&r.t, d);
	tn_test_settle();
	clock_to(d - 1);
	assert_int_equal(r.fired, 0);
	clock_to(d + TICK);
	assert_int_equal(r.fired, 1);
}

/* ---- sleeps ---- */

static intptr_t sleeper_main(void *arg)
{
	uint64_t t0 = tn_now(), d;

	assert_int_equal(tn_sleep(1500), 0);
	assert_u64_cmp(tn_now(), >=, t0 + 1500);
	assert_u64_cmp(tn_now(), <, t0 + 1500 + TICK);
	t0 = tn_now();
	d = t0 + TN_NS_PER_S + 3;
	assert_int_equal(tn_sleep_until(d), 0);
	assert_u64_cmp(tn_now(), >=, d);
	assert_u64_cmp(tn_now(), <, d + TICK);
	/* Past deadlines return on the next turn (the clock stays); a zero
	 * sleep within a tick. */
	t0 = tn_now();
	assert_int_equal(tn_sleep_until(t0 - TN_NS_PER_S), 0);
	assert_int_equal(tn_sleep_until(0), 0);
	assert_u64_cmp(tn_now(), ==, t0);
	assert_int_equal(tn_sleep(0), 0);
	assert_u64_cmp(tn_now(), <, t0 + TICK);
	/* Hours away. */
	assert_int_equal(tn_sleep(3 * HOUR + 1), 0);
	assert_u64_cmp(tn_now(), >=, t0 + 3 * HOUR + 1);
	return 0;
}

static intptr_t sleep_long(void *arg)
{
	return tn_sleep(HOUR);
}

static intptr_t sleep_cancel_main(void *arg)
{
	struct tn_task *t = tn_task_spawn(sleep_long, NULL);
	uint64_t t0 = tn_now();

	assert_int_equal(tn_yield(), 0); /* it sleeps now */
	assert_int_equal(stats().live_timers, 1);
	assert_int_equal(tn_task_cancel(t), 0);
	assert_int_equal(tn_await(tn_task_join(t), NULL), -ECANCELED);
	assert_int_equal(stats().live_timers, 0);
	assert_u64_cmp(tn_now(), <, t0 + HOUR);
	/* A pending request is delivered by the next sleep, at once. */
	assert_int_equal(tn_task_cancel(tn_task_current()), 0);
	assert_int_equal(tn_sleep(HOUR), -ECANCELED);
	assert_int_equal(tn_task_uncancel(), 0);
	assert_int_equal(stats().live_timers, 0);
	return 0;
}

static void test_sleep(void **state)
{
	assert_int_equal(tn_sleep(10), -EPERM);
	assert_int_equal(tn_sleep_until(10), -EPERM);
	assert_int_equal(tn_test_run(sleeper_main, NULL, NULL), 0);
	assert_int_equal(tn_test_run(sleep_cancel_main, NULL, NULL), 0);
}

/* Thousands of sleeping tasks wake in (deadline, sleep order) order. */
#define NSLEEP 4000

static uint64_t sleep_deadline[NSLEEP];
static int wake_log[NSLEEP];
static int nwake;

static intptr_t timed_sleeper(void *arg)
{
	int i = (int)(intptr_t)arg;

	assert_int_equal(tn_sleep_until(sleep_deadline[i]), 0);
	assert_u64_cmp(tn_now(), >=, sleep_deadline[i]);
	wake_log[nwake++] = i;
	return i;
}

static intptr_t many_sleepers_main(void *arg)
{
	static struct tn_future *fs[NSLEEP];
	static intptr_t vals[NSLEEP];

	for (int i = 0; i < NSLEEP; i++)
		fs[i] = tn_task_join(tn_task_spawn(timed_sleeper, (void *)(intptr_t)i));
	assert_int_equal(tn_gather(fs, NSLEEP, vals, NULL), 0);
	for (int i = 0; i < NSLEEP; i++)
		assert_int_equal(vals[i], i);
	return 0;
}

static void test_many_sleepers(void **state)
{
	uint64_t base = tn_test_clock_ns;

	rng_seed(99);
	nwake = 0;
	for (int i = 0; i < NSLEEP; i++) {
		/* Few distinct values, so many ties, spread from us to hours. */
		uint64_t k = rng_range(0, 300);

		sleep_deadline[i] = base + 1 + k * k * k * k * 1000;
	}
	assert_int_equal(tn_test_run(many_sleepers_main, NULL, NULL), 0);
	assert_int_equal(nwake, NSLEEP);
	for (int i = 1; i < NSLEEP; i++) {
		int a = wake_log[i - 1], b = wake_log[i];

		if (sleep_deadline[a] > sleep_deadline[b] ||
		    (sleep_deadline[a] == sleep_deadline[b] && a > b))
			fail_msg("wake %d: task %d (deadline %llu) after task %d (%llu)", i, b,
				 (unsigned long long)sleep_deadline[b], a,
				 (unsigned long long)sleep_deadline[a]);
	}
}

/* ---- timeout scopes ---- */

struct resolver {
	struct tn_timer t;
	struct tn_future *f;
	struct tn_task *victim; /* or cancel this task */
};

static void resolve_fire(struct tn_timer *t, void *arg)
{
	struct resolver *r = arg;

	if (r->f)
		assert_int_equal(tn_future_resolve(r->f, 77), 0);
	if (r->victim)
		assert_int_equal(tn_task_cancel(r->victim), 0);
}

static intptr_t timeout_expires_main(void *arg)
{
	struct tn_future *f = tn_future_create();
	struct tn_timeout to;
	uint64_t d = tn_now() + 5 * TN_NS_PER_MS + 3;
	int err;

	tn_timeout_enter(&to, d);
	err = tn_await(f, NULL);
	assert_int_equal(err, -ECANCELED);
	err = tn_timeout_exit(&to, err);
	assert_int_equal(err, -ETIMEDOUT);
	assert_u64_cmp(tn_now(), >=, d);
	assert_u64_cmp(tn_now(), <, d + TICK);
	/* The producer sees the cancellation and drops its side. */
	assert_int_equal(tn_future_reject(f, -ECANCELED), -ECANCELED);
	assert_int_equal(tn_task_cancelling(), 0);

	/* Around a sleep, and then the task goes on normally. */
	d = tn_now() + TN_NS_PER_MS;
	tn_timeout_enter(&to, d);
	assert_int_equal(tn_timeout_exit(&to, tn_sleep(HOUR)), -ETIMEDOUT);
	assert_u64_cmp(tn_now(), >=, d);
	assert_u64_cmp(tn_now(), <, d + TICK);
	assert_int_equal(tn_yield(), 0);
	assert_int_equal(tn_sleep(TN_NS_PER_MS), 0);
	assert_int_equal(stats().live_timers, 0);
	return 0;
}

static void test_timeout_expires(void **state)
{
	assert_int_equal(tn_test_run(timeout_expires_main, NULL, NULL), 0);
}

static intptr_t timeout_not_reached_main(void *arg)
{
	struct resolver r = {.f = tn_future_create()};
	struct tn_timeout to;
	uint64_t d;
	intptr_t v = 0;
	int err;

	/* Completed a few ticks before the deadline: the timeout's timer is
	 * gone, and a later sleep across the deadline is not cut short. */
	d = tn_now() + TN_NS_PER_MS;
	tn_timer_init(&r.t, resolve_fire, &r);
	tn_timer_start(&r.t, d - 5 * TICK);
	tn_timeout_enter(&to, d);
	err = tn_timeout_exit(&to, tn_await(r.f, &v));
	assert_int_equal(err, 0);
	assert_int_equal(v, 77);
	assert_int_equal(stats().live_timers, 0);
	assert_int_equal(tn_sleep(2 * TN_NS_PER_MS), 0);
	assert_int_equal(tn_task_cancelling(), 0);

	/* Completed in the very turn the timeout fires (the resolver runs
	 * first in the same expiry batch): still no timeout, and no pending
	 * cancellation is left behind. */
	d = (tn_now() / TICK + 1000) * TICK;
	r.f = tn_future_create();
	v = 0;
	tn_timer_start(&r.t, d - 1);
	tn_timeout_enter(&to, d);
	err = tn_timeout_exit(&to, tn_await(r.f, &v));
	assert_int_equal(err, 0);
	assert_int_equal(v, 77);
	assert_u64_cmp(tn_now(), >=, d);
	assert_int_equal(tn_task_cancelling(), 0);
	assert_int_equal(tn_yield(), 0);
	assert_int_equal(tn_sleep(TN_NS_PER_MS), 0);
	r.f = tn_future_create();
	tn_timer_start(&r.t, tn_now() + TN_NS_PER_MS);
	assert_int_equal(tn_await(r.f, &v), 0);
	return 0;
}

static void test_timeout_not_reached(void **state)
{
	assert_int_equal(tn_test_run(timeout_not_reached_main, NULL, NULL), 0);
}

/* Cancelled from elsewhere in the same turn the timeout expires: that is
 * reported as -ECANCELED, and the outside request stays counted. */
static intptr_t timeout_and_cancel_main(void *arg)
{
	struct resolver r = {.victim = tn_task_current()};
	struct tn_timeout to;
	uint64_t d = (tn_now() / TICK + 1000) * TICK;
	int err;

	tn_timer_init(&r.t, resolve_fire, &r);
	tn_timer_start(&r.t, d - 1);
	tn_timeout_enter(&to, d);
	err = tn_timeout_exit(&to, tn_sleep(HOUR));
	assert_int_equal(err, -ECANCELED);
	assert_int_equal(tn_task_cancelling(), 1);
	assert_int_equal(tn_task_uncancel(), 0);
	assert_int_equal(tn_yield(), 0);

	/* Cancelled from elsewhere well before the deadline. */
	tn_timer_start(&r.t, tn_now() + TN_NS_PER_MS);
	tn_timeout_enter(&to, tn_now() + HOUR);
	err = tn_timeout_exit(&to, tn_sleep(2 * HOUR));
	assert_int_equal(err, -ECANCELED);
	assert_int_equal(tn_task_uncancel(), 0);
	assert_int_equal(stats().live_timers, 0);
	return 0;
}

static void test_timeout_and_cancel(void **state)
{
	assert_int_equal(tn_test_run(timeout_and_cancel_main, NULL, NULL), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tn_test_setup, tn_test_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_never_early),
		T(test_equal_deadlines_fifo),
		T(test_equal_deadlines_fifo_spread),
		T(test_same_tick_deadline_order),
		T(test_random_order),
		T(test_cancel),
		T(test_cancel_in_same_batch),
		T(test_rearm_in_callback),
		T(test_start_rearms),
		T(test_next_deadline),
		T(test_earlier_than_remembered),
		T(test_past_deadline),
		T(test_far_deadlines),
		T(test_clock_far_from_epoch),
		T(test_sleep),
		T(test_many_sleepers),
		T(test_timeout_expires),
		T(test_timeout_not_reached),
		T(test_timeout_and_cancel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
