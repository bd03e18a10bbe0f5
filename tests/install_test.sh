#!/usr/bin/env bash
# `meson install` into a scratch root, then build the README example
# against the installed headers and library through pkg-config only.
set -euo pipefail
build=$1 src=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
meson install -C "$build" --destdir "$root" --no-rebuild --quiet
pc=$(dirname "$(find "$root" -name libtern.pc | head -1)")
export PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$root
cc -std=gnu11 "$src/tests/readme_example.c" -o "$root/example" \
	$(pkg-config --cflags libtern) $(pkg-config --libs libtern)
LD_LIBRARY_PATH=$(dirname "$(find "$root" -name libtern.so | head -1)") "$root/example"
echo "install: headers, libtern.a/.so and libtern.pc work"
