#!/usr/bin/env bash
# tern-echo --sockperf measured by the standard sockperf client.  In a
# namespace of its own, tern-echo serves sockperf's UDP format on three
# ports; the kernel is the client:
#   tap    tern-echo at 10.123.45.2 on a tap device, the kernel side
#          10.123.45.1/24;
#   afxdp  tern-echo on net_af_xdp on one end of a veth pair, the kernel
#          in another namespace on the other end (dp_echo_lib.sh's
#          echo_afxdp_net).
#
# - Port C, from Python: messages that want no answer (no pong flag,
#   warm-up, a server's message) get none, bad datagrams (too short, a
#   length field that is not the datagram's size) are dropped, and pong
#   requests (one of 14 bytes, one fragmented, one with an unknown flag
#   bit) are answered byte for byte as sockperf's own server answers
#   them: the well-formed ones also go to a real `sockperf server` on
#   the kernel side, and the two sets of replies must be equal.
# - Port A: `sockperf ping-pong`, port B: `sockperf under-load`; both
#   must finish and report no dropped, duplicated or out-of-order
#   messages.
# - At SIGINT tern-echo exits 0 and its counters match: every ping-pong
#   message answered, exactly every --reply-every'th under-load message
#   answered and the rest not, two bad datagrams, nothing dropped.
# - --sockperf with tern-echo's own client is a usage error (exit 2).
#
# usage: dp_sockperf_test.sh TERN-ECHO [tap|afxdp]
source "$(dirname "$(realpath "$0")")/dp_lib.sh"
source "$(dirname "$(realpath "$0")")/dp_echo_lib.sh"

echo_app=$1 mode=${2:-tap}
[[ $mode == tap || $mode == afxdp ]] || dp_fail "mode '$mode': want tap or afxdp"
dp_need_root
command -v sockperf >/dev/null || dp_skip "no sockperf (apt-get install sockperf)"
ns=tn-sockperf-$$ tap=tnsp$$
ip=10.123.45.2 port_pp=11111 port_ul=11112 port_py=11113 port_ref=11114
every=10

# The client is sockperf: tern-echo's own client refuses the option
# before the EAL starts.
"$echo_app" -l 0 --no-huge -m 64 --no-pci --file-prefix "$(dp_prefix cli)" -- \
	--ip 10.123.45.1/24 --client $ip:$port_pp --udp --sockperf >"$DP_TMP/cli.out" 2>&1
rc=$?
((rc == 2)) && grep -q -- '--sockperf is a server option' "$DP_TMP/cli.out" || {
	cat "$DP_TMP/cli.out"
	dp_fail "tern-echo --client --sockperf: exit $rc, want 2 and a message"
}

# --idle sleep: on a small shared machine a busy-polling core takes the
# CPU that sockperf's receiving thread needs to be woken (under-load's
# latencies then reach milliseconds); this test is about the format.
sockperf_opts=(--udp $port_pp --udp $port_ul --udp $port_py --sockperf --idle sleep)
if [[ $mode == tap ]]; then
	dp_netns "$ns" || dp_fail "cannot create a network namespace"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	dp_start echo ip netns exec "$ns" "$echo_app" -l 1 --no-huge -m 256 --no-pci \
		--file-prefix "$(dp_prefix sockperf)" --vdev="net_tap0,iface=$tap" -- \
		--ip $ip/24 "${sockperf_opts[@]}" --link-timeout 0
else
	echo_afxdp_net
	ns=$ECHO_NS ip=$ECHO_ADDR
	echo_start echo "$echo_app" "${sockperf_opts[@]}"
fi
dp_wait_ready echo 30
dp_wait_for "$DP_TMP/echo.out" "^echo: udp port $port_py \\(sockperf\\)$" 10 "${DP_PID[echo]}" ||
	dp_fail "tern-echo: no sockperf socket on udp port $port_py"
if [[ $mode == tap ]]; then
	ip -n "$ns" link show "$tap" >/dev/null 2>&1 || dp_fail "no $tap in $ns"
	ip -n "$ns" addr add 10.123.45.1/24 dev "$tap" || dp_fail "cannot address $tap"
	ip -n "$ns" link set "$tap" up || dp_fail "cannot bring $tap up"
fi

# The reference: sockperf's own server, on the kernel side.
dp_start ref ip netns exec "$ns" sockperf server -i 127.0.0.1 -p $port_ref

# nsrun NAME CMD...: CMD in the namespace, output shown and kept.
nsrun() {
	local name=$1
	shift
	ip netns exec "$ns" "$@" >"$DP_TMP/$name.log" 2>&1
	local rc=$?
	cat "$DP_TMP/$name.log"
	return $rc
}

nsrun format python3 - $ip $port_py 127.0.0.1 $port_ref <<'EOF' || dp_fail "format: see above"
import os, socket, struct, sys, time

tern = (sys.argv[1], int(sys.argv[2]))
ref = (sys.argv[3], int(sys.argv[4]))

def msg(seq, flags, payload=b"", length=None):
    n = 14 + len(payload) if length is None else length
    return struct.pack(">QHI", seq, flags, n) + payload

quiet = [msg(2, 0x1, os.urandom(20)),   # a client's, no pong request
         msg(3, 0x7, os.urandom(20)),   # warm-up (with pong and client flags)
         msg(4, 0x2, os.urandom(20))]   # a server's (no client flag)
