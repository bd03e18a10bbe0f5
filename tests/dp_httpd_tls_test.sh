#!/usr/bin/env bash
# tern-httpd --tls (HTTPS and WSS over tn_tls) with the kernel as the
# client (root only): tern-httpd on net_tap in a fresh namespace, as in
# dp_httpd_test.sh, with a throwaway self-signed EC certificate made here
# (`openssl req`, CN tern.test, the server's address in its SAN).
#   one lcore: --port 8080 plain HTTP and --tls-port 8443 HTTPS side by
#     side; two lcores: --port 8443 HTTPS on every core's listener (both
#     cores must complete handshakes).
# From the kernel's side, every client verifying the certificate:
#   curl --cacert: GET /hello (ALPN http/1.1 accepted), a 1 MiB file
#     byte-exact (sha256), keep-alive (two URLs on one connection), a
#     chunked POST /echo byte-exact; without --cacert curl refuses the
#     certificate; plain HTTP to the HTTPS port gets no HTTP answer and
#     the server goes on serving; (one lcore) plain HTTP on 8080 too;
#   python (dp_httpd.py --ca): a pipelined triple in order, malformed
#     requests (400, 505) and a slow client (408) inside TLS, and a client
#     that never starts its handshake closed after --request-timeout;
#   wrk over https for 3 s: no socket errors, no non-2xx;
#   python3-websockets over wss://: /ws/echo text and binary and a ping,
#     /ws/chat between two (two lcores: and a room of 8 over both cores);
#   SIGINT: exit 0, no leaked mbufs, "tls handshakes N ok M failed" with
#     the failures counted (the plain-HTTP client, the silent one).
# Bad --tls options first (no EAL): exit 2 with a message.
#
# usage: dp_httpd_tls_test.sh TERN-HTTPD [LCORES]
source "$(dirname "$(realpath "$0")")/dp_lib.sh"
source "$(dirname "$(realpath "$0")")/dp_echo_lib.sh"

app=$1 lcores=${2:-1}
here=$(dirname "$(realpath "$0")")
client=$here/dp_httpd.py
multi=false
[[ $lcores == *,* ]] && multi=true

step() { echo "--- ${SECONDS}s: $*"; }

command -v openssl >/dev/null || dp_skip "no openssl command"
ECHO_ADDR=10.96.0.2 ECHO_PEER=10.96.0.1
mkcert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-subj "/CN=$2" -addext "subjectAltName=DNS:$2,IP:$ECHO_ADDR" \
		-keyout "$DP_TMP/$1.key" -out "$DP_TMP/$1.pem" 2>"$DP_TMP/$1.log" ||
		{ cat "$DP_TMP/$1.log"; dp_fail "openssl req ($1)"; }
}
mkcert srv tern.test
mkcert other tern.test
CERT=$DP_TMP/srv.pem KEY=$DP_TMP/srv.key

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
badopt "--tls wants CERT KEY" --ip 10.0.0.1/24 --tls "$CERT"
badopt "--tls wants CERT KEY" --ip 10.0.0.1/24 --tls "$CERT" --port 443
badopt "No such file" --ip 10.0.0.1/24 --tls /nonexistent.pem "$KEY"
badopt "not a PEM" --ip 10.0.0.1/24 --tls "$DP_TMP/srv.log" "$KEY"
badopt "Key was rejected" --ip 10.0.0.1/24 --tls "$CERT" "$DP_TMP/other.key"
badopt "--tls-port needs --tls" --ip 10.0.0.1/24 --tls-port 8443
badopt "--tls-port 8443 is --port's too" --ip 10.0.0.1/24 --tls "$CERT" "$KEY" --port 8443 \
	--tls-port 8443
badopt "--tls-port wants" --ip 10.0.0.1/24 --tls "$CERT" "$KEY" --tls-port 0

dp_need_root
for tool in curl wrk sha256sum; do
	command -v $tool >/dev/null || dp_fail "no $tool (scripts/setup.sh installs it)"
done
py=
for p in python3 /usr/bin/python3; do
	if $p -c 'import websockets' 2>/dev/null; then
		py=$p
		break
	fi
done
[[ -n $py ]] || dp_fail "no python3 with websockets (python3-websockets; scripts/setup.sh)"

root=$DP_TMP/root
mkdir -p "$root"
echo "<h1>tern-httpd</h1>" >"$root/index.html"
head -c 1048576 /dev/urandom >"$root/big.bin"
head -c 300000 /dev/urandom >"$DP_TMP/post.bin"

