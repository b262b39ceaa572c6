#!/usr/bin/env python3
"""compare_runs.py A B: do two runs of unchanged code agree? Issue 13's acceptance points 1 and 2 as a tool.

    scripts/compare_runs.py results/<run A> results/<run B>      exit 0 agree, 1 a check missed, 2 usage

Per back end and cell, medians over repetitions (tvt_results.median_ci):
- cost counts per request at the fixed open-loop rate (syscalls_per_op, ctx_switches_per_op, instructions_per_op when
  loadgen reported them) and the server path's callgrind instructions per request: within COUNT_LIMIT (2 %), or
  within COUNT_FLOOR per request (a back end that hardly switches moving 0.007 -> 0.008 context switches per request
  is +14 % and nothing);
- server CPU µs per request at the fixed rate: within TIME_LIMIT (10 %);
- capacity_rps_at_slo under the CPU cap: within TIME_LIMIT;
- rankings, by CPU per request and by capacity, in every cell: wherever two back ends differ by more than
  RANK_GAP (15 %) in either run, the order is the same in both runs and their confidence intervals do not overlap
  in either.
Prints one table (the gate's layout: check, A, B, change, limit, verdict) and a summary line.
"""
import itertools
import os
import sys
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gate_rules  # noqa: E402  (Line and print_table: the same table as the gate's)
import tvt_results as tr  # noqa: E402

COUNT_LIMIT = 0.02
COUNT_FLOOR = 0.01
TIME_LIMIT = 0.10
RANK_GAP = 0.15
COUNT_COLUMNS = ("syscalls_per_op", "ctx_switches_per_op", "instructions_per_op")
CPU_COLUMN = "server_cpu_us_per_op"
CAPACITY_COLUMN = "capacity_rps_at_slo"
WORKLOADS = ("http", "echo")


def fixed_rate(rows: List[Dict[str, str]]) -> List[Dict[str, str]]:
    """The efficiency rows: http and echo, open loop at a set rate, uncapped, not part of a search."""
    return [r for r in rows if r.get("mode") == "open" and r.get("workload") in WORKLOADS and not r.get("search")
            and not tr.num(r.get("cpu_cap")) and tr.num(r.get("target_rate")) is not None]


def capacity_rows(rows: List[Dict[str, str]]) -> List[Dict[str, str]]:
    return [r for r in rows if tr.is_capacity_row(r) and tr.num(r.get(CAPACITY_COLUMN)) is not None]


def callgrind_per_request(results: tr.Results) -> Dict[Tuple, tr.Estimate]:
    """(model, case) -> instructions per request of the whole server path (callgrind cases server-<workload>)."""
    values: Dict[Tuple, List[float]] = {}
    for row in results.callgrind:
        v = tr.num(row.get("instructions"))
        if row.get("status") == "ok" and row.get("case", "").startswith("server-") and v is not None:
            values.setdefault((row["model"], "callgrind " + row["case"]), []).append(v)
    return {k: tr.median_ci(v) for k, v in values.items()}


def describe(key: Tuple) -> str:
    return " ".join(str(k) for k in key if k != "")


def agreement(check: str, key: Tuple, a: tr.Estimate, b: tr.Estimate, limit: float, floor: float = 0.0,
              unit: str = "") -> gate_rules.Line:
    change = (b.median - a.median) / a.median if a.median else (0.0 if b.median == a.median else float("inf"))
    ok = abs(change) <= limit or abs(b.median - a.median) <= floor
    threshold = f"±{limit:.0%}" + (f" (or ±{floor:g})" if floor else "")
    return gate_rules.Line(f"{check} {describe(key)}", tr.fmt_estimate(a, 2) + (f" {unit}" if unit else ""),
                           tr.fmt_estimate(b, 2) + (f" {unit}" if unit else ""), f"{change:+.1%}", threshold,
                           "ok" if ok else "MISS")


def compare_values(check: str, a: Dict[Tuple, tr.Estimate], b: Dict[Tuple, tr.Estimate], limit: float,
                   floor: float = 0.0, unit: str = "") -> List[gate_rules.Line]:
    lines = []
    for key in sorted(set(a) | set(b), key=str):
        if key not in a or key not in b:
            lines.append(gate_rules.Line(f"{check} {describe(key)}", tr.fmt_estimate(a.get(key), 2),
                                         tr.fmt_estimate(b.get(key), 2), "", "in both", "MISS"))
        else:
            lines.append(agreement(check, key, a[key], b[key], limit, floor, unit))
    return lines


