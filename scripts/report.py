#!/usr/bin/env python3
"""report.py RUN: write RUN/report.md and RUN/report.html (charts embedded) from a results folder.

Stdlib only, so the report exists even where matplotlib does not (then without charts, and it says how to get them).
Sections: what was run (machine, kernel, compiler, commit, limits, profile), headline ratios, tables (memory,
throughput and latency, compute, chat, micro, callgrind), charts, and every failed or degraded run with its reason.
"""
import base64
import html
import json
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tvt_results as tr  # noqa: E402

REFERENCE = tr.REFERENCE_BACKEND
# The minimal thread-per-connection server's figures, from the last back-to-back comparison (issue 20).
MINIMAL_SERVER_JSON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "reference",
                                   "compare.json")


def fmt_bytes(v: Optional[float]) -> str:
    if v is None:
        return "–"
    return f"{v / 1024:.1f} KiB" if abs(v) >= 1024 else f"{v:.0f} B"


def fmt_us(v: Optional[float]) -> str:
    if v is None:
        return "–"
    if v >= 1e6:
        return f"{v / 1e6:.2f} s"
    if v >= 1e3:
        return f"{v / 1e3:.2f} ms"
    return f"{v:.0f} µs"


def fmt_num(v: Optional[float], digits: int = 0) -> str:
    return "–" if v is None else f"{v:,.{digits}f}"


def fmt_ratio(v: Optional[float]) -> str:
    return "–" if v is None else f"{v:.2f}×"


class Doc:
    """Blocks rendered twice, as Markdown and as HTML, so the two never disagree."""

    def __init__(self):
        self.blocks: List[Tuple[str, object]] = []

    def h(self, level: int, text: str):
        self.blocks.append(("h", (level, text)))

    def p(self, text: str):
        self.blocks.append(("p", text))

    def bullets(self, items: Sequence[str]):
        self.blocks.append(("ul", list(items)))

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()):
        if rows:
            self.blocks.append(("table", (list(header), [list(map(str, r)) for r in rows], set(right))))

    def image(self, path: str, alt: str, caption: str, folder: str):
        self.blocks.append(("img", (path, alt, caption, folder)))

    def pre(self, text: str):
        self.blocks.append(("pre", text))

    def markdown(self) -> str:
        out = []
        for kind, value in self.blocks:
            if kind == "h":
                out.append("#" * value[0] + " " + value[1])
            elif kind == "p":
                out.append(value)
            elif kind == "ul":
                out.append("\n".join(f"- {item}" for item in value))
            elif kind == "table":
                header, rows, right = value
                esc = lambda c: c.replace("|", "\\|")  # noqa: E731
                lines = ["| " + " | ".join(header) + " |",
                         "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
                lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
                out.append("\n".join(lines))
            elif kind == "img":
                path, alt, caption, _ = value
                out.append(f"![{alt}]({path})\n\n*{caption}* ([SVG]({path[:-4]}.svg))")
            elif kind == "pre":
                out.append("```\n" + value + "\n```")
        return "\n\n".join(out) + "\n"

    def html(self, title: str) -> str:
        body = []
        for kind, value in self.blocks:
            if kind == "h":
                body.append(f"<h{value[0]}>{html.escape(value[1])}</h{value[0]}>")
            elif kind == "p":
                body.append(f"<p>{_inline(value)}</p>")
            elif kind == "ul":
                body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in value) + "</ul>")
            elif kind == "table":
                header, rows, right = value
                cell = lambda i, c, tag: f"<{tag}{' class=r' if i in right else ''}>{html.escape(c)}</{tag}>"  # noqa
                body.append("<table><thead><tr>" + "".join(cell(i, c, "th") for i, c in enumerate(header)) +
                            "</tr></thead><tbody>" + "".join(
                                "<tr>" + "".join(cell(i, c, "td") for i, c in enumerate(r)) + "</tr>" for r in rows)
                            + "</tbody></table>")
            elif kind == "img":
                path, alt, caption, folder = value
                try:
                    with open(os.path.join(folder, path), "rb") as f:
                        data = base64.b64encode(f.read()).decode()
                    src = f"data:image/png;base64,{data}"
                except OSError:
                    src = html.escape(path)
                body.append(f'<figure><img src="{src}" alt="{html.escape(alt)}"><figcaption>{html.escape(caption)}'
                            f' (<a href="{html.escape(path[:-4])}.svg">SVG</a>)</figcaption></figure>')
            elif kind == "pre":
                body.append(f"<pre>{html.escape(value)}</pre>")
        style = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
                 "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
                 "th,td{border:1px solid #ccc;padding:3px 8px}th{background:#f3f3f3}td.r,th.r{text-align:right}"
                 "img{max-width:100%}figure{margin:1.5em 0}figcaption{color:#555;font-size:0.9em}"
                 "code{background:#f3f3f3;padding:0 3px}pre{background:#f6f6f6;padding:8px;overflow-x:auto}")
        return (f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
                f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def _inline(text: str) -> str:
    """Escapes, then renders `code` and **bold** (all the Markdown the report's prose uses)."""
    out = html.escape(text)
    parts = out.split("`")
    out = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    parts = out.split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))


