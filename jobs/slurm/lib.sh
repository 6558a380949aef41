# shellcheck shell=bash
# jobs/slurm/lib.sh — sourced by the batch scripts in this folder (gpu_node.sbatch,
# gpu_multinode.sbatch, cpu_ranks.sbatch); see README.md here. It runs `munet evolve` with one rank
# per task of the allocation and makes the job survive its time limit and preemption:
#
#   - one run folder per job, MUNET_RUNS/<job name>-<job id>, with munet's checkpoints; the job id
#     survives a requeue, so the restarted job finds its checkpoints and munet resumes from the
#     newest complete one (munet evolve --output);
#   - the pre-limit signal (#SBATCH --signal=B:USR1@SECONDS) and SIGTERM reach the batch shell;
#     it passes them to the launcher (srun or mpirun), which passes them to every rank (SIGUSR1
#     only once munet runs, so that none is lost while it starts); munet finishes its
#     generation, writes a checkpoint and exits 3 ("stopped, resumable");
#   - on exit status 3 after the pre-limit signal the job requeues itself (scontrol requeue) with
#     the same job id; after SIGTERM (scancel, preemption) it does not;
#   - on success it writes results.txt (the final per-task table) and results.json (munet inspect
#     --json of the final checkpoint) into the run folder.
#
# Environment (all optional):
#   MUNET_REPO          the repository (default: from the batch script's path as Slurm recorded
#                       it, else the submit directory)
#   MUNET_BIN           the munet binary (default: $MUNET_BUILD_DIR/munet, i.e. <repo>/build/munet)
#   MUNET_CONFIG        `munet evolve --config` file
#   MUNET_ARGS          more `munet evolve` arguments (split at spaces); arguments given to the
#                       batch script itself are passed on too
#   MUNET_RUNS          folder for run folders (default: $SLURM_SUBMIT_DIR/runs)
#   MUNET_RUN_DIR       the run folder (default: $MUNET_RUNS/$SLURM_JOB_NAME-$SLURM_JOB_ID); set it
#                       to continue a run folder in a new job
#   MUNET_RANKS         ranks (default: SLURM_NTASKS, the tasks the job asked for)
#   MUNET_LAUNCHER      auto | srun | mpirun (default auto: `srun --mpi=pmix` when `srun --mpi=list`
#                       offers pmix, else mpirun inside the allocation)
#   MUNET_LAUNCH_ARGS   more launcher arguments (e.g. "--gpus-per-task=1" for srun)
#   MUNET_MAX_RESTARTS  stop requeueing after this many restarts (default 50)

MUNET_STOPPED_STATUS=3 # munet evolve's "stopped by a signal, checkpoint written" (src/app/stop_request.h)

munet_job_say() { printf '[munet-job %s] %s\n' "$(date '+%F %T')" "$*"; }

munet_job_die() {
  munet_job_say "error: $*" >&2
  exit 1
}

