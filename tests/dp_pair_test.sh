#!/usr/bin/env bash
# Runs dp_pair_test (two memif ports back to back in one process; see
# dp_pair_test.c) with a file prefix whose runtime directory is removed
# even if the program crashes.
#
# usage: dp_pair_test.sh DP_PAIR_TEST LCORES [TERN OPTION...]
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

"$1" "$2" "$(dp_prefix pair)" "${@:3}"
