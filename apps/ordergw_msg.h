/* tern-ordergw's wire format: fixed-size binary messages over TCP, every
 * field in network byte order.  Pure (no DPDK, no Tern): the unit test
 * and the Python test client (tests/dp_ordergw.py) read the same
 * layout.
 *
 * Every message starts with an 8-byte header whose length field is the
 * whole message's, so a reader frames the stream without knowing the
 * type, and a header that is not ours is found before its body is
 * awaited:
 *
 *   0  u16 magic    0x4f47 ("OG")
 *   2  u8  version  1
 *   3  u8  type     1: new order (client -> gateway), 2: ack (back)
 *   4  u16 length   the whole message, header included (48 or 40)
 *   6  u16 flags    0 (reserved)
 *
 * New order (48 bytes):
 *   8  u64 client order id   the client's, echoed in the ack
 *  16  8 x char symbol       ASCII A-Z 0-9 . -, left-aligned, NUL padded
 *  24  u8  side              1 buy, 2 sell
 *  25  3 x u8 reserved       0
 *  28  u32 qty               1 .. 1,000,000,000
 *  32  i64 price             in 1e-4 units, > 0
 *  40  u64 send_ns           the client's time; the gateway echoes it
 *
 * Ack (40 bytes):
 *   8  u64 order id          assigned by the gateway (0 when rejected)
 *  16  u64 client order id   echoed
 *  24  u64 send_ns           echoed
 *  32  u8  status            1 accepted, 2 rejected
 *  33  u8  reason            enum tn_og_reason (0 when accepted)
 *  34  u16 reserved          0
 *  36  u32 qty               echoed
 *
 * Two kinds of bad input, treated differently: a message that cannot
 * be framed or is not ours (magic, version, type, length, reserved
 * header bits) leaves the stream unusable, so the gateway counts it
 * and closes the connection; a well-framed order with bad fields
 * (side, quantity, price, symbol, reserved bytes) is answered with a
 * rejected ack and the connection goes on. */
#ifndef TN_ORDERGW_MSG_H
#define TN_ORDERGW_MSG_H

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TN_OG_MAGIC 0x4f47
#define TN_OG_VERSION 1
#define TN_OG_HDR_LEN 8
#define TN_OG_ORDER_LEN 48
#define TN_OG_ACK_LEN 40
#define TN_OG_SYMBOL_LEN 8
#define TN_OG_QTY_MAX 1000000000u

enum tn_og_type { TN_OG_NEW_ORDER = 1, TN_OG_ACK = 2 };
enum tn_og_side { TN_OG_BUY = 1, TN_OG_SELL = 2 };
enum tn_og_status { TN_OG_ACCEPTED = 1, TN_OG_REJECTED = 2 };

/* Why an order was rejected (the ack's reason byte). */
enum tn_og_reason {
	TN_OG_OK = 0,
	TN_OG_BAD_SIDE,
	TN_OG_BAD_QTY,
	TN_OG_BAD_PRICE,
	TN_OG_BAD_SYMBOL,
	TN_OG_BAD_RESERVED,
};

/* What tn_og_hdr_check says about the first bytes of a stream. */
enum tn_og_frame {
	TN_OG_FRAME_OK = 0,    /* a whole header of a known message */
	TN_OG_FRAME_SHORT,     /* fewer than TN_OG_HDR_LEN bytes: read on */
	TN_OG_FRAME_BAD_MAGIC,
	TN_OG_FRAME_BAD_VERSION,
	TN_OG_FRAME_BAD_TYPE,
	TN_OG_FRAME_BAD_LENGTH, /* not the type's length */
	TN_OG_FRAME_BAD_FLAGS,
};

/* The wire layouts, for the size and offset checks below; the
 * functions read and write bytes, so alignment never matters. */
struct tn_og_hdr_wire {
	uint16_t magic;
	uint8_t version;
	uint8_t type;
	uint16_t length;
	uint16_t flags;
} __attribute__((packed));

