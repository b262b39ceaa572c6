#!/usr/bin/env python3
"""scripts/compare_runs.py (issue 13's acceptance 1-2 as a tool) and the medians with confidence intervals it rests
on (tvt_results.median_ci), on seeded synthetic runs (fixture_run.make, 5 repetitions with capacity rows): two runs
of the same back ends within 1 % agree; a 5 % move of the syscall counts, a 30 % move of one back end's CPU per
request, a 15 % lower capacity, and a ranking whose intervals overlap each make it exit 1 and name the check."""
import io
import os
import statistics
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness_util import SCRIPTS  # noqa: E402
import fixture_run  # noqa: E402

sys.path.insert(0, SCRIPTS)
import compare_runs  # noqa: E402
import tvt_results as tr  # noqa: E402


def misses(text):
    return [line for line in text.splitlines() if line.rstrip().endswith("MISS")]


class CompareRuns(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="tvt-compare-")
        cls.runs = {}
        for name, kwargs in {
            "a": dict(seed=21),
            "b": dict(seed=22),
            "counts": dict(seed=23, scale_counts={"fiber": 1.05}),
            "cpu": dict(seed=24, scale_cost={"coro": 1.3}),
            "capacity": dict(seed=25, scale_capacity={"asio": 0.85}),
            "noisy": dict(seed=26, noise=0.3),
        }.items():
            folder = os.path.join(cls.tmp.name, name)
            fixture_run.make(folder, gate_only=True, repetitions=5, capacity=True,
                             noise=kwargs.pop("noise", 0.005), **kwargs)
            cls.runs[name] = folder

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def compare(self, a, b):
        out = io.StringIO()
        code = compare_runs.main([self.runs[a], self.runs[b]], out)
        return code, out.getvalue()

    def test_two_runs_of_the_same_code_agree(self):
        code, text = self.compare("a", "b")
        self.assertEqual(code, 0, text)
        self.assertIn("AGREE", text)
        for check in ("syscalls_per_op", "ctx_switches_per_op", "instructions threads callgrind server-http",
                      "server_cpu_us_per_op", "capacity", "rank by CPU/request", "rank by capacity"):
            self.assertIn(check, text)

    def test_counts_moved_by_5_percent_miss(self):
        code, text = self.compare("a", "counts")
        self.assertEqual(code, 1, text)
        self.assertEqual({line.split()[0] + " " + line.split()[1] for line in misses(text)},
                         {"syscalls_per_op fiber"}, text)  # fiber's 0.007 switches move by less than the floor

    def test_cpu_per_request_30_percent_higher_misses(self):
        code, text = self.compare("a", "cpu")
        self.assertEqual(code, 1, text)
        bad = misses(text)
        self.assertIn("server_cpu_us_per_op coro http", "\n".join(bad), text)
        self.assertIn("capacity coro ", "\n".join(bad), text)  # the fixture's capacity follows CPU per request
        self.assertTrue(all(" coro " in line or "coro vs" in line or "vs coro " in line for line in bad), text)

    def test_capacity_15_percent_lower_misses(self):
        code, text = self.compare("a", "capacity")
        self.assertEqual(code, 1, text)
        self.assertTrue(misses(text), text)
        self.assertTrue(all(line.startswith(("capacity asio ", "rank by capacity")) for line in misses(text)), text)

    def test_overlapping_intervals_fail_a_ranking(self):
        """+-30 % scatter between repetitions: back ends 15-60 % apart can no longer be told apart."""
        code, text = self.compare("noisy", "noisy")
        self.assertEqual(code, 1, text)
        self.assertIn("intervals overlap", text)
        self.assertTrue(all(line.startswith("rank by") for line in misses(text)), text)

    def test_usage(self):
        self.assertEqual(compare_runs.main([self.runs["a"]], io.StringIO()), 2)
        self.assertEqual(compare_runs.main([self.runs["a"], "/nonexistent"], io.StringIO()), 2)


class MedianInterval(unittest.TestCase):
    def test_order_statistic_interval(self):
        # n = 9: [x(2), x(8)], coverage 1 - 2 * (1 + 9) / 512 = 96.1 %
        e = tr.median_ci([5, 1, 9, 3, 7, 2, 8, 4, 6])
        self.assertEqual((e.median, e.lo, e.hi, e.n), (5, 2, 8, 9))
        self.assertAlmostEqual(e.coverage, 1 - 2 * 10 / 512)
        # n = 5: no pair of order statistics reaches 95 %: [min, max] at 93.75 %
        e = tr.median_ci([3.0, 1.0, 2.0, 5.0, 4.0])
        self.assertEqual((e.lo, e.hi), (1.0, 5.0))
        self.assertAlmostEqual(e.coverage, 0.9375)
        # n = 20: k = 6 (P(Bin(20, .5) <= 5) = 2.07 %), coverage 95.9 %
        e = tr.median_ci(range(1, 21))
        self.assertEqual((e.lo, e.hi), (6, 15))
        self.assertAlmostEqual(e.coverage, 1 - 2 * sum(__import__("math").comb(20, i) for i in range(6)) / 2 ** 20)
        self.assertEqual(tr.median_ci([None, 4.0]).n, 1)
        self.assertFalse(tr.median_ci([4.0]).has_interval)
        self.assertIsNone(tr.median_ci([]))

    def test_coverage_holds_by_simulation(self):
        """The interval covers the true median of a skewed distribution at least as often as it says."""
        import random
        rng = random.Random(5)
        for n in (5, 9):
            hits = 0
            for _ in range(4000):
                e = tr.median_ci([rng.expovariate(1.0) for _ in range(n)])
                hits += e.lo <= statistics.median([0.6931471805599453]) <= e.hi
            self.assertGreater(hits / 4000, e.coverage - 0.02, n)

    def test_sweep_rows_are_not_capacity_rows(self):
        """A sweep row carries the capacity it was derived from; only the search's own row is a capacity."""
        base = dict(backend="coro", variant="", workload="http", mode="open", connections="1000", cpu_cap="0.5",
                    capacity_rps_at_slo="60000", target_rate="30000")
        self.assertTrue(tr.is_capacity_row(dict(base, search="capacity")))
        self.assertFalse(tr.is_capacity_row(dict(base, search="sweep", offered_fraction="0.5")))
        self.assertTrue(tr.is_capacity_row(dict(base)))  # a folder without the search column
        self.assertEqual(tr.cell_key(dict(base, search="sweep", offered_fraction="0.5"))[4], "cap 0.5 50% of capacity")
        self.assertEqual(tr.cell_key(dict(base, search="capacity"))[4], "cap 0.5 capacity")

    def test_noise_chain_says_which_differences_are_noise(self):
        a = tr.median_ci([4.0, 4.1, 4.2])
        b = tr.median_ci([4.15, 4.3, 4.4])   # overlaps a
        c = tr.median_ci([9.0, 9.5, 10.0])  # apart
        self.assertEqual(tr.noise_chain([("c", c), ("b", b), ("a", a)]), "a 4.1 ≈ b 4.3 < c 9.5")
        self.assertTrue(tr.distinct(a, c))
        self.assertFalse(tr.distinct(a, b))
        self.assertEqual(tr.fmt_estimate(a, 1), "4.1 [4.0–4.2]")


if __name__ == "__main__":
    unittest.main(verbosity=2)
