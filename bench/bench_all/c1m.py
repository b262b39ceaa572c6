"""The c1m profile: for each back end, the most idle verified connections it holds up to a million, and why it stops.

For each back end the profile grows the held connections through the cell's counts (100k, 250k, 500k, 1M) without
starting over: one server per back end, sharded (`server --shards N`, every back end, the peers included) so that no
process needs more descriptors than its hard limit allows at the largest count, and one stepped loadgen
(`loadgen --steps ... --step-gate`, loadgen/steps.hpp) that opens each step's new connections at --ramp-rate,
verifies each with one request, holds everything, samples the server and the machine, writes the step's record, and
waits for this side's go-ahead (SIGUSR1) before the next step. One row per step. It stops at the first step the back
end does not hold whole, and writes why in `stop_reason`:

  descriptors  a process ran out of descriptors, or fs.file-max would be exceeded
  pid_max      thread creation hit the pids limit (pid_max less the tasks of the machine's other processes)
  threads      thread creation failed for another reason (memory for stacks, threads-max)
  mappings     mmap failed (vm.max_map_count)
  memory       the next step does not fit in MemAvailable less the reserve, or MemAvailable fell below it mid-step
  time         the step did not finish within its time bound, or connections were not verified within
               --connect-timeout
  unknown: ..  fewer connections than asked for a reason none of the above explains (loadgen's reason follows)

Safety first, because the machine is shared:
- Before each step: the memory it needs is the step's new connections (the held ones are already out of MemAvailable)
  times the machine-wide cost per connection measured at the previous step (MemAvailable before the back end minus the lowest MemAvailable since, over the connections held:
  server, kernel and loadgen together), times a margin; the step runs (loadgen gets its SIGUSR1) only if MemAvailable
  minus that keeps `--reserve-gib` free. The first step assumes FIRST_STEP_COST_BYTES.
- During each step MemAvailable is polled; below the reserve, loadgen (which holds the client half) and the server
  are killed at once.
- Each step is bounded in time (its ramp + connect timeout + hold + slack).
- The server runs in a pids cgroup whose limit leaves PID_RESERVE tasks to the rest of the machine, so a thread per
  connection meets "pid_max" without starving other processes of pids.
- Every child starts in its own process group with PR_SET_PDEATHSIG (runner.spawn), the shards die with their
  supervisor, and the interrupt path and atexit kill every group: nothing outlives the profile, even after Ctrl-C.
- Between back ends the profile waits until the kernel has freed the previous one's sockets (settle()), a measured
  condition, at most SETTLE_S.
"""
import atexit
import json
import math
import os
import resource
import signal
import sys
import time
from typing import Dict, List, Optional, Tuple

import extras
import runner
from columns import HEADER
from profiles import RunSpec

GIB = 1 << 30
FIRST_STEP_COST_BYTES = 32 * 1024   # a pessimistic guess before anything is measured (a thread: stack + kernel)
MEMORY_MARGIN = 1.25                # the step's estimate is multiplied by this
WATCH_S = 0.2                       # MemAvailable poll while a step runs
SERVER_FD_MARGIN = 100              # a shard's own descriptors: listener, epoll, stdio, ring, spare
SHARD_FILL = 0.9                    # SO_REUSEPORT hashes, it does not balance: shards are filled to 90 % on average
PID_RESERVE = 2048                  # tasks left to the rest of the machine
PIDS_QUIET_CHECK_S = 2.0            # once the pids cgroup is full: how often its runnable threads are counted
PIDS_QUIET_SHARE = 0.01             # fewer runnable than this share of its tasks, twice running: all served
STEP_SLACK_S = 90.0                 # beyond ramp + connect timeout + hold: start-up, sampling, teardown
READY_TIMEOUT_S = 60.0              # dozens of shards start
SETTLE_S = 60.0                     # before a back end: the previous one's sockets freed
SETTLE_SLACK_SOCKETS = 20000        # TCP sockets in use above the profile's start that count as settled
CGROUP_EMPTY_S = 60.0               # a killed server closing a million sockets leaves its cgroup this late
PIDS_CGROUP_ROOT = "/sys/fs/cgroup/pids"


