#!/usr/bin/env python3
"""Mid-run faults in a real bench_all run (issue 19.4): the real server and loadgen, one cell (threads, http closed,
60 connections, 3 s) three times. Run 1's server is SIGKILLed 1.2 s after loadgen started, run 2's loadgen splits
into two worker processes and one of them is SIGKILLed likewise (bench/bench_all/faults.py, test-only), run 3 has no
fault. Rows 1 and 2 must say what happened, row 3 must be a normal `ok` run, and no process may be left behind.

"Left behind" is checked two ways: this process makes itself the child subreaper of everything bench_all starts
(PR_SET_CHILD_SUBREAPER), so any process that outlived its parent is reparented here, and after bench_all exits this
process must have no child at all, running or zombie; and no process may still name the run's folder on its command
line (loadgen does, through --json).

usage: test_midrun_faults.py BIN_DIR [unittest args]   (ctest passes the folder of the built server)
"""
import csv
import ctypes
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness_util import BENCH_ALL  # noqa: E402

BIN_DIR = ""
PR_SET_CHILD_SUBREAPER = 36
FAULTS = "1:server@1.2,2:loadgen-worker@1.2"


def processes_naming(text):
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append((int(name), cmdline))
    return found


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def leftover_children():
    """Children of this process (orphans reparented here included) that are still there; reaps zombies."""
    left = []
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:  # no child at all
            return left
        if pid == 0:  # some still run
            mine = [int(p) for p in os.listdir("/proc") if p.isdigit() and _ppid(int(p)) == os.getpid()]
            return left + [("running", p) for p in mine]
        left.append(("exited after bench_all", pid))


class MidRunFaults(unittest.TestCase):
    def test_killed_server_and_killed_loadgen_worker_are_rows_and_nothing_is_left(self):
        libc = ctypes.CDLL(None, use_errno=True)
        self.assertEqual(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0)
        with tempfile.TemporaryDirectory(prefix="tvt-midrun-") as results:
            argv = [sys.executable, BENCH_ALL, "--build-dir", os.path.dirname(BIN_DIR), "--results", results,
                    "--run-name", "faults", "--profile", "ci", "--backends", "threads", "--workloads", "http",
                    "--modes", "closed", "--connections", "60", "--duration", "3", "--warmup", "0",
                    "--repetitions", "3", "--skip-micro", "--skip-callgrind", "--skip-report"]
            started = time.monotonic()
            out = subprocess.run(argv, env=dict(os.environ, TVT_BENCH_ALL_FAULTS=FAULTS), stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, timeout=180)
            wall = time.monotonic() - started
            log = out.stdout.decode(errors="replace")
            print(log)
            run_dir = os.path.join(results, "faults")
            self.assertEqual(leftover_children(), [], "processes outlived bench_all")
            self.assertEqual(processes_naming(run_dir), [], "processes still name the run folder")
            self.assertEqual(out.returncode, 0, log[-3000:])
            with open(os.path.join(run_dir, "results.csv"), newline="") as f:
                rows = list(csv.DictReader(f))
            self.assertEqual([r["run_index"] for r in rows], ["1", "2", "3"], log[-3000:])
            server_killed, worker_killed, normal = rows

            self.assertEqual(server_killed["status"], "failed")
            self.assertIn("server died during the run (signal 9 (SIGKILL))", server_killed["reason"])
            self.assertEqual(server_killed["server_exit"], "signal 9 (SIGKILL)")

            self.assertEqual(worker_killed["status"], "failed", worker_killed["reason"])
            self.assertIn("worker process 1 of 2 was killed by signal 9 (SIGKILL) before sending its result",
                          worker_killed["reason"])
            self.assertEqual(worker_killed["server_exit"], "0", "the server must stop cleanly after it")

            if normal["status"] != "ok":
                # Seen once with the machine loaded far past its two cores (load average ~100): the fresh server took
                # longer than loadgen's 2 s budget to close its 60 sockets. Degraded for that alone is a normal run.
                self.assertEqual(normal["status"], "degraded", normal["reason"])
                self.assertRegex(normal["reason"],
                                 r"^server sockets did not return to idle within 2 s: \d+ before, \d+ after$")
            self.assertEqual(normal["errors"], "0")
            self.assertEqual(normal["connections_established"], "60")
            self.assertEqual(normal["server_exit"], "0")
            # Three 3-second runs and their start/stop: about 15 s; a fault must not stall the matrix.
            self.assertLess(wall, 90, "bench_all took too long")
            print(f"midrun faults: bench_all {wall:.1f} s; rows: " +
                  " | ".join(f"{r['status']}: {r['reason']}" for r in rows))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    BIN_DIR = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)
