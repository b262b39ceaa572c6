"""Capacity at a latency SLO (mutilate's --search) and the latency-load sweep, for cells with `search` set.

Capacity: the highest offered open-loop rate R at which a short loadgen run (`--mode open --rate R`) achieves
>= `achieved` x R (default 99 %) with corrected p99 <= the SLO (default 10 ms), no errors and every connection
established. `search()` brackets, then bisects:
- start: this back end's capacity in this cell from an earlier repetition (expansion factor 1 + precision: two steps
  when it held), else its own capacity at another connection count of this workload, cap and SLO (the nearest count;
  factor 1 + 2 x precision: under the cap the count moves capacity by tens of per cent, not by factors), else another
  back end's in the same cell and run (factor 1.5), else START_RATE (factor 2); the factor squares after each step
  that does not close the bracket (up to 2), so a wrong hint costs a step or two, not a dozen;
- bisection at the geometric midpoint until highest pass / lowest fail <= 1 + precision (default 5 %);
- bounds: at most max_steps loadgen runs and max_time_s seconds per search, rates within [min_rate, max_rate]. A search
  that stops on a bound is `degraded` with the bound named; one that finds no passing rate is `failed`; one that
  passes at max_rate reports max_rate, `degraded` ("above the bound").
One server process serves every step of a search (restarting it per step costs more than the step), in its CPU cap
(runner.Served). Each step is one loadgen run of the cell's warmup + duration (short: ~1 s windows), without timeline
or HdrHistogram files; its summary is one JSON line in logs/<stem>.steps.jsonl. The search's row is the loadgen record
of the highest passing step plus capacity_rps_at_slo, slo_ms, search_steps and steps_log.

Sweep: SWEEP_FRACTIONS of that back end's capacity in the cell (from a capacity row earlier in the run, else searched
first, which adds its capacity row), one loadgen run and one row each (`offered_fraction`), all against one server:
the latency-load curve (scripts/chart_latency_load.py).
"""
import json
import math
import os
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Tuple

import extras
import runner
import profiles
from profiles import RunSpec

START_RATE = 20_000.0
# Eight offered rates (issue 13.4 asks for 8-12 from 10 % to 120 %): four spread over the flat part, where latency
# hardly moves, and four from 85 % up, where the knee is.
SWEEP_FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.85, 1.0, 1.1, 1.2)
NOT_CAP_BOUND_SHARE = 0.5    # at capacity a capped server below this share of its cap is flagged (below)

# For estimates (bench_all --dry-run, the progress ETA), from the two quiet default runs results/reference/
# default-2026-11-30-A and -B (130 searches at 1,000 connections, 1.0 s steps): a step takes 1.167 s, i.e. loadgen's
# start and exit (STEP_OVERHEAD_S) plus the connections' set-up and tear-down (profiles.setup_s)
# plus warmup + duration; the server's start and stop add SEARCH_OVERHEAD_S once. A first search took 6.3 steps (6.2 in B), a
# repetition that starts from its own earlier capacity 4.0 (3.9): the capacity moves by more than the 5 % precision
# between repetitions about half the time. A search that starts from the back end's capacity at another count:
# COUNT_SEARCH_STEPS: 5.6 in results/reference/full-2026-11-30 (http 5.1 at 100, 6.9 at 10,000; echo 5.2 at both;
# search() takes 3 steps when the capacity there is 10 % below to 5 % above the hint, 5 up to 20 % below or 30 % above,
# 7 at 30 % below: tests/harness/test_capacity.py).
STEP_OVERHEAD_S = 0.09
SEARCH_OVERHEAD_S = 0.15
FIRST_SEARCH_STEPS, REPEAT_SEARCH_STEPS, COUNT_SEARCH_STEPS = 6.3, 4.0, 5.6


@dataclass(frozen=True)
class Bounds:
    slo_ms: float = 10.0
    achieved: float = 0.99        # achieved / offered a passing step needs
    precision: float = 0.05       # stop once highest pass / lowest fail <= 1 + precision
    max_steps: int = 12
    max_time_s: float = 90.0
    min_rate: float = 100.0
    max_rate: float = 2_000_000.0


