#!/usr/bin/env python3
"""The kernel's side of the tern-feed and tern-game namespace tests
(dp_feed_tap_test.sh, dp_game_tap_test.sh), run with `ip netns exec`.
Standard library only.  Message formats: apps/feed_msg.h, apps/game_msg.h
(little-endian; times are CLOCK_MONOTONIC ns, the clock the Tern apps
use, so one-way latency is comparable on one machine).

  feed-sub IFADDR GROUP PORT SECS
        joins GROUP on the interface with IFADDR (IP_ADD_MEMBERSHIP) and
        receives tern-feed messages until SECS pass or 1 s passes with
        nothing after the first; prints "joined" once the membership is
        in, then one result line: received, first and last seq, gaps
        (numbers missing after the first), dup, bad (format or payload),
        latency p50/p99 in ns.  Exit 0 if it got any valid message.
  feed-pub IFADDR GROUP PORT N RATE FEED_ID
        sends N messages of 64 bytes at RATE per second to GROUP out of
        the interface with IFADDR (IP_MULTICAST_IF, TTL 1)
  igmp-watch GROUP SECS
        an AF_PACKET socket on every interface of the namespace (so it
        also sees devices made after it starts): prints "listening", then
        "report GROUP from SRC" / "leave GROUP from SRC" for each IGMPv2
        report or leave about GROUP that arrives (not ones the kernel
        sends), until SECS pass
  game-clients HOST PORT TICK_HZ WORLD
        three kernel clients of a tern-game server (see game_clients)

Exits 0 on success, 1 on failure, with the reason printed.
"""
import os
import select
import socket
import struct
import sys
import time

FEED_HDR = struct.Struct("<IBBHIIQQ")
FEED_MAGIC = 0x44454654
GAME_IN = struct.Struct("<IIQhhI")
GAME_IN_MAGIC = 0x4E494754
GAME_SNAP = struct.Struct("<IIQQHHI")
GAME_SNAP_MAGIC = 0x4E534754
GAME_ENT = struct.Struct("<HHHH")
GAME_MAX_STEP = 16
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def out(*a):
    print(*a, flush=True)


def mono_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def pct(xs, q):
    if not xs:
        return 0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


# ---- tern-feed

def feed_payload_ok(seq, payload):
    return all(b == (seq + i) & 0xFF for i, b in enumerate(payload))


def feed_sub(ifaddr, group, port, secs):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((group, port))
    mreq = socket.inet_aton(group) + socket.inet_aton(ifaddr)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    out("joined")
    seqs, lat, bad = [], [], 0
    end = time.monotonic() + secs
    last = None
    while time.monotonic() < end:
        wait = end - time.monotonic()
        if last is not None:
            wait = min(wait, last + 1.0 - time.monotonic())
        if wait <= 0:
            break
        s.settimeout(wait)
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        now = mono_ns()
        last = time.monotonic()
        if len(data) < FEED_HDR.size:
            bad += 1
            continue
        magic, ver, _flags, _fid, _sess, plen, seq, send_ns = FEED_HDR.unpack_from(data)
        if (magic != FEED_MAGIC or ver != 1 or plen != len(data) - FEED_HDR.size
                or not feed_payload_ok(seq, data[FEED_HDR.size:])):
            bad += 1
            continue
        seqs.append(seq)
        lat.append(now - send_ns)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, mreq)
    if not seqs:
        out(f"feed-sub: nothing received (bad {bad})")
        return 1
    uniq = set(seqs)
    gaps = (max(seqs) - min(seqs) + 1) - len(uniq)
    out(f"received {len(seqs)} first {min(seqs)} last {max(seqs)} gaps {gaps} "
        f"dup {len(seqs) - len(uniq)} bad {bad} "
        f"latency_ns p50={pct(lat, 0.5)} p99={pct(lat, 0.99)}")
    return 0


def feed_pub(ifaddr, group, port, n, rate, feed_id):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ifaddr))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    session = os.getpid()
    plen = 64 - FEED_HDR.size
    t0 = time.monotonic()
    for seq in range(n):
        # Paced by the clock, not by sleeps adding up.
        due = t0 + seq / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        payload = bytes((seq + i) & 0xFF for i in range(plen))
        s.sendto(FEED_HDR.pack(FEED_MAGIC, 1, 0, feed_id, session, plen, seq, mono_ns())
                 + payload, (group, port))
    out(f"sent {n} in {time.monotonic() - t0:.3f} s")
    return 0