def median_of(rows: List[Dict[str, str]], column: str) -> Optional[float]:
    return tr.median(tr.num(r.get(column)) for r in rows)


def group(rows: List[Dict[str, str]]) -> Dict[Tuple[str, str, int], List[Dict[str, str]]]:
    out: Dict[Tuple[str, str, int], List[Dict[str, str]]] = {}
    for r in rows:
        out.setdefault((r["workload"], tr.label(r), int(r["connections"])), []).append(r)
    return out


def is_threads(name: str) -> bool:
    return name.split("+", 1)[0] == REFERENCE


def fair_threads(idle: Dict[Tuple[str, str, int], List[Dict[str, str]]], at: int) -> str:
    """`threads` or the variant of it with the fewest bytes (all-in) per idle http connection at `at` (issue 20)."""
    candidates = [(median_of(g, "total_per_conn_bytes") or median_of(g, "rss_per_conn_bytes"), k[1])
                  for k, g in idle.items() if k[0] == "http" and k[2] == at and is_threads(k[1])]
    candidates = [c for c in candidates if c[0] is not None]
    return min(candidates)[1] if candidates else REFERENCE


def minimal_server_line(path: str) -> Optional[str]:
    """The yardstick beside the headline: the minimal thread server and `threads`, measured back to back by
    bench/reference/compare.py (None when that file is missing or unreadable)."""
    try:
        with open(path) as f:
            data = json.load(f)
        runs = data["runs"]

        def med(server: str, kind: str, column: str) -> Optional[float]:
            return tr.median(tr.num(x.get(column)) for x in runs.get(server, {}).get(kind, []))
        parts = [f"`{name}` {fmt_bytes(med(name, 'idle', 'rss_per_conn_bytes'))} per idle connection, "
                 f"{fmt_num(med(name, 'cpu', 'cpu_us_per_request'), 1)} µs CPU per request"
                 for name in runs]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return (f"Yardstick (`bench/reference/compare.json`, {data.get('utc', '?')}, by `bench/reference/compare.py`: "
            f"a minimal thread-per-connection server against `{REFERENCE}` back to back, medians): "
            + "; ".join(parts) + ".")


def _ordered_cells(estimates: Dict[Tuple, tr.Estimate], r: tr.Results) -> Dict[Tuple, List[Tuple]]:
    """cell (everything in the key but the label) -> keys of that cell in back-end order."""
    cells: Dict[Tuple, List[Tuple]] = {}
    for key in sorted(estimates, key=lambda k: (k[1], k[3], k[4], r.order_key(k[0]))):
        cells.setdefault(key[1:], []).append(key)
    return cells


def _noise_line(keys: List[Tuple], estimates: Dict[Tuple, tr.Estimate], digits: int) -> str:
    pairs = [(a, b) for i, a in enumerate(keys) for b in keys[i + 1:]]
    apart = sum(tr.distinct(estimates[a], estimates[b]) for a, b in pairs)
    chain = tr.noise_chain([(k[0], estimates[k]) for k in keys], digits)
    return (f"Ordered by median: {chain} (`<`: the neighbours' intervals do not overlap; `≈`: they do, the "
            f"difference is within noise). {apart} of {len(pairs)} pairs of back ends are told apart.")