def add_arguments(p) -> None:
    """The c1m profile's own options (bench_all's --connections gives the steps, --hold the hold)."""
    g = p.add_argument_group("c1m profile")
    g.add_argument("--ramp-rate", type=float, default=20000.0, help="c1m: new connections per second (loadgen)")
    g.add_argument("--reserve-gib", type=float, default=6.0,
                   help="c1m: GiB of MemAvailable every step must leave to the rest of the machine")
    g.add_argument("--connect-timeout", type=float, default=120.0,
                   help="c1m: seconds after the ramp for every connection to be verified")
    g.add_argument("--fds-per-shard", type=int, default=0,
                   help="c1m: connections per shard (0 = the hard open-file limit less a margin)")


def log(message: str) -> None:
    print(f"bench_all c1m: {message}", file=sys.stderr, flush=True)


def mem_available() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/meminfo has no MemAvailable")


def read_int(path: str) -> Optional[int]:
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def tasks_in_use() -> int:
    """Threads of every process on the machine (they all draw on pid_max)."""
    total = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                total += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                pass
    return total


def files_in_use() -> int:
    value = read_int("/proc/sys/fs/file-nr")
    return value or 0


class PidsCgroup:
    """A pids cgroup (v1) for one step's server: pids.max = pid_max - tasks in use - PID_RESERVE. None if unavailable."""

    def __init__(self, name: str):
        self.path: Optional[str] = None
        self.limit: Optional[int] = None
        if not os.path.isdir(PIDS_CGROUP_ROOT):
            return
        path = os.path.join(PIDS_CGROUP_ROOT, name)
        try:
            os.mkdir(path)
            pid_max = read_int("/proc/sys/kernel/pid_max") or 32768
            self.limit = max(1024, pid_max - tasks_in_use() - PID_RESERVE)
            with open(os.path.join(path, "pids.max"), "w") as f:
                f.write(str(self.limit))
            self.path = path
        except OSError as e:
            log(f"no pids cgroup ({e}); the server runs without one")
            try:
                os.rmdir(path)
            except OSError:
                pass

    def wrap(self, argv: List[str]) -> List[str]:
        """argv started inside the cgroup, before it can fork (no race with the shards)."""
        if not self.path:
            return argv
        procs = os.path.join(self.path, "cgroup.procs")
        return ["/bin/sh", "-c", f'echo $$ > "{procs}" && exec "$@"', "c1m-server"] + argv

    def hit_max(self) -> int:
        """How many times a fork/clone in the cgroup failed on pids.max."""
        if not self.path:
            return 0
        try:
            with open(os.path.join(self.path, "pids.events")) as f:
                for line in f:
                    if line.startswith("max "):
                        return int(line.split()[1])
        except (OSError, ValueError):
            pass
        return 0

    def runnable(self) -> Tuple[int, int]:
        """(runnable tasks, all tasks) in the cgroup: a thread per connection that has not yet served its connection's
        request is runnable; once served it sleeps in read()."""
        if not self.path:
            return 0, 0
        try:
            with open(os.path.join(self.path, "tasks")) as f:
                tids = f.read().split()
        except OSError:
            return 0, 0
        running = 0
        for tid in tids:
            try:
                with open(f"/proc/{tid}/stat") as f:
                    running += f.read().rsplit(")", 1)[1].split()[0] == "R"
            except (OSError, IndexError):
                pass
        return running, len(tids)

    def remove(self) -> None:
        """SIGKILLs whatever is left in the cgroup and removes it. A process that closes half a million sockets takes
        seconds to exit, and the cgroup stays busy until it has."""
        if not self.path:
            return
        deadline = time.monotonic() + CGROUP_EMPTY_S
        while time.monotonic() < deadline:
            try:
                with open(os.path.join(self.path, "cgroup.procs")) as f:
                    for pid in f.read().split():
                        try:
                            os.kill(int(pid), signal.SIGKILL)
                        except (ProcessLookupError, ValueError):
                            pass
                os.rmdir(self.path)
                self.path = None
                return
            except OSError:
                time.sleep(0.2)
        log(f"could not remove {self.path} within {CGROUP_EMPTY_S:g} s (still busy)")


