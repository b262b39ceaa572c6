#!/usr/bin/env python3
"""compare_openloop.py: loadgen's open-loop latencies against an independent wrk2-style client (issue 13.5). Stdlib only.

Each repetition starts one fresh server (`server --backend B --workload http`, pinned to core 0 like bench_all) per
client and runs that client against it (pinned to core 1), the clients alternating within the repetition so that
drift on this shared machine hits all alike. Clients (--client, repeatable):
  ref        openloop_client --wait spin   (bench/reference/openloop_client.cpp: shares no code with loadgen)
  ref-block  openloop_client --wait block  (sleeps to each due: what a sleeping client core costs)
  NAME       a loadgen given as --loadgen NAME=PATH [ARGS...] (default: loadgen=BUILD/bin/loadgen), run
             `--mode open --server-pid PID --perf ''` (client and server CPU time; no perf stat on the server, which
             would cost the server a tracepoint hit per syscall that the reference client's server does not pay)
--nice -20 gives the pinned pair its cores on a machine shared with other jobs (CFS weight ~87x a nice-0 task; with
autogroup scheduling the script's session group gets it too), the closest this machine comes to a quiet moment; the load average at the end is stored with the runs.
Prints median (min..max) of corrected and uncorrected p50/p99 per client, loadgen's late_sends / worst lateness /
client_cpu_util, and writes every run to --json.

  bench/reference/compare_openloop.py --build-dir build/ci --runs 5 --json bench/reference/openloop_compare.json
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import Server, summary  # noqa: E402  (compare.py's pinned server start/stop and median (min..max))

REFERENCE_CLIENTS = ("ref", "ref-block")
KEYS = ("p50_us", "p99_us", "uncorrected_p50_us", "uncorrected_p99_us", "achieved_rate", "late_sends",
        "worst_lateness_us", "client_cpu_util")


def niced(args):
    return ["nice", "-n", str(args.nice)] if args.nice else []


def run_ref(bin_dir, port, args, wait):
    out = subprocess.run(["taskset", "-c", "1"] + niced(args) + [os.path.join(bin_dir, "openloop_client"), "--port", str(port),
                          "-c", str(args.connections), "--rate", str(args.rate), "-d", str(args.duration),
                          "--warmup", str(args.warmup), "--wait", wait],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    r = json.loads(out)
    return {"p50_us": r["corrected_p50_us"], "p99_us": r["corrected_p99_us"],
            "uncorrected_p50_us": r["uncorrected_p50_us"], "uncorrected_p99_us": r["uncorrected_p99_us"],
            "achieved_rate": r["achieved_rps"], "late_sends": r["late_sends"],
            "worst_lateness_us": r["worst_lateness_us"], "lateness_p50_us": r["lateness_p50_us"],
            "lateness_p99_us": r["lateness_p99_us"], "client_cpu_util": None}


def run_loadgen(command, port, pid, args):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        argv = ["taskset", "-c", "1"] + niced(args) + [command[0], "--target", f"127.0.0.1:{port}",
                "--workload", "http", "--mode", "open", "--rate", str(args.rate), "-c", str(args.connections),
                "--duration", str(args.duration), "--warmup", str(args.warmup), "--threads", "1",
                "--server-pid", str(pid), "--json", f.name, "-q", "--perf", ""] + command[1:]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, timeout=120)
        r = json.load(open(f.name))
    return {k: r.get(k) for k in KEYS} | {"status": r.get("status"), "server_cpu_util": r.get("server_cpu_util")}


def one_run(bin_dir, backend, client, loadgens, args):
    s = Server(niced(args) + [os.path.join(bin_dir, "server"), "--backend", backend, "--workload", "http", "--port", "0"])
    try:
        if client in REFERENCE_CLIENTS:
            return run_ref(bin_dir, s.port, args, "block" if client == "ref-block" else "spin")
        return run_loadgen(loadgens[client], s.port, s.pid, args)
    finally:
        s.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default="build/ci")
    ap.add_argument("--backend", default="coro-local")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rate", type=float, default=20000)
    ap.add_argument("--connections", type=int, default=100)
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--client", action="append",
                    help="clients to alternate: ref, ref-block or a --loadgen NAME (repeatable; default: ref, loadgen)")
    ap.add_argument("--loadgen", action="append", default=[],
                    help="NAME=PATH [ARGS...]: a loadgen build (and extra options) to compare (repeatable)")
    ap.add_argument("--nice", type=int, default=0,
                    help="run server and clients at this nice value (-20: they win their cores from other jobs)")
    ap.add_argument("--label", default="", help="a note stored with the runs (e.g. which loadgen build)")
    ap.add_argument("--json", help="write every run here (tmp + rename)")
    args = ap.parse_args()
    bin_dir = os.path.join(args.build_dir, "bin")
    if args.nice and os.path.exists("/proc/self/autogroup"):
        # With autogroup scheduling, nice only weighs tasks within one session: the session's group needs it too.
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(args.nice))
    loadgens = {"loadgen": [os.path.join(bin_dir, "loadgen")]}
    for spec in args.loadgen:
        name, _, command = spec.partition("=")
        loadgens[name] = command.split()
    clients = args.client or ["ref", "loadgen"]
    unknown = [c for c in clients if c not in REFERENCE_CLIENTS and c not in loadgens]
    if unknown:
        ap.error(f"unknown client(s) {unknown}: give them with --loadgen NAME=PATH")
    runs = {c: [] for c in clients}
    for r in range(args.runs):
        for c in clients:
            runs[c].append(one_run(bin_dir, args.backend, c, loadgens, args))
            print(f"run {r + 1}/{args.runs} {c}: {runs[c][-1]}", file=sys.stderr)
    columns = ("p50_us", "uncorrected_p50_us", "p99_us", "uncorrected_p99_us", "late_sends", "worst_lateness_us",
               "client_cpu_util")
    print("client | " + " | ".join(columns) + "   (median (min..max) of %d runs)" % args.runs)
    for c in clients:
        print(c + " | " + " | ".join(summary([x.get(k) for x in runs[c]]) for k in columns))
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump({"argv": sys.argv, "label": args.label, "nice": args.nice,
                       "load_average": open("/proc/loadavg").read().split()[:3], "loadgens": {c: loadgens[c] for c in clients if c in loadgens}, "backend": args.backend, "rate": args.rate,
                       "connections": args.connections, "duration_s": args.duration, "runs": runs,
                       "medians": {c: {k: statistics.median([x[k] for x in runs[c] if x.get(k) is not None] or [0])
                                       for k in columns} for c in clients},
                       "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, f, indent=1)
        os.replace(args.json + ".tmp", args.json)


if __name__ == "__main__":
    main()
