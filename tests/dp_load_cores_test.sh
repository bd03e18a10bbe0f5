#!/usr/bin/env bash
# tern-load on two lcores against a kernel HTTP server (dp_ordergw.py
# http) in a namespace of its own, over net_af_packet with one queue
# pair on a veth: software steering, core 0 polls and hands core 1 its
# flows by the hash.  Each core opens its share of --connections from
# ports whose replies the steering hands back to it (tn_tcp_connect),
# and core 0 merges the counts and the histograms.  (Not net_tap: its
# kernel side picks our RX queue by a hash of its own, see
# dp_echo_tcp_cores_test.sh.)
#
#  1. Closed loop, 6 connections (3 a core), 2 s: both cores made
#     requests, their per-core lines add up to the summary, no error,
#     percentiles in order, a merged live line at 1 s; each core's
#     stack opened its own connections and no segment reached a core
#     without its connection; the server's sockets closed (none left in
#     LAST-ACK: tern-load waits for the server's FIN before it exits).
#  2. --rate 300 over 4 connections for 2 s: about 600 requests, the
#     schedule's share on each core (every one due is sent).
#  3. SIGINT in a 60 s run: a merged summary, exit 0.
#  Every run exits 0 without leaked mbufs, tasks or futures (a call
#  left unanswered), every core's counts in; the server served at least
#  what the runs counted.
#
# usage: dp_load_cores_test.sh TERN-LOAD
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

load=$1
PY=$(dirname "$(realpath "$0")")/dp_ordergw.py
dp_need_root
ns=tn-lcores-$$ dev=tnlc$$ kdev=ktnlc$$
mac=02:00:5e:10:00:05

dp_netns "$ns" || dp_fail "cannot create a network namespace"
ip -n "$ns" link set lo up
ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" link add "$kdev" type veth peer name "$dev" || dp_skip "no veth devices"
ip -n "$ns" link set "$dev" up
# af_packet sees the kernel's frames before any checksum is filled in.
ip netns exec "$ns" ethtool -K "$kdev" tx off >/dev/null 2>&1 ||
	dp_fail "cannot turn off checksum offload on $kdev"
ip -n "$ns" addr add 10.94.0.1/24 dev "$kdev" || dp_fail "cannot address $kdev"
ip -n "$ns" link set "$kdev" up || dp_fail "cannot bring $kdev up"
ip -n "$ns" neigh replace 10.94.0.2 lladdr "$mac" dev "$kdev" nud permanent ||
	dp_fail "cannot add the neighbour entry"

dp_start http ip netns exec "$ns" python3 "$PY" http 0.0.0.0 8080
dp_wait_for "$DP_TMP/http.out" '^listening$' 10 "${DP_PID[http]}" || dp_fail "no HTTP server"

total=0
run() {
	local name=$1
	shift
	dp_start "$name" ip netns exec "$ns" "$load" -l 0,1 --no-huge -m 256 --no-pci \
		--file-prefix "$(dp_prefix "$name")" --vdev="net_af_packet0,iface=$dev,qpairs=1" -- \
		--ip 10.94.0.2/24 --mac "$mac" --link-timeout 0 --idle sleep \
		--url http://10.94.0.1:8080/ "$@"
	dp_wait_ready "$name" 30
}

# ctr NAME CORE COUNTER: from the exit summary's "stack core" line.
ctr() {
	local v
	v=$(sed -nE "s/^  stack core $2:.* $3=([0-9]+)( .*)?$/\\1/p" "$DP_TMP/$1.err")
	echo "${v:-0}"
}