struct tn_og_order_wire {
	struct tn_og_hdr_wire h;
	uint64_t client_id;
	char symbol[TN_OG_SYMBOL_LEN];
	uint8_t side;
	uint8_t reserved[3];
	uint32_t qty;
	int64_t price;
	uint64_t send_ns;
} __attribute__((packed));

struct tn_og_ack_wire {
	struct tn_og_hdr_wire h;
	uint64_t order_id;
	uint64_t client_id;
	uint64_t send_ns;
	uint8_t status;
	uint8_t reason;
	uint16_t reserved;
	uint32_t qty;
} __attribute__((packed));

_Static_assert(sizeof(struct tn_og_hdr_wire) == TN_OG_HDR_LEN, "header is 8 bytes");
_Static_assert(sizeof(struct tn_og_order_wire) == TN_OG_ORDER_LEN, "order is 48 bytes");
_Static_assert(sizeof(struct tn_og_ack_wire) == TN_OG_ACK_LEN, "ack is 40 bytes");
_Static_assert(offsetof(struct tn_og_order_wire, symbol) == 16, "symbol at 16");
_Static_assert(offsetof(struct tn_og_order_wire, qty) == 28, "qty at 28");
_Static_assert(offsetof(struct tn_og_order_wire, price) == 32, "price at 32");
_Static_assert(offsetof(struct tn_og_order_wire, send_ns) == 40, "send_ns at 40");
_Static_assert(offsetof(struct tn_og_ack_wire, status) == 32, "status at 32");
_Static_assert(offsetof(struct tn_og_ack_wire, qty) == 36, "ack qty at 36");

/* Host-order views. */
struct tn_og_order {
	uint64_t client_id;
	char symbol[TN_OG_SYMBOL_LEN];
	uint8_t side;
	uint8_t reserved[3];
	uint32_t qty;
	int64_t price;
	uint64_t send_ns;
};

struct tn_og_ack {
	uint64_t order_id;
	uint64_t client_id;
	uint64_t send_ns;
	uint8_t status;
	uint8_t reason;
	uint32_t qty;
};

static inline void tn_og_hdr_put(struct tn_og_hdr_wire *h, uint8_t type, uint16_t length)
{
	h->magic = htobe16(TN_OG_MAGIC);
	h->version = TN_OG_VERSION;
	h->type = type;
	h->length = htobe16(length);
	h->flags = 0;
}

/* Checks the header at p (avail bytes there); on TN_OG_FRAME_OK *len is
 * the whole message's length and *type its type. */
static inline enum tn_og_frame tn_og_hdr_check(const void *p, size_t avail, uint8_t *type,
					       uint16_t *len)
{
	struct tn_og_hdr_wire h;
	uint16_t want;

	if (avail < TN_OG_HDR_LEN)
		return TN_OG_FRAME_SHORT;
	memcpy(&h, p, sizeof(h));
	if (be16toh(h.magic) != TN_OG_MAGIC)
		return TN_OG_FRAME_BAD_MAGIC;
	if (h.version != TN_OG_VERSION)
		return TN_OG_FRAME_BAD_VERSION;
	if (h.type == TN_OG_NEW_ORDER)
		want = TN_OG_ORDER_LEN;
	else if (h.type == TN_OG_ACK)
		want = TN_OG_ACK_LEN;
	else
		return TN_OG_FRAME_BAD_TYPE;
	if (be16toh(h.length) != want)
		return TN_OG_FRAME_BAD_LENGTH;
	if (h.flags)
		return TN_OG_FRAME_BAD_FLAGS;
	*type = h.type;
	*len = want;
	return TN_OG_FRAME_OK;
}

/* Writes o as a new-order message into p (TN_OG_ORDER_LEN bytes). */
static inline void tn_og_order_encode(void *p, const struct tn_og_order *o)
{
	struct tn_og_order_wire w;

	tn_og_hdr_put(&w.h, TN_OG_NEW_ORDER, TN_OG_ORDER_LEN);
	w.client_id = htobe64(o->client_id);
	memcpy(w.symbol, o->symbol, TN_OG_SYMBOL_LEN);
	w.side = o->side;
	memcpy(w.reserved, o->reserved, sizeof(w.reserved));
	w.qty = htobe32(o->qty);
	w.price = (int64_t)htobe64((uint64_t)o->price);
	w.send_ns = htobe64(o->send_ns);
	memcpy(p, &w, sizeof(w));
}

