#!/usr/bin/env bash
# tern-load against a kernel HTTP server, over net_tap.  In a namespace
# of its own, each tern-load run is on a tap device of its own at an
# address of its own (10.95.0.11, .12, ...; case 5 reuses one on
# purpose); the kernel side gets 10.95.0.1/24 and serves HTTP/1.1
# keep-alive on port 8080
# (dp_ordergw.py http: a fixed body with Content-Length on /, a chunked
# body on /chunked, 404 elsewhere).
#
#  1. Bad command lines exit 2 with a message (no EAL started).
#  2. 4 connections, pipeline 2, 3 s on /: requests > 0, no non-2xx, no
#     error or timeout, live lines at 1 s and 2 s, percentiles in order,
#     bytes > requests x the body; the requests are wrk's, byte for byte
#     (the request line and Host: 10.95.0.1:8080 only).
#  3. /chunked at --rate 200 over 2 connections for 2 s: about 400
#     requests (every one due is sent), no error.
#  4. /missing: every response a 404, counted as non-2xx, no error.
#  5. /close (Connection: close on every response): a new connection per
#     request, no error: 500 of them (--rate 500 for 1 s) from 512
#     ephemeral ports (--ports), whose 4-tuples the kernel then holds in
#     TIME-WAIT (both ends close at once).  Then the same again from the
#     same address and ports: at least a quarter of the first run's
#     requests.  At least 488 of the second process's 500 tuples are in
#     the kernel's TIME-WAIT, and it takes a SYN there only if it is
#     newer than the old connection; the timestamps are (the stacks'
#     ts_key, from the boot ID: the same offset in every process).  With
#     offsets per process half of them were not: the kernel answered
#     with an ACK of the old connection and the connect waited a SYN
#     retransmission (3 requests in 1 s after 4,195, 2026-11-27).
#  6. SIGINT in the middle of a 60 s run: a summary, exit 0.
#  7. /stall (never answered) with --timeout 300 over 2 connections for
#     1 s: no response, every timeout counted (at least one a
#     connection, at most one per 300 ms each), connections reopened
#     after them, no other error.
#  Every run exits 0 without leaked mbufs; the server served at least
#  the requests the runs counted.
#
# usage: dp_load_tap_test.sh TERN-LOAD
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

load=$1
PY=$(dirname "$(realpath "$0")")/dp_ordergw.py
ns=tn-load-$$
eal=(-l 1 --no-huge -m 256 --no-pci)

while read -r want args; do
	# shellcheck disable=SC2086
	"$load" -l 0 --no-huge -m 64 --no-pci --file-prefix "$(dp_prefix bad)" -- $args \
		>"$DP_TMP/bad.out" 2>&1
	rc=$?
	((rc == 2)) || dp_fail "'$args': exit $rc, want 2 ($(cat "$DP_TMP/bad.out"))"
	grep -q -- "$want" "$DP_TMP/bad.out" ||
		dp_fail "'$args': no message with '$want': $(cat "$DP_TMP/bad.out")"
done <<'EOF2'
--url --ip 10.95.0.2/24
--ip --url http://10.95.0.1:8080/
TLS --ip 10.95.0.2/24 --url https://10.95.0.1/
IPv4 --ip 10.95.0.2/24 --url http://localhost:8080/
port --ip 10.95.0.2/24 --url http://10.95.0.1:0/
port --ip 10.95.0.2/24 --url http://10.95.0.1:/
connections --ip 10.95.0.2/24 --url http://10.95.0.1/ --connections 0
pipeline --ip 10.95.0.2/24 --url http://10.95.0.1/ --pipeline 300
rate --ip 10.95.0.2/24 --url http://10.95.0.1/ --rate x
duration --ip 10.95.0.2/24 --url http://10.95.0.1/ --duration 0
bogus --ip 10.95.0.2/24 --url http://10.95.0.1/ --bogus
EOF2

dp_need_root
dp_netns "$ns" || dp_fail "cannot create a network namespace"
ip -n "$ns" link set lo up
ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1

