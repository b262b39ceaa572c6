"""The c1m chart (issue 21): total memory per connection, and connections held against connections asked (log x),
one line per back end, each ending where its model stops, its stop reason written at the end. charts.py calls draw()
with its Charts object and its formatting helpers; a folder without c1m rows is skipped."""
from typing import Callable, Dict, List, Tuple

import tvt_results as tr


def _points(rows: List[Dict[str, str]]) -> Dict[str, List[Tuple[int, float, float, str]]]:
    """backend -> [(asked, held, total bytes per connection or nan, stop_reason)] in step order."""
    out: Dict[str, List[Tuple[int, float, float, str]]] = {}
    for row in rows:
        if row.get("profile") != "c1m":
            continue
        asked, held = tr.num(row.get("connections")), tr.num(row.get("connections_established"))
        if not asked:
            continue
        total = tr.num(row.get("total_per_conn_bytes"))
        out.setdefault(row["backend"], []).append(
            (int(asked), held or 0.0, total if total is not None else float("nan"), row.get("stop_reason") or ""))
    for points in out.values():
        points.sort()
    return out


def draw(charts, plt, style: Callable, count_label: Callable, bytes_label: Callable, FuncFormatter) -> None:
    data = _points(charts.r.rows)
    if not data:
        return charts.skip("c1m", "no c1m-profile rows")
    fig, (mem_ax, held_ax) = plt.subplots(1, 2, figsize=(11, 4.4))
    names = charts.r.backends.sorted(data)
    asked_all = sorted({p[0] for points in data.values() for p in points})
    for name in names:
        points = data[name]
        xs = [p[0] for p in points]
        mem = [(p[0], p[2]) for p in points if p[1] > 0 and p[2] == p[2]]
        if mem:
            mem_ax.plot(*zip(*mem), label=name, **style(name))
        held_ax.plot(xs, [max(p[1], 1) for p in points], label=name, **style(name))
        last = points[-1]
        if last[3]:
            held_ax.annotate(last[3].split(":")[0], (last[0], max(last[1], 1)), textcoords="offset points",
                             xytext=(4, -10), fontsize=7, color=tr.colour(name))
    held_ax.plot(asked_all, asked_all, color="#999", linestyle=":", linewidth=1, label="held = asked")
    for ax in (mem_ax, held_ax):
        charts.log_x_counts(ax, asked_all)
        ax.set_xlabel("connections asked")
    mem_ax.set_yscale("log")
    mem_ax.yaxis.set_major_formatter(FuncFormatter(bytes_label))
    mem_ax.yaxis.set_minor_formatter(FuncFormatter(bytes_label))
    mem_ax.set_ylabel("bytes per connection (server user + kernel)")
    mem_ax.set_title("total memory per connection")
    held_ax.set_yscale("log")
    held_ax.yaxis.set_major_formatter(FuncFormatter(count_label))
    held_ax.yaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
    held_ax.set_ylabel("connections held (verified)")
    held_ax.set_title("connections held vs asked (label: why it stops)")
    handles, labels = held_ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=min(8, len(labels)), bbox_to_anchor=(0.5, 1.04),
               frameon=False)
    fig.suptitle("A million idle connections: where each model stops", y=1.1)
    charts.save(fig, "c1m", "A million connections",
                "Each back end steps up (sharded past one process's descriptors) until it does not hold a step "
                "whole; left: server RSS plus machine kernel memory (stacks, page tables, slab) per connection; "
                "right: connections verified and held, the label at each line's end is its stop_reason.")
