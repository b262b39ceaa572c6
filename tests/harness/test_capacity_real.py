#!/usr/bin/env python3
"""bench_all --search capacity with a real server in a real CPU cap (issue 13.4): coro-local, http, 100 connections,
half a core, ~1 s steps, a 25 s search bound and a 500 ms SLO (the test checks the mechanics, and must hold on a
loaded machine). The row must carry a capacity, the cap, the steps and their side
file; the server must have run inside the cap (the cgroup's cpu.stat counted periods in which it ran, and no step's
server used more than the cap), and no cgroup may be left behind.
Usage: test_capacity_real.py BIN_DIR (the folder holding server and loadgen). Exit 77 = skipped (no cgroup here).
"""
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "bench", "bench_all"))
import cgroup  # noqa: E402

SKIP = 77


def main(bin_dir: str) -> int:
    try:
        probe = cgroup.CpuCap(0.5, cgroup.unique_name("probe")).create()
        probe.remove()
    except cgroup.CpuCapError as e:
        print(f"skipped: {e}")
        return SKIP
    build = tempfile.mkdtemp(prefix="tvt-capacity-")
    try:
        os.symlink(os.path.abspath(bin_dir), os.path.join(build, "bin"))
        results = os.path.join(build, "results")
        argv = [sys.executable, os.path.join(REPO, "bench", "bench_all", "bench_all.py"), "--build-dir", build,
                "--results", results, "--run-name", "capacity", "--profile", "ci", "--search", "capacity",
                "--cpu-cap", "0.5", "--slo-ms", "500", "--backends", "coro-local", "--workloads", "http", "--connections", "100",
                "--duration", "0.8", "--warmup", "0.2", "--search-max-s", "25", "--skip-micro", "--skip-callgrind",
                "--skip-report"]
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=100)
        err = out.stderr.decode()
        print(err[-3000:])
        if out.returncode != 0:
            print(f"FAIL: bench_all exited {out.returncode}")
            return 1
        run_dir = os.path.join(results, "capacity")
        with open(os.path.join(run_dir, "results.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        failures = []
        if len(rows) != 1:
            failures.append(f"{len(rows)} rows, expected 1")
        row = rows[0]
        checks = [
            (row["status"] in ("ok", "degraded"), f"status {row['status']}: {row['reason']}"),
            (row["search"] == "capacity" and row["cpu_cap"] == "0.5" and row["slo_ms"] == "500.0",
             f"search/cpu_cap/slo_ms {row['search']}/{row['cpu_cap']}/{row['slo_ms']}"),
            (float(row["capacity_rps_at_slo"] or 0) > 1000, f"capacity {row['capacity_rps_at_slo']}"),
            (int(row["search_steps"] or 0) >= 2, f"search_steps {row['search_steps']}"),
            (float(row["p99_us"] or 1e9) <= 500_000, f"p99 {row['p99_us']} us at capacity"),
        ]
        failures += [why for ok, why in checks if not ok]
        steps = [json.loads(line) for line in open(os.path.join(run_dir, row["steps_log"]))]
        if len(steps) != int(row["search_steps"] or -1):
            failures.append(f"steps file has {len(steps)} lines, row says {row['search_steps']}")
        # In the cap: no step's server may have used more than the cap (+10 % for the window's edges).
        busiest = max((s.get("server_cpu_util") or 0) for s in steps)
        if busiest > 0.55:
            failures.append(f"a step's server used {busiest:.2f} cores under a 0.5-core cap: not capped")
        # ... and it ran in the cgroup: the quota's accounting saw it active (a load-independent check).
        with open(os.path.join(run_dir, row["log"] + ".cgroup")) as f:
            stat = f.read()
        periods = re.search(r"throttled in (\d+) of (\d+) periods", stat)
        if "cpu.cfs_quota_us 5000 per 10000 us" not in stat and "cpu.max 5000 10000" not in stat:
            failures.append(f"cap not as asked: {stat!r}")
        # An empty cgroup counts a period or two after its quota is set (the period timer's start); a server serving
        # several seconds of steps in it counts hundreds (714 in an 8.7 s search here).
        if not periods or int(periods.group(2)) < 20:
            failures.append(f"the cgroup never saw the server run: {stat!r}")
        left = [d for d in os.listdir("/sys/fs/cgroup/cpu") if d.startswith(cgroup.PREFIX + "-")] \
            if os.path.isdir("/sys/fs/cgroup/cpu") else []
        mine = [d for d in left if d.startswith(f"{cgroup.PREFIX}-") and "coro-local" in d]
        if mine:
            failures.append(f"cgroups left behind: {mine}")
        print(f"capacity {row['capacity_rps_at_slo']}/s in {row['search_steps']} steps, {row['elapsed_s']} s; "
              f"busiest step {busiest:.2f} cores; {stat.strip()}")
        for why in failures:
            print(f"FAIL: {why}")
        return 1 if failures else 0
    finally:
        shutil.rmtree(build, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: test_capacity_real.py BIN_DIR")
    sys.exit(main(sys.argv[1]))
