/* sockperf's UDP message format, as its server (sockperf 3.x) reads and
 * answers it, for tern-echo --sockperf.
 *
 * Every message starts with a 14-byte header, all fields big-endian and
 * packed:
 *
 *     offset 0  u64 sequence number (the client counts from 1)
 *     offset 8  u16 flags: 1 client (cleared by a server), 2 pong
 *                   request (answer this one), 4 warm-up
 *     offset 10 u32 length of the whole message, header included
 *
 * followed by length - 14 bytes of payload.  sockperf's server ignores a
 * message without the client flag (another server's) and a warm-up
 * message, and answers a pong request with the same bytes, the client
 * flag cleared: sequence, other flags, length and payload unchanged.
 * ping-pong marks every message as a pong request, under-load every
 * --reply-every'th, throughput none.  sockperf's client ignores a reply
 * that still carries the client flag, which is why a plain echo server
 * cannot serve it.
 *
 * One difference, on purpose: sockperf parses UDP with its stream code,
 * so a datagram holding several messages, or part of one, is buffered
 * and split.  Its clients send exactly one message per datagram, so here
 * a datagram is a message only when it is at least 14 bytes long and its
 * length field equals its size; anything else is bad and dropped. */
#ifndef TN_SOCKPERF_MSG_H
#define TN_SOCKPERF_MSG_H

#include <stdint.h>

#define TN_SP_HDR_LEN 14
#define TN_SP_FLAGS_OFF 8
#define TN_SP_LEN_OFF 10
#define TN_SP_CLIENT 0x1u
#define TN_SP_PONG 0x2u
#define TN_SP_WARMUP 0x4u
/* The client flag lives in the low byte of the big-endian flags. */
#define TN_SP_CLIENT_BYTE (TN_SP_FLAGS_OFF + 1)

enum tn_sp_verdict {
	TN_SP_REPLY,    /* a pong request: answer it (tn_sp_make_reply) */
	TN_SP_QUIET,    /* a message that wants no answer */
	TN_SP_BAD,      /* not a sockperf message: drop and count */
};

static inline uint32_t tn_sp_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* What sockperf's server would do with a datagram of len bytes whose
 * first TN_SP_HDR_LEN bytes are hdr (NULL when len is shorter). */
static inline enum tn_sp_verdict tn_sp_classify(const uint8_t *hdr, uint32_t len)
{
	unsigned flags;

	if (!hdr || len < TN_SP_HDR_LEN || tn_sp_be32(hdr + TN_SP_LEN_OFF) != len)
		return TN_SP_BAD;
	flags = (unsigned)hdr[TN_SP_FLAGS_OFF] << 8 | hdr[TN_SP_FLAGS_OFF + 1];
	if (!(flags & TN_SP_CLIENT) || (flags & TN_SP_WARMUP) || !(flags & TN_SP_PONG))
		return TN_SP_QUIET;
	return TN_SP_REPLY;
}

/* Turns a pong request into its reply: *client_byte is the byte at
 * TN_SP_CLIENT_BYTE of the message. */
static inline void tn_sp_make_reply(uint8_t *client_byte)
{
	*client_byte &= (uint8_t)~TN_SP_CLIENT;
}

#endif
