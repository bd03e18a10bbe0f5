#!/usr/bin/env python3
"""The kernel's side of the dataplane namespace tests (dp_tap_test.sh,
dp_afxdp_test.sh, dp_echo_*_test.sh), run with `ip netns exec`.
Standard library only: AF_PACKET sockets for raw frames, plain sockets
for UDP and TCP.

  reflect-raw IFACE N      sends N UDP frames on IFACE from its MAC to
                           02:00:00:00:00:02 and waits for each to come
                           back with the two MACs swapped
  reflect-udp IFACE DST PORT N
                           sends N datagrams to DST:PORT from a kernel
                           socket and sniffs IFACE for each to come back
                           with swapped MACs (and the same IP header)
  tcp-echo PORT [SEED]     echo server (a thread per connection); at
                           each connection's end one line: its peer,
                           the bytes echoed and their sha256, and with
                           SEED whether they were the seeded stream's
                           first bytes (see Stream)
  tcp-client HOST PORT SIZE
                           sends SIZE bytes and checks they come back
  tcp-bulk HOST PORT BYTES SEED
                           sends BYTES of the seeded stream while it
                           reads the echo: sha256 of both directions
                           (computed as they go) must be equal; prints
                           the rate and the kernel's retransmissions
  tcp-short HOST PORT N    N short connections in a row, each echoing
                           1..3000 bytes; the odd ones from one fixed
                           source port, so the kernel reuses its own
                           TIME-WAIT (bind with SO_REUSEADDR, then
                           connect: allowed with timestamps) and the
                           peer sees the 4-tuple it has just closed
  udp-echo HOST PORT N SEED
                           N datagrams of 1..8000 random bytes (1 and
                           8000 included) to a UDP echo server, one at a
                           time: every one must come back byte-exact
  udp-refused HOST PORT    a datagram to a closed port must be answered
                           with ICMP port unreachable (ECONNREFUSED)
  udp-blast HOST PORT N SEED MIN_PCT
                           N datagrams of 1..8000 random bytes, up to 32
                           in flight, to an echo server behind a lossy
                           link: at least MIN_PCT % must come back, and
                           whatever comes back must be byte-exact

Prints one result line; exits 0 on success, 1 on failure.
"""
import hashlib
import os
import random
import socket
import struct
import sys
import threading
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
SO_RCVBUFFORCE = 33
DEADLINE_S = 10


def out(*a):
    print(*a, flush=True)


def mac_of(iface):
    with open(f"/sys/class/net/{iface}/address") as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def fmt(mac):
    return ":".join(f"{b:02x}" for b in mac)


