"""What the dataplane benchmark scripts share (run_dataplane.py,
run_echo.py): the links and their EAL arguments, CPU accounting from
/proc, and a process runner that starts servers, waits for their ready
line, runs a client to completion with a deadline, stops only the
processes it started, and charges other load on the two CPUs to a run.
"""
import os
import platform
import shutil
import re
import signal
import socket
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "bench", "out")
RESULTS_MD = os.path.join(ROOT, "bench", "RESULTS.md")
TICK_HZ = os.sysconf("SC_CLK_TCK")

# What each link needs: the server side's and the client side's --vdev,
# and extra EAL arguments for the client side.  virtio-user hands its
# memory to the vhost backend as one region per memseg list: without
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


# sockperf's summary lines (run_echo.py, run_tcp.py).
SOCKPERF_PCT_RE = re.compile(r"percentile\s+([\d.]+)\s*=\s*([\d.]+)")
SOCKPERF_MAX_RE = re.compile(r"<MAX> observation\s*=\s*([\d.]+)")
SOCKPERF_N_RE = re.compile(r"Total (\d+) observations")


def median(xs):
    """The median of the values that are not None (None if none are)."""
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def paired_ratio(rounds, num_median, den_median):
    """The headline of an A / B comparison run in alternating rounds:
    (the median of the rounds' ratios, the ratio of the two medians).
    A round's two runs are next to each other in time, so a spell of the
    shared machine that changes both rates from some round on (seen on
    2026-11-27) cancels in their ratio, where it can split the medians.
    Without rounds, the ratio of the medians (None without a B)."""
    of_medians = num_median / den_median if den_median else None
    return (median(rounds) if rounds else of_medians), of_medians


def paired_ratio_note(rounds, of_medians):
    """The rounds' ratios and the ratio of the medians, for the notes."""
    return (", ".join(f"{x * 100:.0f}%" for x in rounds) +
            f"; the ratio of the two medians: {100 * of_medians:.1f}%")


def rtt_rounds(rs, sums):
    """Round-trip runs of several rounds, each on a new pair of processes
    (on this VM a link's round trip differs by up to 3x from one pair to
    the next): each percentile's median over the rounds, the largest max
    and other load, the sums of the keys in sums, and the rounds' p50s."""
    out = {k: median([r.get(k) for r in rs]) for k in ("p50_ns", "p99_ns", "p999_ns")}
    out["max_ns"] = max((r.get("max_ns") or 0) for r in rs)
    out["others_cpu"] = max((r.get("others_cpu") or 0) for r in rs)
    for k in sums:
        out[k] = sum((r.get(k) or 0) for r in rs)
    out["p50_rounds"] = [r.get("p50_ns") for r in rs]
    return out


