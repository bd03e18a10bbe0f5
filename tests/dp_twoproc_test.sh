#!/usr/bin/env bash
# Two Tern processes over a shared-memory link: tern-reflect (lcore 1) is
# the server end, tern-pktgen (lcore 0) the client that sends 100,000
# frames at 200 kpps and measures their round trip.
#
#   memif:  net_memif0,role=server  <->  net_memif0,role=client
#   vhost:  net_vhost0 (vhost-user) <->  net_virtio_user0
#
# (Over memif it first checks that pktgen without a peer refuses to send.)
# Both links are lossless at this rate, so pktgen must get every frame
# back (recv == sent, lost 0, bad 0) and print its RTT percentiles.  Then
# pktgen closed-loop (--window 1 and 8: every frame back, the window
# full and never exceeded; --window 1 with 5% of frames dropped by its
# own --fault: the lost ones given up after --timeout, the run ends).  Then
# SIGTERM stops the reflector: exit 0, and its exit counters show every
# frame received and sent back, none dropped (and for vhost, closing the
# port removed the socket file).
#
# Both processes run with --no-huge: DPDK 22.11 backs that memory with a
# memfd, which memif and vhost-user can share.  Over memif the reflector
# sleeps when idle (--idle sleep; see below), so only the vhost run
# measures two busy-polling ends.
#
# usage: dp_twoproc_test.sh memif|vhost TERN-REFLECT TERN-PKTGEN
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

mode=$1 reflect=$2 pktgen=$3
count=100000 rate=200000
# Rings far deeper than the defaults (memif 1024 slots, virtio 256):
# 80 ms and 20 ms of traffic, so that a busy-poller descheduled for a few
# milliseconds (2 CPUs, other work) does not make the other end drop.
idle=poll
case $mode in
memif)
	# An abstract socket (memif's default): nothing to remove.
	sock="/tern-dp-memif-$$.sock"
	server="net_memif0,role=server,socket=$sock,rsize=14"
	client="net_memif0,role=client,socket=$sock,rsize=14"
	# DPDK 22.11's memif PMD unmaps the shared rings from its control
	# thread when the peer disconnects, racing with an rx_burst in
	# progress (SEGV in librte_net_memif, seen under ASan when pktgen
	# exits).  A reflector that sleeps when idle is almost never inside
	# rx_burst by then.
	idle=sleep
	;;
vhost)
	sock="$DP_TMP/vhost.sock"
	server="net_vhost0,iface=$sock,queues=1"
	client="net_virtio_user0,path=$sock,queues=1,queue_size=4096"
	;;
*)
	echo "usage: $0 memif|vhost TERN-REFLECT TERN-PKTGEN"
	exit 2
	;;
esac
eal=(--no-huge -m 256 --no-pci)

# Without its peer the link never comes up: pktgen refuses to send
# (exit 1, a message) instead of counting every frame as lost.
if [[ $mode == memif ]]; then
	dp_start lonely "$pktgen" -l 0 "${eal[@]}" --file-prefix "$(dp_prefix "${mode}_l")" \
		--vdev="net_memif0,role=server,socket=/tern-dp-nobody-$$.sock" -- \
		--link-timeout 200 --count 10 --quiet
	dp_wait_exit lonely 30 || dp_fail "pktgen without a peer still running after 30 s"
	((DP_RC == 1)) || dp_fail "pktgen without a peer exited with $DP_RC, want 1"
	grep -q 'link is down' "$DP_TMP/lonely.err" ||
		dp_fail "pktgen without a peer did not say its link is down"
	grep -q '^summary:' "$DP_TMP/lonely.out" && dp_fail "pktgen without a peer sent frames"
fi

# The server first; its link comes up only when the client connects, so
# it does not wait for it.
dp_start reflect "$reflect" -l 1 "${eal[@]}" --file-prefix "$(dp_prefix "${mode}_r")" \
	--vdev="$server" -- --link-timeout 0 --idle "$idle"
dp_wait_ready reflect 30
[[ $mode == vhost && ! -S $sock ]] && dp_fail "no vhost-user socket at $sock"

dp_start pktgen "$pktgen" -l 0 "${eal[@]}" --file-prefix "$(dp_prefix "${mode}_p")" \
	--vdev="$client" -- --count "$count" --rate "$rate" --quiet
dp_wait_exit pktgen 60 || dp_fail "pktgen still running after 60 s"
((DP_RC == 0)) || dp_fail "pktgen exited with $DP_RC"

