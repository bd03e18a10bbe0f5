#!/usr/bin/env bash
# tern-httpd with the kernel as the client (root only): tern-httpd on
# net_tap in a fresh namespace (dp_echo_lib.sh's tap setup), serving a
# --root of generated files, and from the kernel's side:
#   curl: GET /hello, / (index.html), a 1 MiB file byte-exact (sha256)
#     with its Content-Type and Content-Length, HEAD, 404, a path out of
#     the root (404), 405 with Allow, keep-alive (two URLs on one
#     connection), a chunked POST /echo byte-exact, 413 (Content-Length
#     and chunked), 431;
#   python (dp_httpd.py): a pipelined triple answered in order, malformed
#     requests (400) and HTTP/2.0 (505) answered and closed, a slow
#     client (408 after --request-timeout);
#   wrk for 3 s on 4 connections: no socket errors, no non-2xx; its
#     requests/s printed;
#   python3-websockets: /ws/echo text and binary (70 kB among them) and a
#     ping, /ws/chat between two, and a room of 16 clients that each send
#     20 lines at once: all hear all 320, each sender's in order;
#   --max-conns 16: 16 connections served at once, the 17th reset;
#   SIGINT: exit 0, no leaked mbufs, the counters add up.
# Bad options first (no EAL): exit 2 with a message.
# With LCORES 0,1: a stack and a listener per core (the tap's two queues
# spread the flows); the same checks except --max-conns (a bound per
# core), and both cores must have served connections; the chat room
# spans the cores, and both must have had chat members (each core's
# messages count at least one member's 20 lines: the room's 16 clients
# landed on both, so lines crossed).
#
# usage: dp_httpd_test.sh TERN-HTTPD [LCORES]
source "$(dirname "$(realpath "$0")")/dp_lib.sh"
source "$(dirname "$(realpath "$0")")/dp_echo_lib.sh"

app=$1 lcores=${2:-1}
here=$(dirname "$(realpath "$0")")
client=$here/dp_httpd.py

step() { echo "--- ${SECONDS}s: $*"; }

step "bad options"
badopt() {
	local want=$1
	shift
	"$app" -l 0 --no-huge -m 64 --no-pci --file-prefix "$(dp_prefix cli)" --vdev=net_null0 \
		-- "$@" >"$DP_TMP/opt.out" 2>&1
	local rc=$?
	((rc == 2)) || { cat "$DP_TMP/opt.out"; dp_fail "'$*': exit $rc, want 2"; }
	grep -q -- "$want" "$DP_TMP/opt.out" || { cat "$DP_TMP/opt.out"; dp_fail "'$*': no '$want'"; }
	echo "'$*': exit 2, $(head -n 1 "$DP_TMP/opt.out")"
}
badopt "needs --ip" --port 80
badopt "--tls wants CERT KEY" --ip 10.0.0.1/24 --tls cert.pem
badopt "--port wants" --ip 10.0.0.1/24 --port 0
badopt "--max-header wants" --ip 10.0.0.1/24 --max-header 10
badopt "--root /nonexistent" --ip 10.0.0.1/24 --root /nonexistent
badopt "--request-timeout wants" --ip 10.0.0.1/24 --request-timeout nan
badopt "--max-conns wants" --ip 10.0.0.1/24 --max-conns 0

dp_need_root
for tool in curl wrk sha256sum; do
	command -v $tool >/dev/null || dp_fail "no $tool (scripts/setup.sh installs it)"
done
# The websockets package: Debian's, for Debian's python3.
py=
for p in python3 /usr/bin/python3; do
	if $p -c 'import websockets' 2>/dev/null; then
		py=$p
		break
	fi
done
[[ -n $py ]] || dp_fail "no python3 with websockets (python3-websockets; scripts/setup.sh)"

root=$DP_TMP/root
mkdir -p "$root/sub"
echo "<h1>tern-httpd</h1>" >"$root/index.html"
echo "body { color: red }" >"$root/style.css"
head -c 1048576 /dev/urandom >"$root/big.bin"
head -c 300000 /dev/urandom >"$DP_TMP/post.bin"
head -c 2000000 /dev/zero >"$DP_TMP/huge.bin"

ECHO_MODE=tap ECHO_NS=tn-httpd-$$ ECHO_DEV=tnhttpd$$ ECHO_ADDR=10.97.0.2 ECHO_MAC=
ECHO_PEER=10.97.0.1
dp_netns "$ECHO_NS" || dp_fail "cannot create a network namespace"
ip -n "$ECHO_NS" link set lo up
ip netns exec "$ECHO_NS" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
dp_start httpd ip netns exec "$ECHO_NS" "$app" -l "$lcores" --no-huge -m 256 --no-pci \
	--file-prefix "$(dp_prefix httpd)" --vdev="net_tap0,iface=$ECHO_DEV" -- \
	--ip "$ECHO_ADDR/24" --link-timeout 0 --port 8080 --root "$root" \
	--max-header 4096 --max-body 1000000 --request-timeout 1 --max-conns 16
