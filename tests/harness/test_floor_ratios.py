#!/usr/bin/env python3
"""bench/micro/floor_ratios.py: the median aggregate's headline counter is what a figure reads, ratios are ours over
the floor's per round, and a binary that fails makes the run fail (fake binaries printing Google Benchmark JSON)."""
import io
import json
import os
import stat
import sys
import tempfile
import unittest
from contextlib import redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "micro"))
import floor_ratios as fr  # noqa: E402


def report(family: str, model: str, counter: str, median: float) -> dict:
    name = f"{family}/model:{model}/units:2/real_time"
    return {"benchmarks": [
        {"name": name, "run_name": name, "run_type": "iteration", counter: median * 3},
        {"name": name + "_mean", "run_name": name, "aggregate_name": "mean", counter: median * 2},
        {"name": name + "_median", "run_name": name, "aggregate_name": "median", counter: median},
    ]}


class Reading(unittest.TestCase):
    def test_the_median_aggregate_of_the_headline_counter(self):
        self.assertEqual(fr.median_of(report("BM_Yield", "fiber", "ns_per_yield", 7.5), "BM_Yield"), 7.5)
        self.assertIsNone(fr.median_of({"benchmarks": []}, "BM_Yield"))

    def test_ratios_are_ours_over_the_floor_per_round(self):
        rounds = [{("yield", "coro-local"): 6.0, ("yield", "raw-coroutine"): 3.0},
                  {("yield", "coro-local"): 9.0, ("yield", "raw-coroutine"): 3.0},
                  {("yield", "coro-local"): 4.0, ("yield", "raw-coroutine"): 4.0}]
        line = next(x for x in fr.summarize(rounds) if x.startswith("yield") and "coro-local" in x)
        self.assertIn("median 2.00x", line)
        self.assertIn("range 1.00-3.00", line)
        self.assertIn("rounds 2.00 3.00 1.00", line)
        missing = next(x for x in fr.summarize(rounds) if "fiber" in x and x.startswith("yield"))
        self.assertIn("no complete round", missing)


class Running(unittest.TestCase):
    def make_bin(self, folder: str, fail: str = "") -> None:
        for figure, (binary, _, family) in fr.FIGURES.items():
            counter = fr.tr.MICRO_HEADLINE[family][0][0]
            script = os.path.join(folder, binary)
            with open(script, "w") as f:
                f.write("#!/usr/bin/env python3\nimport json, sys\n"
                        f"model = sys.argv[1].split('model:')[1].split('/')[0]\n"
                        f"if {binary == fail!r}: sys.exit(1)\n"
                        f"value = 2.0 if model.startswith('raw') else 3.0\n"
                        f"name = '{family}/model:' + model\n"
                        f"print(json.dumps({{'benchmarks': [{{'name': name, 'run_name': name, "
                        f"'aggregate_name': 'median', '{counter}': value}}]}}))\n")
            os.chmod(script, os.stat(script).st_mode | stat.S_IEXEC)

    def test_one_process_per_figure_and_model(self):
        with tempfile.TemporaryDirectory() as folder:
            self.make_bin(folder)
            out = io.StringIO()
            with redirect_stdout(out):
                code = fr.main([folder, "--rounds", "2", "--out", os.path.join(folder, "json")])
            self.assertEqual(code, 0)
            self.assertEqual(out.getvalue().count("median 1.50x"), len(fr.FIGURES) * len(fr.PAIRS))
            self.assertEqual(len(os.listdir(os.path.join(folder, "json"))), 2 * len(fr.FIGURES) * 2 * len(fr.PAIRS))
            with open(os.path.join(folder, "json", "r1-yield-fiber.json")) as f:
                self.assertIn("model:fiber", json.load(f)["benchmarks"][0]["name"])

    def test_a_failing_binary_fails_the_run(self):
        with tempfile.TemporaryDirectory() as folder:
            self.make_bin(folder, fail="bench_micro_spawn")
            out = io.StringIO()
            with redirect_stdout(out):
                code = fr.main([folder, "--rounds", "1"])
            self.assertEqual(code, 1)
            self.assertIn("spawn+join coro-local failed", out.getvalue())


if __name__ == "__main__":
    unittest.main()
