/* Shared fixture for the stack tests: an EAL and a pool, a virtual
 * clock, frame builders, feeding and collecting frames, and a leak check
 * (the pool back to full after tn_stack_destroy). */
#ifndef STACK_TEST_H
#define STACK_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <tern/stack.h>

#define ST_POOL_N 4095u
#define ST_SEC 1000000000ull
#define ST_IP(a, b, c, d) rte_cpu_to_be_32(((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

extern struct rte_mempool *st_pool;
extern uint64_t st_now; /* the virtual clock, ns */

/* Us: 10.0.0.1/24 gw 10.0.0.254; a peer 10.0.0.2; a remote 192.0.2.9. */
extern const struct rte_ether_addr st_mac_us, st_mac_peer, st_mac_gw, st_mac_bcast;
#define ST_IP_US ST_IP(10, 0, 0, 1)
#define ST_IP_PEER ST_IP(10, 0, 0, 2)
#define ST_IP_GW ST_IP(10, 0, 0, 254)
#define ST_IP_REMOTE ST_IP(192, 0, 2, 9)

/* cmocka group setup/teardown: the EAL (file prefix of its own) and the
 * pool. */
int st_group_setup(const char *prefix);
int st_group_teardown(void);

/* A stack for "us" (cfg may be NULL: defaults), created at st_now; the
 * gratuitous ARP is discarded unless keep_garp. */
struct tn_stack *st_create(const struct tn_stack_config *cfg, int keep_garp);
void st_default_cfg(struct tn_stack_config *cfg);
/* Destroys s and asserts every mbuf is back in the pool. */
void st_destroy(struct tn_stack *s);

/* ---- building frames: each returns an mbuf holding the frame ---- */
struct rte_mbuf *st_mbuf(const void *bytes, uint32_t len);
struct rte_mbuf *st_arp(uint16_t op, const struct rte_ether_addr *eth_dst,
			const struct rte_ether_addr *sha, uint32_t spa,
			const struct rte_ether_addr *tha, uint32_t tpa);

struct st_ip {
	uint32_t src, dst;
	uint8_t proto, ttl;   /* ttl 0 means 64; set ttl0 for a real 0 */
	int ttl0;
	uint16_t id;
	uint16_t frag_ofs;    /* bytes */
	int mf;
	const uint8_t *opt;   /* options (len a multiple of 4) */
	unsigned optlen;
	int bad_csum;
	int tlen_delta;       /* added to the correct total length */
	const struct rte_ether_addr *eth_dst, *eth_src; /* default: us, peer */
};
/* An IPv4 frame: header as ip says, then payload. */
struct rte_mbuf *st_ipv4(const struct st_ip *ip, const void *payload, uint32_t len);
/* An ICMP message (header + data) with a correct checksum, into buf;
 * returns its length. */
uint32_t st_icmp(uint8_t *buf, uint8_t type, uint8_t code, uint32_t rest, const void *data,
		 uint32_t len);
uint32_t st_echo(uint8_t *buf, uint16_t id, uint16_t seq, const void *data, uint32_t len);
/* A UDP datagram (checksum 0) into buf; returns its length. */
uint32_t st_udp(uint8_t *buf, uint16_t sport, uint16_t dport, const void *data, uint32_t len);
/* The same with the checksum for src -> dst (0: peer -> us). */
uint32_t st_udp_ck(uint8_t *buf, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		   const void *data, uint32_t len);
/* A UDP frame from src:sport (0: the peer) to dst:dport (0: us), with a
 * checksum; eth_dst NULL: our MAC. */
struct rte_mbuf *st_udp_frame(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
			      const struct rte_ether_addr *eth_dst, const void *data,
			      uint32_t len);
/* Asserts IPv4 frame f (header without options) carries a UDP datagram
 * with these ports (0: any), a correct length and checksum; returns the
 * payload and its length in *plen. */
const uint8_t *st_assert_udp(const uint8_t *f, int len, uint16_t sport, uint16_t dport,
			     uint32_t *plen);

/* ---- driving ---- */
void st_feed(struct tn_stack *s, struct rte_mbuf *m);
/* Pops the oldest output frame into buf (linearized), frees the mbuf and
 * returns its length, or -1 if there is none. */
int st_pop(struct tn_stack *s, uint8_t *buf, uint32_t cap);
/* Frames st_pop completed a checksum of, as a port with checksum
 * offload would (the stack left the sum to the port). */
extern unsigned st_tx_offloaded;
/* Asserts the stack has nothing to send. */
void st_expect_none(struct tn_stack *s);
/* Discards every pending output frame; returns how many. */
unsigned st_drain(struct tn_stack *s);
/* Moves the clock to t and runs the timers; returns the next deadline. */
uint64_t st_advance_to(struct tn_stack *s, uint64_t t);
struct tn_stack_stats st_stats(struct tn_stack *s);

/* ---- parsing output ---- */
const struct rte_ether_hdr *st_eth_of(const uint8_t *f);
/* Asserts f is an ARP frame with these fields (NULL / 0: any). */
void st_assert_arp(const uint8_t *f, int len, uint16_t op, const struct rte_ether_addr *eth_dst,
		   uint32_t spa, uint32_t tpa, const struct rte_ether_addr *tha);
/* Asserts f is a valid IPv4 frame to eth_dst (NULL: any) from us with a
 * good header checksum; returns the header. */
const struct rte_ipv4_hdr *st_assert_ip(const uint8_t *f, int len,
					 const struct rte_ether_addr *eth_dst, uint32_t dst,
					 uint8_t proto);
/* Asserts the ICMP message in IPv4 frame f has a good checksum, type and
 * code; returns it. */
const struct rte_icmp_hdr *st_assert_icmp(const uint8_t *f, int len, uint8_t type, uint8_t code);

#endif
