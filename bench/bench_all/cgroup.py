"""A CPU cap for the server: a cgroup with a CPU quota, so that the server, not the load generator, saturates first.

- cgroup v1 (this machine): a child of the `cpu` hierarchy with `cpu.cfs_period_us` = PERIOD_US and
  `cpu.cfs_quota_us` = cores x period. The period is short on purpose: with the kernel's default 100 ms a server that
  spends its quota early is throttled for the rest of the period, which puts up to 100 ms stalls into every tail.
- cgroup v2: a child of the unified root (it must list `cpu` in cgroup.subtree_control) with `cpu.max` = "quota period".
- neither usable (no controller, read-only, not root): CpuCapError naming what was tried. A capped cell then fails
  its row; it never runs uncapped.

The server joins the cgroup from its first instruction: `join` is a preexec_fn that writes the child's own pid into
cgroup.procs between fork and exec, so the server and every thread it creates are in it (taskset in front of the
server execs in place and keeps the pid). Only the cpu controller is used: loadgen reads the server's CPU time from
its process CPU clock, which counts every thread (exited ones too) in ns, as a cpuacct cgroup would.

Every cgroup made here is in LIVE until removed; remove_all() (atexit and bench_all's interrupt path) removes what
is left, so an interrupted run does not leave cgroups behind.
"""
import errno
import os
import time
from typing import List, Optional, Set

PERIOD_US = 10_000          # 10 ms: the bound; a 100 ms period inflates tails
MIN_QUOTA_US = 1_000        # the kernel's smallest cfs quota
ROOT_ENV = "TVT_CGROUP_ROOT"   # where the cgroup file systems are mounted; tests point it at a fixture
PREFIX = "tvt-bench"

LIVE: Set[str] = set()


class CpuCapError(RuntimeError):
    """No way to cap the server's CPU here; the message says what was tried."""


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def quota_us(cores: float, period_us: int = PERIOD_US) -> int:
    if not cores > 0:
        raise CpuCapError(f"a CPU cap must be a positive number of cores, not {cores!r}")
    return max(MIN_QUOTA_US, int(round(cores * period_us)))


class CpuCap:
    """One cgroup capping its members at `cores` CPUs. Use create(), pass join as preexec, remove() at the end."""

    def __init__(self, cores: float, name: str, root: Optional[str] = None):
        self.cores = cores
        self.name = name
        self.root = root or os.environ.get(ROOT_ENV) or "/sys/fs/cgroup"
        self.path: Optional[str] = None
        self.version = 0
        self.quota_us = quota_us(cores)

    def describe(self) -> str:
        if self.version == 1:
            return f"cgroup v1 {self.path}: cpu.cfs_quota_us {self.quota_us} per {PERIOD_US} us"
        if self.version == 2:
            return f"cgroup v2 {self.path}: cpu.max {self.quota_us} {PERIOD_US}"
        return "no cgroup"

    def create(self) -> "CpuCap":
        tried: List[str] = []
        for version, parent, missing in (
                (1, _v1_cpu_dir(self.root), f"no cpu controller under {self.root}"),
                (2, _v2_dir(self.root), f"no unified hierarchy with the cpu controller enabled under {self.root}")):
            if not parent:
                tried.append(f"cgroup v{version}: {missing}")
                continue
            try:
                self._make(parent, version)
                return self
            except OSError as e:
                tried.append(f"cgroup v{version} {parent}: {e.strerror or e}")
        raise CpuCapError(f"cannot cap the server at {self.cores:g} cores: " + "; ".join(tried))

    def _make(self, parent: str, version: int) -> None:
        path = os.path.join(parent, self.name)
        os.mkdir(path)
        LIVE.add(path)
        self.path, self.version = path, version
        try:
            if version == 1:
                # The period first: the kernel checks quota against it, and the quota stays -1 until we set it.
                _write(os.path.join(path, "cpu.cfs_period_us"), str(PERIOD_US))
                _write(os.path.join(path, "cpu.cfs_quota_us"), str(self.quota_us))
                if int(_read(os.path.join(path, "cpu.cfs_quota_us"))) != self.quota_us:
                    raise OSError(0, "cpu.cfs_quota_us did not keep the quota written to it")
            else:
                _write(os.path.join(path, "cpu.max"), f"{self.quota_us} {PERIOD_US}")
                if _read(os.path.join(path, "cpu.max")).split() != [str(self.quota_us), str(PERIOD_US)]:
                    raise OSError(0, "cpu.max did not keep the limit written to it")
        except OSError:
            self.remove()
            raise

    def join(self) -> None:
        """preexec_fn (runs in the child between fork and exec): move this very process into the cgroup. An error
        here makes Popen raise in the parent, so the server never starts outside its cap."""
        if not self.path:
            raise CpuCapError("CpuCap.join before create")
        _write(os.path.join(self.path, "cgroup.procs"), str(os.getpid()))

    def usage_note(self) -> str:
        """How often the cap bit: "throttled in T of P periods" (cpu.stat's nr_throttled and nr_periods, v1 and v2;
        P counts the periods in which a member ran)."""
        if not self.path:
            return ""
        try:
            stat = dict(line.split() for line in _read(os.path.join(self.path, "cpu.stat")).splitlines()
                        if len(line.split()) == 2)
            return f"throttled in {stat.get('nr_throttled', '?')} of {stat.get('nr_periods', '?')} periods"
        except (OSError, ValueError):
            return ""

    def remove(self) -> None:
        """Removes the cgroup (its processes must be gone). Idempotent."""
        if self.path:
            remove_dir(self.path)
            self.path = None


def remove_dir(path: str) -> None:
    """rmdir a cgroup. A server that was just SIGKILLed can take a moment to leave it (EBUSY): retry for up to a
    second. A test fixture's cgroup is an ordinary directory (ENOTEMPTY): its files go first; a real cgroup's control
    files are not in the way of rmdir."""
    for _ in range(50):
        try:
            os.rmdir(path)
            break
        except FileNotFoundError:
            break
        except OSError as e:
            if e.errno == errno.ENOTEMPTY:
                for entry in os.listdir(path):
                    os.unlink(os.path.join(path, entry))
                continue
            time.sleep(0.02)
    LIVE.discard(path)


def _v1_cpu_dir(root: str) -> Optional[str]:
    """The v1 cpu controller's mount: cpu/, or cpu,cpuacct/ where they share a hierarchy."""
    for name in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        path = os.path.join(root, name)
        if os.path.isfile(os.path.join(path, "cpu.cfs_quota_us")):
            return path
    return None


def _v2_dir(root: str) -> Optional[str]:
    """The unified root (or its `unified` mount in hybrid layouts) when it hands the cpu controller to children."""
    for path in (root, os.path.join(root, "unified")):
        try:
            if "cpu" in _read(os.path.join(path, "cgroup.subtree_control")).split():
                return path
        except OSError:
            continue
    return None


def remove_all() -> None:
    """Removes every cgroup this process made and still holds (atexit, interrupt)."""
    for path in list(LIVE):
        remove_dir(path)


def unique_name(stem: str) -> str:
    """A name no other bench_all on this machine uses at the same time."""
    return f"{PREFIX}-{os.getpid()}-{stem}"
