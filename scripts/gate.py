#!/usr/bin/env python3
"""The performance regression gate: compare a results folder with the committed baseline.

  scripts/gate RUN [BASELINE]          compare (BASELINE defaults to results/baseline); exit 1 on a regression
  scripts/gate --update-baseline RUN   copy RUN's tables into results/baseline/ (deliberately; see scripts/README.md)
  scripts/gate --self-check RUN        make a baseline 20 % better than RUN and check that the gate rejects RUN

Stdlib only. Metrics are the ones that stay put on a noisy shared machine (issue 7):
- every run ok and zero errors                        (absolute: judged on RUN alone)
- memory per idle connection, per back end and count  (server RSS, ~10 %; the kernel part comes from machine-wide
  /proc/meminfo deltas, which other processes move by kilobytes per connection: shown in the report, not gated)
- callgrind instructions per hot-path case            (~5 %)
- same-run ratios of median requests/s to the threads back end (40 %): both back ends see the same machine state,
  but short runs still scatter: between two ci runs of single 2-s repetitions here the ratios moved by up to 34 %,
  so the gate fails a back end that loses 60 % against threads (a fresh-clone run moved echo ratios by 46 %) (a model that halves its throughput is caught,
  scheduling noise is not; with more repetitions the medians are compared)
- wall-clock (absolute requests/s, micro-benchmark times) only where both sides have >= 9 repetitions, with a
  two-sided Mann-Whitney U test (p < 0.05) and a minimum effect size; otherwise the verdict is "unreliable",
  which never fails the gate.
Exit: 0 pass, 1 regression, 2 usage error.
"""
import argparse
import csv
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BASELINE = os.path.join(REPO, "results", "baseline")
REFERENCE_BACKEND = "threads"
MIN_REPETITIONS = 9
BASELINE_FILES = ("results.csv", "meta.json", "callgrind.csv", "micro.json", "micro.csv")


@dataclass(frozen=True)
class Rule:
    """How one metric is judged. `higher_is_better` decides the sign of a regression; `floor` is an absolute change
    too small to matter whatever the percentage (page-granular RSS on few connections)."""
    threshold: float
    higher_is_better: bool
    floor: float = 0.0
    unit: str = ""


RULES = {
    "rss_per_conn_bytes": Rule(0.10, False, floor=64.0, unit="B"),
    "total_per_conn_bytes": Rule(0.20, False, floor=512.0, unit="B"),
    "instructions": Rule(0.05, False),
    "rps_ratio": Rule(0.60, True),
    "rps": Rule(0.05, True),            # wall-clock: only with >= 9 repetitions and a significant U test
    "micro_real_time_ns": Rule(0.05, False),
}


# ------------------------------------------------------------------------------------------------------- loading

def _float(text) -> Optional[float]:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def read_csv(path: str) -> List[Dict[str, str]]:
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class Run:
    def __init__(self, folder: str):
        if not os.path.exists(os.path.join(folder, "results.csv")):
            raise FileNotFoundError(f"{folder} has no results.csv")
        self.folder = folder
        self.rows = read_csv(os.path.join(folder, "results.csv"))
        self.callgrind = read_csv(os.path.join(folder, "callgrind.csv"))
        try:
            with open(os.path.join(folder, "meta.json")) as f:
                self.meta = json.load(f)
        except (OSError, ValueError):
            self.meta = {}
        try:
            with open(os.path.join(folder, "micro.json")) as f:
                self.micro = json.load(f)
        except (OSError, ValueError):
            self.micro = {}

    @property
    def profile(self) -> str:
        return str(self.meta.get("profile") or (self.rows[0].get("profile") if self.rows else ""))


def label(row: Dict[str, str]) -> str:
    return row["backend"] + ("+" + row["variant"] if row.get("variant") else "")