total=0 runs=0
declare -A addr_of
# run NAME DEV ARGS...: tern-load on its own tap device DEV, at an
# address no earlier run used (or RUN_ADDR); the kernel side's address
# goes on DEV once Tern made it.
run() {
	local name=$1 dev=$2
	shift 2
	runs=$((runs + 1))
	addr_of[$name]=${RUN_ADDR:-10.95.0.$((10 + runs))}
	dp_start "$name" ip netns exec "$ns" "$load" "${eal[@]}" --file-prefix "$(dp_prefix "$name")" \
		--vdev="net_tap0,iface=$dev" -- --ip "${addr_of[$name]}/24" --link-timeout 0 "$@"
	dp_wait_ready "$name" 30
	ip -n "$ns" addr add 10.95.0.1/24 dev "$dev" || dp_fail "cannot address $dev"
	ip -n "$ns" link set "$dev" up || dp_fail "cannot bring $dev up"
}

# exited NAME: exit 0, no leak; sets the summary's fields (pcts: its
# percentiles) and opened (connections opened).
exited() {
	local name=$1
	dp_wait_exit "$name" 60 || dp_fail "$name: still running after 60 s"
	((DP_RC == 0)) || dp_fail "$name: exit $DP_RC, want 0"
	grep -q 'mbufs in use at exit' "$DP_TMP/$name.err" && dp_fail "$name leaked mbufs"
	grep -E '^(requests|latency_us|non-2xx|summary)' "$DP_TMP/$name.out" | sed "s/^/$name: /"
	sum=$(grep '^summary:' "$DP_TMP/$name.out")
	[[ $sum =~ ^summary:\ requests\ ([0-9]+)\ non2xx\ ([0-9]+)\ errors\ ([0-9]+)\ timeouts\ ([0-9]+)\ rps\ ([0-9.]+)\ bytes_per_s\ ([0-9]+)\ p50_us\ ([0-9.]+)\ p90_us\ ([0-9.]+)\ p99_us\ ([0-9.]+)\ p999_us\ ([0-9.]+)\ max_us\ ([0-9.]+)$ ]] ||
		dp_fail "$name: no summary line: $sum"
	requests=${BASH_REMATCH[1]} non2xx=${BASH_REMATCH[2]} errors=${BASH_REMATCH[3]}
	timeouts=${BASH_REMATCH[4]}
	pcts=("${BASH_REMATCH[@]:7:5}")
	opened=$(sed -nE 's/.* ([0-9]+) connections opened$/\1/p' "$DP_TMP/$name.out")
	total=$((total + requests))
}

# finish NAME: exited, with latency percentiles in order.
finish() {
	exited "$1"
	awk -v a="${pcts[0]}" -v b="${pcts[1]}" -v c="${pcts[2]}" -v d="${pcts[3]}" \
		-v e="${pcts[4]}" 'BEGIN { exit !(a > 0 && a <= b && b <= c && c <= d && d <= e) }' ||
		dp_fail "$1: percentiles out of order: $sum"
}

# One server for every run, on the namespace's loopback address too,
# so it can start before the tap devices exist.
dp_start http ip netns exec "$ns" python3 "$PY" http 0.0.0.0 8080
dp_wait_for "$DP_TMP/http.out" '^listening$' 10 "${DP_PID[http]}" || dp_fail "no HTTP server"

# 2. Closed loop, pipelined.
run plain tnload1$$ --url http://10.95.0.1:8080/ --connections 4 --pipeline 2 --duration 3
finish plain
((requests > 0 && non2xx == 0 && errors == 0 && timeouts == 0)) ||
	dp_fail "plain: requests $requests non2xx $non2xx errors $errors timeouts $timeouts"
grep -Eq '^t=1s rps [0-9]+ requests [0-9]+ ' "$DP_TMP/plain.out" || dp_fail "plain: no live line at 1 s"
grep -Eq '^t=2s rps [0-9]+ ' "$DP_TMP/plain.out" || dp_fail "plain: no live line at 2 s"
grep -Eq '^requests [0-9]+ in [0-9.]+ s, [0-9.]+ requests/s, [0-9]+ bytes' "$DP_TMP/plain.out" ||
	dp_fail "plain: no requests line"
