#!/usr/bin/env python3
"""bench_all under faults (issue 9) and its contracts, against fake servers and a fake loadgen:
a server that crashes mid-run, hangs at start-up, never prints ready, exits early, ignores SIGTERM, or overruns
its stop budget is recorded with the right status, reason and stderr tail, and the matrix goes on; Ctrl-C leaves no
process behind and keeps the rows measured; nothing overwrites an earlier run; the CSV header is the documented one.
"""
import csv
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness_util import BENCH_ALL, REPO, FakeBuild, write_exec  # noqa: E402

sys.path.insert(0, os.path.join(REPO, "bench", "bench_all"))
import backends  # noqa: E402
import capacity  # noqa: E402
import columns  # noqa: E402
import extras  # noqa: E402
import profiles  # noqa: E402

QUICK = ["--profile", "ci", "--modes", "closed", "--workloads", "http", "--connections", "10", "--duration", "0.4",
         "--warmup", "0", "--skip-micro", "--skip-callgrind", "--skip-report"]


def read_rows(run_dir):
    with open(os.path.join(run_dir, "results.csv"), newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [dict(zip(header, r)) for r in reader]


class BenchAllFaults(unittest.TestCase):
    def setUp(self):
        self.fake = FakeBuild()

    def tearDown(self):
        self.fake.cleanup()

    def bench_all(self, *args, env=None, timeout=120):
        return subprocess.run([sys.executable, BENCH_ALL, "--build-dir", self.fake.root, "--results",
                               self.fake.results, *args], env=env or self.fake.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)

    def only_run_dir(self):
        (name,) = os.listdir(self.fake.results)
        return os.path.join(self.fake.results, name)

    def test_every_fault_is_a_row_and_the_matrix_goes_on(self):
        env = self.fake.env(FAKE_BACKENDS="ok,crash,hang,noready,earlyexit,stubborn,overrun,ok2",
                            FAKE_LIST_WORKLOADS="")  # no --list-workloads: bench_all must probe
        # 5 s: the fake servers are Python, whose start-up took over 1.5 s at a load average of 27; the hanging ones
        # then cost 2 x 5 s, which the test can afford.
        out = self.bench_all(*QUICK, "--ready-timeout", "5", env=env)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        run_dir = self.only_run_dir()
        header, rows = read_rows(run_dir)
        self.assertEqual(header, columns.HEADER)
        by = {r["backend"]: r for r in rows}
        self.assertEqual(list(by), ["ok", "crash", "hang", "noready", "earlyexit", "stubborn", "overrun", "ok2"])

        for name in ("ok", "ok2"):
            self.assertEqual(by[name]["status"], "ok", by[name]["reason"])
            self.assertEqual(by[name]["rps"], "50000.0")
            self.assertEqual(by[name]["server_exit"], "0")
        crash = by["crash"]
        self.assertEqual(crash["status"], "failed")
        self.assertIn("server died during the run (signal 11 (SIGSEGV))", crash["reason"])
        self.assertIn("fake: about to crash", crash["server_stderr_tail"])
        for name in ("hang", "noready"):
            self.assertEqual(by[name]["status"], "failed")
            self.assertIn("no ready line within 5 s", by[name]["reason"])
            self.assertIn("killed", by[name]["server_exit"])
        self.assertIn("fake: starting up slowly", by["hang"]["server_stderr_tail"])
        self.assertIn("listening somewhere", by["noready"]["reason"])
        self.assertEqual(by["earlyexit"]["status"], "failed")
        self.assertIn("exited (1) before printing its ready line", by["earlyexit"]["reason"])
        self.assertIn("address already in use", by["earlyexit"]["server_stderr_tail"])
        self.assertEqual(by["stubborn"]["status"], "degraded")
        self.assertIn("ignored SIGTERM", by["stubborn"]["reason"])
        self.assertEqual(by["overrun"]["status"], "degraded")
        self.assertIn("exited 3 after SIGTERM", by["overrun"]["reason"])

        with open(os.path.join(run_dir, "meta.json")) as f:
            meta = json.load(f)
        self.assertEqual(meta["workloads_offered"], ["echo", "http"])  # found by probing
        self.assertEqual(meta["workloads"], ["http"])
        self.assertEqual(meta["state"], "complete")
        self.assertEqual(meta["status_counts"], {"ok": 2, "degraded": 2, "failed": 4})
        for key in ("git", "compiler", "machine", "limits", "profile", "pinning"):
            self.assertIn(key, meta)
        self.assertIn("open_files_hard", meta["limits"])
        self.assertTrue(os.path.exists(os.path.join(run_dir, "logs", "crash-http-closed-10-r0.server.log")))
        self.assertFalse([f for f in os.listdir(run_dir) if f.endswith(".tmp")])
        self.assertGreaterEqual(len(self.fake.recorded_pids()), 10)  # the fakes really ran (and forked)
        self.assertEqual(self.fake.survivors(), [])

    def test_ctrl_c_leaves_nothing_behind_and_keeps_measured_rows(self):
        env = self.fake.env(FAKE_BACKENDS="ok-a,ok-b,ok-c", FAKE_LOADGEN_CHILD="1")
        args = [sys.executable, BENCH_ALL, "--build-dir", self.fake.root, "--results", self.fake.results,
                "--run-name", "interrupted", *QUICK[:-9], "--connections", "10,20", "--duration", "1.5",
                "--warmup", "0", "--skip-micro", "--skip-callgrind", "--skip-report"]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        run_dir = os.path.join(self.fake.results, "interrupted")
        csv_path = os.path.join(run_dir, "results.csv")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait for one measured row and the next run's loadgen to be up
            if os.path.exists(csv_path) and len(read_rows(run_dir)[1]) >= 1 and \
                    sum(n.startswith("loadgen-worker") for n, _ in self.fake.recorded_pids()) >= 2:
                break
            time.sleep(0.05)
        else:
            proc.kill()
            self.fail("bench_all never got to its second run")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 130, err.decode())
        _, rows = read_rows(run_dir)
        self.assertEqual(rows[0]["status"], "ok")
        self.assertEqual(rows[-1]["status"], "failed")
        self.assertIn("interrupted", rows[-1]["reason"])
        with open(os.path.join(run_dir, "meta.json")) as f:
            self.assertEqual(json.load(f)["state"], "interrupted")
        time.sleep(0.2)  # PDEATHSIG and group kills are asynchronous to the exit of bench_all
        self.assertEqual(self.fake.survivors(), [])

    def test_a_loadgen_key_the_header_lacks_fails_the_row(self):
        env = self.fake.env(FAKE_BACKENDS="ok", FAKE_LOADGEN_EXTRA_KEY="novel_metric_per_op")
        out = self.bench_all(*QUICK, env=env)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        _, rows = read_rows(self.only_run_dir())
        self.assertEqual([r["status"] for r in rows], ["failed"])
        self.assertIn("novel_metric_per_op", rows[0]["reason"])
        self.assertIn("columns.py", rows[0]["reason"])
        self.assertEqual(rows[0]["rps"], "50000.0")  # what the header holds is still recorded

    def test_never_overwrites_an_earlier_run(self):
        env = self.fake.env(FAKE_BACKENDS="ok")
        first = self.bench_all(*QUICK, "--run-name", "same", env=env)
        self.assertEqual(first.returncode, 0, first.stderr.decode())
        listed = backends.read_file(os.path.join(self.fake.results, "same", backends.FILE_NAME))
        self.assertEqual([b.name for b in listed], ["ok"])  # the registry travels with the run
        before = open(os.path.join(self.fake.results, "same", "results.csv")).read()
        second = self.bench_all(*QUICK, "--run-name", "same", env=env)
        self.assertEqual(second.returncode, 2)
        self.assertIn("refusing to overwrite", second.stderr.decode())
        self.assertEqual(open(os.path.join(self.fake.results, "same", "results.csv")).read(), before)

    def test_missing_binaries_say_how_to_build(self):
        os.remove(os.path.join(self.fake.bin, "loadgen"))
        out = self.bench_all(*QUICK)
        self.assertEqual(out.returncode, 2)
        self.assertIn("cmake --preset release", out.stderr.decode())


