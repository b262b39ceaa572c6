#!/usr/bin/env python3
"""charts.py RUN: draw every chart of a results folder into RUN/charts/ (PNG and SVG) and list them in
RUN/charts/index.json (title, caption, files) for report.py. Needs matplotlib: run it with the interpreter that
scripts/find-python prints (scripts/charts wraps that). Charts whose data the run lacks are skipped, and said so.

  --hdr-run STEM       the run whose latency distribution to draw (default: every back end at http closed ~1000)
  --timeline-run STEM  the run whose per-second timeline to draw (default: likewise)
STEM is a run's file stem, e.g. threads-http-closed-1000-r0 (the `log` column without logs/).
"""
import argparse
import json
import math
import os
import sys
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chart_c1m  # noqa: E402
import chart_latency_load  # noqa: E402
import chart_speed  # noqa: E402
import tvt_results as tr  # noqa: E402
import chart_soak  # noqa: E402

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
except ImportError:
    sys.exit("charts.py: this python cannot import matplotlib; run it with $(scripts/find-python) scripts/charts.py")

plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 110, "axes.grid": True, "grid.alpha": 0.3,
                     "axes.spines.top": False, "axes.spines.right": False, "legend.fontsize": 8,
                     "axes.titlesize": 11, "figure.titlesize": 12, "svg.fonttype": "none"})


def count_label(v, _pos=None) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.3g}M"
    return f"{v / 1000:.3g}k" if v >= 1000 else f"{v:g}"


def bytes_label(v, _pos=None) -> str:
    if v >= 1024 * 1024:
        return f"{v / 1048576:.1f} MiB".replace(".0 MiB", " MiB")
    if v >= 1024:
        return f"{v / 1024:.1f} KiB".replace(".0 KiB", " KiB")
    return f"{v:.0f} B"


def power_of_two_bytes_ticks(ax, values) -> None:
    """Log-scale byte axis with ticks at 64 B, 128 B, ... 1 KiB, 2 KiB ... covering the data (readable labels)."""
    values = [v for v in values if v and v > 0]
    if not values:
        return
    lo, hi = min(values), max(values)
    ticks = [2 ** e for e in range(4, 31) if lo / 2.01 <= 2 ** e <= hi * 2.01]
    ax.set_yticks(ticks)
    ax.yaxis.set_major_formatter(FuncFormatter(bytes_label))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))


def us_label(v, _pos=None) -> str:
    if v == 0:
        return "0"
    if v >= 1e6:
        return f"{v / 1e6:g} s"
    if v >= 1e3:
        return f"{v / 1e3:g} ms"
    if 0 < v < 1:
        return f"{v * 1e3:g} ns"
    return f"{v:g} µs"


