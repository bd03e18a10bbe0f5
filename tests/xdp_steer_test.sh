#!/usr/bin/env bash
# AF_XDP steering for real: Tern's XDP program on one end of a veth pair,
# loaded by DPDK's net_af_xdp PMD (xdp_steer_helper), shares the interface
# with the kernel.
#
#   ns A: veth va 10.77.N.1 <-> ns B: veth vb 10.77.N.2
#   ns A runs the helper (steers UDP to .1:9000 and the whole address .3),
#   a kernel UDP socket on 9000 and a kernel TCP echo server on 9100.
#
# Checks, in order:
#   1. TCP from B to A:9100 works (XDP_PASS for what Tern does not own;
#      also resolves ARP for .1, which must reach the kernel too);
#   2. UDP from B to A:9000 reaches the helper, every datagram;
#   3. a second TCP exchange, then the kernel UDP socket has nothing
#      queued: the datagrams went to AF_XDP only (the TCP exchange is the
#      barrier: anything passed before it is already queued);
#   4. B's ARP requests for .3 (an address Tern owns whole) reach the
#      helper;
#   5. after tn_xdp_steer_del (SIGUSR1), UDP to 9000 reaches the kernel;
#   6. nothing else ever reached the helper, and closing the port removed
#      the program from the interface.
#
# usage: xdp_steer_test.sh HELPER XDP_PROG.o   (exit 77 = skipped)
set -u

helper=$(realpath "$1") prog=$(realpath "$2")
skip() { echo "skip: $*"; exit 77; }

[[ $(id -u) -eq 0 ]] || skip "needs root"
for t in ip python3; do
	command -v "$t" >/dev/null || skip "no $t"
done
compgen -G '/usr/lib*/*/dpdk/pmds-*/librte_net_af_xdp.so*' >/dev/null ||
	compgen -G '/usr/lib*/dpdk/pmds-*/librte_net_af_xdp.so*' >/dev/null ||
	compgen -G '/usr/local/lib*/*/dpdk/pmds-*/librte_net_af_xdp.so*' >/dev/null ||
	skip "no net_af_xdp PMD"
[[ -r $prog ]] || { echo "FAIL: no XDP program at $prog"; exit 1; }

ns_a=tn-xdp-$$-a ns_b=tn-xdp-$$-b
va=tnxa$$ vb=tnxb$$
net=10.77.$(($$ % 250 + 1))
addr_a=$net.1 addr_b=$net.2 owned=$net.3
prefix=tnxdp$$
tmp=$(mktemp -d)
pids=() made_a=0 made_b=0 tern=

cleanup() {
	local p deadline
	# The helper first: closing its port detaches the program.
	[[ -n $tern ]] && pids=("$tern" "${pids[@]}")
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	deadline=$((SECONDS + 10))
	for p in "${pids[@]}"; do
		while kill -0 "$p" 2>/dev/null && ((SECONDS < deadline)); do
			sleep 0.05
		done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	((made_a)) && ip netns del "$ns_a" 2>/dev/null
	((made_b)) && ip netns del "$ns_b" 2>/dev/null
	rm -rf "$tmp" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	echo "--- helper log"
	cat "$tmp/helper.log" 2>/dev/null
	echo "--- kernel UDP sink log"
	cat "$tmp/sink.log" 2>/dev/null
	echo "--- ip link (ns A)"
	ip -n "$ns_a" -d link show "$va" 2>/dev/null
	exit 1
}

