#!/usr/bin/env python3
"""Runs the coro/ micro-benchmarks (build/bench/tn-bench) and reports them
against the targets.

    python3 bench/run_micro.py [--build-dir build] [--cpu N] [--no-build]
                               [--repetitions 5] [-- extra tn-bench args]

Builds tn-bench with ninja (unless --no-build), runs it pinned to one CPU
(taskset, if installed) with 5 repetitions, prints the median of each
benchmark and a PASS/FAIL line per target, and writes everything, the raw
Google Benchmark JSON included, to bench/out/micro.json.

It reports; it does not gate: the exit status is 0 whatever the numbers
are, and non-zero only when the benchmark could not be built or run.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys

from benchlib import machine_name  # one definition for every bench script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "bench", "out")

TIME_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}

# What each benchmark's time means (one reported iteration is one of these).
PER_WHAT = {
    "BM_coro_switch": "switch between 2 coroutine stacks",
    "BM_task_yield": "tn_yield between 2 tasks (scheduler)",
    "BM_swapcontext": "switch (glibc swapcontext)",
    "BM_task_spawn_join": "spawn + await join (empty task)",
    "BM_future_resolve": "create + resolve + await (done)",
    "BM_future_resolve_wake": "create + await, woken by resolver",
    "BM_timer_add_cancel": "timer start + cancel, 10k armed",
    "BM_queue_pingpong": "round trip over 2 queues (cap 1)",
    "BM_sleeping_tasks_100k": "spawn/sleep/cancel/join 100k",
}


def pick_cpu(requested):
    if requested is not None:
        return requested
    cpus = sorted(os.sched_getaffinity(0))
    # CPU 0 usually takes more interrupts; prefer the last one.
    return cpus[-1] if cpus else None


def base_name(run_name):
    # "BM_x/iterations:1" -> "BM_x"
    return run_name.split("/")[0]


def collect(gbench):
    """name -> {median_ns, cpu_ns, cv, counters, error} from the aggregates."""
    res = {}
    for b in gbench.get("benchmarks", []):
        name = base_name(b.get("run_name", b["name"]))
        r = res.setdefault(name, {"counters": {}})
        if b.get("error_occurred"):
            r["error"] = b.get("error_message", "error")
            continue
        agg = b.get("aggregate_name")
        unit = TIME_UNIT_NS[b.get("time_unit", "ns")]
        if agg is None or agg == "median":
            # Without aggregates (--repetitions 1) the single run stands in.
            if agg is None and "median_ns" in r:
                continue
            r["median_ns"] = b["real_time"] * unit
            r["cpu_ns"] = b["cpu_time"] * unit
            r["iterations"] = b.get("iterations")
            for k, v in b.items():
                if k in ("switches_per_iter", "loop_turns_per_iter",
                         "rss_mib", "rss_total_mib", "bytes_per_task"):
                    r["counters"][k] = v
        elif agg == "cv":
            r["cv"] = b["real_time"]
    return res


def fmt_ns(ns):
    if ns is None:
        return "-"
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} us"
    return f"{ns:.1f} ns"


def targets(res):
    def med(name):
        return res.get(name, {}).get("median_ns")

    def counter(name, key):
        return res.get(name, {}).get("counters", {}).get(key)

    sw, uc = med("BM_coro_switch"), med("BM_swapcontext")
    ratio = uc / sw if sw and uc else None
    y = med("BM_task_yield")
    yratio = uc / y if y and uc else None
    return [
        ("BM_coro_switch", "switch <= 5 ns", sw, fmt_ns(sw),
         sw is not None and sw <= 5.0),
        ("BM_coro_switch vs BM_swapcontext", ">= 30x faster (same run)",
         ratio, f"{ratio:.1f}x" if ratio else "-",
         ratio is not None and ratio >= 30.0),
        ("BM_task_yield vs BM_swapcontext", "(info) full yield vs swapcontext",
         yratio, f"{yratio:.1f}x" if yratio else "-",
         yratio is not None and yratio >= 30.0),
        ("BM_task_spawn_join", "spawn+join <= 50 ns", med("BM_task_spawn_join"),
         fmt_ns(med("BM_task_spawn_join")),
         med("BM_task_spawn_join") is not None and med("BM_task_spawn_join") <= 50.0),
        ("BM_timer_add_cancel", "add+cancel <= 30 ns", med("BM_timer_add_cancel"),
         fmt_ns(med("BM_timer_add_cancel")),
         med("BM_timer_add_cancel") is not None and med("BM_timer_add_cancel") <= 30.0),
        ("BM_sleeping_tasks_100k", "RSS <= 1 GiB (1024 MiB)",
         counter("BM_sleeping_tasks_100k", "rss_mib"),
         (f"{counter('BM_sleeping_tasks_100k', 'rss_mib'):.0f} MiB"
          if counter("BM_sleeping_tasks_100k", "rss_mib") is not None else "-"),
         counter("BM_sleeping_tasks_100k", "rss_mib") is not None
         and counter("BM_sleeping_tasks_100k", "rss_mib") <= 1024.0),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--cpu", type=int, default=None,
                    help="CPU to pin to (default: the last one available)")
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--out", default=os.path.join(OUT_DIR, "micro.json"))
    ap.add_argument("extra", nargs="*", help="extra tn-bench arguments "
                    "(after --), e.g. --benchmark_filter=switch")
    args = ap.parse_args()

    exe = os.path.join(args.build_dir, "bench", "tn-bench")
    if not args.no_build:
        r = subprocess.run(["ninja", "-C", args.build_dir, "bench/tn-bench"])
        if r.returncode != 0:
            print("run_micro: building tn-bench failed (is the build dir "
                  "configured with -Dbench=true?)", file=sys.stderr)
            return 2
    if not os.access(exe, os.X_OK):
        print(f"run_micro: {exe} not found", file=sys.stderr)
        return 2

    cmd = [exe, "--benchmark_format=json",
           f"--benchmark_repetitions={args.repetitions}",
           "--benchmark_report_aggregates_only=true"] + args.extra
    cpu = pick_cpu(args.cpu)
    if cpu is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(cpu)] + cmd
    else:
        cpu = None
    print("running:", " ".join(cmd), file=sys.stderr, flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.stderr:
        sys.stderr.write(r.stderr)
    try:
        gbench = json.loads(r.stdout)
    except json.JSONDecodeError:
        print(f"run_micro: tn-bench exited {r.returncode} without JSON output",
              file=sys.stderr)
        return 2

    res = collect(gbench)
    tg = targets(res)
    now = datetime.datetime.now().astimezone()

    print(f"\nTern coro micro-benchmarks, {now:%Y-%m-%d %H:%M %Z}, "
          f"{machine_name()}, pinned to CPU {cpu}, "
          f"median of {args.repetitions}\n")
    print(f"{'benchmark':<26} {'median':>10} {'cv':>6}  {'per':<36} counters")
    print("-" * 100)
    for name, r_ in res.items():
        if "error" in r_:
            print(f"{name:<26} {'SKIPPED':>10} {'':>6}  {r_['error']}")
            continue
        cv = f"{100 * r_['cv']:.1f}%" if "cv" in r_ else "-"
        ctr = " ".join(f"{k}={v:.4g}" for k, v in r_["counters"].items())
        print(f"{name:<26} {fmt_ns(r_.get('median_ns')):>10} {cv:>6}  "
              f"{PER_WHAT.get(name, ''):<36} {ctr}")
    print()
    print(f"{'target':<36} {'goal':<26} {'measured':>10}  result")
    print("-" * 84)
    for name, goal, _, shown, ok in tg:
        print(f"{name:<36} {goal:<26} {shown:>10}  {'PASS' if ok else 'FAIL'}")

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    report = {
        "date": now.isoformat(timespec="seconds"),
        "machine": machine_name(),
        "kernel": platform.release(),
        "cpu_pinned": cpu,
        "command": cmd,
        "repetitions": args.repetitions,
        "results": res,
        "targets": [{"name": n, "goal": g, "value": v, "shown": s, "pass": ok}
                    for n, g, v, s, ok in tg],
        "gbench": gbench,
    }
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print(f"\nwrote {os.path.relpath(args.out, os.getcwd())}")
    if r.returncode != 0:
        print(f"run_micro: tn-bench exited {r.returncode}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
