#!/usr/bin/env python3
"""Clients for dp_httpd_test.sh (tern-httpd with the kernel as the client).

  dp_httpd.py pipeline ADDR PORT   two requests in one send: both answered,
                                   in order (200 for /hello, then 404)
  dp_httpd.py bad ADDR PORT        a malformed request: 400, then the close;
                                   HTTP/2.0: 505
  dp_httpd.py slow ADDR PORT SECS  half a request, then silence: 408 within
                                   SECS + 3 s, and not before SECS
  dp_httpd.py limit ADDR PORT N    N connections each served (kept open),
                                   the next one reset; once they close, a
                                   new one is served again
  dp_httpd.py ws-echo ADDR PORT    /ws/echo: text and binary round trips
  dp_httpd.py ws-chat ADDR PORT    /ws/chat: two clients, a line from A
                                   reaches B (and A)
  dp_httpd.py ws-room ADDR PORT N M  /ws/chat: N clients (N source ports,
                                   so on several cores the flows spread)
                                   each send M lines at once; every client
                                   hears all N x M, each sender's in order
  dp_httpd.py silent ADDR PORT SECS  (with --ca) a TCP connection that never
                                   starts its TLS handshake: closed by the
                                   server within SECS + 3 s, not before SECS

--ca CAFILE before the command: every connection is TLS (https, wss),
verifying the server's certificate against CAFILE and its address.

Each prints what it saw and exits 0 when it is right, 1 otherwise.  The ws
commands need the websockets package (Debian's python3-websockets).
"""
import asyncio
import socket
import ssl
import sys
import time

