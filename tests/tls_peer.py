#!/usr/bin/env python3
"""The kernel's side of dp_tls_tap_test.sh: Python's ssl (the system's
OpenSSL) against tern-echo's TLS.

  tls_peer.py echo PORT CERT KEY SEED
      a TLS echo server: one thread per connection echoes everything
      until the client's close_notify, answers it with ours, and prints
      "tls-echo: PEER: sni NAME, VERSION, echoed N bytes, the seed S
      stream: yes|NO, close_notify: yes|NO" (or "handshake failed: ...").
  tls_peer.py client HOST PORT NBYTES SEED CAFILE NAME
      a verifying client: NBYTES of the seeded stream (dp_net.py's
      Stream) sent in 32 KiB pieces, each echo read back and compared,
      then close_notify, waiting for the server's; exit 0 when all
      matched and it came.
  tls_peer.py reject HOST PORT CAFILE NAME
      a verifying client that must fail the handshake on the server's
      certificate (exit 0 if it did).
"""
import os
import socket
import ssl
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from dp_net import Stream  # noqa: E402


def out(*a):
    print(*a, flush=True)


def echo_conn(ctx, raw, peer, seed):
    raw.settimeout(60)
    tag = f"tls-echo: {peer[0]}:{peer[1]}"
    try:
        c = ctx.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError) as e:
        out(f"{tag}: handshake failed: {e}")
        raw.close()
        return
    want, same, n, clean = Stream(seed), True, 0, False
    try:
        while True:
            b = c.recv(1 << 16)
            if not b:  # the peer's close_notify (a bare FIN raises)
                clean = True
                break
            n += len(b)
            same = same and want.read(len(b)) == b
            c.sendall(b)
        c = c.unwrap()  # ours back
    except (ssl.SSLError, OSError) as e:
        out(f"{tag}: {e}")
    c.close()
    out(f"{tag}: sni {ctx.tern_sni.get(peer)}, "
        f"echoed {n} bytes, the seed {seed} stream: {'yes' if same else 'NO'}, "
        f"close_notify: {'yes' if clean else 'NO'}")


def echo(port, cert, key, seed):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.tern_sni = {}

    def on_sni(sock, name, _ctx):
        ctx.tern_sni[sock.getpeername()] = name
    ctx.sni_callback = on_sni
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(16)
    out("listening")
    while True:
        raw, peer = s.accept()
        threading.Thread(target=echo_conn, args=(ctx, raw, peer, seed), daemon=True).start()


def verifying(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def client(host, port, nbytes, seed, cafile, name):
    ctx = verifying(cafile)
    c = ctx.wrap_socket(socket.create_connection((host, port), timeout=30),
                        server_hostname=name)
    out(f"tls-client: {c.version()} {c.cipher()[0]}")
    src, sent, ok = Stream(seed), 0, True
    while sent < nbytes:
        piece = src.read(min(32768, nbytes - sent))
        c.sendall(piece)
        got = b""
        while len(got) < len(piece):
            b = c.recv(len(piece) - len(got))
            if not b:
                out(f"tls-client: the stream ended after {sent + len(got)} bytes")
                return 1
            got += b
        if got != piece:
            out(f"tls-client: the echo differs in bytes {sent}..{sent + len(piece)}")
            ok = False
            break
        sent += len(piece)
    c = c.unwrap()  # close_notify, and the server's back
    c.close()
    out(f"tls-client: echoed {sent} bytes byte-exact: {'yes' if ok else 'NO'}, "
        f"close_notify back: yes")
    return 0 if ok else 1


def reject(host, port, cafile, name):
    ctx = verifying(cafile)
    raw = socket.create_connection((host, port), timeout=30)
    try:
        ctx.wrap_socket(raw, server_hostname=name).close()
    except ssl.SSLCertVerificationError as e:
        out(f"tls-reject: rejected: {e.verify_message}")
        return 0
    out("tls-reject: the handshake succeeded")
    return 1


def main(argv):
    cmd, a = argv[1], argv[2:]
    if cmd == "echo":
        echo(int(a[0]), a[1], a[2], int(a[3]))
    elif cmd == "client":
        return client(a[0], int(a[1]), int(a[2]), int(a[3]), a[4], a[5])
    elif cmd == "reject":
        return reject(a[0], int(a[1]), a[2], a[3])
    else:
        out(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
