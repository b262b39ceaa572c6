#!/usr/bin/env python3
"""The gate catches a real slowdown: two real ci-profile bench_all runs of one back end (http only, no micro
benchmarks, no charts), the second with `server --added-work N` (fixed CPU work added to every request, the knob
that tests the gate), and the gate must fail the second against the first on the server path's instructions per
request, and on nothing that the added work does not touch.

usage: test_gate_slowdown.py BIN_DIR [unittest args]   (ctest passes the folder of the built server)
"""
import io
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness_util import BENCH_ALL, SCRIPTS  # noqa: E402

sys.path.insert(0, SCRIPTS)
import gate  # noqa: E402

BIN_DIR = ""
BACKEND = "coro-local"
# About coro-local's own server CPU per request here (~8 µs; one step of the chain is ~1 ns): the server does
# twice the work per request. See scripts/README.md for the measured effect on every gated metric.
ADDED_WORK = 8000


def regressions(text):
    return [line for line in text.splitlines() if line.rstrip().endswith(("REGRESSION", "FAILED", "MISSING"))]


class GateCatchesSlowdown(unittest.TestCase):
    def bench_all(self, results, name, *extra):
        argv = [sys.executable, BENCH_ALL, "--build-dir", os.path.dirname(BIN_DIR), "--results", results,
                "--run-name", name, "--profile", "ci", "--backends", BACKEND, "--workloads", "http",
                "--skip-micro", "--skip-report", *extra]
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
        self.assertEqual(out.returncode, 0, out.stdout.decode(errors="replace")[-3000:])
        return os.path.join(results, name)

    def test_added_work_fails_the_gate(self):
        with tempfile.TemporaryDirectory(prefix="tvt-slowdown-") as results:
            clean = self.bench_all(results, "clean")
            slow = self.bench_all(results, "slow", "--server-args", f"--added-work {ADDED_WORK}")
            text = io.StringIO()
            code = gate.gate(slow, clean, text)
            text = text.getvalue()
            print(text)
            self.assertEqual(code, 1, text)
            bad = regressions(text)
            self.assertIn(f"instructions {BACKEND} server-http", "\n".join(bad), text)
            # the work is added per request: the micro hot paths and memory per connection do not move
            self.assertFalse([line for line in bad if line.startswith(("rss_per_conn_bytes", "run "))], text)
            self.assertFalse([line for line in bad if line.startswith("instructions ")
                              and " server-" not in line], text)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    BIN_DIR = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)
