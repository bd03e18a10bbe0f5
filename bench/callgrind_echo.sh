#!/bin/bash
# Instructions per UDP echo, by function: tern-echo's server or client
# under callgrind over memif (or vhost-user/virtio-user: -l vhost, the
# server on net_vhost), the other end native, 64-byte payloads.
#
#     bench/callgrind_echo.sh [-b BUILD] [-l memif|vhost] [-w WINDOW] [-t SECS] server|client OUT
#
# The profiled side runs with --instr-atstart=no; once the client has
# run for 12 s (ARP and the link settled), instrumentation is switched
# on for SECS seconds (callgrind_control -i on/off), so start-up and
# shutdown are not in OUT.  Then prints the echoes in that window (its
# RX bursts times the frames per burst telemetry counted meanwhile),
# loop turns and RX bursts, and per echo: the loop
# turn inclusive (idle turns included: under load on a shared machine
# the native side falls behind and the profiled one idles, so profile
# the server with a window that keeps it busy, e.g. -w 1024) and the
# echo path's parts (stack input, the ready tasks, stack output, TX
# flush).  Details: callgrind_annotate --inclusive=yes OUT.
#
# Both processes: --no-huge -m 256, their own file prefix and a memif
# socket under /tmp named after this script's PID; the server on CPU 1,
# the client on CPU 0.  Only the processes it started are signalled.
set -eu
build=build link=memif window=128 secs=10
while getopts b:l:w:t: o; do
	case $o in
	b) build=$OPTARG ;;
	l) link=$OPTARG ;;
	w) window=$OPTARG ;;
	t) secs=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[[ $# == 2 && ($1 == server || $1 == client) && ($link == memif || $link == vhost) ]] || {
	echo "usage: $0 [-b BUILD] [-l memif|vhost] [-w WINDOW] [-t SECS] server|client OUT" >&2
	exit 2
}
who=$1 out=$2
tmp=$(mktemp -d /tmp/tn-cgecho.XXXXXX)
sock=$tmp/memif.sock
echo_bin=$build/apps/tern-echo
# (vhost's PMD polls from a thread of its own as well: fair scheduling
# keeps valgrind's one-thread-at-a-time from starving the poller.)
vg=(valgrind --tool=callgrind --instr-atstart=no --fair-sched=yes "--callgrind-out-file=$out")
if [[ $link == memif ]]; then
	srv_dev=("--vdev=net_memif0,role=server,socket=$sock")
	cli_dev=("--vdev=net_memif0,role=client,socket=$sock")
else
	srv_dev=("--vdev=net_vhost0,iface=$sock,queues=1")
	cli_dev=("--vdev=net_virtio_user0,path=$sock,queues=1" --single-file-segments)
fi
srv=("$echo_bin" -l 1 --no-pci --no-huge -m 256 --file-prefix "tncgs$$"
	"${srv_dev[@]}" -- --ip 10.0.0.1/24 --udp 7 --link-timeout 0)
cli=("$echo_bin" -l 0 --no-pci --no-huge -m 256 --file-prefix "tncgc$$"
	"${cli_dev[@]}" -- --ip 10.0.0.2/24
	--client 10.0.0.1:7 --udp --size 64 --duration $((secs + 60)) --window "$window")
if [[ $who == server ]]; then srv=("${vg[@]}" "${srv[@]}"); else cli=("${vg[@]}" "${cli[@]}"); fi
cg_prefixes=("tncgs$$" "tncgc$$")
source "$(dirname "$0")/cglib.sh"
cg_run "echo: udp port" "^ready" 12 60
grep -h -E "^summary|^udp 7: echoed" "$tmp/client.log" "$tmp/server.log"
callgrind_annotate --inclusive=yes --tree=calling "$out" 2>/dev/null |
	RX_PER_BURST=$(cat "$tmp/rx_per_burst" 2>/dev/null) PYTHONPATH="$(dirname "$0")" python3 -c '
import os, re, sys
from cglib import tree
t = tree()
calls, incl = t.calls, t.incl
# Echoes: the RX bursts in the profile times the frames per burst
# telemetry saw in the window, else the calls of the general UDP input
# (which takes every datagram when the fast path is off).
dl, bursts = calls("deliver")
e = round(bursts * float(os.environ.get("RX_PER_BURST") or 0)) or calls("tn__udp_input")[1]
if not e:
    sys.exit("no echoes in the profile")
lt, turns = calls("loop_turn.isra.0")
rr, so, fl = incl("tn_sched_run_ready"), calls("tn_stack_output")[0], incl("flush")
print(f"echoes {e}, loop turns {turns}, rx bursts {bursts} ({e / max(bursts, 1):.1f} echoes each)")
print(f"per echo: loop turn {lt / e:.0f} (idle turns included); stack input {dl / e:.0f}, "
      f"ready tasks {rr / e:.0f}, stack output {so / e:.0f}, tx flush {fl / e:.0f}: "
      f"echo path {(dl + rr + so + fl) / e:.0f}")
'
