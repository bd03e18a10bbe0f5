#!/bin/bash
# Instructions per HTTP request, by function: tern-httpd (server) or
# tern-load (client) under callgrind over vhost-user/virtio-user, the
# other end native, as bench/run_http.py runs them (GET /hello, 14-byte
# body, keep-alive, one request in flight per connection).
#
#     bench/callgrind_http.sh [-b BUILD] [-c CONNS] [-t SECS] server|client OUT
#
# The profiled side runs with --instr-atstart=no and --fair-sched=yes
# (vhost and virtio-user have threads of their own); 8 s after the
# client is connected (ARP, the handshakes and the warm-up done)
# instrumentation is switched on for SECS seconds (callgrind_control -i
# on/off), so start-up and shutdown are not in OUT.  Prints the client's
# summary, the requests in the window (the server's http_route calls or
# the client's on_response calls) and per request the loop turn
# inclusive (idle turns included) and its parts.  Details:
# callgrind_annotate --inclusive=yes OUT.
#
# Both processes: --no-huge -m 256, their own file prefix and a vhost
# socket under /tmp named after this script's PID; the server on CPU 1,
# the client on CPU 0.  Only the processes it started are signalled.
set -eu
build=build conns=16 secs=10
while getopts b:c:t: o; do
	case $o in
	b) build=$OPTARG ;;
	c) conns=$OPTARG ;;
	t) secs=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[[ $# == 2 && ($1 == server || $1 == client) ]] || {
	echo "usage: $0 [-b BUILD] [-c CONNS] [-t SECS] server|client OUT" >&2
	exit 2
}
who=$1 out=$2
tmp=$(mktemp -d /tmp/tn-cghttp.XXXXXX)
sock=$tmp/vhost.sock
vg=(valgrind --tool=callgrind --instr-atstart=no --fair-sched=yes "--callgrind-out-file=$out")
srv=("$build/apps/tern-httpd" -l 1 --no-pci --no-huge -m 256 --file-prefix "tncghs$$"
	"--vdev=net_vhost0,iface=$sock,queues=1" -- --ip 10.0.0.1/24 --port 80 --link-timeout 0)
cli=("$build/apps/tern-load" -l 0 --no-pci --no-huge -m 256 --file-prefix "tncghc$$"
	--single-file-segments "--vdev=net_virtio_user0,path=$sock,queues=1" -- --ip 10.0.0.2/24
	--url http://10.0.0.1:80/hello --connections "$conns" --duration $((secs + 60)) --quiet)
if [[ $who == server ]]; then srv=("${vg[@]}" "${srv[@]}"); else cli=("${vg[@]}" "${cli[@]}"); fi
cg_prefixes=("tncghs$$" "tncghc$$")
source "$(dirname "$0")/cglib.sh"
cg_run "httpd: listening" "^connected" 8 120
grep -h -E "^summary" "$tmp/client.log" || true
callgrind_annotate --inclusive=yes --tree=calling "$out" 2>/dev/null | WHO=$who PYTHONPATH="$(dirname "$0")" python3 -c '
import os, re, sys
from cglib import tree
t = tree()
calls, incl = t.calls, t.incl
server = os.environ["WHO"] == "server"
n = incl("http_route") and calls("http_route")[1] if server else calls("on_response")[1]
if not n:
    sys.exit("no requests in the profile")
lt, turns = calls("loop_turn.isra.0")
if not turns:
    lt, turns = calls("loop_turn")
dl, bursts = calls("deliver")
rr, so = incl("tn_sched_run_ready"), calls("tn_stack_output")[0]
print(f"requests {n}, loop turns {turns}, rx bursts {bursts} ({n / max(bursts, 1):.2f} requests each)")
print(f"per request: loop turn {lt / n:.0f} (idle turns included); stack input {dl / n:.0f}, "
      f"ready tasks {rr / n:.0f}, stack output {so / n:.0f}")
for fn in (["http_parser_execute", "http_route", "tn_tcp_read", "tn_tcp_write", "tn_tcp_writev"]
           if server else ["tn_http_resp_feed", "tn_hist_record", "tn_tcp_read", "tn_tcp_write"]):
    v = incl(fn)
    if v:
        print(f"  {fn}: {v / n:.0f}")
'
