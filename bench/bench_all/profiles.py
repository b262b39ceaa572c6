"""Profiles: which runs make up a bench_all matrix, and how long each may take.

A profile is a list of cells (workload x mode x connection counts x load settings); bench_all crosses every cell
with every back end the server lists (new back ends join automatically), the variants each back end declares for the
cell's workload (when the cell asks for them), and every repetition. A workload the server does not list
(`server --list-workloads`) is left out and said so, not failed.

Time budgets here (2 vCPU): ci < 5 min, default < 15 min, full < 30 min (budget_s below, measured on clean clones
in the README). bench_all --dry-run prints the estimate.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from backends import Backend, Variant


@dataclass(frozen=True)
class Cell:
    workload: str
    mode: str                       # closed | open | idle | storm (loadgen --mode)
    connections: Tuple[int, ...]    # counts; LARGEST stands for the machine's largest count
    duration_s: float = 3.0
    warmup_s: float = 1.0
    hold_s: float = 0.0             # idle mode: how long connections stay open while the server is sampled
    loadgen_args: Tuple[str, ...] = ()   # extra loadgen arguments ("{groups}" is replaced by connections // 100)
    variants: bool = False          # also run each back end's registry variants for this workload (e.g. offload)
    variant_counts: Tuple[int, ...] = ()  # ... only at these counts (LARGEST allowed); empty = at every count


LARGEST = -1  # placeholder in Cell.connections: the largest count this machine allows (see largest_connections)


@dataclass(frozen=True)
class Profile:
    name: str
    cells: Tuple[Cell, ...]
    repetitions: int = 1
    micro_args: Tuple[str, ...] = ()      # extra Google Benchmark flags for bench_micro* binaries
    micro_timeout_s: float = 300.0        # per micro binary
    callgrind: bool = True
    budget_s: float = 600.0               # what the README promises; --dry-run warns past it


# Chat: groups of 100 members, so each message fans out to 100 deliveries. The message rate grows with connections
# up to 2,000 msg/s (200,000 deliveries/s), then stays there: past that, more connections means more idle members
# per group at the same delivery rate (what a chat server meets), not a fan-out that no back end on two cores can
# carry (20,000 msg/s at 10,000 connections is 2,000,000 deliveries/s: everything lags and "lost" measures backlog).
CHAT_MAX_RATE = 2000
_CHAT = ("--groups", "{groups}", "--rate", "{chat_rate}")
# Compute runs open loop at a modest rate so that the server is not saturated: small requests (1 KiB, ~1 us of work)
# then wait only behind large ones (4 MiB, ~5 ms) that share their thread, which is the head-of-line blocking the
# seed warns about, and what --offload (spawn_blocking) removes. A closed loop would measure queueing instead.
_COMPUTE = ("--rate", "500", "--compute-small-kib", "1", "--compute-large-kib", "4096",
            "--compute-large-fraction", "0.02")

PROFILES: Dict[str, Profile] = {
    "ci": Profile(
        name="ci",
        cells=(
            Cell("http", "closed", (100,), duration_s=2.0, warmup_s=0.5),
            Cell("echo", "closed", (100,), duration_s=2.0, warmup_s=0.5),
            # The gate's cost counts (server CPU, syscalls, context switches per request) come from a fixed open-loop
            # rate that every back end carries: the same work everywhere, so they compare, and do not move with how a
            # saturated server happens to batch (closed loop moved them by up to 32 % between clean runs).
            Cell("http", "open", (100,), duration_s=2.0, warmup_s=0.5, loadgen_args=("--rate", "5000")),
            Cell("http", "idle", (1000,), duration_s=1.0, warmup_s=0.0, hold_s=1.0),
            Cell("chat", "closed", (100,), duration_s=2.0, warmup_s=0.5, loadgen_args=_CHAT),
            Cell("compute", "open", (50,), duration_s=2.0, warmup_s=0.5, loadgen_args=_COMPUTE),
        ),
        micro_args=("--benchmark_min_time=0.01", "--benchmark_repetitions=1"),
        micro_timeout_s=60.0,
        budget_s=300.0,
    ),
    "default": Profile(
        name="default",
        cells=(
            Cell("http", "closed", (100, 1000, 10000), duration_s=3.0, warmup_s=1.0,
                 variants=True, variant_counts=(1000,)),
            Cell("echo", "closed", (100, 1000, 10000), duration_s=3.0, warmup_s=1.0),
            Cell("http", "idle", (100, 1000, 10000), duration_s=2.0, warmup_s=0.0, hold_s=2.0,
                 variants=True, variant_counts=(1000, 10000)),
            Cell("chat", "closed", (1000,), duration_s=3.0, warmup_s=1.0, loadgen_args=_CHAT,
                 variants=True, variant_counts=(1000,)),
            Cell("compute", "open", (100,), duration_s=3.0, warmup_s=1.0, loadgen_args=_COMPUTE,
                 variants=True),
        ),
        # 5 repetitions, not the suite's 9: the median is as stable here, and the micro suite was half of the
        # default profile's 10 minutes (the fixed-size memory and skynet runs do not shrink with min_time).
        micro_args=("--benchmark_min_time=0.05", "--benchmark_repetitions=5"),
        micro_timeout_s=180.0,
        budget_s=900.0,
    ),
    "full": Profile(
        name="full",
        cells=(
            Cell("http", "closed", (1000, 5000, 10000, LARGEST), duration_s=5.0, warmup_s=1.0),
            Cell("echo", "closed", (1000, 10000), duration_s=5.0, warmup_s=1.0),
            Cell("http", "idle", (1000, 5000, 10000, LARGEST), duration_s=3.0, warmup_s=0.0, hold_s=3.0,
                 variants=True, variant_counts=(10000, LARGEST)),
            Cell("http", "storm", (10000,), duration_s=1.0, warmup_s=0.0, variants=True, variant_counts=(10000,)),
            Cell("chat", "closed", (1000, 10000), duration_s=5.0, warmup_s=1.0, loadgen_args=_CHAT,
                 variants=True, variant_counts=(1000, 10000)),
            Cell("compute", "open", (100, 1000), duration_s=5.0, warmup_s=1.0, loadgen_args=_COMPUTE,
                 variants=True),
        ),
        micro_args=(),
        micro_timeout_s=600.0,
        budget_s=1800.0,
    ),
    # Hours, not seconds (issue 19): no cells; bench_all hands the run to soak.py (every back end in turn for
    # --soak-minutes under mixed load and connection churn, judged on RSS slope and fds/threads left behind).
    "soak": Profile(name="soak", cells=(), callgrind=False, budget_s=0.0),
}


def largest_connections(nofile_hard: int, pid_max: int) -> int:
    """The largest count one server process can hold here: its open-file limit minus a margin for the listener,
    logs and the fds a runtime keeps (epoll, eventfds, pipes); for threads also below pid_max."""
    by_files = nofile_hard - max(200, nofile_hard // 20)
    by_pids = pid_max - 2000
    return max(1, min(by_files, by_pids))


@dataclass
class RunSpec:
    """One server + one loadgen run: a row of results.csv."""
    backend: str
    workload: str
    mode: str
    connections: int
    duration_s: float
    warmup_s: float
    hold_s: float
    loadgen_args: List[str] = field(default_factory=list)
    server_args: List[str] = field(default_factory=list)
    variant: str = ""
    repetition: int = 0

    @property
    def label(self) -> str:
        name = self.backend + ("+" + self.variant if self.variant else "")
        return f"{name} {self.workload} {self.mode} {self.connections} conns"

    @property
    def stem(self) -> str:
        name = self.backend + ("+" + self.variant if self.variant else "")
        return f"{name}-{self.workload}-{self.mode}-{self.connections}-r{self.repetition}"

    def estimate_s(self) -> float:
        """Rough wall time: start/stop + connection set-up (~0.1 ms each here) + load."""
        return 1.0 + self.connections * 1e-4 + self.warmup_s + self.duration_s + self.hold_s


def expand(profile: Profile, backends: List[Backend], workloads: List[str], largest: int, repetitions: int,
           overrides: Optional[dict] = None) -> List[RunSpec]:
    """The matrix in run order. Repetitions are the outer loop and back ends the inner one, so that every
    back end of a cell runs close together in time and repeated runs interleave (drift hits all back ends alike)."""
    overrides = overrides or {}
    specs: List[RunSpec] = []
    for repetition in range(repetitions):
        for cell in profile.cells:
            if cell.workload not in workloads or cell.mode not in overrides.get("modes", [cell.mode]):
                continue
            counts = overrides.get("connections") or [largest if c == LARGEST else c for c in cell.connections]
            for connections in dict.fromkeys(counts):  # ordered, without duplicates
                for backend in backends:
                    variants: List[Optional[Variant]] = [None]
                    if cell.variants and (not cell.variant_counts or connections in
                                          [largest if c == LARGEST else c for c in cell.variant_counts]):
                        variants += backend.variants_for(cell.workload)
                    for variant in variants:
                        specs.append(_spec(cell, backend.name, connections, variant, repetition, overrides))
    return specs


def _spec(cell: Cell, backend: str, connections: int, variant: Optional[Variant], repetition: int,
          overrides: dict) -> RunSpec:
    chat_rate = max(100, min(connections * 2, CHAT_MAX_RATE))
    substitutions = {"groups": str(max(1, connections // 100)), "chat_rate": str(chat_rate)}
    loadgen_args = [a.format(**substitutions) for a in cell.loadgen_args]
    hold_s = cell.hold_s if cell.mode == "idle" else 0.0
    if "hold_s" in overrides and cell.mode == "idle":
        hold_s = overrides["hold_s"]
    return RunSpec(
        backend=backend, workload=cell.workload, mode=cell.mode, connections=connections,
        duration_s=overrides.get("duration_s", cell.duration_s),
        warmup_s=overrides.get("warmup_s", cell.warmup_s) if cell.mode != "idle" else 0.0,
        hold_s=hold_s, loadgen_args=loadgen_args,
        server_args=list(variant.args) if variant else [], variant=variant.name if variant else "",
        repetition=repetition)
