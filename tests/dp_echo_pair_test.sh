#!/usr/bin/env bash
# tern-echo's client against tern-echo's server, two processes over
# vhost-user/virtio-user (the link bench/run_echo.py measures first): the
# server at 10.0.0.1 on UDP port 7 (lcore 1), the client at 10.0.0.2
# (lcore 0).  For each case (payload size, requests in flight) the client
# sends --count requests: every one must come back byte-exact (recv ==
# sent, lost, bad and late 0: the link is lossless at this rate), with
# ordered RTT percentiles and a positive rate=.  The sizes take in a
# payload that is only the client's stamp (24 bytes) and one that is
# fragmented both ways (9,000 bytes at the 1,500-byte MTU).  Then SIGTERM
# stops the server: exit 0, and it echoed every request.
#
# usage: dp_echo_pair_test.sh TERN-ECHO
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

echo_app=$1
sock="$DP_TMP/vhost.sock"
# Both with --no-huge: DPDK 22.11 backs that memory with a memfd, which
# vhost-user can share.  A deep virtio ring: a client descheduled for a
# few milliseconds (2 CPUs, other work) must not make the server drop.
eal=(--no-huge -m 256 --no-pci)

dp_start server "$echo_app" -l 1 "${eal[@]}" --file-prefix "$(dp_prefix echo_s)" \
	--vdev="net_vhost0,iface=$sock,queues=1" -- \
	--ip 10.0.0.1/24 --udp 7 --link-timeout 0
dp_wait_ready server 30
dp_wait_for "$DP_TMP/server.out" '^echo: udp port 7$' 10 "${DP_PID[server]}" ||
	dp_fail "tern-echo: no socket on udp port 7"

total=0
# name size window count
while read -r name size window count; do
	dp_start "$name" "$echo_app" -l 0 "${eal[@]}" --file-prefix "$(dp_prefix "echo_$name")" \
		--vdev="net_virtio_user0,path=$sock,queues=1,queue_size=4096" -- \
		--ip 10.0.0.2/24 --client 10.0.0.1:7 --udp --size "$size" --window "$window" \
		--count "$count" --timeout 2000
	dp_wait_exit "$name" 60 || dp_fail "$name: the client still runs after 60 s"
	((DP_RC == 0)) || dp_fail "$name: the client exited with $DP_RC"
	summary=$(grep '^summary:' "$DP_TMP/$name.out")
	rtt=$(grep '^rtt_ns' "$DP_TMP/$name.out")
	echo "$name ($size bytes, window $window): $summary"
	echo "$name: $rtt"
	[[ $summary =~ ^summary:\ sent\ ([0-9]+)\ recv\ ([0-9]+)\ lost\ ([0-9]+)\ bad\ ([0-9]+)\ late\ ([0-9]+)\ refused\ ([0-9]+)\ in\ ([0-9.]+)\ s\ rate=([0-9]+)/s$ ]] ||
		dp_fail "$name: no summary line with rate= from the client"
	sent=${BASH_REMATCH[1]} recv=${BASH_REMATCH[2]} lost=${BASH_REMATCH[3]}
	bad=${BASH_REMATCH[4]} late=${BASH_REMATCH[5]} rate=${BASH_REMATCH[8]}
	((sent == count)) || dp_fail "$name: sent $sent requests, want $count"
	((recv == sent && lost == 0 && bad == 0 && late == 0)) ||
		dp_fail "$name: sent $sent recv $recv lost $lost bad $bad late $late: want every reply"
	((rate > 0)) || dp_fail "$name: rate=$rate"
	[[ $rtt =~ ^rtt_ns\ p50=([0-9]+)\ p99=([0-9]+)\ p999=([0-9]+)\ max=([0-9]+)$ ]] ||
		dp_fail "$name: no RTT percentiles"
	p50=${BASH_REMATCH[1]} p99=${BASH_REMATCH[2]} p999=${BASH_REMATCH[3]} max=${BASH_REMATCH[4]}
	((p50 > 0 && p50 <= p99 && p99 <= p999 && p999 <= max)) ||
		dp_fail "$name: RTT percentiles out of order: $rtt"
	total=$((total + sent))
done <<'EOF'
stamp 24 1 2000
small 64 1 20000
window 64 32 50000
frag 9000 4 2000
EOF

kill -TERM "${DP_PID[server]}"
dp_wait_exit server 20 || dp_fail "the server did not exit within 20 s of SIGTERM"
((DP_RC == 0)) || dp_fail "the server exited with $DP_RC after SIGTERM, want 0"
echoed=$(sed -n 's/^udp 7: echoed \([0-9]*\) datagrams.*/\1/p' "$DP_TMP/server.out")
echo "server: echoed ${echoed:-?} datagrams"
((${echoed:-0} == total)) || dp_fail "the server echoed ${echoed:-no} datagrams, want $total"

echo "dp_echo_pair: passed"
