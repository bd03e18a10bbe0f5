#!/usr/bin/env bash
# The protocol stack with the kernel as the peer, over AF_XDP, on an
# interface it shares with the kernel:
#
#   ns A: veth va, kernel P.2/24 + tern-echo P.3/24  <->  ns B: vb, kernel P.1/24
#
# tern-echo takes va through net_af_xdp with --ip P.3/24 and no --steer:
# --ip alone must steer P.3 to it (ARP for it, all IPv4 to it, fragments
# included) and leave the rest to A's kernel.  From B's kernel, the
# checks dp_echo_tap makes (echo_checks): ping, 4,000-byte fragmented
# ping, B's ARP entry for P.3 at va's MAC, 100 UDP datagrams of 1..8000
# bytes byte-exact, ICMP port unreachable from a closed port.  Around
# them, A's kernel on the same va keeps working: TCP echo and ping from
# B, before and after.  SIGINT: exit 0, no leaked mbufs, tern-echo
# counted exactly the 100 datagrams, and no XDP program is left on va.
# Last, a tern-echo given A's kernel address warns that it takes it.
#
# usage: dp_echo_afxdp_test.sh TERN-ECHO
source "$(dirname "$(realpath "$0")")/dp_lib.sh"
source "$(dirname "$(realpath "$0")")/dp_echo_lib.sh"

dp_need_root
echo_on_afxdp "$1"
echo_kernel_traffic before
echo_checks
echo_kernel_traffic after
echo_sigint
grep -Eq '^udp 7: echoed 100 datagrams' "$DP_TMP/echo.out" ||
	dp_fail "tern-echo did not count 100 echoed datagrams"
ip -n "$ECHO_A" link show "$ECHO_VA" | grep -Eq '(^|\s)xdp(generic|drv|offload)?\s|prog/xdp' &&
	dp_fail "an XDP program is still on $ECHO_VA: $(ip -n "$ECHO_A" link show "$ECHO_VA")"

# --ip naming the kernel's own address on va takes all of its traffic:
# Tern says so.
dp_start same ip netns exec "$ECHO_A" "$1" -l 1 --no-huge -m 256 --no-pci \
	--file-prefix "$(dp_prefix same)" \
	--vdev="net_af_xdp0,iface=$ECHO_VA,start_queue=0,queue_count=1" -- \
	--ip "$ECHO_KADDR/24" --udp 7
dp_wait_ready same 30
grep 'the kernel has --ip' "$DP_TMP/same.err" ||
	dp_fail "no warning for --ip $ECHO_KADDR, the kernel's address on $ECHO_VA"
kill -INT "${DP_PID[same]}"
dp_wait_exit same 20 && ((DP_RC == 0)) || dp_fail "tern-echo --ip $ECHO_KADDR: exit $DP_RC"

echo "dp_echo_afxdp: passed"