# Finds the repository, the binary and the run folder; prints where the job stands.
munet_job_init() {
  munet_job_catch_signals
  [[ -n ${SLURM_JOB_ID:-} ]] || munet_job_die "not inside a Slurm job (submit this script with sbatch)"
  if [[ -z ${MUNET_REPO:-} ]]; then
    # Slurm runs a copy of the batch script, so its own path says nothing; ask for the original's.
    local cmd
    cmd=$(scontrol show job "$SLURM_JOB_ID" 2>/dev/null | sed -n 's/^ *Command=\([^ ]*\).*/\1/p' | head -1)
    if [[ -n $cmd && -f $(dirname "$cmd")/lib.sh ]]; then
      MUNET_REPO=$(cd "$(dirname "$cmd")/../.." && pwd)
    else
      MUNET_REPO=$SLURM_SUBMIT_DIR
    fi
  fi
  export MUNET_REPO
  MUNET_BIN=${MUNET_BIN:-${MUNET_BUILD_DIR:-$MUNET_REPO/build}/munet}
  [[ -x $MUNET_BIN ]] || munet_job_die "no munet binary at $MUNET_BIN (build it, or set MUNET_BIN)"
  MUNET_RUNS=${MUNET_RUNS:-$SLURM_SUBMIT_DIR/runs}
  MUNET_RUN_DIR=${MUNET_RUN_DIR:-$MUNET_RUNS/${SLURM_JOB_NAME:-munet}-$SLURM_JOB_ID}
  mkdir -p "$MUNET_RUN_DIR" || munet_job_die "cannot create the run folder $MUNET_RUN_DIR"
  MUNET_RUN_DIR=$(cd "$MUNET_RUN_DIR" && pwd)
  MUNET_RANKS=${MUNET_RANKS:-${SLURM_NTASKS:-1}}
  MUNET_MAX_RESTARTS=${MUNET_MAX_RESTARTS:-50}
  # Open MPI refuses to start as root unless told (containers, test clusters).
  if ((EUID == 0)); then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
  munet_job_say "job $SLURM_JOB_ID ($SLURM_JOB_NAME), start $((${SLURM_RESTART_COUNT:-0} + 1))" \
    "(restarts: ${SLURM_RESTART_COUNT:-0}), nodes ${SLURM_JOB_NODELIST:-?}, $MUNET_RANKS ranks"
  munet_job_say "run folder $MUNET_RUN_DIR"
  munet_job_say "munet $MUNET_BIN"
}

# Sets LAUNCH: the command that starts MUNET_RANKS ranks of what follows it.
munet_job_launcher() {
  local want=${MUNET_LAUNCHER:-auto}
  if [[ $want == auto ]]; then
    if srun --mpi=list 2>&1 | grep -qw pmix; then
      want=srun
    elif command -v mpirun >/dev/null; then
      want=mpirun
    else
      munet_job_die "srun offers no pmix and there is no mpirun; set MUNET_LAUNCHER=srun to use srun's default MPI plugin"
    fi
  fi
  local extra=()
  read -r -a extra <<< "${MUNET_LAUNCH_ARGS:-}"
  case $want in
    srun)
      local mpi=()
      srun --mpi=list 2>&1 | grep -qw pmix && mpi=(--mpi=pmix)
      # --kill-on-bad-exit=0: a rank that stops with status 3 must not make srun kill the others
      # before they have written their part.
      LAUNCH=(srun "${mpi[@]}" --ntasks="$MUNET_RANKS" --kill-on-bad-exit=0 "${extra[@]}")
      ;;
    mpirun)
      command -v mpirun >/dev/null || munet_job_die "MUNET_LAUNCHER=mpirun but there is no mpirun"
      # Inside the allocation Open MPI takes the nodes and slots from Slurm and starts its daemons
      # with srun. Threads are munet's own (--threads): no binding to one core.
      LAUNCH=(mpirun -n "$MUNET_RANKS" --bind-to none "${extra[@]}")
      # mpirun returns the first non-zero rank status (3 for a stop) and then ends the other
      # ranks; munet's ranks leave only once the checkpoint is complete. (Turning that off with
      # orte_abort_on_non_zero_status=0 would make mpirun return 0.)
      ;;
    *) munet_job_die "MUNET_LAUNCHER is '$want'; want auto, srun or mpirun" ;;
  esac
  LAUNCH+=("$MUNET_REPO/jobs/slurm/rank_env.sh")
  munet_job_say "launcher: ${LAUNCH[*]}"
}

