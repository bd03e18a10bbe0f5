/* Initial sequence numbers (RFC 6528) and SYN cookies (RFC 4987).
 *
 * ISN = M + F(4-tuple, secret): M a 4 us clock (the stack's now), F a
 * SipHash-2-4 of the addresses and ports under a key drawn from the
 * stack's seed at create, so two stacks with the same seed and virtual
 * clock pick the same numbers and tests are deterministic, while the
 * numbers differ per tuple and cannot be predicted without the key.
 *
 * A SYN cookie is an ISN that encodes what we must remember about a SYN
 * we did not keep: Linux's scheme, a keyed hash of the tuple plus the
 * peer's ISN plus a minute counter in the top 8 bits plus a second hash
 * of tuple and counter plus the MSS index in the low 24 bits.  It is
 * valid for two minutes.  Window scale and SACK permitted travel in the
 * low bits of our timestamp (see tcp_input.c), so only SYNs without
 * timestamps lose them. */
#include <string.h>

#include "tn_tcp.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                  \
	do {                                                                      \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);          \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                             \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                             \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);          \
	} while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return rte_le_to_cpu_64(v);
}

uint64_t tn__siphash24(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t k = 0; k < left; k++)
		b |= (uint64_t)in[i + k] << (8 * k);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

void tn__tcp_isn_init(struct tn_stack *s)
{
	static const uint8_t zero[16];
	uint64_t r[6] = { tn__stack_rand(s), tn__stack_rand(s), tn__stack_rand(s),
			  tn__stack_rand(s), tn__stack_rand(s), tn__stack_rand(s) };

	memcpy(s->tcp->isn_key, r, 16);
	memcpy(s->tcp->cookie_key, r + 2, 16);
	if (memcmp(s->cfg.ts_key, zero, 16) != 0)
		memcpy(s->tcp->ts_key, s->cfg.ts_key, 16);
	else
		memcpy(s->tcp->ts_key, r + 4, 16);
}

struct tuple {
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	uint32_t extra;
};

static uint32_t hash_tuple(const uint8_t key[16], uint32_t laddr, uint16_t lport, uint32_t raddr,
			   uint16_t rport, uint32_t extra)
{
	struct tuple t = { laddr, raddr, lport, rport, extra };

	return (uint32_t)tn__siphash24(key, &t, sizeof(t));
}

uint32_t tn__tcp_isn(struct tn_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
		     uint16_t rport)
{
	return hash_tuple(s->tcp->isn_key, laddr, lport, raddr, rport, 0) +
	       (uint32_t)(s->now / 4000);
}

/* A per-connection offset, so timestamps say nothing of our clock (RFC
 * 7323 7.1); from the tuple alone, so SYN cookies find it again. */
uint32_t tn__tcp_ts_offset(const struct tn_stack *s, uint32_t laddr, uint16_t lport,
			   uint32_t raddr, uint16_t rport)
{
	return hash_tuple(s->tcp->ts_key, laddr, lport, raddr, rport, 0);
}

#define COOKIE_BITS 24
#define COOKIE_MASK ((1u << COOKIE_BITS) - 1)
#define COOKIE_MINUTE (60ull * 1000000000)
#define COOKIE_MAX_AGE 2

/* The segment is the SYN (make) or the ACK (check): we are its dst. */
uint32_t tn__tcp_cookie_make(struct tn_stack *s, const struct tn__tcp_seg *g, unsigned mss_idx)
{
	uint32_t count = (uint32_t)(s->now / COOKIE_MINUTE);
	const uint8_t *k = s->tcp->cookie_key;

	return hash_tuple(k, g->dst, g->dport, g->src, g->sport, 0) + g->seq +
	       (count << COOKIE_BITS) +
	       ((hash_tuple(k, g->dst, g->dport, g->src, g->sport, count | 1u << 31) + mss_idx) &
		COOKIE_MASK);
}

int tn__tcp_cookie_check(struct tn_stack *s, const struct tn__tcp_seg *g, uint32_t cookie)
{
	uint32_t count = (uint32_t)(s->now / COOKIE_MINUTE), made, v, diff;
	const uint8_t *k = s->tcp->cookie_key;
	uint32_t sseq = g->seq - 1;

	v = cookie - hash_tuple(k, g->dst, g->dport, g->src, g->sport, 0) - sseq;
	made = v >> COOKIE_BITS;
	diff = (count - made) & (0xffffffffu >> COOKIE_BITS);
	if (diff >= COOKIE_MAX_AGE)
		return -1;
	made = count - diff;
	v = (v - hash_tuple(k, g->dst, g->dport, g->src, g->sport, made | 1u << 31)) & COOKIE_MASK;
	return v < 8 ? (int)v : -1;
}