dp_wait_ready httpd 30
dp_wait_for "$DP_TMP/httpd.out" '^httpd: listening on tcp port 8080' 10 "${DP_PID[httpd]}" ||
	dp_fail "tern-httpd: no listener"
echo_tap_up
url=http://$ECHO_ADDR:8080
ns() { ip netns exec "$ECHO_NS" "$@"; }
# curl: the status code on stdout, the body in $DP_TMP/body, headers in
# $DP_TMP/hdr.
get() { ns curl -sS -m 20 -o "$DP_TMP/body" -D "$DP_TMP/hdr" -w '%{http_code}' "$@"; }
want() {
	local code=$1 what=$2
	shift 2
	local got
	got=$(get "$@") || dp_fail "$what: curl failed ($got)"
	[[ $got == "$code" ]] || { cat "$DP_TMP/hdr"; dp_fail "$what: status $got, want $code"; }
	echo "$what: $code"
}
hdr() { grep -qi "^$1" "$DP_TMP/hdr" || { cat "$DP_TMP/hdr"; dp_fail "no '$1' header"; }; }
sum() { sha256sum "$1" | cut -d' ' -f1; }

step "curl"
want 200 "GET /hello" "$url/hello"
[[ $(cat "$DP_TMP/body") == "Hello, world!" ]] || dp_fail "/hello: body '$(cat "$DP_TMP/body")'"
hdr "Date: [A-Z][a-z][a-z], [0-9][0-9] [A-Z][a-z][a-z] 20[0-9][0-9] [0-9:]* GMT"
want 200 "GET /" "$url/"
hdr "Content-Type: text/html"
cmp -s "$DP_TMP/body" "$root/index.html" || dp_fail "/ is not index.html"
want 200 "GET /style.css" "$url/style.css"
hdr "Content-Type: text/css"
want 200 "GET /big.bin" "$url/big.bin"
hdr "Content-Length: 1048576"
hdr "Content-Type: application/octet-stream"
[[ $(sum "$DP_TMP/body") == $(sum "$root/big.bin") ]] || dp_fail "big.bin: sha256 differs"
echo "big.bin: sha256 $(sum "$DP_TMP/body") equal"
want 200 "HEAD /big.bin" -I "$url/big.bin"
hdr "Content-Length: 1048576"
# (With -I, curl writes the header to -o too.)  A body after HEAD would
# be read as the next response on the connection: GET /hello follows.
cmp -s "$DP_TMP/body" "$DP_TMP/hdr" || dp_fail "HEAD: more than the header came"
conns=$(ns curl -sS -m 20 -w '%{num_connects} ' -I "$url/big.bin" -o /dev/null \
	--next -sS -m 20 -w '%{num_connects} ' -o "$DP_TMP/body" "$url/hello")
[[ $conns == "1 0 " && $(cat "$DP_TMP/body") == "Hello, world!" ]] ||
	dp_fail "HEAD then GET on one connection: connects '$conns', body '$(cat "$DP_TMP/body")'"
echo "HEAD: no body (a GET after it on the same connection is intact)"
want 404 "GET /nope" "$url/nope"
want 404 "GET /../../etc/passwd" --path-as-is "$url/../../etc/passwd"
want 404 "GET /%2e%2e/etc/passwd" --path-as-is "$url/%2e%2e/etc/passwd"
want 405 "DELETE /hello" -X DELETE "$url/hello"
hdr "Allow: GET, HEAD"
want 405 "POST /big.bin" --data-binary x "$url/big.bin"

# Keep-alive: curl reuses its connection for the second URL.
conns=$(ns curl -sS -m 20 -o /dev/null -o /dev/null -w '%{num_connects}\n' "$url/hello" "$url/big.bin" |
	tr '\n' ' ')
[[ $conns == "1 0 " ]] || dp_fail "keep-alive: connects per URL '$conns', want '1 0 '"
echo "keep-alive: two URLs, one connection"

want 200 "chunked POST /echo" -H 'Transfer-Encoding: chunked' --data-binary "@$DP_TMP/post.bin" \
	"$url/echo"
[[ $(sum "$DP_TMP/body") == $(sum "$DP_TMP/post.bin") ]] || dp_fail "/echo: body differs"
echo "chunked POST /echo: 300000 bytes back, sha256 equal"
want 413 "POST /echo of 2 MB" --data-binary "@$DP_TMP/huge.bin" "$url/echo"
want 413 "chunked POST /echo of 2 MB" -H 'Transfer-Encoding: chunked' \
	--data-binary "@$DP_TMP/huge.bin" "$url/echo"
