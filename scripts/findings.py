#!/usr/bin/env python3
"""The README's findings table, generated from one results folder (the committed reference run), so that every figure
in it can be traced to a row of that run's results.csv and micro.csv.

    scripts/findings.py results/reference/<run>          # prints the Markdown table and its source line

Per back end (and threads variant), in registry order: memory per idle connection at the largest idle count (user,
kernel, total), the server's CPU time, system calls and context switches per request of http at the count nearest
1,000 (at the fixed open-loop rate, with its 95 % interval, when the run has those rows; else closed loop), capacity
at the SLO under the CPU cap when the run has it, chat p99 at the largest chat count, and memory per parked unit at
1,000,000 (micro). Medians over repetitions; a cell the run did not measure is "–". Standard library only.
"""
import os
import sys
from typing import Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tvt_results as tr  # noqa: E402


def _fmt(value: Optional[float], digits: int = 0, unit: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}{unit}"


def _ms(us: Optional[float]) -> str:
    if us is None:
        return "–"
    return f"{us / 1e6:.2f} s" if us >= 1e6 else f"{us / 1e3:.1f} ms"


def _median_of(rows: List[Dict[str, str]], column: str) -> Optional[float]:
    return tr.median(tr.num(r.get(column)) for r in rows)


def _nearest(rows: List[Dict[str, str]], target: int) -> Optional[int]:
    counts = {int(r["connections"]) for r in rows}
    return min(counts, key=lambda c: abs(c - target)) if counts else None


def _largest(rows: List[Dict[str, str]]) -> Optional[int]:
    counts = [int(r["connections"]) for r in rows if r.get("connections", "").isdigit()]
    return max(counts) if counts else None


def _parked_bytes(results: tr.Results) -> Dict[str, float]:
    """model -> bytes per parked unit at 1,000,000 (BM_ParkedMemory medians)."""
    out: Dict[str, float] = {}
    for row in results.micro:
        name = row.get("name", "")
        if not name.startswith("BM_ParkedMemory/") or "units:1000000" not in name:
            continue
        if row.get("aggregate_name") not in ("median", ""):
            continue
        counters = tr.micro_counters(row.get("counters", ""))
        value = counters.get("total_per_unit_bytes", counters.get("rss_per_unit_bytes"))
        model = row.get("model", "")
        if value is not None and model and (row.get("aggregate_name") == "median" or model not in out):
            out[model] = value
    return out


