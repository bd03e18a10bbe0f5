/* The pure parts of tern-feed and tern-game: sequence accounting
 * (apps/seq_track.h: gaps, duplicates, reordering, late arrivals, a late
 * start, restarts, jumps past the window) and the message formats
 * (apps/feed_msg.h, apps/game_msg.h: fields at their documented offsets,
 * little-endian, and malformed messages refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "feed_msg.h"
#include "game_msg.h"
#include "seq_track.h"

static struct tn_seq_track t;

static void add(const uint64_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tn_seq_add(&t, s[i]);
}

#define ADD(...)                                                                         \
	do {                                                                             \
		const uint64_t s_[] = {__VA_ARGS__};                                     \
		add(s_, sizeof(s_) / sizeof(s_[0]));                                     \
	} while (0)

static void expect(uint64_t received, uint64_t missing, uint64_t gap_events, uint64_t dup,
		   uint64_t reordered, uint64_t late)
{
	assert_int_equal(t.received, received);
	assert_int_equal(t.missing, missing);
	assert_int_equal(t.gap_events, gap_events);
	assert_int_equal(t.dup, dup);
	assert_int_equal(t.reordered, reordered);
	assert_int_equal(t.late, late);
}

static void test_in_order(void **state)
{
	tn_seq_init(&t);
	for (uint64_t s = 0; s < 10000; s++)
		tn_seq_add(&t, s);
	expect(10000, 0, 0, 0, 0, 0);
	assert_int_equal(t.next, 10000);
}

static void test_gap_then_fill(void **state)
{
	tn_seq_init(&t);
	ADD(0, 1, 2, 5, 6);
	expect(5, 2, 1, 0, 0, 0); /* 3 and 4 missing */
	ADD(4);
	expect(6, 1, 1, 0, 1, 0); /* 4 came late: reordered, no longer missing */
	ADD(4, 6);
	expect(8, 1, 1, 2, 1, 0); /* both seen already */
	ADD(3);
	expect(9, 0, 1, 2, 2, 0);
	ADD(10);
	expect(10, 3, 2, 2, 2, 0);
}

/* A subscriber that joins mid-stream misses nothing before its first
 * message; an earlier one that still arrives is reordered, not a gap
 * filler (missing must not underflow). */
static void test_late_start(void **state)
{
	tn_seq_init(&t);
	ADD(1000, 1001);
	expect(2, 0, 0, 0, 0, 0);
	ADD(999);
	expect(3, 0, 0, 0, 1, 0);
	ADD(999);
	expect(4, 0, 0, 1, 1, 0);
}

/* Older than the window: cannot be told apart, counted late.  A jump
 * longer than the window clears it. */
static void test_window(void **state)
{
	tn_seq_init(&t);
	ADD(0);
	ADD(TN_SEQ_WINDOW + 10);
	expect(2, TN_SEQ_WINDOW + 9, 1, 0, 0, 0);
	ADD(5); /* next - 5 > window */
	expect(3, TN_SEQ_WINDOW + 9, 1, 0, 0, 1);
	ADD(TN_SEQ_WINDOW + 9); /* inside the window: fills a gap */
	expect(4, TN_SEQ_WINDOW + 8, 1, 0, 1, 1);
	ADD(TN_SEQ_WINDOW + 10); /* the jump's own bit survived the clear */
	expect(5, TN_SEQ_WINDOW + 8, 1, 1, 1, 1);
	/* Bits are reused as next moves on: no stale duplicate. */
	for (uint64_t s = TN_SEQ_WINDOW + 11; s < 3 * TN_SEQ_WINDOW; s++)
		tn_seq_add(&t, s);
	assert_int_equal(t.dup, 1);
	assert_int_equal(t.reordered, 1);
}

static void test_restart(void **state)
{
	tn_seq_init(&t);
	ADD(0, 1, 2, 4);
	expect(4, 1, 1, 0, 0, 0);
	tn_seq_restart(&t); /* a new session starts at 0 again */
	ADD(0, 1, 2);
	expect(7, 1, 1, 0, 0, 0);
	ADD(1);
	expect(8, 1, 1, 1, 0, 0);
}