want 431 "GET /hello with an 8 KB header" -H "X-Big: $(head -c 8000 /dev/zero | tr '\0' a)" \
	"$url/hello"

step "python: pipelining, bad requests, a slow client"
nsrun pipeline "$py" "$client" pipeline "$ECHO_ADDR" 8080 || dp_fail "pipelining: see above"
nsrun bad "$py" "$client" bad "$ECHO_ADDR" 8080 || dp_fail "bad requests: see above"
nsrun slow "$py" "$client" slow "$ECHO_ADDR" 8080 1 || dp_fail "slow client: see above"

step "wrk"
nsrun wrk wrk -t 2 -c $([[ $lcores == *,* ]] && echo 8 || echo 4) -d 3s --timeout 10s "$url/hello" || dp_fail "wrk failed"
grep -q "Socket errors" "$DP_TMP/wrk.log" && dp_fail "wrk: socket errors"
grep -q "Non-2xx" "$DP_TMP/wrk.log" && dp_fail "wrk: non-2xx responses"
rps=$(sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p' "$DP_TMP/wrk.log")
[[ -n $rps ]] && awk -v r="$rps" 'BEGIN { exit !(r > 0) }' || dp_fail "wrk: no requests/s"
echo "wrk: $rps requests/s, no errors"

step "websocket"
nsrun ws_echo "$py" "$client" ws-echo "$ECHO_ADDR" 8080 || dp_fail "ws echo: see above"
nsrun ws_chat "$py" "$client" ws-chat "$ECHO_ADDR" 8080 || dp_fail "ws chat: see above"
nsrun ws_room "$py" "$client" ws-room "$ECHO_ADDR" 8080 16 20 || dp_fail "ws chat room: see above"
if [[ $lcores != *,* ]]; then
	step "--max-conns 16"
	nsrun limit "$py" "$client" limit "$ECHO_ADDR" 8080 16 || dp_fail "connection limit: see above"
fi

step "SIGINT"
kill -INT "${DP_PID[httpd]}"
dp_wait_exit httpd 20 || dp_fail "tern-httpd did not exit within 20 s of SIGINT"
cat "$DP_TMP/httpd.out"
grep -E '^stack:|mbufs' "$DP_TMP/httpd.err"
((DP_RC == 0)) || dp_fail "tern-httpd exited with $DP_RC after SIGINT, want 0"
grep -q 'mbufs in use at exit' "$DP_TMP/httpd.err" && dp_fail "tern-httpd leaked mbufs"
grep -q 'live objects' "$DP_TMP/httpd.err" && dp_fail "tern-httpd: $(grep 'live objects' "$DP_TMP/httpd.err")"
(($(echo_stack_counter httpd tcp_bad_csum) == 0)) || dp_fail "TCP checksum errors"
if [[ $lcores == *,* ]]; then
	for core in 0 1; do
		line=$(grep -E "^httpd: [1-9][0-9]* connections.* \(core $core\)$" "$DP_TMP/httpd.out") ||
			dp_fail "core $core served no connection"
		# 3 echo messages at most, plus the chat's 2: 20 means a room member.
		[[ $line =~ sessions\ ([0-9]+)\ messages ]] && ((BASH_REMATCH[1] >= 20)) ||
			dp_fail "core $core had no chat room member (all on one core?): $line"
		[[ $line =~ cut\ off\ ([0-9]+)\ lost ]] && ((BASH_REMATCH[1] == 0)) ||
			dp_fail "core $core lost chat lines: $line"
	done
	echo "dp_httpd ($lcores): passed in ${SECONDS}s"
	exit 0
fi
line=$(grep '^httpd: [0-9]* connections' "$DP_TMP/httpd.out") || dp_fail "no counters line"
[[ $line =~ 5xx\ ([0-9]+) ]] && ((BASH_REMATCH[1] == 1)) ||
	dp_fail "want one 5xx (the 505): $line"
[[ $line =~ websocket\ ([0-9]+)\ sessions ]] && ((BASH_REMATCH[1] == 19)) ||
	dp_fail "want 19 websocket sessions (echo, chat, room): $line"
[[ $line =~ timeouts\ ([0-9]+) ]] && ((BASH_REMATCH[1] >= 1)) || dp_fail "no timeout counted: $line"
[[ $line =~ refused\ ([0-9]+) ]] && ((BASH_REMATCH[1] >= 1)) || dp_fail "none refused: $line"
echo "dp_httpd: passed in ${SECONDS}s"
