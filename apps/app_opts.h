/* Option parsing shared by the apps. */
#ifndef TN_APP_OPTS_H
#define TN_APP_OPTS_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The Tern part of a command line (the words after "--"), looked at
 * before tn_main_app parses it one option at a time: an app decides its
 * mode from it and checks the options it cannot do without, so a
 * missing one is reported before the EAL starts. */
struct tn_app_scan {
	int argc, first; /* first: the word after "--" (argc: none) */
	char **argv;
	bool help;       /* --help anywhere */
};

static inline void tn_app_scan(struct tn_app_scan *s, int argc, char **argv)
{
	s->argc = argc;
	s->argv = argv;
	s->first = argc;
	s->help = false;
	for (int i = 1; i < argc; i++) {
		s->help |= strcmp(argv[i], "--help") == 0;
		if (s->first == argc && strcmp(argv[i], "--") == 0)
			s->first = i + 1;
	}
}

/* Whether the Tern part has the option NAME ("--NAME" or "--NAME=..."). */
static inline bool tn_app_has(const struct tn_app_scan *s, const char *name)
{
	size_t n = strlen(name);

	for (int i = s->first; i < s->argc; i++) {
		const char *a = s->argv[i];

		if (a[0] == '-' && a[1] == '-' && strncmp(a + 2, name, n) == 0 &&
		    (a[2 + n] == '\0' || a[2 + n] == '='))
			return true;
	}
	return false;
}

/* Every app on the protocol stack needs --ip.  0, or -EINVAL after a
 * message. */
static inline int tn_app_need_ip(const struct tn_app_scan *s, const char *prog)
{
	if (tn_app_has(s, "ip"))
		return 0;
	fprintf(stderr, "%s: needs --ip A.B.C.D/N (the address of port 0)\n", prog);
	return -EINVAL;
}

#endif
