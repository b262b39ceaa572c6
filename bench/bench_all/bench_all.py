#!/usr/bin/env python3
"""bench_all: run a profile's matrix (back ends x workloads x connection counts) and write a results folder.

  bench/bench_all/bench_all.py --profile ci|default|full [--build-dir build/release] [--results results]
                               [--backends a,b] [--workloads x,y]

Stdlib-only Python 3.9+. Each run starts `server` (pinned to core 0), waits for its ready line, runs `loadgen`
(pinned to core 1) with --server-pid and --json, appends a row to results.csv (rewritten atomically after every run)
and stops the server by pid. A run that fails is a row with status=failed and a reason; the matrix goes on.
Then the micro suite and the callgrind hot paths (when built), then charts and the report. README.md beside this file
documents the folder, the CSV columns and the profiles.
"""
import argparse
import atexit
import os
import shlex
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from typing import Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import backends as registry  # noqa: E402
import c1m  # noqa: E402
import capacity  # noqa: E402
import columns  # noqa: E402
import extras  # noqa: E402
import machine  # noqa: E402
import profiles  # noqa: E402
import runner  # noqa: E402
import soak  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
KNOWN_WORKLOADS = ("echo", "http", "chat", "compute")
EXIT_OK, EXIT_FAILED_RUNS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def log(message: str) -> None:
    print(f"bench_all: {message}", file=sys.stderr, flush=True)


def mmss(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60:d}:{seconds % 60:02d}"


def parse_args(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="default", choices=sorted(profiles.PROFILES))
    p.add_argument("--build-dir", default=os.path.join(REPO, "build", "release"),
                   help="CMake build folder holding bin/server and bin/loadgen (default: build/release)")
    p.add_argument("--results", default=os.path.join(REPO, "results"), help="parent of the run folder")
    p.add_argument("--run-name", help="run folder name (default: the UTC start time, e.g. 2024-05-01T12-00-00Z)")
    p.add_argument("--backends", help="comma-separated subset of `server --list-backends`")
    p.add_argument("--workloads", help="comma-separated subset of the workloads the server offers")
    p.add_argument("--modes", help="comma-separated subset of loadgen modes (closed, idle, open, storm)")
    p.add_argument("--repetitions", type=int, help="repeat every cell N times, interleaved (gate wall-clock needs 9)")
    p.add_argument("--connections", help="override every cell's counts, e.g. 10,100")
    p.add_argument("--duration", type=float, help="override every cell's measured seconds")
    p.add_argument("--warmup", type=float, help="override every cell's warm-up seconds")
    p.add_argument("--hold", type=float, help="override idle cells' hold seconds")
    p.add_argument("--ready-timeout", type=float, default=15.0, help="seconds a server may take to print ready")
    p.add_argument("--no-pin", action="store_true", help="do not pin server and loadgen to cores")
    p.add_argument("--skip-micro", action="store_true")
    p.add_argument("--skip-callgrind", action="store_true")
    p.add_argument("--server-args", default="", help="extra arguments for every server start, e.g. "
                   "'--added-work 8000' (the knob that tests the gate: scripts/README.md)")
    p.add_argument("--cpu-cap", type=float, help="cap the server at this many cores (cgroup CPU quota) in every "
                   "cell; 0 = uncapped (default: each cell's own cpu_cap)")
    p.add_argument("--search", choices=("capacity", "sweep"), help="instead of the profile's cells, one open-loop "
                   "capacity search (or latency-load sweep) per workload of http/echo (capacity.py)")
    p.add_argument("--slo-ms", type=float, help="capacity/sweep: the p99 bound in ms (default: the cell's, 10)")
    p.add_argument("--slo-achieved", type=float, default=capacity.Bounds.achieved,
                   help="capacity: achieved/offered rate a step needs to pass (default %(default)g)")
    p.add_argument("--search-max-s", type=float, default=capacity.Bounds.max_time_s,
                   help="capacity: seconds one search may take before it stops on that bound (default %(default)g)")
    p.add_argument("--skip-report", action="store_true", help="no charts, no report")
    p.add_argument("--strict", action="store_true", help="exit 1 when any run is failed or degraded")
    p.add_argument("--dry-run", action="store_true", help="print the matrix and its time estimate, run nothing")
    c1m.add_arguments(p)
    p.add_argument("--soak-minutes", type=float, default=10.0, help="soak profile: minutes per back end")
    p.add_argument("--soak-lanes", type=int, default=1,
                   help="soak profile: back ends soaked side by side, N at a time (the soak judges slopes and what is "
                        "left behind, not speed: the lanes share the cores)")
    p.add_argument("--soak-max-slope", type=float, default=soak.DEFAULT_MAX_SLOPE_BYTES_PER_MIN,
                   help="soak profile: RSS bytes per minute after the warm-up above which a row is degraded")
    args = p.parse_args(argv)
    if args.repetitions is not None and args.repetitions < 1:
        p.error("--repetitions must be at least 1")
    if args.cpu_cap is not None and args.cpu_cap < 0:
        p.error("--cpu-cap takes cores >= 0")
    if args.slo_ms is not None and not args.slo_ms > 0:
        p.error("--slo-ms must be positive")
    if not args.search_max_s > 0:
        p.error("--search-max-s must be positive")
    if not 0 < args.slo_achieved <= 1:
        p.error("--slo-achieved is a fraction in (0, 1]")
    if args.connections:
        try:
            args.connections = [int(c) for c in args.connections.split(",") if c]
        except ValueError:
            p.error("--connections takes integers, e.g. 10,100")
    return args


def executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def list_workloads(server: str, backend: str, run_dir: str) -> List[str]:
    """`server --list-workloads` when the server has it; otherwise probe: a workload is offered if the server
    prints its ready line with it."""
    try:
        out = subprocess.run([server, "--list-workloads"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=20)
        names = [line.strip() for line in out.stdout.decode().splitlines() if line.strip()]
        if out.returncode == 0 and names:
            return names
    except (OSError, subprocess.SubprocessError):
        pass
    offered = []
    for workload in KNOWN_WORKLOADS:
        stdout_path = os.path.join(run_dir, "logs", f"probe-{workload}.out")
        proc = runner.spawn([server, "--backend", backend, "--workload", workload, "--port", "0"], stdout_path,
                            os.path.join(run_dir, "logs", f"probe-{workload}.log"))
        try:
            port, _, _ = runner.wait_ready(proc, stdout_path, 10.0)
            if port is not None:
                offered.append(workload)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                runner.reap(proc, runner.SERVER_STOP_TIMEOUT_S)
            runner.finish(proc)
    return offered


def pick(requested: Optional[str], available: List[str], what: str) -> List[str]:
    if not requested:
        return available
    chosen = [x.strip() for x in requested.split(",") if x.strip()]
    unknown = [x for x in chosen if x not in available]
    if unknown:
        raise SystemExit(f"bench_all: unknown {what} {', '.join(unknown)} (server offers {', '.join(available)})")
    return chosen


def make_run_dir(results: str, name: Optional[str]) -> str:
    name = name or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H-%M-%SZ")
    path = os.path.join(os.path.abspath(results), name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.mkdir(path)  # FileExistsError if it exists: never overwrite an earlier run
    for sub in ("logs", "timelines", "hdr"):
        os.mkdir(os.path.join(path, sub))
    return path


class Progress:
    """run i of n, what, elapsed, ETA (from the estimate, scaled by how far the real runs are off it)."""

    def __init__(self, specs: List[profiles.RunSpec]):
        self.estimates = capacity.estimates(specs)
        self.started = time.monotonic()
        self.done_estimate = 0.0

    def before(self, index: int, spec: profiles.RunSpec) -> None:
        elapsed = time.monotonic() - self.started
        scale = elapsed / self.done_estimate if self.done_estimate > 0 else 1.0
        eta = sum(self.estimates[index:]) * scale
        log(f"[{index + 1}/{len(self.estimates)}] {spec.label} (rep {spec.repetition + 1})"
            f"  elapsed {mmss(elapsed)}  ETA {mmss(eta)}")
        self.done_estimate += self.estimates[index]


def summarize(row: Dict[str, object]) -> str:
    def f(key, fmt):
        v = row.get(key)
        return fmt.format(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else "-"
    text = (f"{row['status']}: rps {f('rps', '{:.0f}')}, p99 {f('p99_us', '{:.0f}')} us, "
            f"rss/conn {f('rss_per_conn_bytes', '{:.0f}')} B, total/conn {f('total_per_conn_bytes', '{:.0f}')} B, "
            f"errors {f('errors', '{}')}")
    if row.get("search"):
        text += (f", capacity {f('capacity_rps_at_slo', '{:.0f}')}/s at p99 <= {f('slo_ms', '{:g}')} ms"
                 f" in {f('search_steps', '{}')} steps" if row["search"] == "capacity"
                 else f", offered {f('offered_fraction', '{:.0%}')} of {f('capacity_rps_at_slo', '{:.0f}')}/s")
    if row.get("reason"):
        text += f" ({row['reason']})"
    return text


def find_plot_python() -> Optional[str]:
    try:
        out = subprocess.run([os.path.join(REPO, "scripts", "find-python")], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    path = out.stdout.decode().strip()
    return path if out.returncode == 0 and path else None


def charts_and_report(run_dir: str) -> None:
    plot_python = find_plot_python()
    if plot_python:
        log(f"charts: {plot_python} scripts/charts.py")
        code = subprocess.run([plot_python, os.path.join(REPO, "scripts", "charts.py"), run_dir]).returncode
        if code != 0:
            log(f"charts: failed (exit {code}); the CSV is complete, the report goes on without some charts")
    else:
        log("charts: skipped: no python3 here can import matplotlib. Install python3-matplotlib (scripts/setup), "
            f"then run: scripts/charts.py {run_dir} && scripts/report.py {run_dir}")
    code = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "report.py"), run_dir]).returncode
    if code != 0:
        log(f"report: failed (exit {code})")


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    profile = profiles.PROFILES[args.profile]
    if args.search:
        profile = profiles.search_profile(profile, args.search, args.cpu_cap)
    build_dir = os.path.abspath(args.build_dir)
    bin_dir = os.path.join(build_dir, "bin")
    server, loadgen = os.path.join(bin_dir, "server"), os.path.join(bin_dir, "loadgen")
    for binary in (server, loadgen):
        if not executable(binary):
            log(f"{binary} is missing; build first: cmake --preset release && cmake --build --preset release "
                "(or run scripts/bench, which does both)")
            return EXIT_USAGE
    try:
        registry_text = registry.list_text(server)
        registered = {b.name: b for b in registry.parse(registry_text)}
        backends = [registered[name] for name in pick(args.backends, list(registered), "back end")]
    except (RuntimeError, ValueError, OSError, subprocess.SubprocessError) as e:
        log(str(e))
        return EXIT_USAGE
    if not backends:
        log("the server lists no back ends")
        return EXIT_USAGE

    # Everything from here on may start children: make sure none outlives us, whatever happens.
    atexit.register(runner.kill_all_groups)  # children, then CPU-cap cgroups

    def on_signal(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    limits = machine.limits()
    largest = profiles.largest_connections(limits["open_files_hard"] or 1024, limits["pid_max"] or 32768)
    repetitions = args.repetitions  # None: each cell's own count (Cell.repetitions), else the profile's
    overrides = {k: v for k, v in (("modes", args.modes and args.modes.split(",")),
                                   ("connections", args.connections), ("duration_s", args.duration),
                                   ("warmup_s", args.warmup), ("hold_s", args.hold), ("cpu_cap", args.cpu_cap),
                                   ("slo_ms", args.slo_ms)) if v is not None}

    if args.dry_run:
        workloads = pick(args.workloads, list(KNOWN_WORKLOADS), "workload")
        specs = profiles.expand(profile, backends, workloads, largest, args.repetitions, overrides)
        estimates = capacity.estimates(specs)
        for i, (spec, estimate) in enumerate(zip(specs, estimates)):
            print(f"{i + 1:4d} {spec.label} rep {spec.repetition + 1} ~{estimate:.0f}s")
        total = sum(estimates)
        print(f"{len(specs)} runs, about {mmss(total + profile.extras_s)} ({mmss(total)} of runs + "
              f"{mmss(profile.extras_s)} of micro, callgrind, charts); budget {mmss(profile.budget_s)}"
              "; chat/compute rows only if the server offers them")
        return EXIT_OK

    try:
        run_dir = make_run_dir(args.results, args.run_name)
    except FileExistsError as e:
        log(f"{e.filename} exists; refusing to overwrite an earlier run")
        return EXIT_USAGE
    log(f"results in {run_dir}")
    try:
        offered = list_workloads(server, backends[0].name, run_dir)
    except KeyboardInterrupt:
        runner.kill_all_groups()
        return EXIT_INTERRUPTED
    workloads = pick(args.workloads, offered, "workload")
    missing = [w for w in KNOWN_WORKLOADS if w not in offered]
    if missing:
        log(f"the server does not offer {', '.join(missing)} yet; those cells are left out")

    specs = profiles.expand(profile, backends, workloads, largest, args.repetitions, overrides)
    server_args = shlex.split(args.server_args)
    for spec in specs:
        spec.server_args = spec.server_args + server_args
    pinning = runner.Pinning(enabled=not args.no_pin and profile.name != "c1m")  # c1m.py says why
    meta = {
        "profile": profile.name, "started_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished_utc": None, "state": "running", "backends": [b.name for b in backends], "workloads": workloads,
        "workloads_offered": offered,
        "repetitions": repetitions or profile.repetitions, "largest_connections": largest, "pinning": pinning.describe(),
        "overrides": overrides, "server_args": server_args, "slo_achieved": args.slo_achieved, "planned_runs": len(specs), "server": server,
        "loadgen": loadgen,
        "command": [sys.executable] + [os.path.abspath(__file__)] + argv,
    }
    meta.update(machine.collect(REPO, build_dir))
    meta_path = os.path.join(run_dir, "meta.json")
    extras.write_json_atomic(meta_path, meta)
    # The registry as the server printed it, so readers of this folder take names, order and capabilities from it.
    extras.write_text_atomic(os.path.join(run_dir, registry.FILE_NAME), registry_text)
    if profile.name == "soak":  # its own orchestration: every back end in turn under mixed load (soak.py)
        return soak.run(args, run_dir, backends, workloads, server_args, server, loadgen, meta, log,
                        None if args.skip_report else charts_and_report)
    csv_path = os.path.join(run_dir, "results.csv")
    rows: List[Dict[str, object]] = []
    extras.write_csv_atomic(csv_path, columns.HEADER, rows)

    log(f"profile {profile.name}: {len(specs)} runs over back ends {', '.join(meta['backends'])}; "
        f"workloads {', '.join(workloads)}; pinning {pinning.describe()}")
    progress = Progress(specs)
    interrupted = False
    knowledge = capacity.Knowledge()
    bounds = capacity.Bounds(achieved=args.slo_achieved, max_time_s=args.search_max_s)
    try:
        if profile.name == "c1m":  # its own orchestration: steps up to a million, memory checks, stop reasons
            c1m.run(args, profile, backends, run_dir, server, loadgen, rows, csv_path)
            specs, args.skip_micro = [], True
        for index, spec in enumerate(specs):
            progress.before(index, spec)
            if spec.search:  # several loadgen runs against one server; one row per search or sweep point
                new_rows = capacity.run(spec, profile.name, index + 1, run_dir, server, loadgen, pinning,
                                        args.ready_timeout, knowledge, bounds, log)
            else:
                new_rows = [runner.run_one(spec, profile.name, index + 1, run_dir, server, loadgen, pinning,
                                           args.ready_timeout)]
            rows.extend(new_rows)
            extras.write_csv_atomic(csv_path, columns.HEADER, rows)
            for row in new_rows:
                log(f"    {summarize(row)}")
                if row["status"] == "failed" and row.get("server_stderr_tail"):
                    log(f"    server stderr: {row['server_stderr_tail']}")
        meta["state"] = "measuring extras"
        if not args.skip_micro:
            meta["micro"] = extras.run_micro(bin_dir, run_dir, list(profile.micro_args), profile.micro_timeout_s, log)
        if not args.skip_callgrind and profile.callgrind:
            meta["callgrind"] = extras.run_callgrind(bin_dir, run_dir, 300.0, log, backends, server_args)
    except runner.Interrupted as e:
        interrupted = True
        rows.extend(e.earlier + [e.row])
    except KeyboardInterrupt:
        interrupted = True
    if interrupted:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # finish the bookkeeping; the children are already gone
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        runner.kill_all_groups()
        extras.write_csv_atomic(csv_path, columns.HEADER, rows)
        log(f"interrupted after {len(rows)} of {len(specs)} runs; the rows so far are in {csv_path}")

    counts = {s: sum(1 for r in rows if r.get("status") == s) for s in columns.STATUSES}
    meta.update(state="interrupted" if interrupted else "complete", completed_runs=len(rows), status_counts=counts,
                finished_utc=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                wall_s=round(time.monotonic() - progress.started, 1))
    extras.write_json_atomic(meta_path, meta)
    if interrupted:
        log(f"charts and report skipped; to make them: scripts/charts.py {run_dir} && scripts/report.py {run_dir}")
        return EXIT_INTERRUPTED
    if not args.skip_report:
        charts_and_report(run_dir)
    log(f"done in {mmss(time.monotonic() - progress.started)}: {counts['ok']} ok, {counts['degraded']} degraded, "
        f"{counts['failed']} failed -> {run_dir}")
    for row in rows:
        if row["status"] != "ok":
            log(f"  {row['status']}: {row['backend']}{'+' + row['variant'] if row.get('variant') else ''} "
                f"{row['workload']} {row['mode']} {row['connections']}: {row.get('reason')}")
    if args.strict and (counts["failed"] or counts["degraded"]):
        return EXIT_FAILED_RUNS
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
