#!/usr/bin/env bash
# tern-ordergw's gateway with kernel clients, over net_tap.  In a
# namespace of its own, the gateway runs at 10.96.0.2 on a tap device;
# the kernel side gets 10.96.0.1/24 and dp_ordergw.py plays three
# clients (see there): 200 good orders acked with distinct ids (one of
# them split across two segments), a quantity of 0 rejected, a bad magic
# and a bad length each counted and their connection closed while the
# first connection goes on.  SIGINT: the gateway's counters (3
# connections, 202 orders, 201 acked, 1 rejected, 2 invalid), exit 0, no
# leaked mbufs.  Then the same with the gateway on two cores (-l 0,1,
# a stack and a tap queue each): the counters summed over both cores.
#
# usage: dp_ordergw_tap_test.sh TERN-ORDERGW
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

gw=$1
PY=$(dirname "$(realpath "$0")")/dp_ordergw.py
ns=tn-ogw-$$ dev=tnogw$$

dp_need_root
dp_netns "$ns" || dp_fail "cannot create a network namespace"
ip -n "$ns" link set lo up
ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
dp_start gw ip netns exec "$ns" "$gw" -l 1 --no-huge -m 256 --no-pci \
	--file-prefix "$(dp_prefix ogw)" --vdev="net_tap0,iface=$dev" -- \
	--ip 10.96.0.2/24 --link-timeout 0 --listen 9100
dp_wait_ready gw 30
dp_wait_for "$DP_TMP/gw.out" '^ordergw: listening on tcp port 9100$' 10 "${DP_PID[gw]}" ||
	dp_fail "tern-ordergw: not listening"
ip -n "$ns" addr add 10.96.0.1/24 dev "$dev" || dp_fail "cannot address $dev"
ip -n "$ns" link set "$dev" up || dp_fail "cannot bring $dev up"

ip netns exec "$ns" timeout 60 python3 "$PY" orders 10.96.0.2 9100 100 >"$DP_TMP/clients.log" 2>&1
rc=$?
cat "$DP_TMP/clients.log"
((rc == 0)) || dp_fail "the kernel clients: see above"
grep -q '^orders acked 201 rejected 1 closed 2$' "$DP_TMP/clients.log" ||
	dp_fail "the kernel clients' counts are off"

kill -INT "${DP_PID[gw]}"
dp_wait_exit gw 20 || dp_fail "tern-ordergw did not exit within 20 s of SIGINT"
((DP_RC == 0)) || dp_fail "tern-ordergw exited with $DP_RC after SIGINT, want 0"
grep -q 'mbufs in use at exit' "$DP_TMP/gw.err" && dp_fail "tern-ordergw leaked mbufs"
line=$(grep '^ordergw: accepted' "$DP_TMP/gw.out")
echo "gateway: $line"
[[ $line == "ordergw: accepted 3 connections, orders 202 acked 201 rejected 1 invalid 2 truncated 0 errors 0" ]] ||
	dp_fail "gateway counters: $line"

# ---- 2. The gateway on two cores (a stack each; the kernel's tun picks
# a queue per flow): the same clients, counters summed over the cores'
# lines, both cores listening, exit 0 and no leak.
dev2=tnogwb$$
dp_start gw2 ip netns exec "$ns" "$gw" -l 0,1 --no-huge -m 256 --no-pci \
	--file-prefix "$(dp_prefix ogw2)" --vdev="net_tap0,iface=$dev2" -- \
	--ip 10.96.1.2/24 --link-timeout 0 --idle sleep --listen 9100
dp_wait_ready gw2 30
for core in 0 1; do
	dp_wait_for "$DP_TMP/gw2.out" "^ordergw: listening on tcp port 9100 \\(core $core\\)$" 10 \
		"${DP_PID[gw2]}" || dp_fail "two cores: core $core is not listening"
done
ip -n "$ns" addr add 10.96.1.1/24 dev "$dev2" || dp_fail "cannot address $dev2"
ip -n "$ns" link set "$dev2" up || dp_fail "cannot bring $dev2 up"
ip netns exec "$ns" timeout 60 python3 "$PY" orders 10.96.1.2 9100 100 >"$DP_TMP/clients2.log" 2>&1
rc=$?
cat "$DP_TMP/clients2.log"
((rc == 0)) || dp_fail "two cores: the kernel clients: see above"
kill -INT "${DP_PID[gw2]}"
dp_wait_exit gw2 20 || dp_fail "two cores: tern-ordergw did not exit within 20 s of SIGINT"
((DP_RC == 0)) || dp_fail "two cores: tern-ordergw exited with $DP_RC after SIGINT, want 0"
grep -q 'mbufs in use at exit' "$DP_TMP/gw2.err" && dp_fail "two cores: tern-ordergw leaked mbufs"
grep '^ordergw: accepted' "$DP_TMP/gw2.out"
sums=$(sed -nE 's/^ordergw: accepted ([0-9]+) connections, orders ([0-9]+) acked ([0-9]+) rejected ([0-9]+) invalid ([0-9]+) truncated ([0-9]+) errors ([0-9]+) \(core [01]\)$/\1 \2 \3 \4 \5 \6 \7/p' \
	"$DP_TMP/gw2.out" | awk '{ for (i = 1; i <= NF; i++) t[i] += $i; n++ }
		END { printf "%d:", n; for (i = 1; i <= 7; i++) printf " %d", t[i] }')
[[ $sums == "2: 3 202 201 1 2 0 0" ]] ||
	dp_fail "two cores: summed counters '$sums', want '2: 3 202 201 1 2 0 0'"

echo "dp_ordergw_tap: passed"
