#!/usr/bin/env python3
"""The kernel's side of the dataplane namespace tests (dp_tap_test.sh,
dp_afxdp_test.sh), run with `ip netns exec`.  Standard library only:
AF_PACKET sockets for raw frames, plain sockets for UDP and TCP.

  reflect-raw IFACE N      sends N UDP frames on IFACE from its MAC to
                           02:00:00:00:00:02 and waits for each to come
                           back with the two MACs swapped
  reflect-udp IFACE DST PORT N
                           sends N datagrams to DST:PORT from a kernel
                           socket and sniffs IFACE for each to come back
                           with swapped MACs (and the same IP header)
  tcp-echo PORT            echo server for one connection at a time
  tcp-client HOST PORT SIZE
                           sends SIZE bytes and checks they come back

Prints one result line; exits 0 on success, 1 on failure.
"""
import os
import socket
import struct
import sys
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


def tcp_echo(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(4)
    out("listening")
    while True:
        c, _ = s.accept()
        c.settimeout(30)
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
        c.close()


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


def main(argv):
    mode = argv[1]
    if mode == "reflect-raw":
        return reflect_raw(argv[2], int(argv[3]))
    if mode == "reflect-udp":
        return reflect_udp(argv[2], argv[3], int(argv[4]), int(argv[5]))
    if mode == "tcp-echo":
        return tcp_echo(int(argv[2]))
    if mode == "tcp-client":
        return tcp_client(argv[2], int(argv[3]), int(argv[4]))
    sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv) else 1)
