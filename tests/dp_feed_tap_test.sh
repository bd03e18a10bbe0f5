#!/usr/bin/env bash
# tern-feed with the kernel as the peer, over net_tap, in a namespace of
# its own (tern-feed at 10.98.0.2, the kernel at 10.98.0.1/24 on the tap
# device).  The kernel side is tests/dp_feed.py.
#
# 1. tern-feed publishes 239.9.9.9:5000 (1,000/s for 4 s); a kernel
#    socket joins the group with IP_ADD_MEMBERSHIP (`ip maddr` shows the
#    membership on the tap device) and must receive valid messages
#    (header, length, payload) from some point on with no gap and no
#    duplicate, up to the last one the publisher sent, and one-way
#    latencies (CLOCK_MONOTONIC on both sides).
# 2. An AF_PACKET watcher on every interface of the namespace starts
#    first; tern-feed subscribes to 239.9.9.10:5001, and the kernel side
#    must see its IGMPv2 membership report.  A kernel socket publishes
#    2,000 messages (1,000/s) with CLOCK_MONOTONIC send times; tern-feed
#    must count exactly 2,000, no gap, duplicate, reordering, bad message
#    or clock skew, with ordered latency percentiles.  SIGTERM: the
#    summary, exit 0, the IGMPv2 leave seen by the kernel side, the
#    stack's counters (one report, one leave), no leaked mbufs.
#
# usage: dp_feed_tap_test.sh TERN-FEED
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

feed=$1
FEED_PY=$(dirname "$(realpath "$0")")/dp_feed.py
ns=tn-feed-$$ dev1=tnfeedp$$ dev2=tnfeeds$$
eal=(-l 1 --no-huge -m 256 --no-pci)

nsrun() {
	ip netns exec "$ns" "$@"
}

# tap_up DEV: the kernel's side of tern-feed's tap device.
tap_up() {
	ip -n "$ns" link show "$1" >/dev/null 2>&1 || dp_fail "no $1 in $ns"
	ip -n "$ns" addr add 10.98.0.1/24 dev "$1" || dp_fail "cannot address $1"
	ip -n "$ns" link set "$1" up || dp_fail "cannot bring $1 up"
}

# tern-feed's exit: code 0 and no leaked mbufs.
clean_exit() {
	local name=$1
	((DP_RC == 0)) || dp_fail "$name exited with $DP_RC, want 0"
	grep -q 'mbufs in use at exit' "$DP_TMP/$name.err" && dp_fail "$name leaked mbufs"
	return 0
}

dp_need_root
dp_netns "$ns" || dp_fail "cannot create a network namespace"
ip -n "$ns" link set lo up
ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1

# ---- 1. tern-feed -> the kernel
dp_start pub ip netns exec "$ns" "$feed" "${eal[@]}" --file-prefix "$(dp_prefix pub)" \
	--vdev="net_tap0,iface=$dev1" -- --ip 10.98.0.2/24 --link-timeout 0 \
	--publish 239.9.9.9:5000 --rate 1000 --size 100 --duration 4
dp_wait_ready pub 30
dp_wait_for "$DP_TMP/pub.out" '^publishing to 239\.9\.9\.9:5000' 10 "${DP_PID[pub]}" ||
	dp_fail "tern-feed is not publishing"
tap_up "$dev1"
dp_start ksub ip netns exec "$ns" python3 "$FEED_PY" feed-sub 10.98.0.1 239.9.9.9 5000 15
dp_wait_for "$DP_TMP/ksub.out" '^joined' 10 "${DP_PID[ksub]}" ||
	dp_fail "the kernel subscriber did not join"
ip -n "$ns" maddr show dev "$dev1" | grep -Eq 'inet +239\.9\.9\.9\b' ||
	dp_fail "ip maddr: the kernel is not a member of 239.9.9.9 on $dev1"
dp_wait_exit pub 20 || dp_fail "the publisher still runs 20 s after it started"
clean_exit pub
dp_wait_exit ksub 20 || dp_fail "the kernel subscriber did not finish"
cat "$DP_TMP/ksub.out"
((DP_RC == 0)) || dp_fail "the kernel subscriber failed"
pub_sum=$(grep '^summary:' "$DP_TMP/pub.out")
echo "publisher: $pub_sum"
[[ $pub_sum =~ ^summary:\ sent\ ([0-9]+)\ errors\ ([0-9]+) ]] || dp_fail "no publisher summary"
sent=${BASH_REMATCH[1]}
((BASH_REMATCH[2] == 0)) || dp_fail "the publisher had send errors"
res=$(grep '^received' "$DP_TMP/ksub.out")
[[ $res =~ ^received\ ([0-9]+)\ first\ ([0-9]+)\ last\ ([0-9]+)\ gaps\ ([0-9]+)\ dup\ ([0-9]+)\ bad\ ([0-9]+)\ latency_ns\ p50=(-?[0-9]+) ]] ||
	dp_fail "no result from the kernel subscriber"
