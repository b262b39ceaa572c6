"""Starting, watching and stopping one server + loadgen pair, so that nothing outlives bench_all.

Invariants:
- Every child (server, loadgen, valgrind, micro binaries) starts in a session and process group of its own
  (start_new_session), so a terminal's Ctrl-C reaches bench_all only, and bench_all alone decides the stop order:
  loadgen first (it holds the client sockets), then the server by pid (SIGTERM, then SIGKILL), then SIGKILL to both
  groups to take any grandchild (loadgen's worker processes) along.
- Every live group is in LIVE_GROUPS from spawn until it is reaped; kill_all_groups() (atexit and the interrupt path)
  empties it. Children also get PR_SET_PDEATHSIG=SIGKILL, so even `kill -9 bench_all` leaves no server behind.
- A run's row is always produced: a fault (no ready line, crash, hang, timeout) becomes status=failed with a reason and
  the server's last stderr lines, never an exception that stops the matrix. Only an interrupt stops the matrix, and
  it raises Interrupted carrying the interrupted run's row.
- A loadgen JSON key that results.csv's header (columns.py) lacks fails the row, naming the keys: a measurement the
  CSV cannot hold must not vanish silently. The matrix goes on (every row says why), and `--strict` makes bench_all
  exit 1; the fix is one line in columns.py. tests/harness/test_loadgen_keys.py runs the real loadgen against a real
  server and compares its keys with the header.
"""
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import time
from datetime import datetime, timezone
from typing import Dict, List, Optional, Set

import cgroup
import faults
from columns import HEADER
from profiles import RunSpec

READY_LINE = re.compile(r"^ready port=(\d+) pid=(\d+)\s*$", re.M)
SERVER_STOP_TIMEOUT_S = 3.0   # the contract says 2 s; the extra second absorbs a loaded machine
LOADGEN_GRACE_S = 3.0         # after the server died: time for loadgen to notice and write its JSON
POLL_S = 0.05
STDERR_TAIL_LINES = 8

LIVE_GROUPS: Set[int] = set()
HEADER_SET = frozenset(HEADER)


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived during a run; `row` is that run's (failed) row, already cleaned up after."""

    def __init__(self, row: Dict[str, object], earlier: Optional[List[Dict[str, object]]] = None):
        super().__init__("interrupted")
        self.row = row
        self.earlier = earlier or []  # rows the interrupted spec finished before it (a sweep's first points)


def _die_with_parent():
    """preexec_fn: ask the kernel to SIGKILL this child when bench_all dies, however it dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except Exception:  # not Linux, or no libc: the process-group clean-up still applies
        pass


def spawn(argv: List[str], stdout_path: str, stderr_path: Optional[str] = None,
          cap: Optional[cgroup.CpuCap] = None) -> subprocess.Popen:
    """Starts argv in its own session and process group, output to files (pipes could fill and block a server).
    With `cap`, the child joins that cgroup before exec (CpuCap.join), so it never runs a cycle uncapped; if it cannot
    join, Popen raises SubprocessError and nothing was started."""
    def preexec():
        _die_with_parent()
        if cap is not None:
            cap.join()
    with open(stdout_path, "wb") as out:
        err = open(stderr_path, "wb") if stderr_path else subprocess.STDOUT
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True, preexec_fn=preexec)
        finally:
            if stderr_path:
                err.close()
    LIVE_GROUPS.add(proc.pid)
    return proc


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def reap(proc: subprocess.Popen, timeout_s: float) -> Optional[int]:
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None


def finish(proc: subprocess.Popen) -> None:
    """SIGKILLs whatever is left of proc's group and reaps proc. Idempotent."""
    kill_group(proc.pid)
    if proc.poll() is None:
        try:
            proc.kill()
        except ProcessLookupError:
            pass
        reap(proc, 5.0)
    LIVE_GROUPS.discard(proc.pid)


def kill_all_groups() -> None:
    """Every child group gone, then every CPU-cap cgroup (empty now) removed."""
    for pgid in list(LIVE_GROUPS):
        kill_group(pgid)
        LIVE_GROUPS.discard(pgid)
    cgroup.remove_all()


def describe_exit(returncode: Optional[int]) -> str:
    if returncode is None:
        return "running"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "?"
        return f"signal {-returncode} ({name})"
    return str(returncode)


def tail(path: str, lines: int = STDERR_TAIL_LINES) -> List[str]:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [line.rstrip() for line in text.splitlines() if line.strip()][-lines:]


