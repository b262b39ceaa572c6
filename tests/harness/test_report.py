#!/usr/bin/env python3
"""report.py (stdlib) and charts.py (matplotlib, found by scripts/find-python) on a synthetic results folder:
every chart of issue 7 is drawn as PNG and SVG, and the report holds the run description, headline ratios, tables,
charts and the failed runs with their reasons. Exits 77 (ctest: skipped) for the charts part when no interpreter
here can import matplotlib."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness_util import SCRIPTS  # noqa: E402
import fixture_run  # noqa: E402

CHARTS = ("memory_per_connection", "memory_split", "throughput", "latency", "hdr_distribution", "timeline", "micro",
          "cpu_per_request")


def plot_python():
    out = subprocess.run([os.path.join(SCRIPTS, "find-python")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return out.stdout.decode().strip() if out.returncode == 0 else None


class FixtureFolder(unittest.TestCase):
    """A synthetic results folder (fixture_run.make(**FIXTURE)) for the class's tests, and its report."""

    FIXTURE: dict = {}  # fixture_run.make's arguments for this class's folder

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tvt-report-")
        cls.folder = os.path.join(cls.tmp, "run")
        fixture_run.make(cls.folder, **cls.FIXTURE)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def report(self):
        out = subprocess.run([sys.executable, os.path.join(SCRIPTS, "report.py"), self.folder], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        self.assertEqual(out.returncode, 0, out.stdout.decode())
        with open(os.path.join(self.folder, "report.md")) as f:
            md = f.read()
        with open(os.path.join(self.folder, "report.html")) as f:
            page = f.read()
        return md, page

    def charts(self):
        """scripts/charts.py on the folder with the interpreter that has matplotlib (the test skips without one)."""
        python = plot_python()
        if not python:
            self.skipTest("no python3 with matplotlib")
        out = subprocess.run([python, os.path.join(SCRIPTS, "charts.py"), self.folder], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        self.assertEqual(out.returncode, 0, out.stdout.decode())


class Report(FixtureFolder):
    FIXTURE = dict(failed_row=True)

    def test_1_report_without_charts(self):
        md, page = self.report()
        for text in ("## What was run", "AMD EPYC (fixture)", "pid_max 32768", "`0123456789ab`", "## Headlines",
                     "threads ÷ coro-local", "## Memory per idle connection", "## Throughput and latency",
                     "## Micro-benchmarks", "## Instruction counts", "## Failed and degraded runs",
                     "signal 11 (SIGSEGV)", "fake: segfault", "scripts/charts.py"):
            self.assertIn(text, md)
        self.assertIn("<table>", page)

    def test_2_charts_and_report_with_charts(self):
        self.charts()
        for name in CHARTS:
            for ext in ("png", "svg"):
                path = os.path.join(self.folder, "charts", f"{name}.{ext}")
                self.assertTrue(os.path.getsize(path) > 5000, path)
        with open(os.path.join(self.folder, "charts", "index.json")) as f:
            micro = next(c for c in json.load(f)["charts"] if c["name"] == "micro")
        # per-unit questions, every model that answered in one panel; the question one model answered is left out
        self.assertEqual(micro["panels"], {
            "spawn + join one unit": ["threads", "fiber", "coro-local", "coro", "asio"],
            "one round trip between two units (2 switches)": ["threads", "fiber", "coro-local", "coro"],
            "one yield": ["threads", "fiber", "coro-local"],
            "RSS per parked unit": ["threads", "fiber", "coro-local"]})
        md, page = self.report()
        for name in CHARTS:
            self.assertIn(f"charts/{name}.png", md)
        self.assertEqual(page.count("data:image/png;base64,"), len(CHARTS))


class SpeedWithRepetitions(FixtureFolder):
    """Issue 13.6: with repetitions, the report leads its speed part with CPU per request at the fixed rate and
    capacity under the cap as median [95 % interval], says which differences are within noise, and the charts draw
    them with error bars."""

    FIXTURE = dict(repetitions=5, capacity=True, noise=0.05, scale_cost={"threads": 1.6})

    def test_report_shows_intervals_and_noise(self):
        md, _ = self.report()
        speed, capacity, closed = (md.index(h) for h in ("## Speed: CPU per request at a fixed rate",
                                                         "## Capacity at the latency SLO", "## Throughput and latency"))
        self.assertLess(speed, capacity)
        self.assertLess(capacity, closed)
        threads = next(line for line in md[speed:capacity].splitlines() if line.startswith("| threads |"))
        self.assertRegex(threads, r"\| [0-9.]+ \[[0-9.]+–[0-9.]+\] \|")  # median [lo–hi]
        self.assertIn("pairs of back ends are told apart", md)
        self.assertRegex(md, r"< threads [0-9.]+ \(")  # threads, 1.6x the CPU, is apart from the rest, and last

    def test_charts_draw_error_bars(self):
        self.charts()
        for name in ("cpu_per_request", "capacity"):
            self.assertTrue(os.path.getsize(os.path.join(self.folder, "charts", f"{name}.png")) > 5000, name)


class LatencyLoad(FixtureFolder):
    """Issue 13, acceptance 3: the latency-load chart for http and echo, one curve per back end, against the offered
    rate and against the fraction of each back end's capacity, p50/p99/p99.9 on a log axis."""
    FIXTURE = dict(capacity=True, sweep=True)

    def test_curves_against_the_rate_and_the_fraction_of_capacity(self):
        sys.path.insert(0, SCRIPTS)
        import chart_latency_load
        import tvt_results
        rows = [r for r in tvt_results.Results(self.folder).ok() if r.get("search") == "sweep"]
        http = [r for r in rows if r["workload"] == "http"]
        by_rate, by_fraction = (chart_latency_load.curves(http, "p99_us", x) for x in ("target_rate", "offered_fraction"))
        self.assertEqual(set(by_rate), set(fixture_run.BACKENDS))
        for name in fixture_run.BACKENDS:
            self.assertEqual([x for x, _ in by_fraction[name]], sorted(fixture_run.SWEEP_FRACTIONS))
            capacity = chart_latency_load.capacities(http)[name]
            self.assertAlmostEqual(by_rate[name][-1][0] / capacity, max(fixture_run.SWEEP_FRACTIONS), delta=0.01)
            p99 = [v for _, v in by_fraction[name]]
            self.assertEqual(p99, sorted(p99))  # the fixture's knee: latency only grows with the load

    def test_the_chart_has_both_workloads_every_back_end_and_both_x_axes(self):
        self.charts()
        with open(os.path.join(self.folder, "charts", "latency_load.svg")) as f:
            svg = f.read()
        for workload in ("http", "echo"):
            for quantile in ("p50", "p99", "p99.9"):
                self.assertIn(f"{workload}, 1,000 connections, server capped at 0.5 core: {quantile}", svg)
                self.assertIn(f"{quantile} by fraction of capacity ({workload}, 1,000)", svg)
        for name in fixture_run.BACKENDS:
            self.assertIn(f">{name}<", svg.replace(" ", ""))
        self.assertIn("offered load (fraction of the back end", svg)
        self.assertIn("offered load (requests/s, open loop)", svg)


if __name__ == "__main__":
    if not plot_python() and os.environ.get("TVT_REQUIRE_CHARTS") == "1":
        sys.exit(77)
    unittest.main(verbosity=2)