@dataclass
class Step:
    rate: float
    passed: bool
    why: str                       # the failed criterion, "" when passed
    record: Dict[str, object] = field(default_factory=dict)   # the step's row (loadgen record merged)
    elapsed_s: float = 0.0
    fatal: bool = False            # the server died: the search cannot go on

    def summary(self, index: int) -> Dict[str, object]:
        keys = ("achieved_rate", "p50_us", "p99_us", "p999_us", "errors", "connections_established",
                "server_cpu_util", "client_cpu_util", "bound", "late_sends", "status", "reason")
        out: Dict[str, object] = {"step": index, "rate": round(self.rate, 1), "passed": self.passed, "why": self.why}
        out.update({k: self.record.get(k) for k in keys})
        out["elapsed_s"] = round(self.elapsed_s, 3)
        return out


@dataclass
class Outcome:
    capacity: Optional[float]
    steps: List[Step]
    status: str                    # ok | degraded | failed
    reason: str
    best: Optional[Step]           # the highest passing step


def judge(record: Dict[str, object], rate: float, bounds: Bounds) -> Tuple[bool, str]:
    """Did a step at offered `rate` meet the SLO? (passed, the first criterion it missed)."""
    def number(key: str) -> Optional[float]:
        v = record.get(key)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    if record.get("status") == "failed":
        return False, f"run failed: {record.get('reason') or 'no reason'}"
    connections, established = number("connections"), number("connections_established")
    if connections is not None and (established or 0) < connections:
        return False, f"{established or 0:.0f} of {connections:.0f} connections established"
    if (number("errors") or 0) > 0:
        return False, f"{number('errors'):.0f} errors"
    achieved = number("achieved_rate")
    if achieved is None:
        achieved = number("rps")
    # loadgen counts the replies that arrive inside the window; with a short window the requests still in flight at
    # its end (rate x mean latency, Little's law) are a visible share of the count though the server kept up: they
    # count as carried. A server that falls behind loses far more than that (its backlog grows every second).
    duration, mean_us = number("duration_s"), number("mean_us")
    in_flight = rate * mean_us / 1e6 / duration if duration and mean_us is not None else 0.0
    if achieved is None or achieved + in_flight < bounds.achieved * rate:
        return False, f"achieved {achieved or 0:.0f}/s < {bounds.achieved:.0%} of {rate:.0f}/s"
    p99 = number("p99_us")
    if p99 is None or p99 > bounds.slo_ms * 1000.0:
        return False, f"p99 {'?' if p99 is None else f'{p99 / 1000:.3g} ms'} > SLO {bounds.slo_ms:g} ms"
    return True, ""


def search(step: Callable[[float], Step], bounds: Bounds, start: float, factor: float,
           clock: Callable[[], float] = time.monotonic) -> Outcome:
    """Bracketing, then geometric bisection, within bounds (module docstring). `step(rate)` runs one step."""
    lo: Optional[Step] = None      # highest passing step
    hi: Optional[float] = None     # lowest failing rate above lo
    steps: List[Step] = []
    started = clock()
    rate = min(max(start, bounds.min_rate), bounds.max_rate)

    def outcome(status: str, reason: str) -> Outcome:
        return Outcome(lo.rate if lo else None, steps, status, reason, lo)

    while True:
        if len(steps) >= bounds.max_steps or clock() - started >= bounds.max_time_s:
            spent = (f"{bounds.max_steps} steps" if len(steps) >= bounds.max_steps
                     else f"{bounds.max_time_s:g} s")
            where = (f"bracket {lo.rate:.0f}..{hi:.0f}/s" if lo and hi else
                     f"passing up to {lo.rate:.0f}/s, no failing rate found" if lo else
                     f"no passing rate down to {hi:.0f}/s")
            return outcome("degraded" if lo else "failed", f"search bound hit ({spent}): {where}")
        rate = float(round(rate))  # loadgen takes whole requests per second
        s = step(rate)
        steps.append(s)
        if s.fatal:
            return outcome("failed", f"search stopped at {rate:.0f}/s: {s.why}")
        # Probes lie strictly between the highest pass and the lowest fail, so each step narrows the bracket.
        if s.passed:
            lo = s
        else:
            hi = rate
        if lo and hi:
            if hi / lo.rate <= (1.0 + bounds.precision) * (1.0 + 1e-4):  # slack: rates are whole requests/s
                return outcome("ok", "")
            rate = math.sqrt(lo.rate * hi)
        elif lo:
            if lo.rate >= bounds.max_rate:
                return outcome("degraded", f"passed at the upper bound {bounds.max_rate:.0f}/s: capacity is above it")
            rate = min(lo.rate * factor, bounds.max_rate)
            factor = min(factor * factor, max(factor, 2.0))
        else:
            if rate <= bounds.min_rate:
                return outcome("failed", f"no passing rate down to the lower bound {bounds.min_rate:.0f}/s "
                                         f"(there: {s.why})")
            rate = max(rate / factor, bounds.min_rate)
            factor = min(factor * factor, max(factor, 2.0))


