/* Gathering a writev into whole records for a record-based transport
 * (see http.h): TLS seals each write call into records of its own, so
 * handing it a response's header and body as two calls would cost two
 * records (two seals, 22 or more bytes of overhead each, two segments)
 * where one does. */
#include "http.h"

#include <string.h>

int http_writev_records(uint8_t *rec, size_t rec_len, const struct iovec *iov, int iovcnt,
			int (*write)(void *ctx, const void *buf, size_t len), void *ctx)
{
	size_t fill = 0;
	int err;

	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t n = iov[i].iov_len;

		while (n) {
			size_t k;

			if (!fill && n >= rec_len) {
				/* Whole records straight from the caller's
				 * buffer (a static file's chunks): no copy. */
				if ((err = write(ctx, p, n)) < 0)
					return err;
				break;
			}
			k = n < rec_len - fill ? n : rec_len - fill;
			memcpy(rec + fill, p, k);
			fill += k;
			p += k;
			n -= k;
			if (fill == rec_len) {
				if ((err = write(ctx, rec, fill)) < 0)
					return err;
				fill = 0;
			}
		}
	}
	return fill ? write(ctx, rec, fill) : 0;
}