def _bound(rows: List[Dict[str, str]]) -> str:
    """The side that was the bottleneck in most repetitions ("client" rows measured the load generator)."""
    seen = [x.get("bound") for x in rows if x.get("bound")]
    return max(set(seen), key=seen.count) if seen else "–"


def speed_sections(doc: Doc, r: tr.Results, ok: List[Dict[str, str]]) -> None:
    """Efficiency at a fixed rate (CPU per request: what the models cost), then capacity under the CPU cap, each as
    medians with 95 % intervals over repetitions, saying which differences are within noise."""
    fixed = [x for x in ok if x.get("mode") == "open" and x.get("workload") in ("http", "echo")
             and not x.get("search") and tr.num(x.get("target_rate")) is not None and not tr.num(x.get("cpu_cap"))]
    cpu = tr.estimates(fixed, "server_cpu_us_per_op")
    if cpu:
        doc.h(2, "Speed: CPU per request at a fixed rate")
        doc.p("Open loop at one offered rate for every back end of a cell, below every back end's capacity: the "
              "same work everywhere, so the server's CPU time per request (utime + stime over the window ÷ "
              "requests) compares the models' cost. Median [95 % interval] over the repetitions: the interval is "
              "the order-statistic one (distribution-free; with 5 repetitions it is [min, max], 93.8 % coverage).")
        by_key: Dict[Tuple, List[Dict[str, str]]] = {}
        for x in fixed:
            by_key.setdefault(tr.cell_key(x), []).append(x)
        sys_e, ctx_e = tr.estimates(fixed, "syscalls_per_op"), tr.estimates(fixed, "ctx_switches_per_op")
        for cell, keys in _ordered_cells(cpu, r).items():
            doc.h(3, f"{cell[0]} at {cell[2]:,} connections, {cell[3]}")
            doc.table(["back end", "CPU µs / request", "syscalls / request", "ctx switches / request",
                       "server cores busy", "p99", "bound", "reps"],
                      [[r.peer_label(k[0]), tr.fmt_estimate(cpu[k], 2), tr.fmt_estimate(sys_e.get(k), 2),
                        tr.fmt_estimate(ctx_e.get(k), 3), fmt_num(median_of(by_key[k], "server_cpu_util"), 2),
                        fmt_us(median_of(by_key[k], "p99_us")), _bound(by_key[k]), str(cpu[k].n)] for k in keys],
                      right=range(1, 8))
            doc.p(_noise_line(keys, cpu, 1))
    capacity_rows = [x for x in ok if tr.is_capacity_row(x) and tr.num(x.get("capacity_rps_at_slo")) is not None]
    capacity = tr.estimates(capacity_rows, "capacity_rps_at_slo")
    if capacity:
        doc.h(2, "Capacity at the latency SLO under a CPU cap")
        doc.p("The highest offered open-loop rate at which the achieved rate stayed within 1 % of it and p99 within "
              "the SLO, with the server capped (cgroup CPU quota), so that the server saturates before the client. "
              "Median [95 % interval] over repetitions.")
        for cell, keys in _ordered_cells(capacity, r).items():
            slo = median_of([x for x in capacity_rows if tr.cell_key(x) == keys[0]], "slo_ms")
            doc.h(3, f"{cell[0]} at {cell[2]:,} connections, {cell[3]}, p99 ≤ {fmt_num(slo, 0)} ms")
            doc.table(["back end", "requests/s at the SLO", "reps"],
                      [[r.peer_label(k[0]), tr.fmt_estimate(capacity[k], 0), str(capacity[k].n)] for k in keys],
                      right=(1, 2))
            doc.p(_noise_line(keys, capacity, 0))


