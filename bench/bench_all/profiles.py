"""Profiles: which runs make up a bench_all matrix, and how long each may take.

A profile is a list of cells (workload x mode x connection counts x load settings); bench_all crosses every cell
with every back end the server lists (new back ends join automatically), the variants each back end declares for the
cell's workload (when the cell asks for them), and every repetition. A workload the server does not list
(`server --list-workloads`) is left out and said so, not failed.

Time budgets here (2 vCPU, 13 back ends): ci <= 4 min, default <= 15 min, full <= 40 min (budget_s below; measured
times in the README). bench_all --dry-run prints the estimate: every run's RunSpec.estimate_s plus the profile's
extras_s (micro suite, callgrind, charts and report, as measured).
"""
from dataclasses import dataclass, field, replace
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
    cpu_cap: float = 0.0            # cores the server may use (a CPU-quota cgroup: cgroup.py); 0 = uncapped
    search: str = ""                # "" plain run | "capacity" (capacity_rps_at_slo) | "sweep" (capacity.py)
    repetitions: int = 0            # this cell's repetition count; 0 = the profile's (--repetitions overrides both)
    slo_ms: float = 10.0            # capacity/sweep: the p99 the search must stay under (--slo-ms overrides)


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
    extras_s: float = 0.0                 # micro + callgrind + charts and report, as measured (for --dry-run)


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

# Efficiency at a fixed rate (issue 13.3): open loop at one offered rate for every back end of a cell, below every
# back end's capacity (the slowest closed-loop figure of the reference run is threads at 37,000 req/s; at 10,000 req/s
# the busiest back end, asio-mt, is about a third busy), so that every back end does the same work and CPU µs per
# request compares the models' cost directly.
_FIXED = ("--rate", "10000")
# Capacity at the SLO (issue 13.4): the server capped at half a core, so that it saturates before the one-core client.
CAP = 0.5

# Efficiency at the fixed rate (100, 1,000: 0.25 s warm-up; at 10,000 each connection sends about once a second, so
# a 1 s warm-up has every connection send once before the window, which then does not count first requests only;
# 0.75 s windows at every count: 7,500 requests each), and capacity under the cap; 5 interleaved repetitions each,
# for medians with confidence intervals (scripts/tvt_results.py).
def _efficiency(workload: str, counts: Tuple[int, ...], repetitions: int = 5) -> Tuple[Cell, ...]:
    short = tuple(c for c in counts if c < 10000)
    long_ = tuple(c for c in counts if c >= 10000)
    return tuple(cell for cell in (
        Cell(workload, "open", short, duration_s=0.75, warmup_s=0.25, loadgen_args=_FIXED, repetitions=repetitions),
        Cell(workload, "open", long_, duration_s=0.75, warmup_s=1.0, loadgen_args=_FIXED, repetitions=repetitions),
    ) if cell.connections)


def _capacity(workload: str, counts: Tuple[int, ...], repetitions: int) -> Cell:
    return Cell(workload, "open", counts, duration_s=0.75, warmup_s=0.25, cpu_cap=CAP, search="capacity",
                repetitions=repetitions)


# default: the speed answer at 1,000 connections, where every model is in its element, within the 15 minutes
# (13 back ends x 5 repetitions: one capacity search costs 3-9 s, a fixed-rate run ~1.2 s). full: default's speed
# cells, the fixed rate at 100 and 10,000 too (3 repetitions: the median with its interval at 75 % coverage, printed;
# 5 there cost 3 minutes more and took full past its 40, 40:38 measured), and one capacity search per count for echo
# (5 repetitions of echo's capacity at 1,000 cost 4 minutes more; the ranking by capacity with intervals is http's,
# as in default).
_SPEED_DEFAULT = (*_efficiency("http", (1000,)), *_efficiency("echo", (1000,)), _capacity("http", (1000,), 5))
_SPEED_FULL = (*_efficiency("http", (1000,)), *_efficiency("echo", (1000,)), *_efficiency("http", (100, 10000), 3),
               *_efficiency("echo", (100, 10000), 3), _capacity("http", (1000,), 5), _capacity("echo", (1000,), 1))

