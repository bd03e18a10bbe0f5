/* AF_XDP steering, internal.  On a net_af_xdp port Tern has the PMD load
 * its own XDP program (xdp_steer.bpf.c, via the xdp_prog devarg): traffic
 * Tern owns is redirected to its AF_XDP sockets and everything else is
 * passed to the kernel, so Tern and the kernel share the interface. */
#ifndef TN_XDP_H
#define TN_XDP_H

#include <stdbool.h>
#include <stdint.h>

/* Path of the compiled program: $TERN_XDP_PROG, else the build tree's,
 * else the installed one; NULL if none exists. */
const char *tn_xdp_prog_path(void);

/* Rewrites EAL arguments so that every --vdev net_af_xdp... without an
 * xdp_prog= devarg gets Tern's program (",xdp_prog=PATH" appended).  Both
 * "--vdev=VALUE" and "--vdev VALUE" are handled, for any vdev name the
 * af_xdp driver takes (net_af_xdp, net_af_xdp0, net_af_xdp_foo); nothing
 * after a "--" is touched.  Returns a new NULL-terminated argv of
 * malloc'ed strings, or NULL with errno (ENOENT: a port needs the program
 * and tn_xdp_prog_path found none; ENOMEM). */
char **tn_xdp_args_rewrite(int argc, char **argv, int *out_argc);
/* Frees what tn_xdp_args_rewrite returned, with the argc it gave.  Safe
 * after rte_eal_init has permuted and overwritten entries of argv: the
 * original pointers are kept in a hidden copy past the terminating NULL. */
void tn_xdp_args_free(int argc, char **argv);

/* Steering entries on the interface's program (found through the XDP
 * program attached to ifname).  Addresses and ports in network byte
 * order.  proto is IPPROTO_UDP or IPPROTO_TCP with a port, or 0 with port
 * 0 for all traffic to addr (ARP for it and every IPv4 fragment to it
 * included: fragments are matched on the address alone).  0 or -errno:
 * -EINVAL other proto/port pairs, -ENODEV no such interface, -ENOENT no
 * XDP program with a tn_steer map on it (or, for del, no such entry),
 * -E2BIG the map is full, -EPERM without CAP_BPF/CAP_SYS_ADMIN.
 * Works in the calling thread's network namespace. */
int tn_xdp_steer_add(const char *ifname, uint32_t addr, uint8_t proto, uint16_t port);
int tn_xdp_steer_del(const char *ifname, uint32_t addr, uint8_t proto, uint16_t port);

/* Whether the kernel has IPv4 address addr (network order) on ifname, in
 * the calling thread's network namespace.  Tern warns when --ip names
 * one: {addr, 0, 0} in tn_steer takes all of its traffic from the
 * kernel, its ARP included. */
bool tn_xdp_kernel_has_addr(const char *ifname, uint32_t addr);

#endif
