#!/usr/bin/env bash
# Builds coro/ and tests/arch_smoke.c for AArch64 with Debian's cross
# compiler and runs the result under qemu-aarch64 (user-mode emulation):
# the only way this x86-64 machine can check switch_aarch64.S for real.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
if ((${#need[@]})); then
	echo "cross_aarch64: installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; }
fi

out=build-aarch64
mkdir -p "$out"
srcs=(coro/switch_aarch64.S coro/ctx_aarch64.c)
for f in coro/*.c; do
	case "$f" in coro/ctx_*) continue ;; esac
	srcs+=("$f")
done
aarch64-linux-gnu-gcc -std=gnu11 -O2 -g -D_GNU_SOURCE -Wall -Wno-unused-parameter \
	-Icoro/include -Icoro "${srcs[@]}" tests/arch_smoke.c -o "$out/arch_smoke" -pthread
echo "cross_aarch64: running $out/arch_smoke under qemu-aarch64"
qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/arch_smoke"