def igmp_watch(group, secs):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.settimeout(0.2)
    want = socket.inet_aton(group)
    out("listening")
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            frame, addr = s.recvfrom(65536)
        except socket.timeout:
            continue
        if addr[2] == PACKET_OUTGOING or len(frame) < 14 + 20 + 8:
            continue
        if frame[12:14] != b"\x08\x00" or frame[14 + 9] != 2:  # IPv4, IGMP
            continue
        ihl = (frame[14] & 0xF) * 4
        igmp = frame[14 + ihl:14 + ihl + 8]
        if len(igmp) < 8 or igmp[4:8] != want:
            continue
        src = socket.inet_ntoa(frame[14 + 12:14 + 16])
        kind = {0x16: "report", 0x17: "leave"}.get(igmp[0])
        if kind:
            out(f"{kind} {group} from {src} on {addr[0]}")
    return 0


# ---- tern-game

class GameClient:
    """One player: a UDP socket, the inputs it sent, the snapshots it got."""

    def __init__(self, name, host, port, dx, dy):
        self.name, self.dx, self.dy = name, dx, dy
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.connect((host, port))
        self.s.setblocking(False)
        self.seq = 0
        self.moves = {}  # seq -> (dx, dy)
        self.snaps = []  # (arrival_ns, tick, ack, you, [(id, x, y)], clients)
        self.bad = 0

    def send(self, leave=False):
        self.seq += 1
        # Alternate directions in runs of 8, so a player stays near its
        # spawn point (the server clamps to the world; checked anyway).
        sign = 1 if (self.seq // 8) % 2 == 0 else -1
        d = (0, 0) if leave else (self.dx * sign, self.dy * sign)
        self.moves[self.seq] = d
        self.s.send(GAME_IN.pack(GAME_IN_MAGIC, self.seq, mono_ns(), d[0], d[1],
                                 1 if leave else 0))

    def recv_all(self):
        while True:
            try:
                data = self.s.recv(65536)
            except BlockingIOError:
                return
            except ConnectionRefusedError:
                self.bad += 1
                continue
            now = mono_ns()
            if len(data) < GAME_SNAP.size:
                self.bad += 1
                continue
            magic, ack, tick, _sns, you, n, clients = GAME_SNAP.unpack_from(data)
            if magic != GAME_SNAP_MAGIC or len(data) != GAME_SNAP.size + n * GAME_ENT.size:
                self.bad += 1
                continue
            ents = [GAME_ENT.unpack_from(data, GAME_SNAP.size + i * GAME_ENT.size)[:3]
                    for i in range(n)]
            self.snaps.append((now, tick, ack, you, ents, clients))


def fail(msg):
    out(f"FAIL: {msg}")
    return 1


def check_state(c, world):
    """Each snapshot's own position follows from the first one's by
    replaying the inputs it acks, with the server's clamps."""
    first = c.snaps[0]
    if first[4][0][0] != first[3]:
        return f"{c.name}: the first entity is {first[4][0][0]}, not the client's ({first[3]})"
    x, y, k = first[4][0][1], first[4][0][2], first[2]
    checked = 0
    for now, tick, ack, you, ents, _ in c.snaps[1:]:
        if ack < k:
            return f"{c.name}: ack went back from {k} to {ack}"
        while k < ack:
            k += 1
            dx, dy = c.moves[k]
            x = min(max(x + max(-GAME_MAX_STEP, min(GAME_MAX_STEP, dx)), 0), world - 1)
            y = min(max(y + max(-GAME_MAX_STEP, min(GAME_MAX_STEP, dy)), 0), world - 1)
        if ents[0][0] != you or (ents[0][1], ents[0][2]) != (x, y):
            return (f"{c.name}: at ack {ack} the server has {ents[0]}, "
                    f"want ({you}, {x}, {y})")
        checked += 1
    return None if checked else f"{c.name}: only one snapshot"


def game_clients(host, port, tick_hz, world):
    """A and B play for 2 s (an input per tick each); then B goes silent
    while A plays 2 s more and finally says it leaves.  C, a third
    player, tries to join meanwhile (the test's server holds 2).
    Checks: snapshots at the tick rate with consecutive tick numbers;
    acks follow the inputs; each snapshot's own position is what the
    inputs make it (per-client state); A and B see each other while both
    play, and the server's client count; after B's timeout, A's
    snapshots show one client; C gets nothing."""
    period = 1.0 / tick_hz
    a = GameClient("A", host, port, 1, 0)
    b = GameClient("B", host, port, 0, 1)
    c = None
    t0 = time.monotonic()
    phase1, phase2 = t0 + 2.0, t0 + 4.0
    next_in = t0
    b_stopped_at = None
    while time.monotonic() < phase2:
        now = time.monotonic()
        if now >= next_in:
            a.send()
            if now < phase1:
                b.send()
            elif b_stopped_at is None:
                b_stopped_at = mono_ns()
            if c is None and now >= t0 + 1.0:
                c = GameClient("C", host, port, 1, 1)
            if c is not None and now < t0 + 1.5:
                c.send()
            next_in += period
        socks = [x.s for x in (a, b, c) if x]
        r, _, _ = select.select(socks, [], [], max(0.0, min(next_in, phase2) - time.monotonic()))
        for x in (a, b, c):
            if x and x.s in r:
                x.recv_all()
    a.send(leave=True)
    time.sleep(3 * period)
    for x in (a, b, c):
        x.recv_all()

    for x in (a, b):
        if x.bad:
            return fail(f"{x.name}: {x.bad} bad datagrams")
        if len(x.snaps) < 10:
            return fail(f"{x.name}: only {len(x.snaps)} snapshots")
        ticks = [s[1] for s in x.snaps]
        if any(t2 <= t1 for t1, t2 in zip(ticks, ticks[1:])):
            return fail(f"{x.name}: tick numbers not increasing: {ticks[:20]}...")
        err = check_state(x, world)
        if err:
            return fail(err)
    if c.snaps:
        return fail(f"C got {len(c.snaps)} snapshots from a full server")

    # The tick rate, over A's 2 s with both playing (phase 1 less its
    # first half second, when the server first hears of A).
    arr = [s[0] for s in a.snaps if s[0] < b_stopped_at]
    span = (arr[-1] - arr[0]) / 1e9 if len(arr) > 1 else 0
    rate = (len(arr) - 1) / span if span else 0
    gaps = [(t2 - t1) / 1e6 for t1, t2 in zip(arr, arr[1:])]
    med = pct(gaps, 0.5)
    out(f"A: {len(a.snaps)} snapshots, {rate:.1f}/s over {span:.2f} s (tick {tick_hz}), "
        f"median gap {med:.2f} ms; B: {len(b.snaps)}; last acks A {a.snaps[-1][2]}/{a.seq - 1} "
        f"B {b.snaps[-1][2]}/{b.seq}")
    if not 0.8 * tick_hz <= rate <= 1.1 * tick_hz:
        return fail(f"A's snapshots came at {rate:.1f}/s, want about {tick_hz}")
    if abs(med - 1000 * period) > 0.25 * 1000 * period:
        return fail(f"A's median inter-arrival {med:.2f} ms, want about {1000 * period:.2f}")
    if b.seq - b.snaps[-1][2] > 3:
        return fail(f"B's last ack is {b.snaps[-1][2]}, its last input {b.seq}")

    # Both play: each sees the other, and two clients.
    both = [s for s in a.snaps if s[0] < b_stopped_at and s[5] == 2]
    if not both:
        return fail("A never saw 2 clients while B played")
    b_id = b.snaps[-1][3]
    if not any(e[0] == b_id for e in both[-1][4]):
        return fail(f"A's snapshot lacks B (id {b_id}): {both[-1][4]}")
    a_id = a.snaps[-1][3]
    if not any(e[0] == a_id for e in b.snaps[-1][4]):
        return fail(f"B's snapshot lacks A (id {a_id}): {b.snaps[-1][4]}")
    # B silent: after its timeout the server holds only A.
    if a.snaps[-1][5] != 1 or any(e[0] == b_id for e in a.snaps[-1][4]):
        return fail(f"A's last snapshot still counts {a.snaps[-1][5]} clients: "
                    f"{a.snaps[-1][4]}")
    out(f"game-clients: passed ({len(a.snaps)} + {len(b.snaps)} snapshots checked)")
    return 0


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    a = argv[2:]
    if cmd == "feed-sub" and len(a) == 4:
        return feed_sub(a[0], a[1], int(a[2]), float(a[3]))
    if cmd == "feed-pub" and len(a) == 6:
        return feed_pub(a[0], a[1], int(a[2]), int(a[3]), float(a[4]), int(a[5]))
    if cmd == "igmp-watch" and len(a) == 2:
        return igmp_watch(a[0], float(a[1]))
    if cmd == "game-clients" and len(a) == 4:
        return game_clients(a[0], int(a[1]), float(a[2]), int(a[3]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
