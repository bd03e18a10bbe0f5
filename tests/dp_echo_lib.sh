# Shared by the tests of tern-echo with the kernel as the peer
# (dp_echo_tap_test.sh, dp_echo_afxdp_test.sh, dp_echo_fault_test.sh,
# dp_echo_tcp_test.sh); sourced after dp_lib.sh.  Two ways to put
# tern-echo, serving UDP port 7 on the protocol stack, in front of a
# kernel:
#
#   echo_on_tap TERN-ECHO [TERN OPTIONS...]
#       namespace tn-echo-$$: tern-echo on net_tap (device tnecho$$) at
#       10.99.0.2/24; the kernel has 10.99.0.1/24 on the tap device.
#   echo_on_afxdp TERN-ECHO [TERN OPTIONS...]
#       a veth pair with one queue each way (the XDP program redirects
#       to the socket of the queue a frame arrived on; Tern opens queue
#       0).  Namespace A: tern-echo on net_af_xdp on va at P.3/24 (--ip
#       alone steers its address to it, no --steer), next to A's kernel
#       at P.2/24 on the same va, which serves TCP echo on port 9100.
#       Namespace B: the peer kernel at P.1/24 on vb.
#
# Both start "echo" (dp_start) and set ECHO_NS (the peer kernel's
# namespace), ECHO_DEV (its device), ECHO_PEER (its address),
# ECHO_ADDR (tern-echo's address), ECHO_MAC (the MAC tern-echo must
# answer ARP with; empty for tap, whose PMD makes one up) and ECHO_MODE
# (tap or afxdp).  Then:
#
#   echo_start NAME TERN-ECHO [TERN OPTIONS...]
#                     another tern-echo at ECHO_ADDR in the same place
#                     (after the first one exited: they share the port)
#   echo_client NAME SECONDS TERN-ECHO [TERN OPTIONS...]
#                     tern-echo as a client there (--client and the rest
#                     in the options); it must exit 0 within SECONDS
#                     without leaked mbufs
#   echo_stack_counter NAME COUNTER
#                     a counter of the stack: line NAME printed at exit
#                     (0 if absent: the line lists only non-zero ones)
#   echo_checks       from the peer kernel: ping (3 of 3), a 4,000-byte
#                     ping fragmented both ways (3 of 3), an ARP entry
#                     for ECHO_ADDR (with ECHO_MAC), 100 UDP datagrams of
#                     1..8000 bytes echoed byte-exact, and ICMP port
#                     unreachable from closed port 9
#   echo_sigint       SIGINT: exit 0 within 20 s, and no "mbufs in use at
#                     exit" line (the dataplane's leak check)
#   nsrun NAME CMD... CMD in ECHO_NS; output shown and kept in
#                     $DP_TMP/NAME.log
ECHO_NET=$(dirname "$(realpath "${BASH_SOURCE[0]}")")/dp_net.py
ECHO_MODE= ECHO_NS= ECHO_DEV= ECHO_PEER= ECHO_ADDR= ECHO_MAC=

nsrun() {
	local name=$1
	shift
	ip netns exec "$ECHO_NS" "$@" >"$DP_TMP/$name.log" 2>&1
	local rc=$?
	cat "$DP_TMP/$name.log"
	return $rc
}

# Waits for tern-echo's socket: "ready" is the ports'; the main task binds
# the socket after it.
echo_wait_socket() {
	dp_wait_ready echo 30
	dp_wait_for "$DP_TMP/echo.out" '^echo: udp port 7$' 10 "${DP_PID[echo]}" ||
		dp_fail "tern-echo: no socket on udp port 7"
}

echo_start() {
	local name=$1 app=$2
	shift 2
	case $ECHO_MODE in
	tap)
		dp_start "$name" ip netns exec "$ECHO_NS" "$app" -l 1 --no-huge -m 256 --no-pci \
			--file-prefix "$(dp_prefix "$name")" --vdev="net_tap0,iface=$ECHO_DEV" -- \
			--ip "$ECHO_ADDR/24" --link-timeout 0 "$@"
		;;
	afxdp)
		dp_start "$name" ip netns exec "$ECHO_A" "$app" -l 1 --no-huge -m 256 --no-pci \
			--file-prefix "$(dp_prefix "$name")" \
			--vdev="net_af_xdp0,iface=$ECHO_VA,start_queue=0,queue_count=1" -- \
			--ip "$ECHO_ADDR/24" "$@"
		;;
	esac
}

