#!/usr/bin/env bash
# The exit-time mbuf audit against a known answer (see dp_leak_test.c):
# tn_main on net_null0 with an rx handler that keeps N packets for good.
#   --hold 0: exit 0, no "mbufs in use at exit" line;
#   --hold 5: "mbufs in use at exit: 5", exit status 1;
# and both again under --fault (drops, duplicates, reordering, delay:
# packets the fault streams hold at exit are freed before the count) and
# --pcap (the capture's own pool is counted too).
#
# usage: dp_leak_test.sh DP-LEAK-TEST
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

prog=$1
runs=0

# check NAME HOLD [Tern options...]
check() {
	local name=$1 hold=$2 line
	shift 2
	dp_start "$name" "$prog" -l 0 --no-huge -m 256 --no-pci \
		--file-prefix "$(dp_prefix "$name")" --vdev=net_null0 -- "$@" --hold "$hold"
	dp_wait_exit "$name" 30 || dp_fail "$name: did not exit within 30 s"
	line=$(grep 'mbufs in use at exit' "$DP_TMP/$name.err")
	echo "$name: exit $DP_RC; ${line:-no leak line}"
	grep -q '^held' "$DP_TMP/$name.out" || dp_fail "$name: the main task did not finish"
	if ((hold == 0)); then
		((DP_RC == 0)) || dp_fail "$name: exit $DP_RC, want 0"
		[[ -z $line ]] || dp_fail "$name: a leak reported where there is none"
	else
		((DP_RC == 1)) || dp_fail "$name: exit $DP_RC, want 1 (a leak)"
		[[ $line == *"mbufs in use at exit: $hold "* ]] ||
			dp_fail "$name: want 'mbufs in use at exit: $hold', got '${line:-nothing}'"
	fi
	runs=$((runs + 1))
}

faults=drop=0.1,dup=0.1,reorder=0.2,delay_us=2000,corrupt=0.01,seed=3
check none 0
check five 5
check none_faults 0 --fault "$faults" --pcap "$DP_TMP/none.pcapng"
check five_faults 5 --fault "$faults" --pcap "$DP_TMP/five.pcapng"

echo "dp_leak: passed ($runs runs)"
