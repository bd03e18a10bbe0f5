/* One message function for Tern's 0 / -errno returns. */
#include <string.h>

#include "tern/error.h"

const char *tn_strerror(int err)
{
	if (err == 0)
		return "success";
	if (err > 0)
		err = -err;
	/* strerror is MT-safe in glibc for known codes and returns a
	 * static "Unknown error" string for the rest. */
	return strerror(-err);
}
