/* tern-echo's request payload, shared by its UDP and TCP clients: after
 * the stamp, byte i of request seq is seq * 131 + i * 7 (mod 256).  As
 * 183 is 7's inverse mod 256, that is 7 * (t + i) with t = seq * 131 *
 * 183: a copy from (or a comparison with) a pattern at offset t, not a
 * loop per byte, which costs ~10 instructions a byte on the round
 * trip's path (for the TCP client's 64-byte requests ~400 to build a
 * request and as many to check its reply; callgrind). */
#ifndef ECHO_PATTERN_H
#define ECHO_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A pattern for payloads of up to n bytes (stamp included) is n + 256
 * bytes long. */
#define ECHO_PATTERN_LEN(n) ((size_t)(n) + 256)

/* pat[j] = 7 * j (mod 256), j < len. */
static inline void echo_pattern_init(uint8_t *pat, size_t len)
{
	for (size_t j = 0; j < len; j++)
		pat[j] = (uint8_t)(j * 7);
}

/* Where request seq's byte from (the first after its stamp) is in the
 * pattern; the bytes after it follow. */
static inline const uint8_t *echo_pattern_at(const uint8_t *pat, uint64_t seq, unsigned from)
{
	return pat + (uint8_t)(seq * 131 * 183) + from;
}

/* Request seq's payload of size bytes, but for its first from (the
 * stamp), into p. */
static inline void echo_pattern_fill(const uint8_t *pat, uint8_t *p, size_t size, uint64_t seq,
				     unsigned from)
{
	if (size > from)
		memcpy(p + from, echo_pattern_at(pat, seq, from), size - from);
}

/* Whether p holds request seq's payload of size bytes after its first
 * from. */
static inline bool echo_pattern_ok(const uint8_t *pat, const uint8_t *p, size_t size,
				   uint64_t seq, unsigned from)
{
	return size <= from || memcmp(p + from, echo_pattern_at(pat, seq, from), size - from) == 0;
}

#endif
