#!/usr/bin/env bash
# tern-game's server with kernel clients, over net_tap.  In a namespace
# of its own, the server runs at 10.97.0.2 on a tap device (--tick-hz 50,
# --max-clients 2, --client-timeout 500, --world 64: everyone is near
# everyone); the kernel side gets 10.97.0.1/24, and dp_feed.py's
# game-clients plays three clients from kernel sockets:
#
#   A and B play for 2 s, B then goes silent and A plays 2 s more, then
#   says it leaves; C tries to join while A and B play.
#
# Checked by the clients: snapshots come at the tick rate (within 20%,
# median inter-arrival within 25% of 20 ms) with increasing tick
# numbers; the acks follow the inputs; every snapshot's own position is
# what the inputs acked so far make it (per-client state, replayed with
# the server's clamps); A and B see each other and a count of 2; after
# B's timeout A's snapshots show 1 client; C, over the bound, gets
# nothing.  Checked on the server's summary after SIGINT: joined 2,
# timed_out 1 (B), left 1 (A), rejected >= 1 (C), bad 0; exit 0, no
# leaked mbufs.
#
# usage: dp_game_tap_test.sh TERN-GAME
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

game=$1
FEED_PY=$(dirname "$(realpath "$0")")/dp_feed.py
ns=tn-game-$$ dev=tngame$$

dp_need_root
dp_netns "$ns" || dp_fail "cannot create a network namespace"
ip -n "$ns" link set lo up
ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
dp_start game ip netns exec "$ns" "$game" -l 1 --no-huge -m 256 --no-pci \
	--file-prefix "$(dp_prefix game)" --vdev="net_tap0,iface=$dev" -- \
	--ip 10.97.0.2/24 --link-timeout 0 --serve 7777 --tick-hz 50 --max-clients 2 \
	--client-timeout 500 --world 64
dp_wait_ready game 30
dp_wait_for "$DP_TMP/game.out" '^game: udp port 7777' 10 "${DP_PID[game]}" ||
	dp_fail "tern-game: no server socket"
ip -n "$ns" addr add 10.97.0.1/24 dev "$dev" || dp_fail "cannot address $dev"
ip -n "$ns" link set "$dev" up || dp_fail "cannot bring $dev up"

ip netns exec "$ns" python3 "$FEED_PY" game-clients 10.97.0.2 7777 50 64 \
	>"$DP_TMP/clients.log" 2>&1
rc=$?
cat "$DP_TMP/clients.log"
((rc == 0)) || dp_fail "the kernel clients: see above"

# The server noticed B's silence by now (500 ms, and A played 2 s more).
kill -INT "${DP_PID[game]}"
dp_wait_exit game 20 || dp_fail "tern-game did not exit within 20 s of SIGINT"
((DP_RC == 0)) || dp_fail "tern-game exited with $DP_RC after SIGINT, want 0"
grep -q 'mbufs in use at exit' "$DP_TMP/game.err" && dp_fail "tern-game leaked mbufs"
summary=$(grep '^summary:' "$DP_TMP/game.out")
echo "server: $summary"
[[ $summary =~ joined\ ([0-9]+)\ timed_out\ ([0-9]+)\ left\ ([0-9]+)\ rejected\ ([0-9]+)\ inputs\ ([0-9]+)\ stale\ ([0-9]+)\ bad\ ([0-9]+) ]] ||
	dp_fail "no summary from tern-game"
joined=${BASH_REMATCH[1]} timed_out=${BASH_REMATCH[2]} left=${BASH_REMATCH[3]}
rejected=${BASH_REMATCH[4]} bad=${BASH_REMATCH[7]}
((joined == 2 && timed_out == 1 && left == 1)) ||
	dp_fail "joined $joined timed_out $timed_out left $left: want 2, 1 (B), 1 (A)"
((rejected >= 1)) || dp_fail "the server never refused C (rejected $rejected)"
((bad == 0)) || dp_fail "the server counted $bad bad inputs"

echo "dp_game_tap: passed"
