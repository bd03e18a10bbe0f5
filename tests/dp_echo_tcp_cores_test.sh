#!/usr/bin/env bash
# TCP clients on every core: tern-echo -l 0,1 --ip ... --client --tcp
# --all-cores --reconnect against a kernel echo server (dp_net.py
# tcp-echo) in a namespace of its own, over net_af_packet with one queue
# pair on a veth: software steering, core 0 polls and hands core 1 its
# flows by the hash (tn__flow_core).  Each core's stack connects from
# ports whose replies the steering hands back to it
# (tn_stack_config.steer); a port chosen without the hash sends about
# half of core 1's SYN-ACKs to core 0, which has no such connection (a
# RST, tcp_no_conn), and core 0's the other way.
#
# (Not over net_tap with two queues: the kernel's tun picks the queue
# of a frame to us by a hash of its own, which no port choice can aim
# at; the dataplane leaves ports unfiltered there.)
#
# First --all-cores without --tcp, and on a server: exit 2 with a
# message.  Then: exit 0 without leaked mbufs, each core's summary line with
# every request echoed byte-exact, each core's stack opened COUNT
# connections, and no segment reached a core without its connection.
#
# usage: dp_echo_tcp_cores_test.sh TERN-ECHO
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

app=$1 count=40
dp_need_root
ns=tn-tcores-$$ dev=tntc$$ kdev=ktntc$$
mac=02:00:5e:10:00:03

# A bad use of the option: a clear message and exit 2.
for bad in "--client 10.96.0.1:9007 --udp --all-cores" "--tcp 7 --all-cores"; do
	# shellcheck disable=SC2086
	"$app" --no-huge -m 64 --no-pci --file-prefix "$(dp_prefix cli)" -- --ip 10.96.0.2/24 \
		$bad >"$DP_TMP/cli.out" 2>&1
	rc=$?
	((rc == 2)) && grep -q -- '--all-cores' "$DP_TMP/cli.out" ||
		dp_fail "tern-echo $bad: exit $rc, want 2 and a message: $(cat "$DP_TMP/cli.out")"
done

dp_netns "$ns" || dp_fail "cannot create a network namespace"
ip -n "$ns" link set lo up
ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" link add "$kdev" type veth peer name "$dev" || dp_skip "no veth devices"
ip -n "$ns" link set "$dev" up
# af_packet sees the kernel's frames before any checksum is filled in.
ip netns exec "$ns" ethtool -K "$kdev" tx off >/dev/null 2>&1 ||
	dp_fail "cannot turn off checksum offload on $kdev"
ip -n "$ns" addr add 10.96.0.1/24 dev "$kdev" || dp_fail "cannot address $kdev"
ip -n "$ns" link set "$kdev" up || dp_fail "cannot bring $kdev up"
ip -n "$ns" neigh replace 10.96.0.2 lladdr "$mac" dev "$kdev" nud permanent ||
	dp_fail "cannot add the neighbour entry"

dp_start kserver ip netns exec "$ns" python3 "$(dirname "$(realpath "$0")")/dp_net.py" \
	tcp-echo 9007
dp_wait_for "$DP_TMP/kserver.out" '^listening$' 10 "${DP_PID[kserver]}" ||
	dp_fail "the kernel echo server did not start"

dp_start echo ip netns exec "$ns" "$app" -l 0,1 --no-huge -m 256 --no-pci \
	--file-prefix "$(dp_prefix echo)" --vdev="net_af_packet0,iface=$dev,qpairs=1" -- \
	--ip 10.96.0.2/24 --mac "$mac" --link-timeout 0 --idle sleep \
	--client 10.96.0.1:9007 --tcp --all-cores --reconnect --count "$count" --size 200 \
	--timeout 20000
dp_wait_ready echo 30
dp_wait_exit echo 90 || dp_fail "tern-echo did not finish in 90 s"
cat "$DP_TMP/echo.out"
grep -E '^(port 0|  core|stack|  stack)' "$DP_TMP/echo.err"
((DP_RC == 0)) || dp_fail "tern-echo exited with $DP_RC"
grep -q 'mbufs in use at exit' "$DP_TMP/echo.err" && dp_fail "tern-echo leaked mbufs"

# ctr CORE NAME: a counter from the exit summary's "stack core" line.
ctr() {
	local v
	v=$(sed -nE "s/^  stack core $1:.* $2=([0-9]+)( .*)?$/\\1/p" "$DP_TMP/echo.err")
	echo "${v:-0}"
}
grep -q '^  stack core 1:' "$DP_TMP/echo.err" || dp_fail "no per-core stack counters at exit"
for core in 0 1; do
	grep -Eq "^summary: sent $count recv $count lost 0 bad 0 .* \\(core $core\\)$" \
		"$DP_TMP/echo.out" || dp_fail "core $core: not every request came back"
	(($(ctr "$core" tcp_active_opens) == count)) ||
		dp_fail "core $core: tcp_active_opens $(ctr "$core" tcp_active_opens), want $count"
	(($(ctr "$core" tcp_no_conn) == 0)) ||
		dp_fail "core $core: $(ctr "$core" tcp_no_conn) segments for a connection it does not have"
done
(($(ctr 1 stack_tx_fwd) > 0)) || dp_fail "core 1 handed core 0 no frame to send"
echo "dp_echo_tcp_cores: $count connections from each core: passed"
