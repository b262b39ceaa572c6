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
from harness_util import REPO, SCRIPTS  # noqa: E402

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
        """The fixture has http at a fixed open-loop rate: CPU (with its interval), syscalls and context switches
        per request come from those rows."""
        code, text, err = findings(FIXTURE)
        self.assertEqual(code, 0, err)
        with open(os.path.join(FIXTURE, "results.csv")) as f:
            rows = [r for r in csv.DictReader(f) if r["backend"] == "threads" and not r["variant"]
                    and r["workload"] == "http" and r["mode"] == "open" and r["status"] == "ok"]
        nearest = min({int(r["connections"]) for r in rows}, key=lambda c: abs(c - 1000))
        at = [r for r in rows if int(r["connections"]) == nearest]
        syscalls = statistics.median(float(r["syscalls_per_op"]) for r in at)
        switches = statistics.median(float(r["ctx_switches_per_op"]) for r in at)
        cpu = statistics.median(float(r["server_cpu_us_per_op"]) for r in at)
        threads = next(line for line in text.splitlines() if line.startswith("| `threads` "))
        cells = [c.strip() for c in threads.strip("|").split("|")]
        self.assertTrue(cells[4].startswith(f"{cpu:.1f}"), threads)
        self.assertEqual(cells[5], f"{syscalls:.2f}", threads)
        self.assertEqual(cells[6], f"{switches:.3f}", threads)
        self.assertIn("Source: `", text)
        self.assertIn(f"http open loop at a fixed 2,000 req/s and {nearest:,} connections", text)

    def test_intervals_and_capacity_where_the_run_has_them(self):
        code, text, err = findings(os.path.join(os.path.dirname(FIXTURE), "scatter_baseline"))
        self.assertEqual(code, 0, err)
        self.assertIn("CPU µs / req at fixed rate [95 % CI]", text)
        self.assertIn("capacity req/s [95 % CI]", text)
        threads = next(line for line in text.splitlines() if line.startswith("| `threads` "))
        self.assertRegex(threads, r"\| [0-9.]+ \[[0-9.]+–[0-9.]+\] \|")
        self.assertIn("server capped at 0.5 core", text)

    def test_the_committed_reference_run_keeps_its_table(self):
        """The README's table is the reference run's, with intervals and capacity; an older run without those
        (closed-loop CPU, no capacity column) still gives its own table."""
        code, text, err = findings(os.path.join(REPO, "results", "reference", "default-2026-11-30-C"))
        self.assertEqual(code, 0, err)
        self.assertIn("capacity req/s [95 % CI]", text)
        with open(os.path.join(REPO, "README.md")) as f:
            readme = f.read()
        for line in text.splitlines():
            if line.startswith("| `"):
                self.assertIn(line, readme)
        code, text, err = findings(os.path.join(REPO, "results", "reference", "default-2026-11-29T21-18-13Z"))
        self.assertEqual(code, 0, err)
        self.assertIn("| CPU µs / req | syscalls / req | ctx switches / req | chat p99 |", text)
        self.assertIn("http closed loop at 1,000", text)

    def test_a_folder_without_results_is_refused(self):
        code, _, err = findings(os.path.dirname(FIXTURE))
        self.assertEqual(code, 1)
        self.assertIn("no results.csv", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
