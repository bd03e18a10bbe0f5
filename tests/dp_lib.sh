# Shared by the dataplane integration tests (sourced, bash): a scratch
# directory, processes started in the background with their output in
# files, polling with deadlines, and a cleanup on EXIT that stops what the
# test started (by pid), deletes the namespaces it made and removes the
# DPDK runtime directories of its file prefixes.
#
#   dp_start NAME CMD...      runs CMD, stdout in $DP_TMP/NAME.out, stderr
#                             in NAME.err; its pid in ${DP_PID[NAME]}
#   dp_wait_for FILE REGEX SECONDS [PID]
#                             polls until a line of FILE matches (1: the
#                             deadline passed, 2: PID exited first)
#   dp_wait_exit NAME SECONDS waits for NAME to exit; DP_RC is its code
#                             (124 if it did not exit in time)
#   dp_prefix NAME            a unique --file-prefix (removed at exit)
#   dp_netns NAME             creates a namespace (deleted at exit)
#   dp_fail MESSAGE           prints it and every log, exits 1
set -u

DP_TEST=$(basename "$0" .sh)
DP_TMP=$(mktemp -d "/tmp/$DP_TEST.XXXXXX")
declare -A DP_PID=()
DP_NAMES=() DP_NETNS=() DP_HOOKS=()
DP_RC=

# Under LeakSanitizer (the sanitizer build): leaks that are DPDK's or its
# libraries', not Tern's; tests/lsan.supp says which and why.
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lsan.supp"

dp_skip() {
	echo "skip: $*"
	exit 77
}

dp_need_root() {
	[[ $(id -u) -eq 0 ]] || dp_skip "needs root"
}

dp_runtime_dirs() {
	# Where the EAL puts /dpdk/PREFIX: /var/run for root, else
	# $XDG_RUNTIME_DIR or /tmp.
	local p=$1
	echo "/var/run/dpdk/$p" "${XDG_RUNTIME_DIR:-/tmp}/dpdk/$p" "/tmp/dpdk/$p"
}

dp_prefix() {
	echo "tn_${1}_$$"
}

dp_netns() {
	ip netns add "$1" || return 1
	DP_NETNS+=("$1")
}

dp_start() {
	local name=$1
	shift
	"$@" >"$DP_TMP/$name.out" 2>"$DP_TMP/$name.err" &
	DP_PID[$name]=$!
	DP_NAMES+=("$name")
}

dp_wait_for() {
	local file=$1 re=$2 deadline=$((SECONDS + $3)) pid=${4:-}
	until grep -Eq -- "$re" "$file" 2>/dev/null; do
		if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
			# One last look: it may have written the line and exited.
			grep -Eq -- "$re" "$file" 2>/dev/null && return 0
			return 2
		fi
		((SECONDS < deadline)) || return 1
		sleep 0.02
	done
}

dp_wait_exit() {
	local name=$1 deadline=$((SECONDS + $2)) pid=${DP_PID[$1]}
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			DP_RC=124
			return 1
		fi
		sleep 0.02
	done
	wait "$pid"
	DP_RC=$?
	unset "DP_PID[$name]"
	return 0
}

# Waits for NAME to print "ready" (Tern's sign that its ports are up).
dp_wait_ready() {
	local name=$1 secs=${2:-30}
	dp_wait_for "$DP_TMP/$name.out" '^ready$' "$secs" "${DP_PID[$name]}"
	case $? in
	0) return 0 ;;
	1) dp_fail "$name: not ready after $secs s" ;;
	*)
		dp_wait_exit "$name" 5
		dp_fail "$name: exited ($DP_RC) before it was ready"
		;;
	esac
}

dp_logs() {
	local name
	for name in "${DP_NAMES[@]}"; do
		echo "--- $name: stdout"
		tail -n 40 "$DP_TMP/$name.out" 2>/dev/null
		echo "--- $name: stderr"
		grep -v '^VHOST_CONFIG' "$DP_TMP/$name.err" 2>/dev/null | tail -n 40
	done
}

dp_fail() {
	echo "FAIL: $*"
	dp_logs
	exit 1
}

dp_cleanup() {
	local name pid deadline hook ns p d
	for name in "${!DP_PID[@]}"; do
		kill -TERM "${DP_PID[$name]}" 2>/dev/null
	done
	deadline=$((SECONDS + 10))
	for name in "${!DP_PID[@]}"; do
		pid=${DP_PID[$name]}
		while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
			sleep 0.02
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for hook in "${DP_HOOKS[@]}"; do
		eval "$hook"
	done
	for ns in "${DP_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	# Every prefix from dp_prefix ends in _$$ (it runs in $(...), so
	# it cannot record them).
	for d in $(dp_runtime_dirs "tn_*_$$"); do
		[[ -e $d ]] && rm -rf "$d"
	done
	rm -rf "$DP_TMP"
}
trap dp_cleanup EXIT

# The counters Tern prints at exit for port N: "rx PKTS tx PKTS DROPS_RX
# DROPS_TX" from a stderr file.
dp_port_counters() {
	local file=$1 port=$2
	sed -nE "s/^port $port: rx ([0-9]+) pkts .* tx ([0-9]+) pkts .* drops rx ([0-9]+) tx ([0-9]+),.*/\1 \2 \3 \4/p" "$file"
}
