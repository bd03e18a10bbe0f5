/* Word-at-a-time scanning for tern-load's fast response framing
 * (http_resp.c): field values are most of a header's bytes, and a byte
 * loop with a table costs about 5 instructions a byte on them. */
#ifndef TN_HTTP_SCAN_H
#define TN_HTTP_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Skips whole 8-byte words of p..end that are all printable ASCII
 * (0x20..0x7e); returns where the first other word (or the tail)
 * starts, for the caller's byte loop to finish.  A byte below 0x20
 * borrows (the high bit of b - 0x20 and of ~b), one of 0x7f or above
 * sets the high bit of b + 1 or of b; a borrow or carry only reaches
 * bytes above one already flagged, so no word with such a byte passes. */
static inline const char *http_skip_printable(const char *p, const char *end)
{
	while (end - p >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		if ((((w - 0x2020202020202020ull) & ~w) | (w + 0x0101010101010101ull) | w) &
		    0x8080808080808080ull)
			break;
		p += 8;
	}
	return p;
}

/* Whether field name n (len bytes of tchar) is lc (lower case letters
 * and '-'), in any case: a tchar with b | 0x20 equal to a lower case
 * letter is that letter in either case, and to '-' only '-' (CR is
 * no tchar).  Inline: the mismatches, most names, end at a byte. */
static inline bool http_name_is(const char *n, size_t len, const char *lc, size_t lclen)
{
	if (len != lclen)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((n[i] | 0x20) != lc[i])
			return false;
	return true;
}

#endif
