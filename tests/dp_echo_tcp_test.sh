#!/usr/bin/env bash
# TCP with the kernel as the peer, over net_tap, in a namespace of its
# own (the structure of dp_echo_tap_test.sh).  tern-echo serves TCP port
# 7 at 10.99.0.2; the kernel side is 10.99.0.1/24.
#
#  1. A kernel client (python) sends 8 MB and reads the echo concurrently:
#     sha256 equal both ways; the throughput is printed.
#  2. nc and curl talk to it (curl's HTTP request comes back verbatim).
#  3. 300 short connections in a row, every other one closed first by
#     the kernel (TIME-WAIT on the kernel's side) or by tern (its FIN
#     first, the kernel's shutdown before): all echo correctly.
#  4. tern-echo as the client against a kernel echo server (python, port
#     9007): 8 x 1 MiB requests echoed byte-exact, then 200 --reconnect
#     requests (tern closes first: TIME-WAIT on tern's side).
# SIGINT ends the server: exit 0 and its counters.
#
# usage: dp_echo_tcp_test.sh TERN-ECHO
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

echo_app=$1
dp_need_root
ns=tn-tcp-$$ tap=tntcp$$

dp_netns "$ns" || dp_fail "cannot create a network namespace"
ip -n "$ns" link set lo up
ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1

# The kernel's echo server for part 4, first: it binds any address.
dp_start kserver ip netns exec "$ns" python3 -c '
import socket, threading
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", 9007))
srv.listen(64)
print("listening", flush=True)
def serve(c):
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        c.sendall(b)
    c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
'
dp_wait_for "$DP_TMP/kserver.out" '^listening$' 10 "${DP_PID[kserver]}" ||
	dp_fail "the kernel echo server did not start"

dp_start echo ip netns exec "$ns" "$echo_app" -l 1 --no-huge -m 512 --no-pci \
	--file-prefix "$(dp_prefix echo)" --vdev="net_tap0,iface=$tap" -- \
	--ip 10.99.0.2/24 --tcp 7 --link-timeout 0
dp_wait_ready echo 30
dp_wait_for "$DP_TMP/echo.out" '^echo: tcp port 7$' 10 "${DP_PID[echo]}" ||
	dp_fail "tern-echo: no listener on tcp port 7"
ip -n "$ns" link show "$tap" >/dev/null 2>&1 || dp_fail "no $tap in $ns"
ip -n "$ns" addr add 10.99.0.1/24 dev "$tap" || dp_fail "cannot address $tap"
ip -n "$ns" link set "$tap" up || dp_fail "cannot bring $tap up"

nsrun() {
	local name=$1
	shift
	ip netns exec "$ns" "$@" >"$DP_TMP/$name.log" 2>&1
	local rc=$?
	cat "$DP_TMP/$name.log"
	return $rc
}

# 1. Bulk, both ways at once.
nsrun bulk timeout 60 python3 - <<'EOF' || dp_fail "bulk echo: see above"
import hashlib, os, socket, sys, threading, time

N = 8 << 20
data = os.urandom(N)
s = socket.create_connection(("10.99.0.2", 7), timeout=20)
got = bytearray()
def reader():
    while len(got) < N:
        b = s.recv(1 << 20)
        if not b:
            break
        got.extend(b)
t0 = time.time()
th = threading.Thread(target=reader)
th.start()
s.sendall(data)
s.shutdown(socket.SHUT_WR)
th.join(30)
dt = time.time() - t0
tail = s.recv(10)
s.close()
a, b = hashlib.sha256(data).hexdigest(), hashlib.sha256(bytes(got)).hexdigest()
print(f"bulk: sent {N} got {len(got)} in {dt:.2f} s ({N / dt / 1e6:.1f} MB/s each way)")
print(f"sha256 sent {a}\nsha256 got  {b}")
sys.exit(0 if a == b and tail == b"" else 1)
EOF

# 2. nc and curl.
echo "hello from nc" | ip netns exec "$ns" timeout 10 nc -q 2 10.99.0.2 7 >"$DP_TMP/nc.log" 2>&1
grep -qx "hello from nc" "$DP_TMP/nc.log" || { cat "$DP_TMP/nc.log"; dp_fail "nc: no echo"; }
echo "nc: echoed"
# (The echo is an HTTP/0.9 "response" that ends when the connection
# does, which an echo server never ends first: curl stops at -m.)
ip netns exec "$ns" timeout 10 curl -s --http0.9 -m 2 -o "$DP_TMP/curl.out" \
	http://10.99.0.2:7/tern-echo-path >/dev/null 2>&1
