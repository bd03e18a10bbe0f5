#!/usr/bin/env bash
# tern-feed's and tern-game's command lines: --help exits 0 and lists the
# app's options; a missing mode, a missing --ip, an option of the other
# mode, a malformed or out-of-range value exits 2 with a message naming
# the problem on stderr, nothing on stdout, before the EAL starts.  No
# DPDK process runs (as dp_cli_test.sh).
#
# usage: dp_feedgame_cli_test.sh TERN-FEED TERN-GAME
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

feed=$1 game=$2
prefix=$(dp_prefix fgcli)
eal=(-l 0 --no-huge -m 64 --no-pci --file-prefix "$prefix" --vdev=net_null0)
passed=0

run() {
	local app=$1
	shift
	"$app" "${eal[@]}" -- "$@" >"$DP_TMP/run.out" 2>"$DP_TMP/run.err"
	rc=$?
	out=$(cat "$DP_TMP/run.out")
	err=$(cat "$DP_TMP/run.err")
}

show() {
	echo "--- stdout"
	echo "$out"
	echo "--- stderr"
	echo "$err"
}

no_eal() {
	local d
	if grep -q '^EAL:' <<<"$out$err"; then
		show
		dp_fail "$1: the EAL started"
	fi
	for d in $(dp_runtime_dirs "$prefix"); do
		[[ -e $d ]] && dp_fail "$1: the EAL started (it made $d)"
	done
}

# help APP OPTION...: --help exits 0 and lists each OPTION.
help() {
	local app=$1 opt
	shift
	run "$app" --help
	((rc == 0)) || { show; dp_fail "$(basename "$app") --help: exit $rc, want 0"; }
	for opt in --ip --idle "$@"; do
		grep -q -- "^ *$opt\b" <<<"$out" || { show; dp_fail "$(basename "$app") --help lacks $opt"; }
	done
	no_eal "$(basename "$app") --help"
	passed=$((passed + 1))
}

# bad APP REGEX ARGS...: exit 2, stderr matches REGEX, stdout empty, no EAL.
bad() {
	local app=$1 re=$2
	shift 2
	run "$app" "$@"
	if ((rc != 2)); then
		show
		dp_fail "$(basename "$app") -- $*: exit $rc, want 2"
	fi
	grep -Eq -- "$re" <<<"$err" || { show; dp_fail "$(basename "$app") -- $*: stderr does not match /$re/"; }
	[[ -z $out ]] || { show; dp_fail "$(basename "$app") -- $*: wrote to stdout"; }
	no_eal "$(basename "$app") -- $*"
	echo "ok: $(basename "$app") -- $*: $err"
	passed=$((passed + 1))
}

help "$feed" --publish --subscribe --rate --size --count --duration --feed-id --pkt-burst \
	--rcvq --quiet
help "$game" --serve --tick-hz --max-clients --client-timeout --world --view --clients \
	--server --duration --quiet

ip=(--ip 10.0.0.1/24)
bad "$feed" "needs one of --publish GROUP:PORT or --subscribe" "${ip[@]}"
bad "$feed" "needs one of --publish" "${ip[@]}" --publish 239.1.1.1:1 --subscribe 239.1.1.1:1
bad "$feed" "needs --ip" --publish 239.1.1.1:5000
bad "$feed" "--publish wants a multicast group .*not '10\.0\.0\.2'" "${ip[@]}" --publish 10.0.0.2:5000
bad "$feed" "--subscribe wants GROUP:PORT .*not '239\.1\.1\.1'" "${ip[@]}" --subscribe 239.1.1.1
bad "$feed" "--subscribe port wants a number in 1\.\.65535, not '0'" "${ip[@]}" --subscribe 239.1.1.1:0
bad "$feed" "--subscribe wants GROUP:PORT .*not 'x:5'" "${ip[@]}" --subscribe x:5
bad "$feed" "--size wants a number in 32\.\.8192, not '31'" "${ip[@]}" --publish 239.1.1.1:5 --size 31
bad "$feed" "--rate wants a number in 0\.\.1e\+09, not 'nan'" "${ip[@]}" --publish 239.1.1.1:5 --rate nan
bad "$feed" "--count and --duration exclude each other" "${ip[@]}" --publish 239.1.1.1:5 \
	--count 5 --duration 1
bad "$feed" "--rate is a publisher \\(--publish\\) option" "${ip[@]}" --subscribe 239.1.1.1:5 --rate 10
bad "$feed" "--rcvq is a subscriber \\(--subscribe\\) option" "${ip[@]}" --publish 239.1.1.1:5 --rcvq 10
bad "$feed" "unknown option '--bogus'" "${ip[@]}" --subscribe 239.1.1.1:5 --bogus
bad "$game" "needs one of --serve PORT or --clients N" "${ip[@]}"
bad "$game" "--clients needs --server" "${ip[@]}" --clients 10
bad "$game" "needs --ip" --serve 7777
bad "$game" "--serve wants a number in 1\.\.65535, not '70000'" "${ip[@]}" --serve 70000
bad "$game" "--tick-hz wants a number in 1\.\.1000, not '0'" "${ip[@]}" --serve 1 --tick-hz 0
bad "$game" "--view wants a number in 1\.\.128, not '129'" "${ip[@]}" --serve 1 --view 129
bad "$game" "--clients wants a number in 1\.\.16384, not '20000'" "${ip[@]}" \
	--server 10.0.0.2:1 --clients 20000
bad "$game" "--server wants A\.B\.C\.D:PORT .*not '239\.0\.0\.1:5'" "${ip[@]}" --clients 1 \
	--server 239.0.0.1:5
bad "$game" "--max-clients is a server \\(--serve\\) option" "${ip[@]}" --clients 1 --server 10.0.0.2:1 \
	--max-clients 5
bad "$game" "--duration is a client \\(--clients\\) option" "${ip[@]}" --serve 1 --duration 5

echo "dp_feedgame_cli: $passed passed, 0 failed"
