#!/usr/bin/env bash
# On a real (local, one-node) Slurm: the pre-limit signal. Submits jobs/slurm/cpu_ranks.sbatch with
# a run long enough, and once its first checkpoint exists sends it what `#SBATCH
# --signal=B:USR1@SECONDS` sends before the time limit (SIGUSR1 to the batch shell only:
# `scancel --signal=USR1 --batch`). Checks that munet stopped after a generation with a
# checkpoint (exit 3), the job requeued itself (Restarts >= 1, same job id, same run folder), the
# second start resumed from exactly that checkpoint (no finished generation lost), the job
# COMPLETED, and its final checkpoint and table equal a straight run's (h5diff, timings excluded).
# The same with the signal as soon as the job starts (before munet has its handlers). Then a plain
# scancel: munet checkpoints after its generation on SIGTERM, and the job does not requeue itself.
# usage: test_preempt_requeue.sh MUNET WORKDIR
# Environment: MUNET_SLURM_RANKS ranks per job (default in slurm_local.sh); SLURM_TEST_TIMEOUT
# seconds per wait (default 600). The test cluster lets a requeued job start again after 10 s
# (slurm_local.sh: cred_expire=10; Slurm's default is 120 s, and a job started sooner is killed).
# SLURM_TEST_REAL_TIME_LIMIT=1 sends no signal itself but submits with --time=1
# --signal=B:USR1@45 and waits for Slurm's own pre-limit signal (a longer run, about 3 minutes).
# SLURM_TEST_LAUNCHERS="auto mpirun" (the default) picks the launchers to try.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
munet=$(realpath "$1")
work=$2
timeout=${SLURM_TEST_TIMEOUT:-600}
fail() {
  echo "FAILED: $*"
  [[ -n ${out:-} && -f ${out:-} ]] && { echo "---- $out"; cat "$out"; }
  exit 1
}
source "$here/slurm_local.sh"
ranks=$MUNET_SLURM_RANKS
rm -rf "$work" && mkdir -p "$work" && cd "$work"
slurm_local_start

cpus=$(sinfo -h -N -o %c | head -1)
threads=$((cpus / ranks > 0 ? cpus / ranks : 1))
# 12 generations of a fraction of a second each (a few seconds in all on 2 cores): time to
# signal the job after its first checkpoint.
args=(--task-iterations 2 --children-per-task 3 --steps-per-validation 100 --threads "$threads")
total=12
real_limit=${SLURM_TEST_REAL_TIME_LIMIT:-0}
if ((real_limit)); then
  # Slurm checks time limits every 30 s and sends the signal up to 30 s early: within the first
  # 30 s of a 1-minute job with --signal=B:USR1@45. 200 generations last about a minute.
  args=(--task-iterations 1 --children-per-task 100 --steps-per-validation 100 --threads "$threads")
  total=200
fi
"$munet" evolve --config "$here/tiny.cfg" "${args[@]}" --output straight > straight.log
last=$(printf 'checkpoints/ckpt-%06d.h5' $total)
[[ -f straight/$last ]] || fail "straight run: no $last"

