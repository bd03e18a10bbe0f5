#!/usr/bin/env bash
# tern-ordergw's client against its gateway, two Tern processes over
# vhost-user/virtio-user: the gateway at 10.0.0.1 (lcore 1), the client
# at 10.0.0.2 (lcore 0).
#
#  1. Bad command lines exit 2 with a message (no EAL started).
#  2. 4 connections, 5,000 orders/s for 2 s: every order sent is acked,
#     no reject, no error or timeout, round-trip percentiles in order,
#     live lines; the gateway's counters (SIGTERM: exit 0) agree: as many
#     orders and acks as the client sent, nothing invalid, 4 connections.
#  3. A SIGINT to a client in the middle of a run: exit 0, a summary,
#     and neither side leaks mbufs.
#
# usage: dp_ordergw_pair_test.sh TERN-ORDERGW
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

gw=$1
sock="$DP_TMP/vhost.sock"
eal=(--no-huge -m 256 --no-pci)

while read -r want args; do
	# shellcheck disable=SC2086
	"$gw" -l 0 --no-huge -m 64 --no-pci --file-prefix "$(dp_prefix bad)" -- $args \
		>"$DP_TMP/bad.out" 2>&1
	rc=$?
	((rc == 2)) || dp_fail "'$args': exit $rc, want 2 ($(cat "$DP_TMP/bad.out"))"
	grep -q -- "$want" "$DP_TMP/bad.out" ||
		dp_fail "'$args': no message with '$want': $(cat "$DP_TMP/bad.out")"
done <<'EOF2'
one --ip 10.0.0.2/24
one --ip 10.0.0.2/24 --listen 9100 --connect 10.0.0.1:9100
needs --listen 9100
client --ip 10.0.0.1/24 --listen 9100 --rate 10
A.B.C.D --ip 10.0.0.2/24 --connect 10.0.0.1
A.B.C.D --ip 10.0.0.2/24 --connect host:9100
rate --ip 10.0.0.2/24 --connect 10.0.0.1:9100 --rate 0
connections --ip 10.0.0.2/24 --connect 10.0.0.1:9100 --connections 0
window --ip 10.0.0.2/24 --connect 10.0.0.1:9100 --window 5000
listen --ip 10.0.0.1/24 --listen 70000
EOF2

leak_free() {
	grep -q 'mbufs in use at exit' "$DP_TMP/$1.err" && dp_fail "$1 leaked mbufs"
	return 0
}

dp_start server "$gw" -l 1 "${eal[@]}" --file-prefix "$(dp_prefix ogw_s)" \
	--vdev="net_vhost0,iface=$sock,queues=1" -- --ip 10.0.0.1/24 --listen 9100 --link-timeout 0
dp_wait_ready server 30
dp_wait_for "$DP_TMP/server.out" '^ordergw: listening on tcp port 9100$' 10 "${DP_PID[server]}" ||
	dp_fail "tern-ordergw: not listening"

dp_start client "$gw" -l 0 "${eal[@]}" --file-prefix "$(dp_prefix ogw_c)" \
	--vdev="net_virtio_user0,path=$sock,queues=1" -- \
	--ip 10.0.0.2/24 --connect 10.0.0.1:9100 --rate 5000 --duration 2 --connections 4
dp_wait_exit client 60 || dp_fail "the client still runs after 60 s"
((DP_RC == 0)) || dp_fail "the client exited with $DP_RC"
leak_free client
grep -E '^(orders|rtt_us|summary)' "$DP_TMP/client.out"
grep -Eq '^t=1s acks [0-9]+/s ' "$DP_TMP/client.out" || dp_fail "no live line"
sum=$(grep '^summary:' "$DP_TMP/client.out")
[[ $sum =~ ^summary:\ sent\ ([0-9]+)\ acked\ ([0-9]+)\ rejected\ ([0-9]+)\ errors\ ([0-9]+)\ timeouts\ ([0-9]+)\ rate\ ([0-9]+)\ p50_us\ ([0-9.]+)\ p90_us\ ([0-9.]+)\ p99_us\ ([0-9.]+)\ p999_us\ ([0-9.]+)\ max_us\ ([0-9.]+)$ ]] ||
	dp_fail "no summary line: $sum"
sent=${BASH_REMATCH[1]} acked=${BASH_REMATCH[2]}
# 5,000/s for 2 s on a schedule: exactly 10,000 orders are due.
((sent == 10000)) || dp_fail "sent $sent orders, want 10000 (5000/s for 2 s)"
((acked == sent)) || dp_fail "acked $acked of $sent"
[[ "${BASH_REMATCH[3]} ${BASH_REMATCH[4]} ${BASH_REMATCH[5]}" == "0 0 0" ]] ||
	dp_fail "rejects, errors or timeouts: $sum"
awk -v a="${BASH_REMATCH[7]}" -v b="${BASH_REMATCH[8]}" -v c="${BASH_REMATCH[9]}" \
	-v d="${BASH_REMATCH[10]}" -v e="${BASH_REMATCH[11]}" \
	'BEGIN { exit !(a > 0 && a <= b && b <= c && c <= d && d <= e) }' ||
	dp_fail "percentiles out of order: $sum"

# 3. SIGINT in the middle: a summary, exit 0.
dp_start sigint "$gw" -l 0 "${eal[@]}" --file-prefix "$(dp_prefix ogw_i)" \
	--vdev="net_virtio_user0,path=$sock,queues=1" -- \
	--ip 10.0.0.2/24 --connect 10.0.0.1:9100 --rate 2000 --duration 60
dp_wait_for "$DP_TMP/sigint.out" '^t=1s ' 30 "${DP_PID[sigint]}" || dp_fail "sigint: no live line"
kill -INT "${DP_PID[sigint]}"
dp_wait_exit sigint 20 || dp_fail "the client did not exit within 20 s of SIGINT"
((DP_RC == 0)) || dp_fail "the client exited with $DP_RC after SIGINT, want 0"
leak_free sigint
sum=$(grep '^summary:' "$DP_TMP/sigint.out") || dp_fail "no summary after SIGINT"
echo "sigint: $sum"
[[ $sum =~ ^summary:\ sent\ ([0-9]+)\ acked\ ([0-9]+) ]] || dp_fail "sigint: bad summary"
((BASH_REMATCH[2] > 0)) || dp_fail "sigint: nothing acked"
sent2=${BASH_REMATCH[1]}

kill -TERM "${DP_PID[server]}"
dp_wait_exit server 20 || dp_fail "the gateway did not exit within 20 s of SIGTERM"
((DP_RC == 0)) || dp_fail "the gateway exited with $DP_RC, want 0"
leak_free server
line=$(grep '^ordergw: accepted' "$DP_TMP/server.out")
echo "gateway: $line"
[[ $line =~ ^ordergw:\ accepted\ 5\ connections,\ orders\ ([0-9]+)\ acked\ ([0-9]+)\ rejected\ 0\ invalid\ 0\ truncated\ 0\ errors\ ([0-9]+)$ ]] ||
	dp_fail "gateway: want 5 connections, no reject or invalid message: $line"
# The interrupted client's orders in flight may or may not have arrived.
((BASH_REMATCH[1] == BASH_REMATCH[2] && BASH_REMATCH[1] >= sent &&
	BASH_REMATCH[1] <= sent + sent2)) ||
	dp_fail "gateway: ${BASH_REMATCH[1]} orders, ${BASH_REMATCH[2]} acked; the clients sent $sent + $sent2"

echo "dp_ordergw_pair: passed"
