#!/usr/bin/env bash
# jobs/quickstart.sh — first thing to run on a new machine: installs, builds, runs the main job on
# the default data (a small evolution over three tasks, a few minutes on 2 cores) and prints the
# per-task table.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

# ---- the main job: the one place to change ---------------------------------------------------------
main_job() {
  "$MUNET_BUILD_DIR/munet" evolve --config "$MUNET_REPO/jobs/configs/quickstart.cfg" --threads "$(nproc)"
}
# -------------------------------------------------------------------------------------------------

munet_setup
log_dir="$MUNET_REPO/out"
mkdir -p "$log_dir"
log="$log_dir/quickstart.log"
munet_step "running the main job (log: $log)"
main_job 2>&1 | tee "$log"

munet_step "result"
grep -A 20 '^final:' "$log" ||
  munet_die "the main job printed no final table; see $log"