def table(folder: str) -> str:
    results = tr.Results(folder)
    idle = results.ok(workload="http", mode="idle")
    idle_at = _largest(idle)
    http = results.ok(workload="http", mode="closed")
    http_counts = sorted({int(r["connections"]) for r in http})
    http_at = min(http_counts, key=lambda c: abs(c - 1000)) if http_counts else None
    chat = results.ok(workload="chat", mode="closed")
    chat_at = _largest(chat)
    parked = _parked_bytes(results)

    # Speed, where the run has it (issue 13): CPU per request at the fixed rate (median [95 % interval]) replaces the
    # closed-loop figure, and capacity at the SLO under the CPU cap gets a column.
    fixed = [r for r in results.ok(workload="http", mode="open") if not r.get("search")
             and not tr.num(r.get("cpu_cap")) and tr.num(r.get("target_rate")) is not None
             and tr.num(r.get("server_cpu_us_per_op")) is not None]
    fixed_at = _nearest(fixed, 1000)
    fixed = [r for r in fixed if int(r["connections"]) == fixed_at]
    cpu_ci = tr.estimates(fixed, "server_cpu_us_per_op")
    capacity = [r for r in results.ok(workload="http") if tr.is_capacity_row(r)
                and tr.num(r.get("capacity_rps_at_slo")) is not None]
    capacity_at = _nearest(capacity, 1000)
    capacity_ci = tr.estimates([r for r in capacity if int(r["connections"]) == capacity_at], "capacity_rps_at_slo")

    labels = results.backends.sorted({tr.label(r) for r in results.rows})
    cpu_header = "CPU µs / req at fixed rate [95 % CI]" if cpu_ci else "CPU µs / req"
    lines = [
        f"| back end | user / conn | kernel / conn | total / conn | {cpu_header} | syscalls / req "
        f"| ctx switches / req | {'capacity req/s [95 % CI] | ' if capacity_ci else ''}chat p99 | parked task at 1 M |",
        "|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if capacity_ci else "") + "---:|---:|",
    ]

    def by_label(estimates, name):
        return next((e for k, e in estimates.items() if k[0] == name), None)

    def cpu_text(name, closed_rows):
        if cpu_ci:
            return tr.fmt_estimate(by_label(cpu_ci, name), 1)
        return _fmt(_median_of(closed_rows, "server_cpu_us_per_op"), 1)
    for name in labels:
        def at(rows, count):
            return [r for r in rows if tr.label(r) == name and count is not None and int(r["connections"]) == count]
        i, h, c = at(idle, idle_at), at(http, http_at), at(chat, chat_at)
        f = at(fixed, fixed_at) if cpu_ci else h  # the rows the CPU and cost columns come from
        base = tr.base_name(name)
        if not (i or h or c or f) and name != base:
            continue  # a variant for cells this table does not show (compute's offload)
        shown = results.peer_label(base) + name[len(base):]
        lines.append(
            f"| `{shown}` | {_fmt(_median_of(i, 'rss_per_conn_bytes'), unit=' B')} "
            f"| {_fmt(_median_of(i, 'kernel_per_conn_bytes'), unit=' B')} "
            f"| {_fmt(_median_of(i, 'total_per_conn_bytes'), unit=' B')} "
            f"| {cpu_text(name, h)} "
            f"| {_fmt(_median_of(f, 'syscalls_per_op'), 2)} "
            f"| {_fmt(_median_of(f, 'ctx_switches_per_op'), 3)} "
            + (f"| {tr.fmt_estimate(by_label(capacity_ci, name), 0)} " if capacity_ci else "") +
            f"| {_ms(_median_of(c, 'p99_us'))} "
            f"| {_fmt(parked.get(name) if name == base else None, unit=' B')} |")
    if cpu_ci:
        rate = tr.num(fixed[0].get("target_rate"))
        reps = sorted({e.n for e in cpu_ci.values()})
        speed_source = (f"http open loop at a fixed {_fmt(rate)} req/s and {_fmt(fixed_at)} connections, median "
                        f"[95 % order-statistic interval] of {'/'.join(map(str, reps))} repetitions")
    else:
        speed_source = f"http closed loop at {_fmt(http_at)}"
    if capacity_ci:
        cap = tr.num(next(r for r in capacity if int(r["connections"]) == capacity_at).get("cpu_cap"))
        speed_source += (f"; capacity: http at {_fmt(capacity_at)} connections, server capped at {cap or 0:g} core, "
                         "highest rate within the p99 SLO")
    runs = len(results.rows)
    statuses = {s: sum(1 for r in results.rows if r.get("status") == s) for s in ("ok", "degraded", "failed")}
    source = (f"Source: `{os.path.relpath(results.folder)}` ({results.profile} profile, commit "
              f"`{str((results.meta.get('git') or {}).get('commit', '?'))[:12]}`, {runs} runs: {statuses['ok']} ok, "
              f"{statuses['degraded']} degraded, {statuses['failed']} failed). Memory: http idle hold at "
              f"{_fmt(idle_at)} connections; CPU, syscalls, context switches: {speed_source}; "
              f"chat: {_fmt(chat_at)} members; parked task: BM_ParkedMemory, total bytes per unit.")
    return "\n".join(lines) + "\n\n" + source + "\n"


def main(argv: List[str]) -> int:
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if not os.path.exists(os.path.join(argv[1], "results.csv")):
        print(f"findings: {argv[1]} has no results.csv", file=sys.stderr)
        return 1
    sys.stdout.write(table(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