# --ca: the client context (None: plain TCP).
TLS = None


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def connect(addr, port):
    s = socket.create_connection((addr, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if TLS:
        s = TLS.wrap_socket(s, server_hostname=addr)
    return s


def ws_url(addr, port, path):
    return "%s://%s:%d%s" % ("wss" if TLS else "ws", addr, port, path)


def silent(addr, port, secs):
    s = socket.create_connection((addr, port), timeout=secs + 3)
    t0 = time.monotonic()
    try:
        got = s.recv(100)
    except ConnectionResetError:
        got = b""
    except socket.timeout:
        fail("silent client: still open after %.1f s" % (secs + 3))
    dt = time.monotonic() - t0
    if got:
        fail("silent client: got %r" % got[:40])
    if dt < secs * 0.9:
        fail("silent client: closed after %.2f s, before the %.1f s timeout" % (dt, secs))
    print("silent client: closed after %.2f s" % dt)


def read_response(f):
    """One response from a buffered socket file: (status, headers, body)."""
    line = f.readline()
    if not line:
        return None
    parts = line.decode("latin-1").split(" ", 2)
    status = int(parts[1])
    headers = {}
    while True:
        h = f.readline().decode("latin-1")
        if h in ("\r\n", ""):
            break
        k, v = h.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    body = f.read(int(headers.get("content-length", "0")))
    return status, headers, body


def pipeline(addr, port):
    s = connect(addr, port)
    s.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
              b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n"
              b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    f = s.makefile("rb")
    got = [read_response(f) for _ in range(3)]
    print("pipelined:", [(g[0], g[2]) if g else None for g in got])
    if [g[0] if g else None for g in got] != [200, 404, 200]:
        fail("want 200, 404, 200 in order")
    if got[0][2] != b"Hello, world!\n" or got[2][2] != b"Hello, world!\n":
        fail("a /hello body is wrong")
    if f.read(1) != b"":
        fail("the connection stayed open after Connection: close")
    print("pipelined: 3 responses in order, closed after Connection: close")


def expect_status(addr, port, req, want):
    s = connect(addr, port)
    s.sendall(req)
    f = s.makefile("rb")
    r = read_response(f)
    if not r or r[0] != want:
        fail("%r: want %d, got %r" % (req[:40], want, r))
    if r[1].get("connection") != "close":
        fail("%r: no Connection: close" % req[:40])
    if f.read(1) != b"":
        fail("%r: the connection stayed open" % req[:40])
    print("%r -> %d, closed" % (req[:40], want))


def bad(addr, port):
    expect_status(addr, port, b"BLAH\r\n\r\n", 400)
    expect_status(addr, port, b"GET /hello HTTP/1.1\r\nBad Header\r\n\r\n", 400)
    expect_status(addr, port, b"\x00\xff\x10garbage\r\n\r\n", 400)
    expect_status(addr, port, b"GET /hello HTTP/2.0\r\n\r\n", 505)


def slow(addr, port, secs):
    s = connect(addr, port)
    t0 = time.monotonic()
    s.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\n")
    s.settimeout(secs + 3)
    f = s.makefile("rb")
    r = read_response(f)
    dt = time.monotonic() - t0
    if not r or r[0] != 408:
        fail("slow client: want 408, got %r" % (r,))
    if dt < secs * 0.9:
        fail("slow client: 408 after %.2f s, before the %.1f s timeout" % (dt, secs))
    print("slow client: 408 after %.2f s" % dt)


def hello_on(s):
    s.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
    r = read_response(s.makefile("rb"))
    return r is not None and r[0] == 200


def limit(addr, port, n):
    held = [connect(addr, port) for _ in range(n)]
    for i, s in enumerate(held):
        if not hello_on(s):
            fail("limit: connection %d of %d not served" % (i + 1, n))
    try:
        # (The reset may come before connect returns.)
        extra = connect(addr, port)
        extra.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        got = extra.recv(100)
    except (ConnectionResetError, BrokenPipeError):
        got = b""
    if got:
        fail("limit: connection %d was served: %r" % (n + 1, got[:40]))
    print("limit: %d connections served, number %d reset" % (n, n + 1))
    for s in held:
        s.close()
    deadline = time.monotonic() + 10
    while True:
        try:
            if hello_on(connect(addr, port)):
                break
        except (ConnectionResetError, BrokenPipeError):
            pass
        if time.monotonic() > deadline:
            fail("limit: no connection served after the others closed")
        time.sleep(0.05)
    print("limit: served again once they closed")


async def ws_echo(addr, port):
    import websockets
    async with websockets.connect(ws_url(addr, port, "/ws/echo"), ssl=TLS) as ws:
        for msg in ["hello tern", "x" * 70000, b"\x00\x01binary\xff" * 100]:
            await ws.send(msg)
            back = await asyncio.wait_for(ws.recv(), 10)
            if back != msg or type(back) != type(msg):
                fail("ws echo: %s of %d bytes came back different" %
                     (type(msg).__name__, len(msg)))
            print("ws echo: %s of %d bytes back" % (type(msg).__name__, len(msg)))
        pong = await ws.ping(b"tern")
        await asyncio.wait_for(pong, 10)
        print("ws echo: ping answered")


async def ws_chat(addr, port):
    import websockets
    url = ws_url(addr, port, "/ws/chat")
    async with websockets.connect(url, ssl=TLS) as a, \
            websockets.connect(url, ssl=TLS) as b:
        # Both are members once their handshakes are done; a line from
        # A reaches both.
        await a.send("hello from A")
        got_b = await asyncio.wait_for(b.recv(), 10)
        got_a = await asyncio.wait_for(a.recv(), 10)
        if got_b != "hello from A" or got_a != "hello from A":
            fail("ws chat: B got %r, A got %r" % (got_b, got_a))
        await b.send("and from B")
        if await asyncio.wait_for(a.recv(), 10) != "and from B":
            fail("ws chat: A did not hear B")
        print("ws chat: A -> B and B -> A")


async def ws_room(addr, port, n, m):
    import websockets
    url = ws_url(addr, port, "/ws/chat")
    clients = [await websockets.connect(url, ssl=TLS, max_queue=None)
               for _ in range(n)]
    try:
        # Every client is a member once its handshake is done (the server
        # joins it to the room before it reads): the lines may start.
        async def talk(i, ws):
            for k in range(m):
                await ws.send("c%d %d" % (i, k))

        async def listen(i, ws):
            nxt = [0] * n
            for _ in range(n * m):
                line = await asyncio.wait_for(ws.recv(), 20)
                who, k = line[1:].split()
                who, k = int(who), int(k)
                if k != nxt[who]:
                    fail("ws room: client %d heard line %d of client %d, want %d" %
                         (i, k, who, nxt[who]))
                nxt[who] += 1

        await asyncio.gather(*[talk(i, ws) for i, ws in enumerate(clients)],
                             *[listen(i, ws) for i, ws in enumerate(clients)])
    except asyncio.TimeoutError:
        fail("ws room: a client waited 20 s for a line (lost?)")
    finally:
        for ws in clients:
            await ws.close()
    print("ws room: %d clients heard all %d lines, each sender's in order" % (n, n * m))


def main():
    global TLS
    if sys.argv[1] == "--ca":
        TLS = ssl.create_default_context(cafile=sys.argv[2])
        del sys.argv[1:3]
    cmd, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if cmd == "pipeline":
        pipeline(addr, port)
    elif cmd == "bad":
        bad(addr, port)
    elif cmd == "slow":
        slow(addr, port, float(sys.argv[4]))
    elif cmd == "limit":
        limit(addr, port, int(sys.argv[4]))
    elif cmd == "ws-echo":
        asyncio.run(ws_echo(addr, port))
    elif cmd == "ws-chat":
        asyncio.run(ws_chat(addr, port))
    elif cmd == "ws-room":
        asyncio.run(ws_room(addr, port, int(sys.argv[4]), int(sys.argv[5])))
    elif cmd == "silent":
        silent(addr, port, float(sys.argv[4]))
    else:
        fail("unknown command " + cmd)


if __name__ == "__main__":
    main()
