/* tern-ordergw's message format (apps/ordergw_msg.h): fields at their
 * documented offsets in network byte order, encode/decode round trips,
 * header framing (every bad header refused, short ones asked for more),
 * the validation that turns an order into a rejected ack, and the
 * gateway's answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ordergw_msg.h"

static struct tn_og_order good(void)
{
	struct tn_og_order o = {
		.client_id = 0x0102030405060708ull,
		.symbol = "ACME.L",
		.side = TN_OG_BUY,
		.qty = 0x11223344,
		.price = 1234500,
		.send_ns = 0xa1a2a3a4a5a6a7a8ull,
	};
	return o;
}

static void test_order_layout(void **state)
{
	struct tn_og_order o = good(), back;
	uint8_t b[TN_OG_ORDER_LEN];
	uint8_t type;
	uint16_t len;

	(void)state;
	tn_og_order_encode(b, &o);
	/* The header: magic "OG", version, type, length 48, flags. */
	assert_int_equal(b[0], 0x4f);
	assert_int_equal(b[1], 0x47);
	assert_int_equal(b[2], 1);
	assert_int_equal(b[3], TN_OG_NEW_ORDER);
	assert_int_equal(b[4], 0);
	assert_int_equal(b[5], 48);
	assert_int_equal(b[6] | b[7], 0);
	/* Big-endian fields at their offsets. */
	assert_int_equal(b[8], 0x01);
	assert_int_equal(b[15], 0x08);
	assert_memory_equal(b + 16, "ACME.L\0\0", 8);
	assert_int_equal(b[24], TN_OG_BUY);
	assert_int_equal(b[28], 0x11);
	assert_int_equal(b[31], 0x44);
	assert_int_equal(b[39], 1234500 & 0xff);
	assert_int_equal(b[40], 0xa1);
	assert_int_equal(b[47], 0xa8);
	assert_int_equal(tn_og_hdr_check(b, sizeof(b), &type, &len), TN_OG_FRAME_OK);
	assert_int_equal(type, TN_OG_NEW_ORDER);
	assert_int_equal(len, TN_OG_ORDER_LEN);
	tn_og_order_decode(b, &back);
	assert_memory_equal(&back, &o, sizeof(o));
	assert_int_equal(tn_og_order_validate(&back), TN_OG_OK);
}

static void test_ack_layout(void **state)
{
	struct tn_og_order o = good();
	struct tn_og_ack a, back;
	uint8_t b[TN_OG_ACK_LEN];
	uint8_t type;
	uint16_t len;

	(void)state;
	tn_og_answer(&o, 77, &a);
	assert_int_equal(a.status, TN_OG_ACCEPTED);
	assert_int_equal(a.reason, TN_OG_OK);
	assert_int_equal(a.order_id, 77);
	assert_int_equal(a.client_id, o.client_id);
	assert_int_equal(a.send_ns, o.send_ns);
	assert_int_equal(a.qty, o.qty);
	tn_og_ack_encode(b, &a);
	assert_int_equal(b[3], TN_OG_ACK);
	assert_int_equal(b[5], 40);
	assert_int_equal(b[15], 77);
	assert_int_equal(b[16], 0x01);
	assert_int_equal(b[24], 0xa1);
	assert_int_equal(b[32], TN_OG_ACCEPTED);
	assert_int_equal(b[36], 0x11);
	assert_int_equal(tn_og_hdr_check(b, sizeof(b), &type, &len), TN_OG_FRAME_OK);
	assert_int_equal(type, TN_OG_ACK);
	assert_int_equal(len, TN_OG_ACK_LEN);
	assert_true(tn_og_ack_decode(b, &back));
	assert_int_equal(back.order_id, 77);
	assert_int_equal(back.client_id, o.client_id);
	assert_int_equal(back.send_ns, o.send_ns);
	assert_int_equal(back.qty, o.qty);
	b[32] = 3; /* not a status */
	assert_false(tn_og_ack_decode(b, &back));
	b[32] = TN_OG_ACCEPTED;
	b[35] = 1; /* reserved */
	assert_false(tn_og_ack_decode(b, &back));
}