def memory_values(run: Run, column: str) -> Dict[Tuple, List[float]]:
    values: Dict[Tuple, List[float]] = {}
    for row in run.rows:
        v = _float(row.get(column))
        if row.get("mode") == "idle" and row.get("status") == "ok" and v is not None:
            values.setdefault((label(row), row["workload"], int(row["connections"])), []).append(v)
    return values


def rps_values(run: Run) -> Dict[Tuple, List[float]]:
    """(label, workload, connections) -> requests/s of every ok closed-loop repetition, in repetition order."""
    values: Dict[Tuple, List[float]] = {}
    for row in sorted(run.rows, key=lambda r: int(r.get("repetition") or 0)):
        v = _float(row.get("rps"))
        if row.get("mode") == "closed" and row.get("status") == "ok" and v:
            values.setdefault((label(row), row["workload"], int(row["connections"])), []).append(v)
    return values


def rps_ratios(run: Run) -> Dict[Tuple, float]:
    """Same-run ratio label / threads of median requests/s, per workload and count."""
    rps = {k: statistics.median(v) for k, v in rps_values(run).items()}
    ratios = {}
    for (name, workload, connections), value in rps.items():
        reference = rps.get((REFERENCE_BACKEND, workload, connections))
        if name != REFERENCE_BACKEND and reference:
            ratios[(name, workload, connections)] = value / reference
    return ratios


def instruction_counts(run: Run) -> Dict[Tuple, float]:
    return {(r["model"], r["case"]): float(r["instructions"]) for r in run.callgrind
            if r.get("status") == "ok" and _float(r.get("instructions"))}


def micro_samples(run: Run) -> Dict[str, List[float]]:
    """Benchmark run_name -> real time (ns) of each repetition (iteration rows only, not aggregates)."""
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
    samples: Dict[str, List[float]] = {}
    for bench in run.micro.get("benchmarks", []):
        if bench.get("run_type", "iteration") != "iteration" or bench.get("error_occurred"):
            continue
        t = _float(bench.get("real_time"))
        if t is not None:
            samples.setdefault(str(bench.get("run_name") or bench.get("name")), []).append(
                t * scale.get(bench.get("time_unit", "ns"), 1.0))
    return samples


# ----------------------------------------------------------------------------------------------------- statistics

def _ranks(values: Sequence[float]) -> Tuple[List[float], List[int]]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0 + 1.0
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def _exact_u_cdf(n1: int, n2: int, u: int) -> float:
    """P(U <= u) under H0 without ties, by counting rank arrangements (fine for n1, n2 <= 25)."""
    # counts[a][b][k]: arrangements of a and b samples with U = k; built up one sample at a time.
    from functools import lru_cache

    @lru_cache(maxsize=None)
    def count(a: int, b: int, k: int) -> int:
        if k < 0:
            return 0
        if a == 0 or b == 0:
            return 1 if k == 0 else 0
        return count(a - 1, b, k - b) + count(a, b - 1, k)
    total = math.comb(n1 + n2, n1)
    return sum(count(n1, n2, k) for k in range(u + 1)) / total


def mann_whitney_u(a: Sequence[float], b: Sequence[float]) -> Tuple[float, float]:
    """Two-sided Mann-Whitney U test. Returns (U, p). Exact without ties for small samples, otherwise the normal
    approximation with tie and continuity corrections (as scipy's default 'auto' does)."""
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return float("nan"), 1.0
    ranks, ties = _ranks(list(a) + list(b))
    r1 = sum(ranks[:n1])
    u1 = r1 - n1 * (n1 + 1) / 2.0
    u = min(u1, n1 * n2 - u1)
    if not ties and n1 <= 25 and n2 <= 25:
        return u, min(1.0, 2.0 * _exact_u_cdf(n1, n2, int(u)))
    n = n1 + n2
    tie_term = sum(t ** 3 - t for t in ties) / (n * (n - 1))
    sigma = math.sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term))
    if sigma == 0:
        return u, 1.0
    z = (abs(u - n1 * n2 / 2.0) - 0.5) / sigma
    return u, min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2.0)))


