"""Test-only mid-run faults (issue 19.4): SIGKILL to the server, or to one of loadgen's worker processes, a set time
after loadgen started, so that tests/harness/test_midrun_faults.py can check what the row says, that the next run is
unaffected and that no process is left behind. Off unless the environment sets TVT_BENCH_ALL_FAULTS; no profile and
no option uses it.

  TVT_BENCH_ALL_FAULTS="RUN:TARGET@SECONDS[,...]"   e.g. "1:server@1.5,2:loadgen-worker@1.5"

RUN is the run's 1-based run_index, TARGET `server` or `loadgen-worker`, SECONDS counted from loadgen's start. A
loadgen-worker fault also makes that run's loadgen split its connections over two worker processes
(--max-fds-per-process), which a run of a few connections would not do. A worker that does not exist yet at SECONDS
is killed as soon as one does.
"""
import os
import signal
from dataclasses import dataclass
from typing import List, Optional

ENV = "TVT_BENCH_ALL_FAULTS"
TARGETS = ("server", "loadgen-worker")


@dataclass
class Fault:
    target: str
    at_s: float
    fired: str = ""  # what was killed, once it was


def planned(run_index: int) -> Optional[Fault]:
    """The fault planned for this run, if any (a malformed entry raises ValueError: a test's typo must not pass)."""
    for entry in filter(None, (e.strip() for e in os.environ.get(ENV, "").split(","))):
        run, _, rest = entry.partition(":")
        target, _, at = rest.partition("@")
        if target not in TARGETS:
            raise ValueError(f"{ENV}: unknown target in {entry!r} (expected one of {', '.join(TARGETS)})")
        if int(run) == run_index:
            return Fault(target, float(at))
    return None


def loadgen_args(fault: Optional[Fault], connections: int) -> List[str]:
    if fault is None or fault.target != "loadgen-worker":
        return []
    return ["--max-fds-per-process", str(max(1, (connections + 1) // 2))]


def _workers(loadgen_pid: int) -> List[int]:
    """loadgen's worker processes (its other children, such as perf, are not workers)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{name}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == loadgen_pid and b"--worker-internal" in argv:
            found.append(int(name))
    return sorted(found)


def maybe_fire(fault: Optional[Fault], elapsed_s: float, server_pid: int, loadgen_pid: int) -> None:
    """Called while loadgen runs: sends the planned SIGKILL once its time has come."""
    if fault is None or fault.fired or elapsed_s < fault.at_s:
        return
    if fault.target == "server":
        victim = server_pid
    else:
        workers = _workers(loadgen_pid)
        if not workers:
            return
        victim = workers[0]
    try:
        os.kill(victim, signal.SIGKILL)
        fault.fired = f"{fault.target} pid {victim} at {elapsed_s:.1f} s"
    except ProcessLookupError:
        pass
