/* TCP's timers: one hashed timing wheel per stack (4,096 slots of 1 ms)
 * and three deadlines per connection.
 *
 * A connection keeps rexmt_at (the retransmission timer, RFC 6298, or
 * the persist timer, which never run together), delack_at (the delayed
 * ACK) and idle_at (keepalive, the orphaned FIN-WAIT-2 bound or
 * TIME-WAIT's 2 MSL, one per state) and sits in the wheel once, at the
 * earliest of them.  Filing is O(1) (slot = the tick at or after the
 * deadline, so nothing fires early); a slot holds deadlines of later
 * laps too, skipped until their lap.  A bitmap of non-empty slots finds
 * the next deadline without walking the slots, and 100,000 connections
 * cost one pointer pair each.  Deadlines fire at the first tick at or
 * after them (up to 1 ms late).  A deadline that moves later, or stops,
 * leaves the entry where it is, to be re-filed when its slot comes up
 * (so the per-segment path rarely touches the wheel).
 *
 * Keepalive is lazy, as Linux's: received segments only note the time
 * (last_rx); the idle timer, when it fires early, re-files itself. */
#include "tn_tcp.h"

static inline unsigned slot_of(uint64_t tick)
{
	return (unsigned)(tick % TN_TCP_WHEEL);
}

void tn__tcp_timer_remove(struct tn_tcp_conn *c)
{
	struct tn_tcp *t = c->s->tcp;

	if (!c->t_pprev)
		return;
	*c->t_pprev = c->t_next;
	if (c->t_next)
		c->t_next->t_pprev = c->t_pprev;
	else if (c->t_pprev >= &t->wheel[0] && c->t_pprev < &t->wheel[TN_TCP_WHEEL] &&
		 !*c->t_pprev) {
		unsigned sl = (unsigned)(c->t_pprev - &t->wheel[0]);

		t->wheel_map[sl / 64] &= ~(1ull << (sl % 64));
	}
	c->t_next = NULL;
	c->t_pprev = NULL;
	c->t_at = 0;
}

