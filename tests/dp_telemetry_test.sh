#!/usr/bin/env bash
# Telemetry (dataplane/stats.c) through DPDK's own client: while
# tern-reflect runs on a net_null0 port (whose RX never runs dry),
# `dpdk-telemetry.py -f PREFIX` answers /tern/stats with every counter,
# counts that grow between two queries, /tern/cores with the per-core
# counters, and null for a port that does not exist.  Then SIGTERM: exit
# 0, and the exit counters are at least what telemetry last showed.
#
# Then tern-pktgen, whose main task runs: telemetry sees it send, and
# SIGTERM cancels the task, which still prints its summary; exit 0.
#
# usage: dp_telemetry_test.sh TERN-REFLECT TERN-PKTGEN
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

reflect=$1 pktgen=$2
client=$(command -v dpdk-telemetry.py) ||
	dp_fail "no dpdk-telemetry.py (Debian's dpdk package ships it)"
prefix=$(dp_prefix tel)

dp_start reflect "$reflect" -l 1 --no-huge -m 256 --no-pci --file-prefix "$prefix" \
	--vdev=net_null0 --
dp_wait_ready reflect 30

# query FILE COMMAND...: one JSON reply per line in FILE.
query() {
	local file=$1
	shift
	printf '%s\n' "$@" | "$client" -f "$prefix" >"$file" 2>"$file.err" ||
		dp_fail "dpdk-telemetry.py failed: $(cat "$file.err")"
}

# check.py FILE: validates the replies to the commands below and prints
# port 0's rx_pkts and tx_pkts.
cat >"$DP_TMP/check.py" <<'PY'
import json, sys

keys = {"rx_pkts", "rx_bytes", "rx_bursts", "tx_pkts", "tx_bytes", "tx_bursts",
        "rx_drops", "tx_drops", "rx_nombuf", "rx_missed"}
lines = [l for l in open(sys.argv[1]) if l.strip().startswith("{")]
if len(lines) != 4:
    sys.exit(f"want 4 replies, got {len(lines)}: {lines}")
r = [json.loads(l) for l in lines]
stats, stats0, cores, nope = (r[0]["/tern/stats"], r[1]["/tern/stats"],
                              r[2]["/tern/cores"], r[3]["/tern/stats"])
for s in (stats, stats0):
    if not isinstance(s, dict) or set(s) != keys:
        sys.exit(f"/tern/stats: want the keys {sorted(keys)}, got {s}")
if stats["rx_pkts"] <= 0 or stats["rx_bytes"] < 60 * stats["rx_pkts"]:
    sys.exit(f"/tern/stats: nothing received: {stats}")
if stats0["rx_pkts"] < stats["rx_pkts"]:
    sys.exit(f"/tern/stats,0 went backwards: {stats} then {stats0}")
if set(cores) != {"core0"} or not keys | {"mail_sent", "mail_recv"} <= set(cores["core0"]):
    sys.exit(f"/tern/cores: {cores}")
if nope is not None:
    sys.exit(f"/tern/stats,1 (no such port): want null, got {nope}")
print(stats0["rx_pkts"], stats0["tx_pkts"])
PY

cmds=(/tern/stats /tern/stats,0 /tern/cores /tern/stats,1)
query "$DP_TMP/q1.json" "${cmds[@]}"
read -r rx1 tx1 < <(python3 "$DP_TMP/check.py" "$DP_TMP/q1.json") ||
	dp_fail "first replies: $(python3 "$DP_TMP/check.py" "$DP_TMP/q1.json" 2>&1)"
echo "telemetry: rx_pkts $rx1 tx_pkts $tx1"

# The counters move: poll until they have, with a deadline.
deadline=$((SECONDS + 10))
while :; do
	query "$DP_TMP/q2.json" "${cmds[@]}"
	read -r rx2 tx2 < <(python3 "$DP_TMP/check.py" "$DP_TMP/q2.json") ||
		dp_fail "later replies: $(python3 "$DP_TMP/check.py" "$DP_TMP/q2.json" 2>&1)"
	((rx2 > rx1 && tx2 > tx1)) && break
	((SECONDS < deadline)) || dp_fail "counters stuck at rx $rx2 tx $tx2"
	sleep 0.05
done
echo "telemetry: rx_pkts $rx2 tx_pkts $tx2"

kill -TERM "${DP_PID[reflect]}"
dp_wait_exit reflect 20 || dp_fail "reflect did not exit within 20 s of SIGTERM"
((DP_RC == 0)) || dp_fail "reflect exited with $DP_RC after SIGTERM, want 0"
read -r rx tx drx dtx < <(dp_port_counters "$DP_TMP/reflect.err" 0)
[[ -n ${rx:-} ]] || dp_fail "no counters at exit"
echo "exit counters: port 0: rx $rx tx $tx drops rx $drx tx $dtx"
((rx >= rx2 && tx >= tx2)) || dp_fail "exit counters below what telemetry showed"
for d in $(dp_runtime_dirs "$prefix"); do
	[[ -e $d/dpdk_telemetry.v2 ]] && dp_fail "telemetry socket $d/dpdk_telemetry.v2 left behind"
done

# The same for an app whose main task is running: tern-pktgen on a
# net_ring0 loopback for up to 60 s.  Telemetry sees it send; SIGTERM
# cancels its main task, which still prints its summary, and the exit is
# clean (0) and prompt.
prefix=$(dp_prefix telgen)
dp_start pktgen "$pktgen" -l 0 --no-huge -m 256 --no-pci --file-prefix "$prefix" \
	--vdev=net_ring0 -- --duration 60 --rate 100000 --quiet
dp_wait_ready pktgen 30
deadline=$((SECONDS + 10))
while :; do
	query "$DP_TMP/q3.json" "${cmds[@]}"
	read -r rx3 tx3 < <(python3 "$DP_TMP/check.py" "$DP_TMP/q3.json") ||
		dp_fail "pktgen's replies: $(python3 "$DP_TMP/check.py" "$DP_TMP/q3.json" 2>&1)"
	((rx3 > 1000 && tx3 > 1000)) && break
	((SECONDS < deadline)) || dp_fail "pktgen's counters stuck at rx $rx3 tx $tx3"
	sleep 0.05
done
echo "telemetry (pktgen): rx_pkts $rx3 tx_pkts $tx3"
kill -TERM "${DP_PID[pktgen]}"
dp_wait_exit pktgen 20 || dp_fail "pktgen did not exit within 20 s of SIGTERM"
((DP_RC == 0)) || dp_fail "pktgen exited with $DP_RC after SIGTERM, want 0"
summary=$(grep '^summary:' "$DP_TMP/pktgen.out")
[[ $summary =~ ^summary:\ sent\ ([0-9]+)\ recv\ ([0-9]+) ]] ||
	dp_fail "pktgen printed no summary after SIGTERM"
read -r rx tx drx dtx < <(dp_port_counters "$DP_TMP/pktgen.err" 0)
echo "pktgen: $summary"
echo "pktgen: port 0: rx $rx tx $tx drops rx $drx tx $dtx"
((BASH_REMATCH[1] >= tx3 && tx == BASH_REMATCH[1] && rx == BASH_REMATCH[2])) ||
	dp_fail "pktgen's summary and exit counters disagree"

echo "dp_telemetry: passed"
