"""The soak profile (issue 19): every back end in turn for S minutes under mixed load, watched for slope, not level.

Per back end, side by side (a server serves one workload, so http and chat get a server each, of the same back end,
both pinned to the server core):
- the http server: `loadgen --mode open` at HTTP_RATE over HTTP_CONNECTIONS connections, and `loadgen churn` at
  CHURN_RATE connections a second (connect, one request, close), which also samples the server every second;
- the chat server: `loadgen` chat groups (CHAT_CONNECTIONS in groups of 100 at CHAT_RATE messages a second), sampled
  by `loadgen churn --rate 0`.
Each server gives one row (mode `soak`). Its timeline is the sampler's (`second,churned,errors,server_rss_bytes,
server_fds,server_threads,server_cpu_s`); after the warm-up (the first quarter, at least 30 s) the RSS slope is fitted
by least squares against time (`rss_slope_bytes_per_min`) and, where connections churned, against connections churned
(`rss_slope_bytes_per_kconn`). A slope over `--soak-max-slope` (bytes per minute), or fds or threads above their idle
counts once the load stopped and the sampler's settle budget ran out, makes the row `degraded` with the reason.
"""
import csv
import json
import os
import signal
import subprocess
import threading
import time
from concurrent import futures
from datetime import datetime, timezone
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import columns
import extras
import runner
from profiles import RunSpec

HTTP_CONNECTIONS = 10_000
HTTP_RATE = 2_000          # requests a second over all http connections: a fixed open-loop load every back end carries
CHURN_RATE = 1_000         # connections a second opened, used once and closed
CHAT_CONNECTIONS = 1_000   # in groups of 100
CHAT_RATE = 50             # messages a second over all members: 5,000 deliveries a second
WARMUP_FRACTION = 0.25     # of the samples, left out of the fit: heaps, arenas and pools grow to their working size
MIN_WARMUP_S = 30
SETTLE_S = 10              # after the load, for the server's fds and threads to return to idle
DEFAULT_MAX_SLOPE_BYTES_PER_MIN = 1024.0
PEAK_WINDOW_S = 3           # a step of RSS this soon after a new peak of open fds counts as the peak's (growth_at_peaks)
HIGH_WATER_SHARE = 0.8      # of the growth at peaks, for a slope to be named a high-water mark in the row's reason
READY_TIMEOUT_S = 15.0


# ---------------------------------------------------------------------------------------------- judgement (pure)

def least_squares_slope(xs: Sequence[float], ys: Sequence[float]) -> Optional[float]:
    """dy/dx of the least-squares line through the points; None with fewer than 2 distinct x."""
    n = len(xs)
    if n < 2:
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sxx


def read_timeline(path: str) -> List[Dict[str, float]]:
    """The sampler's timeline rows as numbers; rows with an unreadable RSS (-1: the server was gone) are left out."""
    rows = []
    try:
        with open(path, newline="") as f:
            for raw in csv.DictReader(f):
                try:
                    row = {k: float(v) for k, v in raw.items() if k is not None}
                except (TypeError, ValueError):
                    continue
                if row.get("server_rss_bytes", -1) >= 0:
                    rows.append(row)
    except OSError:
        pass
    return rows


