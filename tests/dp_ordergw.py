#!/usr/bin/env python3
"""Kernel-side peers for tern-ordergw's and tern-load's tap tests.

  dp_ordergw.py orders HOST PORT N
      Plays three clients of the order gateway (apps/ordergw_msg.h) from
      kernel sockets:
        A sends N orders (one of them split across two segments), then
          one with quantity 0: N accepted acks with distinct non-zero
          order ids and one rejected ack (reason 2, bad quantity), each
          echoing the client order id, send time and quantity;
        B sends one good order (acked), then a message with a bad magic:
          the gateway must close B (EOF or a reset) within 5 s;
        C sends an order whose length field says 40 (an ack's): closed;
        A, still open, sends N more orders: all acked.
      Prints "orders acked X rejected Y closed Z" and exits 0 when all
      holds.

  dp_ordergw.py http ADDR PORT
      A keep-alive HTTP/1.1 server (http.server, threaded) on ADDR:PORT:
      /  200 with a fixed 13-byte body ("hello, tern!\\n", Content-Length),
      /chunked 200 with a chunked body, /close 200 and Connection: close,
      /stall no answer (the connection held until the client ends it),
      anything else 404.  Prints
      "listening" once bound, the first request's head as
      "first request: " and its Python repr (the request line and the
      fields as received, each line ending in \\r\\n), serves until
      SIGTERM, then prints "served N".
"""
import signal
import socket
import struct
import sys
import threading
import time

MAGIC, VERSION, NEW_ORDER, ACK = 0x4F47, 1, 1, 2
ORDER = struct.Struct(">HBBHHQ8sB3xIqQ")   # 48 bytes
ACKS = struct.Struct(">HBBHHQQQBBHI")       # 40 bytes
assert ORDER.size == 48 and ACKS.size == 40


def order(cid, qty=100, side=1, price=1234500, symbol=b"ACME", length=48, magic=MAGIC):
    return ORDER.pack(magic, VERSION, NEW_ORDER, length, 0, cid, symbol, side, qty, price,
                      cid * 1000 + 7)


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def read_ack(s):
    f = ACKS.unpack(recv_exact(s, ACKS.size))
    magic, ver, typ, length, flags, oid, cid, send_ns, status, reason, res, qty = f
    assert (magic, ver, typ, length, flags, res) == (MAGIC, VERSION, ACK, 40, 0, 0), f
    return oid, cid, send_ns, status, reason, qty


def connect(host, port):
    s = socket.create_connection((host, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def expect_closed(s, name):
    s.settimeout(5)
    try:
        while True:
            if not s.recv(4096):
                return
    except ConnectionResetError:
        return
    except socket.timeout:
        sys.exit(f"{name}: the gateway did not close the connection after a bad message")


def orders(host, port, n):
    ids = set()
    acked = rejected = closed = 0

    def send_batch(s, first, count):
        nonlocal acked
        data = b"".join(order(cid) for cid in range(first, first + count))
        if first == 1:
            # One order split across two segments: framing must join them.
            s.sendall(data[:20])
            time.sleep(0.05)
            s.sendall(data[20:])
        else:
            s.sendall(data)
        for cid in range(first, first + count):
            oid, rcid, send_ns, status, reason, qty = read_ack(s)
            if (rcid, send_ns, status, reason, qty) != (cid, cid * 1000 + 7, 1, 0, 100):
                sys.exit(f"ack for {cid}: {(oid, rcid, send_ns, status, reason, qty)}")
            if oid == 0 or oid in ids:
                sys.exit(f"ack for {cid}: order id {oid} is zero or repeated")
            ids.add(oid)
            acked += 1

    a = connect(host, port)
    send_batch(a, 1, n)
    a.sendall(order(n + 1, qty=0))
    oid, rcid, _, status, reason, qty = read_ack(a)
    if (oid, rcid, status, reason, qty) != (0, n + 1, 2, 2, 0):
        sys.exit(f"the order with qty 0: {(oid, rcid, status, reason, qty)}, want rejected")
    rejected += 1

    b = connect(host, port)
    b.sendall(order(9001))
    oid, rcid, _, status, _, _ = read_ack(b)
    if rcid != 9001 or status != 1:
        sys.exit("B: its good order was not acked")
    acked += 1
    b.sendall(order(9002, magic=0x1234))
    expect_closed(b, "B (bad magic)")
    closed += 1

    c = connect(host, port)
    c.sendall(order(9101, length=40))
    expect_closed(c, "C (bad length)")
    closed += 1

    send_batch(a, n + 2, n)
    a.close()
    b.close()
    c.close()
    print(f"orders acked {acked} rejected {rejected} closed {closed}")


def http(addr, port):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    served = [0]
    lock = threading.Lock()

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Buffered: each response leaves in one write (handle_one_request
        # flushes), not headers and body apart behind Nagle.
        wbufsize = -1

        def do_GET(self):
            with lock:
                served[0] += 1
                first = served[0] == 1
            if first:
                head = self.requestline + "\r\n" + "".join(
                    f"{k}: {v}\r\n" for k, v in self.headers.items()) + "\r\n"
                print(f"first request: {head!r}", flush=True)
            if self.path == "/":
                body = b"hello, tern!\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif self.path == "/chunked":
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.write(b"5\r\nhello\r\n7;x=1\r\n, tern!\r\n0\r\n\r\n")
            elif self.path == "/stall":
                with lock:
                    served[0] -= 1  # (not answered)
                try:
                    while self.rfile.read(1):
                        pass
                except OSError:
                    pass
                self.close_connection = True
            elif self.path == "/close":
                body = b"bye\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer((addr, port), H)
    srv.daemon_threads = True

    def stop(*_):
        threading.Thread(target=srv.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    print("listening", flush=True)
    srv.serve_forever()
    print(f"served {served[0]}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "orders":
        orders(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "http":
        http(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)