# default's other cells, which full repeats as they are. Closed loop at 1,000: client-bound for most back ends (issue
# 13), so it does not rank them; it stays for the latency under saturation that the report's headline quotes, and
# the threads variants.
_CLOSED_1000 = (Cell("http", "closed", (1000,), duration_s=1.0, warmup_s=0.25, variants=True,
                     variant_counts=(1000,)),)
_CHAT_1000 = (Cell("chat", "closed", (1000,), duration_s=1.0, warmup_s=0.25, loadgen_args=_CHAT,
                   variants=True, variant_counts=(1000,)),)
_COMPUTE_100 = (Cell("compute", "open", (100,), duration_s=1.5, warmup_s=0.25, loadgen_args=_COMPUTE,
                     variants=True),)

PROFILES: Dict[str, Profile] = {
    "ci": Profile(
        name="ci",
        cells=(
            # Short windows: the ci profile is a smoke of every cell and the gate's input, and its time went to
            # warm-ups and windows (2.5 s of each of its 78 runs' 2.65 s). Closed loop on http only: client-bound
            # rows that the gate does not judge (their costs follow how the saturated server batches).
            Cell("http", "closed", (100,), duration_s=1.0, warmup_s=0.25),
            # The gate's cost counts (server CPU, syscalls, context switches per request) come from a fixed open-loop
            # rate that every back end carries: the same work everywhere, so they compare, and do not move with how a
            # saturated server happens to batch (closed loop moved them by up to 32 % between clean runs). Three
            # interleaved repetitions of the http cell give the gate the median and scatter of CPU per request.
            Cell("http", "open", (100,), duration_s=1.0, warmup_s=0.25, loadgen_args=("--rate", "5000"),
                 repetitions=3),
            Cell("echo", "open", (100,), duration_s=1.0, warmup_s=0.25, loadgen_args=("--rate", "5000")),
            Cell("http", "idle", (1000,), duration_s=1.0, warmup_s=0.0, hold_s=1.0),
            Cell("chat", "closed", (100,), duration_s=1.0, warmup_s=0.25, loadgen_args=_CHAT),
            Cell("compute", "open", (50,), duration_s=1.0, warmup_s=0.25, loadgen_args=_COMPUTE),
        ),
        # --smoke: every size shrunk (bench/micro/micro_main.hpp): the fixed-size runs (a million parked tasks per
        # model, skynet) were 50 of the micro suite's 59 s here, and ci judges no micro time (one repetition).
        micro_args=("--smoke", "--benchmark_min_time=0.01", "--benchmark_repetitions=1"),
        micro_timeout_s=60.0,
        budget_s=240.0,
        # ci-lead-1/2 (2026-11-30, quiet): micro 6 s, callgrind 33 s, charts and report 10 s (ci-trust-1 at load
        # average 37-60: 11, 76 and 38 s).
        extras_s=50.0,
    ),
    "default": Profile(
        name="default",
        cells=(
            *_SPEED_DEFAULT,
            *_CLOSED_1000,
            # Memory: 1,000 and 10,000 (at 100 the fixed part of RSS weighs in).
            Cell("http", "idle", (1000, 10000), duration_s=1.0, warmup_s=0.0, hold_s=1.0,
                 variants=True, variant_counts=(1000, 10000)),
            *_CHAT_1000,
            *_COMPUTE_100,
        ),
        # 3 repetitions and the shortest min_time: the fixed-size memory and skynet runs do not shrink with min_time,
        # and the suite was a third of this profile's time (313 of 927 s in the reference run with 5 repetitions).
        micro_args=("--benchmark_min_time=0.01", "--benchmark_repetitions=3"),
        micro_timeout_s=180.0,
        budget_s=900.0,
        # As measured in default-2026-11-30-A/B (quiet): micro 160/153 s, callgrind 31/68 s, charts and report 12/9 s.
        extras_s=230.0,
    ),
    "full": Profile(
        name="full",
        cells=(
            *_SPEED_FULL,
            # Capacity at the other counts, one repetition each (the ranking by capacity rests on http's five at
            # 1,000), each search starting from the back end's own capacity at 1,000 found above (capacity.Knowledge:
            # 3-5 steps instead of a first search's 6.3); and latency against offered load (8 rates from 10 % to
            # 120 % of each back end's capacity at 1,000 found above, no search of its own).
            Cell("http", "open", (100, 10000), duration_s=0.75, warmup_s=0.25, cpu_cap=CAP, search="capacity",
                 repetitions=1),
            Cell("echo", "open", (100, 10000), duration_s=0.75, warmup_s=0.25, cpu_cap=CAP, search="capacity",
                 repetitions=1),
            Cell("http", "open", (1000,), duration_s=0.75, warmup_s=0.25, cpu_cap=CAP, search="sweep",
                 repetitions=1),
            Cell("echo", "open", (1000,), duration_s=0.75, warmup_s=0.25, cpu_cap=CAP, search="sweep",
                 repetitions=1),
            # The rest at default's windows (where the counts meet, its rows compare with default's and the reference
            # runs'), with the 0.5 s warm-up full had at 10,000 and more. The 2-3 s windows and 3 s idle holds full
            # had cost about 5 minutes more.
            *_CLOSED_1000,
            Cell("http", "closed", (10000, LARGEST), duration_s=1.0, warmup_s=0.5),
            Cell("http", "idle", (1000, 5000, 10000, LARGEST), duration_s=1.0, warmup_s=0.0, hold_s=1.0,
                 variants=True, variant_counts=(1000, 10000, LARGEST)),
            Cell("http", "storm", (10000,), duration_s=1.0, warmup_s=0.0, variants=True, variant_counts=(10000,)),
            *_CHAT_1000,
            Cell("chat", "closed", (10000,), duration_s=1.0, warmup_s=0.5, loadgen_args=_CHAT,
                 variants=True, variant_counts=(10000,)),
            *_COMPUTE_100,
            Cell("compute", "open", (1000,), duration_s=1.5, warmup_s=0.25, loadgen_args=_COMPUTE, variants=True),
        ),
        # One repetition at default's min_time: the micro suite's intervals come from default (3 repetitions, 153-160 s
        # in default-2026-11-30-A/B) or from the suite run at its own settings (9 x 0.2 s, about 15 minutes here);
        # at 3 repetitions full would be at its 40 minutes with no margin.
        micro_args=("--benchmark_min_time=0.01", "--benchmark_repetitions=1"),
        micro_timeout_s=180.0,
        budget_s=2400.0,
        # micro ~55 s (a third of default's 3 repetitions), callgrind 68 s and charts and report 12 s as in
        # default-2026-11-30-B/A, plus the sweeps' and the larger counts' charts
        extras_s=165.0,
    ),
    # A million connections (issue 21): each back end steps up through these counts, sharded past one process's
    # descriptors, until it stops; bench_all/c1m.py runs it (its own orchestration: memory checks, stop reasons).
    "c1m": Profile(
        name="c1m",
        cells=(Cell("http", "idle", (100_000, 250_000, 500_000, 1_000_000), duration_s=5.0, warmup_s=0.0,
                    hold_s=5.0),),
        micro_args=(),
        callgrind=False,
        budget_s=1800.0,
    ),
    # Hours, not seconds (issue 19): no cells; bench_all hands the run to soak.py (every back end in turn for
    # --soak-minutes under mixed load and connection churn, judged on RSS slope and fds/threads left behind).
    "soak": Profile(name="soak", cells=(), callgrind=False, budget_s=0.0),
}