static void test_framing(void **state)
{
	struct tn_og_order o = good();
	uint8_t b[TN_OG_ORDER_LEN], c[TN_OG_ORDER_LEN];
	uint8_t type;
	uint16_t len;

	(void)state;
	tn_og_order_encode(b, &o);
	for (size_t n = 0; n < TN_OG_HDR_LEN; n++)
		assert_int_equal(tn_og_hdr_check(b, n, &type, &len), TN_OG_FRAME_SHORT);
	for (size_t n = TN_OG_HDR_LEN; n <= sizeof(b); n++)
		assert_int_equal(tn_og_hdr_check(b, n, &type, &len), TN_OG_FRAME_OK);
#define BAD(off, val, want)                                                              \
	do {                                                                             \
		memcpy(c, b, sizeof(c));                                                 \
		c[off] = (uint8_t)(val);                                                 \
		assert_int_equal(tn_og_hdr_check(c, sizeof(c), &type, &len), want);      \
	} while (0)
	BAD(0, 0x47, TN_OG_FRAME_BAD_MAGIC);
	BAD(1, 0x4f, TN_OG_FRAME_BAD_MAGIC);
	BAD(2, 2, TN_OG_FRAME_BAD_VERSION);
	BAD(3, 0, TN_OG_FRAME_BAD_TYPE);
	BAD(3, 3, TN_OG_FRAME_BAD_TYPE);
	BAD(5, 47, TN_OG_FRAME_BAD_LENGTH);
	BAD(5, 40, TN_OG_FRAME_BAD_LENGTH); /* an ack's length on an order */
	BAD(4, 1, TN_OG_FRAME_BAD_LENGTH);
	BAD(7, 1, TN_OG_FRAME_BAD_FLAGS);
	/* Every single-bit flip of the header is caught or harmless. */
	for (unsigned bit = 0; bit < 64; bit++) {
		enum tn_og_frame f;

		memcpy(c, b, sizeof(c));
		c[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		f = tn_og_hdr_check(c, sizeof(c), &type, &len);
		if (f == TN_OG_FRAME_OK)
			/* Only order <-> ack type flips with the other's
			 * length could pass; a single flip cannot do both. */
			fail_msg("bit %u flipped still frames", bit);
	}
}

static void test_validation(void **state)
{
	struct tn_og_order o;
	struct tn_og_ack a;

	(void)state;
#define REJECT(field_change, want)                                                       \
	do {                                                                             \
		o = good();                                                              \
		field_change;                                                            \
		assert_int_equal(tn_og_order_validate(&o), want);                        \
		tn_og_answer(&o, 5, &a);                                                 \
		assert_int_equal(a.status, TN_OG_REJECTED);                              \
		assert_int_equal(a.reason, want);                                        \
		assert_int_equal(a.order_id, 0);                                         \
		assert_int_equal(a.client_id, o.client_id);                              \
	} while (0)
	REJECT(o.side = 0, TN_OG_BAD_SIDE);
	REJECT(o.side = 3, TN_OG_BAD_SIDE);
	REJECT(o.qty = 0, TN_OG_BAD_QTY);
	REJECT(o.qty = TN_OG_QTY_MAX + 1, TN_OG_BAD_QTY);
	REJECT(o.price = 0, TN_OG_BAD_PRICE);
	REJECT(o.price = -1, TN_OG_BAD_PRICE);
	REJECT(memset(o.symbol, 0, sizeof(o.symbol)), TN_OG_BAD_SYMBOL);
	REJECT(o.symbol[0] = 'a', TN_OG_BAD_SYMBOL);
	REJECT(o.symbol[6] = ' ', TN_OG_BAD_SYMBOL);
	REJECT(o.symbol[7] = 'X', TN_OG_BAD_SYMBOL); /* a character after the padding */
	REJECT(o.reserved[1] = 1, TN_OG_BAD_RESERVED);
	o = good();
	o.side = TN_OG_SELL;
	o.qty = TN_OG_QTY_MAX;
	memcpy(o.symbol, "ABCDEFGH", 8); /* all eight used, no padding */
	assert_int_equal(tn_og_order_validate(&o), TN_OG_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_layout),
		cmocka_unit_test(test_ack_layout),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_validation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