ECHO_MODE=tap ECHO_NS=tn-https-$$ ECHO_DEV=tnhttps$$ ECHO_MAC=
dp_netns "$ECHO_NS" || dp_fail "cannot create a network namespace"
ip -n "$ECHO_NS" link set lo up
ip netns exec "$ECHO_NS" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
if $multi; then
	ports=(--port 8443)
else
	ports=(--port 8080 --tls-port 8443)
fi
dp_start httpd ip netns exec "$ECHO_NS" "$app" -l "$lcores" --no-huge -m 256 --no-pci \
	--file-prefix "$(dp_prefix httpd)" --vdev="net_tap0,iface=$ECHO_DEV" -- \
	--ip "$ECHO_ADDR/24" --link-timeout 0 "${ports[@]}" --tls "$CERT" "$KEY" --root "$root" \
	--request-timeout 1 --max-conns 16
dp_wait_ready httpd 30
dp_wait_for "$DP_TMP/httpd.out" '^httpd: listening on tcp port 8443 \(tls\)' 10 "${DP_PID[httpd]}" ||
	dp_fail "tern-httpd: no TLS listener"
if ! $multi; then
	grep -q '^httpd: listening on tcp port 8080, root' "$DP_TMP/httpd.out" ||
		dp_fail "tern-httpd: no plain listener on 8080"
fi
echo_tap_up
url=https://$ECHO_ADDR:8443
ns() { ip netns exec "$ECHO_NS" "$@"; }
get() {
	ns curl -sS -m 20 --cacert "$CERT" -o "$DP_TMP/body" -D "$DP_TMP/hdr" -w '%{http_code}' "$@"
}
want() {
	local code=$1 what=$2
	shift 2
	local got
	got=$(get "$@") || dp_fail "$what: curl failed ($got)"
	[[ $got == "$code" ]] || { cat "$DP_TMP/hdr"; dp_fail "$what: status $got, want $code"; }
	echo "$what: $code"
}
sum() { sha256sum "$1" | cut -d' ' -f1; }

step "curl over https"
want 200 "GET /hello" -v "$url/hello" 2>"$DP_TMP/curl.v"
[[ $(cat "$DP_TMP/body") == "Hello, world!" ]] || dp_fail "/hello: body '$(cat "$DP_TMP/body")'"
grep -Eqi 'ALPN.*accepted.*http/1\.1' "$DP_TMP/curl.v" ||
	{ cat "$DP_TMP/curl.v"; dp_fail "curl: no ALPN http/1.1"; }
grep -Eq 'subject: CN ?= ?tern\.test' "$DP_TMP/curl.v" ||
	{ cat "$DP_TMP/curl.v"; dp_fail "curl: not our certificate"; }
echo "GET /hello: ALPN http/1.1, subject CN=tern.test, verified"
rc=0
ns curl -sS -m 20 -o /dev/null "$url/hello" 2>"$DP_TMP/curl.err" || rc=$?
((rc == 60)) || { cat "$DP_TMP/curl.err"; dp_fail "curl without --cacert: exit $rc, want 60"; }
echo "curl without --cacert: certificate refused (exit 60)"
want 200 "GET /big.bin" "$url/big.bin"
[[ $(sum "$DP_TMP/body") == $(sum "$root/big.bin") ]] || dp_fail "big.bin: sha256 differs"
echo "big.bin: sha256 $(sum "$DP_TMP/body") equal"
conns=$(ns curl -sS -m 20 --cacert "$CERT" -o /dev/null -o /dev/null -w '%{num_connects}\n' \
	"$url/hello" "$url/big.bin" | tr '\n' ' ')
[[ $conns == "1 0 " ]] || dp_fail "keep-alive: connects per URL '$conns', want '1 0 '"
echo "keep-alive: two URLs, one TLS connection"
want 200 "chunked POST /echo" -H 'Transfer-Encoding: chunked' --data-binary "@$DP_TMP/post.bin" \
	"$url/echo"
[[ $(sum "$DP_TMP/body") == $(sum "$DP_TMP/post.bin") ]] || dp_fail "/echo: body differs"
echo "chunked POST /echo: 300000 bytes back, sha256 equal"

step "plain HTTP to the HTTPS port"
rc=0
out=$(ns curl -sS -m 20 -w '%{http_code}' -o /dev/null "http://$ECHO_ADDR:8443/hello" 2>&1) || rc=$?
((rc != 0)) || dp_fail "plain HTTP on the TLS port was answered: $out"
echo "plain HTTP to 8443: curl exit $rc ($out)"
want 200 "GET /hello after it" "$url/hello"
if ! $multi; then
	got=$(ns curl -sS -m 20 -o "$DP_TMP/body" -w '%{http_code}' "http://$ECHO_ADDR:8080/hello") ||
		dp_fail "plain HTTP on 8080: curl failed"
	[[ $got == 200 && $(cat "$DP_TMP/body") == "Hello, world!" ]] ||
		dp_fail "plain HTTP on 8080: $got"
	echo "plain HTTP on 8080 beside HTTPS on 8443: 200"
