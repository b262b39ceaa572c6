"""The one results library (stdlib only): how every reader (charts.py, report.py, the gate, bench/micro/summarize.py)
reads a results folder, so they all see the same numbers, names, order and colours.

- the schema: results.csv's header is bench/bench_all/columns.py (imported from there, never restated);
- readers: results.csv, meta.json, micro.csv, callgrind.csv, backends.jsonl, HdrHistogram interval logs, timelines;
- numbers: `num` (empty, NaN and infinities are "no value"); medians with a 95 % confidence interval over
  repetitions (`median_ci`, `Estimate`), per cell (`cell_key`), and whether two of them are told apart (`distinct`);
- names: `label` (back end + variant), the reference back end (REFERENCE_BACKEND);
- back ends: order and colours from the run folder's backends.jsonl (`server --list-backends`, copied by bench_all),
  falling back to FALLBACK_ORDER for folders without it (old runs, results/baseline); a name with no fixed colour gets
  a deterministic one from its name, the same in every chart and every run.
"""
import base64
import csv
import json
import math
import os
import statistics
import struct
import sys
import zlib
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "bench", "bench_all"))
from columns import HEADER, STATUSES  # noqa: E402,F401  (the schema, re-exported for readers)

# The back end every ratio is taken against (report: "threads ÷ X"; gate: same-run throughput ratios).
REFERENCE_BACKEND = "threads"

# Order for folders without backends.jsonl (old runs, results/baseline), then the micro-only models.
FALLBACK_ORDER = ["threads", "fiber", "fiber-mt", "coro-local", "coro", "asio", "asio-mt", "uring", "boost-fiber",
                  "raw-coroutine", "raw-context"]
# One fixed colour per known back end, everywhere (charts and report); new names get a SPARE_COLOURS entry by hash.
BACKEND_COLOURS = {
    "threads": "#d62728", "fiber": "#1f77b4", "fiber-mt": "#17becf", "coro-local": "#2ca02c", "coro": "#8c564b",
    "asio": "#9467bd", "asio-mt": "#e377c2", "uring": "#ff7f0e", "boost-fiber": "#7f7f7f",
    "raw-coroutine": "#98df8a", "raw-context": "#aec7e8",
}
SPARE_COLOURS = ["#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d",
                 "#31a354", "#756bb1", "#636363", "#ad494a"]
BACKENDS_FILE = "backends.jsonl"


def base_name(name: str) -> str:
    """"coro+offload" -> "coro": variants share their back end's colour and place."""
    return name.split("+", 1)[0]


def colour(name: str) -> str:
    base = base_name(name)
    if base in BACKEND_COLOURS:
        return BACKEND_COLOURS[base]
    return SPARE_COLOURS[zlib.crc32(base.encode()) % len(SPARE_COLOURS)]  # crc32: stable across processes


def num(value) -> Optional[float]:
    """A CSV/JSON cell as a finite float, or None (empty, text, NaN, infinity)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def median(values: Iterable[Optional[float]]) -> Optional[float]:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


# ---------------------------------------------------------------------------------- medians and their intervals

CI_LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    """The median of n repetitions and a distribution-free confidence interval for it: [lo, hi] = the k-th smallest
    and k-th largest value, k as large as keeps the coverage >= CI_LEVEL. `coverage` is that interval's exact level
    (1 - 2 P(Binomial(n, 1/2) < k)); with n <= 5 no pair of order statistics reaches 95 % and the interval is
    [min, max] at its own level (n = 5: 93.8 %, n = 3: 75 %); with n = 1 there is no interval (coverage 0)."""
    median: float
    lo: float
    hi: float
    n: int
    coverage: float

    @property
    def has_interval(self) -> bool:
        return self.n >= 2

    @property
    def relative_width(self) -> float:
        """(hi - lo) / median: the scatter the gate's thresholds start from."""
        return (self.hi - self.lo) / abs(self.median) if self.median else math.inf

    def overlaps(self, other: "Estimate") -> bool:
        return self.lo <= other.hi and other.lo <= self.hi


def _binomial_cdf_half(n: int, k: int) -> float:
    """P(Binomial(n, 1/2) <= k)."""
    return sum(math.comb(n, i) for i in range(0, k + 1)) / 2 ** n if k >= 0 else 0.0