# ------------------------------------------------------------------------------------------------------ comparing

@dataclass
class Line:
    metric: str
    baseline: str
    now: str
    change: str
    threshold: str
    verdict: str   # ok | improved | REGRESSION | MISSING | FAILED | new | unreliable | info
    note: str = ""  # printed under the table (why a run failed)

    @property
    def fails(self) -> bool:
        return self.verdict in ("REGRESSION", "MISSING", "FAILED")


def _fmt(value: float, unit: str = "") -> str:
    if abs(value) >= 1e6:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def judge(metric: str, rule: Rule, baseline: float, now: float, rule_name: str) -> Line:
    change = (now - baseline) / baseline if baseline else (0.0 if now == baseline else math.inf)
    worse = -change if rule.higher_is_better else change
    small = abs(now - baseline) <= rule.floor
    if worse > rule.threshold and not small:
        verdict = "REGRESSION"
    elif -worse > rule.threshold and not small:
        verdict = "improved"
    else:
        verdict = "ok"
    threshold = f"{'-' if rule.higher_is_better else '+'}{rule.threshold:.0%}"
    if rule.floor:
        threshold += f" (>{_fmt(rule.floor, rule.unit)})"
    return Line(metric, _fmt(baseline, rule.unit), _fmt(now, rule.unit), f"{change:+.1%}", threshold, verdict)


def compare_keyed(name: str, rule: Rule, base: Dict[Tuple, float], now: Dict[Tuple, float], strict_missing: bool,
                  describe) -> List[Line]:
    lines = []
    for key in sorted(set(base) | set(now), key=str):
        metric = f"{name} {describe(key)}"
        if key not in now:
            verdict = "MISSING" if strict_missing else "info"
            lines.append(Line(metric, _fmt(base[key], rule.unit), "-", "", "", verdict))
        elif key not in base:
            lines.append(Line(metric, "-", _fmt(now[key], rule.unit), "", "", "new"))
        else:
            lines.append(judge(metric, rule, base[key], now[key], name))
    return lines


def compare_samples(name: str, rule: Rule, base: Dict, now: Dict, describe, alpha: float = 0.05) -> List[Line]:
    """Wall-clock: judged only with >= MIN_REPETITIONS samples on each side and a significant U test."""
    lines = []
    unreliable = []
    for key in sorted(set(base) & set(now), key=str):
        a, b = base[key], now[key]
        metric = f"{name} {describe(key)}"
        if len(a) < MIN_REPETITIONS or len(b) < MIN_REPETITIONS:
            unreliable.append((key, min(len(a), len(b))))
            continue
        _, p = mann_whitney_u(a, b)
        line = judge(metric, rule, statistics.median(a), statistics.median(b), name)
        line.threshold += f", p<{alpha}"
        if line.verdict in ("REGRESSION", "improved") and p >= alpha:
            line.verdict = "ok"
        line.change += f" (p={p:.3f})"
        lines.append(line)
    if unreliable:
        fewest = min(n for _, n in unreliable)
        lines.append(Line(f"{name} (wall-clock, {len(unreliable)} series)", "", "", "",
                          f">= {MIN_REPETITIONS} reps", f"unreliable (only {fewest} repetition"
                          f"{'s' if fewest != 1 else ''}; not judged)"))
    return lines


