#!/usr/bin/env bash
# --fault end to end: tern-pktgen alone on a net_ring0 port (which loops
# its TX back to its RX) with drop=0.1.  Every frame meets the drop twice,
# on TX and on RX, so the loss is 1 - 0.9^2 = 0.19 (200,000 frames: the
# standard deviation is 0.0009; the tolerance 0.01).  The same seed gives
# the same loss, frame for frame, on a second run; another seed does not.
# The exit counters put every lost frame in the drops (rx + tx).
#
# usage: dp_fault_test.sh TERN-PKTGEN
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

pktgen=$1
count=200000

# run NAME SEED: sets lost, recv.
run() {
	local name=$1 seed=$2 summary rx tx drx dtx
	dp_start "$name" "$pktgen" -l 0 --no-huge -m 256 --no-pci \
		--file-prefix "$(dp_prefix "$name")" --vdev=net_ring0 -- \
		--count "$count" --rate 0 --quiet --fault "drop=0.1,seed=$seed"
	dp_wait_exit "$name" 60 || dp_fail "$name: still running after 60 s"
	((DP_RC == 0)) || dp_fail "$name: exit $DP_RC"
	summary=$(grep '^summary:' "$DP_TMP/$name.out")
	[[ $summary =~ ^summary:\ sent\ ([0-9]+)\ recv\ ([0-9]+)\ lost\ ([0-9]+)\ bad\ ([0-9]+) ]] ||
		dp_fail "$name: no summary line"
	((BASH_REMATCH[1] == count)) || dp_fail "$name: sent ${BASH_REMATCH[1]}, want $count"
	((BASH_REMATCH[4] == 0)) || dp_fail "$name: ${BASH_REMATCH[4]} bad frames"
	recv=${BASH_REMATCH[2]} lost=${BASH_REMATCH[3]}
	read -r rx tx drx dtx < <(dp_port_counters "$DP_TMP/$name.err" 0)
	[[ -n ${rx:-} ]] || dp_fail "$name: no counters at exit"
	echo "$name (seed $seed): $summary"
	echo "$name: port 0: rx $rx tx $tx drops rx $drx tx $dtx"
	((rx == recv)) || dp_fail "$name: port rx $rx, pktgen recv $recv"
	((drx + dtx == lost)) || dp_fail "$name: drops rx $drx + tx $dtx != lost $lost"
	((tx + dtx == count)) || dp_fail "$name: tx $tx + tx drops $dtx != sent $count"
}

run first 7
lost1=$lost recv1=$recv
# |lost/count - 0.19| < 0.01, in integers.
((lost1 * 100 > 18 * count && lost1 * 100 < 20 * count)) ||
	dp_fail "loss $lost1 of $count is not 0.19 +- 0.01"

run second 7
((lost == lost1 && recv == recv1)) ||
	dp_fail "seed 7 twice: lost $lost1 then $lost (not deterministic)"

run other 8
((lost != lost1)) || dp_fail "seeds 7 and 8 both lost $lost: is the seed used?"

echo "dp_fault: passed"
