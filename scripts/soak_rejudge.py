#!/usr/bin/env python3
"""Judges finished soak runs again with today's bench/bench_all/soak.py, into a new folder.

    scripts/soak_rejudge.py OUT SOAK_RUN [SOAK_RUN ...] [--max-slope B]

For when the judgement changed after a long soak was measured (a soak of 13 back ends is hours of machine time): each
soak row of the given runs (e.g. the lanes of one soak) is judged again from what the run kept, its sampler timeline,
its churn record and its load generator record, exactly as soak.py judges a new row. OUT gets those files, the rows
in registry order in results.csv, and a meta.json that names the sources. The sources stay as they were written; OUT
must not exist. Then `scripts/charts OUT` and `scripts/report.py OUT` draw and report it as any run.
"""
import argparse
import json
import os
import shutil
import sys
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bench", "bench_all"))
sys.path.insert(0, HERE)
import columns  # noqa: E402
import extras  # noqa: E402
import runner  # noqa: E402
import soak  # noqa: E402
import tvt_results as tr  # noqa: E402


def rejudge_row(row: Dict[str, str], source: str, out: str, max_slope: float) -> Dict[str, object]:
    stem = os.path.basename(row.get("log") or "")
    paths = runner.RunPaths(out, stem)
    for sub, name in (("timelines", stem + ".csv"), ("logs", stem + ".churn.json"), ("logs", stem + ".json")):
        if os.path.exists(os.path.join(source, sub, name)):
            shutil.copy2(os.path.join(source, sub, name), os.path.join(out, sub, name))
    part = soak.Part(row["backend"], row["workload"], int(tr.num(row.get("connections")) or 0), [],
                     soak.CHURN_RATE if tr.num(row.get("churned_connections")) else 0, 0.0, out, [])
    part.paths = paths
    part.churn_json = os.path.join(out, "logs", stem + ".churn.json")
    part.churn_out = os.path.join(source, "logs", stem + ".churn.log")
    part.row = {k: (row.get(k) or None) for k in columns.HEADER}
    part.row.update(status=None, reason=None)
    failure = None if stem and os.path.exists(paths.timeline) else "the source run kept no timeline for this row"
    soak._finish_row(part, max_slope, failure, 0)
    part.row["timeline"] = paths.rel(paths.timeline) if os.path.exists(paths.timeline) else ""
    part.row["hdr_log"] = ""
    return part.row


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("sources", nargs="+")
    p.add_argument("--max-slope", type=float, default=soak.DEFAULT_MAX_SLOPE_BYTES_PER_MIN)
    args = p.parse_args(argv[1:])
    if os.path.exists(args.out):
        print(f"soak_rejudge: {args.out} exists; results are never overwritten", file=sys.stderr)
        return 1
    metas = [tr.read_json(os.path.join(s, "meta.json")) for s in args.sources]
    if not all(os.path.exists(os.path.join(s, "results.csv")) for s in args.sources):
        print("soak_rejudge: every source needs a results.csv", file=sys.stderr)
        return 1
    for sub in ("logs", "timelines"):
        os.makedirs(os.path.join(args.out, sub))
    shutil.copy2(os.path.join(args.sources[0], tr.BACKENDS_FILE), os.path.join(args.out, tr.BACKENDS_FILE))
    order = tr.Backends.of_folder(args.out)
    rows = []
    for source in args.sources:
        for row in tr.read_csv(os.path.join(source, "results.csv")):
            if row.get("mode") == "soak":
                rows.append(rejudge_row(row, source, args.out, args.max_slope))
    rows.sort(key=lambda r: (order.order_key(str(r["backend"])), str(r["workload"])))
    extras.write_csv_atomic(os.path.join(args.out, "results.csv"), columns.HEADER, rows)
    meta = dict(metas[0], run_name=os.path.basename(os.path.abspath(args.out)), profile="soak",
                rejudged_from=[os.path.relpath(s, args.out) for s in args.sources],
                rejudged_with="scripts/soak_rejudge.py", soak_max_slope_bytes_per_min=args.max_slope,
                soak_lanes=len(args.sources), completed_runs=len(rows),
                status_counts={s: sum(1 for r in rows if r.get("status") == s) for s in columns.STATUSES},
                wall_s=max((m.get("wall_s") or 0) for m in metas))
    extras.write_json_atomic(os.path.join(args.out, "meta.json"), meta)
    print(json.dumps(meta["status_counts"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