static void test_feed_format(void **state)
{
	uint8_t b[TN_FEED_HDR_LEN + 8];
	struct tn_feed_hdr h = {
		.magic = TN_FEED_MAGIC,
		.version = TN_FEED_VERSION,
		.feed_id = 0x0102,
		.session = 0x03040506,
		.payload_len = 8,
		.seq = 0x1122334455667788ull,
		.send_ns = 0x0a0b0c0d0e0f1011ull,
	}, g;
	static const uint8_t want[TN_FEED_HDR_LEN] = {
		'T', 'F', 'E', 'D', 1, 0, 0x02, 0x01, 0x06, 0x05, 0x04, 0x03, 8, 0, 0, 0,
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
		0x11, 0x10, 0x0f, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a,
	};

	tn_feed_hdr_put(b, &h);
	assert_memory_equal(b, want, sizeof(want));
	tn_feed_fill(b + TN_FEED_HDR_LEN, 8, h.seq, 0);
	assert_int_equal(b[TN_FEED_HDR_LEN], 0x88);
	assert_true(tn_feed_check(b + TN_FEED_HDR_LEN + 3, 5, h.seq, 3));
	assert_true(tn_feed_hdr_get(b, sizeof(b), &g));
	assert_int_equal(g.feed_id, h.feed_id);
	assert_int_equal(g.session, h.session);
	assert_int_equal(g.seq, h.seq);
	assert_int_equal(g.send_ns, h.send_ns);
	/* payload_len must be the rest of the datagram. */
	assert_false(tn_feed_hdr_get(b, sizeof(b) - 1, &g));
	assert_false(tn_feed_hdr_get(b, TN_FEED_HDR_LEN - 1, &g));
	b[4] = 2; /* version */
	assert_false(tn_feed_hdr_get(b, sizeof(b), &g));
	b[4] = 1;
	b[0] = 'X';
	assert_false(tn_feed_hdr_get(b, sizeof(b), &g));
	b[0] = 'T';
	b[TN_FEED_HDR_LEN + 2] ^= 1;
	assert_false(tn_feed_check(b + TN_FEED_HDR_LEN, 8, h.seq, 0));
}

static void test_game_format(void **state)
{
	uint8_t b[TN_GAME_SNAP_HDR + 2 * TN_GAME_ENT_LEN];
	struct tn_game_input in = {.seq = 7, .client_ns = 99, .dx = -3, .dy = 16, .flags = 1}, gi;
	struct tn_game_snap s = {.ack = 7, .tick = 1234, .server_ns = 5, .you = 3, .n = 2,
				 .clients = 2}, gs;
	struct tn_game_ent e = {3, 100, 200}, ge;

	tn_game_input_put(b, &in);
	assert_memory_equal(b, "TGIN", 4);
	assert_int_equal(b[16], 0xfd); /* dx -3, little-endian */
	assert_int_equal(b[17], 0xff);
	assert_true(tn_game_input_get(b, TN_GAME_IN_LEN, &gi));
	assert_int_equal(gi.seq, 7);
	assert_int_equal(gi.dx, -3);
	assert_int_equal(gi.dy, 16);
	assert_int_equal(gi.flags, 1);
	assert_false(tn_game_input_get(b, TN_GAME_IN_LEN + 1, &gi));

	tn_game_snap_put(b, &s);
	tn_game_ent_put(b + TN_GAME_SNAP_HDR, &e);
	tn_game_ent_put(b + TN_GAME_SNAP_HDR + TN_GAME_ENT_LEN, &e);
	assert_memory_equal(b, "TGSN", 4);
	assert_true(tn_game_snap_get(b, sizeof(b), &gs));
	assert_int_equal(gs.tick, 1234);
	assert_int_equal(gs.ack, 7);
	assert_int_equal(gs.n, 2);
	tn_game_ent_get(b + TN_GAME_SNAP_HDR, &ge);
	assert_int_equal(ge.x, 100);
	assert_int_equal(ge.y, 200);
	/* n must match the length, and stay within the view bound. */
	assert_false(tn_game_snap_get(b, sizeof(b) - TN_GAME_ENT_LEN, &gs));
	s.n = TN_GAME_MAX_VIEW + 1;
	tn_game_snap_put(b, &s);
	assert_false(tn_game_snap_get(b, TN_GAME_SNAP_HDR + s.n * TN_GAME_ENT_LEN, &gs));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_gap_then_fill),
		cmocka_unit_test(test_late_start),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_feed_format),
		cmocka_unit_test(test_game_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