SEARCH_WORKLOADS = ("http", "echo")   # request-reply workloads, where "the rate a server carries" is one number
SEARCH_CAP_CORES = 0.5                # half a core: the server saturates well before loadgen's core does


def search_profile(profile: Profile, search: str, cpu_cap: Optional[float]) -> Profile:
    """bench_all --search: the profile with its cells replaced by one capacity search (or sweep) per request-reply
    workload at 100 connections (--connections overrides), under a CPU cap (--cpu-cap; default SEARCH_CAP_CORES),
    with ~1 s steps."""
    cap = SEARCH_CAP_CORES if cpu_cap is None else cpu_cap
    cells = tuple(Cell(w, "open", (100,), duration_s=1.0, warmup_s=0.25, cpu_cap=cap, search=search)
                  for w in SEARCH_WORKLOADS)
    return replace(profile, cells=cells)


def largest_connections(nofile_hard: int, pid_max: int) -> int:
    """The largest count one server process can hold here: its open-file limit minus a margin for the listener,
    logs and the fds a runtime keeps (epoll, eventfds, pipes); for threads also below pid_max."""
    by_files = nofile_hard - max(200, nofile_hard // 20)
    by_pids = pid_max - 2000
    return max(1, min(by_files, by_pids))


# One connection's set-up and tear-down in a run's wall time: 30-60 us for the task back ends, 120-220 us for threads
# (a thread each) at 10,000 connections (default-2026-11-30-A/B: idle 10,000 rows 1.43-1.79 s for a 1 s hold,
# threads 2.85-4.05 s); 80 us makes the idle-10,000 cell's estimate (all 13 back ends and threads' variants) its sum.
# Past 10,000 each further connection costs far more: results/reference/full-2026-11-30's rows at 19,000 took 4.3-7.8 s
# (closed, 1.5 s of load: 4.7-7.3; idle, 1 s hold: 4.3-7.8), 4.1-4.7 s of set-up on average where 80 us each gives
# 1.5 s; 430 us per connection above 10,000 makes both cells' sums.
SETUP_S_PER_CONNECTION = 8e-5
SETUP_S_PER_CONNECTION_PAST_10K = 4.3e-4


def setup_s(connections: int) -> float:
    """Estimated wall time of `connections` connections' set-up and tear-down in one run."""
    return connections * SETUP_S_PER_CONNECTION + max(0, connections - 10_000) * SETUP_S_PER_CONNECTION_PAST_10K


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
    cpu_cap: float = 0.0
    search: str = ""
    slo_ms: float = 10.0

    @property
    def _setting(self) -> str:
        """What a capped or searching run adds to its name: " cap 0.5 capacity"."""
        return (f" cap {self.cpu_cap:g}" if self.cpu_cap else "") + (f" {self.search}" if self.search else "")

    @property
    def label(self) -> str:
        name = self.backend + ("+" + self.variant if self.variant else "")
        return f"{name} {self.workload} {self.mode} {self.connections} conns{self._setting}"

    @property
    def stem(self) -> str:
        name = self.backend + ("+" + self.variant if self.variant else "")
        setting = self._setting.strip().replace(" ", "")  # "cap0.5capacity"
        return f"{name}-{self.workload}-{self.mode}-{self.connections}{'-' + setting if setting else ''}" \
               f"-r{self.repetition}"

    def estimate_s(self) -> float:
        """Wall time as measured here (elapsed_s of the quiet default runs results/reference/default-2026-11-30-A/B,
        within 10 % per cell there): server start and stop ~0.15 s, connection set-up and tear-down
        setup_s(), a chat drain ~0.4 s, then the load: warm-up + window, or the hold alone in idle
        mode (--hold replaces --duration). A search is several short loadgen runs against one server: alone it is estimated as a first
        search; in a matrix capacity.estimates() knows what the searches before it found."""
        if self.search:
            import capacity  # the search's own module knows its step count and step length
            return capacity.estimate_s(self, capacity.Knowledge())
        load = self.hold_s if self.mode == "idle" else self.warmup_s + self.duration_s
        drain = 0.4 if self.workload == "chat" else 0.0
        return 0.15 + setup_s(self.connections) + drain + load


def expand(profile: Profile, backends: List[Backend], workloads: List[str], largest: int,
           repetitions: Optional[int] = None, overrides: Optional[dict] = None) -> List[RunSpec]:
    """The matrix in run order. Repetitions are the outer loop and back ends the inner one, so that every
    back end of a cell runs close together in time and repeated runs interleave (drift hits all back ends alike).
    `repetitions` (--repetitions) applies to every cell; None: each cell's own count, else the profile's. A cell with
    fewer repetitions than another simply drops out of the later rounds."""
    overrides = overrides or {}
    specs: List[RunSpec] = []

    def times(cell: Cell) -> int:
        return repetitions or cell.repetitions or profile.repetitions

    for repetition in range(max([times(c) for c in profile.cells] or [0])):
        for cell in profile.cells:
            if cell.workload not in workloads or cell.mode not in overrides.get("modes", [cell.mode]):
                continue
            if repetition >= times(cell):
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
        repetition=repetition, cpu_cap=overrides.get("cpu_cap", cell.cpu_cap), search=cell.search,
        slo_ms=overrides.get("slo_ms", cell.slo_ms))
