#!/usr/bin/env python3
"""The performance regression gate: compare a results folder with the committed baseline.

  scripts/gate RUN [BASELINE]          compare (BASELINE defaults to results/baseline); exit 1 on a regression
  scripts/gate --update-baseline RUN   copy RUN's tables into results/baseline/ (deliberately; see scripts/README.md)
  scripts/gate --self-check RUN        make a baseline 20 % better than RUN and check that the gate rejects RUN

Stdlib only. What is judged and with which threshold: gate_rules.py (and scripts/README.md, with the measurements
behind each threshold). The modules: gate_load (a results folder as series), gate_stats (Mann-Whitney U),
gate_rules (rules, verdicts, the table), gate_baseline (baseline updates, self-check); this file is the command.
Exit: 0 pass, 1 regression, 2 usage error.
"""
import argparse
import os
import sys
from typing import List

import gate_baseline
import gate_load
import gate_rules

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BASELINE = os.path.join(REPO, "results", "baseline")


def gate(run_folder: str, baseline_folder: str, out=sys.stdout) -> int:
    try:
        run, base = gate_load.Run(run_folder), gate_load.Run(baseline_folder)
    except FileNotFoundError as e:
        print(f"gate: {e}", file=sys.stderr)
        return 2
    print(f"gate: {run_folder} (profile {run.profile or '?'}) vs baseline {baseline_folder} "
          f"(profile {base.profile or '?'})", file=out)
    if run.profile != base.profile:
        print("gate: profiles differ: rows the baseline has and this run lacks are not judged", file=out)
    lines = gate_rules.compare(run, base)
    gate_rules.print_table(lines, out)
    failures = [line for line in lines if line.fails]
    judged = sum(line.verdict in ("ok", "improved", "REGRESSION", "MISSING") for line in lines)
    # The failing lines again, last: a CI log is often read from its tail, and a table of ~150 lines pushes them out.
    for line in failures:
        print(f"gate: failing: {line.metric}: {line.verdict}, {line.baseline or '-'} -> {line.now or '-'}"
              f"{', ' + line.change if line.change else ''}, threshold {line.threshold or '-'}"
              f"{'; ' + line.note if line.note else ''}", file=out)
    print(f"gate: {'FAIL' if failures else 'PASS'}: {len(failures)} failing of {judged} compared metrics",
          file=out)
    return 1 if failures else 0


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="results folder to judge")
    p.add_argument("baseline", nargs="?", default=DEFAULT_BASELINE)
    p.add_argument("--update-baseline", action="store_true", help="copy RUN into the baseline folder")
    p.add_argument("--self-check", action="store_true",
                   help="check that the gate fails RUN against a baseline made 20%% better than RUN")
    args = p.parse_args(argv)
    if args.update_baseline:
        try:
            gate_baseline.update_baseline(args.run, args.baseline)
        except FileNotFoundError as e:
            print(f"gate: {e}", file=sys.stderr)
            return 2
        return 0
    if args.self_check:
        return gate_baseline.self_check(args.run)
    return gate(args.run, args.baseline)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
