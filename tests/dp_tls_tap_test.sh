#!/usr/bin/env bash
# TLS (stack/tls.c) with the kernel's OpenSSL as the peer, over net_tap
# in a namespace of its own (dp_echo_lib.sh's echo_on_tap: tern-echo at
# 10.99.0.2, the kernel at 10.99.0.1).  A throwaway self-signed EC
# certificate for tern.test and 10.99.0.2 is made here with `openssl
# req`, and another one that nobody trusts.
#
# tern-echo --tcp 7 --tls CERT KEY as the server:
#   1. Python's ssl, verifying (CA, name): BYTES of a seeded stream in
#      32 KiB pieces, each echo compared; then close_notify both ways;
#   2. openssl s_client, verifying (-verify_return_error, the name):
#      100 kB from /dev/urandom echoed, cmp'd, then its close_notify;
#      and a line echoed after s_client's KeyUpdate (which asks for ours);
#   3. Python's ssl trusting the other certificate: the handshake must
#      fail on the client's side, and tern-echo count it and go on; and
#      a plain-text HTTP request (nc): refused, nothing echoed;
#   SIGINT: exit 0, no leaked mbufs, 5 connections, 2 failed handshakes,
#   no errors, TLSv1.3 negotiated.
# tern-echo --client --tcp --bytes BYTES --tls as the client, against
# Python's ssl echo server (tls_peer.py echo):
#   4. --tls-ca CERT --tls-name tern.test: the echo verified byte for
#      byte by tern, the seeded stream by the server, SNI seen there,
#      close_notify both ways;
#   5. --tls-name evil.test: tern-echo must refuse the certificate
#      (exit 1, "Key was rejected by service") without leaked mbufs.
#
# usage: dp_tls_tap_test.sh TERN-ECHO [BYTES]
source "$(dirname "$(realpath "$0")")/dp_lib.sh"
source "$(dirname "$(realpath "$0")")/dp_echo_lib.sh"

app=$1 bytes=${2:-4000000}
dp_need_root
command -v openssl >/dev/null || dp_skip "no openssl command"
PEER=$(dirname "$(realpath "$0")")/tls_peer.py
seed=$$
step() { echo "--- ${SECONDS}s: $*"; }

mkcert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-subj "/CN=$2" -addext "subjectAltName=DNS:$2,IP:10.99.0.2" \
		-keyout "$DP_TMP/$1.key" -out "$DP_TMP/$1.pem" 2>"$DP_TMP/$1.log" ||
		{ cat "$DP_TMP/$1.log"; dp_fail "openssl req ($1)"; }
}
mkcert srv tern.test
mkcert other tern.test
CERT=$DP_TMP/srv.pem KEY=$DP_TMP/srv.key

echo_on_tap "$app" --tcp 7 --tls "$CERT" "$KEY"
dp_wait_for "$DP_TMP/echo.out" '^echo: tcp port 7 \(tls\)$' 10 "${DP_PID[echo]}" ||
	dp_fail "tern-echo: no TLS listener on tcp port 7"

step "1. Python's ssl client, $bytes bytes"
nsrun pyc timeout 120 python3 "$PEER" client "$ECHO_ADDR" 7 "$bytes" "$seed" "$CERT" tern.test ||
	dp_fail "python client: see above"
grep -q "^tls-client: echoed $bytes bytes byte-exact: yes, close_notify back: yes" \
	"$DP_TMP/pyc.log" || dp_fail "python client: no byte-exact echo or close_notify"

step "2. openssl s_client"
head -c 100000 /dev/urandom >"$DP_TMP/in.bin"
# Its standard input ends (then it sends close_notify) only once the
# whole echo has come back: polled, with a deadline.
feed() {
	cat "$DP_TMP/in.bin"
	local deadline=$((SECONDS + 30))
	while (($(stat -c %s "$DP_TMP/sc.out" 2>/dev/null || echo 0) < 100000)) &&
		((SECONDS < deadline)); do
		sleep 0.02
	done
}
# (-nocommands: a piece of input that starts with K or Q is data.)
feed | ip netns exec "$ECHO_NS" timeout 60 openssl s_client -quiet -no_ign_eof -nocommands \
	-connect "$ECHO_ADDR:7" -servername tern.test -verify_hostname tern.test \
	-CAfile "$CERT" -verify_return_error >"$DP_TMP/sc.out" 2>"$DP_TMP/sc.err" ||
	{ cat "$DP_TMP/sc.err"; dp_fail "s_client failed"; }
cmp "$DP_TMP/in.bin" "$DP_TMP/sc.out" || { cat "$DP_TMP/sc.err"; dp_fail "s_client: the echo differs"; }
grep -q "verify return:1" "$DP_TMP/sc.err" || { cat "$DP_TMP/sc.err"; dp_fail "s_client did not verify"; }
echo "s_client: 100000 bytes echoed, verified"

