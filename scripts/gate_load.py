"""The gate's loading: a results folder as the gate sees it, and the per-metric series it compares.
Everything is read through tvt_results (the one results library); this module only selects and groups."""
import os
import statistics
from typing import Dict, List, Tuple

import tvt_results as tr

Key = Tuple  # (label, workload, connections) or (label, workload, mode, connections) or (model, case)
# Rows whose numbers count: a degraded row measured (it fell short of its schedule; the gate warns about it).
MEASURED = ("ok", "degraded")


class Run(tr.Results):
    """A results folder that must have a results.csv; micro.json holds every micro repetition (micro.csv may keep
    aggregates only)."""

    def __init__(self, folder: str):
        if not os.path.exists(os.path.join(folder, "results.csv")):
            raise FileNotFoundError(f"{folder} has no results.csv")
        super().__init__(folder)
        self.micro_json = tr.read_json(os.path.join(folder, "micro.json"))


def memory_values(run: Run, column: str) -> Dict[Key, List[float]]:
    """(label, workload, connections) -> column of every ok idle row (memory is measured on idle connections)."""
    values: Dict[Key, List[float]] = {}
    for row in run.rows:
        v = tr.num(row.get(column))
        if row.get("mode") == "idle" and row.get("status") in MEASURED and v is not None:
            values.setdefault((tr.label(row), row["workload"], int(row["connections"])), []).append(v)
    return values


def cost_values(run: Run, column: str, modes: Tuple[str, ...]) -> Dict[Key, List[float]]:
    """(label, workload, mode, connections) -> a per-request cost column of every ok row in `modes`."""
    values: Dict[Key, List[float]] = {}
    for row in run.rows:
        v = tr.num(row.get(column))
        if row.get("mode") in modes and row.get("status") in MEASURED and v is not None:
            values.setdefault((tr.label(row), row["workload"], row["mode"], int(row["connections"])), []).append(v)
    return values


def capacity_values(run: Run) -> Dict[Key, List[float]]:
    """(label, workload, connections, cpu_cap) -> capacity_rps_at_slo of every measured capacity row (one per
    search and repetition)."""
    values: Dict[Key, List[float]] = {}
    for row in run.rows:
        v = tr.num(row.get("capacity_rps_at_slo"))
        if row.get("status") in MEASURED and v is not None and tr.is_capacity_row(row):
            key = (tr.label(row), row["workload"], int(row["connections"]), tr.num(row.get("cpu_cap")) or 0.0)
            values.setdefault(key, []).append(v)
    return values


def rps_values(run: Run) -> Dict[Key, List[float]]:
    """(label, workload, connections) -> requests/s of every ok closed-loop repetition, in repetition order."""
    values: Dict[Key, List[float]] = {}
    for row in sorted(run.rows, key=lambda r: int(r.get("repetition") or 0)):
        v = tr.num(row.get("rps"))
        if row.get("mode") == "closed" and row.get("status") in MEASURED and v:
            values.setdefault((tr.label(row), row["workload"], int(row["connections"])), []).append(v)
    return values


def rps_ratios(run: Run) -> Dict[Key, float]:
    """Same-run ratio label / REFERENCE_BACKEND of median requests/s, per workload and count."""
    rps = {k: statistics.median(v) for k, v in rps_values(run).items()}
    ratios = {}
    for (name, workload, connections), value in rps.items():
        reference = rps.get((tr.REFERENCE_BACKEND, workload, connections))
        if name != tr.REFERENCE_BACKEND and reference:
            ratios[(name, workload, connections)] = value / reference
    return ratios


def instruction_counts(run: Run) -> Dict[Key, float]:
    """(model, case) -> callgrind instructions: the micro hot paths, and `server-<workload>` cases counted per
    request on a whole server process (extras.py)."""
    return {(r["model"], r["case"]): float(r["instructions"]) for r in run.callgrind
            if r.get("status") == "ok" and tr.num(r.get("instructions"))}


def micro_samples(run: Run) -> Dict[str, List[float]]:
    """Benchmark run_name -> real time (ns) of each repetition (iteration rows only, not aggregates)."""
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
    samples: Dict[str, List[float]] = {}
    for bench in run.micro_json.get("benchmarks", []):
        if bench.get("run_type", "iteration") != "iteration" or bench.get("error_occurred"):
            continue
        t = tr.num(bench.get("real_time"))
        if t is not None:
            samples.setdefault(str(bench.get("run_name") or bench.get("name")), []).append(
                t * scale.get(bench.get("time_unit", "ns"), 1.0))
    return samples
