#!/usr/bin/env bash
# tests/run.sh — the one way to test munet (CI runs it through .ci/run): installs the Debian
# packages, builds (full, and CPU-only without MPI), and runs every test of both with ctest.
# Extra arguments go to ctest (e.g. -R Attention). Exit status: non-zero if any test failed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../jobs/lib/setup.sh"
munet_setup

munet_step "running tests (full build: CUDA, MPI and NCCL as detected)"
status=0
ctest --test-dir "$MUNET_BUILD_DIR" --output-on-failure --no-tests=error -j2 "$@" || status=$?

# The CPU-only build without MPI must build and pass its tests too.
minimal="$MUNET_BUILD_DIR-cpu-only"
munet_build "$minimal" -DMUNET_CUDA=OFF -DMUNET_MPI=OFF
munet_step "running tests (CPU-only build without MPI)"
ctest --test-dir "$minimal" --output-on-failure --no-tests=error -j2 "$@" || status=$?

munet_step "tests finished with status $status"
exit "$status"