# Closed loop (--window: a new frame for each reply, from the RX
# handler): every frame back, never more than the window in flight, and
# with frames lost on the way (pktgen's own --fault) the ones given up
# after --timeout are exactly the lost ones, and the run still ends.
closed_loop() { # NAME WINDOW COUNT TIMEOUT-MS [TERN-OPTIONS...]
	local name=$1 window=$2 n=$3 timeout=$4 out
	shift 4
	dp_start "$name" "$pktgen" -l 0 "${eal[@]}" --file-prefix "$(dp_prefix "${mode}_$name")" \
		--vdev="$client" -- "$@" --count "$n" --window "$window" --quiet --timeout "$timeout"
	dp_wait_exit "$name" 60 || dp_fail "pktgen --window $window still running after 60 s"
	((DP_RC == 0)) || dp_fail "pktgen --window $window exited with $DP_RC"
	out=$(grep -E '^(summary|closed loop|rtt_ns)' "$DP_TMP/$name.out")
	echo "pktgen --window $window $*: $out"
	[[ $out =~ summary:\ sent\ ([0-9]+)\ recv\ ([0-9]+)\ lost\ ([0-9]+)\ bad\ ([0-9]+) ]] ||
		dp_fail "no summary from pktgen --window $window"
	cl_sent=${BASH_REMATCH[1]} cl_recv=${BASH_REMATCH[2]} cl_lost=${BASH_REMATCH[3]}
	((cl_sent == n && BASH_REMATCH[4] == 0)) ||
		dp_fail "pktgen --window $window: sent $cl_sent (want $n), bad ${BASH_REMATCH[4]}"
	[[ $out =~ closed\ loop:\ window\ $window,\ at\ most\ ([0-9]+)\ in\ flight,\ ([0-9]+)\ given\ up ]] ||
		dp_fail "no closed-loop line from pktgen --window $window"
	cl_max=${BASH_REMATCH[1]} cl_given=${BASH_REMATCH[2]}
	((cl_max == window)) || dp_fail "pktgen --window $window had at most $cl_max in flight"
}
closed_loop closed1 1 2000 5000
((cl_lost == 0 && cl_given == 0)) || dp_fail "closed loop: lost $cl_lost, gave up on $cl_given"
closed_loop closed8 8 5000 5000
((cl_lost == 0 && cl_given == 0)) || dp_fail "closed loop: lost $cl_lost, gave up on $cl_given"
# (A reply later than 5 ms, a descheduled reflector, counts as received
# and given up both: hence >=.)
closed_loop closedlossy 1 2000 5 --fault drop=0.05,seed=3
((cl_lost > 0 && cl_given >= cl_lost && cl_recv + cl_lost == 2000)) ||
	dp_fail "lossy closed loop: recv $cl_recv lost $cl_lost given up $cl_given"

# SIGTERM: a clean exit with the counters.
kill -TERM "${DP_PID[reflect]}"
dp_wait_exit reflect 20 || dp_fail "reflect did not exit within 20 s of SIGTERM"
((DP_RC == 0)) || dp_fail "reflect exited with $DP_RC after SIGTERM, want 0"
summary=$(grep '^summary:' "$DP_TMP/pktgen.out")
rtt=$(grep '^rtt_ns' "$DP_TMP/pktgen.out")
echo "pktgen: $summary"
echo "pktgen: $rtt"
[[ $summary =~ ^summary:\ sent\ ([0-9]+)\ recv\ ([0-9]+)\ lost\ ([0-9]+)\ bad\ ([0-9]+)\ reordered\ ([0-9]+) ]] ||
	dp_fail "no summary line from pktgen"
sent=${BASH_REMATCH[1]} recv=${BASH_REMATCH[2]} lost=${BASH_REMATCH[3]} bad=${BASH_REMATCH[4]}
# The link is FIFO, and what tern-reflect sends at once (a whole burst
# while nothing waits) or leaves in its TX buffer must keep its order.
((BASH_REMATCH[5] == 0)) || dp_fail "pktgen saw ${BASH_REMATCH[5]} frames out of order, want 0"
((sent == count)) || dp_fail "pktgen sent $sent frames, want $count"
((recv + lost == sent && bad == 0)) ||
	dp_fail "sent $sent recv $recv lost $lost bad $bad: want every frame back or lost"
[[ $rtt =~ ^rtt_ns\ p50=([0-9]+)\ p99=([0-9]+)\ p999=([0-9]+)\ max=([0-9]+)$ ]] ||
	dp_fail "no RTT percentiles from pktgen"
p50=${BASH_REMATCH[1]} p99=${BASH_REMATCH[2]} p999=${BASH_REMATCH[3]} max=${BASH_REMATCH[4]}
((p50 > 0 && p50 <= p99 && p99 <= p999 && p999 <= max)) ||
	dp_fail "RTT percentiles out of order: $rtt"

read -r rx tx drx dtx < <(dp_port_counters "$DP_TMP/reflect.err" 0)
echo "reflect: port 0: rx $rx tx $tx drops rx $drx tx $dtx"
[[ -n ${rx:-} ]] || dp_fail "reflect printed no counters at exit"
# The link is lossless while both ends keep up; on a loaded machine a
# busy-poller descheduled for longer than its ring holds (20-80 ms here)
# makes a sender drop.  Such drops must be counted where they happen:
# every frame pktgen sent was received by the reflector or dropped
# before, and every frame it took came back or was dropped by it.
read -r _ _ pdrx pdtx < <(dp_port_counters "$DP_TMP/pktgen.err" 0)
((rx + drx + ${pdtx:-0} >= sent && tx + dtx == rx && rx - dtx + ${pdrx:-0} >= recv &&
	recv + drx + dtx + ${pdtx:-0} + ${pdrx:-0} >= sent)) ||
	dp_fail "reflect counters: rx $rx tx $tx drops $drx/$dtx (pktgen drops $pdrx/$pdtx): frames lost without a count"
((lost == 0)) || echo "note: $lost frames lost, each counted as a drop (a descheduled poller)"
[[ $mode == vhost && -e $sock ]] && dp_fail "the vhost-user socket $sock outlived the port"

echo "dp_twoproc $mode: passed"
