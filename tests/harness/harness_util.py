"""Helpers the harness tests share: a fake build folder whose bin/server and bin/loadgen are the fakes, and a
check that no process a test started is still alive."""
import os
import shutil
import signal
import stat
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BENCH_ALL = os.path.join(REPO, "bench", "bench_all", "bench_all.py")
SCRIPTS = os.path.join(REPO, "scripts")


def write_exec(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


class FakeBuild:
    """A temporary build folder: bin/server and bin/loadgen exec the fakes with this very interpreter (exec keeps
    the pid, so bench_all's pid checks see the fake itself)."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="tvt-harness-")
        self.bin = os.path.join(self.root, "bin")
        self.pids = os.path.join(self.root, "pids")
        self.results = os.path.join(self.root, "results")
        os.makedirs(self.bin)
        os.makedirs(self.pids)
        for name in ("server", "loadgen"):
            write_exec(os.path.join(self.bin, name),
                       f'#!/bin/sh\nexec "{sys.executable}" "{os.path.join(HERE, "fakes", f"fake_{name}.py")}" "$@"\n')

    def env(self, **extra) -> dict:
        env = dict(os.environ, FAKE_PID_DIR=self.pids, PYTHONDONTWRITEBYTECODE="1")
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def recorded_pids(self):
        return [(name, int(name.rsplit("-", 1)[1])) for name in os.listdir(self.pids)]

    def survivors(self):
        """Recorded processes still alive (zombies count as gone: nothing runs, the kernel only keeps a status)."""
        alive = []
        for name, pid in self.recorded_pids():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                alive.append((name, pid, state))
        return alive

    def kill_survivors(self):
        for _, pid, _ in self.survivors():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def cleanup(self):
        self.kill_survivors()
        shutil.rmtree(self.root, ignore_errors=True)
