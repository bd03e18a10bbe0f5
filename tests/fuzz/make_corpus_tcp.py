#!/usr/bin/env python3
"""Writes the seed corpus of tests/fuzz/fuzz_tcp.c into tests/fuzz/corpus_tcp/.

An input is a sequence of actions: an op byte (taken modulo 19) and its
fixed-size arguments, big endian (see fuzz_tcp.c).  The stack is
10.0.0.2; the fuzzer is the peer 10.0.0.1 and the application.  Flows
are numbered in the order the harness learns them (a SYN the peer sends,
or a SYN the stack sends), so "flow 0" below is the first connection.

The fuzzed-* files next to them are not written here: they are inputs
from fuzzing runs, picked greedily by the TCP source lines they add
(llvm-cov), so the corpus replay in the test suite covers about as much
of stack/tcp*.c as the fuzzer reached (91% of the lines, against 69% for
the hand-written seeds alone)."""
import os
import struct
import sys

FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 1, 2, 4, 8, 16, 32, 64, 128


def seg(flow=0, flags=ACK, smode=0, sdelta=0, amode=0, adelta=0, win=65535, opts=b"\0",
        dmode=0, urp=0, paylen=0, bad=0, new=None):
    """A fuzzed segment; new=(sport, dport or None for listener 80) for a
    flow the harness does not know."""
    if new is None:
        b = bytes([0, flow & 0x7F])
    else:
        sport, dport = new
        sel = 0x80 | (0x40 if dport is None else 0)
        b = bytes([0, sel]) + struct.pack("!H", sport)
        if dport is not None:
            b += struct.pack("!H", dport)
    return (b + bytes([flags, smode]) + struct.pack("!I", sdelta & 0xFFFFFFFF) +
            bytes([amode]) + struct.pack("!I", adelta & 0xFFFFFFFF) + struct.pack("!H", win) +
            opts + bytes([dmode]) + struct.pack("!HH", urp, paylen) + bytes([bad]))


def opts(*items):
    """items: (kind selector 0..8, length mode, argument bytes)."""
    b = bytes([len(items)])
    for k, lmode, arg in items:
        b += bytes([k, lmode]) + arg
    return b


def sack_blocks(blocks):
    """blocks: (base mode 0 una/1 ack, d1, d2): left = base + d1, right = left + d2."""
    b = bytes([len(blocks) - 1])
    for base, d1, d2 in blocks:
        b += bytes([base]) + struct.pack("!hh", d1, d2)
    return b


def syn(pport, iss, which=0x0F, win=65535, mss=1460, ws=7, lis=0):
    return bytes([2]) + struct.pack("!HBBIHHB", pport, lis, which, iss, win, mss, ws)


def ack(flow=0, win=65535):
    return bytes([3, flow]) + struct.pack("!H", win)


def data(flow=0, n=100, fl=1):
    return bytes([4, flow]) + struct.pack("!HB", n, fl)


def fin(flow=0, win=65535):
    return bytes([5, flow]) + struct.pack("!H", win)


def rst(flow=0, mode=0, off=0):
    return bytes([6, flow, mode]) + (struct.pack("!H", off) if mode % 3 == 1 else b"")


def time(n, unit=1):
    """unit: 0 = 0.1 ms, 1 = 1 ms, 2 = 100 ms, 3 = 1 min."""
    return bytes([7, unit]) + struct.pack("!H", n)


def listen(lis=0, bl=4):
    return bytes([8, lis, bl])


def unlisten(lis=0):
    return bytes([9, lis])


def connect(slot=0, dport=81, flags=0, syn_retries=0):
    return bytes([10]) + struct.pack("!I", (dport << 24) | (syn_retries << 16) | flags | slot)


def accept(slot=0, lis=0):
    return bytes([11]) + struct.pack("!H", (lis << 8) | slot)


def read(slot=0, n=4096, style=0):
    return bytes([12, slot, style]) + struct.pack("!H", n)


def write(slot=0, n=1000, style=0):
    return bytes([13, slot, style]) + struct.pack("!H", n)


def close(slot=0, how=0):
    return bytes([14, slot, how])


def setopts(slot=0, b=0, idle=9, intvl=9, cnt=2):
    return bytes([15, slot, b, idle, intvl, cnt]) + (b"\x05" if b & 0x80 else b"")


def icmp(flow=0, kind=4, mtu=576):
    return bytes([16, flow, kind]) + struct.pack("!H", mtu)


def data_fin(flow=0, n=10):
    return bytes([17, flow]) + struct.pack("!HB", n, 1)


def arp(answer):
    return bytes([18, 1 if answer else 0])


