"""The gate's baseline management: replacing results/baseline atomically, and the self-check that proves the gate
rejects a run against a copy of it made better on every judged metric."""
import csv
import os
import shutil
import sys
import tempfile
from typing import Dict, List

import gate_load as load
import gate_rules as rules
import tvt_results as tr

BASELINE_FILES = ("results.csv", "meta.json", "callgrind.csv", "micro.json", "micro.csv", tr.BACKENDS_FILE)
# results.csv columns where less is better and which the gate judges (memory and per-request costs).
LOWER_IS_BETTER = ("rss_per_conn_bytes", "total_per_conn_bytes") + tuple(rules.COST_COLUMNS) + \
    tuple(rules.SCATTER_COLUMNS)
HIGHER_IS_BETTER = ("capacity_rps_at_slo",)


def update_baseline(run_folder: str, baseline: str, out=sys.stdout) -> None:
    load.Run(run_folder)  # validates
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
          "that says why the numbers moved", file=out)


def _write_csv(path: str, header: List[str], rows: List[Dict[str, str]]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def make_better(run_folder: str, out_folder: str, factor: float = 1.2) -> None:
    """Writes a copy of RUN that is `factor` better on every judged metric: memory, per-request costs and
    instructions divided by factor, capacity multiplied by it, every non-reference back end faster (requests/s
    multiplied by factor)."""
    os.makedirs(out_folder, exist_ok=True)
    with open(os.path.join(run_folder, "results.csv"), newline="") as f:
        header = next(csv.reader(f))
    rows = tr.read_csv(os.path.join(run_folder, "results.csv"))
    for row in rows:
        for column in LOWER_IS_BETTER:
            if tr.num(row.get(column)) is not None:
                row[column] = repr(tr.num(row[column]) / factor)
        for column in HIGHER_IS_BETTER:
            if tr.num(row.get(column)) is not None:
                row[column] = repr(tr.num(row[column]) * factor)
        if row.get("backend") != tr.REFERENCE_BACKEND and tr.num(row.get("rps")):
            row["rps"] = repr(tr.num(row["rps"]) * factor)
    _write_csv(os.path.join(out_folder, "results.csv"), header, rows)
    callgrind = tr.read_csv(os.path.join(run_folder, "callgrind.csv"))
    if callgrind:
        for row in callgrind:
            if tr.num(row.get("instructions")):
                row["instructions"] = str(int(tr.num(row["instructions"]) / factor))
        _write_csv(os.path.join(out_folder, "callgrind.csv"), list(callgrind[0].keys()), callgrind)
    for name in ("meta.json", tr.BACKENDS_FILE):
        if os.path.exists(os.path.join(run_folder, name)):
            shutil.copy2(os.path.join(run_folder, name), os.path.join(out_folder, name))


def self_check(run_folder: str, factor: float = 1.2, out=sys.stdout) -> int:
    """The gate must reject RUN against a copy of RUN made `factor` better, on the compared metrics alone (RUN's own
    failed rows would make the gate fail anyway and prove nothing)."""
    with tempfile.TemporaryDirectory(prefix="gate-better-") as better:
        make_better(run_folder, better, factor)
        lines = rules.compare(load.Run(run_folder), load.Run(better), absolute=False)
    regressions = [line for line in lines if line.verdict == "REGRESSION"]
    rules.print_table(regressions, out)
    if regressions:
        print(f"gate self-check: ok: {len(regressions)} metrics caught against a {factor - 1:.0%}-better baseline",
              file=out)
        return 0
    print(f"gate self-check: FAIL: nothing caught against a {factor - 1:.0%}-better baseline "
          "(does the run have idle rows, callgrind counts or per-request costs to compare?)", file=out)
    return 1
