"""Reading a results folder (stdlib only): shared by charts.py and report.py so both see the same numbers."""
import base64
import csv
import json
import os
import statistics
import struct
import zlib
from typing import Dict, List, Optional, Tuple

# One fixed colour per back end, everywhere (charts and report). Unknown back ends get the spare colours in order.
BACKEND_COLOURS = {
    "threads": "#d62728", "fiber": "#1f77b4", "fiber-mt": "#17becf", "coro-local": "#2ca02c", "coro": "#8c564b",
    "asio": "#9467bd", "asio-mt": "#e377c2", "uring": "#ff7f0e", "boost-fiber": "#7f7f7f",
}
SPARE_COLOURS = ["#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"]
BACKEND_ORDER = ["threads", "fiber", "fiber-mt", "coro-local", "coro", "asio", "asio-mt", "uring", "boost-fiber"]


def colour(name: str) -> str:
    base = name.split("+", 1)[0]
    if base in BACKEND_COLOURS:
        return BACKEND_COLOURS[base]
    return SPARE_COLOURS[sum(map(ord, base)) % len(SPARE_COLOURS)]


def order_key(name: str):
    base = name.split("+", 1)[0]
    return (BACKEND_ORDER.index(base) if base in BACKEND_ORDER else len(BACKEND_ORDER), name)


def num(value) -> Optional[float]:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if v == v else None


def read_csv(path: str) -> List[Dict[str, str]]:
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_json(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def read_registry(path: str) -> Dict[str, dict]:
    """The run's backends.jsonl (the registry bench_all ran with) by name; {} for runs from before it existed."""
    entries = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    obj = json.loads(line)
                    entries[str(obj.get("name"))] = obj
    except (OSError, ValueError):
        return {}
    return entries


def label(row: Dict[str, str]) -> str:
    return row["backend"] + ("+" + row["variant"] if row.get("variant") else "")


class Results:
    def __init__(self, folder: str):
        self.folder = os.path.abspath(folder)
        self.rows = read_csv(os.path.join(folder, "results.csv"))
        self.meta = read_json(os.path.join(folder, "meta.json"))
        self.micro = read_csv(os.path.join(folder, "micro.csv"))
        self.callgrind = read_csv(os.path.join(folder, "callgrind.csv"))
        self.registry = read_registry(os.path.join(folder, "backends.jsonl"))

    def peer_label(self, name: str) -> str:
        """`name`, marked `(peer, <language>)` when the run's registry says it is another language's runtime."""
        entry = self.registry.get(name, {})
        return f"{name} (peer, {entry.get('language', '?')})" if entry.get("peer") else name

    def ok(self, **match) -> List[Dict[str, str]]:
        return [r for r in self.rows if r.get("status") in ("ok", "degraded")
                and all(r.get(k) == v for k, v in match.items())]

    def series(self, column: str, **match) -> Dict[str, List[Tuple[int, float]]]:
        """label -> [(connections, median of column over repetitions)] sorted by connections."""
        values: Dict[str, Dict[int, List[float]]] = {}
        for row in self.ok(**match):
            v = num(row.get(column))
            if v is not None:
                values.setdefault(label(row), {}).setdefault(int(row["connections"]), []).append(v)
        return {name: sorted((c, statistics.median(vs)) for c, vs in by_count.items())
                for name, by_count in sorted(values.items(), key=lambda kv: order_key(kv[0]))}

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
