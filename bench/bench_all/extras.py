"""The non-socket measurements bench_all also collects when their binaries are built:
- micro: every bench_micro* executable (Google Benchmark) -> micro.json (merged) and micro.csv;
- callgrind: the `hotpath` driver under valgrind --tool=callgrind -> callgrind.csv (instructions per model and case).
Both are optional: a binary that is not built is skipped and said so; one that fails is recorded, never fatal.
"""
import csv
import glob
import json
import os
import re
import shutil
import subprocess
import time
from typing import Dict, List, Optional, Tuple

import runner

MICRO_CSV_HEADER = ["binary", "name", "family", "model", "run_name", "run_type", "aggregate_name",
                    "repetition_index", "repetitions", "threads", "iterations", "real_time_ns", "cpu_time_ns",
                    "time_unit", "real_time", "cpu_time", "counters", "error_message"]

CALLGRIND_CSV_HEADER = ["model", "case", "instructions", "region", "status", "reason", "wall_s", "out_file"]

_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def write_csv_atomic(path: str, header: List[str], rows: List[Dict[str, object]]) -> None:
    from columns import csv_value
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: csv_value(row.get(k)) for k in header})
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_text_atomic(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json_atomic(path: str, value: object) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


def _run_logged(argv: List[str], log_path: str, timeout_s: float) -> Tuple[Optional[int], float, bool]:
    """Runs argv in its own group (see runner), output to log_path. Returns (exit code, wall s, timed out)."""
    started = time.monotonic()
    proc = runner.spawn(argv, log_path)
    code = runner.reap(proc, timeout_s)
    runner.finish(proc)
    return (code if code is not None else proc.returncode), time.monotonic() - started, code is None


# ---------------------------------------------------------------------------------------------------------- micro

def micro_binaries(bin_dir: str) -> List[str]:
    return sorted(p for p in glob.glob(os.path.join(bin_dir, "bench_micro*"))
                  if os.path.isfile(p) and os.access(p, os.X_OK) and not p.endswith((".json", ".csv", ".log")))


def _family_and_model(name: str) -> Tuple[str, str]:
    parts = name.split("/")
    model = ""
    for part in parts[1:]:
        if part.startswith(("model:", "backend:")):
            model = part.split(":", 1)[1]
    return parts[0], model


def run_micro(bin_dir: str, run_dir: str, extra_args: List[str], timeout_s: float, log) -> Dict[str, object]:
    binaries = micro_binaries(bin_dir)
    summary = {"binaries": [], "skipped": None}
    if not binaries:
        summary["skipped"] = f"no bench_micro* executable in {bin_dir}"
        log(f"micro: skipped ({summary['skipped']})")
        return summary
    merged = {"context": None, "binaries": [], "benchmarks": []}
    rows: List[Dict[str, object]] = []
    for binary in binaries:
        name = os.path.basename(binary)
        out = os.path.join(run_dir, "logs", f"micro-{name}.json")
        argv = [binary, f"--benchmark_out={out}", "--benchmark_out_format=json"] + list(extra_args)
        log(f"micro: {name} {' '.join(extra_args)}")
        code, wall_s, timed_out = _run_logged(argv, os.path.join(run_dir, "logs", f"micro-{name}.log"), timeout_s)
        entry = {"binary": name, "exit": runner.describe_exit(code), "wall_s": round(wall_s, 3),
                 "status": "ok", "reason": ""}
        try:
            with open(out) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            data = None
            entry.update(status="failed", reason=f"no JSON output ({e.__class__.__name__})")
        if timed_out:
            entry.update(status="failed", reason=f"timed out after {timeout_s:g} s; killed")
        elif code != 0 and entry["status"] == "ok":
            entry.update(status="failed", reason=f"exited {runner.describe_exit(code)}")
        merged["binaries"].append(entry)
        if data:
            merged["context"] = merged["context"] or data.get("context")
            for bench in data.get("benchmarks", []):
                bench = dict(bench, binary=name)
                merged["benchmarks"].append(bench)
                rows.append(_micro_row(name, bench))
        summary["binaries"].append(entry)
    write_json_atomic(os.path.join(run_dir, "micro.json"), merged)
    write_csv_atomic(os.path.join(run_dir, "micro.csv"), MICRO_CSV_HEADER, rows)
    log(f"micro: {len(rows)} benchmark rows from {len(binaries)} binaries")
    return summary


def _micro_row(binary: str, bench: Dict[str, object]) -> Dict[str, object]:
    name = str(bench.get("name", ""))
    family, model = _family_and_model(str(bench.get("run_name") or name))
    unit = str(bench.get("time_unit", "ns"))
    scale = _UNIT_NS.get(unit, 1.0)
    known = {"name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
             "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit", "aggregate_name",
             "aggregate_unit", "binary", "error_occurred", "error_message", "label"}
    counters = {k: v for k, v in bench.items() if k not in known and isinstance(v, (int, float))}

    def ns(v):
        return float(v) * scale if isinstance(v, (int, float)) else None
    return {
        "binary": binary, "name": name, "family": family, "model": model, "run_name": bench.get("run_name"),
        "run_type": bench.get("run_type"), "aggregate_name": bench.get("aggregate_name"),
        "repetition_index": bench.get("repetition_index"), "repetitions": bench.get("repetitions"),
        "threads": bench.get("threads"), "iterations": bench.get("iterations"),
        "real_time_ns": ns(bench.get("real_time")), "cpu_time_ns": ns(bench.get("cpu_time")), "time_unit": unit,
        "real_time": bench.get("real_time"), "cpu_time": bench.get("cpu_time"),
        "counters": ";".join(f"{k}={v:g}" for k, v in sorted(counters.items())),
        "error_message": bench.get("error_message") or "",
    }


# ------------------------------------------------------------------------------------------------------ callgrind

def hotpath_cases(hotpath: str, log) -> List[Tuple[str, str]]:
    """`hotpath --list` prints one "<model> <case>" per line: the driver is the one list of what it can count."""
    try:
        out = subprocess.run([hotpath, "--list"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20)
    except (OSError, subprocess.SubprocessError):
        out = None
    cases = []
    if out is not None and out.returncode == 0:
        for line in out.stdout.decode("utf-8", "replace").splitlines():
            parts = line.split()
            if len(parts) == 2 and not line.startswith("#"):
                cases.append((parts[0], parts[1]))
    if not cases:
        log("callgrind: `hotpath --list` gave nothing; no hot paths counted")
    return cases


def parse_callgrind_total(path: str) -> Optional[int]:
    """Total Ir from a callgrind.out file ("totals:" line, else "summary:")."""
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    for key in ("totals", "summary"):
        match = re.search(rf"^{key}:\s+(\d+)", text, re.M)
        if match:
            return int(match.group(1))
    return None


def run_callgrind(bin_dir: str, run_dir: str, timeout_s: float, log) -> Dict[str, object]:
    hotpath = os.path.join(bin_dir, "hotpath")
    valgrind = shutil.which("valgrind")
    if not (os.path.isfile(hotpath) and os.access(hotpath, os.X_OK)):
        log(f"callgrind: skipped (no hotpath executable in {bin_dir})")
        return {"skipped": "hotpath not built"}
    if not valgrind:
        log("callgrind: skipped (valgrind not installed; scripts/setup installs it)")
        return {"skipped": "valgrind missing"}
    out_dir = os.path.join(run_dir, "callgrind")
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for model, case in hotpath_cases(hotpath, log):
        stem = f"{model}-{case}"
        out_file = os.path.join(out_dir, stem + ".out")
        row = {"model": model, "case": case, "out_file": os.path.relpath(out_file, run_dir), "status": "ok",
               "reason": ""}
        # First with instrumentation off until the driver's CALLGRIND_START_INSTRUMENTATION (the measured region
        # only); a driver without the markers counts 0 there, so then count the whole process.
        total_wall = 0.0
        for region, extra in (("marked", ["--instr-atstart=no"]), ("whole-process", [])):
            argv = [valgrind, "--tool=callgrind", f"--callgrind-out-file={out_file}"] + extra + \
                   [hotpath, "--model", model, "--case", case]
            code, wall_s, timed_out = _run_logged(argv, os.path.join(run_dir, "logs", f"callgrind-{stem}.log"),
                                                  timeout_s)
            total_wall += wall_s
            instructions = parse_callgrind_total(out_file)
            if timed_out:
                row.update(status="failed", reason=f"timed out after {timeout_s:g} s")
                break
            if code != 0:
                said = " | ".join(runner.tail(os.path.join(run_dir, "logs", f"callgrind-{stem}.log"), 2))
                row.update(status="failed", reason=f"exited {runner.describe_exit(code)}: {said}")
                break
            if instructions:
                row.update(instructions=instructions, region=region)
                break
        if row["status"] == "ok" and not row.get("instructions"):
            row.update(status="failed", reason="no instruction total in the callgrind output")
        row["wall_s"] = round(total_wall, 3)
        log(f"callgrind: {model} {case}: {row.get('instructions') or row['reason']}")
        rows.append(row)
    write_csv_atomic(os.path.join(run_dir, "callgrind.csv"), CALLGRIND_CSV_HEADER, rows)
    return {"cases": len(rows), "failed": sum(r["status"] != "ok" for r in rows)}
