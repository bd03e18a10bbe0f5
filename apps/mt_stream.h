/* A seeded byte stream that Python reproduces with the standard library:
 * the bytes of random.Random(seed).randbytes(n) (MT19937, seeded as
 * CPython seeds it from an int below 2^32: init_by_array with one key
 * word), in any chunk sizes.  tern-echo's TCP bulk client sends it and
 * checks the echo against a second copy; the tests' kernel side
 * (tests/dp_net.py) checks what it received against its own.  Not for
 * anything but tests: MT19937 is neither fast nor secure. */
#ifndef TN_MT_STREAM_H
#define TN_MT_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define MT_N 624
#define MT_M 397

struct mt_stream {
	uint32_t mt[MT_N];
	unsigned i;    /* next word of mt[] */
	uint32_t word; /* the word being handed out, */
	unsigned left; /* and how many of its bytes are left */
};

static inline void mt_stream_init(struct mt_stream *s, uint32_t seed)
{
	uint32_t *mt = s->mt;
	unsigned i = 1, k;

	/* init_genrand(19650218), then init_by_array({seed}, 1). */
	mt[0] = 19650218u;
	for (k = 1; k < MT_N; k++)
		mt[k] = 1812433253u * (mt[k - 1] ^ (mt[k - 1] >> 30)) + k;
	for (k = MT_N; k; k--) {
		mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + seed;
		if (++i >= MT_N) {
			mt[0] = mt[MT_N - 1];
			i = 1;
		}
	}
	for (k = MT_N - 1; k; k--) {
		mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - i;
		if (++i >= MT_N) {
			mt[0] = mt[MT_N - 1];
			i = 1;
		}
	}
	mt[0] = 0x80000000u;
	s->i = MT_N;
	s->left = 0;
}

static inline uint32_t mt_stream_next32(struct mt_stream *s)
{
	uint32_t y;

	if (s->i >= MT_N) {
		for (unsigned k = 0; k < MT_N; k++) {
			y = (s->mt[k] & 0x80000000u) | (s->mt[(k + 1) % MT_N] & 0x7fffffffu);
			s->mt[k] = s->mt[(k + MT_M) % MT_N] ^ (y >> 1) ^ ((y & 1) ? 0x9908b0dfu : 0);
		}
		s->i = 0;
	}
	y = s->mt[s->i++];
	y ^= y >> 11;
	y ^= (y << 7) & 0x9d2c5680u;
	y ^= (y << 15) & 0xefc60000u;
	return y ^ (y >> 18);
}

/* The next len bytes of the stream: each word little-endian, as
 * randbytes lays them out. */
static inline void mt_stream_fill(struct mt_stream *s, uint8_t *p, size_t len)
{
	while (len) {
		if (!s->left) {
			if (len >= 4) {
				uint32_t w = mt_stream_next32(s);

				p[0] = (uint8_t)w;
				p[1] = (uint8_t)(w >> 8);
				p[2] = (uint8_t)(w >> 16);
				p[3] = (uint8_t)(w >> 24);
				p += 4;
				len -= 4;
				continue;
			}
			s->word = mt_stream_next32(s);
			s->left = 4;
		}
		*p++ = (uint8_t)(s->word >> (8 * (4 - s->left)));
		s->left--;
		len--;
	}
}

#endif
