#!/usr/bin/env bash
# tern-game's server and its client simulator in two Tern processes over
# vhost-user/virtio-user: the server (lcore 1, 10.95.0.2) holds the
# vhost-user socket, the simulator (lcore 0, 10.95.0.1) plays 200
# clients, each on a socket of its own, for 3 s at 20 ticks/s.
#
# The link is lossless at this rate: 4,000 datagrams/s each way, so the
# rings hold most of a second of them, longer than a busy-poller on a
# shared 2-CPU machine is kept off its CPU.  (At 10,000/s a simulator
# descheduled for 240 ms made the server's vhost port drop 112
# snapshots: Tern's TX drops rather than blocks.)  So the simulator must
# have heard every client, lost no snapshot (every tick the server ran
# reached every client), got none bad, duplicated or reordered, no ICMP
# refusal, every client's last input acked (or each lost input counted as
# a port drop: a descheduled poller), and ordered jitter and
# latency percentiles.  Snapshots per second per client must be at most
# the tick rate (+4%) and at least half of it: a server kept off its CPU
# skips the ticks it missed (counted late) rather than bunching them,
# and on a shared machine that happens.  The server, after SIGTERM:
# joined 200, left 200 (each client said goodbye), none timed out or
# rejected, no bad input; both exit 0 without leaking an mbuf.
#
# usage: dp_game_twoproc_test.sh TERN-GAME
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

game=$1
clients=200 hz=20
sock="$DP_TMP/vhost.sock"
eal=(--no-huge -m 256 --no-pci)

dp_start srv "$game" -l 1 "${eal[@]}" --file-prefix "$(dp_prefix gsrv)" \
	--vdev="net_vhost0,iface=$sock,queues=1" -- --link-timeout 0 --ip 10.95.0.2/24 \
	--serve 7777 --tick-hz "$hz"
dp_wait_ready srv 30
dp_wait_for "$DP_TMP/srv.out" '^game: udp port 7777' 10 "${DP_PID[srv]}" ||
	dp_fail "tern-game: no server socket"

dp_start sim "$game" -l 0 "${eal[@]}" --file-prefix "$(dp_prefix gsim)" \
	--vdev="net_virtio_user0,path=$sock,queues=1,queue_size=4096" -- --ip 10.95.0.1/24 \
	--clients "$clients" --server 10.95.0.2:7777 --tick-hz "$hz" --duration 3
dp_wait_exit sim 25 || dp_fail "the simulator still runs after 25 s"
((DP_RC == 0)) || dp_fail "the simulator exited with $DP_RC"
# The clients said goodbye: the server drops them at its next tick.
dp_wait_for "$DP_TMP/srv.out" " clients 0 joined $clients " 5 "${DP_PID[srv]}"
kill -TERM "${DP_PID[srv]}"
dp_wait_exit srv 20 || dp_fail "the server did not exit within 20 s of SIGTERM"
((DP_RC == 0)) || dp_fail "the server exited with $DP_RC after SIGTERM"
for name in srv sim; do
	grep -q 'mbufs in use at exit' "$DP_TMP/$name.err" && dp_fail "$name leaked mbufs"
done

grep -E '^(summary|rate|jitter|latency)' "$DP_TMP/sim.out"
sum=$(grep '^summary:' "$DP_TMP/sim.out")
[[ $sum =~ ^summary:\ clients\ $clients\ heard\ ([0-9]+)\ inputs\ ([0-9]+)\ send_errors\ ([0-9]+)\ snapshots\ ([0-9]+)\ lost\ ([0-9]+)\ reordered\ ([0-9]+)\ dup\ ([0-9]+)\ bad\ ([0-9]+)\ refused\ ([0-9]+)\ unacked\ ([0-9]+) ]] ||
	dp_fail "no summary from the simulator"
((BASH_REMATCH[1] == clients)) || dp_fail "heard from ${BASH_REMATCH[1]} of $clients clients"
inputs=${BASH_REMATCH[2]} unacked=${BASH_REMATCH[10]}
[[ "${BASH_REMATCH[*]:5:5}" == "0 0 0 0 0" && ${BASH_REMATCH[3]} == 0 ]] ||
	dp_fail "want no send error, lost, reordered, duplicated or bad snapshot, refusal"
rate=$(sed -nE 's/^rate: ([0-9.]+) snapshots.*/\1/p' "$DP_TMP/sim.out")
awk -v r="$rate" -v hz="$hz" 'BEGIN { exit !(r >= hz / 2 && r <= hz * 1.04) }' ||
	dp_fail "$rate snapshots/s per client, want about $hz"
for what in jitter latency; do
	l=$(grep "^${what}_ns" "$DP_TMP/sim.out")
	[[ $l =~ ^${what}_ns\ p50=([0-9]+)\ p99=([0-9]+)\ p999=([0-9]+)\ max=([0-9]+)$ ]] ||
		dp_fail "no $what line"
	((BASH_REMATCH[1] <= BASH_REMATCH[2] && BASH_REMATCH[2] <= BASH_REMATCH[3] &&
		BASH_REMATCH[3] <= BASH_REMATCH[4] && BASH_REMATCH[4] > 0)) ||
		dp_fail "$what percentiles out of order: $l"
done

srv_sum=$(grep '^summary:' "$DP_TMP/srv.out")
echo "server: $srv_sum"
[[ $srv_sum =~ joined\ ([0-9]+)\ timed_out\ ([0-9]+)\ left\ ([0-9]+)\ rejected\ ([0-9]+)\ inputs\ [0-9]+\ stale\ [0-9]+\ bad\ ([0-9]+) ]] ||
	dp_fail "no summary from the server"
[[ "${BASH_REMATCH[*]:1}" == "$clients 0 $clients 0 0" ]] ||
	dp_fail "server: joined/timed_out/left/rejected/bad ${BASH_REMATCH[*]:1}, want $clients 0 $clients 0 0"
# Every client's last input acked, unless inputs were lost, and then
# each lost one counted as a port drop (the simulator's TX when the
# server's poller was kept off its CPU longer than the ring holds, or
# the server's RX): the same rule as dp_feed_*.
[[ $srv_sum =~ \ inputs\ ([0-9]+)\  ]] || dp_fail "no input count from the server"
srv_inputs=${BASH_REMATCH[1]}
read -r _ _ _ simtxd < <(dp_port_counters "$DP_TMP/sim.err" 0)
read -r _ _ srvrxd _ < <(dp_port_counters "$DP_TMP/srv.err" 0)
if ((unacked != 0 || srv_inputs != inputs)); then
	((srv_inputs <= inputs && inputs - srv_inputs <= ${simtxd:-0} + ${srvrxd:-0})) ||
		dp_fail "$unacked clients unacked, the server got $srv_inputs of $inputs inputs, port drops ${simtxd:-?} tx / ${srvrxd:-?} rx: inputs lost without a count"
	echo "note: $((inputs - srv_inputs)) inputs lost, each counted as a port drop (a descheduled poller)"
fi
[[ -e $sock ]] && dp_fail "the vhost-user socket $sock outlived the port"

echo "dp_game_twoproc: passed"
