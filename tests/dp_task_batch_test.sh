#!/usr/bin/env bash
# --task-batch: what a loop turn's tasks sent leaves before more tasks
# run.  tern-load (lcore 0, 16 connections, one request in flight each)
# against tern-httpd (lcore 1) over vhost-user/virtio-user, 1 s, both
# with --task-batch 2, then both with 64.  Each request wakes one
# server task that writes one response frame, so with a batch of 2 the
# server's TX bursts carry at most 2 responses: its frames per TX burst
# (from the exit counters) stay at or below 2.2 (a turn's pure ACKs and
# the closing FINs may join them).  With 64 the 16 connections move
# together, a burst of requests answered in one burst of responses:
# above 4.  Both runs: no error, no leaked mbufs.
#
# usage: dp_task_batch_test.sh TERN-HTTPD TERN-LOAD
source "$(dirname "$(realpath "$0")")/dp_lib.sh"

httpd=$1 load=$2
eal=(--no-huge -m 256 --no-pci)

# run NAME BATCH: one server + client pair; sets ratio to the server's
# TX frames per burst.
run() {
	local name=$1 batch=$2 sock="$DP_TMP/$1.sock" line sum
	dp_start "${name}_s" "$httpd" -l 1 "${eal[@]}" --file-prefix "$(dp_prefix "${name}s")" \
		--vdev="net_vhost0,iface=$sock,queues=1" -- --ip 10.0.0.1/24 --port 80 \
		--link-timeout 0 --task-batch "$batch"
	dp_wait_for "$DP_TMP/${name}_s.out" '^httpd: listening' 30 "${DP_PID[${name}_s]}" ||
		dp_fail "$name: tern-httpd not listening"
	dp_start "${name}_c" "$load" -l 0 "${eal[@]}" --file-prefix "$(dp_prefix "${name}c")" \
		--vdev="net_virtio_user0,path=$sock,queues=1" -- --ip 10.0.0.2/24 \
		--url http://10.0.0.1:80/hello --connections 16 --duration 1 --task-batch "$batch"
	dp_wait_exit "${name}_c" 60 || dp_fail "$name: tern-load still runs after 60 s"
	((DP_RC == 0)) || dp_fail "$name: tern-load exited with $DP_RC"
	sum=$(grep '^summary:' "$DP_TMP/${name}_c.out")
	[[ $sum =~ ^summary:\ requests\ ([0-9]+)\ non2xx\ 0\ errors\ 0\ timeouts\ 0\  ]] ||
		dp_fail "$name: want requests and no error: $sum"
	((BASH_REMATCH[1] > 1000)) || dp_fail "$name: only ${BASH_REMATCH[1]} requests: $sum"
	kill -TERM "${DP_PID[${name}_s]}"
	dp_wait_exit "${name}_s" 20 || dp_fail "$name: tern-httpd still runs 20 s after SIGTERM"
	((DP_RC == 0)) || dp_fail "$name: tern-httpd exited with $DP_RC"
	for f in "$DP_TMP/${name}_s.err" "$DP_TMP/${name}_c.err"; do
		grep -q 'mbufs in use at exit' "$f" && dp_fail "$name: leaked mbufs ($f)"
	done
	line=$(grep -h '^port 0:' "$DP_TMP/${name}_s.out" "$DP_TMP/${name}_s.err")
	[[ $line =~ \ tx\ ([0-9]+)\ pkts\ [0-9]+\ bytes\ ([0-9]+)\ bursts ]] ||
		dp_fail "$name: no port counters: $line"
	echo "$name: $sum"
	echo "$name: server $line"
	ratio=$(awk -v p="${BASH_REMATCH[1]}" -v b="${BASH_REMATCH[2]}" 'BEGIN { printf "%.2f", p / b }')
}

run b2 2
small=$ratio
run b64 64
big=$ratio
echo "server frames per TX burst: --task-batch 2: $small, 64: $big"
awk -v s="$small" 'BEGIN { exit !(s <= 2.2) }' ||
	dp_fail "--task-batch 2: $small frames per TX burst, want <= 2.2"
awk -v b="$big" 'BEGIN { exit !(b > 4) }' ||
	dp_fail "--task-batch 64: $big frames per TX burst, want > 4 (16 connections together)"
echo "dp_task_batch: passed"
