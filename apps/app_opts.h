/* Option parsing shared by the apps. */
#ifndef TN_APP_OPTS_H
#define TN_APP_OPTS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* A number in lo..hi for --name, or -EINVAL after saying why.  Written so
 * that NaN (which strtod accepts) fails too. */
static inline int tn_app_parse_num(const char *prog, const char *name, const char *v, double lo,
				   double hi, double *out)
{
	char *end;
	double x = strtod(v, &end);

	if (end == v || *end || !(x >= lo && x <= hi)) {
		fprintf(stderr, "%s: --%s wants a number in %g..%g, not '%s'\n", prog, name, lo, hi,
			v);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

#endif