def median_ci(values: Iterable[Optional[float]], level: float = CI_LEVEL) -> Optional[Estimate]:
    """Median and order-statistic confidence interval of the present values (None when there are none).

    Why order statistics and not the bootstrap: with the 3 to 9 repetitions a profile affords, a bootstrap of the
    median can only return sample values, its percentile interval under-covers at these sizes, and it is random (two
    reports of one folder could differ). The order-statistic interval assumes only independent repetitions of a
    continuous quantity, its coverage is exact and printed, and it is the same every time."""
    xs = sorted(v for v in values if v is not None)
    n = len(xs)
    if n == 0:
        return None
    k = 1
    while k + 1 <= n // 2 and 1 - 2 * _binomial_cdf_half(n, k) >= level:  # can k+1 still keep the level?
        k += 1
    coverage = 1 - 2 * _binomial_cdf_half(n, k - 1) if n >= 2 else 0.0
    return Estimate(statistics.median(xs), xs[k - 1], xs[n - k], n, coverage)


def distinct(a: Optional[Estimate], b: Optional[Estimate]) -> bool:
    """Two medians told apart: both have an interval and the intervals do not overlap."""
    return bool(a and b and a.has_interval and b.has_interval and not a.overlaps(b))


def fmt_estimate(e: Optional[Estimate], digits: int = 1, scale: float = 1.0) -> str:
    """"12.3 [11.9–13.0]" (median [CI]); the median alone with one repetition; "–" without a value."""
    if e is None:
        return "–"
    text = f"{e.median * scale:,.{digits}f}"
    if e.has_interval:
        text += f" [{e.lo * scale:,.{digits}f}–{e.hi * scale:,.{digits}f}]"
    return text


def is_capacity_row(row: Dict[str, str]) -> bool:
    """A capacity search's row (one per search). Sweep rows carry the capacity they were derived from too, so the
    `search` column decides; rows of folders without it count when they have a capacity."""
    search = row.get("search")
    return search == "capacity" or (not search and num(row.get("capacity_rps_at_slo")) is not None)


def cell_key(row: Dict[str, str]) -> Tuple:
    """What repetitions of one measurement share: (label, workload, mode, connections, setting), the setting being
    the server's CPU cap and the search kind for capacity rows ("cap 0.5 capacity"), the offered fraction for sweep
    rows, and the offered rate for other open-loop rows ("" for closed loop, idle, storm)."""
    cap = num(row.get("cpu_cap"))
    capped = f"cap {cap:g} " if cap else ""
    if is_capacity_row(row):
        setting = capped + "capacity"
    elif row.get("search") == "sweep" or num(row.get("offered_fraction")) is not None:
        setting = capped + f"{num(row.get('offered_fraction')):.0%} of capacity"
    elif row.get("mode") == "open" and num(row.get("target_rate")) is not None:
        setting = capped + f"{num(row.get('target_rate')):,.0f}/s"
    else:
        setting = capped.strip()
    return (label(row), row.get("workload", ""), row.get("mode", ""), int(num(row.get("connections")) or 0), setting)


def estimates(rows: Iterable[Dict[str, str]], column: str) -> Dict[Tuple, Estimate]:
    """cell_key -> median [CI] of `column` over the measured (ok or degraded) rows of that cell."""
    values: Dict[Tuple, List[float]] = {}
    for row in rows:
        v = num(row.get(column))
        if row.get("status") in ("ok", "degraded") and v is not None:
            values.setdefault(cell_key(row), []).append(v)
    return {k: median_ci(vs) for k, vs in values.items()}


def noise_chain(named: Sequence[Tuple[str, Optional[Estimate]]], digits: int = 1) -> str:
    """Back ends ordered by median, joined by "<" where the neighbours' intervals do not overlap and "≈" where they
    do (within noise): "uring 4.2 < coro-local 5.1 ≈ coro 5.2 < threads 13.0"."""
    present = sorted(((n, e) for n, e in named if e is not None), key=lambda ne: ne[1].median)
    out = ""
    for i, (name, e) in enumerate(present):
        if i:
            out += " < " if distinct(present[i - 1][1], e) else " ≈ "
        out += f"{name} {e.median:,.{digits}f}"
    return out


def read_csv(path: str) -> List[Dict[str, str]]:
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_json(path: str) -> dict:
    try:
        with open(path) as f:
            value = json.load(f)
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def label(row: Dict[str, str]) -> str:
    return row["backend"] + ("+" + row["variant"] if row.get("variant") else "")