# One job with the given launcher (auto: srun --mpi=pmix here; mpirun: Open MPI inside the
# allocation, which passes SIGUSR1 on to its ranks itself), signalled once its first checkpoint
# exists (when=checkpoint) or as soon as its batch shell runs (when=start: munet is made to take 3 s
# to start; the batch shell holds the signal back until munet runs, and the run still stops after
# a generation).
preempt_once() {
  local launcher=$1 when=$2 job state restarts stop_line stopped_at ckpt start name bin=$munet
  name=preempt-$launcher-$when
  if [[ $when == start ]]; then
    bin=$work/slow-munet
    printf '#!/bin/sh\nsleep 3\nexec %s "$@"\n' "$munet" > "$bin"
    chmod +x "$bin"
  fi
  local submit=(sbatch --parsable --job-name="$name" --ntasks="$ranks" --cpus-per-task=1 --time=15)
  ((real_limit)) && submit+=(--time=1 --signal=B:USR1@45)
  job=$(MUNET_BIN=$bin MUNET_CONFIG=$here/tiny.cfg MUNET_RUNS=$work/runs MUNET_LAUNCHER=$launcher \
    "${submit[@]}" "$MUNET_REPO/jobs/slurm/cpu_ranks.sbatch" "${args[@]}")
  out=$name-$job.out
  run=runs/$name-$job
  start=$SECONDS
  if [[ $when == start ]]; then
    slurm_local_log "job $job submitted; waiting for its batch shell"
    until [[ -s $out ]]; do
      ((SECONDS - start < timeout)) || fail "job $job did not start in $timeout s"
      sleep 0.05
    done
  else
    slurm_local_log "job $job submitted; waiting for its first checkpoint"
    until [[ -f $run/checkpoints/ckpt-000001.h5 ]]; do
      ((SECONDS - start < timeout)) || fail "no first checkpoint after $timeout s (state $(slurm_local_job_field "$job" JobState))"
      sleep 0.1
    done
  fi
  if ((real_limit)); then
    slurm_local_log "job $job: waiting for Slurm's own pre-limit SIGUSR1 (--time=1 --signal=B:USR1@45)"
  else
    scancel --signal=USR1 --batch "$job"
    slurm_local_log "sent SIGUSR1 to the batch shell of job $job (scancel --signal=USR1 --batch)"
  fi

  # Wait for the requeue: the job is pending again with one restart.
  start=$SECONDS
  until [[ $(slurm_local_job_field "$job" Restarts) -ge 1 ]]; do
    state=$(slurm_local_job_field "$job" JobState)
    [[ $state == COMPLETED ]] && fail "job $job completed without being requeued (did the signal come too late?)"
    ((SECONDS - start < timeout)) || fail "job $job not requeued after $timeout s (state $state)"
    sleep 0.2
  done
  slurm_local_log "job $job requeued: $(scontrol show job "$job" | grep -o 'JobState=[A-Z]* Reason=[^ ]*')"
  # The second start gets time enough to finish.
  if ((real_limit)); then scontrol update JobId="$job" TimeLimit=15; fi
  state=$(slurm_local_wait_job "$job" "$timeout") || fail "job $job: $state"
  echo "---- $out"
  cat "$out"
  echo "---- $run/attempts.log"
  cat "$run/attempts.log"
  [[ $state == COMPLETED ]] || fail "job $job ended $state (exit $(slurm_local_job_field "$job" ExitCode))"
  restarts=$(slurm_local_job_field "$job" Restarts)
  ((restarts >= 1)) || fail "Restarts=$restarts"

  # munet stopped after a whole generation with a checkpoint, and the job requeued itself.
  stop_line=$(grep -m1 '^stopped by SIGUSR1 after generation' "$run/munet.log") || fail "munet did not report the stop"
  stopped_at=$(sed -n "s/^stopped by SIGUSR1 after generation \([0-9]*\) of $total; checkpoint .*; run again.*/\1/p" <<< "$stop_line")
  [[ -n $stopped_at ]] || fail "stop line: $stop_line"
  ckpt=$(printf '%s/%s/checkpoints/ckpt-%06d.h5' "$work" "$run" "$stopped_at")
  [[ $stop_line == *"checkpoint $ckpt;"* ]] || fail "stop line names another checkpoint than $ckpt: $stop_line"
  grep -q 'got SIGUSR1: passing it on' "$out" || fail "the batch shell did not report the signal"
  grep -q "requeueing job $job (restart 1)" "$out" || fail "the job did not requeue itself"
  grep -q "job $job ($name), start 2 (restarts: 1)" "$out" || fail "no second start of the job"
  grep -q 'ended with status 3' "$run/attempts.log" || fail "the first start did not end with status 3"
  # The second start resumed from exactly the checkpoint the first wrote when it stopped.
  grep -q "^resuming from $ckpt: $stopped_at of $total generations done" "$run/munet.log" ||
    fail "the second start did not resume from $ckpt: $(grep '^resuming' "$run/munet.log")"
  ((stopped_at < total)) || fail "stopped after the last generation"
  echo "$launcher, signal at $when: stopped after generation $stopped_at of $total, requeued (Restarts=$restarts), resumed from generation $stopped_at"

  # Same end as a run that never stopped.
  diff <(sed -n '/^final:/,$p' straight.log | tail -n +2) "$run/results.txt" || fail "results.txt differs from the straight run's table"
  h5diff -q --exclude-path /run_info --exclude-path /models/train_seconds --exclude-path /digest "straight/$last" "$run/$last" ||
    fail "the requeued job's final checkpoint differs from the straight run's"
  echo "$launcher, signal at $when: final checkpoint identical to the straight run's (h5diff)"
}

launchers=(auto mpirun)
((real_limit)) && launchers=(auto)
[[ -n ${SLURM_TEST_LAUNCHERS:-} ]] && read -r -a launchers <<< "$SLURM_TEST_LAUNCHERS"
for launcher in "${launchers[@]}"; do
  preempt_once "$launcher" checkpoint
done
((real_limit)) || preempt_once auto start
# scancel (SIGTERM to every process of the job, SIGKILL KillWait later): munet still writes a
# checkpoint after its generation and exits 3, but the job does not requeue itself.
cancel_once() {
  local job state stop_line stopped_at ckpt start
  job=$(MUNET_BIN=$munet MUNET_CONFIG=$here/tiny.cfg MUNET_RUNS=$work/runs \
    sbatch --parsable --job-name=cancel --ntasks="$ranks" --cpus-per-task=1 --time=15 \
    "$MUNET_REPO/jobs/slurm/cpu_ranks.sbatch" "${args[@]}")
  out=cancel-$job.out
  run=runs/cancel-$job
  start=$SECONDS
  until [[ -f $run/checkpoints/ckpt-000001.h5 ]]; do
    ((SECONDS - start < timeout)) || fail "no first checkpoint after $timeout s"
    sleep 0.1
  done
  scancel "$job"
  slurm_local_log "cancelled job $job (scancel)"
  state=$(slurm_local_wait_job "$job" "$timeout") || fail "job $job: $state"
  sleep 2 # the batch shell may still be writing its last lines
  echo "---- $out"
  cat "$out"
  [[ $state == CANCELLED ]] || fail "job $job ended $state, want CANCELLED"
  [[ $(slurm_local_job_field "$job" Restarts) == 0 ]] || fail "a cancelled job was requeued"
  stop_line=$(grep -m1 '^stopped by SIGTERM after generation' "$run/munet.log") || fail "munet did not report a stop by SIGTERM"
  stopped_at=$(sed -n "s/^stopped by SIGTERM after generation \([0-9]*\) of $total; checkpoint .*/\1/p" <<< "$stop_line")
  ckpt=$(printf '%s/checkpoints/ckpt-%06d.h5' "$run" "$stopped_at")
  [[ -n $stopped_at && -f $ckpt ]] || fail "no checkpoint for the stop: $stop_line"
  "$munet" inspect "$ckpt" --json > /dev/null || fail "$ckpt does not load"
  grep -q 'not requeueing' "$out" || fail "the job did not say it is not requeueing"
  echo "scancel: stopped after generation $stopped_at with $ckpt, not requeued"
}
((real_limit)) || cancel_once

echo "slurm preempt/requeue test: all checks passed ($ranks rank(s), ${SECONDS} s)"
