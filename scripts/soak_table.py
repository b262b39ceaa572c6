#!/usr/bin/env python3
"""The README's soak table (issue 19), generated from one or more soak run folders (a run, or the lanes of one soak
run side by side), so that every figure in it traces to a row of a committed results.csv.

    scripts/soak_table.py results/reference/<soak run> [<another lane> ...]   # prints the Markdown table

One line per back end and workload, in registry order, whatever its status: the RSS slope after the warm-up (bytes
per minute, and per 1,000 churned connections on http), connections churned, the server's fds and threads once the
load stopped against idle, errors, chat deliveries lost, and the status with its reason. Standard library only.
"""
import os
import sys
from typing import Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tvt_results as tr  # noqa: E402


def _int(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _fds(row: Dict[str, str]) -> str:
    idle, after = tr.num(row.get("server_fds_idle")), tr.num(row.get("server_fds_after"))
    return "–" if idle is None or after is None else f"{after:,.0f} / {idle:,.0f}"


def table(folders: List[str]) -> str:
    results = [tr.Results(f) for f in folders]
    rows = [r for res in results for r in res.rows if r.get("mode") == "soak"]
    order = results[0].backends
    rows.sort(key=lambda r: (order.order_key(r["backend"]), r.get("workload", "")))
    minutes = sorted({str(res.meta.get("soak_minutes")) for res in results})
    lines = [
        f"Soak, {'/'.join(minutes)} min per back end (`scripts/soak_table.py "
        + " ".join(os.path.relpath(res.folder) for res in results) + "`):",
        "",
        "| back end | workload | RSS slope B/min | B per 1,000 churned | churned | fds end / idle | threads end "
        "| errors | chat lost | status |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        status = r.get("status") or "?"
        if status != "ok" and r.get("reason"):
            status += ": " + r["reason"].replace("|", "/")
        chat = r.get("workload") == "chat"
        lines.append(
            f"| {tr.label(r)} | {r.get('workload')} | {_int(tr.num(r.get('rss_slope_bytes_per_min')))} "
            f"| {'–' if chat else _int(tr.num(r.get('rss_slope_bytes_per_kconn')))} "
            f"| {'–' if chat else _int(tr.num(r.get('churned_connections')))} | {_fds(r)} "
            f"| {_int(tr.num(r.get('threads_after')))} | {_int(tr.num(r.get('errors')))} "
            f"| {_int(tr.num(r.get('lost'))) if chat else '–'} | {status} |")
    return "\n".join(lines) + "\n"


def main(argv: List[str]) -> int:
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    missing = [f for f in argv[1:] if not os.path.exists(os.path.join(f, "results.csv"))]
    if missing:
        print(f"soak_table: no results.csv in {', '.join(missing)}", file=sys.stderr)
        return 1
    sys.stdout.write(table(argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