bytes=$(sed -nE 's/^requests [0-9]+ in [0-9.]+ s, [0-9.]+ requests\/s, ([0-9]+) bytes.*/\1/p' "$DP_TMP/plain.out")
((bytes > requests * 13)) || dp_fail "plain: $bytes bytes for $requests responses of 13+ bytes"
want="first request: 'GET / HTTP/1.1\\r\\nHost: 10.95.0.1:8080\\r\\n\\r\\n'"
got=$(grep '^first request: ' "$DP_TMP/http.out")
[[ $got == "$want" ]] || dp_fail "plain: the server got $got, want wrk's: $want"

# 3. On a schedule, chunked bodies.
run rate tnload2$$ --url http://10.95.0.1:8080/chunked --connections 2 --rate 200 --duration 2 \
	--pipeline 8
finish rate
((requests >= 396 && requests <= 400 && errors == 0 && non2xx == 0)) ||
	dp_fail "rate: requests $requests (want 400 at 200/s for 2 s) errors $errors non2xx $non2xx"

# 4. Not found.
run missing tnload3$$ --url http://10.95.0.1:8080/missing --connections 1 --duration 1
finish missing
((requests > 0 && non2xx == requests && errors == 0)) ||
	dp_fail "missing: requests $requests non2xx $non2xx errors $errors: want every one a 404"

# 5. Connection: close after every response: tern-load opens a new
#    connection for each request, and that is no error.
run close tnload5$$ --url http://10.95.0.1:8080/close --connections 2 --duration 1 \
	--rate 500 --ports 50000-50511
finish close
((requests > 0 && errors == 0 && non2xx == 0 && opened >= requests)) ||
	dp_fail "close: requests $requests errors $errors non2xx $non2xx, $opened connections opened"
first=$requests
# --ports: the kernel's TIME-WAIT tuples from that address are all in
# the range.
tw=$(ip netns exec "$ns" ss -Htn state time-wait dst "${addr_of[close]}" | awk '{print $4}')
inside=$(awk -F: '$2 >= 50000 && $2 <= 50511' <<<"$tw" | wc -l)
outside=$(awk -F: 'NF && !($2 >= 50000 && $2 <= 50511)' <<<"$tw" | wc -l)
((inside > 0 && outside == 0)) ||
	dp_fail "close: TIME-WAIT tuples from ${addr_of[close]}: $inside in 50000-50511, $outside not"
RUN_ADDR=${addr_of[close]} run close2 tnload7$$ --url http://10.95.0.1:8080/close --connections 2 \
	--duration 1 --rate 500 --ports 50000-50511
finish close2
((errors == 0 && non2xx == 0 && requests * 4 >= first)) ||
	dp_fail "close2 (the same address again): requests $requests (the first run: $first)" \
		"errors $errors non2xx $non2xx"

# 6. SIGINT.
run sigint tnload4$$ --url http://10.95.0.1:8080/ --connections 2 --duration 60
dp_wait_for "$DP_TMP/sigint.out" '^t=1s ' 30 "${DP_PID[sigint]}" || dp_fail "sigint: no live line"
kill -INT "${DP_PID[sigint]}"
finish sigint
((requests > 0)) || dp_fail "sigint: no requests before the signal"

# 7. Unanswered requests time out.
run stall tnload6$$ --url http://10.95.0.1:8080/stall --connections 2 --duration 1 --timeout 300
exited stall
((requests == 0 && timeouts >= 2 && timeouts <= 8 && errors == timeouts && opened >= timeouts)) ||
	dp_fail "stall: requests $requests timeouts $timeouts errors $errors opened $opened"

kill -TERM "${DP_PID[http]}"
dp_wait_exit http 20 || dp_fail "the HTTP server did not stop"
served=$(sed -nE 's/^served ([0-9]+)$/\1/p' "$DP_TMP/http.out")
echo "kernel server: served $served, tern-load counted $total"
((served >= total)) || dp_fail "the server served $served requests, tern-load counted $total"

echo "dp_load_tap: passed"