grep -q "^GET /tern-echo-path HTTP/1.1" "$DP_TMP/curl.out" ||
	{ cat "$DP_TMP/curl.out"; dp_fail "curl: its request did not come back"; }
echo "curl: its request came back"

# 3. Short connections in a row.
nsrun short timeout 60 python3 - <<'EOF' || dp_fail "short connections: see above"
import os, socket, struct, sys
bad = 0
for i in range(300):
    s = socket.create_connection(("10.99.0.2", 7), timeout=5)
    msg = os.urandom(1 + i * 13 % 3000)
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        b = s.recv(65536)
        if not b:
            break
        got += b
    if got != msg:
        bad += 1
    if i % 2:
        s.close()
    else:
        # Our FIN first, then tern's (it closes once it sees ours).
        s.shutdown(socket.SHUT_WR)
        if s.recv(10) != b"":
            bad += 1
        s.close()
print(f"short connections: 300, bad {bad}")
sys.exit(1 if bad else 0)
EOF

kill -INT "${DP_PID[echo]}"
dp_wait_exit echo 20 || dp_fail "tern-echo did not exit within 20 s of SIGINT"
((DP_RC == 0)) || dp_fail "tern-echo exited with $DP_RC after SIGINT, want 0"
cat "$DP_TMP/echo.out"
grep -Eq '^tcp 7: accepted 30[0-9] connections' "$DP_TMP/echo.out" ||
	dp_fail "tern-echo did not count the connections"

dp_start client ip netns exec "$ns" "$echo_app" -l 1 --no-huge -m 512 --no-pci \
	--file-prefix "$(dp_prefix client)" --vdev="net_tap1,iface=$tap" -- \
	--ip 10.99.0.2/24 --client 10.99.0.1:9007 --tcp --size 1048576 --count 8 --window 2 \
	--timeout 10000 --link-timeout 0
# (The tap device is re-created by the new process: address it again.)
dp_wait_ready client 30
ip -n "$ns" addr add 10.99.0.1/24 dev "$tap" 2>/dev/null
ip -n "$ns" link set "$tap" up
dp_wait_exit client 60 || dp_fail "tern-echo --client --tcp did not finish in 60 s"
cat "$DP_TMP/client.out"
((DP_RC == 0)) || dp_fail "tern-echo --client --tcp exited with $DP_RC"
grep -Eq '^summary: sent 8 recv 8 lost 0 bad 0' "$DP_TMP/client.out" ||
	dp_fail "tern client: not every 1 MiB request came back byte-exact"

# 4. tern-echo as the client against a kernel echo server (bound to any
# address: the tap, and its address, come and go with the Tern process).
# The client's first SYN may go before the kernel side is up: it retries.
tern_client() {
	local name=$1
	shift
	dp_start "$name" ip netns exec "$ns" "$echo_app" -l 1 --no-huge -m 512 --no-pci \
		--file-prefix "$(dp_prefix "$name")" --vdev="net_tap0,iface=$tap" -- \
		--ip 10.99.0.2/24 --client 10.99.0.1:9007 --tcp --link-timeout 0 "$@"
	dp_wait_ready "$name" 30
	ip -n "$ns" addr add 10.99.0.1/24 dev "$tap" 2>/dev/null
	ip -n "$ns" link set "$tap" up
	dp_wait_exit "$name" 90 || dp_fail "$name did not finish in 90 s"
	cat "$DP_TMP/$name.out"
	((DP_RC == 0)) || dp_fail "$name exited with $DP_RC"
}
tern_client bulkc --size 1048576 --count 8 --window 2 --timeout 20000
grep -Eq '^summary: sent 8 recv 8 lost 0 bad 0' "$DP_TMP/bulkc.out" ||
	dp_fail "tern client: not every 1 MiB request came back byte-exact"
tern_client shortc --size 100 --count 200 --reconnect --timeout 5000
grep -Eq '^summary: sent 200 recv 200 lost 0 bad 0' "$DP_TMP/shortc.out" ||
	dp_fail "tern client: not every short connection echoed"
grep -Eq '^tcp: 200 connections' "$DP_TMP/shortc.out" ||
	dp_fail "tern client: not 200 connections"

echo "dp_echo_tcp: passed"
