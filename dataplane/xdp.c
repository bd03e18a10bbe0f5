/* AF_XDP steering: where Tern's XDP program lives, how EAL arguments get
 * it onto net_af_xdp ports, and how steering entries reach its tn_steer
 * map.
 *
 * The PMD loads the program itself (xdp_prog devarg), so Tern holds no
 * handle on it: entries are written by finding the program attached to
 * the interface, then its map by name.  This costs a few syscalls per
 * call, which is fine for control-plane operations (bind, listen, adding
 * an address) and keeps no state that could go stale when the port is
 * restarted and the PMD reloads the program.
 *
 * Known limit: the program must be attached directly, as the PMD does.
 * Under a libxdp multi-program dispatcher the attached program is the
 * dispatcher, which has no tn_steer map, and steering calls fail with
 * -ENOENT.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tn_xdp.h"

/* Must match struct tn_steer_key in xdp_steer.bpf.c (which cannot include
 * this file's headers: it is built for the BPF target). */
struct tn__xdp_key {
	uint32_t addr;
	uint16_t port;
	uint8_t proto;
	uint8_t pad;
};
_Static_assert(sizeof(struct tn__xdp_key) == 8, "tn_steer key layout");

#define TN_XDP_STEER_MAP "tn_steer"
#define TN_XDP_VDEV_PREFIX "net_af_xdp"
#define TN_XDP_PROG_KEY "xdp_prog="

const char *tn_xdp_prog_path(void)
{
	const char *env = getenv("TERN_XDP_PROG");

	if (env && *env && access(env, R_OK) == 0)
		return env;
	if (access(TN_XDP_PROG_BUILD, R_OK) == 0)
		return TN_XDP_PROG_BUILD;
	if (access(TN_XDP_PROG_INSTALL, R_OK) == 0)
		return TN_XDP_PROG_INSTALL;
	errno = ENOENT;
	return NULL;
}

/* True if the devargs "key=value,key=value" already name a program. */
static bool has_prog(const char *devargs)
{
	const char *p = devargs;

	while (p && *p) {
		if (strncmp(p, TN_XDP_PROG_KEY, strlen(TN_XDP_PROG_KEY)) == 0)
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/* A vdev value of the af_xdp driver without a program: "net_af_xdp",
 * "net_af_xdp0", "net_af_xdp_foo", each optionally followed by devargs. */
static bool needs_prog(const char *vdev)
{
	const char *comma;

	if (strncmp(vdev, TN_XDP_VDEV_PREFIX, strlen(TN_XDP_VDEV_PREFIX)) != 0)
		return false;
	comma = strchr(vdev, ',');
	return !comma || !has_prog(comma + 1);
}

static char *with_prog(const char *head, const char *vdev, const char *prog)
{
	char *s;

	if (asprintf(&s, "%s%s,%s%s", head, vdev, TN_XDP_PROG_KEY, prog) < 0)
		return NULL;
	return s;
}

void tn_xdp_args_free(int argc, char **argv)
{
	char **orig;

	if (!argv)
		return;
	/* The EAL permutes argv and overwrites one slot with the program
	 * name, so the pointers to free are the copy kept past the NULL. */
	orig = argv + argc + 1;
	for (int i = 0; i < argc; i++)
		free(orig[i]);
	free(argv);
}

char **tn_xdp_args_rewrite(int argc, char **argv, int *out_argc)
{
	const char *prog = NULL;
	bool eal = true; /* before "--": only EAL arguments are rewritten */
	char **out;
	int i;

	out = calloc(2 * (size_t)argc + 1, sizeof(*out));
	if (!out)
		return NULL;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *vdev = NULL, *head = "";

		if (eal && strcmp(a, "--") == 0)
			eal = false;
		else if (eal && strncmp(a, "--vdev=", 7) == 0)
			vdev = a + 7, head = "--vdev=";
		else if (eal && i > 0 && strcmp(argv[i - 1], "--vdev") == 0)
			vdev = a;

		if (vdev && needs_prog(vdev)) {
			if (!prog && !(prog = tn_xdp_prog_path()))
				goto fail;
			out[i] = with_prog(head, vdev, prog);
		} else {
			out[i] = strdup(a);
		}
		if (!out[i])
			goto fail;
		out[argc + 1 + i] = out[i];
	}
	*out_argc = argc;
	return out;

fail:
	{
		int err = errno;

		/* Nothing was handed to the EAL yet: out[] is in order. */
		while (i-- > 0)
			free(out[i]);
		free(out);
		errno = err;
	}
	return NULL;
}

/* The ids of the maps prog_fd uses, in ids[] (at most *n); *n is set to
 * how many there are. */
static int prog_map_ids(int prog_fd, uint32_t *ids, uint32_t *n)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	info.nr_map_ids = *n;
	info.map_ids = (uint64_t)(uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	*n = info.nr_map_ids < *n ? info.nr_map_ids : *n;
	return 0;
}

/* An fd of the map named tn_steer used by program prog_id, or -errno. */
static int steer_map_of_prog(uint32_t prog_id)
{
	uint32_t ids[64], n = 64;
	int prog_fd, fd, err;

	prog_fd = bpf_prog_get_fd_by_id(prog_id);
	if (prog_fd < 0)
		return -errno;
	err = prog_map_ids(prog_fd, ids, &n);
	close(prog_fd);
	if (err)
		return err;

	for (uint32_t i = 0; i < n; i++) {
		struct bpf_map_info info;
		uint32_t len = sizeof(info);

		fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue; /* freed meanwhile: cannot be ours */
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    strcmp(info.name, TN_XDP_STEER_MAP) == 0 &&
		    info.key_size == sizeof(struct tn__xdp_key) &&
		    info.value_size == 1)
			return fd;
		close(fd);
	}
	return -ENOENT;
}

