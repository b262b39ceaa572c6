#!/usr/bin/env python3
"""Regenerates fixtures/gate/ (checked in; the gate tests read them). Each folder is a results folder as the gate
sees it (results.csv, callgrind.csv, meta.json), seeded so that reruns reproduce the same bytes."""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fixture_run  # noqa: E402

ALL = list(fixture_run.BACKENDS)
FIXTURES = {
    "baseline": dict(seed=1),
    "noise": dict(seed=2),                                            # +-2 % jitter: inside every threshold
    "regression_memory": dict(seed=3, scale_memory=1.15),             # +15 % memory per connection
    "regression_instructions": dict(seed=4, scale_instructions=1.07),  # +7 % instructions
    "regression_ratio": dict(seed=5, scale_rps={"coro-local": 0.3}),   # coro-local/threads -70 %, costs unchanged
    "regression_counts": dict(seed=10, scale_counts={b: 1.15 for b in ALL}),  # +15 % syscalls, switches per request
    # coro-local made 2x slower per request (CPU work added): -50 % throughput, twice the CPU and instructions
    "slowdown_half": dict(seed=11, scale_rps={"coro-local": 0.5}, scale_cost={"coro-local": 2.0}),
    "failed_run": dict(seed=6, failed_row=True),                      # one run failed with errors
    "wallclock_baseline": dict(seed=7, repetitions=9, noise=0.03),
    "wallclock_noise": dict(seed=8, repetitions=9, noise=0.03),
    "wallclock_slower": dict(seed=9, repetitions=9, noise=0.03, scale_rps={b: 0.85 for b in ALL}),
    # Times judged against their scatter (issue 13.7): 5 repetitions with capacity rows, +-5 % jitter between them
    "scatter_baseline": dict(seed=12, repetitions=5, noise=0.05, capacity=True),
    "scatter_noise": dict(seed=13, repetitions=5, noise=0.05, capacity=True),
    # coro-local's capacity under the cap halved, nothing else changed
    "capacity_half": dict(seed=14, repetitions=5, noise=0.05, capacity=True, scale_capacity={"coro-local": 0.5}),
    # coro-local made 2x slower per request, with repetitions: its CPU per request is judged and fails too
    "scatter_slowdown": dict(seed=15, repetitions=5, noise=0.05, capacity=True, scale_cost={"coro-local": 2.0}),
}

if __name__ == "__main__":
    root = os.path.join(HERE, "fixtures", "gate")
    shutil.rmtree(root, ignore_errors=True)
    for name, kwargs in FIXTURES.items():
        fixture_run.make(os.path.join(root, name), gate_only=True, **kwargs)
    print(f"wrote {len(FIXTURES)} fixtures under {root}")
