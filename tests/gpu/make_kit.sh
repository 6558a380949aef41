#!/usr/bin/env bash
# tests/gpu/make_kit.sh — builds, on this CPU machine, a self-contained kit that proves munet's GPU
# path on a bare GPU machine in one command (tests/gpu/run.sh, copied into the kit). GPU time is
# rare and short, so nothing is built or installed there: the kit carries the binaries, every
# shared library they need beyond the system's own, the character datasets that fit, the PyTorch
# peer script, and the CPU reference accuracies of the evolution run.sh repeats on the GPU.
#
#   bash tests/gpu/make_kit.sh OUTDIR
#
# OUTDIR gets the unpacked kit (OUTDIR/run.sh RESULTS_DIR runs it) and OUTDIR/kit.tar.xz (at most
# 48 MiB). To carry it to a GPU machine with the device tool, put OUTDIR under an ignored folder
# of the repository (e.g. build-kit/kit) and carry build-kit/kit/kit.tar.xz.
#
# The binaries: munet (CUDA, HDF5 and Boost in, MPI out), munet_cuda_tests and bench_train_step,
# for sm_90 (H100/H200) machine code plus compute_90 PTX, built without -march=native (a binary
# tuned for this processor can die with SIGILL on another one).
# Not carried, found on the GPU machine by run.sh: glibc, libstdc++, libgcc_s, the driver's
# libcuda, and cuBLAS/cuBLASLt (from the CUDA toolkit or PyTorch's nvidia-cublas package).
#
# Environment: MUNET_KIT_BUILD_DIR  build folder (default <repo>/build-kit/build)
#              MUNET_DATA           datasets (default <repo>/../shared/datasets)
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
case ${1:-} in
  -h | --help) usage; exit 0 ;;
  "" | -*) usage >&2; exit 2 ;;
esac
out=$1
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$repo/jobs/lib/setup.sh"
build=${MUNET_KIT_BUILD_DIR:-$repo/build-kit/build}
mkdir -p "$build"
limit_mib=48

munet_install_packages
munet_setup_data
# The CUDA toolkit may be off PATH (CI's machine): point CMake at it.
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
[[ -x $nvcc ]] || munet_die "no nvcc (need the CUDA toolkit, e.g. /usr/local/cuda)"

munet_step "configuring the kit build in $build"
flags=(-DCMAKE_BUILD_TYPE=Release -DMUNET_CUDA=ON -DMUNET_APP=ON -DMUNET_MPI=OFF -DMUNET_NATIVE=OFF
       -DMUNET_BUILD_TESTS=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_COMPILER="$nvcc")
cmake -S "$repo" -B "$build" -G Ninja "${flags[@]}" >"$build.configure.log" 2>&1 ||
  { tail -20 "$build.configure.log"; munet_die "cmake configure failed (log: $build.configure.log)"; }
grep -m1 'munet: app=' "$build.configure.log" || true
munet_step "building munet, munet_cuda_tests and bench_train_step"
cmake --build "$build" -j"$(nproc)" --target munet munet_cuda_tests bench_train_step ||
  munet_die "build failed"

munet_step "assembling the kit in $out"
rm -rf "$out"
mkdir -p "$out"/{bin,lib,data,reference,tests/bench}
cp "$build/munet" "$build/tests/munet_cuda_tests" "$build/bench_train_step" "$out/bin/"
cp "$repo/tests/gpu/run.sh" "$out/run.sh"
cp "$repo/tests/gpu/evolve_config.sh" "$out/evolve_config.sh"
cp "$repo/tests/bench/vit_step_torch.py" "$out/tests/bench/"

# Shared libraries: everything ldd resolves except what every Linux (glibc, libstdc++, libgcc_s)
# or the GPU machine (libcuda, cuBLAS) has. Copied as files (links followed), named as requested.
system_lib='^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libresolv|libutil|libstdc\+\+|libgcc_s|libcuda|libcublas|libcublasLt)\.so'
ldd "$out"/bin/* | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
  while read -r name path; do
    [[ $name =~ $system_lib ]] && continue
    cp -L "$path" "$out/lib/$name"
  done
missing=$(ldd "$out"/bin/* | grep 'not found' || true)
[[ -z $missing ]] || munet_die "libraries not found on this machine: $missing"

# The character datasets that fit in the size limit (Fashion-MNIST, 30 MB, does not).
for d in mnist cmaterdb omniglot; do
  [[ -d $MUNET_DATA/$d ]] && cp -r "$MUNET_DATA/$d" "$out/data/"
done
chmod -R u+w "$out/data"

# The evolution run.sh repeats on the GPU, run here on the CPU in fp32 with the kit's own binary.
# Its per-task accuracies are what the GPU's must come close to.
source "$out/evolve_config.sh"
munet_step "CPU reference of the kit's evolution run (${kit_evolve_args[*]})"
ref_dir=$(mktemp -d "${TMPDIR:-/tmp}/munet-kit-ref.XXXXXX")
trap 'rm -rf "$ref_dir"' EXIT
start=$SECONDS
MUNET_DATA="$out/data" "$out/bin/munet" evolve --device cpu "${kit_evolve_args[@]}" --output "$ref_dir/run" \
  >"$out/reference/evolve_cpu.log" 2>&1 || { tail -20 "$out/reference/evolve_cpu.log"; munet_die "CPU reference run failed"; }
ckpt=$(ls "$ref_dir"/run/checkpoints/ckpt-*.h5 | sort | tail -1)
"$out/bin/munet" inspect --json "$ckpt" >"$out/reference/evolve_cpu.json"
{
  echo "# CPU reference: munet evolve --device cpu ${kit_evolve_args[*]}"
  echo "# $(nproc) CPU threads, $((SECONDS - start)) s; columns: task, validation accuracy, test accuracy"
  sed -n 's/.*"task": "\([^"]*\)".*"validation_accuracy": \([0-9.e-]*\), "test_accuracy": \([0-9.e-]*\).*/\1\t\2\t\3/p' \
    "$out/reference/evolve_cpu.json"
} >"$out/reference/evolve_cpu.tsv"
cat "$out/reference/evolve_cpu.tsv"

{
  echo "commit $(git -C "$repo" rev-parse HEAD)$(git -C "$repo" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "made $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -srm)"
  echo "cmake ${flags[*]}"
  echo "compilers: $(c++ --version | head -1); $("$nvcc" --version | tail -1)"
  grep -m1 'munet: app=' "$build.configure.log" || true
} >"$out/build_info.txt"

munet_step "packing $out/kit.tar.xz"
(cd "$out" && find . -type f ! -name kit.tar.xz | sort >manifest.txt &&
  tar -cf - --owner=0 --group=0 -T manifest.txt | xz -T0 -6 >kit.tar.xz)
size=$(stat -c %s "$out/kit.tar.xz")
echo "kit.tar.xz: $((size / 1024)) KiB; unpacked $(du -sh --exclude=kit.tar.xz "$out" | cut -f1)"
((size <= limit_mib * 1024 * 1024)) || munet_die "kit.tar.xz is over $limit_mib MiB"
echo "carries: $(ls "$out/bin" | tr '\n' ' ')"
echo "libraries: $(ls "$out/lib" | tr '\n' ' ')"
echo "datasets: $(ls "$out/data" | tr '\n' ' ')"
echo "run it: $out/run.sh RESULTS_DIR   (on the GPU machine: tar -xJf kit.tar.xz -C DIR && DIR/run.sh RESULTS_DIR)"
