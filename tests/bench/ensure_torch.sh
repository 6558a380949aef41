#!/usr/bin/env bash
# tests/bench/ensure_torch.sh — prepares the PyTorch peer of the training-step benchmark: installs
# Debian's python3-torch if missing and checks that libblas.so.3 (which Debian's torch calls for its
# matmuls) is OpenBLAS, so that munet is compared with a properly tuned PyTorch.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../jobs/lib/setup.sh"

munet_install_packages python3-torch libopenblas0-pthread

munet_step "checking which BLAS libblas.so.3 is"
blas_group=libblas.so.3-x86_64-linux-gnu
current=$(update-alternatives --query "$blas_group" 2>/dev/null | sed -n 's/^Value: //p')
if [[ $current != */openblas*/libblas.so.3 ]]; then
  cat >&2 <<MSG

!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!! WARNING: libblas.so.3 is '${current:-not registered}', not OpenBLAS.
!! Debian's PyTorch would run its matmuls on that BLAS (the reference one is many times slower),
!! so a munet/PyTorch throughput ratio measured now would be meaningless.
!! Fix (as root):
!!   update-alternatives --set $blas_group /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
MSG
  exit 1
fi
echo "libblas.so.3 -> $current (OpenBLAS)"
