#!/usr/bin/env bash
# On a real (local, one-node) Slurm: submits jobs/slurm/cpu_ranks.sbatch with sbatch, once with
# the automatic launcher (srun --mpi=pmix where Slurm offers it) and once with mpirun inside the
# allocation, waits for each, and checks that the job COMPLETED, its run folder is
# runs/<job name>-<job id>, results.txt holds the final table and results.json (munet inspect
# --json) a finished run, and that both equal a straight one-process `munet evolve` run.
# usage: test_sbatch_cpu.sh MUNET WORKDIR
# Environment: MUNET_SLURM_RANKS ranks per job (default in slurm_local.sh), SLURM_TEST_TIMEOUT
# seconds to wait for each job (default 600).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
munet=$(realpath "$1")
work=$2
timeout=${SLURM_TEST_TIMEOUT:-600}
fail() {
  echo "FAILED: $*"
  exit 1
}
source "$here/slurm_local.sh"
ranks=$MUNET_SLURM_RANKS
rm -rf "$work" && mkdir -p "$work" && cd "$work"
slurm_local_start

cpus=$(sinfo -h -N -o %c | head -1)
threads=$((cpus / ranks > 0 ? cpus / ranks : 1))
args=(--threads "$threads")
# The same run without Slurm, to compare with (one rank: the job must give exactly this).
"$munet" evolve --config "$here/tiny.cfg" "${args[@]}" --output straight > straight.log
total=$(sed -n 's/.*checkpoint straight\/checkpoints\/ckpt-0*\([0-9]*\)\.h5 (\([0-9]*\)\/\2 generations.*/\2/p' straight.log | tail -1)
[[ -n $total ]] || fail "straight run: no final checkpoint line"
last=$(printf 'checkpoints/ckpt-%06d.h5' "$total")

for launcher in auto mpirun; do
  slurm_local_log "submitting cpu_ranks.sbatch: $ranks rank(s), launcher $launcher"
  job=$(MUNET_BIN=$munet MUNET_CONFIG=$here/tiny.cfg MUNET_LAUNCHER=$launcher MUNET_RUNS=$work/runs \
    sbatch --parsable --job-name="cpu-$launcher" --ntasks="$ranks" --cpus-per-task=1 --time=15 \
    "$MUNET_REPO/jobs/slurm/cpu_ranks.sbatch" "${args[@]}")
  slurm_local_log "job $job submitted; waiting (at most $timeout s)"
  state=$(slurm_local_wait_job "$job" "$timeout") || { cat "cpu-$launcher-$job.out" 2>/dev/null; fail "job $job: $state"; }
  out=cpu-$launcher-$job.out
  run=runs/cpu-$launcher-$job
  echo "---- $out"
  cat "$out"
  [[ $state == COMPLETED ]] || fail "job $job ended $state (exit $(slurm_local_job_field "$job" ExitCode))"
  [[ $(slurm_local_job_field "$job" ExitCode) == 0:0 ]] || fail "job $job exit code $(slurm_local_job_field "$job" ExitCode)"
  case $launcher in
    auto)
      if srun --mpi=list 2>&1 | grep -qw pmix; then
        grep -q 'launcher: srun --mpi=pmix' "$out" || fail "pmix is offered, but the job did not use srun --mpi=pmix"
      fi
      ;;
    mpirun) grep -q 'launcher: mpirun' "$out" || fail "the job did not use mpirun" ;;
  esac
  (($(grep -c '^\[munet-rank\] rank ' "$out") == ranks)) || fail "want $ranks rank lines in $out"
  grep -q "^munet evolve: .*; $ranks rank" "$out" || fail "munet did not run as one job of $ranks rank(s)"
  [[ -f $run/results.txt && -f $run/results.json ]] || fail "no results.txt/results.json in $run: $(ls "$run")"
  grep -q '^cmaterdb_devanagari ' "$run/results.txt" && grep -q '^cmaterdb_bangla ' "$run/results.txt" ||
    fail "results.txt lacks the task rows: $(cat "$run/results.txt")"
  /usr/bin/python3 - "$run/results.json" "$total" <<'EOF' || fail "results.json is not a finished run"
import json, sys
r = json.load(open(sys.argv[1]))
total = int(sys.argv[2])
assert r["generations_done"] == total == r["total_generations"], (r["generations_done"], r["total_generations"], total)
assert r["complete_run"] is True
assert sorted(t["task"] for t in r["tasks"]) == ["cmaterdb_bangla", "cmaterdb_devanagari"]
print("results.json:", r["generations_done"], "of", r["total_generations"], "generations,",
      ", ".join("%s test %.2f%%" % (t["task"], 100 * t["test_accuracy"]) for t in r["tasks"]))
EOF
  # munet's results do not depend on the rank count: the job equals the one-process run.
  diff <(sed -n '/^final:/,$p' straight.log | tail -n +2) "$run/results.txt" || fail "results.txt differs from the straight run's table"
  h5diff -q --exclude-path /run_info --exclude-path /models/train_seconds --exclude-path /digest "straight/$last" "$run/$last" ||
    fail "the job's final checkpoint differs from the straight run's"
  echo "job $job ($launcher, $ranks rank(s)): same table and final checkpoint (h5diff) as the straight run"
done
echo "slurm sbatch CPU test: all checks passed ($ranks rank(s), ${SECONDS} s)"
