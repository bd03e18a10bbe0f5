#!/usr/bin/env bash
# net_tap with the kernel as the peer.  In a namespace of its own,
# tern-reflect creates a tap device (--vdev=net_tap0,iface=...); the
# kernel side gets an address and sends 200 UDP frames on it (raw
# AF_PACKET frames from the tap's MAC to another); every one comes back
# to the kernel with the two MACs swapped.  Tern's exit counters show
# them received and sent.  SIGINT ends it: exit 0, and the tap device is
# gone with the port.
#
# usage: dp_tap_test.sh TERN-REFLECT
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

reflect=$1
dp_need_root
net=$(dirname "$(realpath "$0")")/dp_net.py
ns=tn-tap-$$ tap=tntap$$
n=200

dp_netns "$ns" || dp_fail "cannot create a network namespace"
ip -n "$ns" link set lo up
# No IPv6 on the tap: its neighbour discovery would be reflected too.
ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1

dp_start reflect ip netns exec "$ns" "$reflect" -l 1 --no-huge -m 256 --no-pci \
	--file-prefix "$(dp_prefix tap)" --vdev="net_tap0,iface=$tap" -- --link-timeout 0
dp_wait_ready reflect 30
ip -n "$ns" link show "$tap" >/dev/null 2>&1 || dp_fail "no $tap in $ns"
ip -n "$ns" addr add 10.66.0.1/24 dev "$tap" || dp_fail "cannot address $tap"
ip -n "$ns" link set "$tap" up || dp_fail "cannot bring $tap up"

ip netns exec "$ns" python3 "$net" reflect-raw "$tap" "$n" >"$DP_TMP/kernel.out" 2>&1
rc=$?
cat "$DP_TMP/kernel.out"
((rc == 0)) || dp_fail "not every frame came back to the kernel"

kill -INT "${DP_PID[reflect]}"
dp_wait_exit reflect 20 || dp_fail "reflect did not exit within 20 s of SIGINT"
((DP_RC == 0)) || dp_fail "reflect exited with $DP_RC after SIGINT, want 0"
read -r rx tx drx dtx < <(dp_port_counters "$DP_TMP/reflect.err" 0)
[[ -n ${rx:-} ]] || dp_fail "no counters at exit"
echo "reflect: port 0: rx $rx tx $tx drops rx $drx tx $dtx"
# At least ours; the kernel may have sent a few of its own.
((rx >= n && tx == rx && drx == 0 && dtx == 0)) ||
	dp_fail "counters: rx $rx tx $tx drops $drx/$dtx; want rx >= $n, tx == rx, no drops"
ip -n "$ns" link show "$tap" >/dev/null 2>&1 && dp_fail "$tap outlived the port"

echo "dp_tap: passed"
