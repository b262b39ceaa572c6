#!/usr/bin/env python3
"""scripts/findings.py on the gate's fixture run: one table row per back end in the run's registry order, each figure
the median of the rows it names, and a source line that names the folder, its commit and its run counts."""
import csv
import json
import os
import statistics
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness_util import SCRIPTS  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "gate", "baseline")


def findings(folder):
    out = subprocess.run([sys.executable, os.path.join(SCRIPTS, "findings.py"), folder], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=60)
    return out.returncode, out.stdout.decode(), out.stderr.decode()


class Findings(unittest.TestCase):
    def test_a_row_per_back_end_in_registry_order(self):
        code, text, err = findings(FIXTURE)
        self.assertEqual(code, 0, err)
        rows = [line for line in text.splitlines() if line.startswith("| `")]
        with open(os.path.join(FIXTURE, "backends.jsonl")) as f:
            order = [json.loads(line)["name"] for line in f if line.strip()]
        names = [row.split("`")[1].split(" (peer")[0] for row in rows]
        self.assertEqual([n for n in names if "+" not in n], [n for n in order if n in names], text)

    def test_figures_are_the_rows_medians(self):
        code, text, err = findings(FIXTURE)
        self.assertEqual(code, 0, err)
        with open(os.path.join(FIXTURE, "results.csv")) as f:
            rows = [r for r in csv.DictReader(f) if r["backend"] == "threads" and not r["variant"]
                    and r["workload"] == "http" and r["mode"] == "closed" and r["status"] == "ok"]
        nearest = min({int(r["connections"]) for r in rows}, key=lambda c: abs(c - 1000))
        at = [r for r in rows if int(r["connections"]) == nearest]
        syscalls = statistics.median(float(r["syscalls_per_op"]) for r in at)
        switches = statistics.median(float(r["ctx_switches_per_op"]) for r in at)
        threads = next(line for line in text.splitlines() if line.startswith("| `threads` "))
        cells = [c.strip() for c in threads.strip("|").split("|")]
        self.assertEqual(cells[5], f"{syscalls:.2f}", threads)
        self.assertEqual(cells[6], f"{switches:.3f}", threads)
        self.assertIn("Source: `", text)
        self.assertIn(f"http closed loop at {nearest:,}", text)

    def test_a_folder_without_results_is_refused(self):
        code, _, err = findings(os.path.dirname(FIXTURE))
        self.assertEqual(code, 1)
        self.assertIn("no results.csv", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