class Extras(unittest.TestCase):
    def setUp(self):
        self.fake = FakeBuild()
        self.run_dir = os.path.join(self.fake.root, "run")
        os.makedirs(os.path.join(self.run_dir, "logs"))

    def tearDown(self):
        self.fake.cleanup()

    def test_micro_json_and_csv(self):
        report = {"context": {"num_cpus": 2}, "benchmarks": [
            {"name": "BM_Spawn/model:coro-local", "run_name": "BM_Spawn/model:coro-local", "run_type": "iteration",
             "repetitions": 1, "repetition_index": 0, "threads": 1, "iterations": 1000, "real_time": 0.05,
             "cpu_time": 0.04, "time_unit": "us", "bytes_per_unit": 80},
            {"name": "BM_Spawn/model:threads", "run_name": "BM_Spawn/model:threads", "run_type": "iteration",
             "iterations": 10, "real_time": 43.0, "cpu_time": 26.0, "time_unit": "us"}]}
        write_exec(os.path.join(self.fake.bin, "bench_micro_fake"), "#!/bin/sh\n"
                   "for a in \"$@\"; do case $a in --benchmark_out=*) out=${a#--benchmark_out=};; esac; done\n"
                   f"cat > \"$out\" <<'J'\n{json.dumps(report)}\nJ\n")
        write_exec(os.path.join(self.fake.bin, "bench_micro_broken"), "#!/bin/sh\necho boom >&2\nexit 4\n")
        extras.run_micro(self.fake.bin, self.run_dir, ["--benchmark_min_time=0.01"], 30, lambda m: None)
        with open(os.path.join(self.run_dir, "micro.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual([r["model"] for r in rows], ["coro-local", "threads"])
        self.assertAlmostEqual(float(rows[0]["real_time_ns"]), 50.0)
        self.assertEqual(rows[0]["counters"], "bytes_per_unit=80")
        with open(os.path.join(self.run_dir, "micro.json")) as f:
            merged = json.load(f)
        status = {b["binary"]: b["status"] for b in merged["binaries"]}
        self.assertEqual(status, {"bench_micro_broken": "failed", "bench_micro_fake": "ok"})

    def test_micro_runs_one_process_per_model(self):
        # The fake lists two models' benchmarks and records each run's filter; every process reports the benchmarks
        # its filter selected, and the one for `threads` also crashes.
        calls = os.path.join(self.fake.root, "calls")
        write_exec(os.path.join(self.fake.bin, "bench_micro_models"), "#!/bin/sh\n"
                   "for a in \"$@\"; do case $a in --benchmark_list_tests) printf '%s\\n' "
                   "BM_A/model:coro-local BM_B/model:coro-local/size:1.5 BM_A/model:threads; exit 0;;\n"
                   "--benchmark_out=*) out=${a#--benchmark_out=};; --benchmark_filter=*) f=${a#--benchmark_filter=};;"
                   " esac; done\n"
                   "echo \"$f\" >> " + calls + "\n"
                   "case $f in *threads*) m=threads;; *) m=coro-local;; esac\n"
                   "printf '{\"benchmarks\": [{\"name\": \"BM_A/model:%s\", \"real_time\": 1, "
                   "\"time_unit\": \"ns\"}]}' $m > \"$out\"\n"
                   "[ $m = threads ] && exit 6\nexit 0\n")
        summary = extras.run_micro(self.fake.bin, self.run_dir, [], 30, lambda m: None)
        with open(calls) as f:
            self.assertEqual(f.read().split(), ["^(BM_A/model:coro-local|BM_B/model:coro-local/size:1\\.5)$",
                                                "^(BM_A/model:threads)$"])
        with open(os.path.join(self.run_dir, "micro.csv"), newline="") as f:
            self.assertEqual([r["model"] for r in csv.DictReader(f)], ["coro-local", "threads"])
        entry = summary["binaries"][0]
        self.assertEqual((entry["status"], entry["processes"]), ("failed", 2))
        self.assertIn("model threads: exited", entry["reason"])

    @unittest.skipUnless(__import__("shutil").which("valgrind"), "valgrind not installed")
    def test_callgrind_counts_and_failures(self):
        # A shell script stands in for hotpath: callgrind counts the shell's instructions (no region markers, so
        # the whole process), and a case that exits non-zero is recorded failed.
        write_exec(os.path.join(self.fake.bin, "hotpath"), "#!/bin/sh\n"
                   "if [ \"$1\" = --list ]; then echo 'sh ok'; echo 'sh broken'; exit 0; fi\n"
                   "[ \"$4\" = broken ] && { echo 'hotpath: no such case' >&2; exit 3; }\nexit 0\n")
        extras.run_callgrind(self.fake.bin, self.run_dir, 120, lambda m: None)
        with open(os.path.join(self.run_dir, "callgrind.csv"), newline="") as f:
            rows = {r["case"]: r for r in csv.DictReader(f)}
        self.assertEqual(rows["ok"]["status"], "ok")
        self.assertGreater(int(rows["ok"]["instructions"]), 10000)
        self.assertEqual(rows["ok"]["region"], "whole-process")
        self.assertEqual(rows["broken"]["status"], "failed")
        self.assertIn("exited 3", rows["broken"]["reason"])

    def test_callgrind_total_parsing(self):
        path = os.path.join(self.run_dir, "x.out")
        with open(path, "w") as f:
            f.write("version: 1\nevents: Ir\nfn=main\n1 5\nsummary: 123456\ntotals: 123456\n")
        self.assertEqual(extras.parse_callgrind_total(path), 123456)


def registry_line(name, threads_option=False, offload=False):
    variants = [{"name": "offload", "args": ["--offload"], "workloads": ["compute"]}] if offload else []
    return json.dumps({"name": name, "summary": name, "language": "C++", "peer": False,
                       "threads_option": threads_option, "variants": variants})


class Registry(unittest.TestCase):
    def test_parse_reads_capabilities_in_order(self):
        parsed = backends.parse(registry_line("b", offload=True) + "\n\n" + registry_line("a", threads_option=True))
        self.assertEqual([b.name for b in parsed], ["b", "a"])
        self.assertEqual([v.name for v in parsed[0].variants_for("compute")], ["offload"])
        self.assertEqual(parsed[0].variants_for("http"), [])
        self.assertTrue(parsed[1].threads_option)

    def test_parse_refuses_a_line_that_is_not_an_entry(self):
        for bad in ("threads", '{"name": "threads"}', "[1, 2]"):
            with self.assertRaises(ValueError, msg=bad):
                backends.parse(bad)


class Profiles(unittest.TestCase):
    BACKENDS = backends.parse("\n".join([
        registry_line("threads"), registry_line("fiber", offload=True),
        registry_line("fiber-mt", threads_option=True, offload=True), registry_line("coro-local", offload=True),
        registry_line("coro", threads_option=True, offload=True), registry_line("asio"),
        registry_line("asio-mt", threads_option=True)]))

    def test_speed_profiles_cover_issue_13(self):
        """Efficiency at one fixed rate for every back end, 5 interleaved repetitions at 1,000 (default's, the 15-minute
        budget, which full repeats), 3 at full's 100 and 10,000 (issue 13.6 asks for >= 5 in default); capacity under the cap at 1,000 with 5 repetitions for http (full's
        other capacity cells have one: below); memory at 1,000 and 10,000 in both."""
        for name, counts, capacity_workloads in (("default", (1000,), {"http"}), ("full", (100, 1000, 10000),
                                                                                 {"http"})):
            specs = profiles.expand(profiles.PROFILES[name], self.BACKENDS, ["echo", "http"], 19000)
            fixed = [s for s in specs if s.mode == "open" and not s.search]
            for b in (b.name for b in self.BACKENDS):
                for w in ("echo", "http"):
                    self.assertEqual({s.connections for s in fixed if (s.backend, s.workload) == (b, w)},
                                     set(counts), (name, b, w))
                    for n in counts:
                        reps = [s for s in fixed if (s.backend, s.workload, s.connections) == (b, w, n)]
                        self.assertEqual(len(reps), 5 if n == 1000 else 3, (name, b, w, n))
                        self.assertEqual({tuple(s.loadgen_args) for s in reps}, {("--rate", "10000")})
                self.assertLessEqual({1000, 10000},
                                     {s.connections for s in specs if s.backend == b and s.mode == "idle"})
            capacity = [c for c in profiles.PROFILES[name].cells if c.search == "capacity" and c.repetitions == 5]
            self.assertEqual({(c.workload, c.connections, c.cpu_cap) for c in capacity},
                             {(w, (1000,), 0.5) for w in capacity_workloads}, name)

    def test_full_has_capacity_at_every_count_and_sweeps_for_http_and_echo(self):
        """Issue 13.4: capacity for http and echo at 100, 1,000 and 10,000 under the cap, and a sweep of 8-12 rates
        from 10 % to 120 % of it for both (the latency-load chart's rows)."""
        specs = profiles.expand(profiles.PROFILES["full"], self.BACKENDS, ["echo", "http"], 19000)
        for b in (b.name for b in self.BACKENDS):
            for w in ("echo", "http"):
                searched = {(s.connections, s.cpu_cap) for s in specs
                            if (s.backend, s.workload, s.search) == (b, w, "capacity")}
                self.assertEqual(searched, {(100, 0.5), (1000, 0.5), (10000, 0.5)}, (b, w))
                self.assertEqual([(s.connections, s.cpu_cap) for s in specs
                                  if (s.backend, s.workload, s.search) == (b, w, "sweep")], [(1000, 0.5)], (b, w))
        self.assertTrue(8 <= len(capacity.SWEEP_FRACTIONS) <= 12)
        self.assertEqual((min(capacity.SWEEP_FRACTIONS), max(capacity.SWEEP_FRACTIONS)), (0.1, 1.2))
        # every search of full but the first at 1,000 starts from what the run found before it: a sweep from its
        # cell's capacity, the other counts from the back end's own capacity at 1,000
        knowledge = capacity.Knowledge()
        for s in (s for s in specs if s.search):
            if s.connections != 1000 or s.search == "sweep":
                self.assertIn(knowledge.hint(s), ("own", "count"), s.label)
            knowledge.remember(s, 1.0)

    def test_full_repeats_defaults_cells_as_they_are(self):
        """default's cells are the reference runs' and the gate's: full runs each of them unchanged (same windows,
        rates, cap, repetitions), so that its rows at those counts compare with default's."""
        full = profiles.PROFILES["full"].cells
        for cell in profiles.PROFILES["default"].cells:
            self.assertTrue(any(c.workload == cell.workload and c.mode == cell.mode and c.search == cell.search
                                and set(cell.connections) <= set(c.connections)
                                and (c.duration_s, c.warmup_s, c.hold_s, c.loadgen_args, c.cpu_cap, c.slo_ms)
                                == (cell.duration_s, cell.warmup_s, cell.hold_s, cell.loadgen_args, cell.cpu_cap,
                                    cell.slo_ms)
                                and c.repetitions >= cell.repetitions for c in full), cell)

    def test_defaults_cells_keep_their_meaning(self):
        """results/reference and the gate compare against default's rows: its cells change only on purpose (then
        this list changes with the README's reference runs)."""
        cells = [(c.workload, c.mode, c.connections, c.duration_s, c.warmup_s, c.hold_s, c.loadgen_args, c.cpu_cap,
                  c.search, c.repetitions, c.variants, c.variant_counts) for c in profiles.PROFILES["default"].cells]
        rate = ("--rate", "10000")
        self.assertEqual(cells, [
            ("http", "open", (1000,), 0.75, 0.25, 0.0, rate, 0.0, "", 5, False, ()),
            ("echo", "open", (1000,), 0.75, 0.25, 0.0, rate, 0.0, "", 5, False, ()),
            ("http", "open", (1000,), 0.75, 0.25, 0.0, (), 0.5, "capacity", 5, False, ()),
            ("http", "closed", (1000,), 1.0, 0.25, 0.0, (), 0.0, "", 0, True, (1000,)),
            ("http", "idle", (1000, 10000), 1.0, 0.0, 1.0, (), 0.0, "", 0, True, (1000, 10000)),
            ("chat", "closed", (1000,), 1.0, 0.25, 0.0, profiles._CHAT, 0.0, "", 0, True, (1000,)),
            ("compute", "open", (100,), 1.5, 0.25, 0.0, profiles._COMPUTE, 0.0, "", 0, True, ()),
        ])
        self.assertEqual(profiles.PROFILES["default"].micro_args,
                         ("--benchmark_min_time=0.01", "--benchmark_repetitions=3"))


    def test_cell_repetitions_interleave(self):
        """A cell's own repetitions run in the later rounds, after every other cell's first: drift hits all alike."""
        specs = profiles.expand(profiles.PROFILES["ci"], self.BACKENDS, ["echo", "http"], 19000)
        open_http = [s for s in specs if (s.workload, s.mode) == ("http", "open")]
        self.assertEqual(sorted({s.repetition for s in open_http}), [0, 1, 2])
        self.assertEqual([s.repetition for s in specs], sorted(s.repetition for s in specs))
        self.assertTrue(all(s.repetition == 0 for s in specs if (s.workload, s.mode) != ("http", "open")))
        # --repetitions overrides every cell's own count
        self.assertEqual(len(profiles.expand(profiles.PROFILES["ci"], self.BACKENDS, ["http"], 19000, 2)),
                         2 * 3 * len(self.BACKENDS))

    def test_full_profile_reaches_the_largest_count(self):
        self.assertEqual(profiles.largest_connections(20000, 32768), 19000)
        specs = profiles.expand(profiles.PROFILES["full"], self.BACKENDS, ["http"], 19000, 1)
        for b in (b.name for b in self.BACKENDS):
            for mode, counts in (("closed", {1000, 10000, 19000}), ("idle", {1000, 5000, 10000, 19000})):
                self.assertEqual({s.connections for s in specs if s.backend == b and s.mode == mode}, counts)

    def test_variants_come_from_the_registry_and_runs_interleave(self):
        specs = profiles.expand(profiles.PROFILES["default"], self.BACKENDS, ["compute"], 19000, 3)
        variants = {(s.backend, s.variant) for s in specs}
        self.assertIn(("coro", "offload"), variants)
        self.assertNotIn(("threads", "offload"), variants)
        self.assertEqual([s.server_args for s in specs if s.variant == "offload"][0], ["--offload"])
        reps = [s.repetition for s in specs]
        self.assertEqual(reps, sorted(reps))  # repetition is the outer loop: back ends interleave inside it
        self.assertEqual([s.backend for s in specs[:2]], ["threads", "fiber"])

    def test_header_has_the_contract_columns(self):
        for column in ("backend", "profile", "workload", "connections", "mode", "duration_s", "requests", "rps",
                       "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "errors", "server_rss_bytes",
                       "rss_per_conn_bytes", "server_threads", "server_cpu_s", "kernel_per_conn_bytes",
                       "total_per_conn_bytes", "status", "reason"):
            self.assertIn(column, columns.HEADER)
        self.assertEqual(len(columns.HEADER), len(set(columns.HEADER)))


class Budgets(unittest.TestCase):
    """The profiles' time budgets (issue 13, acceptance 6) against bench_all's estimate, and the estimate against the
    quiet reference runs it comes from."""
    REFERENCE = os.path.join(REPO, "results", "reference")
    RUNS = ("default-2026-11-30-A", "default-2026-11-30-B")

    def registry(self, run):
        return backends.read_file(os.path.join(self.REFERENCE, run, backends.FILE_NAME))

    def test_every_profile_fits_its_budget_with_the_13_back_ends(self):
        registry = self.registry(self.RUNS[0])
        self.assertEqual(len(registry), 13)
        for name in ("ci", "default", "full"):
            profile = profiles.PROFILES[name]
            specs = profiles.expand(profile, registry, ["echo", "http", "chat", "compute"], 19000)
            total = sum(capacity.estimates(specs)) + profile.extras_s
            self.assertLessEqual(total, profile.budget_s, f"{name}: estimated {total / 60:.1f} min")

    def test_the_estimate_agrees_with_the_quiet_default_runs(self):
        """Per cell within 10 % of the runs' elapsed_s, in all within 5 %; the run's wall time (matrix + micro,
        callgrind, charts) within 5 % of the estimate with extras_s."""
        for run in self.RUNS:
            folder = os.path.join(self.REFERENCE, run)
            with open(os.path.join(folder, "results.csv"), newline="") as f:
                rows = list(csv.DictReader(f))
            with open(os.path.join(folder, "meta.json")) as f:
                meta = json.load(f)
            specs = profiles.expand(profiles.PROFILES["default"], self.registry(run),
                                    ["echo", "http", "chat", "compute"], meta["largest_connections"])
            self.assertEqual([(s.backend, s.variant, s.workload, s.mode, s.connections, s.repetition) for s in specs],
                             [(r["backend"], r["variant"], r["workload"], r["mode"], int(r["connections"]),
                               int(r["repetition"])) for r in rows], run)
            cells = {}
            for spec, estimate, row in zip(specs, capacity.estimates(specs), rows):
                key = (spec.workload, spec.mode, spec.connections, spec.search, spec.search and spec.repetition == 0)
                real_est = cells.setdefault(key, [0.0, 0.0])
                real_est[0] += float(row["elapsed_s"])
                real_est[1] += estimate
            for key, (real, estimate) in cells.items():
                self.assertAlmostEqual(estimate / real, 1.0, delta=0.10, msg=(run, key, real, estimate))
            real = sum(r for r, _ in cells.values())
            estimate = sum(e for _, e in cells.values())
            self.assertAlmostEqual(estimate / real, 1.0, delta=0.05, msg=(run, real, estimate))
            # wall_s ends with callgrind; charts and report (9-12 s) come after it
            self.assertAlmostEqual((estimate + profiles.PROFILES["default"].extras_s) / (meta["wall_s"] + 12), 1.0,
                                   delta=0.05, msg=(run, meta["wall_s"]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
