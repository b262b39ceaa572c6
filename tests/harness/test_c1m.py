#!/usr/bin/env python3
"""The c1m profile (bench/bench_all/c1m.py) at a small scale, with the real server and loadgen: it grows one server's
held connections step by step (one loadgen, --steps), shards for the largest step, writes `shards` and `stop_reason`,
refuses a step the memory reserve does not cover, runs a peer sharded, and leaves no process and no cgroup behind
after Ctrl-C.

  test_c1m.py BIN_DIR      (BIN_DIR holds server and loadgen)
"""
import csv
import glob
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BENCH_ALL = os.path.join(REPO, "bench", "bench_all", "bench_all.py")
BIN = None


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class C1m(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="tvt-c1m-test-")
        self.build = os.path.dirname(BIN)

    def tearDown(self):
        self.tmp.cleanup()

    def argv(self, *extra):
        return [sys.executable, BENCH_ALL, "--profile", "c1m", "--build-dir", self.build, "--results", self.tmp.name,
                "--skip-report", *extra]

    def rows(self):
        (run,) = glob.glob(os.path.join(self.tmp.name, "*"))
        with open(os.path.join(run, "results.csv"), newline="") as f:
            return list(csv.DictReader(f))

    def test_steps_shard_and_say_why_they_stop(self):
        out = subprocess.run(self.argv("--backends", "coro-local", "--connections", "300,900", "--fds-per-shard",
                                       "400", "--hold", "0.5", "--reserve-gib", "0"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        rows = self.rows()
        # One server, sharded for the largest step, held the first step's connections while growing to the second.
        self.assertEqual([(r["connections"], r["connections_established"], r["shards"]) for r in rows],
                         [("300", "300", "3"), ("900", "900", "3")], out.stderr.decode())
        self.assertEqual(len(glob.glob(os.path.join(self.tmp.name, "*", "logs", "*.server.out"))), 1)
        self.assertEqual([r["stop_reason"] for r in rows], ["", ""])  # held the ceiling: nothing stopped it
        for r in rows:
            self.assertEqual(r["profile"], "c1m")
            self.assertTrue(float(r["rss_per_conn_bytes"]) > 0, r)
            # Machine-wide kernel memory: other processes' churn swamps a few hundred connections, so only present.
            float(r["kernel_per_conn_bytes"])

    def test_a_peer_runs_sharded(self):
        if "tokio" not in subprocess.run([os.path.join(BIN, "server"), "--list-backends"], stdout=subprocess.PIPE,
                                         text=True).stdout:
            self.skipTest("no tokio peer built here")
        out = subprocess.run(self.argv("--backends", "tokio", "--connections", "300,900", "--fds-per-shard", "400",
                                       "--hold", "0.5", "--reserve-gib", "0"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        self.assertEqual([(r["connections_established"], r["shards"], r["stop_reason"]) for r in self.rows()],
                         [("300", "3", ""), ("900", "3", "")], out.stderr.decode())

    def test_a_step_the_reserve_does_not_cover_is_refused(self):
        out = subprocess.run(self.argv("--backends", "coro-local", "--connections", "300", "--hold", "0.5",
                                       "--reserve-gib", "100000"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        said = out.stderr.decode()
        self.assertEqual(out.returncode, 0, said)
        self.assertIn("coro-local: not running 300: memory:", said)
        self.assertEqual(self.rows(), [])

    def test_ctrl_c_leaves_nothing_behind(self):
        # Slow ramp: the interrupt lands while loadgen is still connecting to a sharded server.
        proc = subprocess.Popen(self.argv("--backends", "coro-local", "--connections", "6000", "--fds-per-shard",
                                          "1000", "--ramp-rate", "500", "--hold", "30", "--reserve-gib", "0"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            server_out = []
            while time.monotonic() < deadline and not server_out:
                server_out = [p for p in glob.glob(os.path.join(self.tmp.name, "*", "logs", "*.server.out"))
                              if "ready" in read(p)]
                time.sleep(0.1)
            self.assertTrue(server_out, "the server never got ready")
            supervisor = int(read(server_out[0]).split("pid=")[1].split()[0])
            with open(f"/proc/{supervisor}/task/{supervisor}/children") as f:
                shards = [int(p) for p in f.read().split()]
            self.assertEqual(len(shards), 6)
            loadgens = subprocess.run(["pgrep", "-f", self.tmp.name], stdout=subprocess.PIPE).stdout.split()
            self.assertTrue(loadgens, "loadgen is not running yet")
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.assertEqual(proc.returncode, 130, err.decode())
        left = [pid for pid in [supervisor, *shards, *map(int, loadgens)] if alive(pid)]
        self.assertEqual(left, [], "processes outlived the interrupted profile")
        self.assertEqual(glob.glob(f"/sys/fs/cgroup/pids/tvt-c1m-{proc.pid}-*"), [])
        rows = self.rows()
        self.assertEqual(rows[-1]["status"], "failed")
        self.assertIn("interrupted", rows[-1]["reason"])


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_c1m.py BIN_DIR")
    BIN = os.path.abspath(sys.argv.pop(1))
    if not all(os.access(os.path.join(BIN, b), os.X_OK) for b in ("server", "loadgen")):
        print(f"test_c1m.py: no server/loadgen in {BIN}", file=sys.stderr)
        sys.exit(77)
    unittest.main()
