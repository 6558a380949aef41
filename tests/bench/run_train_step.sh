#!/usr/bin/env bash
# tests/bench/run_train_step.sh — the training-step benchmark in one command: installs PyTorch
# (Debian's python3-torch on OpenBLAS) if missing, builds, then runs bench_train_step, which times
# munet and the identical PyTorch model with the same threads and batch and prints the ratio.
# Extra arguments go to bench_train_step (see its --help), e.g. --threads 2 --batch 128, or
# --device cuda --preset b16 --precision bf16 (on a GPU machine tests/bench/bench_gpu.sh does the
# whole GPU comparison, without Boost, HDF5 or MPI).
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
bash "$here/ensure_torch.sh"
source "$here/../../jobs/lib/setup.sh"
munet_install_packages
munet_build
munet_step "benchmark: one training step, munet vs PyTorch"
"$MUNET_BUILD_DIR/bench_train_step" "$@"
