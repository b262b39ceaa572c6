#!/usr/bin/env python3
"""compare.py: the `threads` back end (and its variants) against minimal_thread_server, measured the same way,
back to back (issue 20). Stdlib only.

For each server and each repetition, interleaved so that drift hits every server alike:
- idle: loadgen --mode idle holds N connections (each made one request); rss_per_conn_bytes as bench_all records it.
- cpu:  a closed-loop http run of fixed duration; server CPU = utime+stime from /proc/PID/stat around the run, divided
        by the requests loadgen counted (warm-up 0, so the window is the run); syscalls and context switches from
        `perf stat -e raw_syscalls:sys_enter,context-switches` wrapped around the server from its start, so threads
        created later are counted (perf -p would miss them). The counts include start-up and connection set-up,
        the same for every server.
Server pinned to core 0, loadgen to core 1 (taskset). Prints a table (median and min..max) and writes --json.

  bench/reference/compare.py --build-dir build/ci --runs 5 --json /tmp/compare.json
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

READY = re.compile(r"ready port=(\d+) pid=(\d+)")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def servers(bin_dir, variants):
    out = {"minimal": [os.path.join(bin_dir, "minimal_thread_server")]}
    base = [os.path.join(bin_dir, "server"), "--backend", "threads", "--workload", "http", "--port", "0"]
    for v in variants:
        name, _, args = v.partition("=")
        out[name] = base + (args.split() if args else [])
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15)


class Server:
    def __init__(self, argv, perf_out=None):
        argv = ["taskset", "-c", "0"] + argv
        if perf_out:
            argv = ["perf", "stat", "-x,", "-o", perf_out, "-e", "raw_syscalls:sys_enter,context-switches", "--"] + argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        m = READY.search(line)
        if not m:
            self.proc.kill()
            raise RuntimeError(f"no ready line from {argv}: {line!r}")
        self.port, self.pid = int(m.group(1)), int(m.group(2))

    def stop(self):
        os.kill(self.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait()


def loadgen(bin_dir, port, pid, args):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run(["taskset", "-c", "1", os.path.join(bin_dir, "loadgen"), "--target", f"127.0.0.1:{port}",
                        "--workload", "http", "--server-pid", str(pid), "--json", f.name, "-q"] + args,
                       check=True, stdout=subprocess.DEVNULL, timeout=300)
        return json.load(open(f.name))


def idle_run(bin_dir, argv, connections, hold_s):
    s = Server(argv)
    try:
        record = loadgen(bin_dir, s.port, s.pid, ["--mode", "idle", "-c", str(connections), "--hold", str(hold_s),
                                                   "--duration", str(hold_s)])
    finally:
        s.stop()
    return {"rss_per_conn_bytes": record.get("rss_per_conn_bytes"),
            "kernel_per_conn_bytes": record.get("kernel_per_conn_bytes"), "status": record.get("status")}


def cpu_run(bin_dir, argv, connections, duration_s):
    with tempfile.NamedTemporaryFile(suffix=".perf") as perf:
        s = Server(argv, perf.name)
        try:
            before = cpu_seconds(s.pid)
            record = loadgen(bin_dir, s.port, s.pid, ["--mode", "closed", "-c", str(connections), "--duration",
                                                       str(duration_s), "--warmup", "0"])
            after = cpu_seconds(s.pid)
        finally:
            s.stop()
        counts = {}
        for line in open(perf.name):
            parts = line.strip().split(",")
            if len(parts) > 2 and parts[0].replace(".", "").isdigit():
                counts[parts[2]] = float(parts[0])
    requests = record["requests"] or 1
    return {"cpu_us_per_request": (after - before) * 1e6 / requests, "requests": requests, "rps": record.get("rps"),
            "p99_us": record.get("p99_us"), "errors": record.get("errors"),
            "syscalls_per_request": counts.get("raw_syscalls:sys_enter", 0) / requests,
            "ctx_switches_per_request": counts.get("context-switches", 0) / requests}


def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    return f"{statistics.median(values):,.2f} ({min(values):,.2f}..{max(values):,.2f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default="build/ci")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--idle-connections", type=int, default=10000)
    ap.add_argument("--hold", type=float, default=2.0)
    ap.add_argument("--cpu-connections", type=int, default=100)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME=server args for the threads back end (repeatable; default: threads=)")
    ap.add_argument("--skip", choices=["idle", "cpu"], action="append", default=[])
    ap.add_argument("--json", help="write every run here")
    args = ap.parse_args()
    bin_dir = os.path.join(args.build_dir, "bin")
    table = servers(bin_dir, args.variant or ["threads="])
    runs = {name: {"idle": [], "cpu": []} for name in table}
    for r in range(args.runs):
        for name, argv in table.items():
            if "idle" not in args.skip:
                runs[name]["idle"].append(idle_run(bin_dir, argv, args.idle_connections, args.hold))
            if "cpu" not in args.skip:
                runs[name]["cpu"].append(cpu_run(bin_dir, argv, args.cpu_connections, args.duration))
            print(f"run {r + 1}/{args.runs} {name}: {runs[name]['idle'][-1:]} {runs[name]['cpu'][-1:]}",
                  file=sys.stderr)
    columns = [("idle", "rss_per_conn_bytes"), ("cpu", "cpu_us_per_request"), ("cpu", "syscalls_per_request"),
               ("cpu", "ctx_switches_per_request"), ("cpu", "rps"), ("cpu", "p99_us")]
    print("server | " + " | ".join(c for _, c in columns))
    for name in table:
        print(name + " | " + " | ".join(summary([x.get(c) for x in runs[name][kind]]) for kind, c in columns))
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump({"argv": sys.argv, "servers": {n: " ".join(a) for n, a in table.items()}, "runs": runs,
                       "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, f, indent=1)
        os.replace(args.json + ".tmp", args.json)


if __name__ == "__main__":
    main()