# The tap device goes with the tern-echo process that made it: the
# kernel's side is set up again for each.
echo_tap_up() {
	ip -n "$ECHO_NS" link show "$ECHO_DEV" >/dev/null 2>&1 || dp_fail "no $ECHO_DEV in $ECHO_NS"
	ip -n "$ECHO_NS" addr add "$ECHO_PEER/24" dev "$ECHO_DEV" || dp_fail "cannot address $ECHO_DEV"
	ip -n "$ECHO_NS" link set "$ECHO_DEV" up || dp_fail "cannot bring $ECHO_DEV up"
}

echo_on_tap() {
	local app=$1
	shift
	ECHO_MODE=tap ECHO_NS=tn-echo-$$ ECHO_DEV=tnecho$$ ECHO_ADDR=10.99.0.2 ECHO_MAC=
	ECHO_PEER=10.99.0.1

	dp_netns "$ECHO_NS" || dp_fail "cannot create a network namespace"
	ip -n "$ECHO_NS" link set lo up
	# No IPv6 on the tap: nothing but what the test sends.
	ip netns exec "$ECHO_NS" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	echo_start echo "$app" --udp 7 "$@"
	echo_wait_socket
	echo_tap_up
}

echo_need_af_xdp() {
	compgen -G '/usr/lib*/*/dpdk/pmds-*/librte_net_af_xdp.so*' >/dev/null ||
		compgen -G '/usr/lib*/dpdk/pmds-*/librte_net_af_xdp.so*' >/dev/null ||
		compgen -G '/usr/local/lib*/*/dpdk/pmds-*/librte_net_af_xdp.so*' >/dev/null ||
		dp_fail "no net_af_xdp PMD"
}

# The network of echo_on_afxdp without tern-echo (it sets the ECHO_
# variables; echo_start then starts tern-echo in A).
echo_afxdp_net() {
	local pfx ns
	echo_need_af_xdp
	pfx=10.79.$(($$ % 250 + 1))
	ECHO_MODE=afxdp ECHO_A=tn-exa-$$ ECHO_NS=tn-exb-$$ ECHO_VA=tnexa$$ ECHO_DEV=tnexb$$
	ECHO_KADDR=$pfx.2 ECHO_ADDR=$pfx.3 ECHO_PEER=$pfx.1

	dp_netns "$ECHO_A" || dp_fail "cannot create a network namespace"
	dp_netns "$ECHO_NS" || dp_fail "cannot create a network namespace"
	ip link add "$ECHO_VA" numtxqueues 1 numrxqueues 1 netns "$ECHO_A" type veth \
		peer name "$ECHO_DEV" numtxqueues 1 numrxqueues 1 netns "$ECHO_NS" ||
		dp_fail "cannot create a veth pair"
	for ns in "$ECHO_A" "$ECHO_NS"; do
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	done
	ip -n "$ECHO_A" addr add "$ECHO_KADDR/24" dev "$ECHO_VA"
	ip -n "$ECHO_NS" addr add "$ECHO_PEER/24" dev "$ECHO_DEV"
	# A veth hands its peer UDP and TCP with the checksum left to an
	# offload (CHECKSUM_PARTIAL) that never happens in between; the
	# kernel on the other side is told so, but the frame XDP redirects
	# to an AF_XDP socket carries only the partial sum, and the stack
	# rightly drops it.  A real NIC's frames carry full checksums: so
	# must B's.  (ICMP and fragmented UDP are summed in software anyway.)
	ip netns exec "$ECHO_NS" ethtool -K "$ECHO_DEV" tx off >/dev/null ||
		dp_fail "cannot turn off TX checksum offload on $ECHO_DEV (ethtool)"
	ip -n "$ECHO_A" link set "$ECHO_VA" up
	ip -n "$ECHO_NS" link set "$ECHO_DEV" up
	ECHO_MAC=$(ip netns exec "$ECHO_A" cat "/sys/class/net/$ECHO_VA/address")
}