PASSIVE = listen() + accept() + syn(40000, 1000) + ack()
ACTIVE = connect(slot=1, dport=81) + seg(flags=SYN | ACK, smode=3, sdelta=5000) + time(1)

seeds = {
    # listen, handshake, data both ways, the peer's FIN, our close
    "passive_transfer": PASSIVE + data(n=100) + read() + write(n=3000) + ack() + time(50) +
    ack() + fin() + read() + close() + ack() + time(1, 3),
    # connect, SYN-ACK, data, our FIN first then theirs (TIME-WAIT)
    "active_transfer": ACTIVE + write(slot=1, n=2000) + ack() + data(n=500) + read(slot=1) +
    close(slot=1, how=2) + ack() + fin() + time(2, 3),
    # both FINs cross
    "simultaneous_close": PASSIVE + close(how=2) + fin() + ack() + time(1, 3),
    # RSTs: exact, in the window (challenge ACK), outside
    "rst_variants": PASSIVE + rst(mode=1, off=10) + rst(mode=2) + rst(mode=0) + time(10),
    "rst_in_syn_sent": connect(slot=2, dport=83) + rst(mode=4) + time(5),
    # SACK blocks: sensible, reversed, past what was sent
    "sack_blocks": PASSIVE + write(n=20000) + time(1) +
    seg(opts=opts((5, 0, sack_blocks([(0, -2000, 1000), (0, -500, -400)])))) +
    seg(opts=opts((5, 0, sack_blocks([(1, 100, 100), (0, 5000, 1000), (0, -30000, 60)])))) +
    time(300) + ack() + time(300),
    # a zero window, then probes, then it opens
    "zero_window": PASSIVE + ack(win=0) + write(n=5000) + time(3, 2) + time(30, 2) + ack() +
    time(100),
    # sequence numbers across the 2^32 wrap
    "wraparound": listen() + accept() + syn(40001, 0xFFFFFF00) + ack() + data(n=1000) +
    data(n=1000) + read() + fin() + close() + ack() + time(2, 3),
    # options with bad lengths, bad data offsets, urgent data, a bad checksum
    "bad_options": PASSIVE +
    seg(opts=opts((2, 1, b"\x05\xb4"), (3, 2, b"\x07"), (7, 3, b"\x1e\x00"))) +
    seg(dmode=0xE0 | 3, paylen=10) + seg(dmode=0xE0 | 15, paylen=10) +
    seg(flags=ACK | URG | PSH, urp=5000, paylen=20) + seg(paylen=50, bad=15) +
    seg(opts=opts((6, 0, b"\0\0\0\1\1\0\0\0\0"), (1, 0, b""), (0, 0, b""))) + time(10),
    # every flag combination in LISTEN and on a new port
    "flags_sweep": listen() + b"".join(seg(flags=f, smode=3, sdelta=f * 1000, amode=3,
                                           adelta=f, new=(30000 + f, None))
                                       for f in range(0, 256, 7)) + time(1),
    # ICMP fragmentation-needed and host unreachable on a connection
    "icmp_errors": PASSIVE + write(n=4000) + icmp(kind=4, mtu=576) + time(300) + icmp(kind=1) +
    time(2, 2) + ack(),
    # keepalive on a connection the peer answers, then stops answering
    "keepalive": ACTIVE + ack() + setopts(slot=1, b=4, idle=10, intvl=5, cnt=2) + time(2, 2) +
    ack() + time(20, 2) + time(5, 3),
    # SYN retries into silence, then a listener's accept queue overflow
    "syn_timeout": connect(slot=3, dport=85, syn_retries=2) + time(3, 3) + listen(lis=1, bl=1) +
    syn(41000, 7, lis=1) + syn(41001, 8, lis=1) + syn(41002, 9, lis=1) + time(5, 2),
    # our FIN acknowledged, then the handle closed: orphaned FIN-WAIT-2
    # ends by its timer with a RST, which needs ARP again (the entry aged
    # out) from inside the timers and the peer never answers: the ARP
    # retries must still run and drop the RST (it once stayed queued)
    "fin_wait2_orphan_arp": PASSIVE + close(how=2) + ack() + arp(False) + time(1, 3) +
    close(how=0) + time(5, 3),
    # reads of every kind: exact, until CRLF, zero copy
    "read_styles": PASSIVE + data(n=1400) + read(style=1, n=100) + read(style=2, n=2000) +
    read(style=4) + read(style=3) + data_fin(n=200) + read(n=500) + close() + time(1, 3),
}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "corpus_tcp")
    os.makedirs(out, exist_ok=True)
    for name, b in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(b)
    print(f"{len(seeds)} inputs in {out}")


if __name__ == "__main__":
    main()
