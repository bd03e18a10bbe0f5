#!/usr/bin/env bash
# The protocol stack with the kernel as the peer, over net_tap.  In a
# namespace of its own, tern-echo serves UDP port 7 at 10.99.0.2 on a tap
# device; the kernel side gets 10.99.0.1/24.  From the kernel
# (echo_checks, shared with dp_echo_afxdp): ping gets replies (ARP
# resolved both ways on the way), a 4,000-byte ping (fragmented both
# ways) too; 100 UDP datagrams of 1..8000 random bytes come back
# byte-exact; a datagram to a closed port (9) is answered with ICMP port
# unreachable (ECONNREFUSED on a connected socket).  SIGINT ends it: exit
# 0, no leaked mbufs, and the tap device is gone with the port.  Then a
# tern-echo UDP client there against a kernel echo that answers only
# after 1.5 s: its --duration 1 counts from the first reply.
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

# The UDP client's --duration counts from the first reply: against a
# kernel echo that ignores everything for 1.5 s after the first
# datagram, --duration 1 still gets a second of replies (it used to end
# with none, as the demo's 1 s run once did on a loaded machine).
dp_start late ip netns exec "$ECHO_NS" python3 "$ECHO_NET" udp-late-echo 9007 1.5
echo_client lateclient 30 "$1" --client "$ECHO_PEER:9007" --udp --duration 1 --timeout 50
sum=$(grep '^summary:' "$DP_TMP/lateclient.out")
[[ $sum =~ ^summary:\ sent\ ([0-9]+)\ recv\ ([0-9]+)\ lost\ ([0-9]+)\ .*\ in\ ([0-9.]+)\ s ]] ||
	dp_fail "late echo: no summary: $sum"
((BASH_REMATCH[2] >= 100 && BASH_REMATCH[3] > 0)) ||
	dp_fail "late echo: want >= 100 replies after some lost requests: $sum"
awk -v t="${BASH_REMATCH[4]}" 'BEGIN { exit !(t >= 2.4) }' ||
	dp_fail "late echo: ran ${BASH_REMATCH[4]} s, want the 1.5 s wait plus 1 s of replies"

echo "dp_echo_tap: passed"
