#!/usr/bin/env python3
"""Dataplane benchmark: tern-reflect against testpmd's macswap and a raw
DPDK reflector, over memif and vhost-user/virtio-user.

    python3 bench/run_dataplane.py [--build-dir build] [--no-build]
        [--links memif,vhost] [--duration 5] [--rounds 3]
        [--rtt-rate 100000] [--rtt-duration 5] [--gen-cpu 0] [--refl-cpu 1]
        [--mem 256] [--no-results] [--keep-logs]

For each link, one process reflects on --refl-cpu and tern-pktgen drives
it from --gen-cpu, both on the same link:

  throughput  tern-pktgen as fast as it can (64-byte frames, bursts of 32)
              for --duration s against `dpdk-testpmd --forward-mode=macswap`
              and against tern-reflect, alternating, --rounds times; the
              reflected rate (pktgen's rx Mpps) is the number.  The median
              of the rounds is reported, and tern-reflect / testpmd against
              the 95% target.
  latency     tern-pktgen at --rtt-rate pps, one frame per burst, against
              raw-reflect (build/bench/raw-reflect: no Tern, the floor),
              tern-reflect and testpmd: round-trip p50/p99/p999/max.

Each process gets --in-memory hugepages (-m MEM MiB; virtio-user also
needs --single-file-segments so vhost can map its memory), --no-pci and
its own --file-prefix.  A reflector is up when it prints `ready` (testpmd:
`Press enter to exit`); it is stopped with SIGINT (testpmd: a newline on
its stdin), and killed only if it does not exit.  Only processes this
script started are signalled; socket files are removed.

Prints a table, writes bench/out/dataplane.json and (unless --no-results)
rewrites the generated block of the "Dataplane" section in
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
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "bench", "out")
RESULTS_MD = os.path.join(ROOT, "bench", "RESULTS.md")
TARGET_RATIO = 0.95
TICK_HZ = os.sysconf("SC_CLK_TCK")

# What each link needs: the reflector's and the generator's --vdev, and
# extra EAL arguments for the generator.  virtio-user hands its memory to
# the vhost backend as one region per memseg list: without
# --single-file-segments it runs out of regions (vhost allows 8).
LINKS = {
    "memif": {
        "refl_vdev": "net_memif0,role=server,socket={sock}",
        "gen_vdev": "net_memif0,role=client,socket={sock}",
        "gen_eal": [],
    },
    "vhost": {
        "refl_vdev": "net_vhost0,iface={sock},queues=1",
        "gen_vdev": "net_virtio_user0,path={sock},queues=1",
        "gen_eal": ["--single-file-segments"],
    },
}
LINK_TITLE = {"memif": "memif", "vhost": "vhost-user/virtio-user"}

SUMMARY_RE = re.compile(
    r"summary: sent (\d+) recv (\d+) lost (-?\d+) bad (\d+) reordered (\d+) "
    r"in ([\d.]+) s: tx ([\d.]+) Mpps rx ([\d.]+) Mpps")
RTT_RE = re.compile(r"rtt_ns p50=(\d+) p99=(\d+) p999=(\d+) max=(\d+)")


class BenchError(Exception):
    pass


def machine_name():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True,
                             check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
                return f"{os.cpu_count()}-core {model}"
    except (OSError, subprocess.CalledProcessError):
        pass
    return f"{os.cpu_count()}-core {platform.processor() or platform.machine()}"


def hugepages_free_mib():
    size_kb = free = None
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("HugePages_Free:"):
                free = int(line.split()[1])
            elif line.startswith("Hugepagesize:"):
                size_kb = int(line.split()[1])
    if free is None or size_kb is None:
        return 0
    return free * size_kb // 1024


def cpu_seconds(pid):
    """utime + stime of a whole process (all its threads), in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK_HZ
    except (OSError, IndexError, ValueError):
        return None


def tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


