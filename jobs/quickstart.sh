#!/usr/bin/env bash
# jobs/quickstart.sh — first thing to run on a new machine: installs, builds, runs the main job on
# the default data (a small evolution over three tasks, a few minutes on 2 cores), prints the
# per-task table and makes a report folder (figures + index.html, analysis/report.py) from the
# run's last checkpoint.
#
# The run folder out/quickstart is cleared at the start: munet evolve would otherwise resume from
# (or, when finished, simply reload) the previous run's checkpoints instead of running again.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

# ---- the main job: the one place to change ---------------------------------------------------------
run_dir="$MUNET_REPO/out/quickstart"   # checkpoints in $run_dir/checkpoints, the report in $run_dir/report
main_job() {
  "$MUNET_BUILD_DIR/munet" evolve --config "$MUNET_REPO/jobs/configs/quickstart.cfg" --threads "$(nproc)" \
    --output "$run_dir"
}
# -------------------------------------------------------------------------------------------------

munet_setup
log_dir="$MUNET_REPO/out"
mkdir -p "$log_dir"
log="$log_dir/quickstart.log"
if [[ -e $run_dir ]]; then
  munet_step "clearing the previous quickstart run ($run_dir)"
  rm -rf "$run_dir"
fi
munet_step "running the main job (log: $log)"
main_job 2>&1 | tee "$log"

munet_step "result"
grep -A 20 '^final:' "$log" ||
  munet_die "the main job printed no final table; see $log"

munet_step "making the report"
# Debian's interpreter: it has python3-h5py, -numpy and -matplotlib (MUNET_PACKAGES).
python=${MUNET_PYTHON:-/usr/bin/python3}
"$python" "$MUNET_REPO/analysis/report.py" "$run_dir" --out "$run_dir/report" ||
  munet_die "analysis/report.py failed on $run_dir"
echo "report: $run_dir/report/index.html"
