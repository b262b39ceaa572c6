#!/bin/sh
# Prints the instruction count (callgrind's Ir) of one hotpath case: count.sh HOTPATH MODEL CASE
# e.g. bench/callgrind/count.sh build/release/bin/hotpath coro-local spawn
set -eu
[ $# -eq 3 ] || { echo "usage: $0 HOTPATH MODEL CASE" >&2; exit 2; }
out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" --model "$2" --case "$3" 2>&1) || {
  printf '%s\n' "$out" >&2; exit 1; }
printf '%s\n' "$out" | sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p'
