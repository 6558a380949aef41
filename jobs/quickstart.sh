#!/usr/bin/env bash
# jobs/quickstart.sh — first thing to run on a new machine: installs, builds, runs the main job on
# the default data (a small evolution over three tasks, a few minutes on 2 cores), prints the
# per-task table, then shows the µ2Net effect: the later two tasks run again alone (the root their
# only seed, the same compute), and a table compares each one's best validation after its first
# generation and its final test accuracy with and without mnist's layers in the pool. It ends by
# making a report folder (figures + index.html, analysis/report.py) from the main run.
#
# The run folders out/quickstart and out/quickstart-alone are cleared at the start: munet evolve
# would otherwise resume from (or, when finished, simply reload) the previous run's checkpoints.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

# ---- the main job: the one place to change ---------------------------------------------------------
run_dir="$MUNET_REPO/out/quickstart"   # checkpoints in $run_dir/checkpoints, the report in $run_dir/report
alone_dir="$MUNET_REPO/out/quickstart-alone"
main_job() {
  "$MUNET_BUILD_DIR/munet" evolve --config "$MUNET_REPO/jobs/configs/quickstart.cfg" --threads "$(nproc)" \
    --output "$run_dir"
}
# The comparison: the tasks after the first, each evolving alone from the root on the same budget.
alone_job() {
  "$MUNET_BUILD_DIR/munet" evolve --config "$MUNET_REPO/jobs/configs/quickstart.cfg" --threads "$(nproc)" \
    --tasks cmaterdb_bangla,cmaterdb_devanagari --baseline transfer --output "$alone_dir"
}
# -------------------------------------------------------------------------------------------------

munet_setup
log_dir="$MUNET_REPO/out"
mkdir -p "$log_dir"
log="$log_dir/quickstart.log"
for dir in "$run_dir" "$alone_dir"; do
  if [[ -e $dir ]]; then
    munet_step "clearing the previous quickstart run ($dir)"
    rm -rf "$dir"
  fi
done
munet_step "running the main job (log: $log)"
main_job 2>&1 | tee "$log"

munet_step "result"
grep -A 20 '^final:' "$log" ||
  munet_die "the main job printed no final table; see $log"

alone_log="$log_dir/quickstart-alone.log"
munet_step "the µ2Net effect: cmaterdb_bangla and cmaterdb_devanagari again, alone (log: $alone_log)"
alone_job > "$alone_log" 2>&1 || munet_die "the comparison run failed; see $alone_log"
# Debian's interpreter: it has python3-h5py, -numpy and -matplotlib (MUNET_PACKAGES).
python=${MUNET_PYTHON:-/usr/bin/python3}
compare=("$python" "$MUNET_REPO/analysis/compare_runs.py" "with mnist in the pool=$run_dir" "alone=$alone_dir")
echo "Best validation accuracy after each task's first generation:"
"${compare[@]}" --first-generation || munet_die "analysis/compare_runs.py failed"
echo
echo "At the end, on the same compute per task:"
"${compare[@]}" || munet_die "analysis/compare_runs.py failed"

munet_step "making the report"
"$python" "$MUNET_REPO/analysis/report.py" "$run_dir" --out "$run_dir/report" ||
  munet_die "analysis/report.py failed on $run_dir"
echo "report: $run_dir/report/index.html"