# finish NAME CONNS: exit 0, no leak, the summary consistent with the
# per-core lines; sets requests, errors, c0, c1 (each core's requests).
finish() {
	local name=$1 conns=$2 sum core line n req errs
	dp_wait_exit "$name" 60 || dp_fail "$name: still running after 60 s"
	grep -E '^(connected|core|requests|latency_us|non-2xx|summary)' "$DP_TMP/$name.out" |
		sed "s/^/$name: /"
	((DP_RC == 0)) || { cat "$DP_TMP/$name.err"; dp_fail "$name: exit $DP_RC, want 0"; }
	grep -q 'mbufs in use at exit' "$DP_TMP/$name.err" && dp_fail "$name leaked mbufs"
	# Closed gracefully: the server's FIN was acknowledged before the
	# exit (a kernel socket left in LAST-ACK would retransmit its FIN to
	# the next run's stack, which answers with a reset).
	local lastack
	lastack=$(ip netns exec "$ns" ss -Htan state last-ack '( sport = :8080 )' | wc -l)
	((lastack == 0)) || dp_fail "$name: $lastack server sockets left in LAST-ACK"
	grep -Eq 'live objects|stopped before' "$DP_TMP/$name.err" &&
		dp_fail "$name: $(grep -E 'live objects|stopped before' "$DP_TMP/$name.err")"
	sum=$(grep '^summary:' "$DP_TMP/$name.out")
	[[ $sum =~ ^summary:\ requests\ ([0-9]+)\ non2xx\ ([0-9]+)\ errors\ ([0-9]+)\ timeouts\ ([0-9]+)\ rps\ ([0-9.]+)\ bytes_per_s\ ([0-9]+)\ p50_us\ ([0-9.]+)\ p90_us\ ([0-9.]+)\ p99_us\ ([0-9.]+)\ p999_us\ ([0-9.]+)\ max_us\ ([0-9.]+)$ ]] ||
		dp_fail "$name: no summary line: $sum"
	requests=${BASH_REMATCH[1]} errors=${BASH_REMATCH[3]}
	((BASH_REMATCH[2] == 0)) || dp_fail "$name: non-2xx responses: $sum"
	awk -v a="${BASH_REMATCH[7]}" -v b="${BASH_REMATCH[8]}" -v c="${BASH_REMATCH[9]}" \
		-v d="${BASH_REMATCH[10]}" -v e="${BASH_REMATCH[11]}" \
		'BEGIN { exit !(a > 0 && a <= b && b <= c && c <= d && d <= e) }' ||
		dp_fail "$name: percentiles out of order: $sum"
	local sumreq=0 sumerr=0
	for core in 0 1; do
		line=$(grep "^core $core: " "$DP_TMP/$name.out") || dp_fail "$name: no line for core $core"
		[[ $line =~ ^core\ $core:\ ([0-9]+)\ connections,\ [0-9]+\ opened,\ requests\ ([0-9]+),\ errors\ ([0-9]+)$ ]] ||
			dp_fail "$name: core $core: '$line'"
		n=${BASH_REMATCH[1]} req=${BASH_REMATCH[2]} errs=${BASH_REMATCH[3]}
		((n == conns / 2)) || dp_fail "$name: core $core has $n connections, want $((conns / 2))"
		((req > 0)) || dp_fail "$name: core $core made no request: $line"
		sumreq=$((sumreq + req)) sumerr=$((sumerr + errs))
		eval "c$core=$req"
		(($(ctr "$name" "$core" tcp_active_opens) >= n)) ||
			dp_fail "$name: core $core's stack opened $(ctr "$name" "$core" tcp_active_opens) connections, want $n"
		# (After SIGINT the connections are aborted: what the server
		# had in flight then finds none, on either core.)
		[[ $name == sigint ]] || (($(ctr "$name" "$core" tcp_no_conn) == 0)) ||
			dp_fail "$name: core $core got $(ctr "$name" "$core" tcp_no_conn) segments of another core's connections"
	done
	((sumreq == requests && sumerr == errors)) ||
		dp_fail "$name: the cores' requests $sumreq errors $sumerr, the summary's $requests $errors"
	total=$((total + requests))
}

# 1. Closed loop.
run plain --connections 6 --pipeline 2 --duration 2
finish plain 6
((errors == 0)) || dp_fail "plain: $errors errors"
grep -Eq '^t=1s rps [0-9]+ requests [0-9]+ ' "$DP_TMP/plain.out" || dp_fail "plain: no live line at 1 s"
grep -q '^connected 6 of 6$' "$DP_TMP/plain.out" || dp_fail "plain: not every connection opened"
echo "plain: core 0 $c0 + core 1 $c1 = $requests requests"

# 2. On a schedule: each connection's share of the rate, on its core.
run rate --connections 4 --rate 300 --duration 2 --pipeline 8
finish rate 4
((requests >= 594 && requests <= 600 && errors == 0)) ||
	dp_fail "rate: requests $requests (want 600 at 300/s for 2 s) errors $errors"
((c0 >= 297 && c1 >= 297)) || dp_fail "rate: core 0 $c0, core 1 $c1: want 300 each"
echo "rate: core 0 $c0 + core 1 $c1 = $requests requests"

# 3. SIGINT.
run sigint --connections 2 --duration 60
dp_wait_for "$DP_TMP/sigint.out" '^t=1s ' 30 "${DP_PID[sigint]}" || dp_fail "sigint: no live line"
kill -INT "${DP_PID[sigint]}"
finish sigint 2

kill -TERM "${DP_PID[http]}"
dp_wait_exit http 20 || dp_fail "the HTTP server did not stop"
served=$(sed -nE 's/^served ([0-9]+)$/\1/p' "$DP_TMP/http.out")
echo "kernel server: served $served, tern-load counted $total"
((served >= total)) || dp_fail "the server served $served requests, tern-load counted $total"
echo "dp_load_cores: passed"
