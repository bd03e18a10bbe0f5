#!/usr/bin/env bash
# Tern's command line (dataplane/options.c) through the real apps: --help
# exits 0 and lists every option; an unknown option, a stray argument or a
# malformed value exits 2 with a message naming the problem, on stderr,
# before the EAL starts (no EAL output, no runtime directory for the file
# prefix, although EAL arguments with a port are given).
#
# usage: dp_cli_test.sh TERN-REFLECT TERN-PKTGEN
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

reflect=$1 pktgen=$2
prefix=$(dp_prefix cli)
eal=(-l 0 --no-huge -m 64 --no-pci --file-prefix "$prefix" --vdev=net_null0)
passed=0

# run NAME APP ARGS...: the app with the EAL arguments above, "--" and
# ARGS; sets rc, out, err.
run() {
	local name=$1 app=$2
	shift 2
	"$app" "${eal[@]}" -- "$@" >"$DP_TMP/$name.out" 2>"$DP_TMP/$name.err"
	rc=$?
	out=$(cat "$DP_TMP/$name.out")
	err=$(cat "$DP_TMP/$name.err")
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

# ---- --help: exit 0, every option listed, on stdout
for app in "$reflect" "$pktgen"; do
	name=$(basename "$app")
	run help "$app" --help
	[[ $rc -eq 0 ]] || { show; dp_fail "$name --help: exit $rc, want 0"; }
	for opt in --help --idle --pcap --fault --link-timeout --burst --task-batch --rxd --txd --mbufs \
		--ports --no-stats --steer; do
		grep -q -- "^ *$opt\b\|, $opt\b" <<<"$out" || { show; dp_fail "$name --help lacks $opt"; }
	done
	no_eal "$name --help"
	passed=$((passed + 1))
done
run help "$pktgen" --help
for opt in --size --rate --window --timeout --duration --count --pkt-burst --dst-mac --quiet; do
	grep -q -- "^ *$opt\b" <<<"$out" || { show; dp_fail "tern-pktgen --help lacks $opt"; }
done
passed=$((passed + 1))

# ---- bad command lines: exit 2, a message on stderr that names the
# problem, nothing on stdout, no EAL.
# bad APP REGEX ARGS...
bad() {
	local app=$1 re=$2
	shift 2
	run bad "$app" "$@"
	if [[ $rc -ne 2 ]]; then
		show
		dp_fail "$(basename "$app") -- $*: exit $rc, want 2"
	fi
	if ! grep -Eq -- "$re" <<<"$err"; then
		show
		dp_fail "$(basename "$app") -- $*: stderr does not match /$re/"
	fi
	[[ -z $out ]] || { show; dp_fail "$(basename "$app") -- $*: wrote to stdout"; }
	no_eal "$(basename "$app") -- $*"
	echo "ok: $(basename "$app") -- $*: $err"
	passed=$((passed + 1))
}

bad "$reflect" "unknown option '--bogus'" --bogus
bad "$reflect" "unknown option '--count'" --count 5
bad "$reflect" "unexpected argument 'stray'" stray
bad "$reflect" "--burst wants a number in 1\.\.64, not '0'" --burst 0
bad "$reflect" "--burst wants a number in 1\.\.64, not '65'" --burst=65
bad "$reflect" "--burst wants a number in 1\.\.64, not 'x'" --burst x
bad "$reflect" "--burst needs a value" --burst
bad "$reflect" "--task-batch wants a number in 1\.\.1024, not '0'" --task-batch 0
bad "$reflect" "--task-batch wants a number in 1\.\.1024, not '1025'" --task-batch=1025
bad "$reflect" "--rxd wants a number in 64\.\.16384, not '10'" --rxd 10
bad "$reflect" "--ports wants LO-HI, .*not '5000'" --ports 5000
bad "$reflect" "--ports wants LO-HI, .*not '0-10'" --ports 0-10
bad "$reflect" "--ports wants LO-HI, .*not '20-10'" --ports 20-10
bad "$reflect" "--ports wants LO-HI, .*not '1-70000'" --ports=1-70000
bad "$reflect" "--ports wants LO-HI, .*not '1-2x'" --ports 1-2x
bad "$reflect" "--idle wants poll or sleep, not 'fast'" --idle fast
bad "$reflect" "--no-stats takes no value" --no-stats=1
bad "$reflect" "--fault: .*drop=2.*\[0, 1\]" --fault drop=2
bad "$reflect" "--fault: .*unknown key \"bogus\"" --fault bogus=1
bad "$reflect" "--steer wants udp:A\.B\.C\.D:PORT.*not 'bogus'" --steer bogus
bad "$reflect" "--steer wants .*not 'udp:10\.0\.0\.1'" --steer udp:10.0.0.1
bad "$reflect" "--steer wants .*not 'tcp:10\.0\.0\.1:70000'" --steer tcp:10.0.0.1:70000
bad "$reflect" "--steer wants .*not 'ip:10\.0\.0\.256'" --steer ip:10.0.0.256
bad "$pktgen" "--size wants a number in 64\.\.1514, not '10'" --size 10
bad "$pktgen" "--size wants a number in 64\.\.1514, not 'nan'" --size nan
bad "$pktgen" "--pkt-burst wants a number in 1\.\.64, not 'nan'" --pkt-burst nan
bad "$pktgen" "--dst-mac wants aa:bb:cc:dd:ee:ff, not 'zz'" --dst-mac zz
bad "$pktgen" "--window wants a number in 1\.\.4096, not '0'" --window 0
bad "$pktgen" "--rate and --window exclude each other" --rate 1000 --window 1
bad "$pktgen" "--rate and --window exclude each other" --window 1 --rate 1000
bad "$pktgen" "--timeout wants a number in 1\.\.60000, not '0'" --window 1 --timeout 0
bad "$pktgen" "--burst wants a number in 1\.\.64, not '0'" --count 10 --burst 0
bad "$pktgen" "unknown option '--bogus'" --count 10 --bogus

echo "dp_cli: $passed passed, 0 failed"
