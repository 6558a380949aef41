#!/usr/bin/env bash
# tests/bench/bench_children_gpu.sh — generation throughput on a GPU: children per hour of the
# character-benchmark config (cmaterdb Bangla + Devanagari, the char root, 8 children per
# generation) with several children training at once on the GPU against one at a time, in the
# same run; then checks that both runs ended with identical checkpoints (h5diff), since the
# number of children at once must not change any result.
#
#   bash tests/bench/bench_children_gpu.sh [MUNET_BINARY] [--device cuda|cuda:N|cpu] [--at-once "1 4"]
#          [--steps N] [--children N]
#
# --device cpu runs the same commands on the CPU (a dry run of this script; children at once do
# not apply there). Prints one line per setting and `children_per_hour_ratio` at the end.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
munet=$repo/build/munet
device=cuda
at_once="1 4"
steps=100
children=16
if [[ $# -gt 0 && $1 != --* ]]; then munet=$1; shift; fi
while [[ $# -gt 0 ]]; do
  case $1 in
    --device) device=$2; shift 2 ;;
    --at-once) at_once=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --children) children=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "bench_children_gpu.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -x $munet ]] || { echo "bench_children_gpu.sh: no munet binary at $munet (build it first)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/munet-children.XXXXXX")
trap 'rm -rf "$work"' EXIT

declare -A rate
first=""
for k in $at_once; do
  out=$work/at-once-$k
  start=$(date +%s.%N)
  "$munet" evolve --device "$device" --children-per-device "$k" --tasks cmaterdb_bangla,cmaterdb_devanagari \
    --task-iterations 1 --children-per-task "$children" --parallel-slots 8 --validations 2 \
    --steps-per-validation $((steps / 2)) --batch-size 256 --max-val-examples 1000 --output "$out" \
    > "$out.log" 2>&1 || { echo "run with $k at once failed:"; tail -5 "$out.log"; exit 1; }
  end=$(date +%s.%N)
  total=$((2 * children))
  rate[$k]=$(awk -v n="$total" -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", n / (b - a) * 3600 }')
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  printf '%s children at once: %d children of %d steps in %s s = %s children/hour (%s)\n' "$k" "$total" "$steps" \
    "$secs" "${rate[$k]}" "$(grep -m1 -o 'backend [^;]*' "$out.log" || true)"
  ckpt=$(ls "$out"/checkpoints/ckpt-*.h5 | sort | tail -1)
  if [[ -z $first ]]; then
    first=$ckpt
  elif command -v h5diff >/dev/null; then
    # Timings differ by nature; everything else must be identical.
    if h5diff -q --exclude-path /run_info --exclude-path /models/train_seconds --exclude-path /digest "$first" "$ckpt" >/dev/null 2>&1; then
      echo "  final checkpoint identical to the first setting's (h5diff)"
    else
      echo "  final checkpoint DIFFERS from the first setting's (h5diff $first $ckpt)"; exit 1
    fi
  fi
done
set -- $at_once
if [[ $# -ge 2 ]]; then
  awk -v a="${rate[$1]}" -v b="${rate[${!#}]}" -v k="${!#}" -v o="$1" \
    'BEGIN { printf "children_per_hour_ratio %.2f (%s at once over %s)\n", b / a, k, o }'
fi