class Tunables:
    """Kernel settings raised for the profile and restored after it (run()'s finally, also on Ctrl-C, and atexit).

    - net.ipv4.tcp_mem: idle verified connections keep about a third of a page of socket memory each (measured:
      274,922 pages for 767,554 sockets), so a million pairs (two million sockets) would pass this machine's default
      hard limit (576,918 pages, 2.2 GiB), past which sockets get no buffers. Raised to one page per socket of the
      largest step (a cap: nothing is reserved).
    - net.core.somaxconn and net.ipv4.tcp_max_syn_backlog (4,096 and 2,048): on a busy machine the shards fall behind
      the ramp, a full accept queue drops SYNs, and the client's retransmissions back off (1, 3, 7, 15, 31 s...):
      at 500,000 connections 14,341 were not verified within 60 s. Raised to 65,535, so the kernel queues them.
    Conntrack is left alone: with no netfilter rules nothing is tracked (nf_conntrack_count stays 0); the port
    range needs no change (loadgen's source addresses)."""

    def __init__(self, largest_step: int):
        self.saved: List[Tuple[str, str]] = []
        atexit.register(self.restore)
        self._raise("/proc/sys/net/ipv4/tcp_mem", lambda v: [v[0], max(v[1], largest_step * 3 // 2), max(v[2], 2 * largest_step)])
        self._raise("/proc/sys/net/core/somaxconn", lambda v: [max(v[0], 65535)])
        self._raise("/proc/sys/net/ipv4/tcp_max_syn_backlog", lambda v: [max(v[0], 65535)])

    def _raise(self, path: str, wanted) -> None:
        name = path[len("/proc/sys/"):].replace("/", ".")
        try:
            with open(path) as f:
                text = f.read().split()
            values = [int(v) for v in text]
            new = [int(v) for v in wanted(values)]
            if new == values:
                return
            with open(path, "w") as f:
                f.write(" ".join(map(str, new)))
            self.saved.append((path, " ".join(text)))
            log(f"{name} {' '.join(text)} -> {' '.join(map(str, new))} for the profile (restored after it)")
        except (OSError, ValueError) as e:
            log(f"{name} left as it is ({e})")

    def restore(self) -> None:
        while self.saved:
            path, text = self.saved.pop()
            try:
                with open(path, "w") as f:
                    f.write(text)
                log(f"{path[len('/proc/sys/'):].replace('/', '.')} restored to {text}")
            except OSError as e:
                log(f"could not restore {path} to {text}: {e}")


def tcp_in_use() -> int:
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                fields = line.split()
                return int(fields[fields.index("inuse") + 1])
    return 0


def settle(baseline: int) -> None:
    """Waits for the previous step's sockets to be gone from the kernel: a step's "before" sample taken while half a
    million sockets were still being freed made the next back end's kernel memory per connection negative."""
    started = time.monotonic()
    deadline = started + SETTLE_S
    while tcp_in_use() > baseline + SETTLE_SLACK_SOCKETS and time.monotonic() < deadline:
        time.sleep(0.5)
    if time.monotonic() - started >= 1.0:
        log(f"sockets freed in {time.monotonic() - started:.0f} s")
    if tcp_in_use() > baseline + SETTLE_SLACK_SOCKETS:
        log(f"TCP sockets in use {tcp_in_use():,} still above the {baseline:,} before the profile after {SETTLE_S:g} s "
            "(other programs?); going on")


def classify(row: Dict[str, object], server_log: str, pids: PidsCgroup, watchdog: Optional[str]) -> str:
    """Why a step held fewer connections than asked, from what the step left behind."""
    if watchdog:
        return watchdog
    text = "\n".join(runner.tail(server_log, 40)).lower()
    if pids.hit_max() > 0:
        return f"pid_max: the server's threads hit pids.max={pids.limit} (pid_max less the machine's other tasks)"
    if "cannot start a thread" in text or "pthread_create" in text or "resource temporarily unavailable" in text:
        return "threads: thread creation failed"
    unverified = int(row.get("connections") or 0) - int(row.get("connections_established") or 0)
    if "not verified" in str(row.get("reason") or "") and unverified > 0:  # loadgen/steps.cpp's words
        return f"time: {unverified:,} connections were not verified within the connect timeout"
    if "out of file descriptors" in text or "too many open files" in text or "emfile" in text:
        return "descriptors: a server process ran out of descriptors"
    if "mmap" in text or "max_map_count" in text or "mapping" in text:
        return "mappings: mmap failed"
    if "cannot allocate memory" in text or "out of memory" in text or "bad_alloc" in text:
        return "memory: the server could not allocate"
    if str(row.get("server_exit") or "").startswith("signal 9"):
        return "memory: a shard was SIGKILLed (the OOM killer?)"
    return f"unknown: {row.get('reason') or 'fewer connections than asked'}"


def shards_for(count: int, per_shard: int) -> int:
    return max(1, math.ceil(count / per_shard))


def read_records(path: str) -> List[Dict[str, object]]:
    """loadgen's stepped records so far (JSON Lines, rewritten atomically: every line is whole)."""
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError):
        return []


def refusal_for(step: int, held: int, cost: Optional[float], reserve: int, reserve_gib: float,
                file_max: int) -> Optional[str]:
    """Why growing from `held` connections (already in MemAvailable and fs.file-nr) to `step` must not happen, from
    the previous step's measured cost per connection; None when it fits."""
    need = (step - held) * (cost if cost is not None else FIRST_STEP_COST_BYTES) * MEMORY_MARGIN
    available = mem_available()
    if available - need < reserve:
        basis = (f"{cost:,.0f} B/connection measured at the previous step" if cost is not None
                 else f"{FIRST_STEP_COST_BYTES:,} B/connection assumed")
        return (f"memory: {step - held:,} more connections (to {step:,}) need about {need / GIB:.1f} GiB ({basis}, "
                f"x{MEMORY_MARGIN}); MemAvailable {available / GIB:.1f} GiB would leave less than the {reserve_gib:g} "
                "GiB reserve")
    if file_max and files_in_use() + 2 * (step - held) + 1000 > file_max:
        return (f"descriptors: {step:,} connections need {2 * step:,} descriptors; fs.file-max={file_max:,}, "
                f"{files_in_use():,} in use")
    return None


class Backend:
    """One back end's run: one sharded server (in a pids cgroup) and one stepped loadgen that grows the held
    connections step by step (loadgen --steps, gated by SIGUSR1 after this side's memory check), one row per step."""

    def __init__(self, backend, steps: List[int], args, profile, run_dir: str, server: str, loadgen: str,
                 rows: List[Dict[str, object]], csv_path: str, reserve: int, per_shard: int, file_max: int):
        self.backend, self.steps, self.args, self.profile = backend, steps, args, profile
        self.run_dir, self.server, self.loadgen = run_dir, server, loadgen
        self.rows, self.csv_path, self.reserve, self.file_max = rows, csv_path, reserve, file_max
        self.shards = shards_for(steps[-1], per_shard)
        cell = profile.cells[0]
        self.hold = args.hold if args.hold is not None else cell.hold_s
        self.spec = self.step_spec(steps[-1])
        self.paths = runner.RunPaths(run_dir, self.spec.stem)  # the server's and loadgen's logs, the JSON Lines
        self.pids: Optional[PidsCgroup] = None  # made with the server
        self.server_proc = self.loadgen_proc = None
        self.lowest = mem_available()
        self.current = steps[0]  # the step being grown to

    def step_spec(self, step: int) -> RunSpec:
        cell = self.profile.cells[0]
        return RunSpec(backend=self.backend.name, workload=cell.workload, mode="idle", connections=step,
                       duration_s=self.hold, warmup_s=0.0, hold_s=self.hold,
                       server_args=["--shards", str(self.shards)] if self.shards > 1 else [])

    def log_row(self, row: Dict[str, object], cost: Optional[float], stop: Optional[str]) -> None:
        held = int(row.get("connections_established") or 0)
        log(f"    {row['status']}: held {held:,} of {row['connections']:,}; user "
            f"{row.get('rss_per_conn_bytes') or 0:,.0f} B/conn, kernel {row.get('kernel_per_conn_bytes') or 0:,.0f} "
            f"B/conn, total {row.get('total_per_conn_bytes') or 0:,.0f} B/conn; machine {cost or 0:,.0f} B/conn; "
            f"{row['elapsed_s']:.0f} s" + (f"; stops: {stop}" if stop else ""))

    def append(self, row: Dict[str, object]) -> None:
        self.rows.append(row)
        extras.write_csv_atomic(self.csv_path, HEADER, self.rows)

    def run(self) -> None:
        """Every step the back end holds, until one is not held whole, is refused, or the ceiling is reached."""
        refusal = refusal_for(self.steps[0], 0, None, self.reserve, self.args.reserve_gib, self.file_max)
        if refusal:
            log(f"{self.backend.name}: not running {self.steps[0]:,}: {refusal}")
            return
        row: Optional[Dict[str, object]] = None
        interrupted = False
        try:
            failure = self.start()
            if failure:
                row = runner.new_row(self.step_spec(self.steps[0]), self.profile.name, len(self.rows) + 1)
                runner._worsen(row, "failed", failure)
                row.update(shards=self.shards, elapsed_s=0.0,
                           stop_reason=classify(row, self.paths.server_err, self.pids, None))
                self.append(row)
                return
            self.grow()
        except KeyboardInterrupt:
            interrupted = True
            row = runner.new_row(self.step_spec(self.current), self.profile.name, len(self.rows) + 1)
            row["shards"] = self.shards
            runner._worsen(row, "failed", "interrupted (bench_all got SIGINT/SIGTERM) before this step finished")
            raise runner.Interrupted(row)
        finally:
            self.stop(interrupted)

    def start(self) -> Optional[str]:
        """The server, then loadgen (which starts the first step at once). A failure's reason, or None."""
        spec = self.spec
        pinning = runner.Pinning(enabled=False)
        self.pids = PidsCgroup(f"tvt-c1m-{os.getpid()}-{self.backend.name}")
        server_argv = self.pids.wrap([self.server, "--backend", spec.backend, "--workload", spec.workload,
                                      "--port", "0"] + spec.server_args)
        self.server_proc = runner.spawn(pinning.wrap(pinning.server_core, server_argv), self.paths.server_out,
                                        self.paths.server_err)
        port, server_pid, failure = runner.wait_ready(self.server_proc, self.paths.server_out, READY_TIMEOUT_S)
        if failure:
            return failure
        argv = runner.loadgen_argv(self.loadgen, spec, port, server_pid, self.paths, files=False)
        argv += ["--steps", ",".join(str(s) for s in self.steps), "--step-gate",
                 "--ramp-rate", f"{self.args.ramp_rate:g}", "--connect-timeout", f"{self.args.connect_timeout:g}"]
        self.loadgen_proc = runner.spawn(argv, self.paths.loadgen_log)
        return None

    def grow(self) -> None:
        cost: Optional[float] = None  # machine bytes per connection, measured at the previous step
        before = mem_available()
        previous = 0
        for k, step in enumerate(self.steps):
            self.current = step
            started = time.monotonic()
            log(f"{self.backend.name}: {step:,} connections, {self.shards} shard(s), MemAvailable "
                f"{mem_available() / GIB:.1f} GiB")
            bound = (step - previous) / self.args.ramp_rate + self.args.connect_timeout + self.hold + STEP_SLACK_S
            record, watchdog = self.watch(k, time.monotonic() + bound, bound)
            spec = self.step_spec(step)
            row = runner.new_row(spec, self.profile.name, len(self.rows) + 1)
            row["log"] = self.paths.rel(os.path.join(self.run_dir, "logs", self.spec.stem))
            row["shards"] = self.shards
            step_paths = runner.RunPaths(self.run_dir, spec.stem)
            if record is not None:
                extras.write_json_atomic(step_paths.json, record)
            if watchdog:
                runner._worsen(row, "failed", watchdog)
            code = self.loadgen_proc.poll() if record is None else None
            runner._merge_loadgen_json(row, step_paths, code)
            if self.server_proc.poll() is not None:
                runner._worsen(row, "failed", f"server died during the step "
                                              f"({runner.describe_exit(self.server_proc.returncode)})")
                row["server_exit"] = runner.describe_exit(self.server_proc.returncode)
            held = int(row.get("connections_established") or 0)
            if held > 0:
                # The machine's view (server, kernel, loadgen) is noisy on a shared machine; never below the server's.
                cost = max((before - self.lowest) / held, float(row.get("total_per_conn_bytes") or 0))
            stop = None
            if watchdog or held < step or row["status"] == "failed":
                stop = classify(row, self.paths.server_err, self.pids, watchdog)
            row["stop_reason"] = stop or ""
            row["elapsed_s"] = round(time.monotonic() - started, 3)
            self.append(row)
            self.log_row(row, cost, stop)
            if stop:
                return
            if k + 1 == len(self.steps):
                return
            refusal = refusal_for(self.steps[k + 1], held, cost, self.reserve, self.args.reserve_gib, self.file_max)
            if refusal:
                log(f"{self.backend.name}: not running {self.steps[k + 1]:,}: {refusal}")
                row["stop_reason"] = refusal
                extras.write_csv_atomic(self.csv_path, HEADER, self.rows)
                return
            os.kill(self.loadgen_proc.pid, signal.SIGUSR1)  # loadgen grows to the next step
            previous = step

    def watch(self, k: int, deadline: float, bound: float) -> Tuple[Optional[Dict[str, object]], Optional[str]]:
        """Waits for step k's record, watching memory, the server and the time: (record or None, watchdog or None).
        Once the server's pids cgroup is full (a thread per connection at pid_max) and its threads have served what
        they accepted (fewer than PIDS_QUIET_SHARE runnable, twice running), no more connections can be served:
        loadgen is told to cut the step's connecting short (SIGUSR2) and records it as usual, what it verified still
        held, rather than redialling until its connect timeout."""
        next_check = 0.0
        quiet_checks = 0
        while True:
            if (self.pids is not None and quiet_checks < 2 and time.monotonic() >= next_check
                    and self.pids.hit_max() > 0 and self.loadgen_proc.poll() is None):
                next_check = time.monotonic() + PIDS_QUIET_CHECK_S
                running, tasks = self.pids.runnable()
                quiet_checks = quiet_checks + 1 if running < PIDS_QUIET_SHARE * tasks else 0
                if quiet_checks == 2:
                    log(f"{self.backend.name}: the server's pids cgroup is full (pids.max={self.pids.limit}) and "
                        f"{running:,} of its {tasks:,} tasks are runnable; ending the step")
                    self.loadgen_proc.send_signal(signal.SIGUSR2)  # loadgen/steps.hpp: cut the step's connecting
            records = read_records(self.paths.json)
            if len(records) > k:
                return records[k], None
            available = mem_available()
            self.lowest = min(self.lowest, available)
            if available < self.reserve:
                runner.finish(self.loadgen_proc)  # frees the client half first
                return None, (f"memory: MemAvailable fell to {available / GIB:.1f} GiB mid-step, below the "
                              f"{self.reserve / GIB:.1f} GiB reserve; loadgen and server killed")
            if self.loadgen_proc.poll() is not None:
                records = read_records(self.paths.json)
                return (records[k] if len(records) > k else None), None
            if self.server_proc.poll() is not None:
                time.sleep(runner.LOADGEN_GRACE_S)
                records = read_records(self.paths.json)
                return (records[k] if len(records) > k else None), None
            if time.monotonic() >= deadline:
                return None, f"time: the step did not finish within its bound of {bound:.0f} s"
            time.sleep(WATCH_S)

    def stop(self, interrupted: bool) -> None:
        """loadgen killed (the client half freed; not stopped after the server, or its engines would redial), the
        server stopped meanwhile, then the cgroup removed; signals held off meanwhile."""
        previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
        started = time.monotonic()
        try:
            if self.loadgen_proc is not None:
                runner.kill_group(self.loadgen_proc.pid)  # the client half goes while the server stops
            last = self.rows[-1] if self.rows and self.rows[-1].get("backend") == self.backend.name else {}
            if self.server_proc is not None:
                runner._stop_server(self.server_proc, last if last else {}, interrupted)
                if last and last.get("status") in ("failed", "degraded"):
                    last["server_stderr_tail"] = " | ".join(runner.tail(self.paths.server_err))
            if self.loadgen_proc is not None:
                runner.finish(self.loadgen_proc)
            if self.pids is not None:
                self.pids.remove()
            if last:
                extras.write_csv_atomic(self.csv_path, HEADER, self.rows)
            log(f"{self.backend.name}: loadgen and server stopped in {time.monotonic() - started:.0f} s")
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def run(args, profile, backends, run_dir: str, server: str, loadgen: str, rows: List[Dict[str, object]],
        csv_path: str) -> None:
    """Steps every back end up through the profile's counts, appending rows (the CSV rewritten after each)."""
    steps = sorted(args.connections or profile.cells[0].connections)
    reserve = int(args.reserve_gib * GIB)
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    per_shard = args.fds_per_shard or max(1000, int((nofile - SERVER_FD_MARGIN) * SHARD_FILL))
    file_max = read_int("/proc/sys/fs/file-max") or 0
    # Not pinned: dozens of shards and loadgen workers on one core each would only slow the ramp (a 250,000 step on a
    # busy machine had 132,603 connections time out unverified), and this profile counts connections, not speed.
    log(f"steps {', '.join(f'{s:,}' for s in steps)}; {per_shard:,} connections per shard; ramp "
        f"{args.ramp_rate:,.0f}/s; reserve {args.reserve_gib:g} GiB; MemAvailable {mem_available() / GIB:.1f} GiB")
    tunables = Tunables(steps[-1])
    baseline = tcp_in_use()
    try:
        for backend in backends:
            settle(baseline)
            Backend(backend, steps, args, profile, run_dir, server, loadgen, rows, csv_path, reserve, per_shard,
                    file_max).run()
    finally:
        tunables.restore()
