#!/usr/bin/env bash
# --pcap end to end: tern-pktgen alone on a net_ring0 port (TX loops back
# to RX) sends 1000 frames with --pcap FILE; tshark reads 2000 frames
# back: 1000 outbound and 1000 inbound, all pktgen's 64-byte UDP frames
# to port 9.  A second run adds --fault drop=0.1: what is captured is
# what went out and came in after the faults, so the capture agrees with
# the exit counters (tx and rx packets of port 0).  A third run makes the
# port push back: frames retried on later turns are captured once.
#
# usage: dp_pcap_test.sh TERN-PKTGEN
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

pktgen=$1
command -v tshark >/dev/null || dp_fail "no tshark (scripts/setup.sh installs it)"

# capture NAME COUNT [OPTION...]: runs pktgen; sets out_n in_n other_n
# (frames by direction; other: not pktgen's frames) and rx tx.
capture() {
	local name=$1 count=$2 file="$DP_TMP/$1.pcapng" drx dtx
	shift 2
	dp_start "$name" "$pktgen" -l 0 --no-huge -m 256 --no-pci \
		--file-prefix "$(dp_prefix "$name")" --vdev=net_ring0 -- \
		--count "$count" --rate 0 --quiet --pcap "$file" "$@"
	dp_wait_exit "$name" 60 || dp_fail "$name: still running after 60 s"
	((DP_RC == 0)) || dp_fail "$name: exit $DP_RC"
	[[ -s $file ]] || dp_fail "$name: no capture at $file"
	tshark -r "$file" -T fields -e frame.packet_flags_direction -e frame.len \
		-e ip.src -e udp.dstport >"$DP_TMP/$name.fields" 2>"$DP_TMP/$name.tshark" ||
		dp_fail "$name: tshark cannot read the capture: $(cat "$DP_TMP/$name.tshark")"
	out_n=$(awk '$1 == "0x00000002"' "$DP_TMP/$name.fields" | wc -l)
	in_n=$(awk '$1 == "0x00000001"' "$DP_TMP/$name.fields" | wc -l)
	other_n=$(awk '$2 != 64 || $3 != "198.18.0.1" || $4 != 9' "$DP_TMP/$name.fields" | wc -l)
	read -r rx tx drx dtx < <(dp_port_counters "$DP_TMP/$name.err" 0)
	[[ -n ${rx:-} ]] || dp_fail "$name: no counters at exit"
	echo "$name: $(wc -l <"$DP_TMP/$name.fields") frames captured: $out_n out, $in_n in," \
		"$other_n others; port 0: rx $rx tx $tx"
}

capture plain 1000
((out_n == 1000 && in_n == 1000 && other_n == 0)) ||
	dp_fail "capture: $out_n out, $in_n in, $other_n others; want 1000, 1000, 0"

capture faults 1000 --fault drop=0.1,seed=3
((out_n == tx && in_n == rx && other_n == 0)) ||
	dp_fail "capture with faults: $out_n out, $in_n in; counters tx $tx rx $rx"
((tx < 1000 && rx < tx)) || dp_fail "with drop=0.1, tx $tx rx $rx: nothing dropped?"

# Back pressure: 64-frame bursts out, one frame in per loop turn, so the
# ring (1024) fills, the port takes part of each burst and Tern retries
# the rest on later turns (dropping what no longer fits).  A frame
# retried is still captured once: the capture agrees with the counters.
capture backpressure 3000 --pkt-burst 64 --burst 1
read -r _ _ _ dtx < <(dp_port_counters "$DP_TMP/backpressure.err" 0)
((out_n == tx && in_n == rx && other_n == 0)) ||
	dp_fail "capture under back pressure: $out_n out, $in_n in; counters tx $tx rx $rx"
((dtx > 0)) || dp_fail "no TX drops: the port never pushed back"

echo "dp_pcap: passed"
