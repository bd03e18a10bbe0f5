#!/usr/bin/env python3
"""HTTP benchmark (issue: Apps): tern-httpd driven by tern-load over
vhost-user/virtio-user against nginx driven by wrk over the kernel's
loopback, on the same two CPUs, in one run.

    python3 bench/run_http.py [--build-dir build] [--duration 5]
        [--connections 16] [--rounds 3] [--gen-cpu 0] [--refl-cpu 1]
        [--no-results] [--keep-logs]

Both servers answer GET /hello with the same 14-byte body and keep the
connection alive; both clients hold --connections connections, one
request in flight on each (wrk does not pipeline), for --duration s.

  tern   tern-httpd (--refl-cpu, net_vhost) <- tern-load (--gen-cpu,
         net_virtio_user): its summary line (requests/s, p50, p99).
  kernel nginx, one worker pinned to --refl-cpu, `return 200` from the
         configuration (no file I/O) <- `wrk -t1 --latency` pinned to
         --gen-cpu over 127.0.0.1.

Rounds alternate tern and kernel; the medians count.  Targets: requests/s
>= 5x nginx's and p99 <= nginx's / 10.  Prints a table, writes
bench/out/http.json and (unless --no-results) the generated block of the
"HTTP" section of bench/RESULTS.md.  It reports, it does not gate: exit 0
whatever the numbers, non-zero only when a benchmark could not run.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import socket
import subprocess
import sys
import tempfile

from benchlib import (LINKS, OUT_DIR, ROOT, BenchError, Runner, cpu_busy, cpu_seconds, free_port,
                      machine_name, plot_percentiles, tail, update_results_md)

TARGET_RPS_X = 5.0
TARGET_P99_X = 10.0
BODY = "Hello, world!\n"
SERVER_IP, CLIENT_IP, HTTP_PORT = "10.0.0.1", "10.0.0.2", 80
BEGIN = "<!-- run_http.py: begin generated block -->"
END = "<!-- run_http.py: end generated block -->"
SECTION = "HTTP: tern-httpd + tern-load vs nginx + wrk"

LOAD_RE = re.compile(r"summary: requests (\d+) non2xx (\d+) errors (\d+) timeouts (\d+) "
                     r"rps ([\d.]+) .*?p50_us ([\d.]+) .*?p99_us ([\d.]+)")
WRK_RPS_RE = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_PCT_RE = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
WRK_ERR_RE = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
WRK_NON2XX_RE = re.compile(r"Non-2xx or 3xx responses: (\d+)")
UNIT_US = {"us": 1.0, "ms": 1e3, "s": 1e6}

NGINX_CONF = """daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port} reuseport;
        location = /hello {{
            default_type text/plain;
            return 200 "{body}";
        }}
    }}
}}
"""



class Bench(Runner):
    def __init__(self, args):
        super().__init__(args, "http")
        self.bindir = os.path.abspath(args.build_dir)

    def app(self, name):
        path = os.path.join(self.bindir, "apps", name)
        if not os.access(path, os.X_OK):
            raise BenchError(f"{path} is missing (build first)")
        return path

    def tern_once(self):
        a = self.args
        sock = self.sock_path("vhost")
        link = LINKS["vhost"]
        seal, sprefix = self.eal(["-l", str(a.refl_cpu)], "s", link["refl_vdev"].format(sock=sock))
        scmd = [self.app("tern-httpd")] + seal + ["--", "--ip", f"{SERVER_IP}/24", "--port",
                                                  str(HTTP_PORT), "--link-timeout", "0"]
        batch = ["--task-batch", str(a.task_batch)] if a.task_batch else []
        scmd += batch
        slog = os.path.join(self.logdir, f"{self.next_name('httpd')}.log")
        ceal, cprefix = self.eal(["-l", str(a.gen_cpu)], "c", link["gen_vdev"].format(sock=sock),
                                 link["gen_eal"])
        ccmd = [self.app("tern-load")] + ceal + [
            "--", "--ip", f"{CLIENT_IP}/24", "--url", f"http://{SERVER_IP}:{HTTP_PORT}/hello",
            "--connections", str(a.connections), "--duration", str(a.duration)] + batch
        clog = os.path.join(self.logdir, f"{self.next_name('load')}.log")
        try:
            p = self.start(scmd, slog, "httpd: listening", "tern-httpd")
            try:
                busy0, scpu0 = cpu_busy(), cpu_seconds(p.pid)
                code, ccpu, wall = self.run_client(ccmd, clog, a.duration + 60, "tern-load")
                busy1, scpu1 = cpu_busy(), cpu_seconds(p.pid)
            finally:
                self.stop(p)
        finally:
            try:
                os.unlink(sock)
            except OSError:
                pass
            self.forget_prefixes(sprefix, cprefix)
        out = open(clog, errors="replace").read()
        m = LOAD_RE.search(out)
        if code != 0 or not m:
            raise BenchError(f"tern-load exited {code} without a summary:\n  {' '.join(ccmd)}\n"
                             f"{tail(clog)}\nserver:\n{tail(slog)}")
        scpu = (scpu1 - scpu0) if scpu0 is not None and scpu1 is not None else 0.0
        return {"requests": int(m[1]), "errors": int(m[2]) + int(m[3]) + int(m[4]),
                "rps": float(m[5]), "p50_us": float(m[6]), "p99_us": float(m[7]),
                "others_cpu": self.others_share(busy0, busy1, wall, scpu, ccpu),
                "server_cmd": scmd, "client_cmd": ccmd}

    def kernel_once(self):
        a = self.args
        port = free_port()
        d = tempfile.mkdtemp(prefix="tern-http-nginx-", dir=self.logdir)
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(dir=d, port=port, body=BODY.replace("\n", "\\n")))
        scmd = ["taskset", "-c", str(a.refl_cpu), a.nginx, "-c", conf, "-p", d, "-e",
                os.path.join(d, "error.log")]
        slog = os.path.join(self.logdir, f"{self.next_name('nginx')}.log")
        ccmd = ["taskset", "-c", str(a.gen_cpu), a.wrk, "-t1", f"-c{a.connections}",
                f"-d{int(round(a.duration))}s", "--latency", f"http://127.0.0.1:{port}/hello"]
        clog = os.path.join(self.logdir, f"{self.next_name('wrk')}.log")
        p = subprocess.Popen(scmd, stdout=open(slog, "w"), stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        self.procs.append(p)
        try:
            self.wait_port(port, p, slog)
            busy0, scpu0 = cpu_busy(), cpu_seconds(p.pid)
            code, ccpu, wall = self.run_client(ccmd, clog, a.duration + 60, "wrk")
            busy1, scpu1 = cpu_busy(), cpu_seconds(p.pid)
        finally:
            self.stop(p, signal.SIGQUIT)
        out = open(clog, errors="replace").read()
        rps = WRK_RPS_RE.search(out)
        pct = {int(k): float(v) * UNIT_US[u] for k, v, u in WRK_PCT_RE.findall(out)}
        if code != 0 or not rps or 99 not in pct:
            raise BenchError(f"wrk exited {code} without results:\n  {' '.join(ccmd)}\n"
                             f"{tail(clog)}")
        errs = WRK_ERR_RE.search(out)
        non2xx = WRK_NON2XX_RE.search(out)
        scpu = (scpu1 - scpu0) if scpu0 is not None and scpu1 is not None else 0.0
        return {"requests": None, "rps": float(rps[1]), "p50_us": pct[50], "p99_us": pct[99],
                "errors": (sum(int(x) for x in errs.groups()) if errs else 0)
                + (int(non2xx[1]) if non2xx else 0),
                "others_cpu": self.others_share(busy0, busy1, wall, scpu, ccpu),
                "server_cmd": scmd, "client_cmd": ccmd}

    def wait_port(self, port, p, log):
        import time
        deadline = time.monotonic() + self.args.ready_timeout
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise BenchError(f"nginx exited {p.returncode}:\n{tail(log)}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        raise BenchError(f"nginx not listening after {self.args.ready_timeout} s:\n{tail(log)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--task-batch", type=int, default=0,
                    help="tern's --task-batch for both processes (0: its default)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--gen-cpu", type=int, default=0)
    ap.add_argument("--refl-cpu", type=int, default=1)
    ap.add_argument("--mem", type=int, default=256)
    ap.add_argument("--ready-timeout", type=float, default=30)
    ap.add_argument("--quiet-wait", type=float, default=5)
    ap.add_argument("--max-disturb", type=float, default=0.10)
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    ap.add_argument("--out", default=os.path.join(OUT_DIR, "http.json"))
    ap.add_argument("--no-results", action="store_true")
    ap.add_argument("--keep-logs", action="store_true")
    a = ap.parse_args()
    if a.duration < 1 or a.connections < 1 or a.rounds < 1:
        ap.error("--duration, --connections and --rounds want positive values")
    b = Bench(a)
    runs = {"tern": [], "kernel": []}
    try:
        for r in range(a.rounds):
            for what, fn in (("tern", b.tern_once), ("kernel", b.kernel_once)):
                b.wait_quiet()
                res = fn()
                runs[what].append(res)
                print(f"  round {r + 1} {what:<6} {res['rps']:12.0f} req/s  p50 "
                      f"{res['p50_us']:8.1f} us  p99 {res['p99_us']:8.1f} us  errors "
                      f"{res['errors']}  others {100 * res['others_cpu']:.0f}%",
                      file=sys.stderr, flush=True)
    except BenchError as e:
        print(f"run_http: {e}", file=sys.stderr)
        b.stop_all()
        return 1
    finally:
        b.stop_all()
        if not a.keep_logs:
            shutil.rmtree(b.logdir, ignore_errors=True)

    def med(what, key):
        return statistics.median(x[key] for x in runs[what])

    t_rps, k_rps = med("tern", "rps"), med("kernel", "rps")
    t_p99, k_p99 = med("tern", "p99_us"), med("kernel", "p99_us")
    t_p50, k_p50 = med("tern", "p50_us"), med("kernel", "p50_us")
    rps_x = t_rps / k_rps if k_rps else 0
    p99_x = k_p99 / t_p99 if t_p99 else 0
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cmd = "python3 bench/run_http.py " + " ".join(sys.argv[1:])
    block = [
        f"Run {when} on {machine_name()}: `{cmd.strip()}`; {a.rounds} rounds of "
        f"{a.duration:g} s, {a.connections} connections, GET /hello ({len(BODY)}-byte body), "
        "medians.",
        "",
        "| | requests/s | p50 (us) | p99 (us) | errors |",
        "|---|---:|---:|---:|---:|",
        f"| tern-httpd + tern-load, vhost-user/virtio-user | {t_rps:,.0f} | {t_p50:.1f} | "
        f"{t_p99:.1f} | {sum(x['errors'] for x in runs['tern'])} |",
        f"| nginx + wrk, kernel loopback | {k_rps:,.0f} | {k_p50:.1f} | {k_p99:.1f} | "
        f"{sum(x['errors'] for x in runs['kernel'])} |",
        "",
        f"- requests/s: {rps_x:.1f}x nginx's (target >= {TARGET_RPS_X:g}x): "
        f"{'PASS' if rps_x >= TARGET_RPS_X else 'FAIL'}",
        f"- p99: {p99_x:.1f}x lower than nginx's (target >= {TARGET_P99_X:g}x): "
        f"{'PASS' if p99_x >= TARGET_P99_X else 'FAIL'}",
        "- rounds: " + "; ".join(
            f"{r['rps'] / k['rps']:.1f}x rps, {k['p99_us'] / r['p99_us']:.1f}x p99"
            for r, k in zip(runs["tern"], runs["kernel"]) if k["rps"] and r["p99_us"]),
    ]
    png = plot_percentiles("http", "GET /hello: tern-httpd + tern-load vs nginx + wrk (medians)", [
        ("tern-httpd + tern-load (vhost-user)", {"p50": t_p50, "p99": t_p99}),
        ("nginx + wrk (kernel loopback)", {"p50": k_p50, "p99": k_p99})])
    if png:
        block += ["", f"![latency percentiles]({png})"]
    print("\n".join(block))
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump({"when": when, "args": vars(a), "runs": runs}, f, indent=1, default=str)
    if not a.no_results:
        update_results_md(BEGIN, END, SECTION, block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
