#!/usr/bin/env python3
"""Runs one example the way examples/README.md says, for ctest, and checks what it printed.

  run_example.py [--server CMD] [--hosts TEXT] [--expect REGEX]... [--expect-count REGEX N]...
                 [--exit-code N|nonzero] [--timeout S] -- PROGRAM ARGS...

--server starts CMD first (a shell-like string), waits for its `ready port=P` line and replaces {port} in the
example's arguments with P; the server is stopped afterwards. --hosts runs the example in a private mount namespace
whose /etc/hosts is TEXT and whose resolver reads files only, so names resolve without any network (needs root and
unshare(1); otherwise the test is skipped with status 77). Output checks are on stdout+stderr; no timing thresholds.
Stdlib only.
"""
import argparse
import os
import re
import selectors
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77


def start_server(command, timeout_s):
    server = subprocess.Popen(shlex.split(command), stdout=subprocess.PIPE, text=True)
    selector = selectors.DefaultSelector()
    selector.register(server.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout_s
    line = ""
    while time.monotonic() < deadline and not line.endswith("\n"):
        if selector.select(timeout=0.1):
            chunk = server.stdout.readline()
            if not chunk:
                break
            line += chunk
    match = re.search(r"ready port=(\d+)", line)
    if not match:
        server.kill()
        sys.exit(f"run_example: server did not get ready: {command!r} printed {line!r}")
    return server, match.group(1)


def in_hosts_namespace(argv, hosts, workdir):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("run_example: a private /etc/hosts needs root and unshare(1); skipped")
        sys.exit(SKIP)
    hosts_path = os.path.join(workdir, "hosts")
    nss_path = os.path.join(workdir, "nsswitch.conf")
    with open(hosts_path, "w") as f:
        f.write(hosts.replace("\\n", "\n") + "\n")
    with open(nss_path, "w") as f:
        f.write("hosts: files\n")
    script = 'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/nsswitch.conf && shift 2 && exec "$@"'
    return ["unshare", "--mount", "sh", "-c", script, "sh", hosts_path, nss_path] + argv


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server")
    parser.add_argument("--hosts")
    parser.add_argument("--expect", action="append", default=[])
    parser.add_argument("--expect-count", nargs=2, action="append", default=[], metavar=("REGEX", "N"))
    parser.add_argument("--exit-code", default="0")
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("program", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    argv = args.program[1:] if args.program[:1] == ["--"] else args.program
    server = None
    try:
        if args.server:
            server, port = start_server(args.server, 10)
            argv = [a.replace("{port}", port) for a in argv]
        with tempfile.TemporaryDirectory() as workdir:
            if args.hosts is not None:
                argv = in_hosts_namespace(argv, args.hosts, workdir)
            print("$ " + " ".join(shlex.quote(a) for a in argv), flush=True)
            try:
                run = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     timeout=args.timeout, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired as e:
                print(e.output or "")
                sys.exit(f"run_example: still running after {args.timeout} s")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=5)
    print(run.stdout, end="")
    failures = []
    if args.exit_code == "nonzero":
        if run.returncode == 0:
            failures.append("exit status 0, expected a failure")
    elif run.returncode != int(args.exit_code):
        failures.append(f"exit status {run.returncode}, expected {args.exit_code}")
    for pattern in args.expect:
        if not re.search(pattern, run.stdout):
            failures.append(f"no match for {pattern!r}")
    for pattern, count in args.expect_count:
        found = len(re.findall(pattern, run.stdout))
        if found != int(count):
            failures.append(f"{pattern!r} matched {found} times, expected {count}")
    for f in failures:
        print("run_example: FAIL: " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