step "2b. openssl s_client asks for a KeyUpdate mid-stream"
# Its command "K" (a line of its own on standard input) sends a
# KeyUpdate that requests ours; each line is written once the one
# before has been dealt with.
kfeed() {
	printf 'hello\n'
	dp_wait_for "$DP_TMP/ku.out" '^hello$' 20 || return
	printf 'K\n'
	dp_wait_for "$DP_TMP/ku.err" '^KEYUPDATE$' 20 || return
	printf 'world\n'
	dp_wait_for "$DP_TMP/ku.out" '^world$' 20
}
kfeed | ip netns exec "$ECHO_NS" timeout 60 openssl s_client -no_ign_eof -connect "$ECHO_ADDR:7" \
	-CAfile "$CERT" -verify_return_error -servername tern.test >"$DP_TMP/ku.out" 2>"$DP_TMP/ku.err"
grep -q '^KEYUPDATE$' "$DP_TMP/ku.err" || { cat "$DP_TMP/ku.err"; dp_fail "s_client sent no KeyUpdate"; }
grep -q '^world$' "$DP_TMP/ku.out" || { cat "$DP_TMP/ku.out"; dp_fail "no echo after the KeyUpdate"; }
echo "s_client: echoed before and after a KeyUpdate"

step "3. a client that does not trust the certificate"
nsrun pyr timeout 30 python3 "$PEER" reject "$ECHO_ADDR" 7 "$DP_TMP/other.pem" tern.test ||
	dp_fail "the untrusting client: see above"
dp_wait_for "$DP_TMP/echo.err" 'tls handshake: Protocol error' 10 "${DP_PID[echo]}" ||
	dp_fail "tern-echo did not see the failed handshake"

step "3b. not TLS at all: a plain HTTP request"
printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec "$ECHO_NS" timeout 20 nc -N "$ECHO_ADDR" 7 \
	>"$DP_TMP/plain.out" 2>&1
dp_wait_for "$DP_TMP/echo.err" 'tls handshake: Protocol error' 10 "${DP_PID[echo]}" &&
	(($(grep -c 'tls handshake: Protocol error' "$DP_TMP/echo.err") == 2)) ||
	dp_fail "tern-echo did not refuse the plain request"
grep -q 'GET /' "$DP_TMP/plain.out" && dp_fail "the plain request was echoed"
echo "plain request refused"

step "SIGINT"
echo_sigint
grep -Eq "^tcp 7: accepted 5 connections, echoed $((bytes + 100012)) bytes, errors 0" \
	"$DP_TMP/echo.out" || dp_fail "tern-echo: want 5 connections, every byte echoed, no errors"
grep -q "^tls 7: handshakes failed 2$" "$DP_TMP/echo.out" || dp_fail "want 2 failed handshakes"
grep -Eq "^tls 7: TLSv1.3 TLS_" "$DP_TMP/echo.out" || dp_fail "not TLSv1.3"

dp_start kserver ip netns exec "$ECHO_NS" python3 "$PEER" echo 9443 "$CERT" "$KEY" "$seed"
dp_wait_for "$DP_TMP/kserver.out" '^listening$' 10 "${DP_PID[kserver]}" ||
	dp_fail "the kernel's TLS echo server did not start"

step "4. tern-echo as the TLS client, $bytes bytes"
echo_client tlsc 120 "$app" --client "$ECHO_PEER:9443" --tcp --bytes "$bytes" --seed "$seed" \
	--tls --tls-ca "$CERT" --tls-name tern.test --timeout 30000
grep -Eq "^tcp bulk: sent $bytes bytes, received $bytes verified" "$DP_TMP/tlsc.out" ||
	dp_fail "tern client: the echo was not verified"
grep -Eq "^tls: TLSv1.3 TLS_" "$DP_TMP/tlsc.out" || dp_fail "tern client: not TLSv1.3"
dp_wait_for "$DP_TMP/kserver.out" "echoed $bytes bytes" 10 "${DP_PID[kserver]}" ||
	dp_fail "the kernel's server did not report the connection"
grep -q "sni tern.test, echoed $bytes bytes, the seed $seed stream: yes, close_notify: yes" \
	"$DP_TMP/kserver.out" || { cat "$DP_TMP/kserver.out"; dp_fail "the kernel's server: see above"; }
grep "echoed $bytes" "$DP_TMP/kserver.out"

step "5. tern-echo refuses a certificate for another name"
echo_start badc "$app" --client "$ECHO_PEER:9443" --tcp --bytes 1000 --tls \
	--tls-ca "$CERT" --tls-name evil.test --timeout 10000
dp_wait_ready badc 30
echo_tap_up
dp_wait_exit badc 60 || dp_fail "badc did not finish"
((DP_RC != 0)) || dp_fail "tern-echo accepted a certificate for another name"
grep -q "tls handshake: Key was rejected by service" "$DP_TMP/badc.err" ||
	{ cat "$DP_TMP/badc.err"; dp_fail "tern-echo: not a certificate rejection"; }
grep -q 'mbufs in use at exit' "$DP_TMP/badc.err" && dp_fail "badc leaked mbufs"
echo "tern-echo refused it: $(grep 'tls handshake' "$DP_TMP/badc.err")"

echo "dp_tls_tap: passed in ${SECONDS}s"