def absolute_checks(run: Run) -> List[Line]:
    lines = []
    bad = [r for r in run.rows if r.get("status") != "ok" or (_float(r.get("errors")) or 0) > 0
           or r.get("fd_leak") == "true"]
    for r in bad:
        what = f"{label(r)} {r['workload']} {r['mode']} {r['connections']}"
        detail = r.get("status", "?")
        if (_float(r.get("errors")) or 0) > 0:
            detail += f", {r['errors']} errors"
        if r.get("fd_leak") == "true":
            detail += ", fd leak"
        lines.append(Line(f"run {what}", "ok", detail, "", "ok, 0 errors", "FAILED", note=r.get("reason") or ""))
    if not run.rows:
        lines.append(Line("runs", "", "no rows", "", ">= 1 run", "FAILED"))
    lines.insert(0, Line("runs ok, zero errors", "", f"{len(run.rows) - len(bad)}/{len(run.rows)}", "",
                         "all", "ok" if not bad and run.rows else "FAILED"))
    for r in run.callgrind:
        if r.get("status") != "ok":
            lines.append(Line(f"callgrind {r['model']} {r['case']}", "", r.get("status", "?"), "", "ok", "FAILED",
                              note=r.get("reason") or ""))
    return lines


def compare(run: Run, base: Run, absolute: bool = True) -> List[Line]:
    strict = run.profile == base.profile
    lines = absolute_checks(run) if absolute else []
    key3 = lambda k: f"{k[0]} {k[1]} @{k[2]}"  # noqa: E731
    for column in ("rss_per_conn_bytes",):
        lines += compare_keyed(column, RULES[column],
                               {k: statistics.median(v) for k, v in memory_values(base, column).items()},
                               {k: statistics.median(v) for k, v in memory_values(run, column).items()},
                               strict, key3)
    lines += compare_keyed("instructions", RULES["instructions"], instruction_counts(base), instruction_counts(run),
                           strict and bool(run.callgrind or not base.callgrind), lambda k: f"{k[0]} {k[1]}")
    lines += compare_keyed("rps/threads", RULES["rps_ratio"], rps_ratios(base), rps_ratios(run), strict, key3)
    lines += compare_samples("rps", RULES["rps"], rps_values(base), rps_values(run), key3)
    lines += compare_samples("micro", RULES["micro_real_time_ns"], micro_samples(base), micro_samples(run), str)
    return lines


def print_table(lines: List[Line], out=sys.stdout) -> None:
    header = Line("metric", "baseline", "now", "change", "threshold", "verdict")
    widths = [max(len(getattr(l, f)) for l in [header] + lines)
              for f in ("metric", "baseline", "now", "change", "threshold", "verdict")]
    for i, line in enumerate([header] + lines):
        cells = [line.metric, line.baseline, line.now, line.change, line.threshold, line.verdict]
        print("  ".join(c.ljust(w) if j in (0, 4, 5) else c.rjust(w) for j, (c, w) in enumerate(zip(cells, widths)))
              .rstrip(), file=out)
        if i == 0:
            print("  ".join("-" * w for w in widths), file=out)
    notes = [l for l in lines if l.note]
    if notes:
        print("why:", file=out)
        for line in notes:
            print(f"  {line.metric}: {line.note}", file=out)


# -------------------------------------------------------------------------------------------- baseline management

def update_baseline(run_folder: str, baseline: str) -> None:
    Run(run_folder)  # validates
    parent = os.path.dirname(os.path.abspath(baseline))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".baseline-", dir=parent)
    copied = []
    for name in BASELINE_FILES:
        source = os.path.join(run_folder, name)
        if os.path.exists(source):
            shutil.copy2(source, os.path.join(staging, name))
            copied.append(name)
    with open(os.path.join(staging, "SOURCE"), "w") as f:
        f.write(f"copied from {os.path.abspath(run_folder)}\nfiles: {' '.join(copied)}\n")
    old = None
    if os.path.exists(baseline):
        old = baseline.rstrip("/") + ".old"
        shutil.rmtree(old, ignore_errors=True)
        os.rename(baseline, old)
    os.rename(staging, baseline)
    if old:
        shutil.rmtree(old, ignore_errors=True)
    print(f"gate: baseline {baseline} now holds {', '.join(copied)} from {run_folder}; commit it with a message "
          "that says why the numbers moved")


