#!/usr/bin/env python3
"""TCP benchmark (issue: Stack II): tern-echo's TCP round trip and one-flow
bulk throughput, tern to tern over vhost-user/virtio-user, against the
kernel's TCP over loopback; and the memory of 100,000 idle connections.

    python3 bench/run_tcp.py [--build-dir build] [--no-build]
        [--duration 5] [--size 64] [--bulk-duration 3] [--rounds 3]
        [--conns 100000] [--no-stack-cost] [--gen-cpu 0] [--refl-cpu 1]
        [--mem 256] [--budget 60] [--no-kernel] [--no-gso-ref] [--no-results]
        [--keep-logs]

The tern-echo server (`--ip 10.0.0.1/24 --tcp 7 --discard 9`) runs on
--refl-cpu behind net_vhost, each client (`--ip 10.0.0.2/24`) on
--gen-cpu behind net_virtio_user; every DPDK process has its own
--in-memory hugepages.

  round trip  tern-echo `--client 10.0.0.1:7 --tcp --size 64` for
              --duration s, one request in flight: its rtt_ns
              percentiles, in --rtt-rounds rounds, each on a new server
              and client; each percentile's median.  Kernel: `sockperf server --tcp` on 127.0.0.1
              (--refl-cpu) and `sockperf ping-pong --tcp --full-rtt -m 64`
              (--gen-cpu), same size and duration.
  bulk        --rounds rounds, each: tern-echo `--client 10.0.0.1:9 --tcp
              --send-bytes ... --duration T` into the discard server (its
              `tcp-send:` line: bytes the server acknowledged / time from
              the first write to the last ACK), then `iperf3 -c 127.0.0.1
              -t T` against `iperf3 -s` in a fresh network namespace whose
              loopback has MTU 1500 (both pinned like Tern; the receiver's
              rate).  Medians and round-by-round ratios.  Unless
              --no-gso-ref, one more iperf3 run with TSO/GSO off on that
              loopback, for reference: the kernel then handles 1,500-byte
              packets one by one, as Tern does.
  connections build/bench/tn-tcp-conns N on --refl-cpu: both ends of N
              idle connections in one process (two stacks back to back);
              RSS and heap growth per connection, mbufs held.
  stack cost  build/bench/tn-tcp-bench on --refl-cpu: the same two stacks
              back to back, no link, one thread: CPU time per 64-byte
              round trip (both ends) and bulk Gbit/s per CPU second; then
              again with `offload` (TCP checksums left to the "port", as
              over vhost-user).  No
              target; thread CPU time is what other load disturbs least.

Targets: Tern RTT p50 <= 1.5 us and >= 30x lower than the kernel's p50;
Tern bulk >= the kernel's; N idle connections at <= 4 KiB each.

Before each run the script waits (at most --quiet-wait s) for both CPUs
to go idle, charges to "other load" what ran on them that was none of
its processes, and repeats a run that other load disturbed by more than
--max-disturb (up to --retries times, keeping the least disturbed one);
after --budget s it stops waiting and repeating, so that a full run
stays under about 3 minutes however busy the machine is.  Only processes
and namespaces the script started are stopped or removed.

Prints the tables and the targets, writes bench/out/tcp.json and (unless
--no-results) rewrites the generated block of the TCP section of
bench/RESULTS.md.  It reports; it does not gate: the exit status is 0
whatever the numbers are, non-zero only when a benchmark could not run.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time

from benchlib import (LINKS, OUT_DIR, RESULTS_MD, ROOT, SOCKPERF_MAX_RE, SOCKPERF_N_RE,
                      SOCKPERF_PCT_RE, BenchError, Runner, busy_between, cpu_busy, cpu_seconds,
                      free_port, hugepages_free_mib, machine_name, median, rtt_rounds, tail,
                      update_results_md)

TARGET_P50_NS = 1500
TARGET_KERNEL_X = 30
TARGET_BULK_RATIO = 1.0
TARGET_CONN_BYTES = 4096

SERVER_IP, CLIENT_IP, ECHO_PORT, DISCARD_PORT = "10.0.0.1", "10.0.0.2", 7, 9
LINK = "vhost"
LINK_TITLE = "vhost-user/virtio-user"
# --send-bytes: more than any run sends; --duration ends it.
SEND_BYTES = 10 ** 13
# The client's wait for a reply: tern-echo's default (100 ms) is shorter
# than what a process preempted on this shared VM sometimes waits, and
# than TCP's own recovery (200 ms minimum RTO).
REPLY_TIMEOUT_MS = 2000

RTT_RE = re.compile(r"rtt_ns p50=(\d+) p99=(\d+) p999=(\d+) max=(\d+)")
SUMMARY_RE = re.compile(r"summary: sent (\d+) recv (\d+) lost (\d+) bad (\d+)")
SEND_RE = re.compile(r"tcp-send: (\d+) bytes acknowledged in ([\d.]+) s, ([\d.]+) Gbit/s, "
                     r"mss (\d+), retransmits (\d+), srtt ([\d.]+) us, cwnd (\d+)")
CONNS_RE = re.compile(r"conns: (.*)")
PINGPONG_RE = re.compile(r"ping-pong: (\d+) round trips of \d+ bytes, (\d+) ns of CPU each "
                         r"\((\d+) ns wall\)")
BULKCPU_RE = re.compile(r"bulk: (\d+) MiB one way, ([\d.]+) Gbit/s of CPU time \(([\d.]+) wall\)")

BEGIN = "<!-- run_tcp.py: begin generated block -->"
END = "<!-- run_tcp.py: end generated block -->"
SECTION = "TCP: tern-echo vs the kernel (issue: Stack II)"



class TcpBench(Runner):
    def __init__(self, args):
        super().__init__(args, "tcp")
        self.t_start = time.monotonic()
        self.netns = []  # namespaces we made and have not removed

    # ---- budget and other load ------------------------------------------

    def over_budget(self):
        """Past --budget seconds, a run neither waits for idle CPUs nor is
        repeated (its numbers are then marked disturbed)."""
        if time.monotonic() - self.t_start <= self.args.budget:
            return False
        if self.args.retries or self.args.quiet_wait:
            print(f"run_tcp: past the {self.args.budget:g} s budget: no more waiting "
                  f"for idle CPUs and no repeats", file=sys.stderr, flush=True)
            self.args.retries = 0
            self.args.quiet_wait = 0
        return True

    def wait_quiet(self):
        self.over_budget()
        return super().wait_quiet()

    def least_disturbed(self, once, what):
        """once() again while other load disturbed it (up to --retries
        times); the least disturbed result."""
        best, attempt = None, 0
        while True:
            r = once()
            r["attempt"] = attempt
            if best is None or r["others_cpu"] < best["others_cpu"]:
                best = r
            if r["others_cpu"] <= self.args.max_disturb or attempt >= self.args.retries:
                break
            attempt += 1
        if not self.args.quiet:
            print(f"  {what:<28} {self.describe(best)}  others "
                  f"{100 * best['others_cpu']:.0f}%", file=sys.stderr, flush=True)
        return best

    @staticmethod
    def describe(r):
        if "p50_ns" in r:
            return f"p50 {r['p50_ns'] / 1e3:7.2f} us  p99 {r['p99_ns'] / 1e3:8.2f} us"
        if "gbps" in r:
            return f"{r['gbps']:7.3f} Gbit/s"
        if "rtt_cpu_ns" in r:
            return (f"{r['rtt_cpu_ns']} ns of CPU per round trip, "
                    f"{r['bulk_cpu_gbps']:.2f} Gbit/s per CPU second")
        return ""

    def measured(self, cmd, log, timeout, kind, server=None):
        """Runs a client to completion beside an optional server process;
        returns (exit code, output, the measurements of CPU use)."""
        res = {"client_cmd": cmd, "busy_before": self.wait_quiet()}
        scpu0, busy0 = (cpu_seconds(server.pid) if server else 0.0), cpu_busy()
        code, ccpu, wall = self.run_client(cmd, log, timeout, kind)
        scpu1, busy1 = (cpu_seconds(server.pid) if server else 0.0), cpu_busy()
        scpu = (scpu1 - scpu0) if scpu0 is not None and scpu1 is not None else 0.0
        res.update({"server_cpu_share": scpu / wall, "client_cpu_share": ccpu / wall,
                    "wall_s": wall,
                    "others_cpu": self.others_share(busy0, busy1, wall, scpu, ccpu)})
        return code, open(log, errors="replace").read(), res

    # ---- Tern -------------------------------------------------------------

    def echo_exe(self):
        return os.path.join(self.args.build_dir, "apps", "tern-echo")

    def start_server(self):
        """tern-echo's TCP echo (7) and discard (9) server behind
        net_vhost; returns (Popen, sock, prefix, log)."""
        sock = self.sock_path("echo")
        eal, prefix = self.eal(["-l", str(self.args.refl_cpu)], "s",
                               LINKS[LINK]["refl_vdev"].format(sock=sock))
        cmd = ([self.echo_exe()] + eal +
               ["--", "--ip", f"{SERVER_IP}/24", "--tcp", str(ECHO_PORT),
                "--discard", str(DISCARD_PORT), "--link-timeout", "0"])
        log = os.path.join(self.logdir, f"{self.next_name('echo-server')}.log")
        try:
            p = self.start(cmd, log, f"echo: tcp port {DISCARD_PORT} (discard)",
                           "tern-echo server")
        except BenchError:
            self.cleanup(sock, prefix)
            raise
        return p, sock, prefix, log

    def stop_server(self, srv):
        p, sock, prefix, log = srv
        rc = self.stop(p)
        self.cleanup(sock, prefix)
        return rc, open(log, errors="replace").read()

    def cleanup(self, sock, *prefixes):
        try:
            os.unlink(sock)
        except OSError:
            pass
        self.forget_prefixes(*prefixes)

    def tern_client(self, srv, args, duration, kind):
        p, sock, _, slog = srv
        eal, prefix = self.eal(["-l", str(self.args.gen_cpu)], "c",
                               LINKS[LINK]["gen_vdev"].format(sock=sock),
                               LINKS[LINK]["gen_eal"])
        cmd = ([self.echo_exe()] + eal + ["--", "--ip", f"{CLIENT_IP}/24"] + args +
               ["--duration", f"{duration:g}"])
        log = os.path.join(self.logdir, f"{self.next_name(kind)}.log")
        try:
            code, out, res = self.measured(cmd, log, duration + 60, f"tern-echo {kind}", p)
        finally:
            self.forget_prefixes(prefix)
        if p.poll() is not None:
            raise BenchError(f"the tern-echo server exited {p.returncode}:\n{tail(slog)}")
        return code, out, res, log

    def tern_rtt(self, srv):
        a = self.args

        def once():
            code, out, res, log = self.tern_client(
                srv, ["--client", f"{SERVER_IP}:{ECHO_PORT}", "--tcp", "--size", str(a.size),
                      "--timeout", str(REPLY_TIMEOUT_MS)], a.duration, "rtt")
            r, m = RTT_RE.search(out), SUMMARY_RE.search(out)
            if code != 0 or not r or not m:
                raise BenchError(f"tern-echo TCP client exited {code} without a summary:\n"
                                 f"{tail(log)}\nserver:\n{tail(srv[3])}")
            res.update({"p50_ns": int(r[1]), "p99_ns": int(r[2]), "p999_ns": int(r[3]),
                        "max_ns": int(r[4]), "round_trips": int(m[2]),
                        "bad": int(m[4]), "lost": int(m[3])})
            return res
        return self.least_disturbed(once, "tern-echo TCP round trip")

    def tern_bulk(self, srv):
        a = self.args

        def once():
            code, out, res, log = self.tern_client(
                srv, ["--client", f"{SERVER_IP}:{DISCARD_PORT}", "--tcp", "--send-bytes",
                      str(SEND_BYTES)], a.bulk_duration, "bulk")
            m = SEND_RE.search(out)
            if code != 0 or not m:
                raise BenchError(f"tern-echo --send-bytes exited {code} without its "
                                 f"tcp-send line:\n{tail(log)}\nserver:\n{tail(srv[3])}")
            res.update({"bytes": int(m[1]), "secs": float(m[2]), "gbps": float(m[3]),
                        "mss": int(m[4]), "retransmits": int(m[5]),
                        "srtt_us": float(m[6]), "cwnd": int(m[7])})
            return res
        return self.least_disturbed(once, "tern-echo TCP bulk")

    # ---- the kernel -------------------------------------------------------

    def kernel_rtt(self):
        a = self.args

        def once():
            port = str(free_port())
            scmd = ["taskset", "-c", str(a.refl_cpu), a.sockperf, "server", "--tcp",
                    "-i", "127.0.0.1", "-p", port]
            ccmd = ["taskset", "-c", str(a.gen_cpu), a.sockperf, "ping-pong", "--tcp",
                    "-i", "127.0.0.1", "-p", port, "-m", str(a.size),
                    "-t", str(max(1, round(a.duration))), "--full-rtt"]
            name = self.next_name("sockperf")
            slog = os.path.join(self.logdir, f"{name}-server.log")
            clog = os.path.join(self.logdir, f"{name}-client.log")
            # It prints "[tid N] using recvfrom() ..." once it listens.
            p = self.start(scmd, slog, "sockperf: [tid", "sockperf server")
            try:
                code, out, res = self.measured(ccmd, clog, a.duration + 30,
                                               "sockperf ping-pong", p)
            finally:
                self.stop(p, signal.SIGTERM)
            res["server_cmd"] = scmd
            pct = {float(k): float(v) for k, v in SOCKPERF_PCT_RE.findall(out)}
            mx, n = SOCKPERF_MAX_RE.search(out), SOCKPERF_N_RE.search(out)
            if code != 0 or 50.0 not in pct or not mx:
                raise BenchError(f"sockperf ping-pong exited {code} without percentiles:\n"
                                 f"  {' '.join(ccmd)}\n{tail(clog)}")
            # sockperf reports microseconds.
            res.update({"p50_ns": pct[50.0] * 1e3, "p99_ns": pct.get(99.0, 0) * 1e3,
                        "p999_ns": pct.get(99.9, 0) * 1e3, "max_ns": float(mx[1]) * 1e3,
                        "round_trips": int(n[1]) if n else 0})
            return res
        return self.least_disturbed(once, "kernel TCP round trip")

    def make_netns(self, no_gso):
        name = f"tn-tcpb-{os.getpid()}-{self.next_name('ns')}"
        subprocess.run(["ip", "netns", "add", name], check=True)
        self.netns.append(name)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "mtu", "1500", "up"], check=True)
        if no_gso:
            subprocess.run(["ip", "netns", "exec", name, "ethtool", "-K", "lo", "tso", "off",
                            "gso", "off"], check=True, capture_output=True)
        return name

    def del_netns(self, name):
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        if name in self.netns:
            self.netns.remove(name)

    def kernel_bulk(self, no_gso=False):
        a = self.args

        def once():
            ns = self.make_netns(no_gso)
            name = self.next_name("iperf3")
            slog = os.path.join(self.logdir, f"{name}-server.log")
            clog = os.path.join(self.logdir, f"{name}-client.json")
            inns = ["ip", "netns", "exec", ns]
            scmd = inns + ["taskset", "-c", str(a.refl_cpu), a.iperf3, "-s", "-1",
                           "-p", "5201", "--forceflush"]
            ccmd = inns + ["taskset", "-c", str(a.gen_cpu), a.iperf3, "-c", "127.0.0.1",
                           "-p", "5201", "-t", f"{a.bulk_duration:g}", "-J"]
            try:
                p = self.start(scmd, slog, "Server listening", "iperf3 server")
                try:
                    code, out, res = self.measured(ccmd, clog, a.bulk_duration + 30,
                                                   "iperf3 client", p)
                finally:
                    self.stop(p)
            finally:
                self.del_netns(ns)
            res["server_cmd"] = scmd
            try:
                end = json.loads(out)["end"]
                recv = end["sum_received"]
            except (ValueError, KeyError) as e:
                raise BenchError(f"iperf3 exited {code} without a result ({e}):\n{tail(clog)}")
            cpu_s = (res["server_cpu_share"] + res["client_cpu_share"]) * res["wall_s"]
            res.update({"bytes": recv["bytes"], "secs": recv["seconds"],
                        "gbps": recv["bits_per_second"] / 1e9,
                        # Both iperf3 processes' CPU (the kernel's TCP runs
                        # in their system calls and softirqs).
                        "gbit_per_cpu_s": recv["bytes"] * 8 / 1e9 / cpu_s if cpu_s else None,
                        "retransmits": end.get("sum_sent", {}).get("retransmits"),
                        "iperf3_cpu": end.get("cpu_utilization_percent")})
            return res
        return self.least_disturbed(
            once, "kernel TCP bulk" + (" (no TSO/GSO)" if no_gso else ""))

    # ---- connections ------------------------------------------------------

    def conns(self):
        a = self.args
        cmd = ["taskset", "-c", str(a.refl_cpu),
               os.path.join(a.build_dir, "bench", "tn-tcp-conns"), str(a.conns)]
        log = os.path.join(self.logdir, f"{self.next_name('conns')}.log")
        code, _, wall = self.run_client(cmd, log, 120, "tn-tcp-conns")
        out = open(log, errors="replace").read()
        m = CONNS_RE.search(out)
        if not m:
            raise BenchError(f"tn-tcp-conns exited {code} without its result:\n{tail(log)}")
        r = {"cmd": cmd, "exit": code, "wall_s": wall}
        for kv in m[1].split():
            k, v = kv.split("=", 1)
            r[k] = float(v) if "." in v else int(v)
        if code != 0:
            raise BenchError(f"tn-tcp-conns exited {code} (not every connection "
                             f"established, or mbufs held when idle):\n{tail(log)}")
        if not a.quiet:
            print(f"  {'idle connections':<28} {r['per_conn_rss']:.0f} bytes of RSS per "
                  f"connection (both ends)", file=sys.stderr, flush=True)
        return r

    def stack_cost(self, offload=False):
        a = self.args
        cmd = ["taskset", "-c", str(a.refl_cpu),
               os.path.join(a.build_dir, "bench", "tn-tcp-bench"), "200000", "512"]
        if offload:
            cmd.append("offload")
        log = os.path.join(self.logdir, f"{self.next_name('stack')}.log")

        def once():
            res = {"cmd": cmd, "busy_before": self.wait_quiet()}
            busy0 = cpu_busy()
            code, cpu, wall = self.run_client(cmd, log, 120, "tn-tcp-bench")
            busy1 = cpu_busy()
            out = open(log, errors="replace").read()
            p, k = PINGPONG_RE.search(out), BULKCPU_RE.search(out)
            if code != 0 or not p or not k:
                raise BenchError(f"tn-tcp-bench exited {code} without its results:\n"
                                 f"{tail(log)}")
            res.update({"round_trips": int(p[1]), "rtt_cpu_ns": int(p[2]),
                        "rtt_wall_ns": int(p[3]), "bulk_mib": int(k[1]),
                        "bulk_cpu_gbps": float(k[2]), "bulk_wall_gbps": float(k[3]),
                        "wall_s": wall,
                        # Of its one CPU.
                        "others_cpu": max(0.0, busy_between(busy0, busy1, [a.refl_cpu])
                                          - cpu) / wall})
            return res
        return self.least_disturbed(once, "stack cost (tn-tcp-bench%s)" %
                                    (" offload" if offload else ""))

    def stop_all(self):
        super().stop_all()
        for ns in list(self.netns):
            self.del_netns(ns)


# ---- the report -------------------------------------------------------------

def targets(s):
    out = []
    rtt, k = s.get("tern_rtt"), s.get("kernel_rtt")
    if rtt:
        p50 = rtt["p50_ns"]
        out.append(("Tern RTT p50", "≤ 1.5 µs", f"{p50 / 1e3:.2f} µs", p50 <= TARGET_P50_NS))
        if k:
            x = k["p50_ns"] / p50 if p50 else None
            out.append(("kernel p50 / Tern p50", f"≥ {TARGET_KERNEL_X}×",
                        "-" if x is None else f"{x:.1f}×",
                        x is not None and x >= TARGET_KERNEL_X))
    if s.get("bulk_ratio") is not None:
        out.append(("Tern bulk / kernel bulk (iperf3)", "≥ 100%",
                    f"{100 * s['bulk_ratio']:.0f}%", s["bulk_ratio"] >= TARGET_BULK_RATIO))
    c = s.get("conns")
    if c:
        out.append((f"{c['N']:,} idle connections, RSS per connection", "≤ 4 KiB",
                    f"{c['per_conn_rss']:.0f} B", c["per_conn_rss"] <= TARGET_CONN_BYTES))
    return out


def tables(s, a):
    def us(ns):
        return "-" if ns is None else f"{ns / 1e3:.2f}"

    lines = []
    rtt, k = s.get("tern_rtt"), s.get("kernel_rtt")
    if rtt or k:
        lines += [f"Round trip: {a.size}-byte messages, one in flight, {a.duration:g} s per "
                  f"path and round; Tern: {a.rtt_rounds} rounds, each on a new pair of "
                  f"processes, each percentile's median over the rounds (the largest max); "
                  f"microseconds.", "",
                  "| path | p50 | p99 | p999 | max | round trips | other load |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for title, r in ((f"Tern (tern-echo), {LINK_TITLE}", rtt),
                         ("kernel, loopback (sockperf --tcp)", k)):
            if r:
                lines.append(f"| {title} | {us(r['p50_ns'])} | {us(r['p99_ns'])} | "
                             f"{us(r['p999_ns'])} | {us(r['max_ns'])} | "
                             f"{r['round_trips']:,} | {100 * r['others_cpu']:.0f}% |")
    def per_cpu(r):
        return "-" if not r or not r.get("gbit_per_cpu_s") else f"{r['gbit_per_cpu_s']:.1f}"

    if s.get("tern_bulk"):
        tb, kb = s["tern_bulk"], s.get("kernel_bulk") or []
        lines += ["", f"Bulk: one flow, {a.bulk_duration:g} s per run, {a.rounds} rounds "
                  f"(Tern, then the kernel); Gbit/s of payload the receiver took; for the "
                  f"kernel also per CPU second of its two processes (both ends; Tern "
                  f"busy-polls, so its CPU use says nothing: see the stack cost below).", "",
                  "| round | Tern, " + LINK_TITLE + " | kernel, loopback MTU 1500 (iperf3) | "
                  "Tern / kernel | Tern srtt | Tern retransmits | kernel per CPU second | "
                  "other load Tern / kernel |",
                  "|---|---:|---:|---:|---:|---:|---:|---|"]
        for i, t in enumerate(tb):
            kr = kb[i] if i < len(kb) else None
            ratio = f"{100 * t['gbps'] / kr['gbps']:.0f}%" if kr and kr["gbps"] else "-"
            lines.append(f"| {i + 1} | {t['gbps']:.2f} | "
                         f"{kr['gbps'] if kr else 0:.2f} | {ratio} | {t['srtt_us']:.0f} µs | "
                         f"{t['retransmits']} | {per_cpu(kr)} | {100 * t['others_cpu']:.0f}% / "
                         f"{100 * kr['others_cpu'] if kr else 0:.0f}% |")
        ratio = "-" if s["bulk_ratio"] is None else f"{100 * s['bulk_ratio']:.0f}%"
        lines.append(f"| median | {s['tern_bulk_median']:.2f} | "
                     f"{s['kernel_bulk_median'] or 0:.2f} | {ratio} | | | | |")
        g = s.get("kernel_bulk_nogso")
        if g:
            lines += ["", f"Reference: the kernel with TSO/GSO off on that loopback (every "
                      f"1,500-byte packet through the stack on its own, as in Tern): "
                      f"{g['gbps']:.2f} Gbit/s, {per_cpu(g)} Gbit/s per CPU second of the "
                      f"two iperf3 processes (other load {100 * g['others_cpu']:.0f}%)."]
    c = s.get("conns")
    if c:
        lines += ["", f"Idle connections: `tn-tcp-conns {c['N']}` (both ends of every "
                  f"connection in one process on one core, two stacks back to back).", "",
                  "| connections | RSS growth | per connection (both ends) | per end | "
                  "heap per connection | mbufs held idle | mbufs at peak | mempool | "
                  "time to open |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
                  f"| {c['N']:,} | {c['rss_bytes'] / 2**20:.1f} MiB | "
                  f"{c['per_conn_rss']:.0f} B | {c['per_conn_rss'] / 2:.0f} B | "
                  f"{c['per_conn_heap']:.0f} B | {c['mbufs_idle']} | {c['mbufs_peak']} | "
                  f"{c['pool_mbufs']:,} mbufs, {c['pool_bytes'] / 2**20:.1f} MiB | "
                  f"{c['open_s']:.2f} s |"]
    k = s.get("stack_cost")
    if k:
        lines += ["", f"Stack cost: `tn-tcp-bench` (the two stacks back to back in one "
                  f"thread, no link): {k['rtt_cpu_ns']:,} ns of CPU per 64-byte round trip, "
                  f"both ends ({k['round_trips']:,} round trips); a {k['bulk_mib']} MiB "
                  f"one-way transfer at {k['bulk_cpu_gbps']:.2f} Gbit/s per CPU second, both "
                  f"ends (other load on its CPU {100 * k['others_cpu']:.0f}%)."]
    k = s.get("stack_cost_offload")
    if k:
        lines += ["", f"The same with checksum offload (`tn-tcp-bench ... offload`: the "
                  f"stacks leave TCP sums to the port, the wire marks them verified, as "
                  f"vhost-user does): {k['rtt_cpu_ns']:,} ns per round trip; "
                  f"{k['bulk_cpu_gbps']:.2f} Gbit/s per CPU second (other load "
                  f"{100 * k['others_cpu']:.0f}%)."]
    lines += ["", "| target | goal | measured | |", "|---|---|---:|---|"]
    for name, goal, shown, ok in targets(s):
        lines.append(f"| {name} | {goal} | {shown} | {'PASS' if ok else '**FAIL**'} |")
    return lines


def notes(s, a):
    out = []
    rr = (s.get("tern_rtt") or {}).get("p50_rounds") or []
    if len(rr) > 1:
        out.append("Tern RTT p50 round by round: " +
                   ", ".join(f"{x / 1e3:.2f}" for x in rr) + " µs")
    runs = [r for r in [s.get("tern_rtt"), s.get("kernel_rtt"), s.get("kernel_bulk_nogso")]
            + (s.get("tern_bulk") or []) + (s.get("kernel_bulk") or []) if r]
    worst = max((r["others_cpu"] for r in runs), default=0)
    if worst > a.max_disturb:
        out.append(f"other load took up to {100 * worst:.0f}% of the two CPUs in some run "
                   f"(runs above {100 * a.max_disturb:.0f}% were repeated while the "
                   f"{a.budget:g} s budget lasted)")
    rr = s.get("bulk_ratio_rounds") or []
    if len(rr) > 1:
        out.append(f"bulk Tern / kernel round by round: {100 * min(rr):.0f}% .. "
                   f"{100 * max(rr):.0f}%")
    rtt = s.get("tern_rtt")
    if rtt and (rtt["lost"] or rtt["bad"]):
        out.append(f"Tern round trip: {rtt['lost']} lost, {rtt['bad']} bad replies")
    for rc in s.get("server_exits", []):
        out.append(f"the tern-echo server exited {rc} on SIGINT")
    return out


def run(b, a):
    s = {"server_exits": []}
    srv = b.start_server()
    try:
        print("run_tcp: round trip", file=sys.stderr, flush=True)
        # Round 0 on this server, each further round on a new pair of
        # processes: on this VM a link's round trip differs by up to 3x
        # from one pair to the next (raw DPDK over vhost: 0.5 or 1.5 us).
        rtts = [b.tern_rtt(srv)]
        for _ in range(1, a.rtt_rounds):
            other = b.start_server()
            try:
                rtts.append(b.tern_rtt(other))
            finally:
                rc, _ = b.stop_server(other)
                if rc != 0:
                    s["server_exits"].append(rc)
        s["tern_rtt_rounds"] = rtts
        s["tern_rtt"] = rtt_rounds(rtts, ("round_trips", "lost", "bad"))
        if not a.no_kernel:
            s["kernel_rtt"] = b.kernel_rtt()
        print("run_tcp: bulk", file=sys.stderr, flush=True)
        s["tern_bulk"], s["kernel_bulk"] = [], []
        for _ in range(a.rounds):
            s["tern_bulk"].append(b.tern_bulk(srv))
            if not a.no_kernel:
                s["kernel_bulk"].append(b.kernel_bulk())
    finally:
        rc, out = b.stop_server(srv)
        if rc != 0:
            s["server_exits"].append(rc)
        s["server_counters"] = [l for l in out.splitlines()
                                if l.startswith(("tcp ", "port ", "stack:"))]
    if not a.no_kernel and not a.no_gso_ref:
        s["kernel_bulk_nogso"] = b.kernel_bulk(no_gso=True)
    if a.conns:
        print("run_tcp: idle connections", file=sys.stderr, flush=True)
        s["conns"] = b.conns()
    if not a.no_stack_cost:
        print("run_tcp: stack cost", file=sys.stderr, flush=True)
        s["stack_cost"] = b.stack_cost()
        s["stack_cost_offload"] = b.stack_cost(offload=True)
    tg = [r["gbps"] for r in s["tern_bulk"]]
    kg = [r["gbps"] for r in s["kernel_bulk"]]
    s["tern_bulk_median"] = median(tg)
    s["kernel_bulk_median"] = median(kg)
    s["bulk_ratio_rounds"] = [t / k for t, k in zip(tg, kg) if k]
    s["bulk_ratio"] = (s["tern_bulk_median"] / s["kernel_bulk_median"]
                       if s["kernel_bulk_median"] else None)
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--duration", type=float, default=5,
                    help="seconds of the round-trip runs, Tern's and the kernel's (default 5)")
    ap.add_argument("--size", type=int, default=64, help="message bytes (default 64)")
    ap.add_argument("--bulk-duration", type=float, default=3,
                    help="seconds per bulk run (default 3)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="bulk rounds, each Tern then the kernel (default 3)")
    ap.add_argument("--rtt-rounds", type=int, default=3,
                    help="Tern round-trip rounds, each on a new server and client "
                         "(default 3)")
    ap.add_argument("--conns", type=int, default=100000,
                    help="idle connections to hold (default 100000; 0: skip)")
    ap.add_argument("--no-stack-cost", action="store_true",
                    help="skip the tn-tcp-bench run")
    ap.add_argument("--gen-cpu", type=int, default=0, help="the clients' CPU (default 0)")
    ap.add_argument("--refl-cpu", type=int, default=1, help="the servers' CPU (default 1)")
    ap.add_argument("--mem", type=int, default=256,
                    help="hugepage MiB per DPDK process (default 256)")
    ap.add_argument("--ready-timeout", type=float, default=30)
    ap.add_argument("--max-disturb", type=float, default=0.10,
                    help="other load on the two CPUs, as a fraction, above which a run "
                    "is repeated (default 0.10)")
    ap.add_argument("--retries", type=int, default=1,
                    help="repeats of a disturbed run (default 1)")
    ap.add_argument("--quiet-wait", type=float, default=5,
                    help="seconds to wait for the CPUs to go idle before a run (default 5)")
    ap.add_argument("--budget", type=float, default=60,
                    help="seconds after which runs are no longer repeated or delayed for "
                    "other load (default 60)")
    ap.add_argument("--sockperf", default=shutil.which("sockperf") or "sockperf")
    ap.add_argument("--iperf3", default=shutil.which("iperf3") or "iperf3")
    ap.add_argument("--no-kernel", action="store_true", help="skip sockperf and iperf3")
    ap.add_argument("--no-gso-ref", action="store_true",
                    help="skip the reference iperf3 run with TSO/GSO off")
    ap.add_argument("--out", default=os.path.join(OUT_DIR, "tcp.json"))
    ap.add_argument("--no-results", action="store_true",
                    help="do not rewrite the TCP block of bench/RESULTS.md")
    ap.add_argument("--keep-logs", action="store_true")
    ap.add_argument("--quiet", action="store_true", help="no line per run")
    a = ap.parse_args()

    if a.rounds < 1 or a.rtt_rounds < 1 or a.duration <= 0 or a.bulk_duration <= 0 or a.conns < 0:
        ap.error("--rounds, --rtt-rounds, --duration and --bulk-duration must be positive, "
                 "--conns >= 0")
    if not 24 <= a.size <= 65536:
        ap.error("--size wants 24..65536")
    exes = (["apps/tern-echo"] + (["bench/tn-tcp-conns"] if a.conns else []) +
            ([] if a.no_stack_cost else ["bench/tn-tcp-bench"]))
    if not a.no_build:
        r = subprocess.run(["ninja", "-C", a.build_dir] + exes)
        if r.returncode != 0:
            print("run_tcp: build failed", file=sys.stderr)
            return 2
    for exe in exes:
        if not os.access(os.path.join(a.build_dir, exe), os.X_OK):
            print(f"run_tcp: {a.build_dir}/{exe} not found", file=sys.stderr)
            return 2
    if not a.no_kernel:
        missing = [t for t in (a.sockperf, a.iperf3, "taskset", "ip", "ethtool")
                   if not shutil.which(t)]
        if missing:
            print(f"run_tcp: {', '.join(missing)} not found (Debian packages sockperf, "
                  "iperf3, util-linux, iproute2, ethtool); measuring without the kernel",
                  file=sys.stderr)
            a.no_kernel = True
    if hugepages_free_mib() < 2 * a.mem:
        print(f"run_tcp: {hugepages_free_mib()} MiB of hugepages free, {2 * a.mem} "
              "needed (run scripts/setup.sh, or lower --mem)", file=sys.stderr)
        return 2

    b = TcpBench(a)
    now = datetime.datetime.now().astimezone()
    s, code = None, 0
    try:
        s = run(b, a)
    except BenchError as e:
        print(f"run_tcp: {e}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    finally:
        b.stop_all()
        if a.keep_logs or code:
            print(f"run_tcp: logs in {b.logdir}", file=sys.stderr)
        else:
            shutil.rmtree(b.logdir, ignore_errors=True)
    if s is None:
        return code or 1
    elapsed = time.monotonic() - b.t_start

    print(f"\nTern TCP benchmark, {now:%Y-%m-%d %H:%M %Z}, {machine_name()}, clients on "
          f"CPU {a.gen_cpu}, servers on CPU {a.refl_cpu}, {elapsed:.0f} s\n")
    block = tables(s, a)
    for line in block:
        print(line)
    for line in notes(s, a):
        print("note:", line)

    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    cmd = "python3 bench/run_tcp.py" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")
    report = {
        "date": now.isoformat(timespec="seconds"),
        "machine": machine_name(),
        "kernel": platform.release(),
        "command": cmd,
        "elapsed_s": elapsed,
        "params": vars(a),
        "targets": [{"target": n, "goal": g, "measured": m, "pass": ok}
                    for n, g, m, ok in targets(s)],
        "results": s,
    }
    with open(a.out, "w") as f:
        json.dump(report, f, indent=1)
    print(f"\nwrote {os.path.relpath(a.out, os.getcwd())}")
    if not a.no_results:
        update_results_md(BEGIN, END, SECTION, [
            f"Command: `{cmd}` (also `make bench-tcp`).  Date: {now:%Y-%m-%d %H:%M %Z} "
            f"({elapsed:.0f} s).  Machine: {machine_name()}, kernel {platform.release()}; "
            f"clients on CPU {a.gen_cpu}, servers on CPU {a.refl_cpu}; every DPDK process "
            f"`--in-memory -m {a.mem}`.", ""] + block +
            ([""] + [f"- {n}" for n in notes(s, a)] if notes(s, a) else []))
        print(f"updated {os.path.relpath(RESULTS_MD, os.getcwd())}")
    return code


if __name__ == "__main__":
    sys.exit(main())
