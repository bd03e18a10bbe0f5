#!/usr/bin/env bash
# tern-feed between two Tern processes over a shared-memory link: the
# subscriber (lcore 1, 10.96.0.2) is the server end, the publisher
# (lcore 0, 10.96.0.1) the client end.
#
#   memif:  net_memif0,role=server  <->  net_memif0,role=client
#   vhost:  net_vhost0 (vhost-user) <->  net_virtio_user0
#
# The publisher sends 20,000 128-byte messages to 239.5.5.5:6000 at
# 20,000/s to the subscriber, which joined first.  The link is lossless
# at this rate, so: the publisher sent all of them without an error, the
# subscriber got exactly 20,000 with no gap, duplicate, reordering, bad
# message or clock skew, its latency percentiles are ordered, its stack
# sent one IGMPv2 report and one leave, both exit 0 and neither leaks an
# mbuf.
#
# Over vhost the subscriber exits by itself after 20,000 (--count).  Over
# memif it must outlive the publisher, which lingers until the
# subscriber's live line shows 20,000: DPDK 22.11's memif PMD can crash
# a poller inside rx_burst when its peer disconnects (dp_twoproc_test.sh
# has the story; seen here too, as a SIGSEGV of a publisher whose
# subscriber had just left).  So the memif subscriber sleeps when idle
# (--idle sleep), runs without --count, and gets SIGTERM once the
# publisher is gone.
#
# usage: dp_feed_twoproc_test.sh memif|vhost TERN-FEED
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

mode=$1 feed=$2
count=20000 rate=20000
idle=poll
case $mode in
memif)
	sock="/tern-dp-feed-$$.sock"
	server="net_memif0,role=server,socket=$sock,rsize=14"
	client="net_memif0,role=client,socket=$sock,rsize=14"
	idle=sleep
	;;
vhost)
	sock="$DP_TMP/vhost.sock"
	server="net_vhost0,iface=$sock,queues=1"
	client="net_virtio_user0,path=$sock,queues=1,queue_size=4096"
	;;
*)
	echo "usage: $0 memif|vhost TERN-FEED"
	exit 2
	;;
esac
eal=(--no-huge -m 256 --no-pci)

limit=(--count "$count" --duration 25)
[[ $mode == memif ]] && limit=()
dp_start sub "$feed" -l 1 "${eal[@]}" --file-prefix "$(dp_prefix "${mode}_s")" \
	--vdev="$server" -- --link-timeout 0 --idle "$idle" --ip 10.96.0.2/24 \
	--subscribe 239.5.5.5:6000 "${limit[@]}"
dp_wait_ready sub 30
dp_wait_for "$DP_TMP/sub.out" '^subscribed to 239\.5\.5\.5:6000' 10 "${DP_PID[sub]}" ||
	dp_fail "the subscriber did not subscribe"

# The publisher is the client end on both links, and the ring's tail is
# in its memory (virtio-user's; memif's regions are the client's), so it
# lingers (--linger) until the subscriber has everything, or a subscriber
# kept off its CPU would lose the tail uncounted.
dp_start pub "$feed" -l 0 "${eal[@]}" --file-prefix "$(dp_prefix "${mode}_p")" \
	--vdev="$client" -- --ip 10.96.0.1/24 --publish 239.5.5.5:6000 \
	--rate "$rate" --count "$count" --size 128 --quiet --linger
if [[ $mode == vhost ]]; then
	dp_wait_exit sub 40 || dp_fail "the subscriber still runs after 40 s"
	sub_rc=$DP_RC
	dp_wait_for "$DP_TMP/pub.out" '^summary: ' 5 "${DP_PID[pub]}" ||
		dp_fail "the publisher has not finished"
else
	dp_wait_for "$DP_TMP/pub.out" '^summary: ' 40 "${DP_PID[pub]}" ||
		dp_fail "the publisher has not finished"
	# Everything the publisher sent and no port dropped has arrived
	# once the live line shows it (a drop is counted, and checked below).
	dp_wait_for "$DP_TMP/sub.out" " total $count " 10 "${DP_PID[sub]}" ||
		echo "note: the subscriber's live line never showed $count"
