#!/usr/bin/env python3
"""scripts/repetitions_needed.py: the scatter of one repetition pooled about each run's own mean, the chance that two
runs' medians agree, and the least repetition count, on synthetic runs whose scatter is known."""
import csv
import math
import os
import random
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "bench_all"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import columns  # noqa: E402
import repetitions_needed as rn  # noqa: E402


class Arithmetic(unittest.TestCase):
    def test_a_shift_between_runs_is_not_scatter(self):
        self.assertAlmostEqual(rn.pooled_cv(([10, 10, 10], [20, 20, 20])), 0.0)
        self.assertAlmostEqual(rn.pooled_cv(([9, 11], [18, 22])), math.sqrt(0.04 / 2), places=9)

    def test_more_repetitions_agree_more_often(self):
        chances = [rn.p_within(0.11, n, 0.10) for n in (5, 9, 25)]
        self.assertEqual(chances, sorted(chances))
        self.assertAlmostEqual(chances[0], math.erf(0.10 / (0.11 * math.sqrt(math.pi / 5) * math.sqrt(2))))
        self.assertEqual(rn.p_within(0.0, 1, 0.10), 1.0)

    def test_the_least_n_meets_the_probability_and_one_less_does_not(self):
        cvs = [0.11] * 26
        n = rn.least_n(cvs, 0.10, 0.9)
        self.assertGreaterEqual(math.prod(rn.p_within(c, n, 0.10) for c in cvs), 0.9)
        self.assertLess(math.prod(rn.p_within(c, n - 1, 0.10) for c in cvs), 0.9)

    def test_the_normal_approximation_matches_a_simulation(self):
        rng = random.Random(7)
        n, cv, trials = 9, 0.12, 4000
        within = 0
        for _ in range(trials):
            a = sorted(rng.gauss(1, cv) for _ in range(n))[n // 2]
            b = sorted(rng.gauss(1, cv) for _ in range(n))[n // 2]
            within += abs(b / a - 1) <= 0.10
        self.assertAlmostEqual(within / trials, rn.p_within(cv, n, 0.10), delta=0.05)


class Folders(unittest.TestCase):
    def setUp(self):
        self.folders = [tempfile.mkdtemp(), tempfile.mkdtemp()]

    def tearDown(self):
        for folder in self.folders:
            shutil.rmtree(folder)

    def write(self, folder, values):
        with open(os.path.join(folder, "results.csv"), "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns.HEADER)
            writer.writeheader()
            for rep, v in enumerate(values):
                row = dict(backend="coro-local", workload="http", mode="open", connections=1000, target_rate=10000,
                           server_cpu_us_per_op=v, status="ok", repetition=rep)
                writer.writerow({k: row.get(k, "") for k in columns.HEADER})

    def test_two_runs_give_one_cell_and_its_verdict(self):
        self.write(self.folders[0], [10, 11, 9, 10, 10])
        self.write(self.folders[1], [20, 22, 18, 20, 20])  # twice as slow, same scatter
        a = rn.cells(self.folders[0], "server_cpu_us_per_op", "10,000/s")
        b = rn.cells(self.folders[1], "server_cpu_us_per_op", "")
        self.assertEqual(list(a), list(b))
        key = next(iter(a))
        self.assertAlmostEqual(rn.pooled_cv((a[key], b[key])), math.sqrt(4 * 0.01 / 8))
        self.assertEqual(rn.cells(self.folders[0], "server_cpu_us_per_op", "closed"), {})
        self.assertEqual(rn.main(["x", *self.folders]), 0)


if __name__ == "__main__":
    unittest.main()