static uint64_t min_nz(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

void tn__tcp_timer_update(struct tn_tcp_conn *c)
{
	struct tn_stack *s = c->s;
	struct tn_tcp *t = s->tcp;
	uint64_t at = min_nz(min_nz(c->rexmt_at, c->delack_at), c->idle_at), tick;
	unsigned sl;

	/* Later or off while filed: stay where we are; the slot's turn
	 * re-files (or drops) us.  Every ACK restarts the RTO and most stop
	 * it: this keeps the wheel out of the per-segment path. */
	if (c->t_pprev ? at == 0 || at >= c->t_at : at == 0)
		return;
	tn__tcp_timer_remove(c);
	tick = (at + TN_TCP_TICK_NS - 1) / TN_TCP_TICK_NS;
	if (tick <= t->cur_tick)
		tick = t->cur_tick + 1;
	sl = slot_of(tick);
	c->t_at = at;
	c->t_next = t->wheel[sl];
	if (c->t_next)
		c->t_next->t_pprev = &c->t_next;
	c->t_pprev = &t->wheel[sl];
	t->wheel[sl] = c;
	t->wheel_map[sl / 64] |= 1ull << (sl % 64);
	/* The slot's first turn after cur_tick (tick itself unless it lies
	 * beyond the wheel's horizon). */
	tick = t->cur_tick + 1 + (sl - slot_of(t->cur_tick + 1) + TN_TCP_WHEEL) % TN_TCP_WHEEL;
	if (tick < t->next_tick)
		t->next_tick = tick;
	tn__stack_deadline_lower(s, tick * TN_TCP_TICK_NS);
}

/* ---- arming ---- */

/* Sets a deadline (*d = at, nonzero): a connection filed at or before it
 * stays where it is (the invariant tn__tcp_timer_update keeps: the wheel
 * holds c at or before its earliest deadline), so the common re-arm,
 * later than the one before, costs a compare. */
static inline void deadline_set(struct tn_tcp_conn *c, uint64_t *d, uint64_t at)
{
	*d = at;
	if (!c->t_pprev || at < c->t_at)
		tn__tcp_timer_update(c);
}

uint64_t tn__tcp_rto_backed(const struct tn_tcp_conn *c)
{
	uint64_t r = c->rto;
	unsigned b = c->backoff;

	while (b-- && r < c->o.rto_max_ns)
		r <<= 1;
	return r > c->o.rto_max_ns ? c->o.rto_max_ns : r;
}

void tn__tcp_rexmt_arm(struct tn_tcp_conn *c)
{
	c->f &= ~(TF_PERSIST | TF_TLP);
	deadline_set(c, &c->rexmt_at, c->s->now + tn__tcp_rto_backed(c));
}

void tn__tcp_rexmt_stop(struct tn_tcp_conn *c)
{
	/* A deadline that stops never needs tn__tcp_timer_update: the wheel
	 * holds c at or before its earliest deadline, which can only move
	 * later (the slot's turn re-files or drops c). */
	c->f &= ~(TF_PERSIST | TF_TLP);
	c->rexmt_at = 0;
}

/* RFC 8985 7.2.  PTO = 2 SRTT (at least 10 ms, as Linux), plus the
 * peer's delayed-ACK time (our own delack setting stands for it) when a
 * single segment is in flight, never later than the RTO. */
void tn__tcp_rexmt_arm_data(struct tn_tcp_conn *c)
{
	uint64_t pto;

	if ((c->f & TF_TLP_DONE) && tn__seq_geq(c->snd_una, c->tlp_high))
		c->f &= ~TF_TLP_DONE; /* that flight is over: probes may go again */
	if (!(c->f & TF_SACK) || !c->srtt || (c->f & (TF_IN_RECOVERY | TF_TLP_DONE)) ||
	    c->nrexmt || c->state != TN_TCP_ESTABLISHED) {
		tn__tcp_rexmt_arm(c);
		return;
	}
	pto = 2 * c->srtt;
	if (pto < 10 * TN_TCP_TICK_NS)
		pto = 10 * TN_TCP_TICK_NS;
	if (tn__tcp_flight(c) <= c->mss)
		pto += c->o.delack_ns;
	if (pto >= tn__tcp_rto_backed(c)) {
		tn__tcp_rexmt_arm(c);
		return;
	}
	c->f &= ~TF_PERSIST;
	c->f |= TF_TLP;
	deadline_set(c, &c->rexmt_at, c->s->now + pto);
}

/* A zero-window probe: an old sequence number, so the peer answers
 * with an ACK carrying its window (Linux's form). */
static void zwp_send(struct tn_tcp_conn *c)
{
	c->s->st.tcp_zwp++;
	tn__tcp_xmit(c, c->snd_una - 1, 0, RTE_TCP_ACK_FLAG);
}

/* The probe (RFC 8985 7.3): a new segment if the windows allow one,
 * else the last segment again; then the RTO. */
static void tlp_fire(struct tn_tcp_conn *c)
{
	struct tn_stack *s = c->s;
	uint32_t end = c->sb_seq + c->sndq.bytes, avail, rwnd, len, seq, smss = tn__tcp_seg_mss(c);
	uint8_t flags = RTE_TCP_ACK_FLAG;

	s->st.tcp_tlp++;
	c->f |= TF_TLP_DONE;
	avail = tn__seq_lt(c->snd_nxt, end) ? end - c->snd_nxt : 0;
	rwnd = tn__seq_gt(c->snd_una + c->snd_wnd, c->snd_nxt) ? c->snd_una + c->snd_wnd - c->snd_nxt
								 : 0;
	len = avail < smss ? avail : smss;
	if (len && len <= rwnd && c->snd_nxt == c->snd_max) {
		if (tn__tcp_xmit(c, c->snd_nxt, len, flags | RTE_TCP_PSH_FLAG) == 0) {
			c->snd_nxt += len;
			c->snd_max = c->snd_nxt;
			c->bytes_sent += len;
		}
	} else {
		uint32_t data_end = (c->f & TF_FIN_SENT) ? c->fin_seq : c->snd_max;

		len = data_end - c->snd_una;
		if (len > smss)
			len = smss;
		seq = data_end - len;
		if ((c->f & TF_FIN_SENT) && tn__seq_lt(c->snd_una, c->snd_max))
			flags |= RTE_TCP_FIN_FLAG;
		if (tn__tcp_xmit(c, seq, len, flags) == 0) {
			c->retransmits++;
			s->st.tcp_retransmits++;
			if ((c->f & TF_RTT_TIMING) && tn__seq_geq(c->rtt_seq, seq))
				c->f &= ~TF_RTT_TIMING; /* Karn */
		}
	}
	c->tlp_high = c->snd_max;
	tn__tcp_rexmt_arm(c);
}

void tn__tcp_persist_arm(struct tn_tcp_conn *c)
{
	uint64_t r = tn__tcp_rto_backed(c);

	if (r < TN_TCP_PERSIST_MIN)
		r = TN_TCP_PERSIST_MIN;
	if (r > TN_TCP_PERSIST_MAX)
		r = TN_TCP_PERSIST_MAX;
	c->f |= TF_PERSIST;
	c->rexmt_at = c->s->now + r;
	tn__tcp_timer_update(c);
}

void tn__tcp_delack_arm(struct tn_tcp_conn *c)
{
	if (c->delack_at)
		return;
	c->f |= TF_DELACK;
	deadline_set(c, &c->delack_at, c->s->now + c->o.delack_ns);
}

void tn__tcp_idle_arm(struct tn_tcp_conn *c)
{
	uint64_t now = c->s->now;

	switch (c->state) {
	case TN_TCP_TIME_WAIT:
		c->idle_at = now + 2 * TN_TCP_MSL_NS;
		break;
	case TN_TCP_FIN_WAIT_2:
		if (!(c->f & TF_USER)) {
			c->idle_at = now + TN_TCP_FIN2_NS;
			break;
		}
		/* Held after shutdown: the peer may vanish before its FIN, so
		 * keepalive probes here too (as Linux's). */
		/* fall through */
	case TN_TCP_ESTABLISHED:
	case TN_TCP_CLOSE_WAIT:
		c->idle_at = c->o.keepalive ? c->last_rx + (c->ka_probes ? c->o.ka_intvl_ns
									  : c->o.ka_idle_ns)
					    : 0;
		break;
	default:
		c->idle_at = 0;
		break;
	}
	tn__tcp_timer_update(c);
}

/* ---- firing ---- */

/* The error a connection that timed out reports: a soft ICMP error seen
 * meanwhile says more than -ETIMEDOUT (RFC 1122 4.2.3.9). */
static int timeout_err(const struct tn_tcp_conn *c)
{
	return c->soft_err ? c->soft_err : -ETIMEDOUT;
}

static bool rexmt_fire(struct tn_tcp_conn *c)
{
	struct tn_stack *s = c->s;

	c->rexmt_at = 0;
	if (c->f & TF_TLP) {
		c->f &= ~TF_TLP;
		if (c->snd_una != c->snd_max)
			tlp_fire(c);
		return false;
	}
	if (c->f & TF_PERSIST) {
		uint32_t usable;

		c->f &= ~TF_PERSIST;
		if (c->nrexmt >= c->o.retries) {
			s->st.tcp_timeouts++;
			tn__tcp_close_conn(c, timeout_err(c));
			return true;
		}
		usable = tn__seq_gt(c->snd_una + c->snd_wnd, c->snd_nxt)
				 ? c->snd_una + c->snd_wnd - c->snd_nxt : 0;
		if (usable) {
			/* The window is open but too small for SWS avoidance:
			 * the override (RFC 1122 4.2.3.4) sends what fits. */
			uint32_t avail = c->sb_seq + c->sndq.bytes - c->snd_nxt;
			uint32_t len = usable < avail ? usable : avail, smss = tn__tcp_seg_mss(c);

			if (len > smss)
				len = smss;
			if (len && tn__tcp_xmit(c, c->snd_nxt, len, RTE_TCP_ACK_FLAG) == 0) {
				c->snd_nxt += len;
				c->bytes_sent += len;
				if (tn__seq_gt(c->snd_nxt, c->snd_max))
					c->snd_max = c->snd_nxt;
				tn__tcp_rexmt_arm(c);
				return false;
			}
		}
		zwp_send(c);
		c->nrexmt++;
		if (c->backoff < 30)
			c->backoff++;
		tn__tcp_persist_arm(c);
		return false;
	}
	if (c->state == TN_TCP_SYN_SENT || c->state == TN_TCP_SYN_RECEIVED) {
		if (c->nrexmt >= c->o.syn_retries) {
			s->st.tcp_timeouts++;
			if (c->state == TN_TCP_SYN_RECEIVED && (c->f & TF_PASSIVE))
				tn__tcp_close_conn(c, -ETIMEDOUT);
			else
				tn__tcp_close_conn(c, timeout_err(c));
			return true;
		}
		c->nrexmt++;
		if (c->backoff < 30)
			c->backoff++;
		c->f |= TF_SYN_REXMIT;
		c->f &= ~TF_RTT_TIMING;
		c->retransmits++;
		s->st.tcp_retransmits++;
		s->st.tcp_rto++;
		c->rto_expiries++;
		tn__tcp_xmit(c, c->iss, 0,
			     c->state == TN_TCP_SYN_SENT ? RTE_TCP_SYN_FLAG
							 : RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
		tn__tcp_rexmt_arm(c);
		return false;
	}
	if (c->snd_una == c->snd_max)
		return false; /* everything was acknowledged meanwhile */
	if (c->nrexmt >= c->o.retries) {
		s->st.tcp_timeouts++;
		tn__tcp_close_conn(c, timeout_err(c));
		return true;
	}
	/* RFC 6298 5.4-5.6: resend the earliest unacknowledged segment, back
	 * off, and (RFC 5681 3.1) shrink to the loss window; go back N. */
	c->nrexmt++;
	if (c->backoff < 30)
		c->backoff++;
	c->rto_expiries++;
	s->st.tcp_rto++;
	tn__tcp_cc_rto(c);
	c->f &= ~(TF_RTT_TIMING | TF_IN_RECOVERY);
	c->recover = c->snd_max; /* RFC 6582 4: no fast retransmit for this data */
	c->dupacks = 0;
	c->nsacks = 0;  /* RFC 2018 8: the receiver may have reneged */
	c->sacked = 0;
	c->snd_nxt = c->snd_una;
	c->rexmt_at = 0;
	tn__tcp_output(c);
	if (!c->rexmt_at) {
		if (!c->snd_wnd && c->snd_nxt == c->snd_una) {
			/* The peer's window is shut, so nothing could go: probe
			 * it from now on (RFC 9293 3.8.6.1; BSD too turns to the
			 * persist timer).  Answered probes keep the connection;
			 * the window that opens gets the data again from snd_una. */
			zwp_send(c);
			tn__tcp_persist_arm(c);
		} else {
			tn__tcp_rexmt_arm(c);
		}
	}
	return false;
}

static bool idle_fire(struct tn_tcp_conn *c)
{
	struct tn_stack *s = c->s;

	c->idle_at = 0;
	switch (c->state) {
	case TN_TCP_TIME_WAIT:
		tn__tcp_close_conn(c, 0);
		return true;
	case TN_TCP_FIN_WAIT_2:
		if (!(c->f & TF_USER)) {
			/* Orphaned too long: Linux resets it. */
			tn__tcp_send_rst(c);
			s->st.tcp_aborts++;
			tn__tcp_close_conn(c, -ETIMEDOUT);
			return true;
		}
		/* Held: keepalive, as in ESTABLISHED. */
		/* fall through */
	case TN_TCP_ESTABLISHED:
	case TN_TCP_CLOSE_WAIT:
		if (!c->o.keepalive)
			return false;
		if (tn__tcp_flight(c) || c->sndq.bytes) {
			/* Data in flight, or waiting on a shut window: the
			 * retransmission or persist timer owns the connection and
			 * its limit (Linux's keepalive timer does the same). */
			c->idle_at = s->now + c->o.ka_idle_ns;
			tn__tcp_timer_update(c);
			return false;
		}
		if (s->now < c->last_rx + (c->ka_probes ? c->o.ka_intvl_ns : c->o.ka_idle_ns)) {
			tn__tcp_idle_arm(c); /* traffic since: not idle yet */
			return false;
		}
		if (c->ka_probes >= c->o.ka_cnt) {
			s->st.tcp_timeouts++;
			tn__tcp_close_conn(c, timeout_err(c));
			return true;
		}
		c->ka_probes++;
		/* An old sequence number, no data: the peer must ACK it. */
		tn__tcp_xmit(c, c->snd_una - 1, 0, RTE_TCP_ACK_FLAG);
		c->idle_at = s->now + c->o.ka_intvl_ns;
		tn__tcp_timer_update(c);
		return false;
	default:
		return false;
	}
}

/* Runs c's due deadlines; c may be freed. */
static void fire(struct tn_tcp_conn *c)
{
	uint64_t now = c->s->now;

	if (c->delack_at && c->delack_at <= now) {
		c->delack_at = 0;
		if (c->f & TF_DELACK) {
			c->s->st.tcp_delayed_acks++;
			tn__tcp_send_ack(c);
		}
	}
	if (c->rexmt_at && c->rexmt_at <= now && rexmt_fire(c))
		return;
	if (c->idle_at && c->idle_at <= now && idle_fire(c))
		return;
	tn__tcp_timer_update(c);
}

/* Runs one slot: the connections due now, collected first (firing
 * re-files or frees them). */
static void run_slot(struct tn_tcp *t, unsigned sl, uint64_t now)
{
	struct tn_tcp_conn *due = NULL, *c, *next;

	for (c = t->wheel[sl]; c; c = next) {
		next = c->t_next;
		if (c->t_at <= now) {
			tn__tcp_timer_remove(c);
			c->t_next = due;
			due = c;
		}
	}
	for (c = due; c; c = next) {
		next = c->t_next;
		c->t_next = NULL;
		fire(c);
	}
}

uint64_t tn__tcp_timers(struct tn_stack *s)
{
	struct tn_tcp *t = s->tcp;
	uint64_t now_tick = s->now / TN_TCP_TICK_NS, tick, last;
	unsigned i, w;

	/* Nothing filed up to now: the slots in between are empty. */
	if (now_tick < t->next_tick) {
		if (now_tick > t->cur_tick)
			t->cur_tick = now_tick;
		return t->next_tick == UINT64_MAX ? UINT64_MAX : t->next_tick * TN_TCP_TICK_NS;
	}
	if (now_tick > t->cur_tick) {
		last = now_tick - t->cur_tick > TN_TCP_WHEEL ? t->cur_tick + TN_TCP_WHEEL : now_tick;
		for (tick = t->cur_tick + 1; tick <= last; tick++) {
			unsigned sl = slot_of(tick);

			/* (What firing re-files for now goes to the next tick.) */
			t->cur_tick = tick;
			if (t->wheel_map[sl / 64] & (1ull << (sl % 64)))
				run_slot(t, sl, s->now);
		}
		t->cur_tick = now_tick;
	}
	/* The next non-empty slot after cur_tick. */
	for (i = 0; i <= TN_TCP_WHEEL / 64; i++) {
		unsigned base = slot_of(t->cur_tick + 1 + (uint64_t)i * 64);
		uint64_t bits;

		w = base / 64;
		bits = t->wheel_map[w] >> (base % 64);
		if (base % 64)
			bits |= (t->wheel_map[(w + 1) % (TN_TCP_WHEEL / 64)] << (64 - base % 64));
		if (bits) {
			t->next_tick = t->cur_tick + 1 + (uint64_t)i * 64 +
				       (unsigned)__builtin_ctzll(bits);
			return t->next_tick * TN_TCP_TICK_NS;
		}
	}
	t->next_tick = UINT64_MAX;
	return UINT64_MAX;
}
