"""The efficiency chart (issue 13.3, 13.6), drawn by charts.py: server CPU µs per request at the fixed rate, one
panel per cell with every back end in it, each bar the median over repetitions and its error bar the 95 %
order-statistic interval (tvt_results.median_ci), so that bars whose error bars overlap read as within noise.
Capacity under the cap has its bars in chart_latency_load.py."""
from typing import Dict, List, Tuple

import tvt_results as tr


def _panels(charts, estimates: Dict[Tuple, tr.Estimate]) -> Dict[Tuple, List[Tuple]]:
    cells: Dict[Tuple, List[Tuple]] = {}
    for key in sorted(estimates, key=lambda k: (k[1], k[3], k[4], charts.r.order_key(k[0]))):
        cells.setdefault(key[1:], []).append(key)
    return cells


def _bars(charts, plt, name: str, estimates: Dict[Tuple, tr.Estimate], ylabel: str, title: str,
          caption: str) -> None:
    panels = _panels(charts, estimates)
    fig, axes = plt.subplots(1, len(panels), figsize=(max(5.0, 0.45 * max(len(v) for v in panels.values()) + 1.5)
                                                       * min(len(panels), 3), 4.2), squeeze=False)
    for ax, (cell, keys) in zip(axes[0], panels.items()):
        names = [k[0] for k in keys]
        medians = [estimates[k].median for k in keys]
        below = [estimates[k].median - estimates[k].lo for k in keys]
        above = [estimates[k].hi - estimates[k].median for k in keys]
        ax.bar(range(len(names)), medians, color=[tr.colour(n) for n in names], edgecolor="black", linewidth=0.5,
               yerr=[below, above], capsize=3, error_kw={"elinewidth": 1.0})
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=35, ha="right", fontsize=8)
        reps = sorted({estimates[k].n for k in keys})
        ax.set_title(f"{cell[0]} · {cell[2]:,} conns · {cell[3]} · n={'/'.join(map(str, reps))}", fontsize=9)
        ax.set_ylabel(ylabel)
    fig.suptitle(title, y=1.02)
    charts.save(fig, name, title, caption)


def draw(charts, plt) -> None:
    ok = tr.ok_rows(charts.r.rows)
    fixed = [x for x in ok if x.get("mode") == "open" and x.get("workload") in ("http", "echo")
             and not x.get("search") and tr.num(x.get("target_rate")) is not None and not tr.num(x.get("cpu_cap"))]
    cpu = tr.estimates(fixed, "server_cpu_us_per_op")
    if cpu:
        _bars(charts, plt, "cpu_per_request", cpu, "server CPU µs per request",
              "Server CPU per request at a fixed rate",
              "Open loop at one rate below every back end's capacity: the same work for every back end, so CPU per "
              "request compares the models' cost. Bars: medians over repetitions; error bars: 95 % order-statistic "
              "interval (overlapping bars are within noise). Lower is better.")
    else:
        charts.skip("cpu_per_request", "no fixed-rate open-loop http/echo rows with server CPU per request")