def log_time_axis(ax) -> None:
    """Log latency axis labelled at 1-2-5 steps, so that even a one-decade range carries several labels."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(us_label))
    ax.yaxis.set_minor_formatter(NullFormatter())


def style(name: str) -> Dict[str, object]:
    return {"color": tr.colour(name), "linestyle": "--" if "+" in name else "-", "marker": "o", "markersize": 4,
            "linewidth": 1.6}


def _variant_key(variant: str):
    """"units:10000" sorts by its number; "" (no argument) first."""
    number = tr.num(variant.rsplit(":", 1)[-1]) if variant else None
    return (number if number is not None else -1.0, variant)


def _short_variant(variant: str) -> str:
    """"leaves:1000000" -> "1M leaves"."""
    if ":" not in variant:
        return variant
    what, value = variant.split(":", 1)
    n = tr.num(value)
    return f"{count_label(n)} {what}" if n is not None else variant


def _per(counter: str) -> str:
    """"ns_per_round_trip" -> "round trip"."""
    return counter.split("_per_", 1)[-1].replace("_bytes", "").replace("_", " ")


class Charts:
    def __init__(self, results: tr.Results):
        self.r = results
        self.out = os.path.join(results.folder, "charts")
        os.makedirs(self.out, exist_ok=True)
        self.index: List[Dict[str, object]] = []
        self.skipped: List[str] = []
        subtitle = results.meta.get("machine", {})
        self.footer = (f"profile {results.meta.get('profile', '?')} · {subtitle.get('cpu_model', '?')} · "
                       f"{subtitle.get('cores', '?')} cores · commit {str(results.meta.get('git', {}).get('commit'))[:10]}")

    def save(self, fig, name: str, title: str, caption: str) -> None:
        fig.text(0.99, -0.02, self.footer, ha="right", va="top", fontsize=6, color="#777")
        files = []
        for ext in ("png", "svg"):
            path = os.path.join(self.out, f"{name}.{ext}")
            fig.savefig(path, bbox_inches="tight")
            files.append(os.path.relpath(path, self.r.folder))
        plt.close(fig)
        self.index.append({"name": name, "title": title, "caption": caption, "png": files[0], "svg": files[1]})

    def skip(self, name: str, why: str) -> None:
        self.skipped.append(f"{name}: {why}")

    @staticmethod
    def log_x_counts(ax, counts) -> None:
        ax.set_xscale("log")
        ax.set_xticks(sorted(counts))
        ax.xaxis.set_major_formatter(FuncFormatter(count_label))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))

    # ------------------------------------------------------------------------------------------------ memory
    def memory_per_connection(self) -> None:
        user = self.r.series("rss_per_conn_bytes", mode="idle")
        total = self.r.series("total_per_conn_bytes", mode="idle")
        if not user and not total:
            return self.skip("memory_per_connection", "no idle-mode rows with memory figures")
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
        counts, all_values = set(), []
        for ax, data, title in ((axes[0], user, "user memory (server RSS delta)"),
                                (axes[1], total, "total (user + kernel: stacks, page tables, slab)")):
            for name, points in data.items():
                xs, ys = zip(*points)
                counts.update(xs)
                all_values.extend(ys)
                ax.plot(xs, ys, label=name, **style(name))
            ax.set_title(title)
            ax.set_xlabel("idle connections held")
            ax.set_yscale("log")
        power_of_two_bytes_ticks(axes[0], all_values)
        for ax in axes:
            self.log_x_counts(ax, counts or {1})
        axes[0].set_ylabel("bytes per connection (log)")
        handles, labels = axes[0].get_legend_handles_labels() if user else axes[1].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper center", ncol=min(8, len(labels)), bbox_to_anchor=(0.5, 1.02),
                   frameon=False)
        fig.suptitle("Memory per connection vs connections", y=1.08)
        self.save(fig, "memory_per_connection", "Memory per connection",
                  "Idle-hold runs: (server RSS with N connections − before) / N, and the same plus the machine-wide "
                  "kernel cost (kernel stacks, page tables, slab) per connection. Lower is better.")

    def memory_split(self) -> None:
        rows = self.r.ok(mode="idle")
        if not rows:
            return self.skip("memory_split", "no idle-mode rows")
        largest = max(int(r["connections"]) for r in rows)
        parts = [("rss_per_conn_bytes", "user (server RSS)", None), ("kernel_stack_per_conn_bytes", "kernel stacks", "//"),
                 ("page_tables_per_conn_bytes", "page tables", "\\\\"), ("slab_per_conn_bytes", "slab", "xx")]
        by_name: Dict[str, Dict[str, float]] = {}
        for row in rows:
            if int(row["connections"]) == largest:
                by_name.setdefault(tr.label(row), {k: tr.num(row.get(k)) or 0.0 for k, _, _ in parts}) \
                    .setdefault("_kernel", tr.num(row.get("kernel_per_conn_bytes")) or 0.0)
        names = sorted(by_name, key=self.r.order_key)
        fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(names) + 2), 4.2))
        bottoms = [0.0] * len(names)
        legend = []
        from matplotlib.patches import Patch
        for key, title, hatch in parts:
            values = [max(by_name[n].get(key, 0.0), 0.0) for n in names]
            if key != "rss_per_conn_bytes" and not any(values):
                continue
            ax.bar(names, values, bottom=bottoms, color=[tr.colour(n) for n in names],
                   alpha=1.0 if hatch is None else 0.45, edgecolor="black", linewidth=0.5, hatch=hatch)
            legend.append(Patch(facecolor="#bbbbbb" if hatch is None else "white", edgecolor="black", hatch=hatch,
                                label=title))
            bottoms = [b + v for b, v in zip(bottoms, values)]
        # A kernel figure with no breakdown still shows, as one segment.
        rest = [max(by_name[n]["_kernel"] - (b - by_name[n]["rss_per_conn_bytes"]), 0.0) for n, b in zip(names, bottoms)]
        if any(v > 1 for v in rest):
            ax.bar(names, rest, bottom=bottoms, color=[tr.colour(n) for n in names],
                   alpha=0.25, edgecolor="black", linewidth=0.5, hatch="..")
            legend.append(Patch(facecolor="white", edgecolor="black", hatch="..", label="kernel (other)"))
            bottoms = [b + v for b, v in zip(bottoms, rest)]
        for i, total in enumerate(bottoms):
            ax.annotate(bytes_label(round(total)), (i, total), ha="center", va="bottom", fontsize=8,
                        xytext=(0, 2), textcoords="offset points")
        ax.set_ylabel("KiB per connection")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v / 1024:g}"))
        from matplotlib.ticker import MultipleLocator
        top = max(bottoms + [1])
        step = next(s for s in (256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536) if top / s <= 10)
        ax.yaxis.set_major_locator(MultipleLocator(step))
        ax.set_title(f"User vs kernel memory per connection at {largest:,} idle connections")
        ax.legend(handles=legend, loc="upper right")
        ax.set_ylim(0, max(bottoms + [1]) * 1.15)
        plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
        self.save(fig, "memory_split", "User vs kernel memory",
                  f"Stacked per-connection cost at {largest:,} idle connections: the server's own RSS (solid) and "
                  "the kernel's share (hatched; machine-wide deltas, so a little noisy).")

    # -------------------------------------------------------------------------------------------- throughput
    # Chat's op is a delivery (one message reaches every member of its group): its panel plots deliveries/s against
    # members, and only where there is a curve to read (two member counts or more; a single point at the offered
    # rate says nothing about the back end).
    PER_WORKLOAD_COLUMN = {"chat": ("deliveries_per_s", "deliveries/s", "members (connections)")}

    def per_workload(self, name: str, title: str, column: str, ylabel: str, caption: str, log_y=False,
                     formatter=None) -> None:
        panels = []
        for workload in self.r.workloads("closed"):
            col, unit, xlabel = self.PER_WORKLOAD_COLUMN.get(workload, (column, ylabel, "connections"))
            series = self.r.series(col, mode="closed", workload=workload)
            if workload in self.PER_WORKLOAD_COLUMN and len({c for pts in series.values() for c, _ in pts}) < 2:
                self.skipped.append(f"{name}: {workload} panel left out (one {xlabel.split()[0]} count: no curve)")
                continue
            if series:
                panels.append((workload, series, unit, xlabel))
        if not panels:
            return self.skip(name, f"no closed-loop rows with {column}")
        fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels) + 1, 4.0), squeeze=False)
        handles = {}
        for ax, (workload, series, unit, xlabel) in zip(axes[0], panels):
            counts = set()
            for label, points in series.items():
                xs, ys = zip(*points)
                counts.update(xs)
                (line,) = ax.plot(xs, ys, label=label, **style(label))
                handles[label] = line
            self.log_x_counts(ax, counts)
            ax.set_title(workload if unit == ylabel else f"{workload}: {unit}")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(unit)
            if log_y:
                ax.set_yscale("log")
            if formatter:
                ax.yaxis.set_major_formatter(FuncFormatter(formatter))
            ax.set_ylim(bottom=0 if not log_y else None)
        labels = sorted(handles, key=self.r.order_key)
        fig.legend([handles[l] for l in labels], labels, loc="upper center", ncol=min(8, len(labels)),
                   bbox_to_anchor=(0.5, 1.03), frameon=False)
        fig.suptitle(title, y=1.09)
        self.save(fig, name, title, caption)

    def latency(self) -> None:
        workloads = [w for w in self.r.workloads("closed") if self.r.series("p99_us", mode="closed", workload=w)]
        if not workloads:
            return self.skip("latency", "no closed-loop latency rows")
        quantiles = [("p50_us", "p50"), ("p99_us", "p99"), ("p999_us", "p99.9")]
        fig, axes = plt.subplots(len(workloads), 3, figsize=(13, 3.3 * len(workloads) + 0.6), squeeze=False,
                                 sharex="row")
        handles = {}
        for row_axes, workload in zip(axes, workloads):
            for ax, (column, qname) in zip(row_axes, quantiles):
                counts = set()
                for label, points in self.r.series(column, mode="closed", workload=workload).items():
                    xs, ys = zip(*points)
                    counts.update(xs)
                    (line,) = ax.plot(xs, ys, label=label, **style(label))
                    handles[label] = line
                self.log_x_counts(ax, counts or {1})
                log_time_axis(ax)
                ax.set_title(f"{workload}: {qname}")
            row_axes[0].set_ylabel("latency (log)")
        for ax in axes[-1]:
            ax.set_xlabel("connections")
        labels = sorted(handles, key=self.r.order_key)
        fig.legend([handles[l] for l in labels], labels, loc="upper center", ncol=min(8, len(labels)),
                   bbox_to_anchor=(0.5, 1.0 + 0.06 / len(workloads)), frameon=False)
        fig.suptitle("Latency percentiles vs connections (closed loop)", y=1.0 + 0.12 / len(workloads))
        fig.tight_layout()
        self.save(fig, "latency", "Latency percentiles",
                  "p50, p99 and p99.9 request latency per back end, closed loop (each connection sends its next "
                  "request when the reply arrives). Lower is better.")

    def compute(self) -> None:
        rows = self.r.ok(workload="compute")
        if not rows:
            return self.skip("compute", "no compute rows")
        counts = sorted({int(r["connections"]) for r in rows})
        fig, axes = plt.subplots(1, len(counts), figsize=(5.5 * len(counts) + 1, 4), squeeze=False)
        for ax, count in zip(axes[0], counts):
            cell = sorted((r for r in rows if int(r["connections"]) == count), key=lambda r: self.r.order_key(tr.label(r)))
            names = [tr.label(r) for r in cell]
            values = [tr.num(r.get("small_p99_us")) or tr.num(r.get("p99_us")) or 0 for r in cell]
            ax.bar(names, values, color=[tr.colour(n) for n in names],
                   hatch=["//" if "+" in n else None for n in names], edgecolor="black", linewidth=0.5)
            log_time_axis(ax)
            ax.set_title(f"{count:,} connections")
            plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
        axes[0][0].set_ylabel("small-request p99 (log)")
        fig.suptitle("Compute: small-request p99 under a mixed small/large load (hatched = --offload)")
        fig.tight_layout()
        self.save(fig, "compute", "Compute head-of-line blocking",
                  "p99 of the small requests while large ones run on the same server; +offload runs the digest via "
                  "spawn_blocking. Lower is better.")

    # ------------------------------------------------------------------------------------------ single runs
    def pick_runs(self, stem: Optional[str], column: str) -> Tuple[str, List[Dict[str, str]]]:
        if stem:
            rows = [r for r in self.r.rows if r.get("log", "").endswith(stem) and r.get(column)]
            return stem, rows
        cell = self.r.chosen_cell()
        if not cell:
            return "", []
        workload, mode, count = cell
        rows = [r for r in self.r.ok(workload=workload, mode=mode) if int(r["connections"]) == count
                and r.get(column) and r.get("repetition", "0") == "0"]
        return f"{workload} {mode}, {count:,} connections", sorted(rows, key=lambda r: self.r.order_key(tr.label(r)))

    def hdr_distribution(self, stem: Optional[str]) -> None:
        what, rows = self.pick_runs(stem, "hdr_log")
        curves = []
        for row in rows:
            try:
                buckets = tr.read_hdr_log(os.path.join(self.r.folder, row["hdr_log"]))
            except OSError:
                continue
            total = sum(c for _, c in buckets)
            if total:
                curves.append((tr.label(row), buckets, total))
        if not curves:
            return self.skip("hdr_distribution", "no readable --hdr-log for the chosen run")
        fig, ax = plt.subplots(figsize=(8, 4.5))
        worst = 1.0
        for name, buckets, total in curves:
            xs, ys, seen = [], [], 0
            for value, count in buckets:
                seen += count
                q = min(seen / total, 1 - 1 / total)  # the maximum sits at 1 - 1/N: as far as N samples can say
                xs.append(1.0 / (1.0 - q))
                ys.append(value)
            worst = max(worst, xs[-1])
            ax.plot(xs, ys, label=f"{name} ({total:,} requests)", color=tr.colour(name), linewidth=1.6,
                    drawstyle="steps-post", linestyle="--" if "+" in name else "-")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = [q for q in (2, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7) if q <= worst * 1.01]
        ax.set_xticks(ticks)
        ax.set_xlim(1, worst * 1.3)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{100 - 100 / v:g}%" if v > 1 else "0%"))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
        log_time_axis(ax)
        ax.set_xlabel("percentile (x = 1/(1−q), log)")
        ax.set_ylabel("latency (log)")
        ax.set_title(f"Latency distribution: {what}")
        ax.legend(loc="lower right")
        self.save(fig, "hdr_distribution", "Latency distribution",
                  f"Full HDR histogram of {what} (all measured intervals merged): how latency grows into the tail.")

    def timeline(self, stem: Optional[str]) -> None:
        what, rows = self.pick_runs(stem, "timeline")
        series = []
        for row in rows:
            points = tr.read_timeline(os.path.join(self.r.folder, row["timeline"]))
            if points:
                series.append((tr.label(row), points))
        if not series:
            return self.skip("timeline", "no timeline for the chosen run")
        panels = [("requests", "requests/s", lambda v, _p: f"{v / 1000:g}k" if v >= 1000 else f"{v:g}"),
                  ("p99_us", "p99", us_label),
                  ("server_rss_bytes", "server RSS (MiB)", lambda v, _p: f"{v / 1048576:g}")]
        from matplotlib.ticker import MultipleLocator
        fig, axes = plt.subplots(len(panels), 1, figsize=(9, 7), sharex=True)
        for ax, (column, ylabel, formatter) in zip(axes, panels):
            for name, points in series:
                xs = [p.get("second", p.get("t_s", i + 1)) for i, p in enumerate(points)]
                ys = [p.get(column) for p in points]
                if any(y is not None for y in ys):
                    ax.plot(xs, ys, label=name, **dict(style(name), markersize=2))
            ax.set_ylabel(ylabel)
            if formatter:
                ax.yaxis.set_major_formatter(FuncFormatter(formatter))
            ax.set_ylim(bottom=0)
            if column == "server_rss_bytes":  # whole MiB steps, not 976.6 KiB
                top = ax.get_ylim()[1] / 1048576
                ax.yaxis.set_major_locator(MultipleLocator(1048576 * max(1, 2 ** round(math.log2(max(top, 1) / 5)))))
        axes[-1].set_xlabel("second of the run")
        from matplotlib.ticker import MaxNLocator
        axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
        fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", ncol=min(7, len(series)),
                   bbox_to_anchor=(0.5, 0.965), frameon=False)
        fig.suptitle(f"Per-second timeline: {what}", y=0.995)
        fig.tight_layout(rect=(0, 0, 1, 0.93))
        self.save(fig, "timeline", "Per-second timeline",
                  f"Requests per second, p99 and server RSS second by second during {what}.")

    # -------------------------------------------------------------------------------------------------- micro
    def micro_panels(self) -> List[Tuple[str, str, str, Dict[str, Dict[str, float]]]]:
        """(family, counter, unit, {model: {variant: median}}) for every question of tr.MICRO_HEADLINE that at least
        two models answered. Medians of repetitions where repeated (aggregate rows), else the single run."""
        rows = [r for r in self.r.micro if not r.get("error_message")]
        medians = [r for r in rows if r.get("aggregate_name") == "median"]
        rows = medians or [r for r in rows if r.get("run_type") in ("iteration", "", None)]
        samples: Dict[Tuple[str, str], Dict[str, Dict[str, List[float]]]] = {}
        for r in rows:
            family, model, variant = tr.micro_name(r.get("run_name") or r["name"])
            counters = tr.micro_counters(r.get("counters", ""))
            for counter, _, _ in tr.MICRO_HEADLINE.get(family, []):
                if model and counter in counters:
                    samples.setdefault((family, counter), {}).setdefault(model, {}).setdefault(variant, []) \
                        .append(counters[counter])
        panels = []
        for family, headline in tr.MICRO_HEADLINE.items():
            for counter, unit, question in headline:
                by_model = samples.get((family, counter), {})
                if len(by_model) >= 2:
                    panels.append((question, counter, unit, {m: {v: sorted(xs)[len(xs) // 2] for v, xs in vs.items()}
                                                            for m, vs in by_model.items()}))
        return panels

    def micro(self) -> None:
        panels = self.micro_panels()
        if not panels:
            return self.skip("micro", "no micro.csv rows with per-unit counters answered by two models or more")
        columns = min(4, len(panels))
        rows_n = (len(panels) + columns - 1) // columns
        fig, axes = plt.subplots(rows_n, columns, figsize=(4.4 * columns + 0.5, 3.7 * rows_n + 0.6), squeeze=False)
        hatches = ["", "//", "..", "xx"]
        for ax, (question, counter, unit, by_model) in zip(axes.flat, panels):
            models = self.r.backends.sorted(by_model)
            variants = sorted({v for vs in by_model.values() for v in vs}, key=_variant_key)
            # the variant most models ran first (solid bars), e.g. same-thread before across-threads
            variants.sort(key=lambda v: -sum(v in by_model[m] for m in models))
            shared = len(variants) <= len(hatches) and all(
                sum(v in by_model[m] for m in models) >= 2 for v in variants)
            if shared:
                # every variant was run by several models: one group of bars per model, one bar per variant
                width = 0.8 / len(variants)
                for i, variant in enumerate(variants):
                    xs = [j + (i - (len(variants) - 1) / 2) * width for j, m in enumerate(models) if variant in by_model[m]]
                    ys = [by_model[m][variant] for m in models if variant in by_model[m]]
                    ax.bar(xs, ys, width=width, color=[tr.colour(m) for m in models if variant in by_model[m]],
                           edgecolor="black", linewidth=0.4, hatch=hatches[i], label=variant or None)
                ax.set_xticks(range(len(models)))
                ax.set_xticklabels(models)
                if len(variants) > 1:
                    ax.legend(fontsize=6, frameon=False, handlelength=1.2,
                              handles=[plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="black", hatch=h)
                                       for h in hatches[:len(variants)]], labels=variants)
            else:
                # models ran different sizes (the machine's limits): each at its largest, the size under its name
                chosen = {m: max(by_model[m], key=_variant_key) for m in models}
                ax.bar(range(len(models)), [by_model[m][chosen[m]] for m in models],
                       color=[tr.colour(m) for m in models], edgecolor="black", linewidth=0.4)
                ax.set_xticks(range(len(models)))
                ax.set_xticklabels([f"{m} ({_short_variant(chosen[m])})" for m in models])
            ax.set_yscale("log")
            if unit == "B":
                power_of_two_bytes_ticks(ax, [v for vs in by_model.values() for v in vs.values()])
            else:
                ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: us_label(v / 1000.0)))
                ax.yaxis.set_minor_formatter(NullFormatter())  # minor log ticks in scientific notation only clutter
            ax.set_title(f"{question}\n({'bytes' if unit == 'B' else 'time'} per {_per(counter)}, log)", fontsize=9)
            plt.setp(ax.get_xticklabels(), rotation=40, ha="right", fontsize=7)
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        fig.suptitle("Micro-benchmarks by model: cost per spawned unit, per round trip, per yield; memory per parked "
                     "unit (lower is better)")
        fig.tight_layout(rect=(0, 0, 1, 0.97))  # keep the suptitle clear of the first row's titles
        self.save(fig, "micro", "Micro-benchmarks",
                  "Per-unit figures from the benchmarks' own counters (not the time per benchmark iteration, which "
                  "spawns or switches many units): one panel per question with every model that answered it; "
                  "median of repetitions when repeated; log scale.")
        self.index[-1]["panels"] = {question: self.r.backends.sorted(by_model) for question, _, _, by_model in panels}

    def draw_all(self, hdr_run: Optional[str], timeline_run: Optional[str]) -> None:
        steps = [
            self.memory_per_connection, self.memory_split,
            lambda: self.per_workload("throughput", "Requests per second vs connections", "rps", "requests/s",
                                      "Closed-loop throughput per back end; compare back ends within the run "
                                      "(two shared cores cap absolute figures). Higher is better.",
                                      formatter=lambda v, _p: f"{v / 1000:g}k" if v >= 1000 else f"{v:g}"),
            self.latency, self.compute,
            lambda: self.hdr_distribution(hdr_run), lambda: self.timeline(timeline_run), self.micro,
            lambda: chart_speed.draw(self, plt),
            lambda: chart_latency_load.draw(self, sys.modules[__name__]),
            lambda: chart_c1m.draw(self, plt, style, count_label, bytes_label, FuncFormatter),
            lambda: chart_soak.draw(self),
        ]
        for step in steps:
            try:
                step()
            except Exception as e:  # one bad chart must not cost the others
                plt.close("all")
                self.skip(getattr(step, "__name__", "chart"), f"error: {e.__class__.__name__}: {e}")
        with open(os.path.join(self.out, "index.json"), "w") as f:
            json.dump({"charts": self.index, "skipped": self.skipped}, f, indent=2)


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="results folder")
    p.add_argument("--hdr-run", help="file stem of the run for the latency distribution")
    p.add_argument("--timeline-run", help="file stem of the run for the timeline")
    args = p.parse_args(argv)
    results = tr.Results(args.run)
    if not results.rows and not results.micro:
        print(f"charts.py: {args.run} has no results.csv rows", file=sys.stderr)
        return 1
    charts = Charts(results)
    charts.draw_all(args.hdr_run, args.timeline_run)
    print(f"charts.py: {len(charts.index)} charts in {charts.out}", file=sys.stderr)
    for line in charts.skipped:
        print(f"charts.py: skipped {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
