#!/usr/bin/env bash
# tests/tools/same_results.sh BEFORE AFTER WORKDIR — do two munet executables compute the same
# thing, bit for bit? A refactoring's check (issue 20's "results must not change"): the same
# small runs with each (1 rank; 2 and 3 ranks under mpiexec when both have MPI; a paper baseline;
# a staged run grown with --add-tasks), then every checkpoint of every run compared with h5diff
# (leaving out what may differ: /run_info, training seconds, the digest over them) and the final
# `munet inspect --json` compared. Prints one line per comparison and exits 1 on any difference.
#
#   e.g. git worktree add /tmp/before <commit> && (build it) &&
#        tests/tools/same_results.sh /tmp/before/build/munet build/munet /tmp/same
set -euo pipefail
(($# == 3)) || { echo "usage: $0 BEFORE_MUNET AFTER_MUNET WORKDIR" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$3
[[ -n ${MUNET_DATA:-} || -d $repo/../shared/datasets ]] || { echo "error: set MUNET_DATA (a folder laid out like shared/datasets)" >&2; exit 2; }
export MUNET_DATA=${MUNET_DATA:-$repo/../shared/datasets}
if ((EUID == 0)); then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi

small=(--config "$repo/jobs/configs/quickstart.cfg" --children-per-task 4 --validations 2 --steps-per-validation 10
  --max-val-examples 300 --batch-size 32)
staged=(--tasks cmaterdb_devanagari --children-per-task 4 --parallel-slots 2 --validations 2 --steps-per-validation 10
  --batch-size 32 --max-val-examples 300 --layers 2)
# inspect --json without its "checkpoint" (the file's path), sorted, for comparing.
without_path() { /usr/bin/python3 -c 'import json, sys; d = json.load(sys.stdin); d.pop("checkpoint"); print(json.dumps(d, sort_keys=True, indent=1))'; }
has_mpi() { "$1" info 2>/dev/null | grep -q "MPI on"; }

# The runs of one executable, into WORKDIR/NAME/<run>.
runs() {
  local munet=$1 out=$work/$2
  rm -rf "$out" && mkdir -p "$out"
  echo "$2: $munet"
  "$munet" evolve "${small[@]}" --threads 2 --output "$out/one_rank" > "$out/one_rank.log" 2>&1
  if ((mpi)); then
    mpiexec --oversubscribe -n 2 "$munet" evolve "${small[@]}" --threads 1 --output "$out/two_ranks" > "$out/two_ranks.log" 2>&1
    mpiexec --oversubscribe -n 3 "$munet" evolve "${small[@]}" --threads 1 --output "$out/three_ranks" > "$out/three_ranks.log" 2>&1
  fi
  "$munet" evolve "${small[@]}" --baseline finetune --threads 2 --output "$out/finetune" > "$out/finetune.log" 2>&1
  "$munet" evolve "${staged[@]}" --threads 2 --output "$out/staged" > "$out/staged.log" 2>&1
  "$munet" evolve --add-tasks cmaterdb_bangla --threads 2 --output "$out/staged" >> "$out/staged.log" 2>&1
}

mpi=0
has_mpi "$1" && has_mpi "$2" && command -v mpiexec >/dev/null && mpi=1
runs "$1" before
runs "$2" after
names=(one_rank finetune staged)
((mpi)) && names+=(two_ranks three_ranks) || echo "(no MPI in both: the 2- and 3-rank runs are left out)"
differ=0
for run in "${names[@]}"; do
  n=0
  for ck in "$work/before/$run"/checkpoints/ckpt-*.h5; do
    other=$work/after/$run/checkpoints/$(basename "$ck")
    if [[ ! -f $other ]] || ! h5diff -q --exclude-path /run_info --exclude-path /models/train_seconds \
      --exclude-path /digest "$ck" "$other"; then
      echo "DIFFERENT: $run/$(basename "$ck")"
      differ=1
    fi
    n=$((n + 1))
  done
  last=$(ls "$work/before/$run/checkpoints" | tail -n 1)
  "$1" inspect --json "$work/before/$run/checkpoints/$last" | without_path > "$work/before/$run.json"
  "$2" inspect --json "$work/after/$run/checkpoints/$last" | without_path > "$work/after/$run.json"
  if cmp -s "$work/before/$run.json" "$work/after/$run.json"; then
    echo "same: $run ($n checkpoints, inspect --json)"
  else
    echo "DIFFERENT: $run inspect --json"
    differ=1
  fi
done
((differ == 0)) && echo "the two executables computed the same results" || { echo "FAILED: results differ"; exit 1; }
