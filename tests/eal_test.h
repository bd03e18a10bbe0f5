/* An EAL for unit tests that need mbufs or ports: no hugepages, no PCI,
 * a file prefix of the test's own, and nothing left behind. */
#ifndef TN_EAL_TEST_H
#define TN_EAL_TEST_H

/* rte_eal_init with --no-huge -m 256 --no-pci --file-prefix PREFIX
 * --log-level lib.eal:error and the NULL-terminated extra arguments
 * (e.g. "--vdev=net_null0"); also unbuffers stdout so failure messages
 * survive an abort.  0 or -1 after printing why. */
int tn_test_eal_init(const char *prefix, const char *const *extra);

/* rte_eal_cleanup, then removes the runtime directory the EAL made
 * (/var/run/dpdk/PREFIX): DPDK 22.11 leaves it behind. */
void tn_test_eal_fini(void);

#endif
