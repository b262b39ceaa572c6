#!/usr/bin/env python3
"""The soak profile's judgement (bench/bench_all/soak.py) on fixture timelines (fixtures/soak/README.md): the
least-squares slope, the warm-up left out of it, and a row made `degraded` with a reason that names the slope or what
was left behind — never for a healthy timeline."""
import csv
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "bench", "bench_all"))
import columns  # noqa: E402
import runner  # noqa: E402
import soak  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "scripts"))
import soak_rejudge  # noqa: E402
import soak_table  # noqa: E402

FIXTURES = os.path.join(HERE, "fixtures", "soak")


class Slope(unittest.TestCase):
    def test_least_squares_of_a_line_is_its_slope(self):
        self.assertAlmostEqual(soak.least_squares_slope([0, 1, 2, 3], [5, 7, 9, 11]), 2.0)
        self.assertAlmostEqual(soak.least_squares_slope([0, 1, 2, 3], [1, 0, 0, 1]), 0.0)

    def test_no_slope_without_two_distinct_points(self):
        self.assertIsNone(soak.least_squares_slope([], []))
        self.assertIsNone(soak.least_squares_slope([4], [1]))
        self.assertIsNone(soak.least_squares_slope([4, 4], [1, 9]))

    def test_a_flat_timeline_after_its_warm_up_has_a_small_slope(self):
        per_min, per_kconn = soak.rss_slopes(soak.read_timeline(os.path.join(FIXTURES, "flat.csv")))
        # ±64 KiB of uniform noise fitted over 90 s: a standard error of ~9 KiB/min (3 sigma below), while the
        # warm-up alone rose 8 MB in 20 s and would be ~2 MB/min if it were fitted.
        self.assertLess(abs(per_min), 28 * 1024)
        self.assertLess(abs(per_kconn), 28 * 1024 / 60)

    def test_a_leak_of_208_bytes_per_connection_is_measured(self):
        per_min, per_kconn = soak.rss_slopes(soak.read_timeline(os.path.join(FIXTURES, "leak.csv")))
        self.assertAlmostEqual(per_kconn, 208_000, delta=1_000)
        self.assertAlmostEqual(per_min, 208 * 1000 * 60, delta=60_000)

    def test_a_one_second_spike_is_not_growth_but_a_raised_floor_is(self):
        self.assertEqual(soak.rss_floor([10, 10, 90, 10, 10]), [10, 10, 10, 10, 10])
        self.assertEqual(soak.rss_floor([10, 10, 90, 90, 90]), [10, 10, 10, 90, 90])
        spiky = [{"second": float(s), "churned": 1000.0 * s, "server_rss_bytes": 5e6 + (3e6 if s == 110 else 0)}
                 for s in range(120)]
        per_min, per_kconn = soak.rss_slopes(spiky)
        self.assertEqual((per_min, per_kconn), (0.0, 0.0))

    def test_the_warm_up_is_a_quarter_of_the_run_but_at_least_30_s(self):
        samples = soak.read_timeline(os.path.join(FIXTURES, "flat.csv"))
        self.assertEqual(soak.warmup_seconds(samples), 30)
        long_run = [{"second": float(s), "server_rss_bytes": 1.0} for s in range(600)]
        self.assertAlmostEqual(soak.warmup_seconds(long_run), 599 * 0.25)

    def test_the_settle_after_the_load_is_not_fitted(self):
        # 10,000 connections and a 1 KiB-per-minute-ish leak for 200 s, then the load ends: fds fall to idle and a
        # thread per connection gives 80 MB back. Fitted with the settle, the leak would read as a steep fall.
        loaded = [{"second": float(t), "churned": 1000.0 * t, "server_fds": 10_008.0,
                   "server_rss_bytes": 95e6 + 100.0 * t} for t in range(1, 200)]
        settle = [{"second": float(t), "churned": 199_000.0, "server_fds": 8.0, "server_rss_bytes": 12e6}
                  for t in range(200, 210)]
        idle = [{"second": 0.0, "churned": 0.0, "server_fds": 8.0, "server_rss_bytes": 5e6}]
        samples = idle + loaded + settle
        self.assertEqual(soak.under_load(samples), idle + loaded)
        per_min, per_kconn = soak.rss_slopes(samples)
        self.assertAlmostEqual(per_min, 6000.0, delta=10.0)  # the floor lowers the last sample by one step
        self.assertAlmostEqual(per_kconn, 100.0, delta=0.2)
        unreadable = [dict(s, server_fds=-1.0) for s in samples]
        self.assertEqual(soak.under_load(unreadable), unreadable)

    def test_unreadable_samples_are_left_out(self):
        folder = tempfile.mkdtemp()
        try:
            path = os.path.join(folder, "t.csv")
            with open(path, "w") as f:
                f.write("second,churned,errors,server_rss_bytes,server_fds,server_threads,server_cpu_s\n"
                        "0,0,0,100,5,2,0.0\n1,10,0,-1,-1,-1,-1\n2,20,0,120,5,2,0.1\n")
            self.assertEqual([s["second"] for s in soak.read_timeline(path)], [0.0, 2.0])
            self.assertEqual(soak.read_timeline(os.path.join(folder, "missing.csv")), [])
        finally:
            shutil.rmtree(folder)


