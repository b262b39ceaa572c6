#!/usr/bin/env python3
"""Capacity at a latency SLO and its CPU cap (issue 13.4), on fixtures:
- the search (capacity.search) against a fake step function: bracketing, bisection to the precision, the step and
  time bounds, no passing rate, a capacity above the upper bound, a server that dies; judge()'s criteria;
- the cgroup writer (cgroup.CpuCap) on temporary v1 and v2 layouts, and its clear error where neither exists;
- bench_all --search capacity|sweep end to end with the fake server and loadgen: the rows and the steps file, a cap
  that cannot be set fails the row without starting a server, a cap on a fixture layout puts the server into the
  cgroup before it runs and removes the cgroup at the end, also after Ctrl-C.
"""
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness_util import BENCH_ALL, REPO, FakeBuild  # noqa: E402

sys.path.insert(0, os.path.join(REPO, "bench", "bench_all"))
import capacity  # noqa: E402
import cgroup  # noqa: E402
import columns  # noqa: E402


class FakeServer:
    """A step function for a server that carries `capacity` req/s: at or below it every step passes."""

    def __init__(self, capacity_rps, die_at=None, clock=None):
        self.capacity, self.die_at, self.rates, self.clock = capacity_rps, die_at, [], clock

    def __call__(self, rate):
        self.rates.append(rate)
        if self.clock is not None:
            self.clock.now += 1.0
        if self.die_at is not None and rate >= self.die_at:
            return capacity.Step(rate, False, "server died (signal 9 (SIGKILL))", fatal=True)
        passed = rate <= self.capacity
        return capacity.Step(rate, passed, "" if passed else "p99 50 ms > SLO 10 ms")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Search(unittest.TestCase):
    BOUNDS = capacity.Bounds()

    def test_brackets_then_bisects_to_the_precision(self):
        for true_capacity in (900.0, 19_000.0, 20_000.0, 47_000.0, 310_000.0):
            server = FakeServer(true_capacity)
            out = capacity.search(server, self.BOUNDS, capacity.START_RATE, 2.0)
            self.assertEqual(out.status, "ok", (true_capacity, out.reason))
            self.assertLessEqual(out.capacity, true_capacity)
            self.assertGreaterEqual(out.capacity, true_capacity / (1 + self.BOUNDS.precision))
            self.assertLessEqual(len(out.steps), 10, (true_capacity, server.rates))
            self.assertIs(out.best, max((s for s in out.steps if s.passed), key=lambda s: s.rate))

    def test_an_own_earlier_capacity_that_held_costs_two_steps(self):
        for true_capacity in (51_000.0, 48_000.0):
            server = FakeServer(true_capacity)
            out = capacity.search(server, self.BOUNDS, 50_000.0, 1.05)
            self.assertEqual((out.status, len(out.steps)), ("ok", 2), server.rates)
            self.assertGreaterEqual(out.capacity, true_capacity / 1.05)
        server = FakeServer(58_000.0)  # moved by 16 %: the bracket widens, a few steps more
        out = capacity.search(server, self.BOUNDS, 50_000.0, 1.05)
        self.assertEqual(out.status, "ok")
        self.assertLessEqual(len(out.steps), 6, server.rates)

    def test_a_wrong_hint_widens_the_bracket_quickly(self):
        server = FakeServer(200_000.0)
        out = capacity.search(server, self.BOUNDS, 50_000.0, 1.05)
        self.assertEqual(out.status, "ok")
        self.assertLessEqual(len(out.steps), 10, server.rates)

    def test_no_passing_rate_fails_naming_it(self):
        out = capacity.search(FakeServer(10.0), self.BOUNDS, capacity.START_RATE, 2.0)
        self.assertEqual(out.status, "failed")
        self.assertIsNone(out.capacity)
        self.assertIn("no passing rate down to the lower bound 100/s", out.reason)

    def test_above_the_upper_bound_is_degraded(self):
        bounds = capacity.Bounds(max_rate=100_000.0)
        out = capacity.search(FakeServer(1e9), bounds, capacity.START_RATE, 2.0)
        self.assertEqual((out.status, out.capacity), ("degraded", 100_000.0))
        self.assertIn("upper bound", out.reason)

    def test_the_step_bound_stops_the_search(self):
        bounds = capacity.Bounds(max_steps=3)
        out = capacity.search(FakeServer(47_000.0), bounds, capacity.START_RATE, 2.0)
        self.assertEqual((out.status, len(out.steps)), ("degraded", 3))
        self.assertIn("search bound hit (3 steps): bracket 40000..80000/s", out.reason)
        self.assertEqual(out.capacity, 40_000.0)

    def test_the_time_bound_stops_the_search(self):
        clock = Clock()
        bounds = capacity.Bounds(max_time_s=2.5)
        out = capacity.search(FakeServer(47_000.0, clock=clock), bounds, capacity.START_RATE, 2.0, clock=clock)
        self.assertEqual((out.status, len(out.steps)), ("degraded", 3))
        self.assertIn("(2.5 s)", out.reason)

    def test_a_bound_before_any_pass_fails(self):
        out = capacity.search(FakeServer(500.0), capacity.Bounds(max_steps=2), capacity.START_RATE, 2.0)
        self.assertEqual(out.status, "failed")
        self.assertIn("no passing rate down to 10000/s", out.reason)

    def test_a_dead_server_stops_the_search(self):
        out = capacity.search(FakeServer(47_000.0, die_at=30_000.0), self.BOUNDS, capacity.START_RATE, 2.0)
        self.assertEqual(out.status, "failed")
        self.assertIn("server died", out.reason)
        self.assertEqual(out.capacity, 20_000.0)

    def test_judge_names_the_missed_criterion(self):
        good = {"status": "ok", "connections": 100, "connections_established": 100, "errors": 0,
                "achieved_rate": 9950.0, "p99_us": 9000.0}
        self.assertEqual(capacity.judge(good, 10_000.0, self.BOUNDS), (True, ""))
        cases = [({"achieved_rate": 9800.0}, "achieved 9800/s < 99% of 10000/s"),
                 ({"p99_us": 12_000.0}, "p99 12 ms > SLO 10 ms"),
                 ({"errors": 3}, "3 errors"),
                 ({"connections_established": 90}, "90 of 100 connections established"),
                 ({"status": "failed", "reason": "nothing answered"}, "run failed: nothing answered")]
        for change, why in cases:
            self.assertEqual(capacity.judge(dict(good, **change), 10_000.0, self.BOUNDS), (False, why))
        self.assertTrue(capacity.judge(dict(good, achieved_rate=9800.0), 10_000.0,
                                       capacity.Bounds(achieved=0.95))[0])
        # replies still in flight at the window's end (rate x mean latency) count as carried
        short = dict(good, achieved_rate=77.0 / 0.8, duration_s=0.8, mean_us=30_000.0)
        self.assertEqual(capacity.judge(short, 100.0, self.BOUNDS), (True, ""))
        self.assertFalse(capacity.judge(dict(short, mean_us=1000.0), 100.0, self.BOUNDS)[0])

    def test_knowledge_starts_near_earlier_capacities(self):
        from profiles import RunSpec
        spec = RunSpec("uring", "http", "open", 100, 1.0, 0.25, 0.0, cpu_cap=0.5, search="capacity")
        k = capacity.Knowledge()
        self.assertEqual(k.start(spec), (capacity.START_RATE, 2.0))
        k.remember(RunSpec("threads", "http", "open", 100, 1.0, 0.25, 0.0, cpu_cap=0.5), 40_000.0)
        k.remember(RunSpec("threads", "http", "open", 1000, 1.0, 0.25, 0.0, cpu_cap=0.5), 1.0)  # another cell
        self.assertEqual(k.start(spec), (40_000.0, 1.5))
        k.remember(spec, 70_000.0)
        self.assertEqual(k.start(spec), (70_000.0, 1.05))

    def test_a_search_at_another_count_starts_from_the_back_ends_own_capacity_there(self):
        """full's capacity at 100 and 10,000 starts from the back end's own capacity at the nearest count (1,000), not
        from the other back ends' median: under the cap the count moves capacity by tens of per cent, the back end by
        factors (threads 25k/s, uring 117k/s in default-2026-11-30-A)."""
        from profiles import RunSpec

        def spec(backend, connections, **kw):
            return RunSpec(backend, "http", "open", connections, 0.75, 0.25, 0.0, cpu_cap=0.5, search="capacity", **kw)
        k = capacity.Knowledge()
        k.remember(spec("threads", 1000), 25_000.0)
        k.remember(spec("uring", 1000), 117_000.0)
        k.remember(spec("uring", 100), 120_000.0)
        k.remember(spec("uring", 1000, slo_ms=5.0), 90_000.0)          # another SLO: another cell
        k.remember(RunSpec("uring", "echo", "open", 10000, 0.75, 0.25, 0.0, cpu_cap=0.5), 1.0)  # another workload
        self.assertEqual(k.hint(spec("uring", 10000)), "count")
        self.assertEqual(k.start(spec("uring", 10000)), (117_000.0, 1.1))  # 1,000 is nearer to 10,000 than 100
        self.assertEqual(k.start(spec("uring", 300)), (120_000.0, 1.1))
        self.assertEqual(k.start(spec("coro", 10000)), (capacity.START_RATE, 2.0))  # nothing in that cell yet
        self.assertEqual(k.hint(spec("coro", 1000)), "peer")
        self.assertEqual(k.hint(spec("uring", 1000)), "own")

    def test_a_count_hint_costs_3_to_7_steps_as_the_count_moves_capacity_by_up_to_30_percent(self):
        """COUNT_SEARCH_STEPS's basis (capacity.py): from the capacity at another count, factor 1 + 2 x precision."""
        hint = 50_000.0
        steps = {}
        for moved in (0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.3):
            server = FakeServer(hint * moved * 1.02)
            out = capacity.search(server, self.BOUNDS, hint, 1.0 + 2 * self.BOUNDS.precision)
            self.assertEqual(out.status, "ok", server.rates)
            steps[moved] = len(out.steps)
        self.assertLessEqual(max(v for m, v in steps.items() if 0.9 <= m <= 1.05), 3, steps)
        self.assertLessEqual(max(v for m, v in steps.items() if 0.8 <= m <= 1.3), 5, steps)
        self.assertLessEqual(max(steps.values()), 7, steps)
        self.assertGreaterEqual(capacity.COUNT_SEARCH_STEPS, sum(steps.values()) / len(steps), steps)

    def test_repeated_searches_replayed_from_the_quiet_default_runs_take_the_steps_the_estimate_counts(self):
        """The repetitions' capacities of default-2026-11-30-A/B replayed through search() from the previous
        repetition's capacity take REPEAT_SEARCH_STEPS on average (the real runs' steps_log: 4.04 and 3.85)."""
        for run in ("A", "B"):
            caps = {}
            with open(os.path.join(REPO, "results", "reference", f"default-2026-11-30-{run}", "results.csv")) as f:
                for row in csv.DictReader(f):
                    if row["search"] == "capacity":
                        caps.setdefault(row["backend"], []).append(float(row["capacity_rps_at_slo"]))
            steps = []
            for found in caps.values():
                for previous, now in zip(found, found[1:]):
                    k = capacity.Knowledge()
                    spec = self.spec_at(1000)
                    k.remember(spec, previous)
                    first, factor = k.start(spec)
                    steps.append(len(capacity.search(FakeServer(now * 1.02), self.BOUNDS, first, factor).steps))
            self.assertEqual(len(steps), 13 * 4, run)
            self.assertAlmostEqual(sum(steps) / len(steps), capacity.REPEAT_SEARCH_STEPS, delta=0.2)

    @staticmethod
    def spec_at(connections):
        from profiles import RunSpec
        return RunSpec("b", "http", "open", connections, 0.75, 0.25, 0.0, cpu_cap=0.5, search="capacity")