class Bench:
    def __init__(self, args):
        self.args = args
        self.bindir = args.build_dir
        self.logdir = tempfile.mkdtemp(prefix="tern-dataplane-")
        self.seq = 0
        self.procs = []  # (Popen, kind) we started and have not reaped

    # ---- commands -------------------------------------------------------

    def eal(self, cpu_args, role, vdev, extra=()):
        self.seq += 1
        prefix = f"tndp{os.getpid()}{role}{self.seq}"
        return (cpu_args + ["--no-pci", "--in-memory", "-m", str(self.args.mem),
                            "--file-prefix", prefix, f"--vdev={vdev}"]
                + list(extra), prefix)

    def reflector_cmd(self, kind, link, sock):
        cpu = str(self.args.refl_cpu)
        vdev = LINKS[link]["refl_vdev"].format(sock=sock)
        if kind == "testpmd":
            # testpmd wants a main lcore besides the forwarding one: both
            # on the reflector's CPU.  The main lcore sleeps in read(0)
            # until a newline arrives, so the forwarding lcore has the
            # CPU to itself.  stdbuf: "Press enter" must not sit in a
            # pipe buffer.
            eal, prefix = self.eal(["--lcores", f"0@{cpu},1@{cpu}"], "t", vdev)
            cmd = (["stdbuf", "-oL", self.args.testpmd] + eal +
                   ["--", "--forward-mode=macswap", "--nb-cores=1",
                    "--disable-link-check", "--total-num-mbufs=16384"])
            return cmd, prefix, "Press enter to exit"
        if kind == "tern":
            eal, prefix = self.eal(["-l", cpu], "r", vdev)
            # memif/vhost links come up only when the generator connects:
            # do not wait for them before saying `ready`.
            cmd = ([os.path.join(self.bindir, "apps", "tern-reflect")] + eal +
                   ["--", "--link-timeout", "0"])
            return cmd, prefix, "ready"
        if kind == "raw":
            eal, prefix = self.eal(["-l", cpu], "w", vdev)
            return ([os.path.join(self.bindir, "bench", "raw-reflect")] + eal,
                    prefix, "ready")
        raise ValueError(kind)

    def pktgen_cmd(self, link, sock, opts):
        vdev = LINKS[link]["gen_vdev"].format(sock=sock)
        eal, prefix = self.eal(["-l", str(self.args.gen_cpu)], "g", vdev,
                               LINKS[link]["gen_eal"])
        return ([os.path.join(self.bindir, "apps", "tern-pktgen")] + eal +
                ["--"] + opts + ["--quiet"]), prefix

    # ---- processes ------------------------------------------------------

    def start(self, cmd, log, marker, kind):
        f = open(log, "w")
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT,
                             stdin=subprocess.PIPE, cwd=ROOT)
        f.close()
        self.procs.append(p)
        deadline = time.monotonic() + self.args.ready_timeout
        while time.monotonic() < deadline:
            if p.poll() is not None:
                self.reap(p)
                raise BenchError(f"{kind} exited with {p.returncode} before it was "
                                 f"ready:\n  {' '.join(cmd)}\n{tail(log)}")
            with open(log, errors="replace") as lf:
                if any(line.strip() == marker or line.startswith(marker)
                       for line in lf):
                    return p
            time.sleep(0.05)
        self.stop(p, kind)
        raise BenchError(f"{kind} not ready after {self.args.ready_timeout} s:\n"
                         f"  {' '.join(cmd)}\n{tail(log)}")

    def reap(self, p):
        if p in self.procs:
            self.procs.remove(p)

    def stop(self, p, kind):
        """Stops a reflector we started; returns its exit code."""
        if p.poll() is None:
            if kind == "testpmd":
                try:
                    p.stdin.write(b"\n")
                    p.stdin.flush()
                except OSError:
                    pass
            else:
                p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if p.stdin:
            try:
                p.stdin.close()
            except OSError:
                pass
        self.reap(p)
        return p.returncode

    def stop_all(self):
        for p in list(self.procs):
            self.stop(p, "?")

    # ---- one measurement ------------------------------------------------

    def run_one(self, link, kind, gen_opts, duration):
        """Starts the reflector, runs tern-pktgen against it, stops it."""
        self.seq += 1
        tag = f"{link}-{kind}-{self.seq}"
        sock = f"/tmp/tern-dp-{os.getpid()}-{tag}.sock"
        rlog = os.path.join(self.logdir, f"{tag}-reflector.log")
        glog = os.path.join(self.logdir, f"{tag}-pktgen.log")
        rcmd, rprefix, marker = self.reflector_cmd(kind, link, sock)
        gcmd, gprefix = self.pktgen_cmd(link, sock, gen_opts)
        res = {"link": link, "reflector": kind, "reflector_cmd": rcmd,
               "pktgen_cmd": gcmd}
        try:
            p = self.start(rcmd, rlog, marker, kind)
            try:
                cpu0, t0 = cpu_seconds(p.pid), time.monotonic()
                with open(glog, "w") as gf:
                    g = subprocess.run(gcmd, stdout=gf, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, cwd=ROOT,
                                       timeout=duration + 60)
                cpu1, t1 = cpu_seconds(p.pid), time.monotonic()
            finally:
                rc = self.stop(p, kind)
        except subprocess.TimeoutExpired:
            raise BenchError(f"tern-pktgen did not finish:\n  {' '.join(gcmd)}\n"
                             f"{tail(glog)}")
        finally:
            for path in (sock,):
                try:
                    os.unlink(path)
                except OSError:
                    pass
            for prefix in (rprefix, gprefix):
                shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)
        out = open(glog, errors="replace").read()
        m, r = SUMMARY_RE.search(out), RTT_RE.search(out)
        if g.returncode != 0 or not m:
            raise BenchError(f"tern-pktgen exited {g.returncode} without a summary:\n"
                             f"  {' '.join(gcmd)}\n{tail(glog)}\nreflector:\n{tail(rlog)}")
        res.update({
            "sent": int(m[1]), "recv": int(m[2]), "lost": int(m[3]),
            "bad": int(m[4]), "reordered": int(m[5]), "secs": float(m[6]),
            "tx_mpps": float(m[7]), "rx_mpps": float(m[8]),
            "reflector_exit": rc,
            "reflector_cpu_share": ((cpu1 - cpu0) / (t1 - t0)
                                    if cpu0 is not None and cpu1 is not None else None),
        })
        if r:
            res.update({"p50_ns": int(r[1]), "p99_ns": int(r[2]),
                        "p999_ns": int(r[3]), "max_ns": int(r[4])})
        stats = [l for l in open(rlog, errors="replace") if l.startswith("port 0:")]
        if stats:
            res["reflector_stats"] = stats[-1].strip()
        if rc != 0:
            res["note"] = f"reflector exited {rc}"
        if not self.args.quiet:
            share = res["reflector_cpu_share"]
            print(f"  {link:<6} {kind:<8} rx {res['rx_mpps']:7.3f} Mpps  "
                  f"tx {res['tx_mpps']:7.3f} Mpps  p50 {res.get('p50_ns', 0) / 1e3:8.1f} us"
                  f"  p99 {res.get('p99_ns', 0) / 1e3:9.1f} us  reflector CPU "
                  f"{'-' if share is None else f'{100 * share:.0f}%'}"
                  + (f"  ({res['note']})" if "note" in res else ""),
                  file=sys.stderr, flush=True)
        return res


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def run_link(b, link, reflectors_tput, reflectors_rtt):
    a = b.args
    tput_opts = ["--duration", str(a.duration)]
    rtt_opts = ["--duration", str(a.rtt_duration), "--rate", str(a.rtt_rate),
                "--pkt-burst", "1"]
    runs = {"throughput": [], "rtt": []}
    # Alternate the reflectors round by round, so that a slow spell of the
    # shared machine hits both alike.
    for rnd in range(a.rounds):
        for kind in reflectors_tput:
            r = b.run_one(link, kind, tput_opts, a.duration)
            r["round"] = rnd
            runs["throughput"].append(r)
    for kind in reflectors_rtt:
        runs["rtt"].append(b.run_one(link, kind, rtt_opts, a.rtt_duration))

    summary = {"throughput": {}, "rtt": {}}
    for kind in reflectors_tput:
        rs = [r for r in runs["throughput"] if r["reflector"] == kind]
        summary["throughput"][kind] = {
            "rx_mpps_median": median([r["rx_mpps"] for r in rs]),
            "rx_mpps_rounds": [r["rx_mpps"] for r in rs],
            "reflector_cpu_share_median": median([r["reflector_cpu_share"] for r in rs]),
        }
    t = summary["throughput"]
    if "tern" in t and "testpmd" in t and t["testpmd"]["rx_mpps_median"]:
        summary["ratio"] = t["tern"]["rx_mpps_median"] / t["testpmd"]["rx_mpps_median"]
        summary["pass"] = summary["ratio"] >= TARGET_RATIO
    for r in runs["rtt"]:
        summary["rtt"][r["reflector"]] = {k: r.get(k) for k in
                                          ("p50_ns", "p99_ns", "p999_ns", "max_ns",
                                           "rx_mpps", "lost", "reflector_cpu_share")}
    return runs, summary