/* An fd of the tn_steer map of the program attached to ifname, or -errno
 * (-ENODEV: no such interface; -ENOENT: no program, or not Tern's). */
static int steer_map(const char *ifname)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	unsigned ifindex;
	uint32_t ids[3];
	int err, fd = -ENOENT;

	ifindex = if_nametoindex(ifname);
	if (!ifindex)
		return -ENODEV;
	/* Flags 0 reports every mode.  The PMD attaches without a mode flag,
	 * so the kernel picks native (driver) mode where the driver has it,
	 * veth included, and generic (skb) mode elsewhere. */
	err = bpf_xdp_query((int)ifindex, 0, &q);
	if (err)
		return err;
	ids[0] = q.drv_prog_id;
	ids[1] = q.skb_prog_id;
	ids[2] = q.hw_prog_id;
	for (int i = 0; i < 3 && fd < 0; i++)
		if (ids[i])
			fd = steer_map_of_prog(ids[i]);
	return fd;
}

static int steer_key(struct tn__xdp_key *key, uint32_t addr, uint8_t proto,
		     uint16_t port)
{
	/* A port without a protocol (or the reverse) would never match:
	 * the program looks up {addr, port, proto} and {addr, 0, 0}. */
	if ((proto == 0) != (port == 0))
		return -EINVAL;
	if (proto != 0 && proto != IPPROTO_UDP && proto != IPPROTO_TCP)
		return -EINVAL;
	memset(key, 0, sizeof(*key));
	key->addr = addr;
	key->port = port;
	key->proto = proto;
	return 0;
}

/* Adds (add) or removes the entry in the interface's tn_steer map. */
static int steer_update(const char *ifname, uint32_t addr, uint8_t proto, uint16_t port, bool add)
{
	struct tn__xdp_key key;
	uint8_t one = 1;
	int fd, err;

	err = steer_key(&key, addr, proto, port);
	if (err)
		return err;
	fd = steer_map(ifname);
	if (fd < 0)
		return fd;
	if (add)
		err = bpf_map_update_elem(fd, &key, &one, BPF_ANY) ? -errno : 0;
	else
		err = bpf_map_delete_elem(fd, &key) ? -errno : 0;
	close(fd);
	return err;
}

int tn_xdp_steer_add(const char *ifname, uint32_t addr, uint8_t proto, uint16_t port)
{
	return steer_update(ifname, addr, proto, port, true);
}

int tn_xdp_steer_del(const char *ifname, uint32_t addr, uint8_t proto, uint16_t port)
{
	return steer_update(ifname, addr, proto, port, false);
}

bool tn_xdp_kernel_has_addr(const char *ifname, uint32_t addr)
{
	struct ifaddrs *all, *a;
	bool found = false;

	if (getifaddrs(&all) != 0)
		return false;
	for (a = all; a && !found; a = a->ifa_next)
		found = a->ifa_addr && a->ifa_addr->sa_family == AF_INET &&
			strcmp(a->ifa_name, ifname) == 0 &&
			((const struct sockaddr_in *)a->ifa_addr)->sin_addr.s_addr == addr;
	freeifaddrs(all);
	return found;
}