def under_load(samples: List[Dict[str, float]]) -> List[Dict[str, float]]:
    """The samples while the load ran: up to the last one with at least half the run's median of open fds. The
    sampler goes on through the settle, when the load generator's connections have closed and a server gives memory
    back (a thread per connection most of all): fitted, that fall would read as shrinking and hide a leak."""
    fds = [s.get("server_fds", -1.0) for s in samples]
    known = sorted(f for f in fds if f >= 0)
    if not known:
        return samples
    half_median = known[len(known) // 2] / 2
    last = max((i for i, f in enumerate(fds) if f >= half_median), default=len(samples) - 1)
    return samples[:last + 1]


def warmup_seconds(samples: List[Dict[str, float]]) -> float:
    if not samples:
        return 0.0
    span = samples[-1]["second"] - samples[0]["second"]
    return samples[0]["second"] + max(MIN_WARMUP_S, WARMUP_FRACTION * span)


def rss_floor(rss: Sequence[float]) -> List[float]:
    """Each sample's floor: the least of it and its neighbours. A stall on a loaded machine piles up connections in
    flight (threads, buffers) for a second and RSS spikes with them, then falls back; a leak raises the floor."""
    return [min(rss[max(0, i - 1):i + 2]) for i in range(len(rss))]


def rss_slopes(samples: List[Dict[str, float]]) -> Tuple[Optional[float], Optional[float]]:
    """(bytes per minute, bytes per 1,000 churned connections) of the RSS floor after the warm-up, by least squares;
    None where not measurable."""
    samples = under_load(samples)
    start = warmup_seconds(samples)
    fit = [s for s in samples if s["second"] >= start]
    rss = rss_floor([s["server_rss_bytes"] for s in fit])
    per_s = least_squares_slope([s["second"] for s in fit], rss)
    per_conn = least_squares_slope([s.get("churned", 0.0) for s in fit], rss)
    return (per_s * 60 if per_s is not None else None, per_conn * 1000 if per_conn is not None else None)


def growth_at_peaks(samples: List[Dict[str, float]]) -> Tuple[int, int, float, float]:
    """How much of the RSS floor's growth after the warm-up came with a new peak of the server's open descriptors:
    (steps up, of them at a peak, bytes up, of them at a peak). A leak grows with connections churned, step by step;
    a high-water mark (fiber stacks kept for reuse, pools, malloc arenas sized for the most connections open at once)
    grows only when a stall piles connections up past their previous peak, and is flat between. A step counts as at
    a peak when the running maximum of fds rose within PEAK_WINDOW_S seconds before it (the floor lags a second, and
    the per-second sample misses peaks between samples)."""
    samples = under_load(samples)
    start = warmup_seconds(samples)
    floor = rss_floor([s["server_rss_bytes"] for s in samples])
    peak, rose_at = -1.0, []
    for s in samples:
        fds = s.get("server_fds", -1.0)
        if fds > peak:
            peak = fds
            rose_at.append(s["second"])
    steps = at_peak = 0
    up = up_at_peak = 0.0
    for i in range(1, len(samples)):
        second, grew = samples[i]["second"], floor[i] - floor[i - 1]
        if second < start or grew <= 0:
            continue
        steps += 1
        up += grew
        if any(second - PEAK_WINDOW_S <= t <= second for t in rose_at):
            at_peak += 1
            up_at_peak += grew
    return steps, at_peak, up, up_at_peak


def judge(slope_per_min: Optional[float], max_slope_per_min: float, idle: Dict[str, float],
          after: Dict[str, float]) -> List[str]:
    """The reasons a soak row is degraded (empty: it is not). `idle`/`after`: the sampler's before_/after_ counts."""
    reasons = []
    if slope_per_min is None:
        reasons.append("RSS slope not measurable (too few samples after the warm-up)")
    elif slope_per_min > max_slope_per_min:
        reasons.append(f"RSS grows {slope_per_min:.0f} B/min after the warm-up (threshold {max_slope_per_min:.0f})")
    for what in ("fds", "threads"):
        before, end = idle.get(what), after.get(what)
        if before is None or end is None or before < 0 or end < 0:
            reasons.append(f"server {what} unreadable")
        elif end > before:
            reasons.append(f"{end - before:.0f} {what} left behind ({end:.0f} at the end, {before:.0f} idle)")
    return reasons


# ---------------------------------------------------------------------------------------------- orchestration

class Part:
    """One server of a back end's soak, its load and its sampler."""

    def __init__(self, backend: str, workload: str, connections: int, loadgen_args: List[str], churn_rate: int,
                 minutes: float, run_dir: str, server_args: List[str]):
        self.spec = RunSpec(backend=backend, workload=workload, mode="soak", connections=connections,
                            duration_s=minutes * 60, warmup_s=5.0, hold_s=0.0, loadgen_args=loadgen_args,
                            server_args=list(server_args))
        self.churn_rate = churn_rate
        self.paths = runner.RunPaths(run_dir, self.spec.stem)
        self.churn_json = os.path.join(run_dir, "logs", self.spec.stem + ".churn.json")
        self.churn_out = os.path.join(run_dir, "logs", self.spec.stem + ".churn.log")
        self.server = self.sampler = self.load = None
        self.port = self.pid = None
        self.row: Dict[str, object] = {}


def _wait_line(proc: subprocess.Popen, path: str, text: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with open(path, errors="replace") as f:
                if text in f.read():
                    return True
        except OSError:
            pass
        time.sleep(runner.POLL_S)
    return False


def _read_json(path: str) -> Dict[str, object]:
    try:
        with open(path) as f:
            record = json.load(f)
        return record if isinstance(record, dict) else {}
    except (OSError, ValueError):
        return {}


def _start(part: Part, server: str, loadgen: str, pinning: runner.Pinning) -> Optional[str]:
    """Server, then its sampler (its idle sample comes before any load). Returns why it could not, or None."""
    spec = part.spec
    part.server = runner.spawn(pinning.wrap(pinning.server_core, [server, "--backend", spec.backend, "--workload",
                                                                  spec.workload, "--port", "0"] + spec.server_args),
                               part.paths.server_out, part.paths.server_err)
    part.port, part.pid, failure = runner.wait_ready(part.server, part.paths.server_out, READY_TIMEOUT_S)
    if failure:
        return failure
    part.sampler = runner.spawn(pinning.wrap(pinning.loadgen_core, [
        loadgen, "churn", "--target", f"127.0.0.1:{part.port}", "--rate", str(part.churn_rate),
        "--duration", f"{spec.duration_s + 600:g}", "--server-pid", str(part.pid), "--settle", str(SETTLE_S),
        "--json", part.churn_json, "--timeline", part.paths.timeline]), part.churn_out)
    if not _wait_line(part.sampler, part.churn_out, "churn ready", READY_TIMEOUT_S):
        return "loadgen churn did not start: " + " | ".join(runner.tail(part.churn_out, 3))
    return None


def _start_load(part: Part, loadgen: str, pinning: runner.Pinning) -> None:
    argv = runner.loadgen_argv(loadgen, part.spec, part.port, part.pid, part.paths)
    argv[argv.index("--mode") + 1] = "open" if part.spec.workload == "http" else "closed"
    # The row's timeline is the sampler's (RSS, fds, threads, CPU every second); loadgen's own goes beside it.
    argv[argv.index("--timeline") + 1] = os.path.join(part.paths.run_dir, "timelines", part.spec.stem + ".loadgen.csv")
    part.load = runner.spawn(pinning.wrap(pinning.loadgen_core, argv), part.paths.loadgen_log)


def _finish_row(part: Part, max_slope: float, failure: Optional[str], load_code: Optional[int]) -> None:
    row = part.row
    if failure:
        runner._worsen(row, "failed", failure)
        return
    runner._merge_loadgen_json(row, part.paths, load_code)
    row["mode"] = "soak"  # the load generator ran open or closed loop; the row is the soak's (charts pick it by mode)
    churn = _read_json(part.churn_json)
    samples = read_timeline(part.paths.timeline)
    per_min, per_kconn = rss_slopes(samples)
    row["rss_slope_bytes_per_min"] = round(per_min, 1) if per_min is not None else None
    row["rss_slope_bytes_per_kconn"] = (round(per_kconn, 1) if per_kconn is not None and part.churn_rate > 0
                                        else None)
    row["churned_connections"] = churn.get("churned")
    idle = {k: churn.get("before_" + k) for k in ("fds", "threads")}
    after = {k: churn.get("after_" + k) for k in ("fds", "threads")}
    row["server_fds_idle"], row["server_fds_after"], row["threads_after"] = idle["fds"], after["fds"], after["threads"]
    if not churn:
        runner._worsen(row, "failed", "loadgen churn wrote no record: " + " | ".join(runner.tail(part.churn_out, 3)))
        return
    if churn.get("errors"):
        runner._worsen(row, "degraded", f"churn: {churn['errors']} connections failed")
    if churn.get("dropped"):
        runner._worsen(row, "degraded", f"churn: {churn['dropped']} connections not started in time (rate not kept)")
    for reason in judge(per_min, max_slope, idle, after):
        runner._worsen(row, "degraded", reason)
    if per_min is not None and per_min > max_slope:
        steps, at_peak, up, up_at_peak = growth_at_peaks(samples)
        if up > 0 and up_at_peak >= HIGH_WATER_SHARE * up:
            runner._worsen(row, "degraded", f"{at_peak} of its {steps} RSS steps ({up_at_peak / 1024:.0f} of "
                           f"{up / 1024:.0f} KiB) came with a new peak of open connections: a high-water mark, "
                           "not growth with connections churned")


def soak_backend(backend: str, minutes: float, max_slope: float, index: int, run_dir: str, server: str,
                 loadgen: str, pinning: runner.Pinning, workloads: List[str],
                 server_args: List[str]) -> List[Dict[str, object]]:
    parts = []
    if "http" in workloads:
        parts.append(Part(backend, "http", HTTP_CONNECTIONS, ["--rate", str(HTTP_RATE)], CHURN_RATE, minutes, run_dir,
                          server_args))
    if "chat" in workloads:
        parts.append(Part(backend, "chat", CHAT_CONNECTIONS,
                          ["--groups", str(CHAT_CONNECTIONS // 100), "--rate", str(CHAT_RATE)], 0, minutes, run_dir,
                          server_args))
    failures: Dict[int, Optional[str]] = {}
    codes: Dict[int, Optional[int]] = {}
    started = time.monotonic()
    interrupted = False
    try:
        for i, part in enumerate(parts):
            part.row = runner.new_row(part.spec, "soak", index + i)
            part.row["log"] = part.paths.rel(os.path.join(run_dir, "logs", part.spec.stem))
            failures[i] = _start(part, server, loadgen, pinning)
        for i, part in enumerate(parts):
            if failures[i] is None:
                _start_load(part, loadgen, pinning)
        deadline = time.monotonic() + max(runner.loadgen_timeout_s(p.spec) for p in parts)
        while time.monotonic() < deadline and any(p.load is not None and p.load.poll() is None for p in parts):
            time.sleep(1.0)
        for i, part in enumerate(parts):
            if part.load is not None:
                codes[i] = part.load.poll()
                if codes[i] is None:
                    failures[i] = f"loadgen did not finish within {runner.loadgen_timeout_s(part.spec):.0f} s; killed"
                    runner.finish(part.load)
            if part.sampler is not None and part.sampler.poll() is None:
                part.sampler.send_signal(signal.SIGINT)  # stop churning; it settles and writes its record
        for part in parts:
            if part.sampler is not None and runner.reap(part.sampler, SETTLE_S + 30) is None:
                runner.finish(part.sampler)
            if part.server is not None and part.server.poll() is not None:
                i = parts.index(part)
                died = runner.describe_exit(part.server.returncode)
                failures[i] = failures[i] or f"server died during the run ({died})"
        for i, part in enumerate(parts):
            _finish_row(part, max_slope, failures[i], codes.get(i))
    except KeyboardInterrupt:
        interrupted = True
        for part in parts:
            runner._worsen(part.row, "failed", "interrupted (bench_all got SIGINT/SIGTERM) before this run finished")
        raise
    finally:
        # Handlers can only be set in the main thread; in a lane (a worker thread) the main thread's handling covers it.
        in_main = threading.current_thread() is threading.main_thread()
        previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)} if in_main else {}
        try:
            for part in parts:
                for proc in (part.load, part.sampler):
                    if proc is not None:
                        runner.finish(proc)
                if part.server is not None:
                    runner._stop_server(part.server, part.row, interrupted)
                    if part.row.get("status") in ("failed", "degraded"):
                        part.row["server_stderr_tail"] = " | ".join(runner.tail(part.paths.server_err))
                part.row["elapsed_s"] = round(time.monotonic() - started, 3)
                part.row["timeline"] = (part.paths.rel(part.paths.timeline) if os.path.exists(part.paths.timeline)
                                        else "")
                part.row["hdr_log"] = part.paths.rel(part.paths.hdr) if os.path.exists(part.paths.hdr) else ""
                if not part.row.get("status"):
                    part.row["status"] = "ok"
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
    return [p.row for p in parts]


def run(args, run_dir: str, backends, workloads: List[str], server_args: List[str], server: str, loadgen: str,
        meta: Dict[str, object], log: Callable[[str], None], report: Optional[Callable[[str], None]]) -> int:
    """bench_all's hook: the whole soak profile (http and chat, of `workloads`). Returns bench_all's exit code."""
    pinning = runner.Pinning(enabled=not args.no_pin)
    workloads = [w for w in ("http", "chat") if w in workloads]
    lanes = max(1, min(args.soak_lanes, len(backends)))
    meta.update(soak_minutes=args.soak_minutes, soak_max_slope_bytes_per_min=args.soak_max_slope, soak_lanes=lanes,
                pinning=pinning.describe(), planned_runs=len(backends) * len(workloads))
    meta_path = os.path.join(run_dir, "meta.json")
    extras.write_json_atomic(meta_path, meta)
    csv_path = os.path.join(run_dir, "results.csv")
    rows: List[Dict[str, object]] = []
    extras.write_csv_atomic(csv_path, columns.HEADER, rows)
    started = time.monotonic()
    interrupted = False
    done: Dict[int, List[Dict[str, object]]] = {}  # back end's position -> its rows; written in registry order

    def one(i: int, name: str) -> List[Dict[str, object]]:
        log(f"[{i + 1}/{len(backends)}] soak {name}: {args.soak_minutes:g} min")
        return soak_backend(name, args.soak_minutes, args.soak_max_slope, i * len(workloads) + 1, run_dir,
                            server, loadgen, pinning, workloads, server_args)

    def record(i: int, new_rows: List[Dict[str, object]]) -> None:
        done[i] = new_rows
        for row in new_rows:
            log(f"    {row['backend']} {row['workload']}: {row['status']}: slope {row.get('rss_slope_bytes_per_min')} "
                f"B/min, {row.get('rss_slope_bytes_per_kconn')} B/kconn, churned {row.get('churned_connections')}"
                + (f" ({row['reason']})" if row.get("reason") else ""))
        rows[:] = [row for k in sorted(done) for row in done[k]]
        extras.write_csv_atomic(csv_path, columns.HEADER, rows)

    try:
        if lanes == 1:
            for i, backend in enumerate(backends):
                record(i, one(i, backend.name))
        else:
            # Lanes are threads: each waits on its own child processes, so the GIL is no bottleneck. A child dies
            # with the thread that started it (PR_SET_PDEATHSIG), and pool threads live until every lane is done.
            with futures.ThreadPoolExecutor(max_workers=lanes) as pool:
                pending = {pool.submit(one, i, b.name): i for i, b in enumerate(backends)}
                try:
                    while pending:
                        finished, _ = futures.wait(pending, timeout=1.0, return_when=futures.FIRST_COMPLETED)
                        for future in finished:
                            record(pending.pop(future), future.result())
                except KeyboardInterrupt:
                    for future in pending:
                        future.cancel()
                    runner.kill_all_groups()  # the running lanes see their processes gone and finish their rows
                    raise
    except KeyboardInterrupt:
        interrupted = True
        runner.kill_all_groups()
    extras.write_csv_atomic(csv_path, columns.HEADER, rows)
    counts = {s: sum(1 for r in rows if r.get("status") == s) for s in columns.STATUSES}
    meta.update(state="interrupted" if interrupted else "complete", completed_runs=len(rows), status_counts=counts,
                finished_utc=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                wall_s=round(time.monotonic() - started, 1))
    extras.write_json_atomic(meta_path, meta)
    if interrupted:
        return 130
    if report is not None:
        report(run_dir)
    log(f"soak done: {counts['ok']} ok, {counts['degraded']} degraded, {counts['failed']} failed -> {run_dir}")
    return 1 if args.strict and (counts["failed"] or counts["degraded"]) else 0