class HighWater(unittest.TestCase):
    """growth_at_peaks: RSS that steps up only when open connections pile up past their peak is a high-water mark;
    RSS that climbs with connections churned is not, whatever the peaks do."""

    @staticmethod
    def timeline(rss_at, fds_at):
        return [{"second": float(t), "churned": 1000.0 * t, "server_rss_bytes": rss_at(t), "server_fds": fds_at(t)}
                for t in range(120)]

    def test_steps_at_new_peaks_are_the_peaks(self):
        fds = lambda t: 10_000 + {50: 300, 90: 500}.get(t, 0)  # noqa: E731
        rss = lambda t: 40e6 + (1 << 20) * ((t >= 51) + (t >= 92))  # noqa: E731
        steps, at_peak, up, up_at_peak = soak.growth_at_peaks(self.timeline(rss, fds))
        self.assertEqual((steps, at_peak), (2, 2))
        self.assertEqual(up, up_at_peak)
        self.assertEqual(up, 2 * (1 << 20))

    def test_growth_with_churn_is_not(self):
        fds = lambda t: 10_000 + (300 if t == 50 else 0)  # noqa: E731
        rss = lambda t: 40e6 + 8192 * (t // 4)  # noqa: E731
        steps, at_peak, up, up_at_peak = soak.growth_at_peaks(self.timeline(rss, fds))
        self.assertGreater(steps, 15)
        self.assertLessEqual(at_peak, 1)
        self.assertLess(up_at_peak, 0.1 * up)

    def test_a_row_says_so_only_when_the_peaks_explain_the_slope(self):
        folder = tempfile.mkdtemp()
        try:
            for sub in ("logs", "timelines", "hdr"):
                os.mkdir(os.path.join(folder, sub))
            fds = lambda t: 10_000 + {50: 300, 90: 500}.get(t, 0)  # noqa: E731
            for rss, named in ((lambda t: 40e6 + (1 << 20) * ((t >= 51) + (t >= 91)), True),
                               (lambda t: 40e6 + 8192 * (t // 4), False)):
                part = soak.Part("fiber", "http", 10_000, [], 1000, 2.0, folder, [])
                part.row = runner.new_row(part.spec, "soak", 1)
                with open(part.paths.timeline, "w") as f:
                    f.write("second,churned,errors,server_rss_bytes,server_fds,server_threads,server_cpu_s\n")
                    f.writelines(f"{t},{1000 * t},0,{rss(t):.0f},{fds(t)},2,0\n" for t in range(120))
                with open(part.churn_json, "w") as f:
                    json.dump(FinishRow.CHURN, f)
                with open(part.paths.json, "w") as f:
                    json.dump({"workload": "http", "mode": "open", "errors": 0, "status": "ok", "reason": ""}, f)
                soak._finish_row(part, 1024.0, None, 0)
                self.assertEqual(part.row["status"], "degraded")
                self.assertEqual("high-water mark" in part.row["reason"], named, part.row["reason"])
        finally:
            shutil.rmtree(folder)


class Judge(unittest.TestCase):
    IDLE = {"fds": 8, "threads": 3}

    def test_healthy(self):
        self.assertEqual(soak.judge(100.0, 1024.0, self.IDLE, dict(self.IDLE)), [])

    def test_a_slope_over_the_threshold(self):
        reasons = soak.judge(5000.0, 1024.0, self.IDLE, dict(self.IDLE))
        self.assertEqual(len(reasons), 1)
        self.assertIn("5000 B/min", reasons[0])
        self.assertIn("threshold 1024", reasons[0])

    def test_fds_and_threads_left_behind(self):
        reasons = soak.judge(0.0, 1024.0, self.IDLE, {"fds": 10, "threads": 4})
        self.assertEqual(reasons, ["2 fds left behind (10 at the end, 8 idle)",
                                   "1 threads left behind (4 at the end, 3 idle)"])

    def test_fewer_threads_than_idle_is_fine_and_unknowns_are_said(self):
        self.assertEqual(soak.judge(0.0, 1024.0, self.IDLE, {"fds": 8, "threads": 1}), [])
        self.assertEqual(soak.judge(None, 1024.0, self.IDLE, {"fds": -1, "threads": 3}),
                         ["RSS slope not measurable (too few samples after the warm-up)", "server fds unreadable"])


class FinishRow(unittest.TestCase):
    """A soak row from a fixture timeline and a churn record, as soak.py writes it into results.csv."""

    def setUp(self):
        self.folder = tempfile.mkdtemp()
        for sub in ("logs", "timelines", "hdr"):
            os.mkdir(os.path.join(self.folder, sub))

    def tearDown(self):
        shutil.rmtree(self.folder)

    def row(self, fixture, churn):
        part = soak.Part("threads", "http", 10_000, [], 1000, 2.0, self.folder, [])
        part.row = runner.new_row(part.spec, "soak", 1)
        shutil.copy(os.path.join(FIXTURES, fixture), part.paths.timeline)
        with open(part.churn_json, "w") as f:
            json.dump(churn, f)
        with open(part.paths.json, "w") as f:  # the main loadgen's record
            json.dump({"workload": "http", "mode": "open", "errors": 0, "status": "ok", "reason": ""}, f)
        soak._finish_row(part, 1024.0, None, 0)
        return part.row

    CHURN = {"churned": 120_000, "errors": 0, "dropped": 0, "before_fds": 8, "after_fds": 8, "before_threads": 3,
             "after_threads": 3}

    def test_the_leaking_timeline_is_degraded_with_its_slope(self):
        row = self.row("leak.csv", self.CHURN)
        self.assertEqual(row["status"], "degraded")
        self.assertIn("RSS grows", row["reason"])
        self.assertAlmostEqual(row["rss_slope_bytes_per_kconn"], 208_000, delta=1_000)
        self.assertEqual(row["churned_connections"], 120_000)
        self.assertEqual(row["mode"], "soak")  # not the load generator's "open"

    def test_left_behind_and_churn_errors_are_reasons(self):
        row = self.row("flat.csv", dict(self.CHURN, after_fds=9, errors=3))
        self.assertEqual(row["status"], "degraded")
        self.assertIn("churn: 3 connections failed", row["reason"])
        self.assertIn("1 fds left behind", row["reason"])
        self.assertEqual((row["server_fds_idle"], row["server_fds_after"], row["threads_after"]), (8, 9, 3))

    def test_no_churn_record_fails_the_row(self):
        part = soak.Part("threads", "chat", 1000, [], 0, 2.0, self.folder, [])
        part.row = runner.new_row(part.spec, "soak", 1)
        soak._finish_row(part, 1024.0, None, 0)
        self.assertEqual(part.row["status"], "failed")
        self.assertIn("loadgen churn wrote no record", part.row["reason"])


class Lanes(unittest.TestCase):
    """`--soak-lanes N` soaks N back ends at a time and still writes one row per back end and workload, in registry
    order, with distinct run indexes, whatever order the lanes finish in."""

    def setUp(self):
        self.folder = tempfile.mkdtemp()
        self.real = soak.soak_backend
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def tearDown(self):
        soak.soak_backend = self.real
        shutil.rmtree(self.folder)

    def fake_backend(self, backend, minutes, max_slope, index, run_dir, server, loadgen, pinning, workloads,
                     server_args):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep({"threads": 0.6, "asio": 0.1}.get(backend, 0.3))  # the first back end finishes last
        with self.lock:
            self.running -= 1
        return [dict(backend=backend, workload=w, run_index=index + k, status="ok", reason="")
                for k, w in enumerate(workloads)]

    def run_soak(self, lanes):
        soak.soak_backend = self.fake_backend
        args = types.SimpleNamespace(soak_minutes=0.01, soak_max_slope=1024.0, soak_lanes=lanes, no_pin=True,
                                     strict=False)
        backends = [types.SimpleNamespace(name=n) for n in ("threads", "asio", "fiber", "coro-local")]
        code = soak.run(args, self.folder, backends, ["http", "chat"], [], "server", "loadgen", {}, lambda _: None,
                        None)
        with open(os.path.join(self.folder, "results.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        return code, rows

    def test_lanes_run_side_by_side_and_rows_keep_registry_order(self):
        code, rows = self.run_soak(3)
        self.assertEqual(code, 0)
        self.assertEqual(self.most, 3)
        self.assertEqual([(r["backend"], r["workload"]) for r in rows],
                         [(b, w) for b in ("threads", "asio", "fiber", "coro-local") for w in ("http", "chat")])
        self.assertEqual([int(r["run_index"]) for r in rows], list(range(1, 9)))
        with open(os.path.join(self.folder, "meta.json")) as f:
            self.assertEqual(json.load(f)["soak_lanes"], 3)

    def test_one_lane_is_one_back_end_at_a_time(self):
        code, rows = self.run_soak(1)
        self.assertEqual((code, self.most, len(rows)), (0, 1, 8))


class SoakTable(unittest.TestCase):
    """scripts/soak_table.py: the README's table from the lanes of one soak, every row whatever its status."""

    def setUp(self):
        self.folders = [tempfile.mkdtemp(), tempfile.mkdtemp()]

    def tearDown(self):
        for folder in self.folders:
            shutil.rmtree(folder)

    def write(self, folder, rows):
        with open(os.path.join(folder, "results.csv"), "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns.HEADER)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: row.get(k, "") for k in columns.HEADER})
        with open(os.path.join(folder, "backends.jsonl"), "w") as f:
            f.write("".join(json.dumps({"name": n}) + "\n" for n in ("threads", "asio", "coro-local")))
        with open(os.path.join(folder, "meta.json"), "w") as f:
            json.dump({"soak_minutes": 10}, f)

    def test_lanes_merge_in_registry_order_with_reasons(self):
        base = dict(mode="soak", server_fds_idle=8, server_fds_after=8, threads_after=2, errors=0, status="ok")
        self.write(self.folders[0], [
            dict(base, backend="coro-local", workload="http", rss_slope_bytes_per_min=12.5,
                 rss_slope_bytes_per_kconn=0.2, churned_connections=600000),
            dict(base, backend="closed-row", workload="http", mode="closed")])
        self.write(self.folders[1], [
            dict(base, backend="threads", workload="chat", rss_slope_bytes_per_min=-3, lost=0),
            dict(base, backend="threads", workload="http", rss_slope_bytes_per_min=5000, rss_slope_bytes_per_kconn=83,
                 churned_connections=599000, status="degraded", reason="RSS grows 5000 B/min | x")])
        text = soak_table.table(self.folders)
        lines = [line for line in text.splitlines() if line.startswith("| ") and "back end" not in line]
        self.assertEqual([line.split("|")[1:3] for line in lines],
                         [[" threads ", " chat "], [" threads ", " http "], [" coro-local ", " http "]])
        self.assertIn("| 5,000 | 83 | 599,000 | 8 / 8 | 2 | 0 | – | degraded: RSS grows 5000 B/min / x |", text)
        self.assertIn("| -3 | – | – | 8 / 8 | 2 | 0 | 0 | ok |", text)
        self.assertIn("10 min per back end", text)


class Rejudge(unittest.TestCase):
    """scripts/soak_rejudge.py: a finished soak judged again by today's soak.py into a new folder, from the files the
    run kept; the source stays as written and an existing folder is never overwritten."""

    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.source = os.path.join(self.root, "lane")
        for sub in ("logs", "timelines"):
            os.makedirs(os.path.join(self.source, sub))
        stem = "threads-http-soak-10000-r0"
        with open(os.path.join(self.source, "timelines", stem + ".csv"), "w") as f:
            f.write("second,churned,errors,server_rss_bytes,server_fds,server_threads,server_cpu_s\n")
            f.writelines(f"{t},{1000 * t},0,{95e6 + 100 * t:.0f},10008,2,0\n" for t in range(1, 200))
            f.writelines(f"{t},199000,0,12000000,8,2,0\n" for t in range(200, 210))  # the settle
        with open(os.path.join(self.source, "logs", stem + ".churn.json"), "w") as f:
            json.dump(FinishRow.CHURN, f)
        with open(os.path.join(self.source, "logs", stem + ".json"), "w") as f:
            json.dump({"workload": "http", "mode": "open", "errors": 0, "status": "ok", "reason": ""}, f)
        with open(os.path.join(self.source, "backends.jsonl"), "w") as f:
            f.write(json.dumps({"name": "threads"}) + "\n")
        with open(os.path.join(self.source, "meta.json"), "w") as f:
            json.dump({"soak_minutes": 3.5, "wall_s": 230}, f)
        self.csv = os.path.join(self.source, "results.csv")
        with open(self.csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns.HEADER)
            writer.writeheader()
            writer.writerow({k: "" for k in columns.HEADER} | dict(
                backend="threads", workload="http", mode="soak", connections=10000, status="ok",
                rss_slope_bytes_per_min=-380000, churned_connections=120000, log="logs/" + stem,
                timeline="timelines/" + stem + ".csv"))

    def tearDown(self):
        shutil.rmtree(self.root)

    def test_a_row_is_judged_again_and_the_source_kept(self):
        with open(self.csv) as f:
            before = f.read()
        out = os.path.join(self.root, "rejudged")
        self.assertEqual(soak_rejudge.main(["x", out, self.source]), 0)
        with open(self.csv) as f:
            self.assertEqual(f.read(), before)
        with open(os.path.join(out, "results.csv"), newline="") as f:
            (row,) = list(csv.DictReader(f))
        self.assertAlmostEqual(float(row["rss_slope_bytes_per_min"]), 6000, delta=10)
        self.assertEqual(row["status"], "degraded")  # 6 KB/min is over the 1 KiB/min threshold
        self.assertTrue(os.path.exists(os.path.join(out, row["timeline"])))
        with open(os.path.join(out, "meta.json")) as f:
            meta = json.load(f)
        self.assertEqual((meta["soak_minutes"], meta["rejudged_from"]), (3.5, ["../lane"]))
        self.assertEqual(soak_rejudge.main(["x", out, self.source]), 1)  # never overwritten


if __name__ == "__main__":
    unittest.main()