pongs = [msg(42, 0x3, os.urandom(50)),
         msg(43, 0x8003, os.urandom(4000)),  # fragmented; an unknown flag bit
         msg(44, 0x3)]                       # header only
bad = [b"hello",                                  # shorter than a header
       msg(1, 0x3, os.urandom(6), length=99)]     # length field 99, datagram 20

def exchange(peer, datagrams, want):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.connect(peer)
    for d in datagrams:
        s.send(d)
    got = []
    try:
        while len(got) < want:
            got.append(s.recv(65535))
    except socket.timeout:
        pass
    s.close()
    return got

# Wait for the reference server (it binds after it starts).
deadline = time.monotonic() + 15
while True:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    s.connect(ref)
    try:
        s.send(msg(1, 0x3))
        s.recv(100)
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("sockperf server: no answer within 15 s")
    finally:
        s.close()

# The reference never sees the bad ones: sockperf's server buffers a
# partial message and would glue the next datagram to it.
want = exchange(ref, quiet + pongs, len(pongs))
got = exchange(tern, bad + quiet + pongs, len(pongs))
fail = 0
if len(want) != len(pongs):
    print(f"sockperf server: {len(want)} replies, want {len(pongs)}")
    fail = 1
# UDP keeps no order: replies are matched to requests by their sequence
# number (the first 8 bytes), and an order other than the requests' is
# only noted.
def by_seq(replies):
    return {r[:8]: r for r in replies}

if [r[:8] for r in got] != [p[:8] for p in pongs[:len(got)]]:
    print("note: tern-echo's replies arrived in another order than the requests: "
          f"{[len(r) for r in got]} bytes")
mine, ref_by = by_seq(got), by_seq(want)
for i, p in enumerate(pongs):
    expect = bytearray(p)
    expect[9] &= 0xFE  # the client flag cleared, nothing else changed
    if ref_by.get(p[:8], bytes(expect)) != bytes(expect):
        print(f"pong {i}: sockperf server's reply is not the request minus the client flag")
        fail = 1
    if p[:8] not in mine:
        print(f"pong {i} ({len(p)} bytes): no reply from tern-echo")
        fail = 1
    elif mine[p[:8]] != bytes(expect):
        print(f"pong {i} ({len(p)} bytes): tern-echo's reply ({len(mine[p[:8]])} bytes) differs "
              f"from sockperf server's")
        fail = 1
if len(got) != len(set(r[:8] for r in got)):
    print("tern-echo answered a request twice")
    fail = 1
if not fail:
    print(f"format: {len(got)} replies equal to sockperf server's, nothing for "
          f"{len(quiet)} quiet and {len(bad)} bad datagrams")
sys.exit(fail)
EOF

# sockperf's summary: completed, something measured, nothing lost,
# duplicated or reordered.  Sets SENT to its [Total Run] SentMessages.
check_sockperf() {
	local name=$1 log=$DP_TMP/$1.log
	grep -q 'Summary: Latency is' "$log" || dp_fail "$name: no latency summary"
	grep -Eq '# dropped messages = 0; # duplicated messages = 0; # out-of-order messages = 0' \
		"$log" || dp_fail "$name: dropped, duplicated or out-of-order messages"
	grep -Eq '\[Valid Duration\].*ReceivedMessages=[1-9]' "$log" ||
		dp_fail "$name: no messages received in the valid duration"
	SENT=$(sed -nE 's/.*\[Total Run\].*SentMessages=([0-9]+);.*/\1/p' "$log")
	[[ -n $SENT ]] || dp_fail "$name: no [Total Run] line"
}

nsrun pp timeout 30 sockperf ping-pong -i $ip -p $port_pp -t 2 -m 64 ||
	dp_fail "sockperf ping-pong failed"
check_sockperf pp
pp_sent=$SENT
nsrun ul timeout 30 sockperf under-load -i $ip -p $port_ul -t 2 -m 64 --mps 5000 \
	--reply-every $every || dp_fail "sockperf under-load failed"
check_sockperf ul
ul_sent=$SENT

kill -INT "${DP_PID[echo]}"
dp_wait_exit echo 20 || dp_fail "tern-echo did not exit within 20 s of SIGINT"
((DP_RC == 0)) || dp_fail "tern-echo exited with $DP_RC after SIGINT, want 0"
cat "$DP_TMP/echo.out"

# counters PORT: "REPLIED QUIET BAD SEND_ERRORS RX_DROPPED"
counters() {
	sed -nE "s/^udp $1: sockperf replied ([0-9]+) messages [0-9]+ bytes, no reply wanted ([0-9]+), bad ([0-9]+), send errors ([0-9]+), rx dropped ([0-9]+)$/\1 \2 \3 \4 \5/p" \
		"$DP_TMP/echo.out"
}
want_counters() {
	local got
	got=$(counters "$1")
	[[ $got == "$2" ]] || dp_fail "udp $1 counters: '$got', want '$2' (replied quiet bad send-errors rx-dropped)"
}
want_counters $port_py "3 3 2 0 0"
want_counters $port_pp "$pp_sent 0 0 0 0"
want_counters $port_ul "$((ul_sent / every)) $((ul_sent - ul_sent / every)) 0 0 0"
[[ $mode == tap ]] && ip -n "$ns" link show "$tap" >/dev/null 2>&1 &&
	dp_fail "$tap outlived the port"

echo "dp_sockperf ($mode): passed"
