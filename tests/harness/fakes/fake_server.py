#!/usr/bin/env python3
"""A stand-in for `server` whose back-end name picks a behaviour, so bench_all's fault handling can be tested:
  ok*        listens, prints the ready line, exits 0 on SIGTERM
  crash      prints ready, writes a few stderr lines, then dies of SIGSEGV mid-run
  hang       never prints ready, ignores SIGTERM, and forks a child that sleeps (both must be killed)
  noready    prints something that is not the ready line and keeps running
  earlyexit  says why on stderr and exits 1 before ready
  stubborn   prints ready and ignores SIGTERM (must be SIGKILLed)
  overrun    prints ready, exits 3 on SIGTERM (a back end that overran its graceful stop)
Env: FAKE_BACKENDS (comma list for --list-backends, printed as the registry's JSON Lines; a name ending in
"-offload" declares the offload variant for compute), FAKE_PID_DIR (each process writes its pid there),
FAKE_LIST_WORKLOADS (comma list; empty = behave like a server without --list-workloads), FAKE_CGROUP_PROBE +
FAKE_CGROUP_SEEN (at its first line, the server copies the cgroup.procs of every cgroup under PROBE into SEEN: was it
in its CPU cap from the start?).
"""
import json
import os
import signal
import socket
import sys
import time


def note_pid():
    pid_dir = os.environ.get("FAKE_PID_DIR")
    if pid_dir:
        open(os.path.join(pid_dir, f"server-{os.getpid()}"), "w").close()


def arg(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def main():
    if "--list-backends" in sys.argv:
        for name in os.environ.get("FAKE_BACKENDS", "ok").split(","):
            variants = [{"name": "offload", "args": ["--offload"], "workloads": ["compute"]}] \
                if name.endswith("-offload") else []
            print(json.dumps({"name": name, "summary": f"fake {name}", "language": "C++", "peer": False,
                              "threads_option": False, "variants": variants}, separators=(",", ":")))
        return 0
    if "--list-workloads" in sys.argv:
        names = os.environ.get("FAKE_LIST_WORKLOADS", "echo,http")
        if not names:
            print("--list-workloads: not an option", file=sys.stderr)
            return 109
        print("\n".join(names.split(",")))
        return 0
    probe = os.environ.get("FAKE_CGROUP_PROBE")
    if probe and os.environ.get("FAKE_CGROUP_SEEN"):
        members = [open(os.path.join(probe, d, "cgroup.procs")).read().strip() for d in sorted(os.listdir(probe))
                   if os.path.isfile(os.path.join(probe, d, "cgroup.procs"))]
        with open(os.environ["FAKE_CGROUP_SEEN"], "w") as f:
            f.write("\n".join(members))
    backend = arg("--backend", "ok")
    workload = arg("--workload", "http")
    if workload not in os.environ.get("FAKE_WORKLOADS", "echo,http").split(","):
        print(f"server: unknown --workload '{workload}'", file=sys.stderr)
        return 2
    note_pid()
    if backend == "earlyexit":
        print("fake: bind: address already in use", file=sys.stderr)
        return 1
    if backend == "hang":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if os.fork() == 0:
            note_pid()
            time.sleep(3600)
            os._exit(0)
        print("fake: starting up slowly", file=sys.stderr, flush=True)
        time.sleep(3600)
        return 0
    if backend == "noready":
        print("listening somewhere", flush=True)
        time.sleep(3600)
        return 0
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    if backend == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    stop = {"code": 3 if backend == "overrun" else 0}
    signal.signal(signal.SIGTERM, (lambda *_: sys.exit(stop["code"])) if backend != "stubborn" else signal.SIG_IGN)
    print(f"ready port={listener.getsockname()[1]} pid={os.getpid()}", flush=True)
    if backend == "crash":
        for i in range(12):
            print(f"fake: serving, step {i}", file=sys.stderr, flush=True)
        time.sleep(0.3)
        print("fake: about to crash", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGSEGV)
    while True:
        time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
