"""The non-socket measurements bench_all also collects when their binaries are built:
- micro: every bench_micro* executable (Google Benchmark), one process per model -> micro.json (merged) and
  micro.csv;
- callgrind: the `hotpath` driver under valgrind --tool=callgrind -> callgrind.csv (instructions per model and case),
  and the whole server path: each back end's real `server` under callgrind answering a fixed number of requests on
  one connection, as instructions per request (case `server-<workload>`; see run_server_callgrind).
Both are optional: a binary that is not built is skipped and said so; one that fails is recorded, never fatal.
"""
import csv
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import time
from typing import Dict, List, Optional, Sequence, Tuple

import runner
from backends import Backend

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


def micro_models(binary: str) -> List[Tuple[str, List[str]]]:
    """(model, benchmark names) in listed order, from `--benchmark_list_tests`; [] when the binary cannot list
    (the Go and Rust peers' drivers) or lists nothing."""
    try:
        out = subprocess.run([binary, "--benchmark_list_tests"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=20)
    except (OSError, subprocess.SubprocessError):
        return []
    if out.returncode != 0:
        return []
    groups: Dict[str, List[str]] = {}
    for name in out.stdout.decode("utf-8", "replace").split():
        groups.setdefault(_family_and_model(name)[1], []).append(name)
    return list(groups.items())


def _exact_filter(names: Sequence[str]) -> str:
    """A --benchmark_filter (POSIX extended regex) matching exactly these names."""
    def escape(name: str) -> str:
        return re.sub(r"([.\\[\](){}*+?|^$])", r"\\\1", name)
    return "^(" + "|".join(escape(n) for n in names) + ")$"


def run_micro(bin_dir: str, run_dir: str, extra_args: List[str], timeout_s: float, log) -> Dict[str, object]:
    """Every micro binary, one process per model: a model that starts threads (threads, coro's pool, asio-mt) must
    not change what a later one pays. glibc's single-threaded flag never turns back once a second thread has run,
    and coro-local's channels skip locked instructions only while it holds (runtimes/coro/detail/one_thread.hpp),
    as in its single-threaded server. A binary that cannot list its benchmarks runs whole."""
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
        groups = micro_models(binary) or [("", [])]
        entry = {"binary": name, "exit": "", "wall_s": 0.0, "status": "ok", "reason": "", "processes": len(groups)}
        failures = []
        for model, names in groups:
            part = f"{name}-{model}" if names else name
            out = os.path.join(run_dir, "logs", f"micro-{part}.json")
            argv = [binary, f"--benchmark_out={out}", "--benchmark_out_format=json"] + list(extra_args)
            if names:
                argv.append(f"--benchmark_filter={_exact_filter(names)}")
            log(f"micro: {name}{' model ' + model if names else ''} {' '.join(extra_args)}")
            code, wall_s, timed_out = _run_logged(argv, os.path.join(run_dir, "logs", f"micro-{part}.log"),
                                                  timeout_s)
            entry["wall_s"] = round(entry["wall_s"] + wall_s, 3)
            if code != 0 or not entry["exit"]:  # the binary's exit: a failing process's, else the first one's
                entry["exit"] = runner.describe_exit(code)
            where = f"model {model}: " if names else ""
            try:
                with open(out) as f:
                    data = json.load(f)
            except (OSError, ValueError) as e:
                data = None
                failures.append(f"{where}no JSON output ({e.__class__.__name__})")
            if timed_out:
                failures.append(f"{where}timed out after {timeout_s:g} s; killed")
            elif code != 0 and data is not None:
                failures.append(f"{where}exited {runner.describe_exit(code)}")
            if data:
                merged["context"] = merged["context"] or data.get("context")
                for bench in data.get("benchmarks", []):
                    bench = dict(bench, binary=name)
                    merged["benchmarks"].append(bench)
                    rows.append(_micro_row(name, bench))
        if failures:
            entry.update(status="failed", reason="; ".join(failures))
        merged["binaries"].append(entry)
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


def run_callgrind(bin_dir: str, run_dir: str, timeout_s: float, log, backends: Sequence[Backend] = (),
                  server_args: Sequence[str] = ()) -> Dict[str, object]:
    """The hot-path cases, then the server path of every back end in `backends` (registry entries, with
    `server_args`)."""
    rows = _run_hotpath_callgrind(bin_dir, run_dir, timeout_s, log) if _hotpath_ready(bin_dir, log) else []
    if backends and shutil.which("valgrind"):
        for backend in backends:
            if backend.peer:  # another language's runtime, exec'd by the server: not ours to count
                log(f"callgrind: {backend.name} server path skipped (a peer runtime: valgrind does not follow "
                    "the exec)")
                continue
            rows += [run_server_callgrind(bin_dir, run_dir, backend.name, workload, list(server_args), timeout_s,
                                          log) for workload in SERVER_CALLGRIND_WORKLOADS]
    if not rows:
        return {"skipped": "nothing to count (no hotpath, no back ends, or no valgrind)"}
    write_csv_atomic(os.path.join(run_dir, "callgrind.csv"), CALLGRIND_CSV_HEADER, rows)
    return {"cases": len(rows), "failed": sum(r["status"] != "ok" for r in rows)}


def _hotpath_ready(bin_dir: str, log) -> bool:
    hotpath = os.path.join(bin_dir, "hotpath")
    if not (os.path.isfile(hotpath) and os.access(hotpath, os.X_OK)):
        log(f"callgrind: hot paths skipped (no hotpath executable in {bin_dir})")
        return False
    if not shutil.which("valgrind"):
        log("callgrind: skipped (valgrind not installed; scripts/setup installs it)")
        return False
    return True


def _run_hotpath_callgrind(bin_dir: str, run_dir: str, timeout_s: float, log) -> List[Dict[str, object]]:
    hotpath = os.path.join(bin_dir, "hotpath")
    valgrind = shutil.which("valgrind")
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
    return rows


# ------------------------------------------------------------------------------------ callgrind: the server path

# The server path per request: the real server under callgrind answers SERVER_WARMUP requests (first-time costs:
# the accept, lazy binding, buffers), then callgrind's counters are zeroed, then it answers SERVER_REQUESTS more and
# the counters are dumped (callgrind_control, which reaches a server blocked in a system call through vgdb), all on
# one connection, one request at a time, each SERVER_PAUSE_S after the previous reply: the server has gone back to
# waiting for events before the next request comes, every time (sent at once, a request sometimes arrived while the
# server was still finishing the last one and skipped a wait: asio 3,580 or 3,845 instructions per request by the
# machine's load). Dumped instructions / SERVER_REQUESTS = user-space instructions per request of the whole server
# path, on the idle-server path: the same work every time.
# The server is then killed: no shutdown to wait for (valgrind runs one thread at a time, and a back end blocked in
# io_uring_enter never lets its signal thread run). Counts are small on purpose (~4 s per back end).
SERVER_CALLGRIND_WORKLOADS = ("http",)
SERVER_WARMUP = 50
SERVER_REQUESTS = 500
SERVER_PAUSE_S = 0.002
HTTP_REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"


class _HttpClient:
    """One keep-alive connection sending GETs one after the other, each after the previous reply is complete."""

    def __init__(self, port: int, timeout_s: float):
        self.conn = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
        self.buffer = b""
        self.timeout_s = timeout_s

    def close(self) -> None:
        self.conn.close()

    def requests(self, count: int) -> Optional[str]:
        """None, or what went wrong."""
        deadline = time.monotonic() + self.timeout_s
        try:
            for i in range(count):
                time.sleep(SERVER_PAUSE_S)
                self.conn.sendall(HTTP_REQUEST)
                while True:
                    end = self.buffer.find(b"\r\n\r\n")
                    if end >= 0:
                        head = self.buffer[:end].decode("latin-1").lower()
                        length = next((int(line.split(":", 1)[1]) for line in head.split("\r\n")
                                       if line.startswith("content-length:")), 0)
                        if len(self.buffer) >= end + 4 + length:
                            if not head.startswith("http/1.1 200"):
                                return f"request {i + 1}: {head.splitlines()[0]!r}"
                            self.buffer = self.buffer[end + 4 + length:]
                            break
                    if time.monotonic() > deadline:
                        return f"timed out after {i} of {count} replies"
                    chunk = self.conn.recv(65536)
                    if not chunk:
                        return f"server closed the connection after {i} of {count} replies"
                    self.buffer += chunk
        except OSError as e:
            return f"client: {e}"
        return None


def _callgrind_control(option: str, pid: int, log_path: str, timeout_s: float) -> Optional[str]:
    code, _, timed_out = _run_logged([shutil.which("callgrind_control") or "callgrind_control", option, str(pid)],
                                     log_path, timeout_s)
    if timed_out or code != 0:
        return f"callgrind_control {option} {'timed out' if timed_out else f'exited {code}'}"
    return None


def run_server_callgrind(bin_dir: str, run_dir: str, backend: str, workload: str, server_args: List[str],
                         timeout_s: float, log) -> Dict[str, object]:
    """callgrind.csv row (model = back end, case = server-<workload>): user-space instructions per request of the
    whole server path (see SERVER_REQUESTS)."""
    stem = f"server-{backend}-{workload}"
    out_file = os.path.join(run_dir, "callgrind", stem + ".out")
    stdout_path = os.path.join(run_dir, "logs", f"callgrind-{stem}.out")
    log_path = os.path.join(run_dir, "logs", f"callgrind-{stem}.log")
    control_log = os.path.join(run_dir, "logs", f"callgrind-{stem}.control.log")
    os.makedirs(os.path.dirname(out_file), exist_ok=True)
    row: Dict[str, object] = {"model": backend, "case": f"server-{workload}", "region": "per-request",
                              "status": "ok", "reason": "", "out_file": os.path.relpath(out_file + ".1", run_dir)}
    started = time.monotonic()
    argv = [shutil.which("valgrind"), "--tool=callgrind", f"--callgrind-out-file={out_file}",
            os.path.join(bin_dir, "server"), "--backend", backend, "--workload", workload, "--port", "0"] + server_args
    proc = runner.spawn(argv, stdout_path, log_path)
    client = None
    try:
        port, pid, failure = runner.wait_ready(proc, stdout_path, timeout_s)
        if not failure:
            client = _HttpClient(port, timeout_s)
            failure = (client.requests(SERVER_WARMUP) or _callgrind_control("-z", pid, control_log, timeout_s)
                       or client.requests(SERVER_REQUESTS) or _callgrind_control("-d", pid, control_log, timeout_s))
    except OSError as e:
        failure = f"client: {e}"
    finally:
        if client:
            client.close()
        runner.finish(proc)
    total = None if failure else parse_callgrind_total(out_file + ".1")
    if failure or not total:
        row.update(status="failed", reason=failure or "no instruction total in the callgrind dump")
    else:
        row["instructions"] = int(round(total / SERVER_REQUESTS))
    row["wall_s"] = round(time.monotonic() - started, 3)
    log(f"callgrind: {backend} server-{workload}: {row.get('instructions') or row['reason']} instructions/request")
    return row
