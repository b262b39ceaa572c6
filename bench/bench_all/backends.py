"""The back-end registry as bench_all reads it: `server --list-backends` prints one JSON object per back end (JSON
Lines, docs/CONTRACTS.md), in registry order, with its capabilities. bench_all copies the lines verbatim into each
results folder as backends.jsonl, so that charts, report and gate take names and order from the run itself.
"""
import json
import subprocess
from dataclasses import dataclass
from typing import List, Tuple

FILE_NAME = "backends.jsonl"


@dataclass(frozen=True)
class Variant:
    name: str                  # the results.csv `variant` column
    args: Tuple[str, ...]      # appended to the server's command line
    workloads: Tuple[str, ...]  # the workloads the arguments change


@dataclass(frozen=True)
class Backend:
    name: str
    summary: str
    language: str
    peer: bool
    threads_option: bool
    variants: Tuple[Variant, ...]

    def variants_for(self, workload: str) -> List[Variant]:
        return [v for v in self.variants if workload in v.workloads]


def parse(text: str) -> List[Backend]:
    """The registry from `server --list-backends` output (or a backends.jsonl). ValueError on a malformed line."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            entries.append(Backend(
                name=str(obj["name"]), summary=str(obj["summary"]), language=str(obj["language"]),
                peer=bool(obj["peer"]), threads_option=bool(obj["threads_option"]),
                variants=tuple(Variant(str(v["name"]), tuple(str(a) for a in v["args"]),
                                       tuple(str(w) for w in v["workloads"])) for v in obj["variants"])))
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"back-end list line {number} is not a registry entry ({e}): {line.strip()[:200]}")
    return entries


def list_text(server: str) -> str:
    """What `server --list-backends` prints; RuntimeError if it fails."""
    out = subprocess.run([server, "--list-backends"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    if out.returncode != 0:
        raise RuntimeError(f"`server --list-backends` failed: {out.stderr.decode(errors='replace').strip()}")
    return out.stdout.decode()


def read_file(path: str) -> List[Backend]:
    with open(path, encoding="utf-8") as f:
        return parse(f.read())
