#!/usr/bin/env bash
# tests/bench/bench_ranks.sh — multi-rank evolution, in one command: builds, then runs one fixed
# evolution workload (two character tasks, 4 children per generation) with 1 rank and with 2
# ranks of one thread each (a rank per core, as a rank per GPU on a cluster), and for reference
# with 1 rank of 2 threads (the same cores used by threads instead). Prints the wall times, the
# speed-up, the bytes moved between ranks per generation and the pool memory per rank, and checks
# that every run ends with the same checkpoint.
# usage: tests/bench/bench_ranks.sh [WORKDIR]    (extra settings: MUNET_BENCH_ARGS="--steps-per-validation 50")
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../../jobs/lib/setup.sh"
munet_setup
work=${1:-$MUNET_REPO/out/bench_ranks}
rm -rf "$work" && mkdir -p "$work"
munet=$MUNET_BUILD_DIR/munet
# shellcheck disable=SC2206
workload=(evolve --tasks cmaterdb_devanagari,cmaterdb_bangla --task-iterations 1 --children-per-task 8
          --parallel-slots 4 --validations 2 --steps-per-validation 100 --batch-size 64
          --max-val-examples 500 --seed 1 ${MUNET_BENCH_ARGS:-})

timed() {  # timed NAME COMMAND...: runs it, logs to WORK/NAME.log, prints and returns the seconds
  local name=$1 t0 t1
  shift
  t0=$(date +%s.%N)
  "$@" --output "$work/$name" > "$work/$name.log" 2>&1 || munet_die "$name failed; see $work/$name.log"
  t1=$(date +%s.%N)
  awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }'
}

munet_step "benchmark: the same evolution on 1 and 2 ranks ($(nproc) cores)"
echo "workload: ${workload[*]}"
one=$(timed one_rank "$munet" "${workload[@]}" --threads 1)
printf '1 rank  x 1 thread : %7.1f s\n' "$one"
two=$(timed two_ranks mpiexec --oversubscribe -n 2 "$munet" "${workload[@]}" --threads 1)
printf '2 ranks x 1 thread : %7.1f s   speed-up %.2fx\n' "$two" "$(awk -v a="$one" -v b="$two" 'BEGIN { print a / b }')"
threads=$(timed one_rank_two_threads "$munet" "${workload[@]}" --threads 2)
printf '1 rank  x 2 threads: %7.1f s   (reference: the two cores used by threads; 2 ranks are %.2fx this)\n' \
  "$threads" "$(awk -v a="$threads" -v b="$two" 'BEGIN { print a / b }')"

# Per generation: bytes sent between ranks, and the pool memory each rank held at its peak.
grep -o 'moved [0-9.]* MB, held [0-9./]* MB per rank' "$work/two_ranks.log" | awk '
  { mb = $2; n++; sum += mb; if (n == 1 || mb < lo) lo = mb; if (mb > hi) hi = mb; held = $5 }
  END { printf "bytes moved between ranks per generation: mean %.2f MB (min %.2f, max %.2f) over %d generations\n", sum / n, lo, hi, n
        printf "pool memory per rank after the last generation: %s MB\n", held }'
last=$(ls "$work/one_rank/checkpoints" | tail -1)
for run in two_ranks one_rank_two_threads; do
  h5diff -q --exclude-path /run_info --exclude-path /models/train_seconds --exclude-path /digest "$work/one_rank/checkpoints/$last" \
    "$work/$run/checkpoints/$last" || munet_die "$run ended with another checkpoint than one_rank"
done
echo "all three runs ended with identical checkpoints ($last, h5diff)"
