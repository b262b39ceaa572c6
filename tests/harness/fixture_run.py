"""Writes a synthetic but realistic results folder (every file bench_all writes), seeded and deterministic.
Used by the chart/report tests and to make gate fixtures; also encodes HdrHistogram V2 logs so the decoder in
scripts/tvt_results.py is checked against an independent encoder.

  python3 fixture_run.py OUT [--seed N] [--scale-memory F] [--scale-instructions F] [--repetitions N]
"""
import argparse
import base64
import csv
import json
import math
import os
import random
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "bench_all"))
from capacity import SWEEP_FRACTIONS  # noqa: E402
import columns  # noqa: E402

BACKENDS = {  # name: (user bytes/conn, kernel bytes/conn, relative rps, p99 factor)
    "threads": (8500, 26000, 1.00, 1.6), "fiber": (4300, 900, 1.05, 1.0), "fiber-mt": (4400, 950, 1.02, 1.1),
    "coro-local": (450, 800, 1.12, 0.9), "coro": (600, 820, 1.04, 1.0), "asio": (2500, 850, 1.00, 1.1),
    "asio-mt": (2600, 880, 0.97, 1.2),
}
# Per-request costs (issue 13's wrk measurements at 1,000 connections): syscalls, context switches, server CPU µs,
# and user-space instructions of the whole server path per request (callgrind case server-http).
COSTS = {  # name: (syscalls_per_op, ctx_switches_per_op, server_cpu_us_per_op, instructions per request)
    "threads": (2.11, 1.02, 11.8, 9000), "fiber": (2.18, 0.007, 8.1, 7000), "fiber-mt": (2.2, 0.05, 8.6, 7500),
    "coro-local": (2.43, 0.069, 7.6, 6000), "coro": (2.99, 0.35, 8.4, 7200), "asio": (2.68, 0.006, 8.8, 8000),
    "asio-mt": (2.7, 0.05, 9.4, 8500),
}
HEADER = columns.HEADER


# ------------------------------------------------------------------------------------------- HdrHistogram encoder
def _index(value, half_magnitude=7, unit_magnitude=0):
    sub_bucket_mask = (1 << (half_magnitude + 1)) - 1
    bucket = max(value.bit_length() - 1 - half_magnitude, 0)  # bucket whose range holds value
    if value <= sub_bucket_mask:
        bucket = 0
    else:
        bucket = (value | sub_bucket_mask).bit_length() - (half_magnitude + 1)
    sub = value >> (bucket + unit_magnitude)
    return ((bucket + 1) << half_magnitude) + (sub - (1 << half_magnitude))


def _zigzag(v):
    v = (v << 1) ^ (v >> 63)
    out = bytearray()
    for _ in range(8):
        if v < 0x80:
            out.append(v)
            return bytes(out)
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v & 0xFF)
    return bytes(out)


def encode_hdr(values_us):
    """V2 compressed encoding of a histogram (2 significant digits, 1 us .. 60 s) of the given values."""
    counts = {}
    for v in values_us:
        i = _index(max(1, int(v)))
        counts[i] = counts.get(i, 0) + 1
    payload = bytearray()
    last = -1
    for i in sorted(counts):
        if i - last > 1:
            payload += _zigzag(-(i - last - 1))
        payload += _zigzag(counts[i])
        last = i
    body = struct.pack(">iiiiqqd", 0x1C849303 | 0x10, len(payload), 0, 2, 1, 60_000_000, 1.0) + bytes(payload)
    compressed = zlib.compress(body)
    return base64.b64encode(struct.pack(">ii", 0x1C849304 | 0x10, len(compressed)) + compressed).decode()


