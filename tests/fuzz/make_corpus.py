#!/usr/bin/env python3
"""Writes the seed corpus of tests/fuzz/fuzz_stack.c into tests/fuzz/corpus/.

An input is a sequence of records [op][len, 2 bytes big endian][len bytes]:
op 0 feeds a frame, 1 advances the clock by len ms, 2 drains the UDP
socket, 3 sends a UDP datagram (see fuzz_stack.c); ops 1 and 2 carry no
bytes.  The stack is
10.0.0.2/24 (MAC 02:00:00:00:00:02), gateway 10.0.0.1, a socket on port 7
that joined 239.1.2.3.  Frames are built by hand, no scapy."""
import os
import struct
import sys

US_MAC = bytes.fromhex("020000000002")
PEER_MAC = bytes.fromhex("020000000005")
GW_MAC = bytes.fromhex("020000000001")
BCAST = b"\xff" * 6
US = bytes([10, 0, 0, 2])
PEER = bytes([10, 0, 0, 5])
GW = bytes([10, 0, 0, 1])
GROUP = bytes([239, 1, 2, 3])


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth(dst, src, etype, payload):
    f = dst + src + struct.pack("!H", etype) + payload
    return f + b"\0" * max(0, 60 - len(f))


def arp(op, sha, spa, tha, tpa, dst=None):
    a = struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa
    return eth(dst or (BCAST if op == 1 else US_MAC), sha, 0x0806, a)


def ip(proto, payload, src=PEER, dst=US, ident=1, frag=0, mf=False, df=False,
       ttl=64, opts=b"", bad_csum=False, tlen_delta=0):
    ihl = (20 + len(opts)) // 4
    flags = (0x2000 if mf else 0) | (0x4000 if df else 0) | (frag // 8)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(opts) + len(payload) + tlen_delta,
                    ident, flags, ttl, proto, 0, src, dst) + opts
    c = csum(h)
    if bad_csum:
        c ^= 0x1234
    h = h[:10] + struct.pack("!H", c) + h[12:]
    return h + payload


def ip_frame(proto, payload, eth_dst=US_MAC, **kw):
    return eth(eth_dst, PEER_MAC, 0x0800, ip(proto, payload, **kw))


def icmp(typ, code, rest, data):
    m = struct.pack("!BBH", typ, code, 0) + rest + data
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def udp(sport, dport, data, src=PEER, dst=US, ck=True, bad=False):
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    if ck:
        ph = src + dst + struct.pack("!BBH", 0, 17, len(u))
        c = csum(ph + u) or 0xFFFF
        if bad:
            c ^= 0x00F0
        u = u[:6] + struct.pack("!H", c) + u[8:]
    return u


def igmp(typ, mrt, group):
    m = struct.pack("!BBH4s", typ, mrt, 0, group)
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def rec(op, data=b"", length=None):
    return struct.pack("!BH", op, len(data) if length is None else length) + data


def feed(f, seg=0):
    return rec(0 | (seg << 2), f)


def tick(ms):
    return rec(1, length=ms)


DRAIN = rec(2)


def send(data, kind=0, x=5, burst=False):
    return rec(3 | (kind << 2) | (16 if burst else 0), bytes([x]) + data)


ARP_PEER = feed(arp(2, PEER_MAC, PEER, US_MAC, US))
ARP_GW = feed(arp(2, GW_MAC, GW, US_MAC, US))
echo = icmp(8, 0, struct.pack("!HH", 0x1234, 1), b"ping" * 8)
big = bytes(range(256)) * 8  # 2048 bytes


def frags(payload, ident, pieces):
    """pieces: (offset, length, mf) over an IP payload."""
    return b"".join(feed(ip_frame(17, payload[o:o + n], ident=ident, frag=o, mf=mf))
                    for o, n, mf in pieces)


