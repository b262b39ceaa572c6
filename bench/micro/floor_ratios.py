#!/usr/bin/env python3
"""floor_ratios.py: our runtimes against their raw floors in wall-clock time (issue 18's figures), as ratios.

usage: bench/micro/floor_ratios.py BIN_DIR [--rounds N] [--out DIR]

A round runs every (figure, model) below in a process of its own, as bench_all does (a model that starts threads
must not put the next one in a multi-threaded process), each the binary's default 9 repetitions; a figure's value is
the median of its repetitions, and the round's ratio is ours / the floor's, measured back to back. Times on a shared
machine drift between rounds (the floor too), so each round is printed, then the median of the rounds' ratios and
their range. Stdlib only; names and headline counters come from scripts/tvt_results.py.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import tvt_results as tr  # noqa: E402

# figure -> (binary, benchmark filter with {model}, family)
FIGURES = {
    "yield": ("bench_micro_yield", "BM_Yield/model:{model}/units:2/", "BM_Yield"),
    "ping-pong": ("bench_micro_switch", "BM_PingPong/model:{model}/placement:same-thread", "BM_PingPong"),
    "spawn+join": ("bench_micro_spawn", "BM_SpawnJoin/model:{model}/", "BM_SpawnJoin"),
}
# ours -> its floor
PAIRS = {"coro-local": "raw-coroutine", "fiber": "raw-context"}


def median_of(report: dict, family: str) -> Optional[float]:
    """The median aggregate's headline counter in one binary's JSON report (None when the run has none)."""
    counter = tr.MICRO_HEADLINE[family][0][0]
    for run in report.get("benchmarks", []):
        if run.get("aggregate_name") == "median" and tr.micro_name(run.get("run_name", run["name"]))[0] == family:
            return float(run[counter]) if counter in run else float(run["real_time"])
    return None


def measure(bin_dir: str, figure: str, model: str, out_dir: Optional[str], round_no: int) -> Optional[float]:
    binary, pattern, family = FIGURES[figure]
    proc = subprocess.run([os.path.join(bin_dir, binary), "--benchmark_filter=" + pattern.format(model=model),
                           "--benchmark_format=json"], capture_output=True, text=True, timeout=600)
    if out_dir:
        with open(os.path.join(out_dir, f"r{round_no}-{figure}-{model}.json"), "w") as f:
            f.write(proc.stdout)
    if proc.returncode != 0:
        return None
    try:
        return median_of(json.loads(proc.stdout), family)
    except json.JSONDecodeError:
        return None


def summarize(rounds: List[Dict[Tuple[str, str], float]]) -> List[str]:
    """One line per (figure, our model): the median of the rounds' ratios, their range and each round's."""
    lines = []
    for figure in FIGURES:
        for ours, floor in PAIRS.items():
            ratios = [r[(figure, ours)] / r[(figure, floor)] for r in rounds
                      if r.get((figure, ours)) and r.get((figure, floor))]
            if not ratios:
                lines.append(f"{figure:10} {ours:10} / {floor:13}: no complete round")
                continue
            lines.append(f"{figure:10} {ours:10} / {floor:13}: median {statistics.median(ratios):.2f}x "
                         f"(range {min(ratios):.2f}-{max(ratios):.2f}; rounds "
                         f"{' '.join(f'{x:.2f}' for x in ratios)})")
    return lines


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bin_dir")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--out", help="keep each process's JSON here")
    args = parser.parse_args(argv)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    rounds = []
    for n in range(1, args.rounds + 1):
        values = {(figure, model): measure(args.bin_dir, figure, model, args.out, n)
                  for figure in FIGURES for pair in PAIRS.items() for model in pair}
        rounds.append(values)
        print(f"round {n}: " + "; ".join(
            f"{figure} {model} {v:.1f} ns" if v else f"{figure} {model} failed"
            for (figure, model), v in values.items()), flush=True)
    for line in summarize(rounds):
        print(line)
    return 0 if all(v for r in rounds for v in r.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