# --------------------------------------------------------------------------------------------------- the folder
def make(out, seed=1, scale_memory=1.0, scale_instructions=1.0, scale_rps=None, repetitions=1, noise=0.02,
         profile="ci", gate_only=False, failed_row=False, scale_cost=None, scale_counts=None, capacity=False,
         scale_capacity=None, sweep=False):
    """gate_only: just results.csv, callgrind.csv and meta.json (what the gate reads; small enough to check in).
    scale_cost: back end -> factor on its CPU and instructions per request (a back end that much slower per request);
    scale_counts: back end -> factor on its syscalls and context switches per request;
    capacity: also capacity-search rows (http and echo at 1,000, server capped at 0.5 core: capacity_rps_at_slo from
    the back end's CPU per request, divided by its scale_cost); scale_capacity: back end -> factor on that capacity;
    sweep: also latency-load sweep rows (http and echo at 1,000 under the cap, SWEEP_FRACTIONS of that capacity, in
    the first repetition): an M/M/1-like queue, flat below the capacity and a knee at it."""
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    for sub in () if gate_only else ("logs", "timelines", "hdr", "charts"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    scale_rps = scale_rps or {}
    scale_cost = scale_cost or {}
    scale_counts = scale_counts or {}
    scale_capacity = scale_capacity or {}
    rows = []
    index = 0

    def jitter(x):
        return x * (1 + rng.uniform(-noise, noise))
    for rep in range(repetitions):
        for workload, mode, counts in (("http", "closed", (100, 1000, 10000)), ("echo", "closed", (100, 1000)),
                                       ("http", "open", (100,)), ("http", "idle", (100, 1000, 10000))):
            for count in counts:
                for backend, (user, kernel, rel, p99f) in BACKENDS.items():
                    index += 1
                    row = {k: None for k in HEADER}
                    stem = f"{backend}-{workload}-{mode}-{count}-r{rep}"
                    row.update(backend=backend, profile=profile, workload=workload, mode=mode, connections=count,
                               connections_established=count, duration_s=2.0, warmup_s=0.5, status="ok", reason="",
                               errors=0, run_index=index, repetition=rep, variant="", fd_leak=False,
                               log=f"logs/{stem}", server_exit="0", started_utc="2024-01-01T00:00:00Z")
                    if mode == "idle":
                        u = jitter(user * scale_memory) + 40000.0 / count
                        k = jitter(kernel * scale_memory)
                        row.update(rss_per_conn_bytes=round(u, 1), kernel_per_conn_bytes=round(k, 1),
                                   kernel_stack_per_conn_bytes=16384 * scale_memory if backend == "threads" else 0,
                                   page_tables_per_conn_bytes=round(k * 0.15, 1), slab_per_conn_bytes=round(
                                       k - (16384 * scale_memory if backend == "threads" else 0) - k * 0.15, 1),
                                   total_per_conn_bytes=round(u + k, 1), server_threads=count + 2
                                   if backend == "threads" else 2, server_rss_bytes=int(4e6 + u * count))
                    else:
                        syscalls, switches, cpu_us, _ = COSTS[backend]
                        cost, counts = scale_cost.get(backend, 1.0), scale_counts.get(backend, 1.0)
                        row.update(syscalls_per_op=round(jitter(syscalls * counts), 4),
                                   ctx_switches_per_op=round(jitter(switches * counts), 4))
                        if mode == "open":
                            row.update(server_cpu_us_per_op=round(jitter(cpu_us * cost), 3), target_rate=2000)
                        rps = jitter(80000 * rel * scale_rps.get(backend, 1.0) / (1 + count / 20000))
                        if mode == "open":
                            rps = jitter(2000.0)
                        p50 = 1e6 / rps * count * 0.5
                        p99 = p50 * 3 * p99f
                        row.update(requests=int(rps * 2), rps=round(rps, 1), p50_us=round(p50, 1),
                                   p90_us=round(p50 * 1.8, 1), p99_us=round(p99, 1), p999_us=round(p99 * 2.5, 1),
                                   max_us=round(p99 * 6, 1), mean_us=round(p50 * 1.2, 1), server_cpu_s=2.0,
                                   server_threads=count + 2 if backend == "threads" else 2)
                        if gate_only:
                            rows.append(row)
                            continue
                        with open(os.path.join(out, "timelines", stem + ".csv"), "w") as f:
                            f.write("second,requests,errors,p50_us,p99_us,server_rss_bytes\n")
                            for s in range(1, 4):
                                f.write(f"{s},{int(jitter(rps))},0,{p50:.0f},{jitter(p99):.0f},{int(4e6 + 900 * count)}\n")
                        row["timeline"] = f"timelines/{stem}.csv"
                        samples = [rng.lognormvariate(math.log(p50), 0.6) for _ in range(3000)]
                        with open(os.path.join(out, "hdr", stem + ".hlog"), "w") as f:
                            f.write("#[Histogram log format version 1.3]\n#[StartTime: 1700000000.000 (seconds)]\n")
                            f.write('"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"\n')
                            for i in range(2):
                                chunk = samples[i::2]
                                f.write(f"{i}.000,1.000,{max(chunk) / 1000:.3f},{encode_hdr(chunk)}\n")
                        row["hdr_log"] = f"hdr/{stem}.hlog"
                    rows.append(row)
        for workload in ("http", "echo") if capacity else ():
            for backend in BACKENDS:
                index += 1
                cpu_us = COSTS[backend][2] * scale_cost.get(backend, 1.0)
                found = jitter(0.5e6 / cpu_us * scale_capacity.get(backend, 1.0))
                row = {k: None for k in HEADER}
                row.update(backend=backend, profile=profile, workload=workload, mode="open", connections=1000,
                           connections_established=1000, duration_s=1.0, warmup_s=0.25, status="ok", reason="",
                           errors=0, run_index=index, repetition=rep, variant="", fd_leak=False,
                           log=f"logs/{backend}-{workload}-open-1000-cap0.5capacity-r{rep}", server_exit="0",
                           started_utc="2024-01-01T00:00:00Z", target_rate=round(found), rps=round(found, 1),
                           achieved_rate=round(found, 1), p99_us=round(jitter(6000.0), 1), cpu_cap=0.5, slo_ms=10.0,
                           capacity_rps_at_slo=round(found, 1), search_steps=7, search="capacity")
                rows.append(row)
        for workload in ("http", "echo") if sweep and rep == 0 else ():
            for backend in BACKENDS:
                found = 0.5e6 / (COSTS[backend][2] * scale_cost.get(backend, 1.0))
                for fraction in SWEEP_FRACTIONS:
                    index += 1
                    # waiting time of an M/M/1 queue below the capacity, then a backlog growing over the window
                    service_us = COSTS[backend][2] * 4
                    p50 = jitter(service_us / (1 - min(fraction, 0.97)) + max(0.0, fraction - 1.0) * 2e5)
                    row = {k: None for k in HEADER}
                    row.update(backend=backend, profile=profile, workload=workload, mode="open", connections=1000,
                               connections_established=1000, duration_s=0.75, warmup_s=0.25, status="ok",
                               reason="", errors=0, run_index=index, repetition=rep, variant="", fd_leak=False,
                               log=f"logs/{backend}-{workload}-open-1000-cap0.5sweep-r{rep}-f{fraction:.2f}",
                               server_exit="0", started_utc="2024-01-01T00:00:00Z", target_rate=round(found * fraction),
                               achieved_rate=round(found * min(fraction, 1.0), 1), p50_us=round(p50, 1),
                               p99_us=round(p50 * 4.6, 1), p999_us=round(p50 * 6.9, 1), cpu_cap=0.5, slo_ms=10.0,
                               capacity_rps_at_slo=round(found, 1), offered_fraction=fraction, search="sweep")
                    rows.append(row)
    if failed_row:
        rows[5].update(status="failed", reason="server died during the run (signal 11 (SIGSEGV))",
                       server_stderr_tail="fake: boom | fake: segfault", rps=None, errors=37)
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: columns.csv_value(v) for k, v in row.items()})
    with open(os.path.join(out, "callgrind.csv"), "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["model", "case", "instructions", "region", "status", "reason", "wall_s", "out_file"])
        for model, base in (("threads", 9e8), ("fiber", 2e7), ("coro-local", 5e6), ("coro", 2e7), ("asio", 4e7)):
            for case, mult in (("spawn", 1.0), ("switch", 0.6), ("http-parse", 1.3)):
                writer.writerow([model, case, int(base * mult * scale_instructions), "marked", "ok", "", 1.0,
                                 f"callgrind/{model}-{case}.out"])
        for backend, (_, _, _, per_request) in COSTS.items():
            writer.writerow([backend, "server-http", int(per_request * scale_instructions * scale_cost.get(backend, 1.0)),
                             "per-request", "ok", "", 3.0, f"callgrind/server-{backend}-http.out"])
    if gate_only:
        pass
    else:
        _write_micro(out)
    _write_meta(out, profile, len(rows))
    with open(os.path.join(out, "backends.jsonl"), "w") as f:
        for name in BACKENDS:
            f.write(json.dumps({"name": name, "summary": f"{name} (fixture)", "language": "C++", "peer": False,
                                "threads_option": name.endswith("-mt"), "variants": []}) + "\n")
    return rows


def _write_micro(out):
    with open(os.path.join(out, "micro.csv"), "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["binary", "name", "family", "model", "run_name", "run_type", "aggregate_name",
                         "repetition_index", "repetitions", "threads", "iterations", "real_time_ns", "cpu_time_ns",
                         "time_unit", "real_time", "cpu_time", "counters", "error_message"])
        # per-unit headline counters as the cross-model suite reports them (bench/micro), one family run by a
        # single model (compares nothing: the chart leaves it out), and one question with sizes that differ by model
        per_unit = {
            ("BM_SpawnJoin", "", "ns_per_unit"): {"threads": 34000, "fiber": 94, "coro-local": 71, "coro": 102,
                                                  "asio": 436},
            ("BM_PingPong", "placement:same-thread", "ns_per_round_trip"): {"threads": 3900, "fiber": 51,
                                                                            "coro-local": 98, "coro": 123},
            ("BM_PingPong", "placement:across-threads", "ns_per_round_trip"): {"threads": 29000, "coro": 127},
            ("BM_Yield", "units:2", "ns_per_yield"): {"threads": 251, "fiber": 9.5, "coro-local": 15.6},
            ("BM_Yield", "units:100", "ns_per_yield"): {"threads": 778, "fiber": 12.7, "coro-local": 16.5},
            ("BM_ParkedMemory", "units:30642", "rss_per_unit_bytes"): {"threads": 8613},
            ("BM_ParkedMemory", "units:100000", "rss_per_unit_bytes"): {"fiber": 4110, "coro-local": 301},
            ("BM_Skynet", "leaves:10000", "ns_per_unit"): {"coro-pool": 900},
        }
        for (family, variant, counter), by_model in per_unit.items():
            for model, value in by_model.items():
                name = "/".join(p for p in (family, f"model:{model}", variant, "real_time") if p)
                t = value * 1000  # an iteration runs many units: its time is not the answer
                writer.writerow(["bench_micro_x", name + "_median", family, model, name, "aggregate", "median", "",
                                 9, 1, 1000, t, t, "ns", t, t, f"{counter}={value}", ""])


