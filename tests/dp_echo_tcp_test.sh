#!/usr/bin/env bash
# TCP with the Linux kernel as the peer, both ways round, over net_tap or
# net_af_xdp (the setups of dp_echo_lib.sh: tap, or a veth shared with
# the kernel), at 0, 1 or 5% loss from Tern's --fault on its port (RX
# and TX, so data and ACKs both suffer):
#
#   1: drop=0.01,dup=0.01,reorder=0.02,seed=N
#   5: drop=0.05,dup=0.01,reorder=0.05,seed=N
#
# Kernel client, tern-echo --tcp 7 as the server:
#   1. bulk (dp_net.py tcp-bulk): BYTES of a seeded stream sent while
#      the echo is read; the sha256 of both directions must be equal;
#   2. nc, and curl (its HTTP request comes back verbatim);
#   3. SHORT short connections in a row (dp_net.py tcp-short), every
#      other one from one fixed port: the kernel takes over its own
#      TIME-WAIT, and tern sees the 4-tuple it has just closed again.
#   SIGINT: exit 0, no leaked mbufs, every connection counted, no
#   checksum errors, no IP fragments sent (segments fit the MTU, SACK
#   blocks included), and under loss: retransmissions, fast ones among
#   them, and drops on the port both ways (the faults were on).
# tern-echo as the client, a kernel echo server (dp_net.py tcp-echo,
# which checks what it gets against the same seeded stream):
#   4. --bytes BYTES: echoed and checked byte for byte by tern
#      ("verified"), the stream's sha256 by the kernel side;
#   5. 8 requests of 1 MiB, 2 in flight (not at 5% loss);
#   6. SHORT requests with --reconnect (tern closes first: TIME-WAIT on
#      tern's side).
#   Each exits 0 without leaked mbufs, checksum errors or fragments;
#   under loss the bulk one retransmitted.
# Every client prints its rate.  N, and the stream's seed, is
# $TN_FAULT_SEED if set, else the test's pid (printed).
#
# usage: dp_echo_tcp_test.sh tap|afxdp 0|1|5 BYTES SHORT TERN-ECHO
source "$(dirname "$(realpath "$0")")/dp_lib.sh"
source "$(dirname "$(realpath "$0")")/dp_echo_lib.sh"

mode=$1 loss=$2 bytes=$3 short=$4 app=$5
dp_need_root
# The sanitizer run (make test-asan) caps the streams: ASan finds memory
# errors in the first megabytes as well as in the hundredth, at a third
# of the speed.  The release build moves the full BYTES.
if [[ -n ${TN_TEST_MAX_BYTES:-} ]] && ((bytes > TN_TEST_MAX_BYTES)); then
	echo "TN_TEST_MAX_BYTES: $bytes bytes cut to $TN_TEST_MAX_BYTES"
	bytes=$TN_TEST_MAX_BYTES
fi
seed=${TN_FAULT_SEED:-$$}
case $loss in
0) fault=() ;;
1) fault=(--fault "drop=0.01,dup=0.01,reorder=0.02,seed=$seed") ;;
5) fault=(--fault "drop=0.05,dup=0.01,reorder=0.05,seed=$seed") ;;
*) dp_fail "loss must be 0, 1 or 5, not '$loss'" ;;
esac
# Each step's limit, in seconds: 100 MB at 5% loss takes minutes.
limit=$((loss == 5 && bytes > 10000000 ? 900 : 170))
echo "$mode, loss $loss%: ${fault[*]:-no faults}; $bytes bytes each way, $short short connections, seed $seed"
case $mode in
tap) echo_on_tap "$app" --tcp 7 "${fault[@]}" ;;
afxdp) echo_on_afxdp "$app" --tcp 7 "${fault[@]}" ;;
*) dp_fail "mode must be tap or afxdp, not '$mode'" ;;
esac
dp_wait_for "$DP_TMP/echo.out" '^echo: tcp port 7$' 10 "${DP_PID[echo]}" ||
	dp_fail "tern-echo: no listener on tcp port 7"

counter() { echo_stack_counter "$@"; }
# Every tern-echo: no TCP checksum errors, and no segment too big for
# the MTU (IP fragments).
sane() {
	(($(counter "$1" tcp_bad_csum) == 0)) || dp_fail "$1: TCP checksum errors"
	(($(counter "$1" ip_frag_tx) == 0)) || dp_fail "$1: sent IP fragments (segments over the MTU)"
}
under_loss() {
	local name=$1 rx tx drx dtx
	((loss > 0)) || return 0
	(($(counter "$name" tcp_retransmits) > 0)) || dp_fail "$name: no retransmissions under loss"
	read -r rx tx drx dtx < <(dp_port_counters "$DP_TMP/$name.err" 0)
	((${drx:-0} > 0 && ${dtx:-0} > 0)) || dp_fail "$name: drops rx ${drx:-} tx ${dtx:-}: faults off?"
}

# Each step says when it starts (seconds since the test did).
step() { echo "--- ${SECONDS}s: $*"; }

