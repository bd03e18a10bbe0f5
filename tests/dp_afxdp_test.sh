#!/usr/bin/env bash
# AF_XDP with tern-reflect, sharing a veth with the kernel.
#
#   ns A: veth va 10.78.N.1 <-> ns B: veth vb 10.78.N.2
#
# tern-reflect in A takes va (--vdev=net_af_xdp0,iface=va,...) with
# --steer udp:10.78.N.1:9000; a kernel TCP echo server listens in A on
# 9100.  Checks:
#   1. TCP from B to A:9100 works (what Tern does not own, ARP included,
#      still reaches A's kernel);
#   2. 200 UDP datagrams from B to A:9000 reach Tern, which sends each
#      back with swapped MACs: B sniffs all 200 on vb;
#   3. TCP still works afterwards;
#   4. Tern received exactly the 200 steered datagrams and sent them back
#      (exit counters);
#   5. SIGINT: exit 0, and no XDP program is left on va.
# The veth has one queue each way: the program redirects to the socket of
# the queue a packet arrived on, and Tern opens queue 0 only.
#
# usage: dp_afxdp_test.sh TERN-REFLECT
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

reflect=$1
dp_need_root
net=$(dirname "$(realpath "$0")")/dp_net.py
compgen -G '/usr/lib*/*/dpdk/pmds-*/librte_net_af_xdp.so*' >/dev/null ||
	compgen -G '/usr/lib*/dpdk/pmds-*/librte_net_af_xdp.so*' >/dev/null ||
	compgen -G '/usr/local/lib*/*/dpdk/pmds-*/librte_net_af_xdp.so*' >/dev/null ||
	dp_fail "no net_af_xdp PMD"

ns_a=tn-ax-$$-a ns_b=tn-ax-$$-b
va=tnaxa$$ vb=tnaxb$$
net_pfx=10.78.$(($$ % 250 + 1))
addr_a=$net_pfx.1 addr_b=$net_pfx.2
n=200

dp_netns "$ns_a" || dp_fail "cannot create a network namespace"
dp_netns "$ns_b" || dp_fail "cannot create a network namespace"
ip link add "$va" numtxqueues 1 numrxqueues 1 netns "$ns_a" type veth \
	peer name "$vb" numtxqueues 1 numrxqueues 1 netns "$ns_b" ||
	dp_fail "cannot create a veth pair"
ip -n "$ns_a" addr add "$addr_a/24" dev "$va"
ip -n "$ns_b" addr add "$addr_b/24" dev "$vb"
for ns in "$ns_a" "$ns_b"; do
	ip -n "$ns" link set lo up
done
ip -n "$ns_a" link set "$va" up
ip -n "$ns_b" link set "$vb" up

dp_start echo ip netns exec "$ns_a" python3 "$net" tcp-echo 9100
dp_wait_for "$DP_TMP/echo.out" '^listening' 10 "${DP_PID[echo]}" ||
	dp_fail "the TCP echo server did not start"

dp_start reflect ip netns exec "$ns_a" "$reflect" -l 1 --no-huge -m 256 --no-pci \
	--file-prefix "$(dp_prefix afxdp)" \
	--vdev="net_af_xdp0,iface=$va,start_queue=0,queue_count=1" \
	-- --steer "udp:$addr_a:9000"
dp_wait_ready reflect 30
ip -n "$ns_a" link show "$va" | grep -q 'prog/xdp' || dp_fail "no XDP program on $va"

tcp() {
	ip netns exec "$ns_b" python3 "$net" tcp-client "$addr_a" 9100 100000 ||
		dp_fail "TCP to the kernel in A ($1)"
}
tcp "before UDP"
ip netns exec "$ns_b" python3 "$net" reflect-udp "$vb" "$addr_a" 9000 "$n" ||
	dp_fail "not every datagram came back from Tern"
tcp "after UDP"

kill -INT "${DP_PID[reflect]}"
dp_wait_exit reflect 20 || dp_fail "reflect did not exit within 20 s of SIGINT"
((DP_RC == 0)) || dp_fail "reflect exited with $DP_RC after SIGINT, want 0"
read -r rx tx drx dtx < <(dp_port_counters "$DP_TMP/reflect.err" 0)
[[ -n ${rx:-} ]] || dp_fail "no counters at exit"
echo "reflect: port 0: rx $rx tx $tx drops rx $drx tx $dtx"
((rx == n && tx == n && drx == 0 && dtx == 0)) ||
	dp_fail "counters: rx $rx tx $tx drops $drx/$dtx; want exactly the $n steered datagrams"
ip -n "$ns_a" link show "$va" | grep -Eq '(^|\s)xdp(generic|drv|offload)?\s|prog/xdp' &&
	dp_fail "an XDP program is still on $va: $(ip -n "$ns_a" link show "$va")"

echo "dp_afxdp: passed"