class CellFields(unittest.TestCase):
    def test_expand_carries_cap_search_slo_and_interleaves_per_cell_repetitions(self):
        import backends
        import profiles
        cells = (profiles.Cell("http", "open", (100,), cpu_cap=0.5, search="capacity", repetitions=3, slo_ms=5.0),
                 profiles.Cell("echo", "closed", (100,)))
        profile = profiles.Profile("t", cells, repetitions=1)
        both = [backends.Backend(n, "", "C++", False, False, ()) for n in ("a", "b")]
        specs = profiles.expand(profile, both, ["http", "echo"], 19000)
        self.assertEqual([(s.repetition, s.workload, s.backend) for s in specs],
                         [(0, "http", "a"), (0, "http", "b"), (0, "echo", "a"), (0, "echo", "b"),
                          (1, "http", "a"), (1, "http", "b"), (2, "http", "a"), (2, "http", "b")])
        first = specs[0]
        self.assertEqual((first.cpu_cap, first.search, first.slo_ms), (0.5, "capacity", 5.0))
        self.assertEqual(first.stem, "a-http-open-100-cap0.5capacity-r0")
        self.assertEqual(specs[2].stem, "a-echo-closed-100-r0")  # plain cells keep their names
        # --repetitions overrides every cell's count; --cpu-cap and --slo-ms every cell's value
        specs = profiles.expand(profile, both, ["http", "echo"], 19000, 2, {"cpu_cap": 1.5, "slo_ms": 20.0})
        self.assertEqual(len(specs), 8)
        self.assertEqual({(s.cpu_cap, s.slo_ms) for s in specs}, {(1.5, 20.0)})


