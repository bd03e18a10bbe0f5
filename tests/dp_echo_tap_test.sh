#!/usr/bin/env bash
# The protocol stack with the kernel as the peer, over net_tap.  In a
# namespace of its own, tern-echo serves UDP port 7 at 10.99.0.2 on a tap
# device; the kernel side gets 10.99.0.1/24.  From the kernel: ping gets
# replies (ARP resolved both ways on the way), a 4,000-byte ping
# (fragmented both ways) too; 100 UDP datagrams of 1..8000 random bytes
# come back byte-exact; a datagram to a closed port (9) is answered with
# ICMP port unreachable (ECONNREFUSED on a connected socket).  SIGINT
# ends it: exit 0, and the tap device is gone with the port.
#
# usage: dp_echo_tap_test.sh TERN-ECHO
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

echo_app=$1
dp_need_root
ns=tn-echo-$$ tap=tnecho$$

dp_netns "$ns" || dp_fail "cannot create a network namespace"
ip -n "$ns" link set lo up
# No IPv6 on the tap: nothing but what the test sends.
ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1

dp_start echo ip netns exec "$ns" "$echo_app" -l 1 --no-huge -m 256 --no-pci \
	--file-prefix "$(dp_prefix echo)" --vdev="net_tap0,iface=$tap" -- \
	--ip 10.99.0.2/24 --udp 7 --link-timeout 0
dp_wait_ready echo 30
# "ready" is the ports'; the socket is bound by the main task after it.
dp_wait_for "$DP_TMP/echo.out" '^echo: udp port 7$' 10 "${DP_PID[echo]}" ||
	dp_fail "tern-echo: no socket on udp port 7"
ip -n "$ns" link show "$tap" >/dev/null 2>&1 || dp_fail "no $tap in $ns"
ip -n "$ns" addr add 10.99.0.1/24 dev "$tap" || dp_fail "cannot address $tap"
ip -n "$ns" link set "$tap" up || dp_fail "cannot bring $tap up"

# nsrun NAME CMD...: CMD in the namespace, output shown and kept.
nsrun() {
	local name=$1
	shift
	ip netns exec "$ns" "$@" >"$DP_TMP/$name.log" 2>&1
	local rc=$?
	cat "$DP_TMP/$name.log"
	return $rc
}

nsrun ping ping -n -c 3 -i 0.2 -W 2 10.99.0.2 || dp_fail "ping: no replies"
grep -q '3 received' "$DP_TMP/ping.log" || dp_fail "ping: not every request answered"
ip -n "$ns" neigh show 10.99.0.2 dev "$tap" | grep -q lladdr ||
	dp_fail "the kernel has no ARP entry for 10.99.0.2"

nsrun ping_frag ping -n -c 3 -i 0.2 -W 2 -s 4000 10.99.0.2 ||
	dp_fail "ping -s 4000: no replies"
grep -q '3 received' "$DP_TMP/ping_frag.log" || dp_fail "ping -s 4000: not every request answered"

nsrun udp python3 - <<'EOF' || dp_fail "UDP: see above"
import os, random, socket, sys

rng = random.Random(7)
sizes = [1, 8000] + [rng.randint(1, 8000) for _ in range(98)]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect(("10.99.0.2", 7))
bad = 0
for i, n in enumerate(sizes):
    data = os.urandom(n)
    s.send(data)
    try:
        got = s.recv(65535)
    except socket.timeout:
        print(f"datagram {i} ({n} bytes): no echo")
        bad += 1
        continue
    if got != data:
        print(f"datagram {i} ({n} bytes): echo of {len(got)} bytes differs")
        bad += 1
print(f"udp echo: {len(sizes) - bad}/{len(sizes)} byte-exact, sizes {min(sizes)}..{max(sizes)}")

c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(2)
c.connect(("10.99.0.2", 9))
c.send(b"anyone?")
try:
    c.recv(100)
    print("port 9: got a reply, want ICMP port unreachable")
    bad += 1
except ConnectionRefusedError:
    print("port 9: connection refused (ICMP port unreachable)")
except socket.timeout:
    print("port 9: no ICMP port unreachable")
    bad += 1
sys.exit(1 if bad else 0)
EOF

kill -INT "${DP_PID[echo]}"
dp_wait_exit echo 20 || dp_fail "tern-echo did not exit within 20 s of SIGINT"
((DP_RC == 0)) || dp_fail "tern-echo exited with $DP_RC after SIGINT, want 0"
cat "$DP_TMP/echo.out"
grep -Eq '^udp 7: echoed 100 datagrams' "$DP_TMP/echo.out" ||
	dp_fail "tern-echo did not count 100 echoed datagrams"
ip -n "$ns" link show "$tap" >/dev/null 2>&1 && dp_fail "$tap outlived the port"

echo "dp_echo_tap: passed"