recv=${BASH_REMATCH[1]} last=${BASH_REMATCH[3]} gaps=${BASH_REMATCH[4]}
dup=${BASH_REMATCH[5]} bad=${BASH_REMATCH[6]} p50=${BASH_REMATCH[7]}
((recv >= 1000)) || dp_fail "the kernel got $recv messages, want at least 1000 of $sent"
((last == sent - 1)) || dp_fail "the kernel's last message is $last, the publisher's $((sent - 1))"
((gaps == 0 && dup == 0 && bad == 0)) || dp_fail "gaps $gaps dup $dup bad $bad, want none"
((p50 > 0)) || dp_fail "latency p50 $p50 ns: not after the send time"

# ---- 2. the kernel -> tern-feed
dp_start watch ip netns exec "$ns" python3 "$FEED_PY" igmp-watch 239.9.9.10 25
dp_wait_for "$DP_TMP/watch.out" '^listening' 10 "${DP_PID[watch]}" ||
	dp_fail "the IGMP watcher did not start"
dp_start sub ip netns exec "$ns" "$feed" "${eal[@]}" --file-prefix "$(dp_prefix sub)" \
	--vdev="net_tap0,iface=$dev2" -- --ip 10.98.0.2/24 --link-timeout 0 \
	--subscribe 239.9.9.10:5001
dp_wait_ready sub 30
dp_wait_for "$DP_TMP/sub.out" '^subscribed to 239\.9\.9\.10:5001' 10 "${DP_PID[sub]}" ||
	dp_fail "tern-feed did not subscribe"
dp_wait_for "$DP_TMP/watch.out" "^report 239\.9\.9\.10 from 10\.98\.0\.2 on $dev2" 5 ||
	dp_fail "the kernel side saw no IGMPv2 report for 239.9.9.10"
tap_up "$dev2"
nsrun python3 "$FEED_PY" feed-pub 10.98.0.1 239.9.9.10 5001 2000 1000 7 ||
	dp_fail "the kernel publisher failed"
# The live line says when all 2,000 are in (or more, if duplicated).
dp_wait_for "$DP_TMP/sub.out" ' total (2000|200[1-9]|20[1-9][0-9]) ' 10 "${DP_PID[sub]}" ||
	dp_fail "tern-feed did not count 2000 messages"
kill -TERM "${DP_PID[sub]}"
dp_wait_exit sub 20 || dp_fail "tern-feed did not exit within 20 s of SIGTERM"
clean_exit sub
grep -E '^(summary|latency|left)' "$DP_TMP/sub.out"
sum=$(grep '^summary:' "$DP_TMP/sub.out")
[[ $sum =~ ^summary:\ received\ ([0-9]+)\ gaps\ ([0-9]+)\ dup\ ([0-9]+)\ reordered\ ([0-9]+)\ late\ ([0-9]+)\ bad\ ([0-9]+)\ skew\ ([0-9]+)\ feeds\ 1\  ]] ||
	dp_fail "no summary (or not one feed) from tern-feed"
[[ ${BASH_REMATCH[1]} == 2000 && "${BASH_REMATCH[*]:2}" == "0 0 0 0 0 0" ]] ||
	dp_fail "tern-feed: $sum; want received 2000 and no gap, dup, reordering, bad or skew"
lat=$(grep '^latency_ns' "$DP_TMP/sub.out")
[[ $lat =~ ^latency_ns\ p50=([0-9]+)\ p99=([0-9]+)\ p999=([0-9]+)\ max=([0-9]+)$ ]] ||
	dp_fail "no latency line"
((BASH_REMATCH[1] > 0 && BASH_REMATCH[1] <= BASH_REMATCH[2] &&
	BASH_REMATCH[2] <= BASH_REMATCH[3] && BASH_REMATCH[3] <= BASH_REMATCH[4])) ||
	dp_fail "latency percentiles out of order: $lat"
grep -q '^left 239\.9\.9\.10:5001' "$DP_TMP/sub.out" || dp_fail "tern-feed did not leave"
dp_wait_for "$DP_TMP/watch.out" "^leave 239\.9\.9\.10 from 10\.98\.0\.2" 5 ||
	dp_fail "the kernel side saw no IGMPv2 leave"
grep -E '^stack:' "$DP_TMP/sub.err" | grep -q 'igmp_reports_sent=1 igmp_leaves_sent=1' ||
	dp_fail "the stack's counters do not show one report and one leave"

echo "dp_feed_tap: passed"