class BoundUnderCap(unittest.TestCase):
    def test_a_server_busy_at_its_cap_is_the_bound_side(self):
        import runner
        cases = [({"cpu_cap": 0.5, "server_cpu_util": 0.47, "bound": "neither"}, "server"),
                 ({"cpu_cap": 0.5, "server_cpu_util": 0.47, "client_cpu_util": 0.92, "bound": "client"}, "server"),
                 ({"cpu_cap": 0.5, "server_cpu_util": 0.46, "client_cpu_util": 0.95, "bound": "client"}, "client"),
                 ({"cpu_cap": 0.5, "server_cpu_util": 0.40, "client_cpu_util": 0.95, "bound": "client"}, "client"),
                 ({"cpu_cap": 0.5, "server_cpu_util": 0.40, "bound": "neither"}, "neither"),
                 ({"cpu_cap": None, "server_cpu_util": 0.47, "bound": "neither"}, "neither")]
        for row, bound in cases:
            runner._bound_under_cap(row)
            self.assertEqual(row["bound"], bound, row)


class CgroupWriter(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="tvt-cgroup-")

    def tearDown(self):
        cgroup.remove_all()
        subprocess.run(["rm", "-rf", self.root])

    def v1(self):
        os.makedirs(os.path.join(self.root, "cpu"))
        os.makedirs(os.path.join(self.root, "cpuacct"))
        open(os.path.join(self.root, "cpu", "cpu.cfs_quota_us"), "w").write("-1\n")

    def test_v1_writes_a_short_period_and_the_quota_and_the_child_joins_before_exec(self):
        self.v1()
        cap = cgroup.CpuCap(0.5, "t1", root=self.root).create()
        path = os.path.join(self.root, "cpu", "t1")
        self.assertEqual((cap.version, cap.path), (1, path))
        self.assertEqual(open(os.path.join(path, "cpu.cfs_period_us")).read(), "10000")
        self.assertEqual(open(os.path.join(path, "cpu.cfs_quota_us")).read(), "5000")
        proc = subprocess.Popen(["sh", "-c", "echo $$"], stdout=subprocess.PIPE, preexec_fn=cap.join)
        child = proc.communicate()[0].decode().strip()
        self.assertEqual(open(os.path.join(path, "cgroup.procs")).read(), str(proc.pid))
        self.assertEqual(child, str(proc.pid))  # the pid written is the exec'd program's own
        self.assertIn(path, cgroup.LIVE)
        cap.remove()
        self.assertFalse(os.path.exists(path))
        self.assertNotIn(path, cgroup.LIVE)

    def test_v2_writes_cpu_max(self):
        open(os.path.join(self.root, "cgroup.subtree_control"), "w").write("cpu memory pids\n")
        cap = cgroup.CpuCap(1.25, "t2", root=self.root).create()
        self.assertEqual(cap.version, 2)
        self.assertEqual(open(os.path.join(self.root, "t2", "cpu.max")).read(), "12500 10000")
        self.assertIn("cpu.max 12500 10000", cap.describe())

    def test_hybrid_layout_uses_the_unified_mount_only_with_the_cpu_controller(self):
        os.makedirs(os.path.join(self.root, "unified"))
        open(os.path.join(self.root, "unified", "cgroup.subtree_control"), "w").write("memory\n")
        with self.assertRaises(cgroup.CpuCapError):
            cgroup.CpuCap(0.5, "t3", root=self.root).create()
        open(os.path.join(self.root, "unified", "cgroup.subtree_control"), "w").write("memory cpu\n")
        self.assertEqual(cgroup.CpuCap(0.5, "t3", root=self.root).create().path,
                         os.path.join(self.root, "unified", "t3"))

    def test_neither_layout_is_a_clear_error(self):
        with self.assertRaises(cgroup.CpuCapError) as e:
            cgroup.CpuCap(0.5, "t4", root=self.root).create()
        self.assertIn("cannot cap the server at 0.5 cores", str(e.exception))
        self.assertIn("cgroup v1: no cpu controller", str(e.exception))
        self.assertIn("cgroup v2: no unified hierarchy with the cpu controller", str(e.exception))

    def test_a_v1_cgroup_that_cannot_be_made_is_an_error_too(self):
        self.v1()
        os.mkdir(os.path.join(self.root, "cpu", "taken"))
        with self.assertRaises(cgroup.CpuCapError) as e:
            cgroup.CpuCap(0.5, "taken", root=self.root).create()
        self.assertIn("File exists", str(e.exception))

    def test_quota_has_the_kernels_floor_and_rejects_nonsense(self):
        self.assertEqual(cgroup.quota_us(0.01), cgroup.MIN_QUOTA_US)
        self.assertEqual(cgroup.quota_us(2), 20_000)
        with self.assertRaises(cgroup.CpuCapError):
            cgroup.quota_us(0)