class Pinning:
    """Server on the first allowed core, loadgen on the second, when there are two and taskset exists."""

    def __init__(self, enabled: bool = True):
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        taskset = shutil.which("taskset")
        self.active = enabled and taskset is not None and len(cores) >= 2
        self.server_core = cores[0] if self.active else None
        self.loadgen_core = cores[1] if self.active else None
        self._taskset = taskset

    def wrap(self, core: Optional[int], argv: List[str]) -> List[str]:
        return [self._taskset, "-c", str(core)] + argv if core is not None else argv

    def describe(self) -> str:
        if not self.active:
            return "off"
        return f"server on core {self.server_core}, loadgen on core {self.loadgen_core} (taskset)"


class RunPaths:
    def __init__(self, run_dir: str, stem: str):
        self.server_out = os.path.join(run_dir, "logs", stem + ".server.out")
        self.server_err = os.path.join(run_dir, "logs", stem + ".server.log")
        self.loadgen_log = os.path.join(run_dir, "logs", stem + ".loadgen.log")
        self.json = os.path.join(run_dir, "logs", stem + ".json")
        self.timeline = os.path.join(run_dir, "timelines", stem + ".csv")
        self.hdr = os.path.join(run_dir, "hdr", stem + ".hlog")
        self.stem = stem
        self.run_dir = run_dir

    def rel(self, path: str) -> str:
        return os.path.relpath(path, self.run_dir)


