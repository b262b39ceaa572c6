"""The latency-load chart (the knee figure) and the capacity bars, from bench_all's search rows (issue 13.4).

- latency_load: sweep rows (`search` = sweep), one row of panels per (workload, connections, CPU cap), panels p50,
  p99 and p99.9 (log y) against the offered rate (`target_rate`), one curve per back end (median over repetitions at
  each offered fraction); the p99 panel marks the SLO. Where a curve turns up is the back end's knee.
- capacity: capacity rows (`search` = capacity), capacity_rps_at_slo per back end, one panel per (workload,
  connections, CPU cap): the median over repetitions, the whisker spans their lowest and highest.
charts.py calls draw(charts, kit): its Charts object (rows, save, skip) and the charts module itself (plt, style,
log_time_axis, count_label: one look for every chart); rows are read through tvt_results only.
"""
import statistics
from typing import Dict, List, Tuple

import tvt_results as tr

QUANTILES = (("p50_us", "p50"), ("p99_us", "p99"), ("p999_us", "p99.9"))
Cell = Tuple[str, int, str]   # workload, connections, cpu_cap as written


def _cells(rows: List[Dict[str, str]]) -> Dict[Cell, List[Dict[str, str]]]:
    cells: Dict[Cell, List[Dict[str, str]]] = {}
    for row in rows:
        cells.setdefault((row["workload"], int(row["connections"]), row.get("cpu_cap") or ""), []).append(row)
    order = {"http": 0, "echo": 1}
    return dict(sorted(cells.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0][0], kv[0][1], kv[0][2])))


def _title(cell: Cell) -> str:
    workload, connections, cap = cell
    return f"{workload}, {connections:,} connections" + (f", server capped at {tr.num(cap):g} core" if cap else "")


def curves(rows: List[Dict[str, str]], column: str) -> Dict[str, List[Tuple[float, float]]]:
    """label -> [(median offered rate, median `column`)] per offered fraction, sorted by rate."""
    points: Dict[str, Dict[float, List[Tuple[float, float]]]] = {}
    for row in rows:
        rate, value, fraction = tr.num(row.get("target_rate")), tr.num(row.get(column)), tr.num(row.get("offered_fraction"))
        if rate is not None and value is not None and fraction is not None:
            points.setdefault(tr.label(row), {}).setdefault(fraction, []).append((rate, value))
    return {name: sorted((statistics.median(r for r, _ in ps), statistics.median(v for _, v in ps))
                         for ps in by_fraction.values())
            for name, by_fraction in points.items()}


def latency_load(charts, kit) -> None:
    plt = kit.plt
    cells = _cells([r for r in charts.r.ok() if r.get("search") == "sweep"])
    if not cells:
        return charts.skip("latency_load", "no sweep rows (a cell with search=sweep, or bench_all --search sweep)")
    fig, axes = plt.subplots(len(cells), 3, figsize=(13, 3.6 * len(cells) + 0.6), squeeze=False)
    handles = {}
    for row_axes, (cell, rows) in zip(axes, cells.items()):
        slo = tr.median(tr.num(r.get("slo_ms")) for r in rows)
        for ax, (column, qname) in zip(row_axes, QUANTILES):
            for name, pts in sorted(curves(rows, column).items(), key=lambda kv: charts.r.order_key(kv[0])):
                xs, ys = zip(*pts)
                (line,) = ax.plot(xs, ys, label=name, **kit.style(name))
                handles[name] = line
            kit.log_time_axis(ax)
            if column == "p99_us" and slo:
                ax.axhline(slo * 1000, color="#555", linestyle=":", linewidth=1)
                ax.annotate(f"SLO {slo:g} ms", (0.01, slo * 1000), xycoords=("axes fraction", "data"),
                            fontsize=7, color="#555", va="bottom")
            ax.set_xlim(left=0)
            ax.xaxis.set_major_formatter(kit.FuncFormatter(kit.count_label))
            ax.set_title(f"{_title(cell)}: {qname}", fontsize=9)
        row_axes[0].set_ylabel("latency (log)")
    for ax in axes[-1]:
        ax.set_xlabel("offered load (requests/s, open loop)")
    labels = sorted(handles, key=charts.r.order_key)
    fig.legend([handles[n] for n in labels], labels, loc="upper center", ncol=min(8, len(labels)),
               bbox_to_anchor=(0.5, 1.0 + 0.05 / len(cells)), frameon=False)
    fig.suptitle("Latency against offered load (corrected for coordinated omission)", y=1.0 + 0.1 / len(cells))
    fig.tight_layout()
    charts.save(fig, "latency_load", "Latency against offered load",
                "Open-loop sweeps from 10 % to 120 % of each back end's capacity at the SLO in that cell: p50, p99 "
                "and p99.9 per offered rate (medians over repetitions). Flat, then a knee where the server "
                "saturates: the further right the knee, the more load the back end carries at low latency.")


def capacity_bars(charts, kit) -> None:
    plt = kit.plt
    cells = _cells([r for r in charts.r.ok() if r.get("search") == "capacity"])
    if not cells:
        return charts.skip("capacity", "no capacity rows (a cell with search=capacity, or bench_all --search)")
    fig, axes = plt.subplots(1, len(cells), figsize=(4.8 * len(cells) + 1, 4.0), squeeze=False)
    for ax, (cell, rows) in zip(axes[0], cells.items()):
        values: Dict[str, List[float]] = {}
        for row in rows:
            v = tr.num(row.get("capacity_rps_at_slo"))
            if v is not None:
                values.setdefault(tr.label(row), []).append(v)
        names = sorted(values, key=charts.r.order_key)
        medians = [statistics.median(values[n]) for n in names]
        low = [m - min(values[n]) for n, m in zip(names, medians)]
        high = [max(values[n]) - m for n, m in zip(names, medians)]
        ax.bar(names, medians, color=[tr.colour(n) for n in names], edgecolor="black", linewidth=0.5,
               yerr=[low, high], capsize=3)
        for i, (n, m) in enumerate(zip(names, medians)):
            ax.annotate(f"{kit.count_label(m)}\n(n={len(values[n])})", (i, m), ha="center", va="bottom",
                        fontsize=7, xytext=(0, 2), textcoords="offset points")
        slo = tr.median(tr.num(r.get("slo_ms")) for r in rows)
        ax.set_title(f"{_title(cell)}\np99 ≤ {slo:g} ms" if slo else _title(cell), fontsize=9)
        ax.yaxis.set_major_formatter(kit.FuncFormatter(kit.count_label))
        ax.set_ylim(0, max(medians + [1]) * 1.25)
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    axes[0][0].set_ylabel("requests/s at the SLO")
    fig.suptitle("Capacity at a latency SLO (highest open-loop rate with achieved ≥ 99 % and p99 ≤ SLO)")
    fig.tight_layout()
    charts.save(fig, "capacity", "Capacity at a latency SLO",
                "Per back end: the highest offered open-loop rate it carried with p99 within the SLO (bracketing, "
                "then bisection to 5 %), median over repetitions, whiskers from the lowest to the highest. Higher is "
                "better.")


def draw(charts, kit) -> None:
    for step in (latency_load, capacity_bars):
        try:
            step(charts, kit)
        except Exception as e:  # one bad chart must not cost the others
            kit.plt.close("all")
            charts.skip(step.__name__, f"error: {e.__class__.__name__}: {e}")