def fmt_us(ns):
    return "-" if ns is None else f"{ns / 1e3:.1f}"


def fmt_mpps(x):
    return "-" if x is None else f"{x:.3f}"


NAMES = {"testpmd": "testpmd macswap", "tern": "tern-reflect", "raw": "raw-reflect"}


def tables(results, a):
    """The report as Markdown tables (also what goes into RESULTS.md)."""
    lines = [f"Throughput: 64-byte frames, tern-pktgen as fast as it can for "
             f"{a.duration} s, median of {a.rounds} alternating rounds "
             f"(rx Mpps = frames reflected back).", "",
             "| link | testpmd macswap | tern-reflect | tern / testpmd | target ≥ 95% | "
             "rounds testpmd | rounds tern |",
             "|---|---:|---:|---:|---|---|---|"]
    for link, s in results.items():
        t = s["throughput"]
        tp, tn = t.get("testpmd", {}), t.get("tern", {})
        ratio = s.get("ratio")
        lines.append(
            f"| {LINK_TITLE[link]} | {fmt_mpps(tp.get('rx_mpps_median'))} Mpps | "
            f"{fmt_mpps(tn.get('rx_mpps_median'))} Mpps | "
            f"{'-' if ratio is None else f'{100 * ratio:.1f}%'} | "
            f"{'-' if ratio is None else ('PASS' if s['pass'] else '**FAIL**')} | "
            f"{', '.join(f'{x:.2f}' for x in tp.get('rx_mpps_rounds', []))} | "
            f"{', '.join(f'{x:.2f}' for x in tn.get('rx_mpps_rounds', []))} |")
    lines += ["", f"Round trip: tern-pktgen at {a.rtt_rate} pps, one frame per burst, "
              f"{a.rtt_duration} s; microseconds.", "",
              "| link | reflector | p50 | p99 | p999 | max |",
              "|---|---|---:|---:|---:|---:|"]
    for link, s in results.items():
        for kind, r in s["rtt"].items():
            lines.append(f"| {LINK_TITLE[link]} | {NAMES[kind]} | {fmt_us(r['p50_ns'])} | "
                         f"{fmt_us(r['p99_ns'])} | {fmt_us(r['p999_ns'])} | "
                         f"{fmt_us(r['max_ns'])} |")
    return lines


