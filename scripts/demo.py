#!/usr/bin/env python3
"""make demo: Tern on a virtual network built for the occasion, in under
two minutes, then everything it made is removed again.

    python3 scripts/demo.py [--build-dir build] [--seconds 3] [--out DIR]

1. AF_XDP next to the kernel.  Two network namespaces joined by a veth
   pair: in A, Tern owns 10.99.0.2 on veth va through AF_XDP (its XDP
   program steers that address to Tern and leaves the rest of va to the
   kernel, which keeps 10.99.0.3 on it); B is the kernel client at
   10.99.0.1.  tern-httpd serves a page and curl in B fetches it.
2. Echo round trips from the kernel in B over that veth, UDP 64 bytes
   (sockperf ping-pong --full-rtt): to tern-echo on AF_XDP, and to a
   kernel sockperf server on the same interface.  The kernel client's
   own cost is in both.
3. Tern against the kernel end to end: tern-echo's client and server
   over vhost-user/virtio-user (two processes, one per CPU), and
   sockperf over the kernel's loopback.
Prints a table, writes DIR/rtt-cdf.png (gnuplot) and the raw data.
Needs root; only processes it started are stopped.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from benchlib import LINKS, BenchError, Runner, tail  # noqa: E402

NS_TERN, NS_KERN = f"tn-demo-a-{os.getpid()}", f"tn-demo-b-{os.getpid()}"
VA, VB = f"tndemoa{os.getpid() % 100000}", f"tndemob{os.getpid() % 100000}"
TERN_IP, KERN_SRV_IP, CLIENT_IP = "10.99.0.2", "10.99.0.3", "10.99.0.1"
HTTP_PORT, ECHO_PORT, SP_PORT = 8080, 7, 11111
RTT_RE = re.compile(r"rtt_ns p50=(\d+) p99=(\d+) p999=(\d+) max=(\d+)")
SUMMARY_RE = re.compile(r"summary: sent (\d+) recv (\d+) lost (\d+)")


def sh(*cmd, check=True, **kw):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, **kw)


def ns(name, *cmd):
    return ["ip", "netns", "exec", name] + list(cmd)


def step(msg):
    print(f"\n== {msg}", flush=True)


def percentile(sorted_ns, q):
    if not sorted_ns:
        return 0
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))]


class Demo:
    def __init__(self, a):
        self.a = a
        self.apps = os.path.join(os.path.abspath(a.build_dir), "apps")
        self.run = Runner(argparse.Namespace(mem=256, ready_timeout=20, quiet_wait=0,
                                             max_disturb=1.0, gen_cpu=0, refl_cpu=1),
                          "demo")
        self.out = a.out
        self.prefixes, self.socks = [], []
        self.rows = []   # (what, p50, p99, p999, n) in ns
        self.cdf = []    # (title, data file of "ns cumulative-fraction")

    def app(self, name):
        path = os.path.join(self.apps, name)
        if not os.access(path, os.X_OK):
            raise BenchError(f"{path} is missing: run `make build` first")
        return path

    # ---- the network ----------------------------------------------------

    def net_up(self):
        for n in (NS_TERN, NS_KERN):
            sh("ip", "netns", "add", n)
            sh("ip", "-n", n, "link", "set", "lo", "up")
            for k in ("default", "all"):
                sh(*ns(n, "sysctl", "-qw", f"net.ipv6.conf.{k}.disable_ipv6=1"))
        # One queue each way: the AF_XDP socket binds queue 0.
        sh("ip", "link", "add", VA, "numtxqueues", "1", "numrxqueues", "1", "netns", NS_TERN,
           "type", "veth", "peer", "name", VB, "numtxqueues", "1", "numrxqueues", "1",
           "netns", NS_KERN)
        sh("ip", "-n", NS_TERN, "addr", "add", f"{KERN_SRV_IP}/24", "dev", VA)
        sh("ip", "-n", NS_KERN, "addr", "add", f"{CLIENT_IP}/24", "dev", VB)
        # A veth leaves TCP/UDP checksums to an offload that never happens
        # on the way to an AF_XDP socket: B must send full sums, as a NIC's
        # frames carry.
        sh(*ns(NS_KERN, "ethtool", "-K", VB, "tx", "off"))
        sh("ip", "-n", NS_TERN, "link", "set", VA, "up")
        sh("ip", "-n", NS_KERN, "link", "set", VB, "up")

    def net_down(self):
        for n in (NS_TERN, NS_KERN):
            sh("ip", "netns", "del", n, check=False)
        left = [n for n in sh("ip", "netns", "list", check=False).stdout.split()
                if n in (NS_TERN, NS_KERN)]
        if left:
            raise BenchError(f"namespaces left behind: {' '.join(left)}")

    def tern_on_afxdp(self, name, args, marker):
        prefix = f"tndemo{os.getpid()}{name}"
        self.prefixes.append(prefix)
        cmd = ns(NS_TERN, self.app(name), "-l", "1", "--no-huge", "-m", "256", "--no-pci",
                 "--file-prefix", prefix,
                 f"--vdev=net_af_xdp0,iface={VA},start_queue=0,queue_count=1",
                 "--", "--ip", f"{TERN_IP}/24") + args
        log = os.path.join(self.run.logdir, f"{name}.log")
        return self.run.start(cmd, log, marker, name), log

    # ---- 1. HTTP --------------------------------------------------------

    def http(self):
        step(f"tern-httpd on AF_XDP ({VA} in netns {NS_TERN}, {TERN_IP}:{HTTP_PORT}); "
             "the kernel's curl fetches from the other namespace")
        root = tempfile.mkdtemp(prefix="tern-demo-www-")
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("<!doctype html><title>Tern</title><h1>Served by Tern over AF_XDP</h1>\n")
        try:
            p, log = self.tern_on_afxdp("tern-httpd", ["--port", str(HTTP_PORT), "--root", root],
                                        "httpd: listening")
            try:
                for path in ("/hello", "/index.html"):
                    url = f"http://{TERN_IP}:{HTTP_PORT}{path}"
                    r = sh(*ns(NS_KERN, "curl", "-sS", "--max-time", "5", "-w",
                               "\n%{http_code} %{size_download} bytes in %{time_total} s", url),
                           check=False)
                    body, _, status = r.stdout.rpartition("\n")
                    if r.returncode != 0 or not status.startswith("200"):
                        raise BenchError(f"curl {url} failed ({r.returncode}): {r.stderr}"
                                         f"\n{tail(log)}")
                    print(f"  curl {url}  ->  {status}")
                    print("    " + body.strip().splitlines()[0][:76])
            finally:
                rc = self.run.stop(p)
                if rc != 0:
                    raise BenchError(f"tern-httpd exited {rc}:\n{tail(log)}")
        finally:
            shutil.rmtree(root, ignore_errors=True)

    # ---- 2. echo over the veth -------------------------------------------

    def sockperf_client(self, name, netns, ip, port):
        """sockperf ping-pong with the full log; returns sorted RTTs (ns)."""
        csv = os.path.join(self.run.logdir, f"{name}.csv")
        cmd = ["sockperf", "ping-pong", "-i", ip, "-p", str(port), "-m", "64",
               "-t", str(self.a.seconds), "--full-rtt", "--full-log", csv]
        if netns:
            cmd = ns(netns, *cmd)
        log = os.path.join(self.run.logdir, f"{name}.log")
        code, _, _ = self.run.run_client(cmd, log, self.a.seconds + 30, "sockperf ping-pong")
        if code != 0 or not os.path.exists(csv):
            raise BenchError(f"sockperf ping-pong exited {code}:\n{tail(log)}")
        rtts = []
        for line in open(csv):
            parts = line.split(",")
            if len(parts) == 4 and parts[0].strip().isdigit():
                rtts.append(int(float(parts[3]) * 1000))
        if not rtts:
            raise BenchError(f"sockperf wrote no samples:\n{tail(log)}")
        return sorted(rtts)

    def add_samples(self, what, rtts):
        self.rows.append((what, percentile(rtts, 0.5), percentile(rtts, 0.99),
                          percentile(rtts, 0.999), len(rtts)))
        path = os.path.join(self.out, f"rtt-{len(self.cdf)}.dat")
        with open(path, "w") as f:
            step_n = max(1, len(rtts) // 2000)
            for i in range(0, len(rtts), step_n):
                f.write(f"{rtts[i] / 1000:.3f} {(i + 1) / len(rtts):.6f}\n")
            f.write(f"{rtts[-1] / 1000:.3f} 1.0\n")
        self.cdf.append((what, path))

    def add_hist(self, what, hist_path, rtt_line):
        """A tern-echo --hist file: "ns count" per bucket."""
        pairs = [tuple(int(x) for x in line.split()) for line in open(hist_path) if line.strip()]
        total = sum(c for _, c in pairs)
        if not total:
            raise BenchError(f"{hist_path}: no samples")
        p50, p99, p999, _ = (int(x) for x in rtt_line.groups())
        self.rows.append((what, p50, p99, p999, total))
        path = os.path.join(self.out, f"rtt-{len(self.cdf)}.dat")
        seen = 0
        with open(path, "w") as f:
            for v, c in pairs:
                seen += c
                f.write(f"{v / 1000:.3f} {seen / total:.6f}\n")
        self.cdf.append((what, path))

    def echo_veth(self):
        step("UDP echo round trips from the kernel (netns B) over the veth, "
             f"{self.a.seconds} s each")
        p, log = self.tern_on_afxdp("tern-echo", ["--udp", str(ECHO_PORT), "--sockperf"],
                                    f"echo: udp port {ECHO_PORT}")
        try:
            rtts = self.sockperf_client("veth-tern", NS_KERN, TERN_IP, ECHO_PORT)
        finally:
            rc = self.run.stop(p)
        if rc != 0:
            raise BenchError(f"tern-echo exited {rc}:\n{tail(log)}")
        self.add_samples("kernel client -> tern-echo (AF_XDP)", rtts)
        print(f"  tern-echo on AF_XDP      p50 {rtts[len(rtts) // 2] / 1000:7.2f} us")
        slog = os.path.join(self.run.logdir, "sockperf-server-veth.log")
        s = self.run.start(ns(NS_TERN, "sockperf", "server", "-i", KERN_SRV_IP, "-p",
                              str(SP_PORT)), slog, "sockperf: [tid", "sockperf server")
        try:
            rtts = self.sockperf_client("veth-kernel", NS_KERN, KERN_SRV_IP, SP_PORT)
        finally:
            self.run.stop(s, signal.SIGTERM)
        self.add_samples("kernel client -> kernel sockperf server (veth)", rtts)
        print(f"  kernel sockperf server   p50 {rtts[len(rtts) // 2] / 1000:7.2f} us")

    # ---- 3. end to end -------------------------------------------------------

    def echo_vhost(self):
        step(f"Tern to Tern over vhost-user/virtio-user vs the kernel over loopback, "
             f"{self.a.seconds} s each")
        sock = self.run.sock_path("vhost")
        self.socks.append(sock)
        link = LINKS["vhost"]
        eal, sp = self.run.eal(["-l", "1"], "s", link["refl_vdev"].format(sock=sock))
        self.prefixes.append(sp)
        echo = self.app("tern-echo")
        slog = os.path.join(self.run.logdir, "vhost-server.log")
        s = self.run.start([echo] + eal + ["--", "--ip", "10.0.0.1/24", "--udp", "7",
                                           "--link-timeout", "0"],
                           slog, "echo: udp port 7", "tern-echo server")
        hist = os.path.join(self.out, "tern-vhost.hist")
        try:
            eal, cp = self.run.eal(["-l", "0"], "c", link["gen_vdev"].format(sock=sock),
                                   link["gen_eal"])
            self.prefixes.append(cp)
            clog = os.path.join(self.run.logdir, "vhost-client.log")
            code, _, _ = self.run.run_client(
                [echo] + eal + ["--", "--ip", "10.0.0.2/24", "--client", "10.0.0.1:7", "--udp",
                                "--size", "64", "--duration", str(self.a.seconds),
                                "--hist", hist],
                clog, self.a.seconds + 60, "tern-echo client")
        finally:
            self.run.stop(s)
        out = open(clog, errors="replace").read()
        r = RTT_RE.search(out)
        if code != 0 or not r:
            raise BenchError(f"tern-echo client exited {code}:\n{tail(clog)}")
        self.add_hist("tern-echo <-> tern-echo (vhost-user)", hist, r)
        print(f"  tern <-> tern            p50 {int(r[1]) / 1000:7.2f} us")
        slog = os.path.join(self.run.logdir, "sockperf-server-lo.log")
        s = self.run.start(["taskset", "-c", "1", "sockperf", "server", "-i", "127.0.0.1", "-p",
                            str(SP_PORT)], slog, "sockperf: [tid", "sockperf server")
        try:
            rtts = self.sockperf_client("lo-kernel", None, "127.0.0.1", SP_PORT)
        finally:
            self.run.stop(s, signal.SIGTERM)
        self.add_samples("kernel <-> kernel (sockperf, loopback)", rtts)
        print(f"  kernel <-> kernel        p50 {rtts[len(rtts) // 2] / 1000:7.2f} us")

    # ---- the report -----------------------------------------------------

    def report(self):
        step("UDP echo round trip, 64-byte payload")
        print(f"  {'':48} {'p50 us':>8} {'p99 us':>8} {'p99.9 us':>9} {'samples':>9}")
        for what, p50, p99, p999, n in self.rows:
            print(f"  {what:48} {p50 / 1e3:8.2f} {p99 / 1e3:8.2f} {p999 / 1e3:9.2f} {n:9}")
        tern = next((r for r in self.rows if r[0].startswith("tern-echo <->")), None)
        kern = next((r for r in self.rows if r[0].startswith("kernel <->")), None)
        if tern and kern and tern[1]:
            print(f"  Tern's median round trip is {kern[1] / tern[1]:.1f}x lower than the "
                  "kernel's, end to end.")
        png = os.path.join(self.out, "rtt-cdf.png")
        plots = ", ".join(f"'{path}' using 1:2 with lines lw 2 title '{what}'"
                          for what, path in self.cdf)
        script = "\n".join([
            "set terminal pngcairo size 1000,600 noenhanced",
            f"set output '{png}'",
            "set title 'UDP echo round trip (64 bytes): CDF'",
            "set xlabel 'round trip (us, log scale)'",
            "set ylabel 'fraction of round trips'",
            "set logscale x", "set grid", "set key bottom right", "set yrange [0:1]",
            f"plot {plots}", ""])
        with open(os.path.join(self.out, "rtt-cdf.gp"), "w") as f:
            f.write(script)
        r = sh("gnuplot", input=script, check=False)
        if r.returncode != 0 or not os.path.exists(png):
            raise BenchError(f"gnuplot failed: {r.stderr}")
        print(f"\n  latency CDF: {png}  (data and gnuplot script beside it)")

    def cleanup(self):
        self.run.stop_all()
        self.net_down()
        for sock in self.socks:
            try:
                os.unlink(sock)
            except OSError:
                pass
        self.run.forget_prefixes(*self.prefixes)
        shutil.rmtree(self.run.logdir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seconds", type=int, default=3, help="per RTT run (1..30)")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "demo"))
    a = ap.parse_args()
    if not 1 <= a.seconds <= 30:
        ap.error("--seconds wants 1..30")
    if os.geteuid() != 0:
        print("demo: needs root (network namespaces, AF_XDP)", file=sys.stderr)
        return 2
    for tool in ("sockperf", "curl", "gnuplot", "ethtool"):
        if not shutil.which(tool):
            print(f"demo: {tool} is missing: run `make setup`", file=sys.stderr)
            return 1
    os.makedirs(a.out, exist_ok=True)
    t0 = time.monotonic()
    d = Demo(a)
    # SIGINT/SIGTERM still clean up (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        d.net_up()
        d.http()
        d.echo_veth()
        d.echo_vhost()
        d.report()
    except (BenchError, subprocess.CalledProcessError) as e:
        msg = e.stderr if isinstance(e, subprocess.CalledProcessError) else e
        print(f"demo: {msg}", file=sys.stderr)
        return 1
    finally:
        try:
            d.cleanup()
        except BenchError as e:
            print(f"demo: {e}", file=sys.stderr)
            return 1
    print(f"\ndemo: done in {time.monotonic() - t0:.0f} s; namespaces and processes removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