def free_port(kind=socket.SOCK_STREAM):
    """A loopback port free for now (TCP by default, or SOCK_DGRAM)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def cpu_busy():
    """Per-CPU busy and steal seconds since boot, from /proc/stat."""
    res = {}
    with open("/proc/stat") as f:
        for line in f:
            if not line.startswith("cpu") or line.startswith("cpu "):
                continue
            name, *v = line.split()
            v = [int(x) for x in v]
            # user nice system idle iowait irq softirq steal ...
            res[int(name[3:])] = ((v[0] + v[1] + v[2] + v[5] + v[6]) / TICK_HZ,
                                  (v[7] if len(v) > 7 else 0) / TICK_HZ)
    return res


def busy_between(a, b, cpus):
    """Busy seconds on cpus between two cpu_busy() samples (steal aside)."""
    return sum(b[c][0] - a[c][0] for c in cpus if c in a and c in b)


def tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def update_results_md(begin, end, title, block):
    """Replaces the generated block between the markers begin and end in
    bench/RESULTS.md (or appends a section `title` holding it), leaving
    the hand-written notes around it alone."""
    try:
        text = open(RESULTS_MD).read()
    except OSError:
        text = "# Benchmark results\n"
    gen = begin + "\n" + "\n".join(block) + "\n" + end
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + gen + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n## {title}\n\n" + gen + "\n"
    with open(RESULTS_MD, "w") as f:
        f.write(text)


class Runner:
    """Starts and stops the processes of a benchmark.  args needs mem,
    ready_timeout, quiet_wait, max_disturb and the two CPUs gen_cpu and
    refl_cpu; tag goes into EAL file prefixes and socket names, so that
    two scripts never share one."""

    def __init__(self, args, tag):
        self.args = args
        self.tag = tag
        self.logdir = tempfile.mkdtemp(prefix=f"tern-{tag}-")
        self.seq = 0
        self.procs = []  # Popen objects we started and have not reaped

    def next_name(self, what):
        self.seq += 1
        return f"{what}-{self.seq}"

    def sock_path(self, what):
        return f"/tmp/tern-{self.tag}-{os.getpid()}-{self.next_name(what)}.sock"

    def eal(self, cpu_args, role, vdev, extra=()):
        """EAL arguments for one process: its own --in-memory hugepages and
        file prefix, no PCI, one vdev.  Returns (args, prefix)."""
        self.seq += 1
        prefix = f"tn{self.tag[:4]}{os.getpid()}{role}{self.seq}"
        return (cpu_args + ["--no-pci", "--in-memory", "-m", str(self.args.mem),
                            "--file-prefix", prefix, f"--vdev={vdev}"]
                + list(extra), prefix)

    @staticmethod
    def forget_prefixes(*prefixes):
        for prefix in prefixes:
            shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)

    # ---- servers --------------------------------------------------------

    def start(self, cmd, log, marker, kind):
        """Starts a server and waits until a line of its output equals or
        starts with marker."""
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
        self.stop(p)
        raise BenchError(f"{kind} not ready after {self.args.ready_timeout} s:\n"
                         f"  {' '.join(cmd)}\n{tail(log)}")

    def reap(self, p):
        if p in self.procs:
            self.procs.remove(p)

    def stop(self, p, how=signal.SIGINT):
        """Stops a process we started: how is a signal, or a bytes object
        to write to its stdin; killed if it does not exit within 10 s.
        Returns its exit code."""
        if p.poll() is None:
            if isinstance(how, bytes):
                try:
                    p.stdin.write(how)
                    p.stdin.flush()
                except OSError:
                    pass
            else:
                p.send_signal(how)
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
            self.stop(p)

    # ---- clients --------------------------------------------------------

    def run_client(self, cmd, log, timeout, kind):
        """Runs cmd to completion (killed after timeout s).  Returns its
        exit code, its own CPU seconds (rusage) and the wall time."""
        t0 = time.monotonic()
        with open(log, "w") as f:
            g = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, cwd=ROOT)
        self.procs.append(g)
        while True:
            # wait4, for the client's CPU time.
            pid, status, ru = os.wait4(g.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > t0 + timeout:
                g.kill()
                os.wait4(g.pid, 0)
                g.returncode = -9
                self.reap(g)
                raise BenchError(f"{kind} did not finish in {timeout:.0f} s:\n  "
                                 f"{' '.join(cmd)}\n{tail(log)}")
            time.sleep(0.02)
        g.returncode = os.waitstatus_to_exitcode(status)
        self.reap(g)
        return g.returncode, ru.ru_utime + ru.ru_stime, time.monotonic() - t0

    # ---- other load -----------------------------------------------------

    def cpus(self):
        return (self.args.gen_cpu, self.args.refl_cpu)

    def wait_quiet(self):
        """Waits (bounded) until the two benchmark CPUs are nearly idle, so a
        run does not start in the middle of someone else's build.  Returns
        the busy fraction seen last."""
        cpus = self.cpus()
        deadline = time.monotonic() + self.args.quiet_wait
        while True:
            a = cpu_busy()
            time.sleep(0.25)
            frac = busy_between(a, cpu_busy(), cpus) / (0.25 * len(cpus))
            if frac <= self.args.max_disturb or time.monotonic() >= deadline:
                return frac

    def others_share(self, busy0, busy1, wall, *ours):
        """The share of the two CPUs between two cpu_busy() samples that
        none of our processes (their CPU seconds in ours) used."""
        used = busy_between(busy0, busy1, self.cpus()) - sum(ours)
        return max(0.0, used) / (wall * len(self.cpus()))


PLOT_DIR = os.path.join(ROOT, "bench", "plots")


def plot_percentiles(name, title, series, unit="us"):
    """Writes bench/plots/NAME.png: a clustered bar chart of latency
    percentiles, log scale, one cluster per percentile and one bar per
    series (a list of (label, {"p50": v, "p99": v, "p99.9": v})).
    Returns the path relative to bench/ for RESULTS.md, or None when
    gnuplot is missing or fails (the numbers are in the table anyway)."""
    if not shutil.which("gnuplot") or not series:
        return None
    os.makedirs(PLOT_DIR, exist_ok=True)
    keys = [k for k in ("p50", "p99", "p99.9") if all(k in s for _, s in series)]
    data = os.path.join(PLOT_DIR, f"{name}.dat")
    with open(data, "w") as f:
        f.write("pct " + " ".join(f'"{label}"' for label, _ in series) + "\n")
        for k in keys:
            f.write(k + " " + " ".join(f"{max(s[k], 1e-3):.3f}" for _, s in series) + "\n")
    png = os.path.join(PLOT_DIR, f"{name}.png")
    cols = ", ".join(f"'{data}' using {i + 2}:xtic(1) title columnheader({i + 2})"
                     for i in range(len(series)))
    script = "\n".join([
        "set terminal pngcairo size 900,500 noenhanced",
        f"set output '{png}'",
        f"set title '{title}'",
        "set style data histograms", "set style histogram clustered gap 1",
        "set style fill solid 0.8 border -1", "set logscale y", "set grid ytics",
        f"set ylabel 'latency ({unit}, log scale)'", "set key top left",
        f"plot {cols}", ""])
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode != 0 or not os.path.exists(png):
        return None
    return os.path.relpath(png, os.path.join(ROOT, "bench"))
