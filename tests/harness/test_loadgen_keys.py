#!/usr/bin/env python3
"""The real loadgen against a real server, briefly: every key of loadgen's JSON record must be a column of
results.csv (bench/bench_all/columns.py), in the header's order, and every loadgen column of the header must be a
key loadgen writes. bench_all fails a row whose record has a key the header lacks (runner.py); this test finds the
mismatch before a benchmark run does.

usage: test_loadgen_keys.py SERVER LOADGEN [unittest args]   (ctest passes the built binaries)
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness_util import REPO  # noqa: E402

sys.path.insert(0, os.path.join(REPO, "bench", "bench_all"))
import columns  # noqa: E402
import runner  # noqa: E402

SERVER = LOADGEN = ""
READY = re.compile(r"ready port=(\d+) pid=(\d+)")
# A short run of each mode and workload whose record has keys of its own (latency and throughput, memory, schedule,
# connection storms, chat deliveries, compute's small/large split): together they write every key.
_SHORT = ["--connections", "4", "--duration", "0.3", "--warmup", "0"]
RUNS = [["--workload", "http", "--mode", "closed"] + _SHORT,
        ["--workload", "http", "--mode", "idle"] + _SHORT + ["--hold", "0.2"],
        ["--workload", "http", "--mode", "open", "--rate", "400"] + _SHORT,
        ["--workload", "echo", "--mode", "storm"] + _SHORT,
        ["--workload", "chat", "--mode", "closed", "--groups", "1", "--rate", "50"] + _SHORT,
        ["--workload", "compute", "--mode", "open", "--rate", "100", "--compute-small-kib", "1",
         "--compute-large-kib", "2", "--compute-large-fraction", "0.5"] + _SHORT]


class LoadgenKeys(unittest.TestCase):
    def run_pair(self, loadgen_args, folder):
        server = subprocess.Popen([SERVER, "--backend", "coro-local", "--workload", loadgen_args[1], "--port", "0"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = server.stdout.readline()  # the ready line is the server's first line (docs/CONTRACTS.md)
            match = READY.search(line)
            self.assertIsNotNone(match, f"no ready line from the server: {line!r}")
            out = os.path.join(folder, f"{loadgen_args[1]}-{loadgen_args[3]}.json")
            done = subprocess.run([LOADGEN, "--target", f"127.0.0.1:{match.group(1)}", "--threads", "1",
                                   "--server-pid", match.group(2), "--json", out] + loadgen_args,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            self.assertTrue(os.path.exists(out), done.stdout.decode(errors="replace"))
            with open(out) as f:
                return json.load(f)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            server.stdout.close()

    def test_every_key_is_a_column_and_every_column_a_key(self):
        seen = []
        with tempfile.TemporaryDirectory(prefix="tvt-keys-") as folder:
            for args in RUNS:
                record = self.run_pair(args, folder)
                self.assertEqual(runner.unknown_keys(record), [],
                                 f"loadgen {' '.join(args)} writes keys results.csv lacks: add them to columns.py")
                keys = list(record)
                self.assertEqual(keys, [k for k in columns.LOADGEN if k in record],
                                 "loadgen's keys are in another order than columns.LOADGEN")
                seen += [k for k in keys if k not in seen]
        never = [k for k in columns.LOADGEN if k not in seen]
        self.assertEqual(never, [], "columns.LOADGEN lists keys loadgen never wrote in these runs")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    SERVER, LOADGEN = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
