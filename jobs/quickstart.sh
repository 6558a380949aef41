#!/usr/bin/env bash
# jobs/quickstart.sh — first thing to run on a new machine: installs, builds, runs the main job on
# the default data (a few minutes on 2 cores) and prints its test accuracy.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

# ---- the main job: the one place to change (becomes the evolution run once it exists) ----------
main_job() {
  "$MUNET_BUILD_DIR/munet" train --task mnist --steps 1500 --validations 3 --batch-size 128 \
    --lr 0.03 --crop false --flip false --threads "$(nproc)" --log-every 250
}
# -------------------------------------------------------------------------------------------------

munet_setup
log_dir="$MUNET_REPO/out"
mkdir -p "$log_dir"
log="$log_dir/quickstart.log"
munet_step "running the main job (log: $log)"
main_job 2>&1 | tee "$log"

munet_step "result"
grep '^test_accuracy' "$log" | tail -n 1 ||
  munet_die "the main job printed no test_accuracy line; see $log"