fi
kill -TERM "${DP_PID[pub]}"
dp_wait_exit pub 25 || dp_fail "the publisher still runs after 25 s"
((DP_RC == 0)) || dp_fail "the publisher exited with $DP_RC"
if [[ $mode == memif ]]; then
	kill -TERM "${DP_PID[sub]}"
	dp_wait_exit sub 25 || dp_fail "the subscriber still runs after 25 s"
	sub_rc=$DP_RC
fi
((sub_rc == 0)) || dp_fail "the subscriber exited with $sub_rc"
for name in pub sub; do
	grep -q 'mbufs in use at exit' "$DP_TMP/$name.err" && dp_fail "$name leaked mbufs"
done

pub_sum=$(grep '^summary:' "$DP_TMP/pub.out")
sum=$(grep '^summary:' "$DP_TMP/sub.out")
lat=$(grep '^latency_ns' "$DP_TMP/sub.out")
echo "publisher: $pub_sum"
echo "subscriber: $sum"
echo "subscriber: $lat"
[[ $pub_sum =~ ^summary:\ sent\ $count\ errors\ 0\  ]] ||
	dp_fail "the publisher did not send $count messages without an error"
[[ $sum =~ ^summary:\ received\ ([0-9]+)\ gaps\ ([0-9]+)\ dup\ ([0-9]+)\ reordered\ ([0-9]+)\ late\ ([0-9]+)\ bad\ ([0-9]+)\ skew\ ([0-9]+)\ feeds\ 1\  ]] ||
	dp_fail "no summary (or not one feed) from the subscriber"
received=${BASH_REMATCH[1]} gaps=${BASH_REMATCH[2]}
[[ "${BASH_REMATCH[*]:3}" == "0 0 0 0 0" ]] ||
	dp_fail "want no dup, reordering, bad message or skew"
# Lossless while both ends keep up; on a loaded machine a poller
# descheduled for longer than its ring holds makes a sender drop, and
# every such drop must be counted: by a port (publisher TX, subscriber
# RX), or by the publisher's stack when its output queue, where frames
# wait for room at the port, is full (tx_queue_full).
read -r _ _ _ pdtx < <(dp_port_counters "$DP_TMP/pub.err" 0)
read -r _ _ sdrx _ < <(dp_port_counters "$DP_TMP/sub.err" 0)
pqf=$(sed -nE 's/^stack: .*tx_queue_full=([0-9]+).*/\1/p' "$DP_TMP/pub.err")
((received <= count && count - received <= ${pdtx:-0} + ${sdrx:-0} + ${pqf:-0})) ||
	dp_fail "received $received of $count (gaps $gaps) with port drops ${pdtx:-?} tx / ${sdrx:-?} rx, publisher queue full ${pqf:-0}: messages lost without a count"
((received == count)) || echo "note: $((count - received)) messages lost, each counted as a port drop (a descheduled poller)"
[[ $lat =~ ^latency_ns\ p50=([0-9]+)\ p99=([0-9]+)\ p999=([0-9]+)\ max=([0-9]+)$ ]] ||
	dp_fail "no latency line"
((BASH_REMATCH[1] > 0 && BASH_REMATCH[1] <= BASH_REMATCH[2] &&
	BASH_REMATCH[2] <= BASH_REMATCH[3] && BASH_REMATCH[3] <= BASH_REMATCH[4])) ||
	dp_fail "latency percentiles out of order: $lat"
grep -E '^stack:' "$DP_TMP/sub.err" | grep -q 'igmp_reports_sent=1 igmp_leaves_sent=1' ||
	dp_fail "the subscriber's stack did not send one IGMPv2 report and one leave"
[[ $mode == vhost && -e $sock ]] && dp_fail "the vhost-user socket $sock outlived the port"

echo "dp_feed_twoproc $mode: passed"
