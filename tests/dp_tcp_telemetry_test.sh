#!/usr/bin/env bash
# Per-connection TCP info in DPDK telemetry: tern-echo --tcp 7 over
# net_tap, a kernel client in the namespace holds 3 connections open
# after an echo of 1,100, 2,100 and 3,100 bytes.  dpdk-telemetry.py's
# /tern/tcp/conns (every core) and /tern/tcp/conns,0 must list exactly
# those 3 (and /tern/stack count 3 passive opens), ESTABLISHED, with the bytes each way, an RTT, a congestion
# window and the retransmission counters; /tern/tcp/conns,9 (no such
# core) is refused.  Once the client closes them the list empties (the
# core answers from its loop: nothing stale).  Then SIGINT: exit 0.
#
# usage: dp_tcp_telemetry_test.sh TERN-ECHO
source "$(dirname "$(realpath "$0")")/dp_lib.sh"
source "$(dirname "$(realpath "$0")")/dp_echo_lib.sh"

app=$1
dp_need_root
client=$(command -v dpdk-telemetry.py) ||
	dp_fail "no dpdk-telemetry.py (Debian's dpdk package ships it)"
echo_on_tap "$app" --tcp 7
dp_wait_for "$DP_TMP/echo.out" '^echo: tcp port 7$' 10 "${DP_PID[echo]}" ||
	dp_fail "tern-echo: no listener on tcp port 7"

# The kernel's client: 3 connections, each echoed, held until $release.
release=$DP_TMP/release
cat >"$DP_TMP/kclient.py" <<'EOF'
import os, socket, sys, time

addr, release = sys.argv[1], sys.argv[2]
conns = []
for i in range(3):
    c = socket.create_connection((addr, 7), timeout=10)
    data = os.urandom(1000 * (i + 1) + 100)
    c.sendall(data)
    got = b""
    while len(got) < len(data):
        b = c.recv(65536)
        if not b:
            sys.exit("closed early")
        got += b
    if got != data:
        sys.exit("echo differs")
    conns.append((c, len(data)))
print("held " + " ".join(f"{c.getsockname()[1]}:{n}" for c, n in conns), flush=True)
deadline = time.monotonic() + 60
while not os.path.exists(release) and time.monotonic() < deadline:
    time.sleep(0.02)
for c, _ in conns:
    c.close()
print("closed", flush=True)
EOF
dp_start kclient ip netns exec "$ECHO_NS" python3 "$DP_TMP/kclient.py" "$ECHO_ADDR" "$release"
dp_wait_for "$DP_TMP/kclient.out" '^held ' 20 "${DP_PID[kclient]}" ||
	dp_fail "the kernel client did not get its echoes"
held=$(sed -n 's/^held //p' "$DP_TMP/kclient.out")
echo "kernel client holds (port:bytes): $held"

tel() {
	printf '%s\n' "$@" | "$client" -f "$(dp_prefix echo)" >"$DP_TMP/tel.json" 2>"$DP_TMP/tel.err" ||
		dp_fail "dpdk-telemetry.py failed: $(cat "$DP_TMP/tel.err")"
}
tel /tern/tcp/conns /tern/tcp/conns,0 /tern/tcp/conns,9 /tern/stack
python3 - "$DP_TMP/tel.json" "$ECHO_ADDR" "$ECHO_PEER" "$held" <<'EOF' || dp_fail "telemetry: see above"
import json, sys

path, us, peer, held = sys.argv[1:5]
lines = [json.loads(l) for l in open(path) if l.strip().startswith("{")]
# The stack-wide TCP counters are there too.
st = lines.pop()["/tern/stack"]
if st["tcp_passive_opens"] != 3 or st["tcp_estab_resets"] != 0 or st["tcp_rx"] < 9:
    sys.exit(f"/tern/stack: tcp_passive_opens {st['tcp_passive_opens']} (want 3), "
             f"tcp_estab_resets {st['tcp_estab_resets']}, tcp_rx {st['tcp_rx']}")
r = [x["/tern/tcp/conns"] for x in lines]
if len(r) != 3:
    sys.exit(f"want 3 replies, got {r}")
if r[2] is not None:
    sys.exit(f"/tern/tcp/conns,9 (no such core): want null, got {r[2]}")
key = lambda a, p: a.replace(".", "_") + f"_{p}"  # telemetry's names: [A-Za-z0-9_/]
want = {f"{key(us, 7)}/{key(peer, p)}": int(n) for p, n in (x.split(":") for x in held.split())}
for name, d in (("/tern/tcp/conns", r[0]), ("/tern/tcp/conns,0", r[1])):
    fields, states = d["fields"], d["states"]
    if d["count"] != 3 or d["shown"] != 3:
        sys.exit(f"{name}: count {d['count']} shown {d['shown']}, want 3")
    conns = {k: dict(zip(fields, v)) for k, v in d.items() if "/" in k}
    if set(conns) != set(want):
        sys.exit(f"{name}: connections {sorted(conns)}, want {sorted(want)}")
    for k, c in conns.items():
        n = want[k]
        if states[c["state"]] != "ESTABLISHED":
            sys.exit(f"{name}: {k} is {states[c['state']]}")
        if c["bytes_received"] != n or c["bytes_sent"] != n or c["bytes_acked"] != n:
            sys.exit(f"{name}: {k}: bytes {c}, want {n} each way")
        if not (c["srtt_us"] > 0 and c["cwnd"] > 0 and c["mss"] > 0 and c["core"] == 0):
            sys.exit(f"{name}: {k}: no RTT, window, MSS or core: {c}")
        for f in ("retransmits", "fast_retransmits", "rto_expiries", "unacked"):
            if f not in c:
                sys.exit(f"{name}: {k}: no {f}")
    print(f"{name}: " + "; ".join(
        f"{k} srtt_us={c['srtt_us']} cwnd={c['cwnd']} retransmits={c['retransmits']} "
        f"bytes={c['bytes_received']}" for k, c in sorted(conns.items())))
EOF

# The client closes: the connections leave the list.
touch "$release"
dp_wait_for "$DP_TMP/kclient.out" '^closed$' 10 "${DP_PID[kclient]}" ||
	dp_fail "the kernel client did not close"
deadline=$((SECONDS + 10))
until tel /tern/tcp/conns,0 && grep -q '"count": 0' "$DP_TMP/tel.json"; do
	((SECONDS < deadline)) || dp_fail "connections still listed: $(cat "$DP_TMP/tel.json")"
	sleep 0.05
done
echo "after the close: $(cat "$DP_TMP/tel.json")"
echo_sigint
echo "dp_tcp_telemetry: passed"
