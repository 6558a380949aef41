#!/usr/bin/env bash
# tests/bench/bench_gpu.sh — the GPU check and benchmark in one command, for a machine with an
# NVIDIA GPU: (a) configures and builds (if needed) a build folder with the CUDA backend, tests and
# benchmarks, (b) runs the CUDA tests, (c) runs bench_train_step (munet vs the identical PyTorch
# model, eager) for the ViT Ti/16 (32x32, batch 512) and ViT B/16 (224x224, batch 128) workloads in
# fp32, tf32 and bf16, and prints a summary table (images/s, MFU, ratio munet/PyTorch, 1.2x target).
#
#   bash tests/bench/bench_gpu.sh [--build-dir DIR] [--presets "ti16 b16"] [--precisions "fp32 tf32 bf16"]
#                                 [--device cuda:N] [--steps N] [--warmup N] [--skip-tests] [--bench-only]
#                                 [-- extra bench_train_step arguments]
#
# What the machine needs (no MPI, HDF5 or Boost: the build is configured with -DMUNET_MPI=OFF and
# builds only the targets below, none of which use them):
#   - an NVIDIA GPU and driver; the CUDA toolkit (nvcc, cuBLAS; nvcc in PATH or /usr/local/cuda/bin)
#   - cmake >= 3.24, ninja, a C++17 compiler (g++ >= 9)
#   - OpenBLAS with its CMake package (Debian: libopenblas-dev) — the engine's CPU backend uses it
#   - zlib headers (Debian: zlib1g-dev) — the top-level CMakeLists asks for ZLIB
#   - GoogleTest (Debian: libgtest-dev) — for the CUDA tests (skip them with --skip-tests)
#   - Python 3 with a CUDA-enabled PyTorch (>= 1.12; any recent one): MUNET_PYTHON, else python3
# and a top-level CMake that configures without Boost, HDF5 and MPI given -DMUNET_MPI=OFF
# -DMUNET_APP=OFF (MUNET_APP=OFF: no munet command line, HDF5 files or checkpoints; both are passed
# below; see the failure message if the CMake cannot do that yet).
#
# Environment: MUNET_GPU_BUILD_DIR   build folder (default <repo>/build-gpu)
#              MUNET_PYTHON          Python with CUDA torch (default: python3 in PATH)
#              MUNET_CMAKE_ARGS      extra cmake arguments (space separated)
#              MUNET_CUDA_ARCHS      CMAKE_CUDA_ARCHITECTURES (default: native, i.e. this GPU)
#              MUNET_PEAK_FP32, MUNET_PEAK_TF32, MUNET_PEAK_BF16
#                                    dense peak TFLOP/s per precision for MFU on GPUs other than
#                                    H100/H200 (whose peaks bench_train_step knows by name)
# Logs: <build dir>/bench_gpu/<preset>_<precision>.log and summary.tsv.
# Exit status: 0 when everything ran (whether or not the 1.2x target was met), 1 when the build,
# a CUDA test or a benchmark run failed.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=${MUNET_GPU_BUILD_DIR:-$repo/build-gpu}
presets="ti16 b16"
precisions="fp32 tf32 bf16"
device=cuda
steps=""
warmup=""
run_tests=1
build=1
extra=()
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --presets) presets=$2; shift 2 ;;
    --precisions) precisions=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --skip-tests) run_tests=0; shift ;;
    --bench-only) run_tests=0; build=0; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $build_dir == /* ]] || build_dir="$PWD/$build_dir"

step() { printf '\n==> [%5ds] %s\n' "$SECONDS" "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
failures=()

# ---- Requirements. ----
step "checking the machine"
if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
missing=()
for tool in nvcc cmake ninja; do command -v "$tool" >/dev/null || missing+=("$tool"); done
((${#missing[@]} == 0)) || die "missing: ${missing[*]} (need the CUDA toolkit, cmake >= 3.24 and ninja)"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader ||
    die "nvidia-smi found no usable GPU"
else
  echo "warning: no nvidia-smi; the benchmark itself will say whether a GPU is usable"
fi
echo "nvcc: $(nvcc --version | tail -1)"
echo "cmake: $(cmake --version | head -1)"
python=${MUNET_PYTHON:-python3}
python=$(command -v "$python") || die "no Python '${MUNET_PYTHON:-python3}' (set MUNET_PYTHON)"
"$python" - <<'PY' || die "$python has no CUDA-enabled torch (set MUNET_PYTHON to one that has)"
import torch
assert torch.cuda.is_available(), "torch.cuda.is_available() is False"
print(f"torch {torch.__version__} (CUDA {torch.version.cuda}) on {torch.cuda.get_device_name(0)}")
PY

# ---- (a) Configure and build. ----
if ((build)); then
  step "configuring $build_dir (CUDA on, MPI off, tests on)"
  cmake_args=(-S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMUNET_CUDA=ON -DMUNET_MPI=OFF
              -DMUNET_BUILD_TESTS=ON -DMUNET_APP=OFF "-DCMAKE_CUDA_ARCHITECTURES=${MUNET_CUDA_ARCHS:-native}"
              "-DCMAKE_CUDA_COMPILER=$(command -v nvcc)")
  # shellcheck disable=SC2206
  [[ -n ${MUNET_CMAKE_ARGS:-} ]] && cmake_args+=($MUNET_CMAKE_ARGS)
  if ! cmake "${cmake_args[@]}"; then
    die "cmake configure failed. On a machine without Boost, HDF5 and MPI the top-level CMake must" \
      "make them optional when MUNET_MPI=OFF (only the engine, munet_cuda, munet_backends, the CUDA" \
      "tests and bench_train_step are needed here); see the messages above for what it asked for"
  fi
  targets=(bench_train_step)
  if ninja -C "$build_dir" -t targets all 2>/dev/null | grep -q '^munet_cuda_tests:'; then
    ((run_tests)) && targets+=(munet_cuda_tests)
  fi
  step "building ${targets[*]} with $(nproc) jobs"
  cmake --build "$build_dir" -j"$(nproc)" --target "${targets[@]}" || die "build failed"
else
  [[ -x $build_dir/bench_train_step ]] || die "--bench-only: no $build_dir/bench_train_step"
fi

# ---- (b) CUDA tests. ----
if ((run_tests)); then
  step "CUDA tests"
  ncuda=$(ctest --test-dir "$build_dir" -N -L cuda 2>/dev/null | sed -n 's/^Total Tests: //p')
  cuda_bin=$(find "$build_dir" -maxdepth 3 -type f -name munet_cuda_tests -perm -u+x 2>/dev/null | head -1)
  if [[ ${ncuda:-0} -gt 0 ]]; then
    echo "ctest -L cuda: $ncuda tests"
    ctest --test-dir "$build_dir" -L cuda --output-on-failure || failures+=("CUDA tests (ctest -L cuda)")
  elif [[ -n $cuda_bin ]]; then
    "$cuda_bin" || failures+=("CUDA tests ($cuda_bin)")
  else
    echo "warning: this build has no CUDA tests (no ctest label 'cuda', no munet_cuda_tests target)"
    failures+=("CUDA tests: none found in $build_dir")
  fi
fi

# ---- (c) Benchmarks. ----
logs="$build_dir/bench_gpu"
mkdir -p "$logs"
summary="$logs/summary.tsv"
printf 'preset\tprecision\tmunet_img_s\ttorch_img_s\tratio\tmunet_mfu\ttorch_mfu\tpeak_tflops\ttarget_1.2x\n' >"$summary"
value() { sed -n "s/^ *$1 \\([^ ]*\\).*/\\1/p" "$2" | tail -1; }
for preset in $presets; do
  for precision in $precisions; do
    log="$logs/${preset}_${precision}.log"
    args=(--device "$device" --preset "$preset" --precision "$precision" --python "$python")
    [[ -n $steps ]] && args+=(--steps "$steps")
    [[ -n $warmup ]] && args+=(--warmup "$warmup")
    peak_var="MUNET_PEAK_${precision^^}"
    [[ -n ${!peak_var:-} ]] && args+=(--peak-tflops "${!peak_var}")
    step "bench_train_step ${args[*]} ${extra[*]}"
    MUNET_SOURCE_DIR="$repo" "$build_dir/bench_train_step" "${args[@]}" "${extra[@]}" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    ((rc == 0)) || failures+=("bench_train_step $preset $precision (exit $rc, log $log)")
    target=$(sed -n 's/^target_[0-9.]*x \([a-z_]*\).*/\1/p' "$log" | tail -1)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$preset" "$precision" \
      "$(value munet_images_per_second "$log")" "$(value torch_images_per_second "$log")" \
      "$(value ratio_munet_over_torch "$log")" "$(value munet_mfu "$log")" "$(value torch_mfu "$log")" \
      "$(value peak_tflops "$log")" "${target:-?}" >>"$summary"
  done
done

step "summary (munet vs PyTorch eager, same GPU, precision, shapes and step; MFU = 3 x forward FLOPs)"
table=$(sed 's/\t\t/\t-\t/g; s/\t\t/\t-\t/g; s/\t$/\t-/' "$summary")
if command -v column >/dev/null; then column -t -s $'\t' <<<"$table"; else expand -t 14 <<<"$table"; fi
echo "logs: $logs"
if ((${#failures[@]})); then
  printf '\nFAILED:\n'
  printf '  %s\n' "${failures[@]}"
  exit 1
fi
