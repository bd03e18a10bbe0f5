#!/usr/bin/env bash
# The protocol stack with the kernel as the peer, over net_tap.  In a
# namespace of its own, tern-echo serves UDP port 7 at 10.99.0.2 on a tap
# device; the kernel side gets 10.99.0.1/24.  From the kernel
# (echo_checks, shared with dp_echo_afxdp): ping gets replies (ARP
# resolved both ways on the way), a 4,000-byte ping (fragmented both
# ways) too; 100 UDP datagrams of 1..8000 random bytes come back
# byte-exact; a datagram to a closed port (9) is answered with ICMP port
# unreachable (ECONNREFUSED on a connected socket).  SIGINT ends it: exit
# 0, no leaked mbufs, and the tap device is gone with the port.
#
# usage: dp_echo_tap_test.sh TERN-ECHO
source "$(dirname "$(realpath "$0")")/dp_lib.sh"
source "$(dirname "$(realpath "$0")")/dp_echo_lib.sh"

dp_need_root
echo_on_tap "$1"
echo_checks
echo_sigint
grep -Eq '^udp 7: echoed 100 datagrams' "$DP_TMP/echo.out" ||
	dp_fail "tern-echo did not count 100 echoed datagrams"
ip -n "$ECHO_NS" link show "$ECHO_DEV" >/dev/null 2>&1 && dp_fail "$ECHO_DEV outlived the port"

echo "dp_echo_tap: passed"