def make_better(run_folder: str, out_folder: str, factor: float = 1.2) -> None:
    """Writes a copy of RUN that is `factor` better on every gated metric: less memory and fewer instructions
    (divided by factor), every non-reference back end faster relative to threads (multiplied by factor)."""
    os.makedirs(out_folder, exist_ok=True)
    rows = read_csv(os.path.join(run_folder, "results.csv"))
    with open(os.path.join(run_folder, "results.csv"), newline="") as f:
        header = next(csv.reader(f))
    for row in rows:
        for column in ("rss_per_conn_bytes", "total_per_conn_bytes"):
            if _float(row.get(column)) is not None:
                row[column] = repr(_float(row[column]) / factor)
        if row.get("backend") != REFERENCE_BACKEND and _float(row.get("rps")):
            row["rps"] = repr(_float(row["rps"]) * factor)
    _write_csv(os.path.join(out_folder, "results.csv"), header, rows)
    callgrind = read_csv(os.path.join(run_folder, "callgrind.csv"))
    if callgrind:
        for row in callgrind:
            if _float(row.get("instructions")):
                row["instructions"] = str(int(_float(row["instructions"]) / factor))
        _write_csv(os.path.join(out_folder, "callgrind.csv"), list(callgrind[0].keys()), callgrind)
    if os.path.exists(os.path.join(run_folder, "meta.json")):
        shutil.copy2(os.path.join(run_folder, "meta.json"), os.path.join(out_folder, "meta.json"))


def _write_csv(path: str, header: List[str], rows: List[Dict[str, str]]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def self_check(run_folder: str, factor: float = 1.2) -> int:
    """The gate must reject RUN against a copy of RUN made `factor` better, on the compared metrics alone (RUN's own
    failed rows would make the gate fail anyway and prove nothing)."""
    with tempfile.TemporaryDirectory(prefix="gate-better-") as better:
        make_better(run_folder, better, factor)
        lines = compare(Run(run_folder), Run(better), absolute=False)
    regressions = [l for l in lines if l.verdict == "REGRESSION"]
    print_table(regressions)
    if regressions:
        print(f"gate self-check: ok: {len(regressions)} metrics caught against a {factor - 1:.0%}-better baseline")
        return 0
    print(f"gate self-check: FAIL: nothing caught against a {factor - 1:.0%}-better baseline "
          "(does the run have idle rows, callgrind counts or threads rows to compare?)")
    return 1


def gate(run_folder: str, baseline_folder: str, out=sys.stdout) -> int:
    try:
        run, base = Run(run_folder), Run(baseline_folder)
    except FileNotFoundError as e:
        print(f"gate: {e}", file=sys.stderr)
        return 2
    print(f"gate: {run_folder} (profile {run.profile or '?'}) vs baseline {baseline_folder} "
          f"(profile {base.profile or '?'})", file=out)
    if run.profile != base.profile:
        print("gate: profiles differ: rows the baseline has and this run lacks are not judged", file=out)
    lines = compare(run, base)
    print_table(lines, out)
    failures = [l for l in lines if l.fails]
    judged = sum(l.verdict in ("ok", "improved", "REGRESSION", "MISSING") for l in lines)
    print(f"gate: {'FAIL' if failures else 'PASS'}: {len(failures)} failing of {judged} compared metrics",
          file=out)
    return 1 if failures else 0


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="results folder to judge")
    p.add_argument("baseline", nargs="?", default=DEFAULT_BASELINE)
    p.add_argument("--update-baseline", action="store_true", help="copy RUN into the baseline folder")
    p.add_argument("--self-check", action="store_true",
                   help="check that the gate fails RUN against a baseline made 20%% better than RUN")
    args = p.parse_args(argv)
    if args.update_baseline:
        try:
            update_baseline(args.run, args.baseline)
        except FileNotFoundError as e:
            print(f"gate: {e}", file=sys.stderr)
            return 2
        return 0
    if args.self_check:
        return self_check(args.run)
    return gate(args.run, args.baseline)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