dgram = udp(1000, 7, b"A" * 64)
seeds = {
    "arp_request": feed(arp(1, PEER_MAC, PEER, b"\0" * 6, US)),
    "arp_reply": ARP_PEER,
    "arp_request_other": feed(arp(1, PEER_MAC, PEER, b"\0" * 6, bytes([10, 0, 0, 9]))),
    "arp_gratuitous": feed(arp(1, PEER_MAC, PEER, b"\0" * 6, PEER)),
    "arp_bad_hlen": feed(arp(1, PEER_MAC, PEER, b"\0" * 6, US)[:18] + b"\x07" +
                         arp(1, PEER_MAC, PEER, b"\0" * 6, US)[19:]),
    "arp_claims_us": feed(arp(2, PEER_MAC, US, US_MAC, US)),
    "icmp_echo": ARP_PEER + feed(ip_frame(1, echo)) + tick(1),
    "icmp_echo_unresolved": feed(ip_frame(1, echo)) + tick(1000) + tick(1000) + tick(3000),
    "icmp_echo_bcast": feed(ip_frame(1, echo, eth_dst=BCAST, dst=bytes([10, 0, 0, 255]))),
    "icmp_echo_big": ARP_PEER + feed(ip_frame(1, icmp(8, 0, b"\0\1\0\2", big))),
    "icmp_bad_csum": feed(ip_frame(1, echo[:2] + b"\0\0" + echo[4:])),
    "icmp_port_unreach": feed(ip_frame(1, icmp(3, 3, b"\0" * 4,
                                               ip(17, udp(7, 5000, b"x", src=US, dst=PEER),
                                                  src=US, dst=PEER)))),
    "icmp_frag_needed": feed(ip_frame(1, icmp(3, 4, struct.pack("!HH", 0, 576),
                                              ip(17, udp(7, 7, b"x" * 8, src=US, dst=PEER),
                                                 src=US, dst=PEER)))),
    "icmp_echo_reply": feed(ip_frame(1, icmp(0, 0, b"\0\1\0\1", b"data"))),
    "udp_port7": ARP_PEER + feed(ip_frame(17, dgram)) + DRAIN,
    "udp_port7_nock": feed(ip_frame(17, udp(1000, 7, b"hello", ck=False))) + DRAIN,
    "udp_port7_queue": b"".join(feed(ip_frame(17, udp(1000, 7, bytes([i]) * 10)))
                                for i in range(8)) + DRAIN,
    # The unicast fast path's edges: DF set (taken), from our own
    # address or to the broadcast MAC (both left to the general path).
    "udp_port7_df": feed(ip_frame(17, dgram, df=True)) + DRAIN,
    "udp_from_us": feed(ip_frame(17, udp(1000, 7, b"self", src=US), src=US)) + DRAIN,
    "udp_bcast_mac": feed(ip_frame(17, dgram, eth_dst=BCAST)) + DRAIN,
    # One burst: a flow to port 7, the same source to a closed port, a
    # bad checksum, then the flow again (the fast path's flow cache).
    "udp_burst_mixed": ARP_PEER + feed(ip_frame(17, udp(1000, 7, b"one"))) +
    feed(ip_frame(17, udp(1000, 9999, b"closed"))) +
    feed(ip_frame(17, udp(1000, 7, b"bad", bad=True))) +
    feed(ip_frame(17, udp(1000, 7, b"two"))) + feed(ip_frame(17, udp(1001, 7, b"three"))) +
    tick(1) + DRAIN,
    # The connected socket's burst sends (tn_udp_send_burst against
    # tn_udp_send_mbuf): to a neighbour being resolved, then resolved,
    # twice (the template), broadcast, fragmented; and its 2-datagram
    # queue overflowing.
    "send_burst": send(b"first", burst=True) + ARP_PEER + send(b"hi" * 20, burst=True) +
    send(b"again", burst=True) + send(b"all", kind=3, burst=True) +
    send(big[:1800], burst=True) +
    b"".join(feed(ip_frame(17, udp(1000, 7, bytes([i]) * 12))) for i in range(4)) + DRAIN,
    "udp_closed_port": ARP_PEER + feed(ip_frame(17, udp(1000, 9999, b"closed"))) + tick(1),
    "udp_bad_csum": feed(ip_frame(17, udp(1000, 7, b"bad", bad=True))) + DRAIN,
    "udp_bad_len": feed(ip_frame(17, udp(1000, 7, b"short")[:4] + b"\0\x40" +
                                 udp(1000, 7, b"short")[6:])),
    "udp_multicast": feed(ip_frame(17, udp(1000, 7, b"mcast", dst=GROUP),
                                   eth_dst=bytes.fromhex("01005e010203"), dst=GROUP)) + DRAIN,
    "udp_bcast": feed(ip_frame(17, udp(1000, 7, b"bcast", dst=bytes([10, 0, 0, 255])),
                               eth_dst=BCAST, dst=bytes([10, 0, 0, 255]))) + DRAIN,
    "frag_in_order": frags(udp(1000, 7, big[:1000]), 7, [(0, 504, True), (504, 504, False)])
    + DRAIN,
    "frag_three": frags(udp(1000, 7, big[:1400]), 8,
                        [(0, 480, True), (480, 480, True), (960, 448, False)]) + DRAIN,
    "frag_reverse": frags(udp(1000, 7, big[:1400]), 9,
                          [(960, 448, False), (480, 480, True), (0, 480, True)]) + DRAIN,
    "frag_overlap": frags(udp(1000, 7, big[:1400]), 10,
                          [(0, 480, True), (400, 480, True), (880, 528, False)]) + DRAIN,
    "frag_duplicate": frags(udp(1000, 7, big[:1000]), 11,
                            [(0, 504, True), (0, 504, True), (504, 504, False)]) + DRAIN,
    "frag_timeout": frags(udp(1000, 7, big[:1000]), 12, [(0, 504, True)]) + tick(30000) +
    tick(30000),
    "frag_bad_size": frags(udp(1000, 7, big[:1000]), 13, [(0, 500, True), (504, 504, False)]),
    "frag_icmp": b"".join(feed(ip_frame(1, icmp(8, 0, b"\0\1\0\1", big[:1200])[o:o + n],
                                        ident=14, frag=o, mf=mf))
                          for o, n, mf in [(0, 608, True), (608, 600, False)]) + tick(1),
    "ip_options_rr": ARP_PEER + feed(ip_frame(1, echo, opts=b"\x07\x07\x04" + b"\0" * 4 + b"\0")),
    "ip_options_nop": feed(ip_frame(17, udp(1000, 7, b"opt"), opts=b"\x01\x01\x01\x00")) + DRAIN,
    "ip_options_bad": feed(ip_frame(17, udp(1000, 7, b"opt"), opts=b"\x07\x09\x04\x00")),
    "ip_bad_csum": feed(ip_frame(17, udp(1000, 7, b"x"), bad_csum=True)),
    "ip_bad_tlen": feed(ip_frame(17, udp(1000, 7, b"x"), tlen_delta=40)),
    "ip_ttl0": feed(ip_frame(17, udp(1000, 7, b"x"), ttl=0)),
    "ip_other_dst": feed(ip_frame(17, udp(1000, 7, b"x"), dst=bytes([10, 0, 0, 77]))),
    "ip_unknown_proto": ARP_PEER + feed(ip_frame(99, b"payload")) + tick(1),
    "igmp_query_general": feed(ip_frame(2, igmp(0x11, 100, b"\0" * 4), dst=bytes([224, 0, 0, 1]),
                                        eth_dst=bytes.fromhex("01005e000001"), ttl=1,
                                        opts=b"\x94\x04\0\0")) + tick(5000) + tick(5000),
    "igmp_query_group": feed(ip_frame(2, igmp(0x11, 50, GROUP), dst=GROUP,
                                      eth_dst=bytes.fromhex("01005e010203"), ttl=1)) + tick(6000),
    "igmp_report_other": feed(ip_frame(2, igmp(0x11, 100, GROUP), dst=GROUP, ttl=1,
                                       eth_dst=bytes.fromhex("01005e010203"))) +
    feed(ip_frame(2, igmp(0x16, 0, GROUP), dst=GROUP, ttl=1,
                  eth_dst=bytes.fromhex("01005e010203"))) + tick(11000),
    "runt_empty": feed(b""),
    "runt_6": feed(US_MAC),
    "runt_13": feed((US_MAC + PEER_MAC + b"\x08")),
    "runt_ip_hdr": feed(ip_frame(17, b"")[:14 + 12]),
    "vlan": feed(US_MAC + PEER_MAC + b"\x81\x00\x00\x05\x08\x00" + ip(17, udp(1000, 7, b"v"))),
    "other_ethertype": feed(eth(US_MAC, PEER_MAC, 0x86DD, b"\x60" + b"\0" * 50)),
    "not_our_mac": feed(ip_frame(17, udp(1000, 7, b"x"), eth_dst=bytes.fromhex("020000000099"))),
    "send_onlink": send(b"hello") + ARP_PEER + tick(1),
    "send_offlink": send(b"remote", kind=1, x=9) + ARP_GW + tick(1),
    "send_group": send(b"to the group", kind=2),
    "send_bcast": send(b"to everyone", kind=3),
    "send_big": ARP_PEER + send(big[:3000]),
    "send_arp_timeout": send(b"nobody", x=77) + tick(1000) + tick(1000) + tick(1000) + tick(5000),
    "arp_table_fill": b"".join(send(b"f", x=i) for i in range(20, 40)) + tick(2000),
    "arp_aging": ARP_PEER + send(b"a") + tick(65000) + send(b"b"),
    "chained_udp": feed(ip_frame(17, udp(1000, 7, big[:1500])), seg=4) + DRAIN,
    "chained_icmp": ARP_PEER + feed(ip_frame(1, icmp(8, 0, b"\0\1\0\2", big[:600])), seg=3),
    "chained_tiny_segs": feed(ip_frame(17, udp(1000, 7, big[:300])), seg=1) + DRAIN,
    "chained_frag": feed(ip_frame(17, udp(1000, 7, big[:1000])[:504], ident=20, mf=True), seg=4) +
    feed(ip_frame(17, udp(1000, 7, big[:1000])[504:], ident=20, frag=504), seg=5) + DRAIN,
}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        os.unlink(os.path.join(out, name))
    for name, data in sorted(seeds.items()):
        assert len(data) <= 4096, name
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"make_corpus: {len(seeds)} seeds in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