/* Reads the body of a new-order message whose header passed
 * tn_og_hdr_check (TN_OG_ORDER_LEN bytes at p). */
static inline void tn_og_order_decode(const void *p, struct tn_og_order *o)
{
	struct tn_og_order_wire w;

	memcpy(&w, p, sizeof(w));
	o->client_id = be64toh(w.client_id);
	memcpy(o->symbol, w.symbol, TN_OG_SYMBOL_LEN);
	o->side = w.side;
	memcpy(o->reserved, w.reserved, sizeof(o->reserved));
	o->qty = be32toh(w.qty);
	o->price = (int64_t)be64toh((uint64_t)w.price);
	o->send_ns = be64toh(w.send_ns);
}

static inline bool tn_og_symbol_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* TN_OG_OK, or why the gateway rejects o. */
static inline enum tn_og_reason tn_og_order_validate(const struct tn_og_order *o)
{
	unsigned i = 0;

	if (o->side != TN_OG_BUY && o->side != TN_OG_SELL)
		return TN_OG_BAD_SIDE;
	if (o->qty == 0 || o->qty > TN_OG_QTY_MAX)
		return TN_OG_BAD_QTY;
	if (o->price <= 0)
		return TN_OG_BAD_PRICE;
	/* At least one character, then NUL padding only. */
	while (i < TN_OG_SYMBOL_LEN && tn_og_symbol_char(o->symbol[i]))
		i++;
	if (i == 0)
		return TN_OG_BAD_SYMBOL;
	for (; i < TN_OG_SYMBOL_LEN; i++)
		if (o->symbol[i] != '\0')
			return TN_OG_BAD_SYMBOL;
	if (o->reserved[0] | o->reserved[1] | o->reserved[2])
		return TN_OG_BAD_RESERVED;
	return TN_OG_OK;
}

static inline void tn_og_ack_encode(void *p, const struct tn_og_ack *a)
{
	struct tn_og_ack_wire w;

	tn_og_hdr_put(&w.h, TN_OG_ACK, TN_OG_ACK_LEN);
	w.order_id = htobe64(a->order_id);
	w.client_id = htobe64(a->client_id);
	w.send_ns = htobe64(a->send_ns);
	w.status = a->status;
	w.reason = a->reason;
	w.reserved = 0;
	w.qty = htobe32(a->qty);
	memcpy(p, &w, sizeof(w));
}

/* Reads an ack whose header passed tn_og_hdr_check.  false when its
 * status or reserved field is not one we send. */
static inline bool tn_og_ack_decode(const void *p, struct tn_og_ack *a)
{
	struct tn_og_ack_wire w;

	memcpy(&w, p, sizeof(w));
	a->order_id = be64toh(w.order_id);
	a->client_id = be64toh(w.client_id);
	a->send_ns = be64toh(w.send_ns);
	a->status = w.status;
	a->reason = w.reason;
	a->qty = be32toh(w.qty);
	return (w.status == TN_OG_ACCEPTED || w.status == TN_OG_REJECTED) && w.reserved == 0;
}

/* The gateway's answer to a framed order: accepted with the next order
 * id, or rejected with the reason. */
static inline void tn_og_answer(const struct tn_og_order *o, uint64_t order_id,
				struct tn_og_ack *a)
{
	enum tn_og_reason r = tn_og_order_validate(o);

	a->order_id = r == TN_OG_OK ? order_id : 0;
	a->client_id = o->client_id;
	a->send_ns = o->send_ns;
	a->status = r == TN_OG_OK ? TN_OG_ACCEPTED : TN_OG_REJECTED;
	a->reason = (uint8_t)r;
	a->qty = o->qty;
}

#endif
