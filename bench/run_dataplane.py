#!/usr/bin/env python3
"""Dataplane benchmark: tern-reflect against testpmd's macswap and a raw
DPDK reflector, over memif and vhost-user/virtio-user.

    python3 bench/run_dataplane.py [--build-dir build] [--no-build]
        [--links memif,vhost] [--duration 5] [--rounds 5]
        [--rtt-rate 100000] [--rtt-duration 3] [--rtt-rounds 3]
        [--gen-cpu 0] [--refl-cpu 1]
        [--mem 256] [--no-results] [--keep-logs]

For each link, one process reflects on --refl-cpu and tern-pktgen drives
it from --gen-cpu, both on the same link:

  throughput  tern-pktgen as fast as it can (64-byte frames, bursts of 32)
              for --duration s against `dpdk-testpmd --forward-mode=macswap`
              and against tern-reflect, alternating, --rounds times; the
              reflected rate (pktgen's rx Mpps) is the number.  The median
              of each reflector's rounds is reported, and the median of
              the rounds' tern-reflect / testpmd against the 95% target.
  latency     tern-pktgen at --rtt-rate pps, one frame per burst, against
              raw-reflect (build/bench/raw-reflect: no Tern, the floor),
              tern-reflect and testpmd, alternating, --rtt-rounds times:
              the median of the rounds' p50/p99/p999, and the largest max.

The machine may be shared.  Before each run the script waits (at most
--quiet-wait s) for both CPUs to go idle; after it, it charges to "other
load" whatever ran on them that was neither process (from /proc/stat,
the reflector's /proc/PID/stat and the generator's rusage), and repeats a
run whose other load exceeded --max-disturb, up to --retries times,
keeping the least disturbed.  It also records how much of its CPU each
reflector used and how many frames the link refused the generator (near
none: the generator, not the reflector, set the rate).

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
import subprocess
import sys

from benchlib import (LINKS, LINK_TITLE, OUT_DIR, RESULTS_MD, ROOT, BenchError, Runner, cpu_busy,
                      cpu_seconds, hugepages_free_mib, machine_name, median, paired_ratio,
                      paired_ratio_note, tail,
                      update_results_md)

TARGET_RATIO = 0.95

SUMMARY_RE = re.compile(
    r"summary: sent (\d+) recv (\d+) lost (-?\d+) bad (\d+) reordered (\d+) "
    r"in ([\d.]+) s: tx ([\d.]+) Mpps rx ([\d.]+) Mpps")
RTT_RE = re.compile(r"rtt_ns p50=(\d+) p99=(\d+) p999=(\d+) max=(\d+)")


class Bench(Runner):
    def __init__(self, args, tag="dp"):
        super().__init__(args, tag)
        self.bindir = args.build_dir

    # ---- commands -------------------------------------------------------

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

    def stop(self, p, kind="?"):
        """Stops a reflector we started (testpmd: a newline on its stdin);
        returns its exit code."""
        return super().stop(p, b"\n" if kind == "testpmd" else signal.SIGINT)

    # ---- one measurement ------------------------------------------------

    def run_one(self, link, kind, gen_opts, duration):
        """One measurement, again (up to --retries times) while other load
        on the two CPUs took more than --max-disturb of them; the least
        disturbed attempt is kept."""
        best = None
        for attempt in range(1 + self.args.retries):
            res = self.measure(link, kind, gen_opts, duration)
            res["attempt"] = attempt
            if best is None or res["others_cpu"] < best["others_cpu"]:
                best = res
            if res["others_cpu"] <= self.args.max_disturb:
                break
        if best["others_cpu"] > self.args.max_disturb:
            best["note"] = (best.get("note", "") + " " if "note" in best else "") + \
                f"disturbed: other load took {100 * best['others_cpu']:.0f}% of the CPUs"
        if not self.args.quiet:
            share = best["reflector_cpu_share"]
            print(f"  {link:<6} {kind:<8} rx {best['rx_mpps']:7.3f} Mpps  "
                  f"tx {best['tx_mpps']:7.3f} Mpps  p50 {best.get('p50_ns', 0) / 1e3:8.1f} us"
                  f"  p99 {best.get('p99_ns', 0) / 1e3:9.1f} us  reflector CPU "
                  f"{'-' if share is None else f'{100 * share:.0f}%'}  others "
                  f"{100 * best['others_cpu']:.0f}%"
                  + (f"  ({best['note']})" if "note" in best else ""),
                  file=sys.stderr, flush=True)
        return best

    def measure(self, link, kind, gen_opts, duration):
        """Starts the reflector, runs tern-pktgen against it, stops it."""
        tag = self.next_name(f"{link}-{kind}")
        sock = self.sock_path(f"{link}-{kind}")
        rlog = os.path.join(self.logdir, f"{tag}-reflector.log")
        glog = os.path.join(self.logdir, f"{tag}-pktgen.log")
        rcmd, rprefix, marker = self.reflector_cmd(kind, link, sock)
        gcmd, gprefix = self.pktgen_cmd(link, sock, gen_opts)
        res = {"link": link, "reflector": kind, "reflector_cmd": rcmd,
               "pktgen_cmd": gcmd}
        res["busy_before"] = self.wait_quiet()
        try:
            p = self.start(rcmd, rlog, marker, kind)
            try:
                rcpu0, busy0 = cpu_seconds(p.pid), cpu_busy()
                gcode, gen, wall = self.run_client(gcmd, glog, duration + 60,
                                                   "tern-pktgen")
                rcpu1, busy1 = cpu_seconds(p.pid), cpu_busy()
            finally:
                rc = self.stop(p, kind)
        finally:
            try:
                os.unlink(sock)
            except OSError:
                pass
            self.forget_prefixes(rprefix, gprefix)
        out = open(glog, errors="replace").read()
        m, r = SUMMARY_RE.search(out), RTT_RE.search(out)
        if gcode != 0 or not m:
            raise BenchError(f"tern-pktgen exited {gcode} without a summary:\n"
                             f"  {' '.join(gcmd)}\n{tail(glog)}\nreflector:\n{tail(rlog)}")
        refl = (rcpu1 - rcpu0) if rcpu0 is not None and rcpu1 is not None else 0.0
        # What ran on the two CPUs that was neither process: other load.
        others = self.others_share(busy0, busy1, wall, refl, gen)
        res.update({
            "sent": int(m[1]), "recv": int(m[2]), "lost": int(m[3]),
            "bad": int(m[4]), "reordered": int(m[5]), "secs": float(m[6]),
            "tx_mpps": float(m[7]), "rx_mpps": float(m[8]),
            "reflector_exit": rc,
            "reflector_cpu_share": refl / wall if rcpu0 is not None else None,
            "pktgen_cpu_share": gen / wall,
            "others_cpu": others,
        })
        if r:
            res.update({"p50_ns": int(r[1]), "p99_ns": int(r[2]),
                        "p999_ns": int(r[3]), "max_ns": int(r[4])})
        gstats = [l for l in out.splitlines() if l.startswith("port 0:")]
        dm = re.search(r"drops rx \d+ tx (\d+)", gstats[-1]) if gstats else None
        if dm:
            # Frames the link refused: the reflector did not keep up.
            res["pktgen_tx_drops"] = int(dm[1])
        stats = [l for l in open(rlog, errors="replace") if l.startswith("port 0:")]
        if stats:
            res["reflector_stats"] = stats[-1].strip()
        if rc != 0:
            res["note"] = f"reflector exited {rc}"
        return res


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
    # A single stall of a shared machine's CPU (tens of ms) moves a 1%
    # tail: several short rounds, alternating, and their median.
    for rnd in range(a.rtt_rounds):
        for kind in reflectors_rtt:
            r = b.run_one(link, kind, rtt_opts, a.rtt_duration)
            r["round"] = rnd
            runs["rtt"].append(r)

    def undisturbed(rs):
        """The runs other load left alone; all of them if none was."""
        return [r for r in rs if r["others_cpu"] <= a.max_disturb] or rs

    summary = {"throughput": {}, "rtt": {}}
    for kind in reflectors_tput:
        rs = [r for r in runs["throughput"] if r["reflector"] == kind]
        good = undisturbed(rs)
        summary["throughput"][kind] = {
            "rx_mpps_median": median([r["rx_mpps"] for r in good]),
            "rx_mpps_rounds": [r["rx_mpps"] for r in rs],
            "disturbed_rounds": [r["others_cpu"] > a.max_disturb for r in rs],
            "rounds_used": len(good),
            "reflector_cpu_share_median": median([r["reflector_cpu_share"] for r in good]),
            "others_cpu_max": max((r["others_cpu"] for r in good), default=None),
            # Frames the link refused (the TX ring toward the reflector was
            # full): near 0 means the generator, not the reflector, was
            # the limit.
            "pktgen_tx_drop_share_median": median(
                [r["pktgen_tx_drops"] / (r["pktgen_tx_drops"] + r["sent"])
                 for r in good if "pktgen_tx_drops" in r]),
        }
    t = summary["throughput"]
    if "tern" in t and "testpmd" in t and t["testpmd"]["rx_mpps_median"]:
        summary["ratio_rounds"] = [
            tn["rx_mpps"] / tp["rx_mpps"]
            for tp, tn in zip(*([r for r in runs["throughput"] if r["reflector"] == k]
                                for k in ("testpmd", "tern")))
            if tp["rx_mpps"] and max(tp["others_cpu"], tn["others_cpu"]) <= a.max_disturb]
        summary["ratio"], summary["ratio_of_medians"] = paired_ratio(
            summary["ratio_rounds"], t["tern"]["rx_mpps_median"], t["testpmd"]["rx_mpps_median"])
        summary["pass"] = summary["ratio"] >= TARGET_RATIO
    for kind in reflectors_rtt:
        rs = [r for r in runs["rtt"] if r["reflector"] == kind]
        good = undisturbed(rs)
        summary["rtt"][kind] = {k: median([r.get(k) for r in good]) for k in
                                ("p50_ns", "p99_ns", "p999_ns", "rx_mpps",
                                 "reflector_cpu_share")}
        summary["rtt"][kind]["max_ns"] = max((r.get("max_ns", 0) for r in good), default=None)
        summary["rtt"][kind]["others_cpu"] = max((r["others_cpu"] for r in good), default=None)
        summary["rtt"][kind]["rounds_used"] = len(good)
        summary["rtt"][kind]["p99_ns_rounds"] = [r.get("p99_ns") for r in rs]
    summary["reflector_crashes"] = [
        f"{r['reflector']} exited {r['reflector_exit']}"
        for r in runs["throughput"] + runs["rtt"] if r.get("reflector_exit")]
    return runs, summary


def fmt_us(ns):
    return "-" if ns is None else f"{ns / 1e3:.1f}"


def fmt_mpps(x):
    return "-" if x is None else f"{x:.3f}"


NAMES = {"testpmd": "testpmd macswap", "tern": "tern-reflect", "raw": "raw-reflect"}


def rounds(t):
    """A reflector's rounds, the disturbed ones (left out of the median)
    in parentheses."""
    return ", ".join(f"({x:.2f})" if bad else f"{x:.2f}" for x, bad in
                     zip(t.get("rx_mpps_rounds", []), t.get("disturbed_rounds", [])))


def tables(results, a):
    """The report as Markdown tables (also what goes into RESULTS.md)."""
    lines = [f"Throughput: 64-byte frames, tern-pktgen as fast as it can for "
             f"{a.duration} s, {a.rounds} alternating rounds; the median of the rounds "
             f"that other load left alone (rx Mpps = frames reflected back; a round in "
             f"parentheses had more than {100 * a.max_disturb:.0f}% of the two CPUs "
             f"taken by other load even after {a.retries} retries); tern / testpmd "
             f"is the median of the rounds' ratios (each round runs testpmd, then "
             f"tern-reflect).", "",
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
            f"{rounds(tp)} | {rounds(tn)} |")
    lines += ["", f"Round trip: tern-pktgen at {a.rtt_rate} pps, one frame per burst, "
              f"{a.rtt_rounds} alternating rounds of {a.rtt_duration} s: the median of "
              f"the undisturbed rounds' percentiles, and their largest max; "
              f"microseconds.", "",
              "| link | reflector | p50 | p99 | p999 | max |",
              "|---|---|---:|---:|---:|---:|"]
    for link, s in results.items():
        for kind, r in s["rtt"].items():
            lines.append(f"| {LINK_TITLE[link]} | {NAMES[kind]} | {fmt_us(r['p50_ns'])} | "
                         f"{fmt_us(r['p99_ns'])} | {fmt_us(r['p999_ns'])} | "
                         f"{fmt_us(r['max_ns'])} |")
    return lines


def notes(results, a):
    """What a reader of the numbers must know: disturbed runs, a generator
    that was the bottleneck, a reflector that did not busy-poll, a
    generator that missed its rate."""
    out = []
    for link, s in results.items():
        for kind, t in s["throughput"].items():
            if t["others_cpu_max"] is not None and t["others_cpu_max"] > a.max_disturb:
                out.append(f"{link} throughput, {NAMES[kind]}: other load took up to "
                           f"{100 * t['others_cpu_max']:.0f}% of the two CPUs")
            drops = t["pktgen_tx_drop_share_median"]
            if drops is not None and drops < 0.01:
                out.append(f"{link} throughput, {NAMES[kind]}: the link refused only "
                           f"{100 * drops:.1f}% of the generator's frames, so tern-pktgen "
                           f"rather than the reflector set this rate")
            share = t["reflector_cpu_share_median"]
            if share is not None and share < 0.9:
                why = ("it slept instead of polling" if t["others_cpu_max"] <= a.max_disturb
                       else "other load took the rest")
                out.append(f"{link} throughput, {NAMES[kind]}: the reflector used only "
                           f"{100 * share:.0f}% of its CPU while frames were waiting: "
                           f"{why}")
        for c in s.get("reflector_crashes", []):
            out.append(f"{link}: a reflector did not exit cleanly on SIGINT: {c}")
        rr = s.get("ratio_rounds")
        if rr and len(rr) > 1:
            out.append(f"{link} throughput: tern-reflect / testpmd round by round "
                       f"(undisturbed rounds): {paired_ratio_note(rr, s['ratio_of_medians'])}")
        slow = [f"{NAMES[k]} {r['rx_mpps'] * 1e6:,.0f}" for k, r in s["rtt"].items()
                if r["rx_mpps"] is not None and r["rx_mpps"] * 1e6 < 0.9 * a.rtt_rate]
        if slow:
            out.append(f"{link} RTT: tern-pktgen sent fewer than the {a.rtt_rate:,} pps "
                       f"asked ({', '.join(slow)} pps): with one frame per burst its "
                       f"token bucket holds one frame of credit, so every pause of its "
                       f"loop longer than 1/rate (an idle sleep, a preemption) loses "
                       f"frames")
        for kind, r in s["rtt"].items():
            share = r["reflector_cpu_share"]
            if share is not None and share < 0.9 and r["others_cpu"] <= a.max_disturb:
                out.append(f"{link} RTT, {NAMES[kind]}: the reflector used "
                           f"{100 * share:.0f}% of its CPU (sleeping, not polling)")
            if r["others_cpu"] is not None and r["others_cpu"] > a.max_disturb:
                out.append(f"{link} RTT, {NAMES[kind]}: other load took "
                           f"{100 * r['others_cpu']:.0f}% of the two CPUs")
    return out


BEGIN = "<!-- run_dataplane.py: begin generated block -->"
END = "<!-- run_dataplane.py: end generated block -->"


def update_dataplane_block(block):
    update_results_md(BEGIN, END, "Dataplane: tern-reflect vs testpmd (issue: "
                      "dataplane benchmark)", block)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--links", default="memif,vhost",
                    help="comma-separated: memif, vhost (default both)")
    ap.add_argument("--duration", type=float, default=5,
                    help="seconds per throughput run (default 5)")
    ap.add_argument("--rounds", type=int, default=5,
                    help="throughput runs per reflector, alternating (default 5)")
    ap.add_argument("--rtt-rate", type=int, default=100000,
                    help="pps for the round-trip runs (default 100000)")
    ap.add_argument("--rtt-duration", type=float, default=3,
                    help="seconds per round-trip run (default 3)")
    ap.add_argument("--rtt-rounds", type=int, default=3,
                    help="round-trip runs per reflector, alternating (default 3)")
    ap.add_argument("--gen-cpu", type=int, default=0)
    ap.add_argument("--refl-cpu", type=int, default=1)
    ap.add_argument("--mem", type=int, default=256,
                    help="hugepage MiB per process (default 256)")
    ap.add_argument("--ready-timeout", type=float, default=30)
    ap.add_argument("--max-disturb", type=float, default=0.10,
                    help="other load on the two CPUs, as a fraction, above which "
                    "a run is repeated (default 0.10)")
    ap.add_argument("--retries", type=int, default=2,
                    help="repeats of a disturbed run (default 2)")
    ap.add_argument("--quiet-wait", type=float, default=30,
                    help="seconds to wait for the CPUs to go idle before a run")
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
    for line in notes(results, a):
        print("note:", line)

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
        update_dataplane_block([
            f"Command: `{cmd}` (also run by `make bench`).  Date: "
            f"{now:%Y-%m-%d %H:%M %Z}.  Machine: {machine_name()}, kernel "
            f"{platform.release()}; tern-pktgen on CPU {a.gen_cpu}, the reflector on "
            f"CPU {a.refl_cpu} (testpmd: `--lcores 0@{a.refl_cpu},1@{a.refl_cpu}`, its "
            f"main lcore asleep in read()); every process `--in-memory -m {a.mem}`.",
            ""] + block + ([""] + [f"- {n}" for n in notes(results, a)]
                           if notes(results, a) else []))
        print(f"updated {os.path.relpath(RESULTS_MD, os.getcwd())}")
    return code


if __name__ == "__main__":
    sys.exit(main())
