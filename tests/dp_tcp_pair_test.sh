#!/usr/bin/env bash
# tern-echo's TCP client against its server, two processes over
# vhost-user/virtio-user (the link bench/run_tcp.py measures): the
# server at 10.0.0.1 (lcore 1) with an echo (7) and a discard (9)
# listener, clients at 10.0.0.2 (lcore 0).
#
#  1. Echo: 2,000 requests of 64 bytes one at a time (the client's
#     lockstep loop) and 2,000 with 8 in flight (its writer task): every
#     reply back byte-exact, RTT percentiles in order.
#  2. Bulk: --send-bytes 20000000: exit 0, every byte acknowledged, a
#     rate; --send-bytes 1e12 --duration 0.5: the time limit ends it,
#     well before 1e12 bytes, with exit 0; with --tcp-buf 4194304 on
#     both ends (a window far beyond the 256-descriptor virtio ring)
#     the client's port drops nothing: the dataplane takes from the
#     stack only what the port has room for, and TCP waits.
#  3. SIGTERM stops the server: exit 0; it echoed every request and
#     discarded exactly the bytes the clients saw acknowledged.
#  4. Bad combinations exit 2 with a message (no EAL needed).
#
# usage: dp_tcp_pair_test.sh TERN-ECHO
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

echo_app=$1
sock="$DP_TMP/vhost.sock"
# --no-huge: DPDK 22.11 backs that memory with a memfd, which vhost-user
# can share.
eal=(--no-huge -m 256 --no-pci)

# 4 first: cheap, and they must not start anything (the options are
# checked before the EAL starts).
while read -r want args; do
	# shellcheck disable=SC2086
	"$echo_app" -l 0 --no-huge -m 64 --no-pci --file-prefix "$(dp_prefix bad)" -- $args \
		>"$DP_TMP/bad.out" 2>&1
	rc=$?
	((rc == 2)) || dp_fail "'$args': exit $rc, want 2 ($(cat "$DP_TMP/bad.out"))"
	grep -q -- "$want" "$DP_TMP/bad.out" ||
		dp_fail "'$args': no message with '$want': $(cat "$DP_TMP/bad.out")"
done <<'EOF'
needs --ip 10.0.0.2/24 --client 10.0.0.1:9 --udp --send-bytes 100
excludes --ip 10.0.0.2/24 --client 10.0.0.1:9 --tcp --send-bytes 100 --count 5
excludes --ip 10.0.0.2/24 --client 10.0.0.1:9 --tcp --reconnect --send-bytes 100
server --ip 10.0.0.2/24 --client 10.0.0.1:9 --tcp --discard 9
client --ip 10.0.0.1/24 --discard 9 --send-bytes 100
twice --ip 10.0.0.1/24 --tcp 9 --discard 9
wants --ip 10.0.0.2/24 --client 10.0.0.1:9 --tcp --send-bytes 0
--tcp-buf --ip 10.0.0.2/24 --client 10.0.0.1:9 --tcp --send-bytes 100 --tcp-buf 1000
EOF

dp_start server "$echo_app" -l 1 "${eal[@]}" --file-prefix "$(dp_prefix pair_s)" \
	--vdev="net_vhost0,iface=$sock,queues=1" -- \
	--ip 10.0.0.1/24 --tcp 7 --discard 9 --link-timeout 0 --tcp-buf 4194304
dp_wait_ready server 30
dp_wait_for "$DP_TMP/server.out" '^echo: tcp port 9 \(discard\)$' 10 "${DP_PID[server]}" ||
	dp_fail "tern-echo: no discard listener on tcp port 9"

# name window
while read -r name window; do
	dp_start "$name" "$echo_app" -l 0 "${eal[@]}" --file-prefix "$(dp_prefix "pair_$name")" \
		--vdev="net_virtio_user0,path=$sock,queues=1" -- \
		--ip 10.0.0.2/24 --client 10.0.0.1:7 --tcp --size 64 --count 2000 \
		--window "$window" --timeout 5000
	dp_wait_exit "$name" 60 || dp_fail "$name: the client still runs after 60 s"
	((DP_RC == 0)) || dp_fail "$name: the client exited with $DP_RC"
	summary=$(grep '^summary:' "$DP_TMP/$name.out")
	rtt=$(grep '^rtt_ns' "$DP_TMP/$name.out")
	echo "$name (window $window): $summary; $rtt"
	[[ $summary =~ ^summary:\ sent\ ([0-9]+)\ recv\ ([0-9]+)\ lost\ ([0-9]+)\ bad\ ([0-9]+) ]] ||
		dp_fail "$name: no summary line"
	((BASH_REMATCH[1] == 2000 && BASH_REMATCH[2] == 2000 && BASH_REMATCH[4] == 0)) ||
		dp_fail "$name: $summary: want 2000 sent, 2000 back byte-exact"
	[[ $rtt =~ ^rtt_ns\ p50=([0-9]+)\ p99=([0-9]+)\ p999=([0-9]+)\ max=([0-9]+)$ ]] ||
		dp_fail "$name: no RTT percentiles"
	((BASH_REMATCH[1] > 0 && BASH_REMATCH[1] <= BASH_REMATCH[2] &&
		BASH_REMATCH[2] <= BASH_REMATCH[3] && BASH_REMATCH[3] <= BASH_REMATCH[4])) ||
		dp_fail "$name: RTT percentiles out of order: $rtt"
