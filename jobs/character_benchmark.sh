#!/usr/bin/env bash
# jobs/character_benchmark.sh — the experiment behind docs/results.md: µ2Net evolution against the
# paper's baselines (finetune, freeze:2, adapters:32) at equal compute, preset chars-ti3 on the five
# character tasks from a random root, 8 of the preset's 64 children per task. Hours of CPU: it runs
# in the background-friendly way, each run in its own --output folder, so that starting the script
# again resumes every unfinished run from its newest checkpoint and skips the finished ones.
#
#   jobs/character_benchmark.sh [RUNS_DIR]        (default: out/character_benchmark)
#
# Settings (environment): MUNET_CHILDREN (8; 64 is the paper's budget), MUNET_LANES (2 runs at a
# time), MUNET_RUN_THREADS (threads per run, 1), MUNET_RUNS (which runs, default all four:
# "evolution finetune freeze2 adapters32"; also evolution_mu3, the evolution at µ = 0.3, the top
# of µ2Net's range, which clones more of the random root's layers), MUNET_NICE (10: the runs yield
# to interactive work).
# Each run folder gets time.log (one line per segment: wall, user and system seconds, exit status,
# or "killed" for a segment that was killed without a word, e.g. with its session) and DONE when
# its run has finished; analysis/compare_runs.py reads them for the report.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

runs_dir=${1:-$MUNET_REPO/out/character_benchmark}
children=${MUNET_CHILDREN:-8}
lanes=${MUNET_LANES:-2}
threads=${MUNET_RUN_THREADS:-1}
niceness=${MUNET_NICE:-10}
read -r -a runs <<<"${MUNET_RUNS:-evolution finetune freeze2 adapters32}"
tasks=mnist,fashion_mnist,omniglot,cmaterdb_bangla,cmaterdb_devanagari

baseline_of() {
  case $1 in
    evolution | evolution_mu3) echo none ;;
    finetune) echo finetune ;;
    freeze2) echo freeze:2 ;;
    adapters32) echo adapters:32 ;;
    *) munet_die "unknown run '$1' (valid: evolution, evolution_mu3, finetune, freeze2, adapters32)" ;;
  esac
}
for run in "${runs[@]}"; do baseline_of "$run" >/dev/null; done

munet_setup_data
[[ -x $MUNET_BUILD_DIR/munet ]] || munet_die "no $MUNET_BUILD_DIR/munet: build first (tests/run.sh or jobs/quickstart.sh)"
mkdir -p "$runs_dir"

# The CPU a running segment has used so far, as a time.log line without its exit field, kept in
# segment.now every few seconds: /usr/bin/time writes its line only when the run ends, so a run
# killed with SIGKILL would otherwise leave no trace of its CPU time. $1: the run folder, $2: the
# pid of /usr/bin/time, whose child (nice execs it) is munet.
watch_segment() {
  local dir=$1 time_pid=$2 start=$SECONDS tick run_pid ticks
  tick=$(getconf CLK_TCK)
  while kill -0 "$time_pid" 2>/dev/null; do
    sleep 10
    run_pid=$(pgrep -P "$time_pid" | head -n 1) || continue
    ticks=$(cut -d ' ' -f 14,15 "/proc/$run_pid/stat" 2>/dev/null) || continue
    awk -v wall=$((SECONDS - start)) -v tick="$tick" '{ printf "%d %.2f %.2f\n", wall, $1 / tick, $2 / tick }' \
      <<<"$ticks" >"$dir/segment.now.tmp" && mv "$dir/segment.now.tmp" "$dir/segment.now"
  done
}

# One run, resumed where it stopped; its command line goes to command.txt, as docs/results.md quotes it.
one_run() {
  local run=$1 dir="$runs_dir/$1"
  if [[ -e $dir/DONE ]]; then
    echo "$run: finished earlier ($dir)"
    return 0
  fi
  mkdir -p "$dir"
  if [[ -s $dir/segment.now ]]; then  # the last segment was killed before /usr/bin/time could write
    echo "$(cat "$dir/segment.now") killed" >>"$dir/time.log"
  fi
  rm -f "$dir/segment.now"
  local cmd=("$MUNET_BUILD_DIR/munet" evolve --preset chars-ti3 --tasks "$tasks" --children-per-task "$children"
    --baseline "$(baseline_of "$run")" --threads "$threads" --seed 0 --output "$dir")
  [[ $run == evolution_mu3 ]] && cmd+=(--mu 0.3)
  echo munet "${cmd[@]:1}" >"$dir/command.txt"
  echo "$run: running (log: $dir/run.log)"
  local status=0
  /usr/bin/time -a -o "$dir/time.log" -f "%e %U %S %x" nice -n "$niceness" "${cmd[@]}" >>"$dir/run.log" 2>&1 &
  local time_pid=$!
  watch_segment "$dir" "$time_pid" &
  wait "$time_pid" || status=$?
  wait  # the watcher, which stops within seconds of the run
  rm -f "$dir/segment.now"
  if ((status == 0)); then
    touch "$dir/DONE"
    echo "$run: finished"
  else
    echo "$run: exit $status (see $dir/run.log); start the script again to resume"
  fi
  return "$status"
}

# The runs in $lanes lanes: a free lane takes the next run no lane has claimed (mkdir is atomic), so
# that a lane whose runs were short does not sit idle while the other still has two to go.
claims=$(mktemp -d "$runs_dir/.claims.XXXXXX")
trap 'rm -rf "$claims"' EXIT
pids=()
for ((lane = 0; lane < lanes; ++lane)); do
  (
    for run in "${runs[@]}"; do
      mkdir "$claims/$run" 2>/dev/null || continue
      one_run "$run" || exit 1
    done
  ) &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
((failed == 0)) || munet_die "a run stopped early; start the script again to resume it"
munet_step "all runs finished: python3 analysis/compare_runs.py ${runs[*]/#/$runs_dir/}"
