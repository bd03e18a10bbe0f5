/* The tern-game messages (apps/tern_game.c; tests/dp_game.py speaks them
 * from a kernel socket).  Every field is little-endian; times are
 * CLOCK_MONOTONIC in ns, as in feed_msg.h (tn_feed_clock_ns), so a client
 * on the same machine can tell how old a snapshot is.
 *
 * Input, client -> server, 24 bytes, one per client tick:
 *
 *    0  magic      u32  0x4e494754 ("TGIN")
 *    4  seq        u32  1, 2, ... per client; the server applies only
 *                       newer ones and acks the highest
 *    8  client_ns  u64  when the client sent it
 *   16  dx, dy     i16  movement (the server clamps each to +-16)
 *   20  flags      u32  bit 0: leaving (the server drops the client now)
 *
 * Snapshot, server -> each client, every tick, 32 + 8 * n bytes:
 *
 *    0  magic      u32  0x4e534754 ("TGSN")
 *    4  ack        u32  the highest input seq applied for this client
 *    8  tick       u64  the tick number (1, 2, ...; consecutive)
 *   16  server_ns  u64  when the server sent it
 *   24  you        u16  this client's entity id
 *   26  n          u16  entities that follow (at most the server's --view)
 *   28  clients    u32  clients the server holds
 *   32  n entities of 8 bytes: id u16, x u16, y u16, pad u16 (0); the
 *       client's own entity first, then others in its and the eight
 *       neighbouring grid cells
 */
#ifndef TN_GAME_MSG_H
#define TN_GAME_MSG_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define TN_GAME_IN_MAGIC 0x4e494754u
#define TN_GAME_SNAP_MAGIC 0x4e534754u
#define TN_GAME_IN_LEN 24
#define TN_GAME_SNAP_HDR 32
#define TN_GAME_ENT_LEN 8
#define TN_GAME_MAX_VIEW 128 /* entities per snapshot: 1,056 bytes, one frame */
#define TN_GAME_IN_LEAVE 1u
#define TN_GAME_MAX_STEP 16

struct tn_game_input {
	uint32_t seq;
	uint64_t client_ns;
	int16_t dx, dy;
	uint32_t flags;
};

struct tn_game_snap {
	uint32_t ack;
	uint64_t tick;
	uint64_t server_ns;
	uint16_t you, n;
	uint32_t clients;
};

struct tn_game_ent {
	uint16_t id, x, y;
};

static inline void tn__put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static inline void tn__put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static inline void tn__put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static inline uint16_t tn__get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

static inline uint32_t tn__get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static inline uint64_t tn__get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static inline void tn_game_input_put(uint8_t *p, const struct tn_game_input *in)
{
	tn__put32(p, TN_GAME_IN_MAGIC);
	tn__put32(p + 4, in->seq);
	tn__put64(p + 8, in->client_ns);
	tn__put16(p + 16, (uint16_t)in->dx);
	tn__put16(p + 18, (uint16_t)in->dy);
	tn__put32(p + 20, in->flags);
}

/* false: not an input (length or magic). */
static inline bool tn_game_input_get(const uint8_t *p, uint32_t len, struct tn_game_input *in)
{
	if (len != TN_GAME_IN_LEN || tn__get32(p) != TN_GAME_IN_MAGIC)
		return false;
	in->seq = tn__get32(p + 4);
	in->client_ns = tn__get64(p + 8);
	in->dx = (int16_t)tn__get16(p + 16);
	in->dy = (int16_t)tn__get16(p + 18);
	in->flags = tn__get32(p + 20);
	return true;
}

static inline void tn_game_snap_put(uint8_t *p, const struct tn_game_snap *s)
{
	tn__put32(p, TN_GAME_SNAP_MAGIC);
	tn__put32(p + 4, s->ack);
	tn__put64(p + 8, s->tick);
	tn__put64(p + 16, s->server_ns);
	tn__put16(p + 24, s->you);
	tn__put16(p + 26, s->n);
	tn__put32(p + 28, s->clients);
}

static inline void tn_game_ent_put(uint8_t *p, const struct tn_game_ent *e)
{
	tn__put16(p, e->id);
	tn__put16(p + 2, e->x);
	tn__put16(p + 4, e->y);
	tn__put16(p + 6, 0);
}

/* The header of a snapshot of len bytes; false when it is not one
 * (short, magic, or n that does not match the length). */
static inline bool tn_game_snap_get(const uint8_t *p, uint32_t len, struct tn_game_snap *s)
{
	if (len < TN_GAME_SNAP_HDR || tn__get32(p) != TN_GAME_SNAP_MAGIC)
		return false;
	s->ack = tn__get32(p + 4);
	s->tick = tn__get64(p + 8);
	s->server_ns = tn__get64(p + 16);
	s->you = tn__get16(p + 24);
	s->n = tn__get16(p + 26);
	s->clients = tn__get32(p + 28);
	return s->n <= TN_GAME_MAX_VIEW && len == TN_GAME_SNAP_HDR + (uint32_t)s->n * TN_GAME_ENT_LEN;
}

static inline void tn_game_ent_get(const uint8_t *p, struct tn_game_ent *e)
{
	e->id = tn__get16(p);
	e->x = tn__get16(p + 2);
	e->y = tn__get16(p + 4);
}

#endif
