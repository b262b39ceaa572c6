"""The latency-load chart (the knee figure) and the capacity bars, from bench_all's search rows (issue 13.4).

- latency_load: sweep rows (`search` = sweep), two rows of panels per (workload, connections, CPU cap), panels p50,
  p99 and p99.9 (log y) against the offered rate (`target_rate`, each back end's capacity marked) and against the
  fraction of its capacity (`offered_fraction`), one curve per back end (median over repetitions at each offered
  fraction); the p99 panels mark the SLO. Where a curve turns up is the back end's knee.
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


# The two x axes of the latency-load figure: the offered rate itself (where each back end's knee is, in requests/s)
# and the offered rate as a fraction of that back end's capacity in the cell (how each one's latency rises towards
# its own capacity: the knees line up near 100 % when the capacity search and the sweep agree).
X_AXES = (("target_rate", "offered load (requests/s, open loop)"),
          ("offered_fraction", "offered load (fraction of the back end's capacity at the SLO)"))


def curves(rows: List[Dict[str, str]], column: str, x: str = "target_rate") -> Dict[str, List[Tuple[float, float]]]:
    """label -> [(median x, median `column`)] per offered fraction, sorted by x; x is the offered rate (target_rate)
    or the fraction of capacity (offered_fraction)."""
    points: Dict[str, Dict[float, List[Tuple[float, float]]]] = {}
    for row in rows:
        at, value, fraction = tr.num(row.get(x)), tr.num(row.get(column)), tr.num(row.get("offered_fraction"))
        if at is not None and value is not None and fraction is not None:
            points.setdefault(tr.label(row), {}).setdefault(fraction, []).append((at, value))
    return {name: sorted((statistics.median(a for a, _ in ps), statistics.median(v for _, v in ps))
                         for ps in by_fraction.values())
            for name, by_fraction in points.items()}


def capacities(rows: List[Dict[str, str]]) -> Dict[str, float]:
    """label -> the median capacity its sweep points were scaled from (the 100 % point of its curve)."""
    found: Dict[str, List[float]] = {}
    for row in rows:
        v = tr.num(row.get("capacity_rps_at_slo"))
        if v is not None:
            found.setdefault(tr.label(row), []).append(v)
    return {name: statistics.median(vs) for name, vs in found.items()}


def latency_load(charts, kit) -> None:
    plt = kit.plt
    cells = _cells([r for r in charts.r.ok() if r.get("search") == "sweep"])
    if not cells:
        return charts.skip("latency_load", "no sweep rows (a cell with search=sweep, or bench_all --search sweep)")
    n = 2 * len(cells)  # per cell: against the offered rate, then against the fraction of capacity
    fig, axes = plt.subplots(n, 3, figsize=(13, 3.4 * n + 0.6), squeeze=False)
    handles = {}
    for i, (cell, rows) in enumerate(cells.items()):
        slo = tr.median(tr.num(r.get("slo_ms")) for r in rows)
        capacity = capacities(rows)
        for row_axes, (x, xlabel) in zip(axes[2 * i:2 * i + 2], X_AXES):
            for ax, (column, qname) in zip(row_axes, QUANTILES):
                for name, pts in sorted(curves(rows, column, x).items(), key=lambda kv: charts.r.order_key(kv[0])):
                    xs, ys = zip(*pts)
                    (line,) = ax.plot(xs, ys, label=name, **kit.style(name))
                    handles[name] = line
                    if x == "target_rate" and name in capacity:  # the back end's capacity: where its knee should be
                        at = min(pts, key=lambda p: abs(p[0] - capacity[name]))
                        ax.plot([at[0]], [at[1]], marker="D", markersize=8, markerfacecolor="none",
                                markeredgecolor=tr.colour(name), linestyle="none")
                kit.log_time_axis(ax)
                if column == "p99_us" and slo:
                    ax.axhline(slo * 1000, color="#555", linestyle=":", linewidth=1)
                    ax.annotate(f"SLO {slo:g} ms", (0.01, slo * 1000), xycoords=("axes fraction", "data"),
                                fontsize=7, color="#555", va="bottom")
                ax.set_xlim(left=0)
                if x == "offered_fraction":
                    ax.axvline(1.0, color="#555", linestyle=":", linewidth=1)
                    ax.xaxis.set_major_formatter(kit.FuncFormatter(lambda v, _p: f"{v:.0%}"))
                    ax.set_title(f"{qname} by fraction of capacity ({cell[0]}, {cell[1]:,})", fontsize=9)
                else:
                    ax.xaxis.set_major_formatter(kit.FuncFormatter(kit.count_label))
                    ax.set_title(f"{_title(cell)}: {qname}", fontsize=9)
                ax.set_xlabel(xlabel, fontsize=8)
            row_axes[0].set_ylabel("latency (log)")
    labels = sorted(handles, key=charts.r.order_key)
    fig.legend([handles[n] for n in labels], labels, loc="upper center", ncol=min(8, len(labels)),
               bbox_to_anchor=(0.5, 1.0 + 0.05 / n), frameon=False)
    _finish(charts, fig, "Latency against offered load (corrected for coordinated omission)", 1.0 + 0.1 / n,
            "latency_load", "Latency against offered load",
            "Open-loop sweeps from 10 % to 120 % of each back end's capacity at the SLO in that cell: p50, p99 "
            "and p99.9 (log scale, medians over repetitions) against the offered rate (upper row of each cell; the "
            "open diamond is the back end's capacity) and against the fraction of its capacity (lower row; the "
            "dotted line is 100 %). Flat, then a knee where the server saturates: the further right the knee in "
            "the upper row, the more load the back end carries at low latency.")


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
    _finish(charts, fig, "Capacity at a latency SLO (highest open-loop rate with achieved ≥ 99 % and p99 ≤ SLO)", 1.0,
            "capacity", "Capacity at a latency SLO",
            "Per back end: the highest offered open-loop rate it carried with p99 within the SLO (bracketing, "
            "then bisection to 5 %), median over repetitions, whiskers from the lowest to the highest. Higher is "
            "better.")


def _finish(charts, fig, suptitle: str, y: float, name: str, title: str, caption: str) -> None:
    fig.suptitle(suptitle, y=y)
    fig.tight_layout()
    charts.save(fig, name, title, caption)


def draw(charts, kit) -> None:
    for step in (latency_load, capacity_bars):
        try:
            step(charts, kit)
        except Exception as e:  # one bad chart must not cost the others
            kit.plt.close("all")
            charts.skip(step.__name__, f"error: {e.__class__.__name__}: {e}")