class Knowledge:
    """Capacities found so far in this run, to start later searches near them and to scale sweeps."""

    def __init__(self):
        self.found: Dict[Tuple, float] = {}

    @staticmethod
    def cell(spec: RunSpec) -> Tuple:
        return (spec.workload, spec.connections, spec.cpu_cap, spec.slo_ms, tuple(spec.server_args))

    def key(self, spec: RunSpec) -> Tuple:
        return (spec.backend, spec.variant) + self.cell(spec)

    def remember(self, spec: RunSpec, capacity: float) -> None:
        self.found[self.key(spec)] = capacity

    def own(self, spec: RunSpec) -> Optional[float]:
        return self.found.get(self.key(spec))

    def other_count(self, spec: RunSpec) -> Optional[float]:
        """This back end's capacity at the connection count nearest to spec's among the others of its cell."""
        mine = self.key(spec)
        counts = {k[3]: v for k, v in self.found.items() if k[:3] + k[4:] == mine[:3] + mine[4:] and k[3] != mine[3]}
        if not counts:
            return None
        nearest = min(counts, key=lambda c: (abs(math.log(c / spec.connections)), c))
        return counts[nearest]

    def hint(self, spec: RunSpec) -> str:
        """Where a search of spec starts: "own" (an earlier repetition), "count" (another connection count),
        "peer" (another back end in this cell) or "" (START_RATE)."""
        if self.own(spec):
            return "own"
        if self.other_count(spec):
            return "count"
        return "peer" if any(k[2:] == self.cell(spec) for k in self.found) else ""

    def start(self, spec: RunSpec, precision: float = 0.05) -> Tuple[float, float]:
        """(first rate, expansion factor) for a search of spec. From this back end's own earlier capacity the first
        step is one precision away, so a capacity that held within the precision costs two steps."""
        hint = self.hint(spec)
        if hint == "own":
            return self.own(spec), 1.0 + precision
        if hint == "count":
            return self.other_count(spec), 1.0 + 2 * precision
        if hint == "peer":
            peers = [v for k, v in self.found.items() if k[2:] == self.cell(spec)]
            return sorted(peers)[len(peers) // 2], 1.5
        return START_RATE, 2.0


def step_s(spec: RunSpec) -> float:
    return STEP_OVERHEAD_S + profiles.setup_s(spec.connections) + spec.warmup_s + spec.duration_s


SEARCH_STEPS = {"own": REPEAT_SEARCH_STEPS, "count": COUNT_SEARCH_STEPS, "peer": FIRST_SEARCH_STEPS,
                "": FIRST_SEARCH_STEPS}


def estimate_s(spec: RunSpec, knowledge: Knowledge) -> float:
    """Wall time of one capacity or sweep spec, given what the run knows before it (see estimates()): a search's
    steps from where it starts, a sweep's points (plus a search first when no capacity of its cell is known)."""
    steps = 0.0 if spec.search == "sweep" and knowledge.own(spec) else SEARCH_STEPS[knowledge.hint(spec)]
    points = len(SWEEP_FRACTIONS) if spec.search == "sweep" else 0
    return SEARCH_OVERHEAD_S + (steps + points) * step_s(spec)


def estimates(specs: List[RunSpec]) -> List[float]:
    """Every spec's estimate in run order: a search's depends on the capacities found before it (Knowledge)."""
    knowledge = Knowledge()
    out = []
    for spec in specs:
        if not spec.search:
            out.append(spec.estimate_s())
            continue
        out.append(estimate_s(spec, knowledge))
        if not knowledge.own(spec):
            knowledge.remember(spec, 1.0)  # only whether a capacity is known matters here
    return out


class _Searcher:
    """One server for a search or a sweep, and the loadgen runs against it."""

    def __init__(self, spec: RunSpec, row: Dict[str, object], served: runner.Served, run_dir: str, loadgen: str,
                 pinning: runner.Pinning, bounds: Bounds):
        self.spec, self.row, self.served, self.run_dir = spec, row, served, run_dir
        self.loadgen, self.pinning, self.bounds = loadgen, pinning, bounds
        self.lines: List[str] = []
        self.steps_path = os.path.join(run_dir, "logs", spec.stem + ".steps.jsonl")

    def run_at(self, rate: float, stem: str, files: bool) -> Tuple[Dict[str, object], Optional[str]]:
        """One loadgen run at `rate`: its row (a fresh one) and how the server died, if it did."""
        spec = replace(self.spec, mode="open",
                       loadgen_args=_with_rate(self.spec.loadgen_args, rate))
        paths = runner.RunPaths(self.run_dir, stem)
        row = runner.new_row(spec, str(self.row["profile"]), int(self.row["run_index"]))
        row["log"] = paths.rel(os.path.join(self.run_dir, "logs", stem))
        argv = self.pinning.wrap(self.pinning.loadgen_core,
                                 runner.loadgen_argv(self.loadgen, spec, self.served.port, self.served.pid, paths,
                                                     files=files))
        died = runner.drive_loadgen(argv, runner.loadgen_timeout_s(spec), self.served.proc, row, paths)
        if files:
            row["timeline"] = paths.rel(paths.timeline) if os.path.exists(paths.timeline) else ""
            row["hdr_log"] = paths.rel(paths.hdr) if os.path.exists(paths.hdr) else ""
        return row, died

    def step(self, rate: float) -> Step:
        started = time.monotonic()
        record, died = self.run_at(rate, f"{self.spec.stem}.s{len(self.lines) + 1}", files=False)
        passed, why = judge(record, rate, self.bounds)
        if died:
            why = f"server died ({died})"
        s = Step(rate, passed and not died, why, record, time.monotonic() - started, fatal=died is not None)
        self.lines.append(json.dumps(s.summary(len(self.lines) + 1)))
        extras.write_text_atomic(self.steps_path, "\n".join(self.lines) + "\n")
        return s


def _with_rate(args: List[str], rate: float) -> List[str]:
    """The cell's loadgen arguments with --rate replaced (or added)."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "--rate":
            skip = True
            continue
        out.append(a)
    return out + ["--rate", f"{rate:.0f}"]


def run(spec: RunSpec, profile: str, run_index: int, run_dir: str, server: str, loadgen: str,
        pinning: runner.Pinning, ready_timeout_s: float, knowledge: Knowledge, bounds: Bounds,
        log: Callable[[str], None] = lambda _m: None) -> List[Dict[str, object]]:
    """The rows of one capacity or sweep spec (a sweep without a known capacity searches first: two kinds of row).
    Raises runner.Interrupted (with the rows so far) on SIGINT/SIGTERM, after the server and its cgroup are gone."""
    bounds = replace(bounds, slo_ms=spec.slo_ms)
    capacity_spec = replace(spec, search="capacity")
    rows: List[Dict[str, object]] = []
    row = runner.new_row(capacity_spec if spec.search == "capacity" or not knowledge.own(spec) else spec,
                         profile, run_index)
    paths = runner.RunPaths(run_dir, spec.stem)
    row.update(mode="open", slo_ms=bounds.slo_ms, log=paths.rel(os.path.join(run_dir, "logs", spec.stem)))
    started = time.monotonic()
    served = runner.Served(spec, paths, row)
    server_died: Optional[str] = None
    try:
        if not served.start(server, pinning, ready_timeout_s):
            rows.append(row)
            return rows
        searcher = _Searcher(capacity_spec, row, served, run_dir, loadgen, pinning, bounds)
        capacity = knowledge.own(spec) if spec.search == "sweep" else None
        if capacity is None:
            first, factor = knowledge.start(spec, bounds.precision)
            result = search(searcher.step, bounds, first, factor)
            _fill_capacity_row(row, result, searcher, bounds)
            rows.append(row)
            log(f"    capacity {row.get('capacity_rps_at_slo') or '-'}/s in {len(result.steps)} steps, "
                f"{time.monotonic() - started:.1f} s (started at {first:.0f}/s, x{factor:g})")
            if result.capacity:
                knowledge.remember(spec, result.capacity)
            if any(s.fatal for s in result.steps):
                server_died = result.steps[-1].why
                return rows
            capacity = result.capacity
        if spec.search == "sweep":
            rows.extend(_sweep(spec, profile, run_index, searcher, capacity, row, log))
        return rows
    except KeyboardInterrupt:
        served.interrupted = True
        runner._worsen(row, "failed", "interrupted (bench_all got SIGINT/SIGTERM) before this search finished")
        if row not in rows:
            rows.append(row)
        raise runner.Interrupted(rows[-1], earlier=rows[:-1])
    finally:
        served.stop(server_died)
        row["elapsed_s"] = round(time.monotonic() - started, 3)
        if spec.search == "sweep" and rows and rows[-1] is not row:  # the last point tells how the server stopped
            rows[-1]["server_exit"] = row.get("server_exit")
            if row not in rows and row.get("status"):  # no search row carries the stop's verdict: this one does
                runner._worsen(rows[-1], str(row["status"]), str(row.get("reason") or ""))
        for r in rows:
            if not r.get("status"):
                r["status"] = "ok"


def _fill_capacity_row(row: Dict[str, object], result: Outcome, searcher: _Searcher, bounds: Bounds) -> None:
    """The search's row: the highest passing step's record (else the last step's), and the search's verdict."""
    shown = result.best or (result.steps[-1] if result.steps else None)
    if shown is not None:
        for key, value in shown.record.items():
            if key not in ("log", "run_index", "started_utc", "status", "reason", "search") and value is not None:
                row[key] = value
        if result.best:  # the best step's own loadgen verdict (e.g. late sends) still holds for its figures
            runner._worsen(row, str(shown.record.get("status") or "ok"), str(shown.record.get("reason") or ""))
    row.update(search="capacity", capacity_rps_at_slo=round(result.capacity, 1) if result.capacity else None,
               slo_ms=bounds.slo_ms, search_steps=len(result.steps),
               steps_log=os.path.relpath(searcher.steps_path, searcher.run_dir))
    if result.status != "ok":
        runner._worsen(row, result.status, result.reason)
    if result.best and str(result.best.record.get("bound")) == "client":
        runner._worsen(row, "degraded", "client-bound at capacity: the figure measured loadgen as much as the server")
    # Under a cap, a server at its capacity is busy for most of its quota. One far below it broke the SLO for another
    # reason (a busy machine delaying its wake-ups, the client, the back end's own latency): the figure is not the
    # capped server's capacity, and says so.
    cap, util = row.get("cpu_cap"), row.get("server_cpu_util")
    if result.best and isinstance(cap, (int, float)) and cap and isinstance(util, (int, float)) \
            and util < NOT_CAP_BOUND_SHARE * cap:
        runner._worsen(row, "degraded", f"not cap-bound at capacity: the server used {util:.2f} of its {cap:g} "
                                        "cores, so the SLO broke for another reason (a busy machine, the client, "
                                        "or the back end's own latency)")


def _sweep(spec: RunSpec, profile: str, run_index: int, searcher: _Searcher, capacity: Optional[float],
           capacity_row: Dict[str, object], log: Callable[[str], None]) -> List[Dict[str, object]]:
    if not capacity:
        row = runner.new_row(spec, profile, run_index)
        runner._worsen(row, "failed", f"sweep needs a capacity and the search found none "
                                      f"({capacity_row.get('reason')})")
        return [row]
    rows = []
    for fraction in SWEEP_FRACTIONS:
        rate = capacity * fraction
        row, died = searcher.run_at(rate, f"{spec.stem}-f{round(fraction * 100):03d}", files=True)
        row.update(search="sweep", offered_fraction=fraction, capacity_rps_at_slo=round(capacity, 1),
                   slo_ms=searcher.bounds.slo_ms)
        rows.append(row)
        log(f"    {fraction:.0%} of {capacity:.0f}/s: p50 {row.get('p50_us')} p99 {row.get('p99_us')} us, "
            f"{row.get('status')}")
        if died:
            break
    return rows
