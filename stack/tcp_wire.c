/* The TCP option parser (RFC 9293 3.2, RFC 7323, RFC 2018).  Like the
 * other parsers in wire.c: bytes in, a verdict and fields out, no state.
 *
 * Options are read by their TLV lengths; a length below 2 or past the
 * header drops the segment (it is how parsers get tricked into loops and
 * over-reads).  A known option with the wrong length is ignored, as
 * Linux does, not fatal.  SYN-only options (MSS, window scale, SACK
 * permitted) are taken only from a SYN. */
#include <errno.h>
#include <string.h>

#include "tn_tcp.h"

enum {
	OPT_EOL = 0,
	OPT_NOP = 1,
	OPT_MSS = 2,
	OPT_WS = 3,
	OPT_SACK_OK = 4,
	OPT_SACK = 5,
	OPT_TS = 8,
};

static inline uint32_t be32(const uint8_t *p)
{
	rte_be32_t v;

	memcpy(&v, p, sizeof(v));
	return rte_be_to_cpu_32(v);
}

int tn__tcp_parse_opts_all(const uint8_t *o, unsigned len, bool syn, struct tn__tcp_seg *g)
{
	unsigned i = 0;

	g->mss = 0;
	g->ws = 0xff;
	g->sack_ok = false;
	g->has_ts = false;
	g->nsack = 0;
	/* (NOP, NOP, timestamps, nearly every segment's layout, is
	 * tn__tcp_parse_opts's, inline in tn_tcp.h.) */
	while (i < len) {
		uint8_t kind = o[i], olen;

		if (kind == OPT_EOL)
			break;
		if (kind == OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -EINVAL;
		olen = o[i + 1];
		if (olen < 2 || i + olen > len)
			return -EINVAL;
		switch (kind) {
		case OPT_MSS:
			if (olen == 4 && syn)
				g->mss = (uint16_t)(o[i + 2] << 8 | o[i + 3]);
			break;
		case OPT_WS:
			if (olen == 3 && syn)
				g->ws = o[i + 2];
			break;
		case OPT_SACK_OK:
			if (olen == 2 && syn)
				g->sack_ok = true;
			break;
		case OPT_TS:
			if (olen == 10) {
				g->has_ts = true;
				g->tsval = be32(o + i + 2);
				g->tsecr = be32(o + i + 6);
			}
			break;
		case OPT_SACK:
			if (olen >= 10 && (olen - 2) % 8 == 0 && !syn) {
				unsigned n = (olen - 2) / 8, k;

				for (k = 0; k < n && g->nsack < RTE_DIM(g->sack); k++) {
					g->sack[g->nsack].start = be32(o + i + 2 + 8 * k);
					g->sack[g->nsack].end = be32(o + i + 6 + 8 * k);
					g->nsack++;
				}
			}
			break;
		default:
			break;
		}
		i += olen;
	}
	return 0;
}