done <<'EOF'
lockstep 1
pipelined 8
EOF

acked_total=0
# name max-seconds args
while read -r name secs args; do
	start=$SECONDS
	# shellcheck disable=SC2086
	dp_start "$name" "$echo_app" -l 0 "${eal[@]}" --file-prefix "$(dp_prefix "pair_$name")" \
		--vdev="net_virtio_user0,path=$sock,queues=1" -- \
		--ip 10.0.0.2/24 --client 10.0.0.1:9 --tcp $args
	dp_wait_exit "$name" 60 || dp_fail "$name: the client still runs after 60 s"
	((DP_RC == 0)) || dp_fail "$name: the client exited with $DP_RC"
	line=$(grep '^tcp-send:' "$DP_TMP/$name.out")
	echo "$name: $line"
	[[ $line =~ ^tcp-send:\ ([0-9]+)\ bytes\ acknowledged\ in\ ([0-9.]+)\ s,\ ([0-9.]+)\ Gbit/s,\ mss\ ([0-9]+),\ retransmits\ ([0-9]+),\ srtt\ ([0-9.]+)\ us,\ cwnd\ ([0-9]+)$ ]] ||
		dp_fail "$name: no tcp-send line"
	acked=${BASH_REMATCH[1]} mss=${BASH_REMATCH[4]}
	((mss == 1460 || mss == 1448)) || dp_fail "$name: mss $mss, want 1448 (1460 less timestamps)"
	case $name in
	count) ((acked == 20000000)) || dp_fail "$name: $acked bytes acknowledged, want 20000000" ;;
	timed)
		((acked > 0 && acked < 1000000000000)) ||
			dp_fail "$name: $acked bytes acknowledged: the time limit did not end it"
		((SECONDS - start <= secs)) ||
			dp_fail "$name: took $((SECONDS - start)) s with --duration 0.5"
		;;
	bigbuf)
		port=$(grep -h '^port 0:' "$DP_TMP/$name.out" "$DP_TMP/$name.err")
		echo "$name: $port"
		grep -Eq 'drops rx [0-9]+ tx 0,' <<<"$port" || dp_fail "$name: the port dropped frames: $port"
		;;
	esac
	[[ ${BASH_REMATCH[3]} != 0.000 ]] || dp_fail "$name: a rate of 0"
	acked_total=$((acked_total + acked))
done <<'EOF'
count 60 --send-bytes 20000000
timed 30 --send-bytes 1e12 --duration 0.5
bigbuf 30 --send-bytes 1e12 --duration 1 --tcp-buf 4194304
EOF

kill -TERM "${DP_PID[server]}"
dp_wait_exit server 20 || dp_fail "the server did not exit within 20 s of SIGTERM"
((DP_RC == 0)) || dp_fail "the server exited with $DP_RC after SIGTERM, want 0"
line=$(grep '^tcp 7:' "$DP_TMP/server.out")
echo "server: $line"
[[ $line =~ ^tcp\ 7:\ accepted\ 2\ connections,\ echoed\ 256000\ bytes,\ errors\ 0$ ]] ||
	dp_fail "server: want 2 connections, 2 x 2000 x 64 bytes echoed, no errors: $line"
line=$(grep '^tcp 9:' "$DP_TMP/server.out")
echo "server: $line"
[[ $line =~ ^tcp\ 9:\ accepted\ 3\ connections,\ discarded\ ([0-9]+)\ bytes,\ errors\ 0$ ]] ||
	dp_fail "server: want 3 connections, no errors: $line"
((BASH_REMATCH[1] == acked_total)) ||
	dp_fail "server discarded ${BASH_REMATCH[1]} bytes, the clients saw $acked_total acknowledged"

echo "dp_tcp_pair: passed"