def ok_rows(rows: Sequence[Dict[str, str]]) -> List[Dict[str, str]]:
    """Rows with a measurement (ok or degraded); failed rows carry none."""
    return [r for r in rows if r.get("status") in ("ok", "degraded")]


class Backends:
    """The run's back ends in registry order (backends.jsonl), or FALLBACK_ORDER when the folder has none."""

    def __init__(self, entries: Sequence[dict], source: str):
        self.entries = [e for e in entries if isinstance(e, dict) and e.get("name")]
        self.source = source
        self.names = [str(e["name"]) for e in self.entries] or list(FALLBACK_ORDER)
        # Names the registry does not list (micro-only models, old runs) go after it, in the fallback order.
        self._order = self.names + [n for n in FALLBACK_ORDER if n not in self.names]

    @classmethod
    def of_folder(cls, folder: str) -> "Backends":
        path = os.path.join(folder, BACKENDS_FILE)
        entries = []
        try:
            with open(path) as f:
                for line in f:
                    line = line.strip()
                    if line:
                        try:
                            entries.append(json.loads(line))
                        except ValueError:
                            continue
        except OSError:
            return cls([], "fallback order (no backends.jsonl)")
        return cls(entries, path)

    def order_key(self, name: str):
        base = base_name(name)
        return (self._order.index(base) if base in self._order else len(self._order), name)

    def sorted(self, names: Iterable[str]) -> List[str]:
        return sorted(names, key=self.order_key)

    colour = staticmethod(colour)


class Results:
    def __init__(self, folder: str):
        self.folder = os.path.abspath(folder)
        self.rows = read_csv(os.path.join(folder, "results.csv"))
        self.meta = read_json(os.path.join(folder, "meta.json"))
        self.micro = read_csv(os.path.join(folder, "micro.csv"))
        self.callgrind = read_csv(os.path.join(folder, "callgrind.csv"))
        self.backends = Backends.of_folder(folder)
        self.registry = {str(e["name"]): e for e in self.backends.entries}  # name -> registry entry

    def order_key(self, name: str):
        return self.backends.order_key(name)

    @property
    def profile(self) -> str:
        return str(self.meta.get("profile") or (self.rows[0].get("profile") if self.rows else ""))

    def peer_label(self, name: str) -> str:
        """`name`, marked `(peer, <language>)` when the run's registry says it is another language's runtime."""
        entry = self.registry.get(name, {})
        return f"{name} (peer, {entry.get('language', '?')})" if entry.get("peer") else name

    def ok(self, **match) -> List[Dict[str, str]]:
        return [r for r in ok_rows(self.rows) if all(r.get(k) == v for k, v in match.items())]

    def series(self, column: str, **match) -> Dict[str, List[Tuple[int, float]]]:
        """label -> [(connections, median of column over repetitions)] sorted by connections."""
        values: Dict[str, Dict[int, List[float]]] = {}
        for row in self.ok(**match):
            v = num(row.get(column))
            if v is not None:
                values.setdefault(label(row), {}).setdefault(int(row["connections"]), []).append(v)
        return {name: sorted((c, statistics.median(vs)) for c, vs in by_count.items())
                for name, by_count in sorted(values.items(), key=lambda kv: self.order_key(kv[0]))}

    def workloads(self, mode: str) -> List[str]:
        seen = []
        for row in self.rows:
            if row.get("mode") == mode and row["workload"] not in seen:
                seen.append(row["workload"])
        return seen

    def chosen_cell(self, workload="http", mode="closed", near=1000) -> Optional[Tuple[str, str, int]]:
        counts = sorted({int(r["connections"]) for r in self.ok(workload=workload, mode=mode)})
        if not counts:
            return None
        return workload, mode, min(counts, key=lambda c: abs(c - near))


# ------------------------------------------------------------------------------------- micro-benchmark names

# Each cross-model micro benchmark family answers one question; its per-unit counter is the answer (the time per
# benchmark iteration is not: an iteration spawns or switches many units). (counter, unit, question)
MICRO_HEADLINE = {
    "BM_SpawnJoin": [("ns_per_unit", "ns", "spawn + join one unit")],
    "BM_SpawnMany": [("ns_per_unit", "ns", "spawn many, then join them")],
    "BM_PingPong": [("ns_per_round_trip", "ns", "one round trip between two units (2 switches)")],
    "BM_Yield": [("ns_per_yield", "ns", "one yield")],
    "BM_Skynet": [("ns_per_unit", "ns", "skynet: per spawned unit")],
    "BM_ParkedMemory": [("rss_per_unit_bytes", "B", "RSS per parked unit"),
                        ("total_per_unit_bytes", "B", "RSS + kernel per parked unit")],
}