def read_rows(run_dir):
    with open(os.path.join(run_dir, "results.csv"), newline="") as f:
        return list(csv.DictReader(f))


class BenchAllSearch(unittest.TestCase):
    QUICK = ["--profile", "ci", "--workloads", "http", "--duration", "0.1", "--warmup", "0", "--skip-micro",
             "--skip-callgrind", "--skip-report"]

    def setUp(self):
        self.fake = FakeBuild()
        self.cgroups = os.path.join(self.fake.root, "cgroups")

    def tearDown(self):
        self.fake.cleanup()

    def bench_all(self, *args, **env):
        env = self.fake.env(FAKE_BACKENDS="ok,ok2", FAKE_CAPACITY="33000", **env)
        return subprocess.run([sys.executable, BENCH_ALL, "--build-dir", self.fake.root, "--results",
                               self.fake.results, *self.QUICK, *args], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=200)

    def run_dir(self):
        (name,) = os.listdir(self.fake.results)
        return os.path.join(self.fake.results, name)

    def test_capacity_rows_and_their_steps(self):
        out = self.bench_all("--search", "capacity", "--cpu-cap", "0", "--repetitions", "2")
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        rows = read_rows(self.run_dir())
        self.assertEqual([(r["backend"], r["repetition"]) for r in rows],
                         [("ok", "0"), ("ok2", "0"), ("ok", "1"), ("ok2", "1")])
        for row in rows:
            self.assertEqual((row["status"], row["search"], row["mode"], row["slo_ms"]), ("ok", "capacity", "open", "10.0"))
            self.assertTrue(33000 / 1.05 <= float(row["capacity_rps_at_slo"]) <= 33000, row)
            self.assertEqual(float(row["target_rate"]), float(row["capacity_rps_at_slo"]))  # the best step's record
            lines = [json.loads(x) for x in open(os.path.join(self.run_dir(), row["steps_log"]))]
            self.assertEqual(len(lines), int(row["search_steps"]))
            self.assertEqual(max(x["rate"] for x in lines if x["passed"]), float(row["capacity_rps_at_slo"]))
        # later searches start from the first one: the repetition of the same back end takes 2 steps
        self.assertLess(int(rows[2]["search_steps"]), int(rows[0]["search_steps"]))
        self.assertEqual(int(rows[2]["search_steps"]), 2)

    def test_sweep_rows_span_10_to_120_percent_of_the_capacity(self):
        out = self.bench_all("--search", "sweep", "--cpu-cap", "0", "--backends", "ok")
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        rows = read_rows(self.run_dir())
        self.assertEqual([r["search"] for r in rows], ["capacity"] + ["sweep"] * len(capacity.SWEEP_FRACTIONS))
        cap = float(rows[0]["capacity_rps_at_slo"])
        sweep = rows[1:]
        self.assertEqual([float(r["offered_fraction"]) for r in sweep], list(capacity.SWEEP_FRACTIONS))
        for r in sweep:
            self.assertAlmostEqual(float(r["target_rate"]), round(cap * float(r["offered_fraction"])), delta=1)
            self.assertTrue(r["hdr_log"] or r["timeline"], r)  # sweep points keep their files
        self.assertEqual(sweep[-1]["server_exit"], "0")
        self.charts_draw(self.run_dir(), ["latency_load", "capacity"])

    def test_full_searches_the_other_counts_from_the_capacity_at_1000_and_sweeps_without_a_search(self):
        """full's speed cells, one repetition, on the fake: capacity at 1,000 first, then 100 and 10,000 each start
        at it (their first step's rate) and close in 3 steps; the sweep takes its scale from it and runs no search."""
        out = self.bench_all("--profile", "full", "--modes", "open", "--backends", "ok", "--repetitions", "1",
                             "--cpu-cap", "0")
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        rows = read_rows(self.run_dir())
        searched = {int(r["connections"]): r for r in rows if r["search"] == "capacity"}
        self.assertEqual(sorted(searched), [100, 1000, 10000])
        at_1000 = float(searched[1000]["capacity_rps_at_slo"])
        for count in (100, 10000):
            with open(os.path.join(self.run_dir(), searched[count]["steps_log"])) as f:
                steps = [json.loads(line) for line in f]
            self.assertEqual(steps[0]["rate"], round(at_1000), count)
            self.assertEqual(int(searched[count]["search_steps"]), 3, steps)
        sweep = [r for r in rows if r["search"] == "sweep"]
        self.assertEqual(len(sweep), len(capacity.SWEEP_FRACTIONS))
        self.assertEqual({float(r["capacity_rps_at_slo"]) for r in sweep}, {at_1000})

    def charts_draw(self, run_dir, names):
        """scripts/charts.py draws the search charts when some python here has matplotlib (else: not tested)."""
        found = subprocess.run([os.path.join(REPO, "scripts", "find-python")], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
        plot_python = found.stdout.decode().strip()
        if found.returncode != 0 or not plot_python:
            print("charts: no matplotlib python here; chart check skipped", file=sys.stderr)
            return
        out = subprocess.run([plot_python, os.path.join(REPO, "scripts", "charts.py"), run_dir],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        with open(os.path.join(run_dir, "charts", "index.json")) as f:
            drawn = [c["name"] for c in json.load(f)["charts"]]
        for name in names:
            self.assertIn(name, drawn, out.stderr.decode())

    def test_a_capped_server_far_below_its_cap_at_capacity_is_flagged(self):
        row = {"cpu_cap": 0.5, "status": None, "reason": None}
        best = capacity.Step(5000.0, True, "", {"server_cpu_util": 0.07, "status": "ok"})
        result = capacity.Outcome(5000.0, [best], "ok", "", best)

        class Searcher:
            steps_path, run_dir = "/r/logs/x.steps.jsonl", "/r"
        capacity._fill_capacity_row(row, result, Searcher(), capacity.Bounds())
        self.assertEqual(row["status"], "degraded")
        self.assertIn("not cap-bound at capacity: the server used 0.07 of its 0.5 cores", row["reason"])
        row = {"cpu_cap": 0.5, "status": None, "reason": None}
        best.record["server_cpu_util"] = 0.47
        capacity._fill_capacity_row(row, result, Searcher(), capacity.Bounds())
        self.assertEqual((row["status"], row["reason"]), ("ok", ""))

    def test_a_cap_that_cannot_be_set_fails_the_row_and_starts_no_server(self):
        os.makedirs(self.cgroups)
        out = self.bench_all("--search", "capacity", "--cpu-cap", "0.5", TVT_CGROUP_ROOT=self.cgroups)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        rows = read_rows(self.run_dir())
        self.assertEqual(len(rows), 2)
        for row in rows:
            self.assertEqual(row["status"], "failed")
            self.assertIn("cannot cap the server at 0.5 cores", row["reason"])
            self.assertEqual(row["cpu_cap"], "0.5")
        self.assertFalse([n for n, _ in self.fake.recorded_pids() if n.startswith("server")])

    def test_a_plain_capped_run_joins_its_cgroup_and_removes_it(self):
        os.makedirs(os.path.join(self.cgroups, "cpu"))
        open(os.path.join(self.cgroups, "cpu", "cpu.cfs_quota_us"), "w").write("-1\n")
        seen = os.path.join(self.fake.root, "seen")
        # the fake server copies the cgroup.procs it finds at start-up (FAKE_CGROUP_PROBE) into `seen`
        out = self.bench_all("--modes", "closed", "--connections", "10", "--cpu-cap", "0.5", "--backends", "ok",
                             TVT_CGROUP_ROOT=self.cgroups, FAKE_CGROUP_PROBE=os.path.join(self.cgroups, "cpu"),
                             FAKE_CGROUP_SEEN=seen)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        (row,) = read_rows(self.run_dir())
        self.assertEqual((row["status"], row["cpu_cap"]), ("ok", "0.5"), row["reason"])
        server_pid = int(row["server_pid"])
        self.assertEqual(open(seen).read().split(), [str(server_pid)])  # in the cgroup at its first line
        self.assertEqual(os.listdir(os.path.join(self.cgroups, "cpu")), ["cpu.cfs_quota_us"])  # removed

    def test_ctrl_c_during_a_search_removes_the_cgroup_and_keeps_the_rows(self):
        os.makedirs(os.path.join(self.cgroups, "cpu"))
        open(os.path.join(self.cgroups, "cpu", "cpu.cfs_quota_us"), "w").write("-1\n")
        env = self.fake.env(FAKE_BACKENDS="ok,ok2", FAKE_CAPACITY="33000", TVT_CGROUP_ROOT=self.cgroups)
        proc = subprocess.Popen([sys.executable, BENCH_ALL, "--build-dir", self.fake.root, "--results",
                                 self.fake.results, *self.QUICK, "--search", "sweep", "--cpu-cap", "0.5",
                                 "--duration", "0.3"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(os.listdir(os.path.join(self.cgroups, "cpu"))) < 2:
            time.sleep(0.05)
        time.sleep(1.0)  # into the search
        self.assertEqual(len(os.listdir(os.path.join(self.cgroups, "cpu"))), 2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 130, err.decode())
        self.assertEqual(os.listdir(os.path.join(self.cgroups, "cpu")), ["cpu.cfs_quota_us"])
        self.assertEqual(self.fake.survivors(), [])
        rows = read_rows(self.run_dir())
        self.assertEqual(rows[-1]["status"], "failed")
        self.assertIn("interrupted", rows[-1]["reason"])

    def test_the_header_has_the_search_columns_together_in_harness(self):
        block = ["cpu_cap", "search", "slo_ms", "capacity_rps_at_slo", "search_steps", "steps_log", "offered_fraction"]
        start = columns.HARNESS.index(block[0])
        self.assertEqual(columns.HARNESS[start:start + len(block)], block)


if __name__ == "__main__":
    unittest.main(verbosity=2)