def build(r: tr.Results) -> Doc:
    doc = Doc()
    meta = r.meta
    machine, limits, compiler, git = (meta.get(k, {}) or {} for k in ("machine", "limits", "compiler", "git"))
    name = os.path.basename(r.folder)
    doc.h(1, f"tasks-vs-threads: run {name}")
    counts = {s: sum(1 for x in r.rows if x.get("status") == s) for s in ("ok", "degraded", "failed")}
    doc.p(f"Profile **{meta.get('profile', '?')}**, {len(r.rows)} runs ({counts['ok']} ok, {counts['degraded']} "
          f"degraded, {counts['failed']} failed), state {meta.get('state', '?')}, "
          f"{meta.get('started_utc', '?')} → {meta.get('finished_utc', '?')}.")

    doc.h(2, "What was run")
    ports = limits.get("ephemeral_ports")
    doc.bullets([
        f"Machine: {machine.get('cpu_model', '?')}, {machine.get('cores', '?')} cores, "
        f"{fmt_bytes(machine.get('memory_bytes')) if machine.get('memory_bytes') else '?'} RAM; "
        f"{machine.get('os', '?')}, kernel {machine.get('kernel', '?')}",
        f"Compiler: {compiler.get('cxx_version') or compiler.get('cxx') or '?'}, "
        f"{compiler.get('build_type') or '?'} `{compiler.get('cxx_flags') or ''}`",
        f"Commit: `{(git.get('commit') or '?')[:12]}`{' (dirty tree)' if git.get('dirty') else ''}",
        f"Limits: open files {limits.get('open_files_soft', '?')}/{limits.get('open_files_hard', '?')} "
        f"(soft/hard), pid_max {limits.get('pid_max', '?')}, max_map_count {limits.get('max_map_count', '?')}, "
        f"ephemeral ports {ports[0]}–{ports[1] if ports else ''}" if ports else
        f"Limits: open files {limits.get('open_files_hard', '?')}, pid_max {limits.get('pid_max', '?')}",
        f"Back ends: {', '.join(r.peer_label(b) for b in meta.get('backends', [])) or '?'}; workloads: "
        f"{', '.join(meta.get('workloads', [])) or '?'}; pinning: {meta.get('pinning', '?')}",
    ])

    ok = [x for x in r.rows if x.get("status") in ("ok", "degraded")]
    idle = group([x for x in ok if x.get("mode") == "idle"])
    closed = group([x for x in ok if x.get("mode") == "closed"])

    # -------------------------------------------------------------------------------------------- headline
    doc.h(2, "Headlines")
    lines = []
    idle_counts = sorted({k[2] for k in idle})
    reference = REFERENCE
    if idle_counts:
        at = 10000 if 10000 in idle_counts else idle_counts[-1]
        reference = fair_threads(idle, at)
        lines.append(f"The threads side of these ratios is **{reference}**: of `{REFERENCE}` and its variants, the one "
                     f"with the fewest bytes per idle connection at {at:,} (the fair one to quote).")
        ref = idle.get(("http", reference, at))
        for key in sorted((k for k in idle if k[2] == at and not is_threads(k[1])),
                          key=lambda k: r.order_key(k[1])):
            total, user = median_of(idle[key], "total_per_conn_bytes"), median_of(idle[key], "rss_per_conn_bytes")
            if ref and total:
                ref_total = median_of(ref, "total_per_conn_bytes")
                ref_user = median_of(ref, "rss_per_conn_bytes")
                lines.append(f"Memory per connection at {at:,}: {reference} ÷ {key[1]} = "
                             f"**{fmt_ratio(ref_total / total if ref_total else None)}** all-in "
                             f"({fmt_bytes(ref_total)} vs {fmt_bytes(total)}), "
                             f"{fmt_ratio(ref_user / user if ref_user and user else None)} in user memory alone")
    closed_counts = sorted({k[2] for k in closed if k[0] == "http"})
    if closed_counts:
        at = 1000 if 1000 in closed_counts else closed_counts[len(closed_counts) // 2]
        if ("http", reference, at) not in closed:
            reference = REFERENCE
        ref = closed.get(("http", reference, at))
        ref_p99, ref_rps = (median_of(ref, "p99_us"), median_of(ref, "rps")) if ref else (None, None)
        for key in sorted((k for k in closed if k[0] == "http" and k[2] == at), key=lambda k: r.order_key(k[1])):
            p99, rps = median_of(closed[key], "p99_us"), median_of(closed[key], "rps")
            text = f"http at {at:,} connections, {key[1]}: p99 **{fmt_us(p99)}**, {fmt_num(rps)} requests/s"
            if key[1] != reference and ref_rps and rps:
                text += f" ({fmt_ratio(rps / ref_rps)} {reference} requests/s"
                text += f", p99 {fmt_ratio(p99 / ref_p99)} {reference})" if ref_p99 and p99 else ")"
            lines.append(text)
    yardstick = minimal_server_line(MINIMAL_SERVER_JSON)
    if yardstick and lines:
        lines.append(yardstick)
    doc.bullets(lines or ["No ok runs to compare."])

    # ---------------------------------------------------------------------------------------------- tables
    if idle:
        doc.h(2, "Memory per idle connection")
        doc.p("Idle-hold runs (`loadgen --mode idle`). User = server RSS delta ÷ N; kernel = machine-wide kernel "
              "stacks + page tables + slab deltas ÷ N (both ends of each socket live on this machine); total = "
              "user + kernel. Socket buffers are listed apart: they belong to both ends.")
        rows = []
        for (workload, name, count), group_rows in sorted(idle.items(), key=lambda kv: (kv[0][0], kv[0][2],
                                                                                          r.order_key(kv[0][1]))):
            rows.append([workload, name, f"{count:,}", fmt_bytes(median_of(group_rows, "rss_per_conn_bytes")),
                         fmt_bytes(median_of(group_rows, "pte_per_conn_bytes")),
                         fmt_bytes(median_of(group_rows, "kernel_stack_per_conn_bytes")),
                         fmt_bytes(median_of(group_rows, "kernel_per_conn_bytes")),
                         fmt_bytes(median_of(group_rows, "total_per_conn_bytes")),
                         fmt_bytes(median_of(group_rows, "sock_mem_per_conn_bytes")),
                         fmt_num(median_of(group_rows, "server_threads"))])
        doc.table(["workload", "back end", "connections", "user", "page tables (VmPTE)", "kernel stacks",
                   "kernel", "total", "socket mem", "server threads"], rows, right=range(2, 10))
    speed_sections(doc, r, ok)
    if closed:
        doc.h(2, "Throughput and latency (closed loop)")
        rows = []
        for (workload, name, count), g in sorted(closed.items(), key=lambda kv: (kv[0][0], kv[0][2],
                                                                                r.order_key(kv[0][1]))):
            if workload in ("chat", "compute"):
                continue
            rps = tr.median_ci(tr.num(x.get("rps")) for x in g)
            rows.append([workload, name, f"{count:,}", tr.fmt_estimate(rps, 0), fmt_us(median_of(g, "p50_us")),
                         fmt_us(median_of(g, "p99_us")), fmt_us(median_of(g, "p999_us")),
                         fmt_us(median_of(g, "max_us")), fmt_num(sum(tr.num(x.get("errors")) or 0 for x in g)),
                         _bound(g), str(len(g))])
        doc.p("`bound`: the side at least 90 % busy (`client`: the row measured the load generator as much as the "
              "server; it does not rank the back ends). Requests/s: median [95 % interval] with repetitions.")
        doc.table(["workload", "back end", "connections", "requests/s", "p50", "p99", "p99.9", "max", "errors",
                   "bound", "reps"], rows, right=range(2, 11))
    compute = group([x for x in ok if x["workload"] == "compute"])
    if compute:
        doc.h(2, "Compute: head-of-line blocking")
        doc.p("Small requests mixed with large ones; `+offload` runs the digest via spawn_blocking.")
        doc.table(["back end", "connections", "requests/s", "small p50", "small p99", "small p99.9", "large p99"],
                  [[k[1], f"{k[2]:,}", fmt_num(median_of(g, "rps")), fmt_us(median_of(g, "small_p50_us")),
                    fmt_us(median_of(g, "small_p99_us")), fmt_us(median_of(g, "small_p999_us")),
                    fmt_us(median_of(g, "large_p99_us"))]
                   for k, g in sorted(compute.items(), key=lambda kv: (kv[0][2], r.order_key(kv[0][1])))],
                  right=range(1, 7))
    chat = group([x for x in ok if x["workload"] == "chat"])
    if chat:
        doc.h(2, "Chat: delivery")
        doc.table(["back end", "connections", "deliveries/s", "p50", "p99", "p99.9", "lost", "duplicated",
                   "dropped by policy"],
                  [[k[1], f"{k[2]:,}", fmt_num(median_of(g, "deliveries_per_s")), fmt_us(median_of(g, "p50_us")),
                    fmt_us(median_of(g, "p99_us")), fmt_us(median_of(g, "p999_us")), fmt_num(median_of(g, "lost")),
                    fmt_num(median_of(g, "duplicated")), fmt_num(median_of(g, "dropped_by_policy"))]
                   for k, g in sorted(chat.items(), key=lambda kv: (kv[0][2], r.order_key(kv[0][1])))],
                  right=range(1, 9))
    micro = [m for m in r.micro if tr.num(m.get("real_time_ns")) is not None]
    if micro:
        medians = [m for m in micro if m.get("aggregate_name") == "median"] or \
                  [m for m in micro if m.get("run_type") in ("iteration", "")]
        doc.h(2, "Micro-benchmarks")
        doc.table(["benchmark", "real time", "CPU time", "iterations", "counters"],
                  [[m["name"], fmt_us(tr.num(m["real_time_ns"]) / 1e3), fmt_us((tr.num(m["cpu_time_ns"]) or 0) / 1e3),
                    m.get("iterations", ""), m.get("counters", "")] for m in medians], right=(1, 2, 3))
    if r.callgrind:
        doc.h(2, "Instruction counts (callgrind)")
        if any(c.get("region") == "per-request" for c in r.callgrind):
            doc.p("`server-<workload>` rows: user-space instructions per request of the whole server path (the real "
                  "server under callgrind answering 500 requests one at a time on one connection, after 50 warm-up "
                  "requests); the other rows count a fixed hot-path case of the `hotpath` driver.")
        doc.table(["model", "case", "instructions", "region", "status"],
                  [[c["model"], c["case"], fmt_num(tr.num(c.get("instructions"))), c.get("region", ""),
                    c.get("status", "") + (f": {c['reason']}" if c.get("reason") else "")] for c in r.callgrind],
                  right=(2,))

    # ---------------------------------------------------------------------------------------------- charts
    index = tr.read_json(os.path.join(r.folder, "charts", "index.json"))
    doc.h(2, "Charts")
    if index.get("charts"):
        for chart in index["charts"]:
            doc.image(chart["png"], chart["title"], chart["caption"], r.folder)
        if index.get("skipped"):
            doc.p("Not drawn: " + "; ".join(index["skipped"]) + ".")
    else:
        doc.p("No charts in this folder. Draw them with `$(scripts/find-python) scripts/charts.py "
              f"{r.folder}` (needs python3-matplotlib: `scripts/setup` installs it), then run this report again.")

    # -------------------------------------------------------------------------------------------- failures
    bad = [x for x in r.rows if x.get("status") != "ok"]
    doc.h(2, "Failed and degraded runs")
    if bad:
        doc.table(["#", "back end", "workload", "mode", "connections", "status", "reason", "server stderr (last lines)"],
                  [[x.get("run_index", ""), tr.label(x), x["workload"], x["mode"], x["connections"], x["status"],
                    x.get("reason", ""), x.get("server_stderr_tail", "")] for x in bad])
    else:
        doc.p("None: every run was ok.")
    extra = [f"micro {b['binary']}: {b['status']} ({b.get('reason', '')})"
             for b in (meta.get("micro") or {}).get("binaries", []) if b.get("status") != "ok"]
    extra += [f"callgrind {c['model']} {c['case']}: {c.get('reason', '')}" for c in r.callgrind
              if c.get("status") != "ok"]
    if extra:
        doc.bullets(extra)
    doc.p(f"Files: `results.csv` (one row per run; columns in bench/bench_all/README.md), `meta.json`, "
          f"`logs/` (server and loadgen output per run), `timelines/`, `hdr/`, `charts/`.")
    return doc


def main(argv: List[str]) -> int:
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    folder = argv[0]
    if not os.path.exists(os.path.join(folder, "results.csv")):
        print(f"report.py: {folder} has no results.csv", file=sys.stderr)
        return 1
    results = tr.Results(folder)
    doc = build(results)
    for name, text in (("report.md", doc.markdown()),
                       ("report.html", doc.html(f"tasks-vs-threads {os.path.basename(results.folder)}"))):
        tmp = os.path.join(folder, name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, os.path.join(folder, name))
    print(f"report.py: wrote {os.path.join(folder, 'report.md')} and report.html", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