# Signals to the batch shell. SIGTERM goes to the launcher at once (Slurm sends it to every
# process of the job anyway). SIGUSR1 goes to the launcher, which passes it to every rank, once
# munet has caught up with it: once this start's munet.log shows munet's first line ("munet
# evolve: ..."), which munet prints after installing its stop handlers. Sent sooner, a rank still
# starting would lose it (rank_env.sh ignores it until munet's handlers are in place) or die of it.
_munet_job_forward() {
  local sig=$1
  _munet_job_interrupted=1
  [[ $sig == TERM ]] && _munet_job_terminated=1
  if [[ -z ${_munet_job_pid:-} ]]; then
    munet_job_say "got SIG$sig before munet runs: keeping it for munet"
    _munet_job_pending=$sig
    return 0
  fi
  munet_job_say "got SIG$sig: passing it on, munet will checkpoint after its current generation"
  if [[ $sig == TERM ]]; then
    kill -s TERM "$_munet_job_pid" 2>/dev/null
  elif [[ -z ${_munet_job_deliverer:-} ]]; then
    local pid=$_munet_job_pid
    (
      until _munet_job_ready; do
        kill -0 "$pid" 2>/dev/null || exit 0
        sleep 1
      done
      kill -s USR1 "$pid" 2>/dev/null
    ) &
    _munet_job_deliverer=$!
  fi
  return 0
}

# Whether munet (rank 0) has printed its first line in this start's part of munet.log.
_munet_job_ready() {
  tail -c +"$((_munet_job_log_start + 1))" "$MUNET_RUN_DIR/munet.log" 2>/dev/null | grep -q '^munet evolve:'
}

# Catches SIGUSR1 and SIGTERM from here on (see _munet_job_forward); the batch scripts catch them
# from their first line into _munet_early_signal.
munet_job_catch_signals() {
  _munet_job_interrupted=0 _munet_job_terminated=0 _munet_job_pending=${_munet_early_signal:-} _munet_job_pid=
  _munet_job_deliverer='' _munet_job_log_start=0
  [[ $_munet_job_pending == TERM ]] && _munet_job_terminated=1
  trap '_munet_job_forward USR1' USR1
  trap '_munet_job_forward TERM' TERM
}

# Runs munet evolve under LAUNCH with the run folder as --output and the given arguments, passing
# SIGUSR1 and SIGTERM on; sets MUNET_STATUS to its exit status. Output goes to the job's output
# and, appended, to the run folder's munet.log.
munet_job_evolve() {
  local args=(evolve --output "$MUNET_RUN_DIR")
  [[ -n ${MUNET_CONFIG:-} ]] && args+=(--config "$MUNET_CONFIG")
  local extra=()
  read -r -a extra <<< "${MUNET_ARGS:-}"
  args+=("${extra[@]}" "$@")
  # One rank's threads: the CPUs Slurm gave each task, unless the arguments say.
  if [[ -n ${SLURM_CPUS_PER_TASK:-} && " ${args[*]} " != *" --threads"* ]]; then
    args+=(--threads "$SLURM_CPUS_PER_TASK")
  fi
  local newest
  newest=$(ls "$MUNET_RUN_DIR"/checkpoints/ckpt-*.h5 2>/dev/null | tail -1)
  munet_job_say "newest checkpoint: ${newest:-none (a new run)}"
  munet_job_say "running: ${LAUNCH[*]} $MUNET_BIN ${args[*]}"
  echo "$(date '+%F %T') job $SLURM_JOB_ID start $((${SLURM_RESTART_COUNT:-0} + 1)) from ${newest:-scratch}" \
    >> "$MUNET_RUN_DIR/attempts.log"

  if ((_munet_job_terminated)); then
    munet_job_say "got SIGTERM before munet started: the job is ending, not starting munet"
    exit 143
  fi
  _munet_job_log_start=$(stat -c %s "$MUNET_RUN_DIR/munet.log" 2>/dev/null || echo 0)
  # The tee ignores the signals, so that it outlives munet and keeps its last lines.
  "${LAUNCH[@]}" "$MUNET_BIN" "${args[@]}" > >(trap '' USR1 TERM INT; exec tee -a "$MUNET_RUN_DIR/munet.log") 2>&1 &
  _munet_job_pid=$!
  if [[ -n ${_munet_job_pending:-} ]]; then
    _munet_job_forward "$_munet_job_pending"
    _munet_job_pending=
  fi
  # `wait` returns early when a trapped signal comes: wait again until munet has really ended.
  local rc prev=
  while :; do
    _munet_job_interrupted=0
    wait "$_munet_job_pid"
    rc=$?
    if ((rc == 127)) && [[ -n $prev ]]; then rc=$prev && break; fi # already reaped and reported
    if ((_munet_job_interrupted && rc > 128)); then prev=$rc && continue; fi
    break
  done
  trap - USR1 TERM
  _munet_job_pid=
  if [[ -n ${_munet_job_deliverer:-} ]]; then
    kill "$_munet_job_deliverer" 2>/dev/null
    _munet_job_deliverer=
  fi
  MUNET_STATUS=$rc
  echo "$(date '+%F %T') job $SLURM_JOB_ID start $((${SLURM_RESTART_COUNT:-0} + 1)) ended with status $rc" \
    >> "$MUNET_RUN_DIR/attempts.log"
  sleep 1 # let the tee write munet's last lines
}

