#!/usr/bin/env python3
"""A stand-in for `loadgen`: takes the contract's arguments, "runs" for warmup + duration + hold while watching the
server pid, and writes the contract's JSON record (status failed if the server vanished). With
FAKE_LOADGEN_CHILD=1 it forks a worker that sleeps, as the real loadgen's worker processes would; FAKE_PID_DIR
collects pids; FAKE_LOADGEN_EXTRA_KEY=K adds a key K the header lacks; FAKE_CAPACITY=R makes an open-loop run at --rate above R
miss the rate and the SLO (capacity searches). The requests/s it reports depend on the back-end-free workload only, so tests can predict them.
"""
import argparse
import json
import os
import sys
import time


def note_pid(kind):
    pid_dir = os.environ.get("FAKE_PID_DIR")
    if pid_dir:
        open(os.path.join(pid_dir, f"{kind}-{os.getpid()}"), "w").close()


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--target", action="append", required=True)
    p.add_argument("--workload", required=True)
    p.add_argument("--connections", type=int, required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--warmup", type=float, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--mode", default="closed")
    p.add_argument("--hold", type=float, default=0)
    p.add_argument("--server-pid", type=int)
    p.add_argument("--json")
    p.add_argument("--timeline")
    p.add_argument("--hdr-log")
    p.add_argument("--rate", type=float)
    args, _ = p.parse_known_args()
    note_pid("loadgen")
    if os.environ.get("FAKE_LOADGEN_CHILD") == "1" and os.fork() == 0:
        note_pid("loadgen-worker")
        time.sleep(3600)
        os._exit(0)
    record = {"workload": args.workload, "mode": args.mode, "targets": args.target, "connections": args.connections,
              "connections_established": args.connections, "duration_s": args.duration, "warmup_s": args.warmup,
              "server_pid": args.server_pid, "errors": 0, "status": "ok", "reason": None}
    deadline = time.monotonic() + args.warmup + args.duration + args.hold
    while time.monotonic() < deadline:
        if args.server_pid and not alive(args.server_pid):
            record.update(status="failed", reason="server went away", errors=args.connections, errors_reset=1)
            break
        time.sleep(0.02)
    if record["status"] == "ok":
        rps = 50000.0 if args.workload == "http" else 60000.0
        record.update(requests=int(rps * args.duration), rps=rps, p50_us=100.0, p90_us=200.0, p99_us=400.0,
                      p999_us=900.0, max_us=2000.0, mean_us=120.0, server_rss_before_bytes=4 << 20,
                      server_rss_bytes=(4 << 20) + 2048 * args.connections, rss_per_conn_bytes=2048.0,
                      kernel_per_conn_bytes=1024.0, total_per_conn_bytes=3072.0, server_threads=1,
                      server_cpu_s=0.5, fd_leak=False)
    capacity = float(os.environ.get("FAKE_CAPACITY") or 0)
    if record["status"] == "ok" and args.mode == "open" and args.rate and capacity:
        # An open-loop server that carries `capacity` req/s: below it the latency is low, above it the queue grows.
        achieved = min(args.rate, capacity)
        p99 = 400.0 if args.rate <= capacity else 50000.0
        record.update(target_rate=args.rate, achieved_rate=achieved, rps=achieved, p50_us=p99 / 4, p99_us=p99,
                      p999_us=p99 * 2, requests=int(achieved * args.duration))
    if os.environ.get("FAKE_LOADGEN_EXTRA_KEY"):  # a measurement results.csv has no column for
        record[os.environ["FAKE_LOADGEN_EXTRA_KEY"]] = 1.5
    if args.timeline:
        with open(args.timeline, "w") as f:
            f.write("t_s,requests,errors,p50_us,p99_us,server_rss_bytes\n")
            for t in range(int(args.duration) or 1):
                f.write(f"{t + 1},{int(record.get('rps') or 0)},0,100,400,{4 << 20}\n")
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.replace(tmp, args.json)
    print(f"fake loadgen: {record['status']}")
    return 0 if record["status"] != "failed" else 1


if __name__ == "__main__":
    sys.exit(main())
