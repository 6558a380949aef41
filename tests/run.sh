#!/usr/bin/env bash
# tests/run.sh — the one way to test munet (CI runs it through .ci/run): installs the Debian
# packages, builds, and runs every test with ctest. Extra arguments go to ctest (e.g. -R Attention).
# Exit status is ctest's.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../jobs/lib/setup.sh"
munet_setup

munet_step "running tests"
status=0
ctest --test-dir "$MUNET_BUILD_DIR" --output-on-failure --no-tests=error -j2 "$@" || status=$?
munet_step "ctest exited with status $status"
exit "$status"
