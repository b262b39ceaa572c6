#!/usr/bin/env python3
"""scripts/fleet on scripts/testbed (issue 14): a 3-host run whose merged row is the sum of its ranks, with the
percentiles of the union of the ranks' histograms and the server's memory from the probe; a rank killed mid-run makes
the row degraded naming it; `testbed down` leaves no namespace, link or process. Each test has a bed of its own with
a unique prefix, and a clean-up registered before `up` takes it down even when the test failed half-way.

Needs root, network namespaces and pdsh; exits 77 (ctest: skipped) saying which is missing.
usage: test_fleet.py --bin BUILD/bin
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness_util import SCRIPTS  # noqa: E402

sys.path.insert(0, SCRIPTS)
import tvt_results  # noqa: E402

TESTBED = os.path.join(SCRIPTS, "testbed")
FLEET = os.path.join(SCRIPTS, "fleet")
BIN = None


def missing_prerequisite():
    if os.geteuid() != 0:
        return "not root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN)"
    for tool in ("pdsh", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    name = f"tvtcheck{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode != 0:
        return "cannot create a network namespace here"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    if not os.access(os.path.join(BIN, "loadgen"), os.X_OK):
        return f"no loadgen in {BIN}"
    return None


def union_percentile(buckets, percentile):
    """HdrHistogram's percentile of [(lowest value, count)] (loadgen's Histogram::percentile: the bucket's highest
    equivalent value; 2 significant digits, so buckets below 256 us are 1 us wide, then double per power of two)."""
    total = sum(c for _, c in buckets)
    wanted = max(int(percentile / 100.0 * total + 0.5), 1)
    running = 0
    for value, count in buckets:
        running += count
        if running >= wanted:
            return value + (1 if value < 256 else 1 << (value.bit_length() - 8)) - 1
    return None


class Fleet(unittest.TestCase):
    def setUp(self):
        self.prefix = f"tf{os.getpid() % 100000}{self._testMethodName[5:8]}"
        self.tmp = tempfile.mkdtemp(prefix="tvt-fleet-")
        self.addCleanup(self.take_down)  # before `up`: a set-up that fails half-way is cleaned up too
        self.bed(["up", "3"])
        self.hosts = os.path.join(self.tmp, "hosts")
        with open(self.hosts, "w") as f:
            f.write(self.bed(["hosts"]))

    def take_down(self):
        self.bed(["down"])
        self.assert_nothing_left()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def bed(self, args):
        out = subprocess.run([TESTBED] + args + ["--prefix", self.prefix], capture_output=True, text=True,
                             timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def assert_nothing_left(self):
        namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        self.assertNotIn(self.prefix + "-", namespaces)
        links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        self.assertNotIn(self.prefix, links)
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    self.assertNotIn(self.prefix.encode() + b"-", f.read(), f"process {pid} outlived the bed")
            except OSError:
                pass

    def fleet(self, *extra, background=False):
        argv = [FLEET, "--hosts", self.hosts, "--bin", BIN, "--backend", "uring", "--workload", "echo",
                "--out", os.path.join(self.tmp, "run")] + list(extra)
        if background:
            return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return subprocess.run(argv, capture_output=True, text=True, timeout=300)

    def record(self):
        with open(os.path.join(self.tmp, "run", "fleet.json")) as f:
            return json.load(f)

    def test_three_hosts_merge(self):
        # No route out of the bed: only the bed's own /24 is reachable.
        route = subprocess.run(["ip", "netns", "exec", f"{self.prefix}-c1", "ip", "route", "get", "192.0.2.1"],
                               capture_output=True, text=True)
        self.assertNotEqual(route.returncode, 0, route.stdout)
        out = self.fleet("-c", "3000", "-d", "2")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        merged = self.record()
        row, ranks, probe = merged["row"], merged["ranks"], merged["probe"]
        # A machine loaded by others may wake a rank late (lag) or slow it: degraded, then, with the rank named;
        # never failed, never fewer connections, never an error.
        self.assertIn(row["status"], ("ok", "degraded"), row["reason"])
        if row["status"] == "degraded":
            self.assertRegex(row["reason"], r"^rank \d ")
        self.assertEqual(row["errors"], 0)
        self.assertEqual(row["connections_established"], 3000)
        self.assertEqual([r["connections_established"] for r in ranks], [1000, 1000, 1000])
        self.assertEqual(row["requests"], sum(r["requests"] for r in ranks))
        self.assertGreater(row["requests"], 0)
        # The merged percentiles are those of the union of the ranks' histograms, decoded here independently.
        union = {}
        for i in range(3):
            for value, count in tvt_results.read_hdr_log(os.path.join(self.tmp, "run", "ranks", f"rank{i}.hlog")):
                union[value] = union.get(value, 0) + count
        buckets = sorted(union.items())
        self.assertEqual(sum(c for _, c in buckets), row["requests"])
        for key, p in (("p50_us", 50), ("p90_us", 90), ("p99_us", 99), ("p999_us", 99.9)):
            self.assertEqual(row[key], union_percentile(buckets, p), key)
        # The server columns come from the probe, which ran on the server's host.
        self.assertEqual(row["server_rss_bytes"], probe["steady_rss_bytes"])
        self.assertEqual(row["rss_per_conn_bytes"],
                         (probe["steady_rss_bytes"] - probe["before_rss_bytes"]) / row["connections_established"])
        self.assertGreater(row["server_rss_bytes"], 0)
        self.assertIsNotNone(row["kernel_per_conn_bytes"])
        with open(os.path.join(self.tmp, "run", "results.csv")) as f:
            self.assertEqual(len(f.read().strip().splitlines()), 2)  # header + the one merged row

    def test_killed_rank_degrades_the_row(self):
        proc = self.fleet("-c", "600", "-d", "4", "--lead", "2", background=True)
        victim = f"{self.prefix}-c2"
        deadline = time.monotonic() + 60
        pids = []
        while not pids and time.monotonic() < deadline and proc.poll() is None:
            pids = subprocess.run(["ip", "netns", "pids", victim], capture_output=True, text=True).stdout.split()
            time.sleep(0.05)
        self.assertTrue(pids, "rank 1 never started")
        time.sleep(3.5)  # past --start-at (2 s lead): the rank is in its measured window
        for pid in pids:
            os.kill(int(pid), signal.SIGKILL)
        output, _ = proc.communicate(timeout=120)
        row = self.record()["row"]
        self.assertEqual(row["status"], "degraded", output)
        self.assertIn(f"rank 1 ({victim}) left no record", row["reason"])
        self.assertEqual(row["ranks"], 3)


if __name__ == "__main__":
    if "--bin" in sys.argv:
        at = sys.argv.index("--bin")
        BIN = sys.argv[at + 1]
        del sys.argv[at:at + 2]
    else:
        BIN = os.path.join(os.path.dirname(SCRIPTS), "build", "ci", "bin")
    why = missing_prerequisite()
    if why:
        print(f"test_fleet: skipped: {why}")
        sys.exit(77)
    unittest.main()
