#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz/ with clang, ASan and UBSan,
# compiling coro/ and stack/ straight into each binary (no meson), and
# runs each for SECONDS (default 60) from its seed corpus:
#   stack  tests/fuzz/fuzz_stack.c  tests/fuzz/corpus/
#   tcp    tests/fuzz/fuzz_tcp.c    tests/fuzz/corpus_tcp/ (skipped while
#          stack/ has no TCP implementation)
# Exits non-zero on any crash, leak (ASan's, or an mbuf not back in the
# pool), UB report or timeout; the reproducer is left in build-fuzz/.
#   usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (default: stack tcp)
# SECONDS 0 only builds (build-fuzz/fuzz_TARGET), e.g. to minimize a crash:
#   build-fuzz/fuzz_tcp -minimize_crash=1 -runs=20000 CRASH_FILE
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(stack tcp)
out=build-fuzz
CC=${FUZZ_CC:-clang}
command -v "$CC" >/dev/null || { echo "fuzz: $CC not found (apt-get install clang)"; exit 1; }
mkdir -p "$out"

srcs=(coro/switch_x86_64.S coro/ctx_x86_64.c)
for f in coro/*.c; do
	case "$f" in coro/ctx_*) continue ;; esac
	srcs+=("$f")
done
srcs+=(stack/*.c)

# shellcheck disable=SC2207 # pkg-config's output is a list of words
dpdk_cflags=($(pkg-config --cflags libdpdk))
# shellcheck disable=SC2207
dpdk_libs=($(pkg-config --libs libdpdk))
# stack/tls*.c (compiled in with the rest of stack/) need OpenSSL.
# shellcheck disable=SC2207
ssl_libs=($(pkg-config --libs openssl))
cflags=(-std=gnu11 -g -O1 -D_GNU_SOURCE -DTN_DEBUG=1 -Wall -Wno-unused-parameter
	-Wno-sign-compare -fno-sanitize-recover=all
	-Icoro/include -Icoro -Istack/include -Istack -Idataplane/include "${dpdk_cflags[@]}")

# coro/ and stack/ once for every target (instrumented, libFuzzer's main
# left out), two compilers at a time.
objdir=$out/obj
rm -rf "$objdir"
mkdir -p "$objdir"
echo "fuzz: compiling coro/ and stack/ with $CC"
export CC objdir
# shellcheck disable=SC2016 # expanded by the inner sh
printf '%s\n' "${srcs[@]}" | xargs -P 2 -I{} sh -c \
	'"$CC" "$@" -c {} -o "$objdir/$(echo {} | tr / _).o"' sh \
	"${cflags[@]}" -fsanitize=fuzzer-no-link,address,undefined
objs=("$objdir"/*.o)

# run_target NAME CORPUS_DIR
run_target() {
	local name=$1 seeds=$2 bin=$out/fuzz_$1 corpus=$out/corpus_$1 log=$out/fuzz_$1.log
	local rc=0 pid execs cov

	echo "fuzz: building $bin"
	"$CC" "${cflags[@]}" -fsanitize=fuzzer,address,undefined "tests/fuzz/fuzz_$name.c" \
		"${objs[@]}" "${dpdk_libs[@]}" "${ssl_libs[@]}" -pthread -lm -o "$bin"
	((secs > 0)) || return 0

	# A scratch corpus: the seeds stay as committed, what the run finds goes here.
	rm -rf "$corpus"
	mkdir -p "$corpus"
	cp "$seeds"/* "$corpus"/

	echo "fuzz: running $name for $secs s (log: $log)"
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
		"$bin" -max_total_time="$secs" -max_len=4096 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$out/$name-" "$corpus" >"$log" 2>&1 &
	pid=$!
	wait "$pid" || rc=$?
	# The EAL's runtime directory for this process's --file-prefix.
	rm -rf "/var/run/dpdk/tnfuzz$pid" "/var/run/dpdk/tnfuzztcp$pid" \
		"${XDG_RUNTIME_DIR:-/tmp}/dpdk/tnfuzz$pid" "${XDG_RUNTIME_DIR:-/tmp}/dpdk/tnfuzztcp$pid"

	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
	echo "fuzz: $name: ${execs:-?} executions, ${cov:-cov: ?}, exit $rc"
	if ((rc != 0)) || grep -q 'ERROR: libFuzzer\|ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer' "$log"; then
		tail -n 60 "$log"
		ls "$out/$name"-crash-* "$out/$name"-leak-* "$out/$name"-timeout-* \
			"$out/$name"-oom-* 2>/dev/null || true
		echo "fuzz: $name FAILED"
		return 1
	fi
	echo "fuzz: $name ok"
}

failed=0
for t in "${targets[@]}"; do
	case "$t" in
	stack) run_target stack tests/fuzz/corpus || failed=1 ;;
	tcp)
		if ! grep -qs '^int tn_tcp_connect' stack/*.c; then
			echo "fuzz: tcp skipped (no TCP implementation in stack/ yet)"
			continue
		fi
		run_target tcp tests/fuzz/corpus_tcp || failed=1
		;;
	*) echo "fuzz: unknown target $t (stack, tcp)"; exit 2 ;;
	esac
done
exit "$failed"
