/* --pcap FILE: pcapng capture of what every port receives and sends,
 * internal.  Polling cores copy packets (rte_pcapng_copy) into a
 * multi-producer ring; the main core's loop writes them out.  When the
 * ring or the copy pool is full the copy is dropped and counted, never
 * the packet.
 *
 * Known limits: a packet is cut to TN_PCAP_SNAPLEN bytes (the file keeps
 * its original length); the file describes the ports that exist when it
 * is opened. */
#ifndef TN_PCAP_H
#define TN_PCAP_H

#include <stdbool.h>
#include <stdint.h>

struct rte_mbuf;
struct tn_pcap;

/* Copies that can wait for the main core; one more is dropped. */
#define TN_PCAP_RING_SIZE 4096u
/* Bytes kept of each packet (RTE_MBUF_DEFAULT_BUF_SIZE). */
#define TN_PCAP_SNAPLEN 2176u

/* Opens FILE and describes ports 0..nb_ports-1 in it (every one must
 * exist: call after the EAL probed them).  Main core.  NULL with errno. */
struct tn_pcap *tn_pcap_open(const char *path, uint16_t nb_ports);
/* Copies pkts (not consumed) for direction rx (true) or tx; any core.
 * A port >= nb_ports is not captured and counts as a dropped copy. */
void tn_pcap_capture(struct tn_pcap *p, uint16_t port, uint16_t queue,
		     struct rte_mbuf *const *pkts, uint16_t n, bool rx);
/* Writes what the cores captured; main core only.  Returns whether it
 * wrote anything (a loop poller). */
bool tn_pcap_drain(struct tn_pcap *p);
/* Copies dropped so far (ring or pool full, or a failed write). */
uint64_t tn_pcap_dropped(const struct tn_pcap *p);
/* Copies not back in the capture's own pool: after a drain with no core
 * capturing, anything but 0 is a leak (the exit-time audit, leak.c). */
unsigned tn_pcap_in_use(const struct tn_pcap *p);
/* Drains, closes and frees; call once no core captures any more.
 * Returns the number of copies dropped. */
uint64_t tn_pcap_close(struct tn_pcap *p);

#endif