# Acts on MUNET_STATUS: results on success, requeue on a resumable stop, else the failure.
munet_job_finish() {
  case $MUNET_STATUS in
    0)
      local last
      last=$(ls "$MUNET_RUN_DIR"/checkpoints/ckpt-*.h5 2>/dev/null | tail -1)
      # The table after the last "final:" in the log (earlier starts of the job have none).
      awk '/^final:/ { table = ""; on = 1; next } on { table = table $0 "\n" } END { printf "%s", table }' \
        "$MUNET_RUN_DIR/munet.log" > "$MUNET_RUN_DIR/results.txt.partial"
      mv "$MUNET_RUN_DIR/results.txt.partial" "$MUNET_RUN_DIR/results.txt"
      if [[ -n $last ]]; then
        "$MUNET_BIN" inspect "$last" --json > "$MUNET_RUN_DIR/results.json.partial" &&
          mv "$MUNET_RUN_DIR/results.json.partial" "$MUNET_RUN_DIR/results.json"
      fi
      munet_job_say "finished: results in $MUNET_RUN_DIR/results.txt and results.json (final checkpoint ${last:-none})"
      exit 0
      ;;
    "$MUNET_STOPPED_STATUS")
      local restarts=${SLURM_RESTART_COUNT:-0}
      if ((_munet_job_terminated)); then
        # SIGTERM: Slurm is ending the job (scancel, the time limit itself, preemption); a
        # preempted job with PreemptMode=REQUEUE is requeued by Slurm, a cancelled one stays so.
        munet_job_say "stopped by SIGTERM with a checkpoint; not requeueing (to continue in a new job," \
          "submit again with MUNET_RUN_DIR=$MUNET_RUN_DIR)"
        exit "$MUNET_STOPPED_STATUS"
      fi
      if ((restarts >= MUNET_MAX_RESTARTS)); then
        munet_job_say "stopped with a checkpoint, but not requeued: $restarts restarts already (MUNET_MAX_RESTARTS);" \
          "to continue, submit again with MUNET_RUN_DIR=$MUNET_RUN_DIR"
        exit "$MUNET_STOPPED_STATUS"
      fi
      munet_job_say "munet stopped with a checkpoint: requeueing job $SLURM_JOB_ID (restart $((restarts + 1)))"
      echo "$(date '+%F %T') job $SLURM_JOB_ID requeued" >> "$MUNET_RUN_DIR/attempts.log"
      if ! scontrol requeue "$SLURM_JOB_ID"; then
        munet_job_say "scontrol requeue failed (at the time limit itself Slurm no longer requeues);" \
          "to continue, submit again with MUNET_RUN_DIR=$MUNET_RUN_DIR"
        exit "$MUNET_STOPPED_STATUS"
      fi
      exit 0 # Slurm ends this shell anyway once the job is requeued
      ;;
    *)
      munet_job_say "munet failed with status $MUNET_STATUS; see $MUNET_RUN_DIR/munet.log"
      exit "$MUNET_STATUS"
      ;;
  esac
}

# The whole job: init, launcher, evolve with the given arguments, finish.
munet_job_main() {
  munet_job_init
  munet_job_launcher
  munet_job_evolve "$@"
  munet_job_finish
}
