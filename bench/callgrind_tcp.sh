#!/bin/bash
# Instructions per TCP round trip, by function: tern-echo's TCP echo
# server or its lockstep client (one 64-byte request in flight) under
# callgrind, the other end native, over vhost-user/virtio-user as
# bench/run_tcp.py runs them (or memif with -m).
#
#     bench/callgrind_tcp.sh [-b BUILD] [-t SECS] [-m] [-u] server|client OUT
#
# -u: the UDP echo the same way (one request in flight, round trips
# counted by tn__udp_input), the baseline TCP's extra cost is judged
# against.
# The profiled side runs with --instr-atstart=no and --fair-sched=yes
# (vhost and virtio-user start threads of their own); 12 s after the
# client is ready (ARP, the handshake and the link settled),
# instrumentation is switched on for SECS seconds (callgrind_control
# -i on/off), so start-up and shutdown are not in OUT.  Then prints the
# round trips in that window (segments taken by tn__tcp_conn_input: one
# per round trip on either side when nothing else is on the wire), loop
# turns and RX bursts, and per round trip: the loop turn inclusive (idle
# turns included) and the path's parts (stack input, the ready tasks,
# stack output, TX flush, RX burst).  Details: callgrind_annotate
# --inclusive=yes OUT.
#
# Both processes: --no-huge -m 256, their own file prefix and a socket
# under /tmp named after this script's PID; the server on CPU 1, the
# client on CPU 0.  Only the processes it started are signalled.
set -eu
build=build secs=10 link=vhost proto=tcp
while getopts b:t:mu o; do
	case $o in
	b) build=$OPTARG ;;
	t) secs=$OPTARG ;;
	m) link=memif ;;
	u) proto=udp ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[[ $# == 2 && ($1 == server || $1 == client) ]] || {
	echo "usage: $0 [-b BUILD] [-t SECS] [-m] [-u] server|client OUT" >&2
	exit 2
}
who=$1 out=$2
tmp=$(mktemp -d /tmp/tn-cgtcp.XXXXXX)
sock=$tmp/link.sock
echo_bin=$build/apps/tern-echo
if [[ $link == vhost ]]; then
	svdev="net_vhost0,iface=$sock,queues=1"
	cvdev=("--vdev=net_virtio_user0,path=$sock,queues=1" --single-file-segments)
else
	svdev="net_memif0,role=server,socket=$sock"
	cvdev=("--vdev=net_memif0,role=client,socket=$sock")
fi
vg=(valgrind --tool=callgrind --instr-atstart=no --fair-sched=yes "--callgrind-out-file=$out")
srv=("$echo_bin" -l 1 --no-pci --no-huge -m 256 --file-prefix "tncgts$$"
	"--vdev=$svdev" -- --ip 10.0.0.1/24 "--$proto" 7 --link-timeout 0)
cli=("$echo_bin" -l 0 --no-pci --no-huge -m 256 --file-prefix "tncgtc$$"
	"${cvdev[@]}" -- --ip 10.0.0.2/24 --client 10.0.0.1:7 "--$proto" --size 64
	--timeout 10000 --duration $((secs + 60)))
if [[ $who == server ]]; then srv=("${vg[@]}" "${srv[@]}"); else cli=("${vg[@]}" "${cli[@]}"); fi
cg_prefixes=("tncgts$$" "tncgtc$$")
source "$(dirname "$0")/cglib.sh"
cg_run "echo: $proto port" "^ready" 12 60
grep -h -E "^summary|^(tcp|udp) 7: |^port 0|^stack:" "$tmp/client.log" "$tmp/server.log"
seg=tn__tcp_conn_input
[[ $proto == udp ]] && seg=tn__udp_input
callgrind_annotate --inclusive=yes --tree=calling "$out" 2>/dev/null | SEG=$seg PYTHONPATH="$(dirname "$0")" python3 -c '
import os
import re, sys
from cglib import tree
t = tree()
calls, incl = t.calls, t.incl
e = calls(os.environ["SEG"])[1]
if not e:
    sys.exit("no round trips in the profile")
lt, turns = calls("loop_turn.isra.0")
dl, bursts = calls("deliver")
rx = incl("rte_eth_rx_burst") or incl("rx_port")
rr, so, fl = incl("tn_sched_run_ready"), calls("tn_stack_output")[0], incl("flush")
print(f"round trips {e}, loop turns {turns}, rx bursts {bursts}")
print(f"per round trip: loop turn {lt / e:.0f} (idle turns included); stack input {dl / e:.0f}, "
      f"ready tasks {rr / e:.0f}, stack output {so / e:.0f}, tx flush {fl / e:.0f}: "
      f"path {(dl + rr + so + fl) / e:.0f}")
'