def micro_name(run_name: str) -> Tuple[str, str, str]:
    """"BM_Yield/model:fiber/units:2/real_time" -> ("BM_Yield", "fiber", "units:2")."""
    parts = run_name.split("/")
    family, model, rest = parts[0], "", []
    for part in parts[1:]:
        if part.startswith(("model:", "backend:")):
            model = part.split(":", 1)[1]
        elif part not in ("manual_time", "real_time") and not part.startswith(("iterations:", "repeats:",
                                                                                   "min_time:")):
            rest.append(part)
    return family, model, "/".join(rest)


def micro_counters(text: str) -> Dict[str, float]:
    """micro.csv's "counters" cell ("a=1;b=2.5") as a dict."""
    out = {}
    for item in (text or "").split(";"):
        key, _, value = item.partition("=")
        v = num(value)
        if key and v is not None:
            out[key] = v
    return out


# ---------------------------------------------------------------------------------- HdrHistogram interval logs

V2_COOKIE = 0x1C849303
V2_COMPRESSED_COOKIE = 0x1C849304


def _cookie_base(cookie: int) -> int:
    return cookie & ~0xF0


def _zigzag_leb128(data: bytes, pos: int) -> Tuple[int, int]:
    """One ZigZag LEB128 value as HdrHistogram writes it: 7 bits per byte, the 9th byte carrying 8."""
    value = 0
    for i in range(8):
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            break
    else:
        value |= data[pos] << 56
        pos += 1
    return (value >> 1) ^ -(value & 1), pos


def decode_histogram(blob: bytes) -> List[Tuple[int, int]]:
    """V2 (optionally compressed) HdrHistogram encoding -> [(value, count)] of the non-empty buckets, value being the
    bucket's lowest value in the histogram's unit (microseconds for loadgen)."""
    cookie, = struct.unpack_from(">i", blob, 0)
    if _cookie_base(cookie) == V2_COMPRESSED_COOKIE:
        length, = struct.unpack_from(">i", blob, 4)
        blob = zlib.decompress(blob[8:8 + length])
        cookie, = struct.unpack_from(">i", blob, 0)
    if _cookie_base(cookie) != V2_COOKIE:
        raise ValueError(f"not a V2 HdrHistogram encoding (cookie {cookie:#x})")
    payload_len, _offset, digits, lowest, _highest, _ratio = struct.unpack_from(">iiiqqd", blob, 4)
    largest_single = 2 * 10 ** digits
    sub_bucket_count_magnitude = (largest_single - 1).bit_length()
    half_magnitude = max(sub_bucket_count_magnitude - 1, 0)
    half_count = 1 << half_magnitude
    unit_magnitude = max(lowest, 1).bit_length() - 1
    pos, end, index = 40, 40 + payload_len, 0
    out = []
    while pos < end:
        value, pos = _zigzag_leb128(blob, pos)
        if value < 0:
            index += -value
            continue
        if value:
            bucket = (index >> half_magnitude) - 1
            sub = (index & (half_count - 1)) + half_count
            if bucket < 0:
                sub -= half_count
                bucket = 0
            out.append((sub << (bucket + unit_magnitude), value))
        index += 1
    return out


def read_hdr_log(path: str) -> List[Tuple[int, int]]:
    """All intervals of an interval log added up -> [(value_us, count)] sorted by value."""
    totals: Dict[int, int] = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or line.startswith('"'):
                continue
            fields = line.split(",")
            if fields[0].startswith("Tag="):
                fields = fields[1:]
            if len(fields) < 4:
                continue
            try:
                for value, count in decode_histogram(base64.b64decode(fields[3])):
                    totals[value] = totals.get(value, 0) + count
            except (ValueError, struct.error, zlib.error, IndexError):
                continue
    return sorted(totals.items())


def read_timeline(path: str) -> List[Dict[str, float]]:
    rows = []
    for row in read_csv(path):
        parsed = {k: num(v) for k, v in row.items() if k}
        if parsed:
            rows.append(parsed)
    return rows
