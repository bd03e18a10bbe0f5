/* Congestion control: NewReno (RFC 5681, with RFC 6582's recovery done
 * by tcp_input.c) and CUBIC (RFC 9438).  cwnd and ssthresh are in bytes.
 *
 * Both grow the window only while it limits the sender (RFC 7661's
 * idea, as Linux's tcp_is_cwnd_limited): an application that sends
 * less than the window would otherwise inflate it without evidence and
 * later burst.  Slow start counts acknowledged bytes up to two segments
 * per ACK (RFC 3465's L = 2). */
#include "tn_tcp.h"

#define CUBIC_C 0.4
#define CUBIC_BETA 0.7

static uint32_t initial_window(uint32_t mss)
{
	/* RFC 6928: min(10*MSS, max(2*MSS, 14600)). */
	uint32_t iw = 14600 > 2 * mss ? 14600 : 2 * mss;

	return iw < TN_TCP_IW_SEGS * mss ? iw : TN_TCP_IW_SEGS * mss;
}

void tn__tcp_cc_init(struct tn_tcp_conn *c)
{
	c->cwnd = initial_window(c->mss);
	c->ssthresh = 0x7fffffff;
	c->bytes_acked_ca = 0;
	c->cubic.epoch = 0;
	c->cubic.w_max = c->cubic.w_last_max = 0;
}

void tn__tcp_cc_idle_restart(struct tn_tcp_conn *c)
{
	uint32_t iw = initial_window(c->mss);

	if (c->cwnd > iw)
		c->cwnd = iw;
	c->cubic.epoch = 0;
}

static double cube_root(double x)
{
	double r = x > 1 ? x / 3 : 1;
	int i;

	if (x <= 0)
		return 0;
	for (i = 0; i < 40; i++) {
		double n = r - (r * r * r - x) / (3 * r * r);

		if (n == r)
			break;
		r = n;
	}
	return r;
}

/* RFC 9438 4.2-4.3: the window in congestion avoidance. */
static void cubic_ca(struct tn_tcp_conn *c, uint32_t acked)
{
	double mss = c->mss, cwnd = c->cwnd / mss, t, target, w_est;
	uint64_t now = c->s->now;

	if (!c->cubic.epoch) {
		c->cubic.epoch = now ? now : 1;
		if (c->cubic.w_max / 1024.0 > cwnd) {
			c->cubic.k_ms = (uint32_t)(cube_root((c->cubic.w_max / 1024.0 - cwnd) / CUBIC_C) * 1000);
			c->cubic.origin = c->cubic.w_max;
		} else {
			c->cubic.k_ms = 0;
			c->cubic.origin = (uint32_t)(cwnd * 1024);
		}
		c->cubic.w_est = c->cwnd;
	}
	/* t + RTT: where the window should be one round trip from now. */
	t = (double)(now - c->cubic.epoch + c->srtt) / 1e9 - c->cubic.k_ms / 1000.0;
	target = c->cubic.origin / 1024.0 + CUBIC_C * t * t * t;
	if (target < cwnd)
		target = cwnd;
	if (target > 1.5 * cwnd)
		target = 1.5 * cwnd;
	/* The Reno-friendly region (4.3): alpha = 3(1-beta)/(1+beta). */
	w_est = c->cubic.w_est + 3 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA) * acked / cwnd;
	c->cubic.w_est = (uint32_t)w_est;
	if (w_est / mss > target)
		target = w_est / mss;
	c->bytes_acked_ca += (uint32_t)((target - cwnd) / cwnd * acked);
	if (c->bytes_acked_ca >= c->mss) {
		uint32_t inc = c->bytes_acked_ca / c->mss * c->mss;

		c->cwnd += inc;
		c->bytes_acked_ca -= inc;
	}
}

void tn__tcp_cc_ack(struct tn_tcp_conn *c, uint32_t acked)
{
	uint32_t flight = tn__tcp_flight(c) + acked;

	/* Not limited by the window: no evidence that more would fit. */
	if (flight * 2 < c->cwnd)
		return;
	if (c->cwnd < c->ssthresh) {
		c->cwnd += acked < 2u * c->mss ? acked : 2u * c->mss;
		if (c->cwnd > c->ssthresh)
			c->cwnd = c->ssthresh;
	} else if (c->cc == TN_TCP_CC_CUBIC) {
		cubic_ca(c, acked);
	} else {
		c->bytes_acked_ca += acked;
		if (c->bytes_acked_ca >= c->cwnd) {
			c->bytes_acked_ca -= c->cwnd;
			c->cwnd += c->mss;
		}
	}
	if (c->cwnd > 1u << 30)
		c->cwnd = 1u << 30;
}

static void set_ssthresh(struct tn_tcp_conn *c)
{
	uint32_t flight = tn__tcp_flight(c), th;

	if (c->cc == TN_TCP_CC_CUBIC) {
		/* RFC 9438 4.6-4.7: multiplicative decrease by beta, and fast
		 * convergence when the last maximum was not reached. */
		uint32_t w = (uint32_t)((uint64_t)c->cwnd * 1024 / c->mss);

		if (w < c->cubic.w_last_max)
			c->cubic.w_max = (uint32_t)(w * (1 + CUBIC_BETA) / 2);
		else
			c->cubic.w_max = w;
		c->cubic.w_last_max = w;
		c->cubic.epoch = 0;
		th = (uint32_t)(c->cwnd * CUBIC_BETA);
	} else {
		th = flight / 2; /* RFC 5681 (4) */
	}
	c->ssthresh = th > 2u * c->mss ? th : 2u * c->mss;
	c->bytes_acked_ca = 0;
}

void tn__tcp_cc_loss(struct tn_tcp_conn *c)
{
	set_ssthresh(c);
	c->cwnd = c->ssthresh;
}

void tn__tcp_cc_rto(struct tn_tcp_conn *c)
{
	/* Only the first timeout of the same data lowers ssthresh: after
	 * it the flight is the loss window, and halving that again would
	 * forget the path's capacity (Linux's tcp_enter_loss does the same). */
	if (c->nrexmt <= 1)
		set_ssthresh(c);
	c->cwnd = c->mss; /* the loss window */
}
