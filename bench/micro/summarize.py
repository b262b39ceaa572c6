#!/usr/bin/env python3
"""Table of medians from bench_micro_* JSON (Google Benchmark's format, or bench_all's merged micro.json).

usage: summarize.py FILE.json [FILE.json ...]
Prints one markdown table per benchmark family: rows = the family's variants (placement, units, leaves), columns =
models, cells = the median of the family's headline counter (ns_per_unit, ns_per_round_trip, ns_per_yield,
rss_per_unit_bytes / total_per_unit_bytes). Rows without a median (one repetition) fall back to the single run.
Stdlib only. Families, headline counters and name parsing come from scripts/tvt_results.py (the one
results library, shared with the charts and the report).
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import tvt_results as tr  # noqa: E402

# family -> counters to tabulate: the per-unit headline counters, and skynet's whole-run time too
HEADLINE = {family: (["real_time_ms"] if family == "BM_Skynet" else []) + [c for c, _, _ in counters]
            for family, counters in tr.MICRO_HEADLINE.items()}


def parse_name(run_name):
    family, model, rest = tr.micro_name(run_name)
    return family, model or "?", rest


def read_json(path):
    """A binary that died mid-run (the hang watchdog) leaves a truncated file: keep its complete entries."""
    with open(path) as f:
        text = f.read()
    try:
        return json.loads(text)
    except ValueError:
        cut = text.rfind("\n    },")
        if cut < 0:
            raise
        print(f"summarize.py: {path} is truncated; using its complete entries", file=sys.stderr)
        return json.loads(text[:cut] + "\n    }\n  ]\n}")


def load(paths):
    cells = {}  # (family, variant, model) -> {metric: value}, medians preferred over single runs
    for path in paths:
        try:
            data = read_json(path)
        except (OSError, ValueError) as error:
            print(f"summarize.py: skipping {path}: {error}", file=sys.stderr)
            continue
        for b in data.get("benchmarks", []):
            kind = b.get("run_type")
            if kind == "aggregate" and b.get("aggregate_name") != "median":
                continue
            family, model, variant = parse_name(b.get("run_name", b["name"]))
            if family not in HEADLINE:
                continue
            key = (family, variant, model)
            if kind != "aggregate" and key in cells and cells[key].get("_median"):
                continue
            if b.get("error_occurred"):
                cells[key] = {"_error": b.get("error_message", "error"), "_median": kind == "aggregate"}
                continue
            values = {k: v for k, v in b.items() if isinstance(v, (int, float))}
            scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b.get("time_unit", "ns")]
            values["real_time_ms"] = b["real_time"] * scale
            values["_median"] = kind == "aggregate"
            values["_label"] = b.get("label", "")
            cells[key] = values
    return cells


def fmt(value):
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def main(paths):
    cells = load(paths)
    # Columns in the order the benchmarks ran, which is the binaries' model order (bench/micro/models/all_models.hpp).
    models = list(dict.fromkeys(model for (_, _, model) in cells))
    for family, metrics in HEADLINE.items():
        variants = sorted({v for (f, v, _) in cells if f == family}, key=lambda v: (len(v), v))
        if not variants:
            continue
        for metric in metrics:
            print(f"\n### {family} — {metric} (median)\n")
            print("| variant | " + " | ".join(models) + " |")
            print("|---|" + "---|" * len(models))
            for variant in variants:
                row = []
                for model in models:
                    cell = cells.get((family, variant, model))
                    if cell is None:
                        row.append("—")
                    elif "_error" in cell:
                        row.append("error")
                    else:
                        row.append(fmt(cell.get(metric)))
                print(f"| {variant or '-'} | " + " | ".join(row) + " |")
    labels = {(f, v, m): c["_label"] for (f, v, m), c in cells.items() if c.get("_label")}
    if labels:
        print("\nLabels:")
        for (f, v, m), label in sorted(labels.items()):
            print(f"- {f}/{v} {m}: {label}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1:])