fi

step "python over TLS: pipelining, bad requests, a slow and a silent client"
nsrun pipeline "$py" "$client" --ca "$CERT" pipeline "$ECHO_ADDR" 8443 || dp_fail "pipelining: see above"
nsrun bad "$py" "$client" --ca "$CERT" bad "$ECHO_ADDR" 8443 || dp_fail "bad requests: see above"
nsrun slow "$py" "$client" --ca "$CERT" slow "$ECHO_ADDR" 8443 1 || dp_fail "slow client: see above"
nsrun silent "$py" "$client" --ca "$CERT" silent "$ECHO_ADDR" 8443 1 ||
	dp_fail "silent client: see above"

step "wrk over https"
nsrun wrk wrk -t 2 -c $($multi && echo 8 || echo 4) -d 3s --timeout 10s "$url/hello" ||
	dp_fail "wrk failed"
grep -q "Socket errors" "$DP_TMP/wrk.log" && dp_fail "wrk: socket errors"
grep -q "Non-2xx" "$DP_TMP/wrk.log" && dp_fail "wrk: non-2xx responses"
rps=$(sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p' "$DP_TMP/wrk.log")
[[ -n $rps ]] && awk -v r="$rps" 'BEGIN { exit !(r > 0) }' || dp_fail "wrk: no requests/s"
echo "wrk (https): $rps requests/s, no errors"

step "websocket over wss"
nsrun ws_echo "$py" "$client" --ca "$CERT" ws-echo "$ECHO_ADDR" 8443 || dp_fail "wss echo: see above"
nsrun ws_chat "$py" "$client" --ca "$CERT" ws-chat "$ECHO_ADDR" 8443 ||
	dp_fail "wss chat: see above"
if $multi; then
	# The room spans the cores: 8 members over TLS, on both cores.
	nsrun ws_room "$py" "$client" --ca "$CERT" ws-room "$ECHO_ADDR" 8443 8 10 ||
		dp_fail "wss chat room: see above"
fi

step "SIGINT"
kill -INT "${DP_PID[httpd]}"
dp_wait_exit httpd 20 || dp_fail "tern-httpd did not exit within 20 s of SIGINT"
cat "$DP_TMP/httpd.out"
grep -E '^stack:|mbufs' "$DP_TMP/httpd.err"
((DP_RC == 0)) || dp_fail "tern-httpd exited with $DP_RC after SIGINT, want 0"
grep -q 'mbufs in use at exit' "$DP_TMP/httpd.err" && dp_fail "tern-httpd leaked mbufs"
(($(echo_stack_counter httpd tcp_bad_csum) == 0)) || dp_fail "TCP checksum errors"
grep -Eq '^httpd: tls TLSv1\.3 .*, alpn http/1\.1' "$DP_TMP/httpd.out" ||
	dp_fail "no TLSv1.3 handshake with ALPN http/1.1 logged"
ok=0 failed=0
while read -r o f; do
	((ok += o, failed += f))
done < <(sed -nE 's/^httpd: .*, tls handshakes ([0-9]+) ok ([0-9]+) failed.*/\1 \2/p' \
	"$DP_TMP/httpd.out")
# The plain-HTTP client and the silent one; curl without --cacert fails
# on its side, which the server may see as either.
((failed >= 2)) || dp_fail "want at least 2 failed handshakes, got $failed"
((ok >= 10)) || dp_fail "want at least 10 handshakes, got $ok"
echo "tls handshakes: $ok ok, $failed failed"
if $multi; then
	for core in 0 1; do
		grep -Eq "^httpd: [1-9][0-9]* connections.*tls handshakes [1-9][0-9]* ok.* \(core $core\)$" \
			"$DP_TMP/httpd.out" || dp_fail "core $core completed no handshake"
	done
else
	line=$(grep '^httpd: [0-9]* connections' "$DP_TMP/httpd.out") || dp_fail "no counters line"
	[[ $line =~ websocket\ ([0-9]+)\ sessions ]] && ((BASH_REMATCH[1] == 3)) ||
		dp_fail "want 3 websocket sessions: $line"
	[[ $line =~ 5xx\ ([0-9]+) ]] && ((BASH_REMATCH[1] == 1)) ||
		dp_fail "want one 5xx (the 505): $line"
fi
echo "dp_httpd_tls ($lcores): passed in ${SECONDS}s"
