# Shared by bench/callgrind_*.sh (sourced): runs their server and client,
# one of them under callgrind, and instruments a steady window.
#
# The sourcing script sets: tmp (a directory of its own), secs, who
# (server|client), srv and cli (commands as arrays; the profiled one
# already prefixed by valgrind --instr-atstart=no) and cg_prefixes (the
# DPDK file prefixes they use).  cg_run SERVER-READY CLIENT-READY SETTLE
# WAIT starts the server and waits (at most WAIT s) for SERVER-READY in
# its log, then the client and CLIENT-READY, lets the link settle for
# SETTLE s, switches instrumentation on for $secs s (callgrind_control
# -i on/off), then stops both with SIGINT; logs in $tmp/server.log and
# $tmp/client.log.  The frames per RX burst the profiled process got
# in about that window (telemetry's /tern/stats, read just before and
# after) go to $tmp/rx_per_burst, or nothing when telemetry did not
# answer.  On exit, the processes it started (and only those)
# are stopped and $tmp and the prefixes' runtime directories removed.
sp="" cp=""
cg_cleanup() {
	[[ -n $cp ]] && kill -INT "$cp" 2>/dev/null && wait "$cp" 2>/dev/null
	[[ -n $sp ]] && kill -INT "$sp" 2>/dev/null && wait "$sp" 2>/dev/null
	local p
	for p in "${cg_prefixes[@]}"; do
		rm -rf "/var/run/dpdk/$p"
	done
	rm -rf "$tmp"
}
trap cg_cleanup EXIT

cg_wait_for() { # FILE PATTERN SECONDS
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "$0: no '$2' in $1" >&2
	cat "$1" >&2
	exit 1
}

# cg_rx PREFIX: port 0's rx_pkts and rx_bursts, from the telemetry of
# the process with that file prefix (empty if it does not answer).
cg_rx() {
	printf '/tern/stats,0\n' | dpdk-telemetry.py -f "$1" 2>/dev/null |
		python3 -c 'import json, sys
for l in sys.stdin:
    if l.strip().startswith("{"):
        s = json.loads(l)["/tern/stats"]
        print(s["rx_pkts"], s["rx_bursts"])' 2>/dev/null || true
}

cg_run() { # SERVER-READY CLIENT-READY SETTLE WAIT
	local vp vprefix rx0 rx1
	"${srv[@]}" >"$tmp/server.log" 2>&1 &
	sp=$!
	cg_wait_for "$tmp/server.log" "$1" "$4"
	"${cli[@]}" >"$tmp/client.log" 2>&1 &
	cp=$!
	cg_wait_for "$tmp/client.log" "$2" "$4"
	sleep "$3"
	if [[ $who == server ]]; then
		vp=$sp vprefix=${cg_prefixes[0]}
	else
		vp=$cp vprefix=${cg_prefixes[1]}
	fi
	rx0=$(cg_rx "$vprefix")
	callgrind_control -i on "$vp" >/dev/null
	sleep "$secs"
	callgrind_control -i off "$vp" >/dev/null
	rx1=$(cg_rx "$vprefix")
	# (The reads are not at the switches' instants: only the ratio is
	# kept, for the bursts the profile counts exactly.)
	if [[ -n $rx0 && -n $rx1 ]]; then
		python3 -c 'import sys
p0, b0, p1, b1 = map(int, sys.argv[1:])
print((p1 - p0) / (b1 - b0) if b1 > b0 else "")' $rx0 $rx1 >"$tmp/rx_per_burst"
	fi
	kill -INT "$cp"
	wait "$cp" || true
	cp=""
	kill -INT "$sp"
	wait "$sp" || true
	sp=""
}