# wait_for FILE REGEX SECONDS [PID]: polls until a line of FILE matches;
# fails early if PID (the process writing FILE) exits.
wait_for() {
	local file=$1 re=$2 deadline=$((SECONDS + $3)) pid=${4:-}
	until grep -Eq -- "$re" "$file" 2>/dev/null; do
		if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
			return 2
		fi
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

# The kernel-side tools, run with `ip netns exec`.
cat >"$tmp/tn.py" <<'PY'
import select, signal, socket, sys, time

def out(*a):
    print(*a, flush=True)

mode = sys.argv[1]
if mode == "udp-sink":
    # Binds, then leaves datagrams queued until SIGUSR1: what is queued
    # then ("drained N") is exactly what the kernel got so far.  After
    # that it counts every datagram ("count N").
    port = int(sys.argv[2])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    out("bound")
    signal.sigwait([signal.SIGUSR1])
    n = 0
    s.setblocking(False)
    while True:
        try:
            s.recv(2048)
            n += 1
        except BlockingIOError:
            break
    out("drained", n)
    s.setblocking(True)
    s.settimeout(60)
    count = 0
    try:
        while True:
            s.recv(2048)
            count += 1
            out("count", count)
    except socket.timeout:
        pass
elif mode == "tcp-echo":
    port = int(sys.argv[2])
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(4)
    s.settimeout(60)
    out("listening")
    for _ in range(4):
        c, _ = s.accept()
        c.settimeout(30)
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
        c.close()
elif mode == "tcp-client":
    host, port, size = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    data = bytes(i * 7 % 251 for i in range(size))
    c = socket.create_connection((host, port), timeout=20)
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    got = bytearray()
    while True:
        d = c.recv(65536)
        if not d:
            break
        got += d
    if bytes(got) != data:
        out("tcp: sent", len(data), "got back", len(got), "(different)")
        sys.exit(1)
    out("tcp: echoed", len(got), "bytes")
elif mode == "udp-send":
    host, port, n = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(n):
        s.sendto(b"tern %d" % i, (host, port))
PY
py() { python3 "$tmp/tn.py" "$@"; }

# ---- the network
ip netns add "$ns_a" 2>/dev/null || skip "cannot create network namespaces"
made_a=1
ip netns add "$ns_b" 2>/dev/null || skip "cannot create network namespaces"
made_b=1
# One queue each way: the program redirects to the socket of the queue a
# packet arrived on, and the helper opens one (newer kernels give veth a
# queue per CPU by default, and traffic on a queue without a socket falls
# back to the kernel).
ip link add "$va" numtxqueues 1 numrxqueues 1 netns "$ns_a" type veth \
	peer name "$vb" numtxqueues 1 numrxqueues 1 netns "$ns_b" 2>/dev/null ||
	skip "cannot create a veth pair"
ip -n "$ns_a" addr add "$addr_a/24" dev "$va"
ip -n "$ns_b" addr add "$addr_b/24" dev "$vb"
for ns in "$ns_a" "$ns_b"; do
	ip -n "$ns" link set lo up
done
ip -n "$ns_a" link set "$va" up
ip -n "$ns_b" link set "$vb" up

# ---- the kernel's side of ns A
ip netns exec "$ns_a" python3 "$tmp/tn.py" udp-sink 9000 >"$tmp/sink.log" 2>&1 &
sink=$!
pids+=("$sink")
ip netns exec "$ns_a" python3 "$tmp/tn.py" tcp-echo 9100 >"$tmp/echo.log" 2>&1 &
pids+=("$!")
wait_for "$tmp/sink.log" '^bound' 10 "$sink" || fail "UDP sink did not start"
wait_for "$tmp/echo.log" '^listening' 10 || fail "TCP echo server did not start"

# ---- Tern's side: the PMD loads the program (the vdev has no xdp_prog:
# tn_xdp_args_rewrite adds it from TERN_XDP_PROG).
# Under LeakSanitizer: the af_xdp PMD's libbpf/libxdp leaks (tests/lsan.supp).
LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp" \
TERN_XDP_PROG=$prog ip netns exec "$ns_a" "$helper" \
	-l 0 --no-huge -m 512 --no-pci --file-prefix "$prefix" \
	--vdev "net_af_xdp0,iface=$va,start_queue=0,queue_count=1" \
	-- "$va" "$addr_a" 9000 90 "$owned" >"$tmp/helper.log" 2>&1 &
tern=$!
wait_for "$tmp/helper.log" '^ready' 60 "$tern"
case $? in
0) ;;
2)
	wait "$tern"
	rc=$? tern=
	[[ $rc -eq 77 ]] && skip "$(grep '^skip' "$tmp/helper.log")"
	fail "helper exited ($rc) before it was ready"
	;;
