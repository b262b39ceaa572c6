#!/usr/bin/env python3
"""How many repetitions would this machine need for two runs of unchanged code to agree within a bound?

    scripts/repetitions_needed.py A B [--column server_cpu_us_per_op] [--match '10,000/s'] [--within 0.10]
                                      [--probability 0.9]

From two runs of the same code (e.g. two back-to-back `default` runs), per cell with repetitions in both: the
scatter of one repetition (coefficient of variation, pooled over both runs about each run's own mean, so a shift
between the runs is not counted as scatter). A median of n repetitions scatters by about sqrt(pi / 2n) times that
(the normal approximation), so the difference of two runs' medians by sqrt(pi / n). The script prints each cell's
scatter, the chance that the two medians agree within the bound at the runs' own repetition count and at others, and
the least n at which every cell agrees at once with the asked probability. Standard library only.

It answers issue 13's acceptance 1 for a noisy machine with arithmetic instead of hope: at a per-repetition scatter
of 11 %, 5 repetitions give each cell about a 75 % chance to stay within 10 %, and 26 cells all at once next to
none.
"""
import argparse
import math
import os
import statistics
import sys
from typing import Dict, List, Sequence, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tvt_results as tr  # noqa: E402


def pooled_cv(runs: Sequence[Sequence[float]]) -> float:
    """Scatter of one repetition relative to its run's mean, pooled over the runs (each needs >= 2 values)."""
    squares, dof = 0.0, 0
    for values in runs:
        mean = statistics.fmean(values)
        squares += sum((v / mean - 1.0) ** 2 for v in values)
        dof += len(values) - 1
    return math.sqrt(squares / dof) if dof > 0 else float("nan")


def p_within(cv: float, n: int, within: float) -> float:
    """Chance that the medians of n repetitions of two runs differ by at most `within` (relative)."""
    if cv <= 0:
        return 1.0
    sd = cv * math.sqrt(math.pi / n)  # each median: cv * sqrt(pi / 2n); the difference of two: sqrt(2) times that
    return math.erf(within / (sd * math.sqrt(2.0)))


def least_n(cvs: Sequence[float], within: float, probability: float, limit: int = 1000) -> int:
    for n in range(1, limit + 1):
        if math.prod(p_within(c, n, within) for c in cvs) >= probability:
            return n
    return limit


def describe(key: Tuple) -> str:
    return " ".join(str(x) for x in key if x not in (None, ""))


def cells(folder: str, column: str, match: str) -> Dict[Tuple, List[float]]:
    out: Dict[Tuple, List[float]] = {}
    for row in tr.ok_rows(tr.Results(folder).rows):
        value = tr.num(row.get(column))
        key = tr.cell_key(row)
        if value is not None and value > 0 and match in describe(key):
            out.setdefault(key, []).append(value)
    return out


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--column", default="server_cpu_us_per_op")
    p.add_argument("--match", default="", help="only cells whose description contains this, e.g. '10,000/s'")
    p.add_argument("--within", type=float, default=0.10, help="relative bound on the difference of the medians")
    p.add_argument("--probability", type=float, default=0.9, help="for every cell at once")
    args = p.parse_args(argv[1:])
    a, b = cells(args.a, args.column, args.match), cells(args.b, args.column, args.match)
    shared = sorted(k for k in a if k in b and len(a[k]) >= 2 and len(b[k]) >= 2)
    if not shared:
        print(f"repetitions_needed: no cell has {args.column} repeated in both runs", file=sys.stderr)
        return 1
    cvs = [pooled_cv((a[k], b[k])) for k in shared]
    n_now = min(min(len(a[k]), len(b[k])) for k in shared)
    print(f"{args.column}: {len(shared)} cells repeated in both runs; scatter of one repetition (pooled CV)")
    for key, cv in zip(shared, cvs):
        print(f"  {describe(key):60s} {100 * cv:5.1f} %   "
              f"P(within {100 * args.within:g} %) at n={n_now}: {p_within(cv, n_now, args.within):.2f}")
    print(f"median scatter {100 * statistics.median(cvs):.1f} % (range {100 * min(cvs):.1f}–{100 * max(cvs):.1f} %)")
    for n in sorted({n_now, 9, 15, 25, 35}):
        print(f"  n={n:3d}: P(every cell within {100 * args.within:g} %) = "
              f"{math.prod(p_within(c, n, args.within) for c in cvs):.2f}")
    print(f"least n for P >= {args.probability:g}: {least_n(cvs, args.within, args.probability)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