def _write_meta(out, profile, runs):
    meta = {"profile": profile, "state": "complete", "git": {"commit": "0123456789abcdef", "dirty": False},
            "compiler": {"cxx": "/usr/bin/g++", "cxx_version": "g++ (Debian 12.2.0-14) 12.2.0",
                         "cxx_flags": "-O3 -DNDEBUG", "build_type": "Release"},
            "machine": {"cpu_model": "AMD EPYC (fixture)", "cores": 2, "kernel": "Linux 6.1.0", "os": "Debian 12"},
            "limits": {"open_files_hard": 20000, "open_files_soft": 20000, "pid_max": 32768,
                       "max_map_count": 65530, "ephemeral_ports": [32768, 60999]},
            "backends": list(BACKENDS), "workloads": ["echo", "http"], "planned_runs": runs,
            "completed_runs": runs, "pinning": "server on core 0, loadgen on core 1 (taskset)",
            "started_utc": "2024-01-01T00:00:00Z", "finished_utc": "2024-01-01T00:02:30Z"}
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--scale-memory", type=float, default=1.0)
    p.add_argument("--scale-instructions", type=float, default=1.0)
    p.add_argument("--repetitions", type=int, default=1)
    p.add_argument("--profile", default="ci")
    p.add_argument("--gate-only", action="store_true")
    a = p.parse_args()
    make(a.out, a.seed, a.scale_memory, a.scale_instructions, repetitions=a.repetitions, profile=a.profile,
         gate_only=a.gate_only)