*) fail "helper not ready in time" ;;
esac
grep -E '^(vdev|xdp mode)' "$tmp/helper.log"
grep -q ",xdp_prog=$prog" "$tmp/helper.log" || fail "the vdev was not given the program"
ip -n "$ns_a" link show "$va" | grep -q 'prog/xdp' || fail "no XDP program on $va"

# 1. Everything Tern does not own still reaches the kernel.
ip netns exec "$ns_b" python3 "$tmp/tn.py" tcp-client "$addr_a" 9100 100000 ||
	fail "TCP to the kernel (before)"

# 2. Steered UDP reaches the AF_XDP socket, all of it.
n_udp=50
ip netns exec "$ns_b" python3 "$tmp/tn.py" udp-send "$addr_a" 9000 "$n_udp" ||
	fail "sending UDP"
wait_for "$tmp/helper.log" "^rx udp=$n_udp " 10 "$tern" ||
	fail "the helper did not get all $n_udp datagrams"
echo "helper: $(grep '^rx' "$tmp/helper.log" | tail -1)"

# 3. ... and none of it reached the kernel.
ip netns exec "$ns_b" python3 "$tmp/tn.py" tcp-client "$addr_a" 9100 100000 ||
	fail "TCP to the kernel (after UDP)"
kill -USR1 "$sink"
wait_for "$tmp/sink.log" '^drained' 10 "$sink" || fail "UDP sink did not drain"
grep -q '^drained 0$' "$tmp/sink.log" || fail "the kernel UDP socket got steered datagrams"
echo "kernel UDP socket on 9000: $(grep '^drained' "$tmp/sink.log")"

# 4. ARP for an address Tern owns whole goes to Tern (so the kernel in B
# never gets an answer: the datagram itself is never sent).
ip netns exec "$ns_b" python3 "$tmp/tn.py" udp-send "$owned" 7 1 || fail "sending to $owned"
wait_for "$tmp/helper.log" '^rx .* arp=[1-9]' 10 "$tern" ||
	fail "ARP for the owned address did not reach the helper"

# 5. Once the entry is deleted, UDP to 9000 goes back to the kernel.
kill -USR1 "$tern"
wait_for "$tmp/helper.log" '^deleted' 10 "$tern" || fail "helper did not delete the entry"
grep -q '^deleted rc=0$' "$tmp/helper.log" || fail "tn_xdp_steer_del failed"
n_back=5
ip netns exec "$ns_b" python3 "$tmp/tn.py" udp-send "$addr_a" 9000 "$n_back" ||
	fail "sending UDP"
wait_for "$tmp/sink.log" "^count $n_back\$" 10 "$sink" ||
	fail "UDP did not return to the kernel after tn_xdp_steer_del"
echo "kernel UDP socket on 9000 after del: $(grep '^count' "$tmp/sink.log" | tail -1)"

# 6. Only what was steered reached Tern; closing the port unloads.
kill -TERM "$tern"
wait_for "$tmp/helper.log" '^total' 20 || fail "helper did not stop"
deadline=$((SECONDS + 20))
while kill -0 "$tern" 2>/dev/null && ((SECONDS < deadline)); do
	sleep 0.05
done
wait "$tern"
rc=$? tern=
((rc == 0)) || fail "helper exited with $rc"
total=$(grep '^total' "$tmp/helper.log")
echo "helper: $total"
[[ $total =~ ^total\ udp=$n_udp\ arp=[1-9][0-9]*\ other=0$ ]] ||
	fail "unexpected packets reached AF_XDP: $total"
ip -n "$ns_a" link show "$va" | grep -q 'prog/xdp' && fail "the program stayed attached"

echo "xdp_steer: 6 passed, 0 failed"
