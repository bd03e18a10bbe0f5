#include "eal_test.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#define MAX_ARGS 16

static char runtime_dir[PATH_MAX];

int tn_test_eal_init(const char *prefix, const char *const *extra)
{
	char *argv[MAX_ARGS + 1] = {
		"test", "--no-huge", "-m", "256", "--no-pci", "--file-prefix", (char *)prefix,
		"--log-level", "lib.eal:error",
	};
	int argc = 9;

	setvbuf(stdout, NULL, _IONBF, 0);
	for (; extra && *extra; extra++) {
		if (argc == MAX_ARGS) {
			printf("tn_test_eal_init: too many arguments\n");
			return -1;
		}
		argv[argc++] = (char *)*extra;
	}
	argv[argc] = NULL;
	if (rte_eal_init(argc, argv) < 0) {
		printf("rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	return 0;
}

void tn_test_eal_fini(void)
{
	DIR *d;
	struct dirent *e;
	char path[PATH_MAX + 256];

	rte_eal_cleanup();
	if (!runtime_dir[0] || !(d = opendir(runtime_dir)))
		return;
	/* The EAL's own files only: config, fbarrays, the mp socket. */
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", runtime_dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(runtime_dir);
	runtime_dir[0] = '\0';
}
