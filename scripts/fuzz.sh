#!/usr/bin/env bash
# Builds tests/fuzz/fuzz_stack.c with clang's libFuzzer, ASan and UBSan,
# compiling coro/ and stack/ straight into the binary (no meson), and runs
# it for SECONDS (default 60) from the seed corpus tests/fuzz/corpus/.
# Exits non-zero on any crash, leak (ASan's, or an mbuf not back in the
# pool), UB report or timeout; the reproducer is left in build-fuzz/.
#   usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
out=build-fuzz
CC=${FUZZ_CC:-clang}
command -v "$CC" >/dev/null || { echo "fuzz: $CC not found (apt-get install clang)"; exit 1; }
mkdir -p "$out"

srcs=(coro/switch_x86_64.S coro/ctx_x86_64.c)
for f in coro/*.c; do
	case "$f" in coro/ctx_*) continue ;; esac
	srcs+=("$f")
done
srcs+=(stack/*.c tests/fuzz/fuzz_stack.c)

echo "fuzz: building $out/fuzz_stack with $CC"
# shellcheck disable=SC2046 # pkg-config's output is a list of words
"$CC" -std=gnu11 -g -O1 -D_GNU_SOURCE -DTN_DEBUG=1 -Wall -Wno-unused-parameter -Wno-sign-compare \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-Icoro/include -Icoro -Istack/include -Istack -Idataplane/include \
	"${srcs[@]}" $(pkg-config --cflags --libs libdpdk) -pthread -lm \
	-o "$out/fuzz_stack"

# A scratch corpus: the seeds stay as committed, what the run finds goes here.
corpus=$out/corpus
rm -rf "$corpus"
mkdir -p "$corpus"
cp tests/fuzz/corpus/* "$corpus"/

log=$out/fuzz.log
echo "fuzz: running for $secs s (log: $log)"
rc=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
	"$out/fuzz_stack" -max_total_time="$secs" -max_len=4096 -timeout=10 \
	-print_final_stats=1 -artifact_prefix="$out/" "$corpus" >"$log" 2>&1 &
pid=$!
wait "$pid" || rc=$?
# The EAL's runtime directory for this process's --file-prefix.
rm -rf "/var/run/dpdk/tnfuzz$pid" "${XDG_RUNTIME_DIR:-/tmp}/dpdk/tnfuzz$pid"

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
echo "fuzz: ${execs:-?} executions, ${cov:-cov: ?}, exit $rc"
if ((rc != 0)) || grep -q 'ERROR: libFuzzer\|ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer' "$log"; then
	tail -n 60 "$log"
	ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* 2>/dev/null || true
	echo "fuzz: FAILED"
	exit $((rc ? rc : 1))
fi
echo "fuzz: ok"