def rankings(check: str, a: Dict[Tuple, tr.Estimate], b: Dict[Tuple, tr.Estimate]) -> List[gate_rules.Line]:
    """Pairs of back ends in one cell (same key but the label) that differ by more than RANK_GAP in either run."""
    cells: Dict[Tuple, List[str]] = {}
    for key in set(a) & set(b):
        cells.setdefault(key[1:], []).append(key[0])
    lines = []
    for cell, names in sorted(cells.items(), key=lambda kv: str(kv[0])):
        for x, y in itertools.combinations(sorted(names), 2):
            ax, ay, bx, by = a[(x,) + cell], a[(y,) + cell], b[(x,) + cell], b[(y,) + cell]
            gap_a = abs(ax.median - ay.median) / min(ax.median, ay.median) if min(ax.median, ay.median) else 0.0
            gap_b = abs(bx.median - by.median) / min(bx.median, by.median) if min(bx.median, by.median) else 0.0
            if max(gap_a, gap_b) <= RANK_GAP:
                continue
            same_order = (ax.median < ay.median) == (bx.median < by.median)
            apart = tr.distinct(ax, ay) and tr.distinct(bx, by)
            why = [] if same_order else ["order flipped"]
            why += [] if apart else ["intervals overlap"]
            lines.append(gate_rules.Line(
                f"{check} {x} vs {y} {describe(cell)}", f"{ax.median:.3g} vs {ay.median:.3g} ({gap_a:.0%})",
                f"{bx.median:.3g} vs {by.median:.3g} ({gap_b:.0%})", "", f">{RANK_GAP:.0%}: same order, CIs apart",
                "ok" if not why else "MISS", note=", ".join(why)))
    return lines


def compare(a: tr.Results, b: tr.Results) -> List[gate_rules.Line]:
    lines: List[gate_rules.Line] = []
    fixed_a, fixed_b = fixed_rate(a.rows), fixed_rate(b.rows)
    for column in COUNT_COLUMNS:
        ea, eb = tr.estimates(fixed_a, column), tr.estimates(fixed_b, column)
        if ea or eb:
            lines += compare_values(column, ea, eb, COUNT_LIMIT, COUNT_FLOOR)
    lines += compare_values("instructions", callgrind_per_request(a), callgrind_per_request(b), COUNT_LIMIT)
    cpu_a, cpu_b = tr.estimates(fixed_a, CPU_COLUMN), tr.estimates(fixed_b, CPU_COLUMN)
    lines += compare_values(CPU_COLUMN, cpu_a, cpu_b, TIME_LIMIT, unit="µs")
    cap_a = tr.estimates(capacity_rows(a.rows), CAPACITY_COLUMN)
    cap_b = tr.estimates(capacity_rows(b.rows), CAPACITY_COLUMN)
    lines += compare_values("capacity", cap_a, cap_b, TIME_LIMIT, unit="/s")
    lines += rankings("rank by CPU/request", cpu_a, cpu_b)
    lines += rankings("rank by capacity", cap_a, cap_b)
    return lines


def main(argv: List[str], out=sys.stdout) -> int:
    if len(argv) != 2 or any(x.startswith("-") for x in argv):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for folder in argv:
        if not os.path.exists(os.path.join(folder, "results.csv")):
            print(f"compare_runs: {folder} has no results.csv", file=sys.stderr)
            return 2
    a, b = tr.Results(argv[0]), tr.Results(argv[1])
    print(f"compare_runs: A = {argv[0]} ({a.profile or '?'}), B = {argv[1]} ({b.profile or '?'}); medians "
          f"[{tr.CI_LEVEL:.0%} order-statistic interval] over repetitions", file=out)
    lines = compare(a, b)
    if not lines:
        print("compare_runs: nothing to compare (no fixed-rate, capacity or callgrind server rows in both)", file=out)
        return 1
    gate_rules.print_table(lines, out, sides=("A", "B"))
    misses = [line for line in lines if line.verdict == "MISS"]
    print(f"compare_runs: {'AGREE' if not misses else 'DISAGREE'}: {len(misses)} missed of {len(lines)} checks",
          file=out)
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