BEGIN = "<!-- run_dataplane.py: begin generated block -->"
END = "<!-- run_dataplane.py: end generated block -->"


def update_results_md(block):
    """Replaces the generated block of the Dataplane section (or appends the
    section), leaving the hand-written notes around it alone."""
    try:
        text = open(RESULTS_MD).read()
    except OSError:
        text = "# Benchmark results\n"
    gen = BEGIN + "\n" + "\n".join(block) + "\n" + END
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + gen + rest.split(END, 1)[1]
    else:
        text = (text.rstrip("\n") + "\n\n## Dataplane: tern-reflect vs testpmd (issue: "
                "dataplane benchmark)\n\n" + gen + "\n")
    with open(RESULTS_MD, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--links", default="memif,vhost",
                    help="comma-separated: memif, vhost (default both)")
    ap.add_argument("--duration", type=float, default=5,
                    help="seconds per throughput run (default 5)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="throughput runs per reflector, alternating (default 3)")
    ap.add_argument("--rtt-rate", type=int, default=100000,
                    help="pps for the round-trip runs (default 100000)")
    ap.add_argument("--rtt-duration", type=float, default=5)
    ap.add_argument("--gen-cpu", type=int, default=0)
    ap.add_argument("--refl-cpu", type=int, default=1)
    ap.add_argument("--mem", type=int, default=256,
                    help="hugepage MiB per process (default 256)")
    ap.add_argument("--ready-timeout", type=float, default=30)
    ap.add_argument("--testpmd", default=shutil.which("dpdk-testpmd") or "dpdk-testpmd")
    ap.add_argument("--out", default=os.path.join(OUT_DIR, "dataplane.json"))
    ap.add_argument("--no-results", action="store_true",
                    help="do not rewrite the Dataplane block of bench/RESULTS.md")
    ap.add_argument("--keep-logs", action="store_true")
    ap.add_argument("--quiet", action="store_true", help="no line per run")
    a = ap.parse_args()

    links = [l.strip() for l in a.links.split(",") if l.strip()]
    for l in links:
        if l not in LINKS:
            ap.error(f"unknown link '{l}' (known: {', '.join(LINKS)})")
    if not a.no_build:
        r = subprocess.run(["ninja", "-C", a.build_dir, "apps/tern-reflect",
                            "apps/tern-pktgen", "bench/raw-reflect"])
        if r.returncode != 0:
            print("run_dataplane: build failed", file=sys.stderr)
            return 2
    for exe in ("apps/tern-reflect", "apps/tern-pktgen", "bench/raw-reflect"):
        if not os.access(os.path.join(a.build_dir, exe), os.X_OK):
            print(f"run_dataplane: {a.build_dir}/{exe} not found", file=sys.stderr)
            return 2
    have_testpmd = shutil.which(a.testpmd) is not None
    if not have_testpmd:
        print("run_dataplane: dpdk-testpmd not found (Debian package dpdk); "
              "measuring without it", file=sys.stderr)
    if not shutil.which("stdbuf"):
        have_testpmd = False
        print("run_dataplane: stdbuf (coreutils) not found; measuring without testpmd",
              file=sys.stderr)
    need = 2 * a.mem
    if hugepages_free_mib() < need:
        print(f"run_dataplane: {hugepages_free_mib()} MiB of hugepages free, {need} "
              "needed (run scripts/setup.sh, or lower --mem)", file=sys.stderr)
        return 2

    tput = (["testpmd"] if have_testpmd else []) + ["tern"]
    rtt = ["raw", "tern"] + (["testpmd"] if have_testpmd else [])
    b = Bench(a)
    now = datetime.datetime.now().astimezone()
    results, runs = {}, {}
    code = 0
    try:
        for link in links:
            print(f"run_dataplane: {LINK_TITLE[link]}", file=sys.stderr, flush=True)
            runs[link], results[link] = run_link(b, link, tput, rtt)
    except BenchError as e:
        print(f"run_dataplane: {e}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    finally:
        b.stop_all()
        if a.keep_logs or code:
            print(f"run_dataplane: logs in {b.logdir}", file=sys.stderr)
        else:
            shutil.rmtree(b.logdir, ignore_errors=True)
    if not results:
        return code or 1

    print(f"\nTern dataplane benchmark, {now:%Y-%m-%d %H:%M %Z}, {machine_name()}, "
          f"pktgen on CPU {a.gen_cpu}, reflector on CPU {a.refl_cpu}\n")
    block = tables(results, a)
    for line in block:
        print(line)
    for link, s in results.items():
        for kind, t in s["throughput"].items():
            share = t["reflector_cpu_share_median"]
            if share is not None and share < 0.9:
                print(f"note: {link} {kind}: the reflector had {100 * share:.0f}% of a CPU "
                      "(the machine is shared: other load ran on its CPU)")

    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    report = {
        "date": now.isoformat(timespec="seconds"),
        "machine": machine_name(),
        "kernel": platform.release(),
        "command": "python3 bench/run_dataplane.py " + " ".join(sys.argv[1:]),
        "params": {k: v for k, v in vars(a).items()},
        "target_ratio": TARGET_RATIO,
        "summary": results,
        "runs": runs,
    }
    with open(a.out, "w") as f:
        json.dump(report, f, indent=1)
    print(f"\nwrote {os.path.relpath(a.out, os.getcwd())}")
    if not a.no_results and code == 0:
        cmd = "python3 bench/run_dataplane.py" + (" " + " ".join(sys.argv[1:])
                                                   if sys.argv[1:] else "")
        update_results_md([
            f"Command: `{cmd}` (also run by `make bench`).  Date: "
            f"{now:%Y-%m-%d %H:%M %Z}.  Machine: {machine_name()}, kernel "
            f"{platform.release()}; tern-pktgen on CPU {a.gen_cpu}, the reflector on "
            f"CPU {a.refl_cpu} (testpmd: `--lcores 0@{a.refl_cpu},1@{a.refl_cpu}`, its "
            f"main lcore asleep in read()); every process `--in-memory -m {a.mem}`.",
            ""] + block)
        print(f"updated {os.path.relpath(RESULTS_MD, os.getcwd())}")
    return code


if __name__ == "__main__":
    sys.exit(main())
