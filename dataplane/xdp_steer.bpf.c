/* Tern's XDP steering program, loaded by DPDK's net_af_xdp PMD through its
 * xdp_prog devarg.  Tern shares the interface with the kernel: a packet
 * goes to Tern's AF_XDP socket only if its destination is in tn_steer,
 * everything else is passed to the kernel untouched.
 *
 * tn_steer holds {addr, port, proto} (network byte order) for the flows
 * Tern listens on, and {addr, 0, 0} for addresses Tern owns outright (all
 * of their traffic, ICMP and ARP included): --steer's rules, and with
 * --ip the protocol stack's address (port.c).  Userspace fills it through
 * tn_xdp_steer_add (xdp.c), which finds the map by name on the program
 * attached to the interface: keep the name and the key layout in step
 * with struct tn__xdp_key there.
 *
 * The PMD requires a map named xsks_map (XSKMAP) and inserts its socket
 * for each queue under the queue's index, so redirecting on
 * ctx->rx_queue_index reaches the socket bound to the queue the packet
 * arrived on.  Known limits: one VLAN tag at most; IPv4 only (IPv6 and
 * everything else go to the kernel).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct tn_steer_key {
	__u32 addr;  /* IPv4 destination, network order */
	__u16 port;  /* destination port, network order; 0 = any */
	__u8 proto;  /* IPPROTO_UDP / IPPROTO_TCP; 0 = any */
	__u8 pad;    /* always 0: part of the hashed key */
};

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct tn_steer_key);
	__type(value, __u8);
} tn_steer SEC(".maps");

/* Not in the UAPI headers (struct vlan_hdr is kernel-internal). */
struct tn_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* The Ethernet/IPv4 ARP body; linux/if_arp.h only has the fixed part. */
struct tn_arp {
	__be16 htype, ptype;
	__u8 hlen, plen;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__be32 spa;
	__u8 tha[ETH_ALEN];
	__be32 tpa;
} __attribute__((packed));

/* The first four bytes of UDP and TCP headers alike. */
struct tn_l4_ports {
	__be16 src, dst;
};

/* What a steered packet becomes when its queue has no AF_XDP socket (not
 * yet, or not any more): the kernel keeps it.  A constant the loader may
 * change before loading: the tests set XDP_DROP to tell steered packets
 * from passed ones under BPF_PROG_TEST_RUN, where no socket exists. */
const volatile __u32 tn_nosock_action = XDP_PASS;

#define TN_IP_MF 0x2000
#define TN_IP_OFFSET 0x1fff
#define TN_ARP_REQUEST 1
#define TN_ARP_REPLY 2

static __always_inline int owned(__u32 addr, __u16 port, __u8 proto)
{
	struct tn_steer_key key = { .addr = addr, .port = port, .proto = proto };

	return bpf_map_lookup_elem(&tn_steer, &key) != NULL;
}

static __always_inline int steer_arp(void *p, void *end)
{
	struct tn_arp *arp = p;

	if ((void *)(arp + 1) > end)
		return 0;
	if (arp->htype != bpf_htons(1) || arp->ptype != bpf_htons(ETH_P_IP) ||
	    arp->hlen != ETH_ALEN || arp->plen != 4)
		return 0;
	if (arp->op != bpf_htons(TN_ARP_REQUEST) && arp->op != bpf_htons(TN_ARP_REPLY))
		return 0;
	return owned(arp->tpa, 0, 0);
}

static __always_inline int steer_ipv4(void *p, void *end)
{
	struct iphdr *ip = p;
	struct tn_l4_ports *l4;
	__u32 ihl;

	if ((void *)(ip + 1) > end)
		return 0;
	ihl = ip->ihl;
	if (ip->version != 4 || ihl < 5)
		return 0;
	/* Every fragment, the first included, is matched on the address
	 * alone: a port-only entry would otherwise take the first fragment
	 * (which has the ports) from the kernel and leave it the rest, and
	 * neither side could reassemble the datagram. */
	if (ip->frag_off & bpf_htons(TN_IP_MF | TN_IP_OFFSET))
		return owned(ip->daddr, 0, 0);
	if (ip->protocol == IPPROTO_UDP || ip->protocol == IPPROTO_TCP) {
		l4 = p + ihl * 4;
		if ((void *)(l4 + 1) <= end &&
		    owned(ip->daddr, l4->dst, ip->protocol))
			return 1;
	}
	return owned(ip->daddr, 0, 0);
}

SEC("xdp")
int tn_xdp_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *p = eth + 1;
	__be16 type;
	int hit;

	if (p > end)
		return XDP_PASS;
	type = eth->h_proto;
	if (type == bpf_htons(ETH_P_8021Q) || type == bpf_htons(ETH_P_8021AD)) {
		struct tn_vlan_hdr *vlan = p;

		if ((void *)(vlan + 1) > end)
			return XDP_PASS;
		type = vlan->encap_proto;
		p = vlan + 1;
	}

	if (type == bpf_htons(ETH_P_IP))
		hit = steer_ipv4(p, end);
	else if (type == bpf_htons(ETH_P_ARP))
		hit = steer_arp(p, end);
	else
		hit = 0;
	if (!hit)
		return XDP_PASS;
	/* The low bits of flags are the action when the map has no socket
	 * for the queue.  Only the queues the PMD opened have one: steered
	 * traffic arriving on other queues goes to the kernel. */
	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, tn_nosock_action);
}

char _license[] SEC("license") = "Dual BSD/GPL";