def sniffer(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    # Nothing is read until everything is sent: room for all of it (an
    # skb costs about 1 KiB of the buffer, so the default 208 KiB holds
    # only ~200 frames), and no copies of what we send ourselves.
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
    s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    s.bind((iface, 0))
    s.settimeout(0.2)
    return s


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_frame(dst_mac, src_mac, src_ip, dst_ip, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + udp


def collect(s, want, match):
    """Reads frames from s until every tag in want was seen (match(frame)
    returns a frame's tag or None), or the deadline passes."""
    seen = set()
    deadline = time.monotonic() + DEADLINE_S
    while seen != want and time.monotonic() < deadline:
        try:
            frame, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        except OSError as e:  # the device went away
            out(f"receiving: {e}")
            break
        if addr[2] == PACKET_OUTGOING:
            continue
        tag = match(frame)
        if tag in want:
            seen.add(tag)
    return seen


def reflect_raw(iface, n):
    me = mac_of(iface)
    peer = bytes.fromhex("020000000002")
    nonce = os.urandom(4).hex().encode()
    s = sniffer(iface)
    for i in range(n):
        s.send(udp_frame(peer, me, "10.66.0.1", "10.66.0.2", 4000, 9000,
                         b"tern-tap %s %d" % (nonce, i)))

    def match(frame):
        # Swapped: to us, from the address we sent to.
        if frame[0:6] != me or frame[6:12] != peer:
            return None
        body = frame[42:]
        if not body.startswith(b"tern-tap " + nonce + b" "):
            return None
        return int(body.split(b" ")[2].rstrip(b"\0"))

    seen = collect(s, set(range(n)), match)
    out(f"reflected {len(seen)} of {n} frames (sent {fmt(me)} -> {fmt(peer)})")
    return len(seen) == n


def reflect_udp(iface, dst, port, n):
    me = mac_of(iface)
    nonce = os.urandom(4).hex().encode()
    s = sniffer(iface)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(n):
        u.sendto(b"tern-xdp %s %d" % (nonce, i), (dst, port))
    dst_b = socket.inet_aton(dst)

    def match(frame):
        # Back to us with the IP header as sent (a reflector swaps only
        # the MACs): the kernel drops it, the sniffer sees it.
        if frame[0:6] != me or frame[12:14] != b"\x08\x00" or frame[30:34] != dst_b:
            return None
        if frame[23] != 17 or struct.unpack("!H", frame[36:38])[0] != port:
            return None
        body = frame[42:]
        if not body.startswith(b"tern-xdp " + nonce + b" "):
            return None
        return int(body.split(b" ")[2].rstrip(b"\0"))

    seen = collect(s, set(range(n)), match)
    out(f"reflected {len(seen)} of {n} datagrams to {dst}:{port}")
    return len(seen) == n


class Stream:
    """The bytes of random.Random(seed).randbytes(n), in chunks of any
    size: randbytes lays out 32-bit words little-endian, so the stream
    is the same however it is cut as long as each call asks for whole
    words (tern-echo --bytes --seed sends it too: apps/mt_stream.h)."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.left = b""

    def read(self, n):
        if len(self.left) < n:
            self.left += self.rng.randbytes((n - len(self.left) + 3) & ~3)
        b, self.left = self.left[:n], self.left[n:]
        return b


class Digests:
    """sha256 of a stream, and of each of its MiB (to say where two
    streams first differ)."""
    BLOCK = 1 << 20

    def __init__(self):
        self.total, self.block = hashlib.sha256(), hashlib.sha256()
        self.n, self.blocks = 0, []

    def update(self, b):
        self.total.update(b)
        while b:
            room = self.BLOCK - self.n % self.BLOCK
            self.block.update(b[:room])
            self.n += min(room, len(b))
            b = b[room:]
            if self.n % self.BLOCK == 0:
                self.blocks.append(self.block.digest())
                self.block = hashlib.sha256()

    def first_difference(self, other):
        """The first MiB that differs (by offset), or None."""
        a = self.blocks + [self.block.digest()]
        b = other.blocks + [other.block.digest()]
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return i * self.BLOCK
        return None if len(a) == len(b) else min(len(a), len(b)) * self.BLOCK


def tcp_retrans(c):
    """The kernel's tcpi_total_retrans and tcpi_rtt (µs) of socket c
    (struct tcp_info: 8 bytes, then u32 fields; total_retrans is the
    24th, rtt the 16th)."""
    info = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    f = struct.unpack_from("=24I", info, 8)
    return f[23], f[15]


def echo_conn(c, peer, seed):
    c.settimeout(60)
    d = Digests()
    want = Stream(seed) if seed is not None else None
    same = True
    try:
        while True:
            b = c.recv(1 << 18)
            if not b:
                break
            d.update(b)
            if want is not None and same:
                same = want.read(len(b)) == b
            c.sendall(b)
    except OSError as e:
        out(f"tcp-echo: {peer[0]}:{peer[1]}: {e}")
    c.close()
    tail = "" if seed is None else f", the seed {seed} stream: {'yes' if same else 'NO'}"
    out(f"tcp-echo: {peer[0]}:{peer[1]}: echoed {d.n} bytes, "
        f"sha256 {d.total.hexdigest()}{tail}")


def tcp_echo(port, seed=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    out("listening")
    while True:
        c, peer = s.accept()
        threading.Thread(target=echo_conn, args=(c, peer, seed), daemon=True).start()


def tcp_bulk(host, port, nbytes, seed):
    chunk = 1 << 18
    c = socket.create_connection((host, port), timeout=DEADLINE_S)
    c.settimeout(60)  # without progress: a stuck connection
    sent, got = Digests(), Digests()
    err = []

    def send():
        gen = Stream(seed)
        try:
            left = nbytes
            while left:
                b = gen.read(min(chunk, left))
                sent.update(b)
                c.sendall(b)
                left -= len(b)
            c.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(f"send: {e}")

    t0 = time.monotonic()
    th = threading.Thread(target=send)
    th.start()
    try:
        while True:
            b = c.recv(1 << 20)
            if not b:
                break
            got.update(b)
    except OSError as e:
        err.append(f"receive: {e}")
    dt = time.monotonic() - t0
    th.join()
    retrans, rtt = tcp_retrans(c)
    c.close()
    a, b = sent.total.hexdigest(), got.total.hexdigest()
    ok = not err and sent.n == nbytes and got.n == nbytes and a == b
    for e in err:
        out(f"tcp bulk: {e}")
    out(f"tcp bulk: sent {sent.n} bytes, received {got.n} in {dt:.2f} s "
        f"({got.n / dt / 1e6:.1f} MB/s each way), kernel retransmits {retrans}, rtt {rtt} us")
    out(f"sha256 sent     {a}\nsha256 received {b}")
    if not ok:
        at = sent.first_difference(got)
        out(f"tcp bulk: the echo differs (first in the MiB at byte {at})")
    return ok


def tcp_short(host, port, n):
    """Odd connections from one source port: bind it with SO_REUSEADDR,
    so connect may take over the previous one's TIME-WAIT (the kernel
    allows it when timestamps were on).  The port is the first even
    one's, chosen by the kernel."""
    rng = random.Random(n)
    bad, fixed, t0 = 0, None, time.monotonic()
    for i in range(n):
        s = socket.socket()
        s.settimeout(20)
        # On every socket: a port's TIME-WAIT is taken over only if it
        # had the option too.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if i % 2 and fixed:
            try:
                s.bind(("0.0.0.0", fixed))
            except OSError as e:
                out(f"connection {i}: bind to port {fixed}: {e}")
                return False
        try:
            s.connect((host, port))
            if fixed is None:
                fixed = s.getsockname()[1]
            msg = rng.randbytes(1 + i * 13 % 3000)
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                b = s.recv(65536)
                if not b:
                    break
                got += b
            # Our FIN first; the echo server's follows (TIME-WAIT here).
            s.shutdown(socket.SHUT_WR)
            tail = s.recv(10)
        except OSError as e:
            out(f"connection {i}: {e}")
            bad += 1
            s.close()
            continue
        s.close()
        if got != msg or tail != b"":
            out(f"connection {i}: echo of {len(got)} bytes differs from {len(msg)}, "
                f"then {len(tail)} more")
            bad += 1
    out(f"short connections: {n} in {time.monotonic() - t0:.2f} s "
        f"({(n + 1) // 2} from port {fixed}), bad {bad}")
    return bad == 0


def tcp_client(host, port, size):
    data = bytes(i * 7 % 251 for i in range(size))
    c = socket.create_connection((host, port), timeout=DEADLINE_S)
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    got = bytearray()
    while True:
        d = c.recv(65536)
        if not d:
            break
        got += d
    ok = bytes(got) == data
    out(f"tcp: sent {len(data)} bytes, {len(got)} came back" + ("" if ok else " (different)"))
    return ok


def udp_sock(host, port, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # Room for every echo in flight (8 KB each, an skb apiece).
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def udp_echo(host, port, n, seed):
    rng = random.Random(seed)
    sizes = [1, 8000] + [rng.randint(1, 8000) for _ in range(n - 2)]
    s = udp_sock(host, port, 2)
    bad = 0
    for i, size in enumerate(sizes):
        data = rng.randbytes(size)
        s.send(data)
        try:
            got = s.recv(65535)
        except socket.timeout:
            out(f"datagram {i} ({size} bytes): no echo")
            bad += 1
            continue
        if got != data:
            out(f"datagram {i} ({size} bytes): echo of {len(got)} bytes differs")
            bad += 1
    out(f"udp echo: {len(sizes) - bad}/{len(sizes)} byte-exact, "
        f"sizes {min(sizes)}..{max(sizes)}")
    return bad == 0


def udp_late_echo(port, hold):
    """Echoes UDP on port, but only datagrams that come hold seconds or
    more after the first one; ends 2 s after the last."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    s.settimeout(30)
    ignored = echoed = 0
    first = None
    while True:
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            break
        now = time.monotonic()
        first = now if first is None else first
        if now - first < hold:
            ignored += 1
            continue
        s.sendto(data, peer)
        echoed += 1
        s.settimeout(2)
    out(f"late echo: ignored {ignored}, echoed {echoed}")
    return echoed > 0


def udp_refused(host, port):
    c = udp_sock(host, port, 2)
    c.send(b"anyone?")
    try:
        c.recv(100)
        out(f"port {port}: got a reply, want ICMP port unreachable")
        return False
    except ConnectionRefusedError:
        out(f"port {port}: connection refused (ICMP port unreachable)")
        return True
    except socket.timeout:
        out(f"port {port}: no ICMP port unreachable")
        return False


def udp_blast(host, port, n, seed, min_pct):
    """Each datagram starts with its sequence number (4 bytes) and this
    run's nonce (4 bytes); the rest is random.  A datagram still without
    an echo 0.2 s after it left is lost (a late echo is not counted)."""
    window, timeout = 32, 0.2
    rng = random.Random(seed)
    nonce = os.urandom(4)
    s = udp_sock(host, port, 0.05)
    sent = {}       # seq -> (payload, deadline) while in flight
    echoed = set()
    lost = dup = bad = refused = 0
    nxt = 0
    total_bytes = 0
    deadline = time.monotonic() + 60
    data = None     # the next datagram, made but not sent yet
    while (nxt < n or sent) and time.monotonic() < deadline:
        while nxt < n and len(sent) < window:
            if data is None:
                size = rng.randint(8, 8000)
                data = struct.pack("!I", nxt) + nonce + rng.randbytes(size - 8)
            try:
                s.send(data)
            except socket.timeout:
                # The send buffer is full: the kernel holds datagrams
                # while it resolves our MAC (an ARP exchange the faults
                # may drop, retried after 1 s).  Receive, then retry.
                break
            total_bytes += len(data)
            sent[nxt] = (data, time.monotonic() + timeout)
            data = None
            nxt += 1
        try:
            got = s.recv(65535)
        except socket.timeout:
            got = None
        except ConnectionRefusedError:
            refused += 1  # a stray ICMP error: count it, go on
            got = None
        if got is not None:
            seq = struct.unpack("!I", got[:4])[0] if len(got) >= 8 else -1
            if len(got) < 8 or got[4:8] != nonce:
                bad += 1
            elif seq in echoed:
                dup += 1
            elif seq not in sent:
                # Late (already counted lost) or never sent.
                if seq >= nxt:
                    bad += 1
            elif got != sent[seq][0]:
                bad += 1
                out(f"datagram {seq} ({len(sent[seq][0])} bytes): echo differs")
            else:
                echoed.add(seq)
                del sent[seq]
        now = time.monotonic()
        for seq in [q for q, (_, dl) in sent.items() if dl <= now]:
            del sent[seq]
            lost += 1
    lost += len(sent)
    pct = 100 * len(echoed) // n
    out(f"udp blast: sent {nxt} datagrams ({total_bytes} bytes, 8..8000 each), "
        f"echoed {len(echoed)} ({pct}%) byte-exact, lost {lost}, duplicates {dup}, "
        f"bad {bad}, refused {refused}")
    return nxt == n and bad == 0 and pct >= min_pct


def main(argv):
    mode = argv[1]
    if mode == "reflect-raw":
        return reflect_raw(argv[2], int(argv[3]))
    if mode == "reflect-udp":
        return reflect_udp(argv[2], argv[3], int(argv[4]), int(argv[5]))
    if mode == "tcp-echo":
        return tcp_echo(int(argv[2]), int(argv[3]) if len(argv) > 3 else None)
    if mode == "tcp-client":
        return tcp_client(argv[2], int(argv[3]), int(argv[4]))
    if mode == "tcp-bulk":
        return tcp_bulk(argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
    if mode == "tcp-short":
        return tcp_short(argv[2], int(argv[3]), int(argv[4]))
    if mode == "udp-echo":
        return udp_echo(argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
    if mode == "udp-late-echo":
        return udp_late_echo(int(argv[2]), float(argv[3]))
    if mode == "udp-refused":
        return udp_refused(argv[2], int(argv[3]))
    if mode == "udp-blast":
        return udp_blast(argv[2], int(argv[3]), int(argv[4]), int(argv[5]), int(argv[6]))
    sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv) else 1)