step "1. bulk, kernel client"
nsrun bulk timeout "$limit" python3 "$ECHO_NET" tcp-bulk "$ECHO_ADDR" 7 "$bytes" "$seed" ||
	dp_fail "bulk echo: see above"

step "2. nc and curl"
echo "hello from nc" | ip netns exec "$ECHO_NS" timeout 20 nc -N "$ECHO_ADDR" 7 \
	>"$DP_TMP/nc.log" 2>&1
grep -qx "hello from nc" "$DP_TMP/nc.log" || { cat "$DP_TMP/nc.log"; dp_fail "nc: no echo"; }
echo "nc: echoed"
# (The echo is an HTTP/0.9 "response" that ends when the connection
# does, which an echo server never ends first: curl stops at -m, which
# leaves room under loss for a lost SYN, 1 s, and a lost segment.  Two
# lost SYNs take 3 s: under loss a curl that got nothing is tried once
# more, as CI once saw at 1%.)
curl_echo() {
	rm -f "$DP_TMP/curl.out"
	ip netns exec "$ECHO_NS" timeout 20 curl -s --http0.9 -m $((loss ? 2 + loss : 2)) \
		-o "$DP_TMP/curl.out" "http://$ECHO_ADDR:7/tern-echo-path" >/dev/null 2>&1
	grep -qs "^GET /tern-echo-path HTTP/1.1" "$DP_TMP/curl.out"
}
if ! curl_echo; then
	if ((loss)) && [[ ! -s $DP_TMP/curl.out ]]; then
		echo "curl: nothing came back within -m; again"
		curl_echo
	else
		false
	fi
fi || { cat "$DP_TMP/curl.out" 2>/dev/null; dp_fail "curl: its request did not come back"; }
echo "curl: its request came back"

step "3. short connections"
nsrun short timeout "$limit" python3 "$ECHO_NET" tcp-short "$ECHO_ADDR" 7 "$short" ||
	dp_fail "short connections: see above"

step "SIGINT"
echo_sigint
step "tern-echo exited"
grep -E '^stack:' "$DP_TMP/echo.err"
conns=$((short + 3))
grep -Eq "^tcp 7: accepted $conns connections, echoed [0-9]+ bytes, errors 0" "$DP_TMP/echo.out" ||
	dp_fail "tern-echo: want $conns connections accepted and no errors"
(($(counter echo tcp_passive_opens) == conns)) ||
	dp_fail "tcp_passive_opens $(counter echo tcp_passive_opens), want $conns"
sane echo
under_loss echo
((loss == 0)) || (($(counter echo tcp_fast_retransmits) > 0)) ||
	dp_fail "tern-echo: no fast retransmissions under loss"

# 4-6. tern-echo as the client; the kernel's echo server binds any
# address (on tap, the device and its address come and go with each
# tern-echo process).
dp_start kserver ip netns exec "$ECHO_NS" python3 "$ECHO_NET" tcp-echo 9007 "$seed"
dp_wait_for "$DP_TMP/kserver.out" '^listening$' 10 "${DP_PID[kserver]}" ||
	dp_fail "the kernel echo server did not start"
tclient() {
	local name=$1
	shift
	echo_client "$name" "$limit" "$app" --client "$ECHO_PEER:9007" --tcp "${fault[@]}" "$@"
	sane "$name"
}

step "4. bulk, tern client"
tclient bulkc --bytes "$bytes" --seed "$seed" --timeout 60000
grep -Eq "^tcp bulk: sent $bytes bytes, received $bytes verified" "$DP_TMP/bulkc.out" ||
	dp_fail "tern client: the echo was not verified"
dp_wait_for "$DP_TMP/kserver.out" "echoed $bytes bytes" 10 "${DP_PID[kserver]}" ||
	dp_fail "the kernel echo server did not report the bulk connection"
grep -E "echoed $bytes bytes" "$DP_TMP/kserver.out"
grep -Eq "echoed $bytes bytes, sha256 [0-9a-f]{64}, the seed $seed stream: yes$" \
	"$DP_TMP/kserver.out" || dp_fail "the kernel did not get the seeded stream from tern"
under_loss bulkc

if ((loss < 5)); then # (at 1 MB/s, seconds for little news)
	step "5. requests, tern client"
	tclient reqc --size 1048576 --count 8 --window 2 --timeout 60000
	grep -Eq '^summary: sent 8 recv 8 lost 0 bad 0' "$DP_TMP/reqc.out" ||
		dp_fail "tern client: not every 1 MiB request came back byte-exact"
fi

step "6. short connections, tern client"
tclient shortc --size 100 --count "$short" --reconnect --timeout 60000
grep -Eq "^summary: sent $short recv $short lost 0 bad 0" "$DP_TMP/shortc.out" ||
	dp_fail "tern client: not every short connection echoed"
grep -Eq "^tcp: $short connections" "$DP_TMP/shortc.out" ||
	dp_fail "tern client: not $short connections"
(($(counter shortc tcp_active_opens) == short)) ||
	dp_fail "tcp_active_opens $(counter shortc tcp_active_opens), want $short"

echo "dp_echo_tcp ($mode, loss $loss%): passed in ${SECONDS}s (seed $seed)"
