#!/usr/bin/env bash
# tests/bench/scaling_traffic.sh — the measured half of docs/scaling.md: bytes moved between
# ranks per generation and pool memory per rank, for 1 to 3 tasks on 2 and 3 ranks, with the
# character-benchmark root (ViT-Ti/16, 3 layers, 32x32). Training is cut short (traffic does not
# depend on it), so it takes a few minutes on 2 cores.
# usage: tests/bench/scaling_traffic.sh [WORKDIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../../jobs/lib/setup.sh"
munet_setup
work=${1:-$MUNET_REPO/out/scaling_traffic}
rm -rf "$work" && mkdir -p "$work"
task_lists=(cmaterdb_devanagari cmaterdb_devanagari,cmaterdb_bangla cmaterdb_devanagari,cmaterdb_bangla,mnist)
munet_step "traffic between ranks per generation (children per generation: 4)"
printf '%-6s %-5s %12s %14s %14s %18s\n' tasks ranks generations "pool (MB)" "moved/gen (MB)" "held/rank (MB)"
for ranks in 2 3; do
  for list in "${task_lists[@]}"; do
    n=$(tr ',' '\n' <<< "$list" | wc -l)
    log="$work/r${ranks}_t${n}.log"
    mpiexec --oversubscribe -n "$ranks" "$MUNET_BUILD_DIR/munet" evolve --tasks "$list" --task-iterations 2 \
      --children-per-task 8 --parallel-slots 4 --validations 1 --steps-per-validation 2 --batch-size 16 \
      --max-val-examples 64 --eval-batch-size 256 --seed 1 > "$log" 2>&1 || munet_die "run failed: $log"
    grep 'generation [0-9]*/[0-9]*:' "$log" | awk -v t="$n" -v r="$ranks" '
      { for (i = 1; i <= NF; i++) {
          if ($i == "pool") pool = $(i + 1) + 0
          if ($i == "moved") { sum += $(i + 1); n++ }
          if ($i == "held") held = $(i + 1) } }
      END { printf "%-6d %-5d %12d %14.2f %14.2f %18s\n", t, r, n, pool * 4, sum / n, held }'
  done
done
