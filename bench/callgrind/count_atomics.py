#!/usr/bin/env python3
"""Executed atomic read-modify-writes (lock-prefixed instructions, xchg with memory) of one hotpath case.

    bench/callgrind/count_atomics.py build/ci/bin/hotpath coro-local switch

Runs the case under `valgrind --tool=callgrind --dump-instr=yes` (instruction-level counts, object-relative
addresses), disassembles every object that ran (objdump -d) and sums the counts of the atomic instructions. Callgrind
counts an atomic as one instruction like any other, though it costs tens of cycles: this is the missing column.
glibc's mutexes execute none while a process has one thread, so a one-thread case shows only the runtime's own.
"""
import collections
import re
import subprocess
import sys
import tempfile

ATOMIC = re.compile(r"lock\b|xchg\s+(\S+,)?\S*\(")  # `xchg` with a memory operand is locked implicitly


def executed_atomics(out_file: str) -> int:
    counts = collections.defaultdict(collections.Counter)  # object -> address -> executions
    obj, after_call = None, False
    with open(out_file, errors="replace") as f:
        for line in f:
            if line.startswith("ob="):
                obj = line[3:].strip()
            elif line.startswith("calls="):
                after_call = True  # the next cost line is the call's inclusive cost, not an instruction's
            else:
                m = re.match(r"^0x([0-9a-f]+) \S+ (\d+)", line)
                if m:
                    if not after_call:
                        counts[obj][int(m.group(1), 16)] += int(m.group(2))
                    after_call = False
    total = 0
    for path, executed in counts.items():
        if not path or not path.startswith("/"):
            continue
        listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path], capture_output=True, text=True).stdout
        for line in listing.splitlines():
            m = re.match(r"^\s*([0-9a-f]+):\s+(.*)$", line)
            if m and ATOMIC.match(m.group(2)):
                total += executed.get(int(m.group(1), 16), 0)
    return total


def main() -> int:
    if len(sys.argv) != 4:
        print("usage: count_atomics.py HOTPATH MODEL CASE", file=sys.stderr)
        return 2
    hotpath, model, case = sys.argv[1:]
    with tempfile.NamedTemporaryFile(suffix=".callgrind") as out:
        run = subprocess.run(["valgrind", "--tool=callgrind", "--dump-instr=yes", "--compress-pos=no",
                              "--compress-strings=no", f"--callgrind-out-file={out.name}", hotpath, "--model", model,
                              "--case", case], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if run.returncode != 0:
            print(run.stderr, file=sys.stderr)
            return 1
        print(executed_atomics(out.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
