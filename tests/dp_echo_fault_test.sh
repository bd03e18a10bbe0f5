#!/usr/bin/env bash
# The protocol stack behind a lossy link, with the kernel as the peer:
# tern-echo on net_tap or net_af_xdp (the setups of dp_echo_tap and
# dp_echo_afxdp, dp_echo_lib.sh) with
#
#   --fault drop=0.05,dup=0.01,reorder=0.05,corrupt=0.001,seed=N
#
# on its port, RX and TX.  From the kernel:
#   1. 3,000 UDP datagrams of 8..8000 random bytes (most of them
#      fragmented), up to 32 in flight: some are lost, at least 40% come
#      back, and every one that comes back is byte-exact (a flipped bit
#      must be caught by a checksum, never echoed).  With 5% loss each
#      way and about three fragments a datagram each way, about 70% come
#      back; 40% leaves room for a loaded machine while still catching a
#      reassembly table that fills with datagrams that lost a fragment
#      and refuses new ones (before the oldest were evicted: 30-45%);
#   2. ping floods, 1,000 of 56 bytes and 300 of 4,000 bytes (fragmented
#      both ways): some replies;
#   3. still serving afterwards: some of 20 pings answered.
# Then SIGINT: exit 0, no "mbufs in use at exit" line (nothing leaked
# through drops, duplicates, reordering, corruption, half-reassembled
# datagrams or packets the fault streams still held), and the exit
# counters show drops both ways (the faults were on).
#
# On af_xdp, A's kernel still talks TCP and ping with B meanwhile (the
# faults are Tern's, on what the XDP program gives it).
#
# N is $TN_FAULT_SEED if set, else the test's pid (printed).
#
# usage: dp_echo_fault_test.sh tap|afxdp TERN-ECHO
source "$(dirname "$(realpath "$0")")/dp_lib.sh"
source "$(dirname "$(realpath "$0")")/dp_echo_lib.sh"

mode=$1 app=$2
dp_need_root
seed=${TN_FAULT_SEED:-$$}
spec="drop=0.05,dup=0.01,reorder=0.05,corrupt=0.001,seed=$seed"
echo "--fault $spec"
case $mode in
tap) echo_on_tap "$app" --fault "$spec" ;;
afxdp) echo_on_afxdp "$app" --fault "$spec" ;;
*) dp_fail "mode must be tap or afxdp, not '$mode'" ;;
esac

nsrun blast python3 "$ECHO_NET" udp-blast "$ECHO_ADDR" 7 3000 "$seed" 40 ||
	dp_fail "UDP through the faults: see above"

# ping's count of replies in a log ("N packets transmitted, M received").
received() {
	local n
	n=$(sed -nE 's/.* ([0-9]+) received.*/\1/p' "$DP_TMP/$1.log")
	echo "${n:-0}"
}
# Loss makes ping exit 1: what counts is that replies came.
nsrun flood ping -n -q -f -c 1000 -w 15 "$ECHO_ADDR"
(($(received flood) > 0)) || dp_fail "ping flood: no replies"
nsrun flood_frag ping -n -q -f -c 300 -w 15 -s 4000 "$ECHO_ADDR"
(($(received flood_frag) > 0)) || dp_fail "ping flood -s 4000: no replies"
nsrun after ping -n -q -c 20 -i 0.05 -W 1 "$ECHO_ADDR"
(($(received after) > 0)) || dp_fail "tern-echo stopped answering after the floods"

[[ $mode == afxdp ]] && echo_kernel_traffic during

echo_sigint
read -r rx tx drx dtx < <(dp_port_counters "$DP_TMP/echo.err" 0)
[[ -n ${rx:-} ]] || dp_fail "no counters at exit"
((drx > 0 && dtx > 0)) || dp_fail "drops rx $drx tx $dtx: the faults were not on both ways"

echo "dp_echo_fault_$mode: passed (seed $seed)"
