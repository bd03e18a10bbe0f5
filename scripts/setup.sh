#!/usr/bin/env bash
# Prepares a Debian bookworm machine for Tern: the packages the build, the
# tests, the benchmarks and the network tools need, then hugepages, bpffs
# and vm.max_map_count.  Idempotent: a second run installs nothing, needs
# no network and takes about a second.  Prints one line per step.
#
# Runs as root (CI does); re-executes itself under sudo otherwise.  In a
# container where sysfs/procfs are read-only or mounts are refused, the
# kernel steps warn and the script carries on: only DPDK/AF_XDP tests
# need them, and those skip themselves without hugepages.
set -euo pipefail

if [[ $EUID -ne 0 ]]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo -E bash "$0" "$@"
	fi
	echo "setup: must run as root (and sudo is not installed)" >&2
	exit 1
fi

say() { echo "setup: $*"; }
warn() { echo "setup: warning: $*" >&2; }

# Every Debian package the project needs, by what needs it.
PACKAGES=(
	# toolchain and build
	build-essential gcc g++ clang llvm lld meson ninja-build pkg-config
	# dataplane: DPDK and AF_XDP
	libdpdk-dev dpdk dpdk-dev libbpf-dev libxdp-dev xdp-tools libnuma-dev
	# tests, benchmarks, sanitizers
	libcmocka-dev libbenchmark-dev libclang-rt-14-dev valgrind hyperfine
	# protocol and TLS; tern-httpd's and tern-load's HTTP parser, WebSocket framing
	libssl-dev libpcap-dev libhttp-parser-dev libwslay-dev
	# network tools for the integration tests
	iproute2 iputils-ping ethtool tcpdump tshark sockperf iperf3 socat netcat-openbsd curl
	# tern-httpd's integration test: load and WebSocket clients
	wrk python3-websockets
	# scripts, packet crafting, plots
	python3 python3-scapy gnuplot-nox
	# the HTTP benchmark's kernel side (bench/run_http.py)
	nginx
)

# ---- packages -------------------------------------------------------------

# One dpkg-query for all: packages it does not know are simply absent.
declare -A installed=()
while read -r name status; do
	[[ $status == ii* ]] && installed[${name%%:*}]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true)
missing=()
for p in "${PACKAGES[@]}"; do
	[[ -n ${installed[$p]:-} ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
	say "packages: all ${#PACKAGES[@]} already installed"
else
	export DEBIAN_FRONTEND=noninteractive
	say "packages: installing ${#missing[@]}: ${missing[*]}"
	# tshark asks whether non-root users may capture; answer it up front.
	echo "wireshark-common wireshark-common/install-setuid boolean false" |
		debconf-set-selections
	apt_opts=(-y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef
		  -o Dpkg::Options::=--force-confold)
	apt-get -q -o DPkg::Lock::Timeout=300 update
	apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}"
	say "packages: installed ${missing[*]}"
fi

# ---- kernel settings (tolerated to fail in containers) ---------------------

HUGEPAGES_WANT=512 # 2 MiB pages: 1 GiB for DPDK mempools
hp=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
if [[ ! -e $hp ]]; then
	warn "hugepages: $hp not present (no 2 MiB hugepage support)"
else
	have=$(cat "$hp")
	if ((have >= HUGEPAGES_WANT)); then
		say "hugepages: $have x 2 MiB already reserved"
	elif (echo "$HUGEPAGES_WANT" >"$hp") 2>/dev/null; then
		got=$(cat "$hp")
		if ((got >= HUGEPAGES_WANT)); then
			say "hugepages: reserved $got x 2 MiB (was $have)"
		else
			warn "hugepages: asked for $HUGEPAGES_WANT x 2 MiB, kernel gave $got (memory fragmented?)"
		fi
	else
		warn "hugepages: cannot write $hp (read-only sysfs?); $have reserved"
	fi
fi

# mount_fs TYPE DIR: mounts a pseudo filesystem unless one of TYPE is there.
mount_fs() {
	local type=$1 dir=$2
	if awk -v d="$dir" -v t="$type" '$2 == d && $3 == t { found = 1 } END { exit !found }' /proc/mounts; then
		say "$type: already mounted at $dir"
	elif mkdir -p "$dir" 2>/dev/null && mount -t "$type" "$type" "$dir" 2>/dev/null; then
		say "$type: mounted at $dir"
	else
		warn "$type: cannot mount at $dir (container without CAP_SYS_ADMIN?)"
	fi
}
mount_fs hugetlbfs /dev/hugepages
mount_fs bpf /sys/fs/bpf

# Each coroutine stack is two mappings (guard page + stack): 100,000
# tasks need 200,000 of them, over the default limit of 65,530.
MAP_COUNT_WANT=1048576
mc=/proc/sys/vm/max_map_count
have=$(cat "$mc")
if ((have >= MAP_COUNT_WANT)); then
	say "vm.max_map_count: already $have"
elif (echo "$MAP_COUNT_WANT" >"$mc") 2>/dev/null; then
	say "vm.max_map_count: raised from $have to $(cat "$mc")"
else
	warn "vm.max_map_count: cannot raise $have to $MAP_COUNT_WANT (read-only procfs?)"
fi

say "done"