def wait_ready(proc: subprocess.Popen, stdout_path: str, timeout_s: float):
    """Returns (port, pid, None) once the ready line is out, or (None, None, reason)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with open(stdout_path, "r", errors="replace") as f:
                text = f.read()
        except OSError:
            text = ""
        match = READY_LINE.search(text)
        if match:
            return int(match.group(1)), int(match.group(2)), None
        code = proc.poll()
        if code is not None:
            return None, None, f"server exited ({describe_exit(code)}) before printing its ready line"
        if time.monotonic() >= deadline:
            said = text.strip().splitlines()[-1][:120] if text.strip() else ""
            detail = f"; its stdout says {said!r}" if said else ""
            return None, None, f"server printed no ready line within {timeout_s:g} s (hung at start-up?){detail}"
        time.sleep(POLL_S)


def loadgen_argv(loadgen: str, spec: RunSpec, port: int, server_pid: int, paths: RunPaths,
                 files: bool = True) -> List[str]:
    """`files`: also the per-second timeline and HdrHistogram log (a capacity search's steps go without)."""
    argv = [loadgen, "--target", f"127.0.0.1:{port}", "--workload", spec.workload,
            "--connections", str(spec.connections), "--duration", f"{spec.duration_s:g}",
            "--warmup", f"{spec.warmup_s:g}", "--threads", "1", "--mode", spec.mode,
            "--server-pid", str(server_pid), "--json", paths.json]
    if files:
        argv += ["--timeline", paths.timeline, "--hdr-log", paths.hdr]
    if spec.mode == "idle":
        argv += ["--hold", f"{spec.hold_s:g}"]
    return argv + list(spec.loadgen_args)


def loadgen_timeout_s(spec: RunSpec) -> float:
    return 30.0 + spec.warmup_s + spec.duration_s + spec.hold_s + spec.connections * 2e-3


def new_row(spec: RunSpec, profile: str, run_index: int) -> Dict[str, object]:
    row: Dict[str, object] = {k: None for k in HEADER}
    row.update(backend=spec.backend, profile=profile, workload=spec.workload, mode=spec.mode,
               connections=spec.connections, duration_s=spec.duration_s, warmup_s=spec.warmup_s,
               variant=spec.variant, repetition=spec.repetition, run_index=run_index,
               cpu_cap=spec.cpu_cap or None, search=spec.search or None,
               started_utc=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return row


def _worsen(row: Dict[str, object], status: str, reason: str) -> None:
    """Lowers the row's status to `status` (never raises it) and appends the reason."""
    order = {"ok": 0, "degraded": 1, "failed": 2}
    current = row.get("status") or "ok"
    if order.get(status, 2) > order.get(str(current), 2):
        row["status"] = status
    else:
        row["status"] = current
    row["reason"] = "; ".join(r for r in (row.get("reason") or "", reason) if r)


def run_one(spec: RunSpec, profile: str, run_index: int, run_dir: str, server: str, loadgen: str,
            pinning: Pinning, ready_timeout_s: float) -> Dict[str, object]:
    paths = RunPaths(run_dir, spec.stem)
    row = new_row(spec, profile, run_index)
    row["log"] = paths.rel(os.path.join(run_dir, "logs", spec.stem))
    started = time.monotonic()
    served = Served(spec, paths, row)
    server_died: Optional[str] = None
    try:
        if not served.start(server, pinning, ready_timeout_s):
            return row
        fault = faults.planned(run_index)  # test-only (faults.py); None in every real run
        argv = pinning.wrap(pinning.loadgen_core,
                            loadgen_argv(loadgen, spec, served.port, served.pid, paths)
                            + faults.loadgen_args(fault, spec.connections))
        server_died = drive_loadgen(argv, loadgen_timeout_s(spec), served.proc, row, paths, fault)
        return row
    except KeyboardInterrupt:
        served.interrupted = True
        _worsen(row, "failed", "interrupted (bench_all got SIGINT/SIGTERM) before this run finished")
        raise Interrupted(row)
    finally:
        served.stop(server_died)
        row["elapsed_s"] = round(time.monotonic() - started, 3)
        row["timeline"] = paths.rel(paths.timeline) if os.path.exists(paths.timeline) else ""
        row["hdr_log"] = paths.rel(paths.hdr) if os.path.exists(paths.hdr) else ""
        if not row.get("status"):
            row["status"] = "ok"


class Served:
    """One server process (in its CPU cap when the spec has one) that one or more loadgen runs use: run_one starts
    it for one run, a capacity search (capacity.py) for all its steps. stop() stops the server, then removes the
    cgroup; it is idempotent and ignores SIGINT/SIGTERM while it works, so a second Ctrl-C cannot leave either
    behind."""

    def __init__(self, spec: RunSpec, paths: RunPaths, row: Dict[str, object]):
        self.spec, self.paths, self.row = spec, paths, row
        self.proc: Optional[subprocess.Popen] = None
        self.cap: Optional[cgroup.CpuCap] = None
        self.port = self.pid = 0
        self.interrupted = False

    def start(self, server: str, pinning: Pinning, ready_timeout_s: float) -> bool:
        """True once the server printed its ready line; otherwise the row is failed with the reason."""
        spec, row = self.spec, self.row
        if spec.cpu_cap:
            try:
                self.cap = cgroup.CpuCap(spec.cpu_cap, cgroup.unique_name(self.paths.stem)).create()
            except (cgroup.CpuCapError, ValueError) as e:
                _worsen(row, "failed", str(e))  # never a silent uncapped run
                return False
        server_argv = pinning.wrap(pinning.server_core, [server, "--backend", spec.backend, "--workload",
                                                         spec.workload, "--port", "0"] + spec.server_args)
        try:
            self.proc = spawn(server_argv, self.paths.server_out, self.paths.server_err, self.cap)
        except (OSError, subprocess.SubprocessError) as e:
            where = f" into {self.cap.describe()}" if self.cap else ""
            _worsen(row, "failed", f"server did not start{where}: {e}")
            return False
        port, server_pid, failure = wait_ready(self.proc, self.paths.server_out, ready_timeout_s)
        if failure:
            _worsen(row, "failed", failure)
            if self.proc.poll() is None:  # never ready: nothing to stop gracefully
                finish(self.proc)
                row["server_exit"] = "killed (never ready)"
            return False
        if server_pid != self.proc.pid:  # a wrapper between us and the server: sample the real one
            row["reason"] = f"ready line pid {server_pid} differs from spawned pid {self.proc.pid}"
        self.port, self.pid = port, server_pid
        return True

    def stop(self, server_died: Optional[str] = None) -> None:
        # Clean-up must finish even if a second Ctrl-C comes: ignore the signals until it is done.
        previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            if self.proc is not None:
                _stop_server(self.proc, self.row, self.interrupted)
                if self.row.get("status") in ("failed", "degraded") or server_died is not None:
                    self.row["server_stderr_tail"] = " | ".join(tail(self.paths.server_err))
                self.proc = None
            if self.cap is not None:
                # What the cap did (periods the server was active in, and throttled in), kept beside the run's logs.
                try:
                    with open(os.path.join(self.paths.run_dir, "logs", self.paths.stem + ".cgroup"), "w") as f:
                        f.write(f"{self.cap.describe()}\n{self.cap.usage_note()}\n")
                except OSError:
                    pass
                self.cap.remove()
                self.cap = None
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def drive_loadgen(argv: List[str], timeout_s: float, server_proc: subprocess.Popen, row: Dict[str, object],
                  paths: RunPaths, fault: Optional["faults.Fault"] = None) -> Optional[str]:
    """Runs loadgen to its end (or timeout_s, or LOADGEN_GRACE_S after the server died), merges its JSON into row.
    Returns how the server died during the run, or None if it is still alive."""
    server_died: Optional[str] = None
    loadgen_proc = spawn(argv, paths.loadgen_log)
    loadgen_started = time.monotonic()
    try:
        deadline = loadgen_started + timeout_s
        while loadgen_proc.poll() is None:
            faults.maybe_fire(fault, time.monotonic() - loadgen_started, server_proc.pid, loadgen_proc.pid)
            if server_died is None and server_proc.poll() is not None:
                server_died = describe_exit(server_proc.returncode)
                deadline = min(deadline, time.monotonic() + LOADGEN_GRACE_S)
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_S)
        loadgen_code = loadgen_proc.poll()
        if loadgen_code is None:
            finish(loadgen_proc)
            if server_died is None:
                _worsen(row, "failed", f"loadgen did not finish within {timeout_s:.0f} s; killed")
        _merge_loadgen_json(row, paths, loadgen_code)
        _bound_under_cap(row)
        if server_died is None and server_proc.poll() is not None:
            server_died = describe_exit(server_proc.returncode)
        if server_died is not None:  # whatever loadgen concluded, the server is gone: the run failed
            said = f"; loadgen: {row['reason']}" if row.get("reason") else ""
            row["status"], row["reason"] = "failed", f"server died during the run ({server_died}){said}"
        return server_died
    finally:
        finish(loadgen_proc)


def _stop_server(proc: subprocess.Popen, row: Dict[str, object], interrupted: bool) -> None:
    """SIGTERM by pid, wait, then SIGKILL the group. A server that will not stop cleanly degrades its run."""
    if row.get("server_exit"):  # already handled (killed before ready)
        finish(proc)
        return
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        code = reap(proc, SERVER_STOP_TIMEOUT_S)
        if code is None:
            finish(proc)
            row["server_exit"] = f"killed: no exit {SERVER_STOP_TIMEOUT_S:g} s after SIGTERM"
            if not interrupted and row.get("status") != "failed":
                _worsen(row, "degraded", f"server ignored SIGTERM for {SERVER_STOP_TIMEOUT_S:g} s; SIGKILLed")
            return
        row["server_exit"] = describe_exit(code)
        if code != 0 and not interrupted and row.get("status") != "failed":
            meaning = "graceful stop overran its budget" if code == 3 else "unclean stop"
            _worsen(row, "degraded", f"server exited {describe_exit(code)} after SIGTERM ({meaning})")
    else:
        row["server_exit"] = describe_exit(proc.returncode)
    finish(proc)  # grandchildren too


BOUND_BUSY_SHARE = 0.9  # loadgen's rule (loadgen/cost.hpp bound_busy_share): a side at >= 90 % of what it may use


def _bound_under_cap(row: Dict[str, object]) -> None:
    """loadgen judges `bound` against the cores the server may run on (its affinity); under a CPU cap the server
    may use only cpu_cap of them, so a server busy at >= 90 % of its cap is the bound side (loadgen cannot see the
    cap: its CPU reading comes from the process clock)."""
    cap, util = row.get("cpu_cap"), row.get("server_cpu_util")
    if not isinstance(cap, (int, float)) or not cap or not isinstance(util, (int, float)):
        return
    if util >= BOUND_BUSY_SHARE * float(cap) and row.get("bound") in ("neither", "client"):
        client = row.get("client_cpu_util")
        client_share = float(client) if isinstance(client, (int, float)) else 0.0
        if row.get("bound") == "neither" or util / float(cap) >= client_share:
            row["bound"] = "server"


def unknown_keys(record: Dict[str, object]) -> List[str]:
    """Keys of a loadgen JSON record that results.csv cannot hold (in the record's order)."""
    return [k for k in record if k not in HEADER_SET]


def _merge_loadgen_json(row: Dict[str, object], paths: RunPaths, loadgen_code: Optional[int]) -> None:
    record = None
    try:
        with open(paths.json) as f:
            record = json.load(f)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as e:
        _worsen(row, "failed", f"loadgen JSON unreadable: {e}")
    if not isinstance(record, dict):
        if loadgen_code is not None:
            said = " | ".join(tail(paths.loadgen_log, 3))
            _worsen(row, "failed", f"loadgen exited {describe_exit(loadgen_code)} without a JSON record"
                                   + (f": {said}" if said else ""))
        return
    previous_reason = row.get("reason")
    previous_status = row.get("status")
    for key, value in record.items():
        if key in row and key not in ("backend", "profile"):
            row[key] = value
    unknown = unknown_keys(record)
    row["status"] = None
    row["reason"] = None
    status = record.get("status") if record.get("status") in ("ok", "degraded", "failed") else "failed"
    reason = record.get("reason") or ("" if record.get("status") else "loadgen JSON has no status")
    if loadgen_code not in (0, None) and status != "failed":
        status, reason = "failed", "; ".join(r for r in (reason, f"loadgen exited {loadgen_code}") if r)
    _worsen(row, status, reason or "")
    if unknown:
        _worsen(row, "failed", f"loadgen JSON has keys results.csv's header lacks: {', '.join(unknown)} "
                               "(add them to bench/bench_all/columns.py)")
    if previous_status:
        _worsen(row, str(previous_status), str(previous_reason or ""))
    elif previous_reason:
        row["reason"] = "; ".join(r for r in (str(previous_reason), row.get("reason") or "") if r)