echo_on_afxdp() {
	local app=$1
	shift
	echo_afxdp_net
	dp_start kecho ip netns exec "$ECHO_A" python3 "$ECHO_NET" tcp-echo 9100
	dp_wait_for "$DP_TMP/kecho.out" '^listening' 10 "${DP_PID[kecho]}" ||
		dp_fail "the kernel's TCP echo server did not start"
	echo_start echo "$app" --udp 7 "$@"
	echo_wait_socket
	ip -n "$ECHO_A" link show "$ECHO_VA" | grep -q 'prog/xdp' ||
		dp_fail "no XDP program on $ECHO_VA"
}

# The kernel in A, on the interface tern-echo shares with it, still
# talks to B: TCP both ways and ping.
echo_kernel_traffic() {
	local when=$1
	nsrun "ktcp_$when" python3 "$ECHO_NET" tcp-client "$ECHO_KADDR" 9100 100000 ||
		dp_fail "TCP to A's kernel ($when)"
	nsrun "kping_$when" ping -n -c 2 -i 0.2 -W 2 "$ECHO_KADDR" ||
		dp_fail "ping to A's kernel ($when)"
}

echo_checks() {
	local lladdr
	nsrun ping ping -n -c 3 -i 0.2 -W 2 "$ECHO_ADDR" || dp_fail "ping: no replies"
	grep -q '3 received' "$DP_TMP/ping.log" || dp_fail "ping: not every request answered"
	lladdr=$(ip -n "$ECHO_NS" neigh show "$ECHO_ADDR" dev "$ECHO_DEV" |
		sed -nE 's/.* lladdr ([0-9a-f:]+).*/\1/p')
	[[ -n $lladdr ]] || dp_fail "the kernel has no ARP entry for $ECHO_ADDR"
	[[ -z $ECHO_MAC || $lladdr == "$ECHO_MAC" ]] ||
		dp_fail "ARP: $ECHO_ADDR is at $lladdr, want $ECHO_MAC (the port's MAC)"

	nsrun ping_frag ping -n -c 3 -i 0.2 -W 2 -s 4000 "$ECHO_ADDR" ||
		dp_fail "ping -s 4000: no replies"
	grep -q '3 received' "$DP_TMP/ping_frag.log" ||
		dp_fail "ping -s 4000: not every request answered"

	nsrun udp python3 "$ECHO_NET" udp-echo "$ECHO_ADDR" 7 100 7 ||
		dp_fail "UDP echo: see above"
	nsrun refused python3 "$ECHO_NET" udp-refused "$ECHO_ADDR" 9 ||
		dp_fail "UDP to a closed port: see above"
}

echo_sigint() {
	kill -INT "${DP_PID[echo]}"
	dp_wait_exit echo 20 || dp_fail "tern-echo did not exit within 20 s of SIGINT"
	cat "$DP_TMP/echo.out"
	grep -E '^port|mbufs' "$DP_TMP/echo.err"
	((DP_RC == 0)) || dp_fail "tern-echo exited with $DP_RC after SIGINT, want 0"
	grep -q 'mbufs in use at exit' "$DP_TMP/echo.err" && dp_fail "tern-echo leaked mbufs"
	return 0
}

echo_client() {
	local name=$1 secs=$2 app=$3
	shift 3
	echo_start "$name" "$app" "$@"
	dp_wait_ready "$name" 30
	# (Its first ARP request or SYN may beat the tap's kernel side: both
	# are retried.)
	[[ $ECHO_MODE == tap ]] && echo_tap_up
	dp_wait_exit "$name" "$secs" || dp_fail "$name did not finish in $secs s"
	cat "$DP_TMP/$name.out"
	grep -E '^stack:|mbufs' "$DP_TMP/$name.err"
	((DP_RC == 0)) || dp_fail "$name exited with $DP_RC"
	grep -q 'mbufs in use at exit' "$DP_TMP/$name.err" && dp_fail "$name leaked mbufs"
	return 0
}

echo_stack_counter() {
	local v
	v=$(sed -nE "s/^stack:.* $2=([0-9]+)( .*|$)/\1/p" "$DP_TMP/$1.err")
	echo "${v:-0}"
}
