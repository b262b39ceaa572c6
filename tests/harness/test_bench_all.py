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
        """Efficiency at one fixed rate for every back end, 5 interleaved repetitions: default at 1,000 (the 15-minute
        budget), full at 100, 1,000 and 10,000; capacity under the cap at 1,000 (default: http; full: http and echo);
        memory at 1,000 and 10,000 in both."""
        for name, counts, capacity_workloads in (("default", (1000,), {"http"}), ("full", (100, 1000, 10000),
                                                                                 {"http", "echo"})):
            specs = profiles.expand(profiles.PROFILES[name], self.BACKENDS, ["echo", "http"], 19000)
            fixed = [s for s in specs if s.mode == "open" and not s.search]
            for b in (b.name for b in self.BACKENDS):
                for w in ("echo", "http"):
                    self.assertEqual({s.connections for s in fixed if (s.backend, s.workload) == (b, w)},
                                     set(counts), (name, b, w))
                    for n in counts:
                        reps = [s for s in fixed if (s.backend, s.workload, s.connections) == (b, w, n)]
                        self.assertEqual(len(reps), 5, (name, b, w, n))
                        self.assertEqual({tuple(s.loadgen_args) for s in reps}, {("--rate", "10000")})
                self.assertLessEqual({1000, 10000},
                                     {s.connections for s in specs if s.backend == b and s.mode == "idle"})
            capacity = [c for c in profiles.PROFILES[name].cells if c.search == "capacity" and c.repetitions == 5]
            self.assertEqual({(c.workload, c.connections, c.cpu_cap) for c in capacity},
                             {(w, (1000,), 0.5) for w in capacity_workloads}, name)

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


if __name__ == "__main__":
    unittest.main(verbosity=2)
