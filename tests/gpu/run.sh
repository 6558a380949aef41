#!/usr/bin/env bash
# run.sh — the GPU kit's one command (made by tests/gpu/make_kit.sh): proves munet's GPU path on a
# bare machine that has only an NVIDIA driver and this folder, within a fixed time budget, and
# writes RESULTS_DIR/summary.md (commit, build flags, each step's result and figures).
#
#   ./run.sh RESULTS_DIR
#
# Steps, each with its own time limit (and none past the whole budget, so one hang cannot eat the
# others); steps that need a GPU skip themselves without one:
#   environment     the machine, nvidia-smi, where cuBLAS comes from, every library resolved
#   munet info      the CLI starts and lists the GPUs
#   construction    the CUDA backend's construction and error tests (a loader or driver problem
#                   shows here in seconds)
#   cuda tests      every CUDA test (ops vs the CPU reference per precision, ViT steps,
#                   train_network, evolution on the GPU) in one process
#   cpu evolve      a tiny munet evolve --device cpu
#   no-gpu message  without a GPU: munet evolve --device cuda says to use the CPU
#   memcheck        compute-sanitizer --tool memcheck on a short GPU training run, where it works
#   train step      bench_train_step vs the identical PyTorch model on the same GPU: ViT Ti/16
#                   (32x32, b512) and B/16 (224x224, b128) in tf32 and bf16
#   evolve          munet evolve --device cuda on the character tasks with 1 and 4 children per
#                   device: children per hour, identical results, accuracies against the CPU
#                   reference the kit carries
# Exit status: 0 when every step that could run passed, 1 otherwise, 2 for a usage error.
#
# Environment: MUNET_KIT_BUDGET  seconds for all steps together (default 300)
#              MUNET_CUBLAS_DIR  folder holding libcublas.so.N (default: searched, see find_cublas)
#              MUNET_PYTHON      Python with a CUDA torch for the PyTorch peer (default: python3)
#              MUNET_KIT_DRY_RUN=cpu  checks this script on a machine without a GPU: the GPU steps
#                                run on the CPU with tiny shapes and steps (their figures mean
#                                nothing and accuracies are not compared)
set -uo pipefail

if [[ $# -ne 1 || $1 == -* ]]; then
  sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
  [[ ${1:-} == -h || ${1:-} == --help ]] && exit 0
  exit 2
fi
kit=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1" || exit 2
results=$(cd "$1" && pwd)
source "$kit/evolve_config.sh"
budget=${MUNET_KIT_BUDGET:-300}
python=${MUNET_PYTHON:-python3}
export MUNET_DATA=$kit/data MUNET_SOURCE_DIR=$kit
bin=$kit/bin
began=$SECONDS
dry=0
device=cuda
if [[ ${MUNET_KIT_DRY_RUN:-} == cpu ]]; then
  dry=1
  device=cpu
elif [[ -n ${MUNET_KIT_DRY_RUN:-} ]]; then
  echo "run.sh: MUNET_KIT_DRY_RUN must be cpu or unset" >&2
  exit 2
fi

# ---- Step bookkeeping: every step's result goes into summary.md as soon as it is known. ----
rows=()       # "| step | result | seconds | details |" lines
sections=()   # further Markdown blocks (figures)
failed=0
write_summary() {
  {
    echo "# munet GPU kit: results"
    echo
    sed 's/^/- /' "$kit/build_info.txt"
    echo "- machine: $(uname -srm); $(nproc) CPU threads"
    echo "- GPU: ${gpu_line:-none seen}"
    echo "- cuBLAS: ${cublas_from:-not searched yet}"
    echo "- budget: ${budget} s for all steps; used $((SECONDS - began)) s"
    ((dry)) && echo "- DRY RUN on the CPU (MUNET_KIT_DRY_RUN=cpu): figures mean nothing"
    echo
    echo "| step | result | seconds | details |"
    echo "|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    local s
    for s in "${sections[@]}"; do printf '\n%s\n' "$s"; done
  } >"$results/summary.md"
}
# record STEP RESULT SECONDS DETAILS: RESULT is PASS, FAIL, TIMEOUT or SKIP.
record() {
  rows+=("| $1 | $2 | $3 | ${4//|/\\|} |")
  [[ $2 == FAIL || $2 == TIMEOUT ]] && failed=1
  printf '==> %-16s %-7s %5ss  %s\n' "$1" "$2" "$3" "$4"
  write_summary
}
# limit OWN: the step's time limit, cut to what is left of the budget (0: nothing left).
limit() {
  local left=$((budget - (SECONDS - began)))
  ((left < 0)) && left=0
  echo $(($1 < left ? $1 : left))
}
# run_step NAME LIMIT LOG CMD...: runs CMD with its limit, output to LOG; sets rc and took.
run_step() {
  local name=$1 lim=$2 log=$3
  shift 3
  local t0=$SECONDS
  if ((lim <= 0)); then
    rc=-1 took=0
    return
  fi
  timeout --kill-after=10 "$lim" "$@" >"$log" 2>&1
  rc=$?
  took=$((SECONDS - t0))
}
# verdict: PASS/FAIL/TIMEOUT from rc (124 and 137 are timeout's).
verdict() { case $rc in 0) echo PASS ;; 124 | 137) echo TIMEOUT ;; -1) echo SKIP ;; *) echo FAIL ;; esac; }

# ---- Libraries: the kit's own, then cuBLAS from the toolkit or PyTorch's nvidia-cublas. ----
cublas_name=$(LD_LIBRARY_PATH=$kit/lib ldd "$bin/munet" | awk '/libcublas\.so/ {print $1; exit}')
find_cublas() {
  local d
  for d in ${MUNET_CUBLAS_DIR:-} ${CUDA_HOME:+$CUDA_HOME/lib64} /usr/local/cuda/lib64 /usr/local/cuda/lib \
    /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu; do
    [[ -e $d/$cublas_name ]] && { echo "$d"; return 0; }
  done
  # PyTorch's wheels bring cuBLAS in the nvidia package (nvidia/cublas/lib or nvidia/cu13/lib).
  if command -v "$python" >/dev/null; then
    d=$(timeout 30 "$python" - "$cublas_name" <<'PY' 2>/dev/null
import glob, os, sys
try:
    import nvidia
except ImportError:
    sys.exit(1)
for root in nvidia.__path__:
    for hit in sorted(glob.glob(os.path.join(root, "**", sys.argv[1]), recursive=True)):
        print(os.path.dirname(hit)); sys.exit(0)
sys.exit(1)
PY
    ) && [[ -n $d ]] && { echo "$d"; return 0; }
  fi
  d=$(timeout 20 find /usr/local /opt -name "$cublas_name" -print -quit 2>/dev/null)
  [[ -n $d ]] && { dirname "$d"; return 0; }
  return 1
}
t0=$SECONDS
if cublas_dir=$(find_cublas); then
  cublas_from="$cublas_dir/$cublas_name"
  export LD_LIBRARY_PATH="$kit/lib:$cublas_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  cublas_from="$cublas_name not found (set MUNET_CUBLAS_DIR)"
  export LD_LIBRARY_PATH="$kit/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# ---- environment ----
{
  echo "kit: $kit"; cat "$kit/build_info.txt"; echo; uname -a
  [[ -r /etc/os-release ]] && grep -E '^(PRETTY_NAME|VERSION_ID)=' /etc/os-release
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
} >"$results/environment.log" 2>&1
if command -v nvidia-smi >/dev/null; then
  timeout 20 nvidia-smi >>"$results/environment.log" 2>&1
  gpu_line=$(timeout 20 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)
fi
unresolved=$(ldd "$bin"/* 2>&1 | grep 'not found' | awk '{print $1}' | sort -u | tr '\n' ' ')
ldd "$bin"/* >>"$results/environment.log" 2>&1
if [[ -n $unresolved ]]; then
  record environment FAIL $((SECONDS - t0)) "libraries not found: $unresolved(cuBLAS: $cublas_from)"
else
  record environment PASS $((SECONDS - t0)) "all libraries resolved; cuBLAS $cublas_from; nvidia-smi: ${gpu_line:-not available}"
fi

# ---- munet info ----
run_step "munet info" "$(limit 30)" "$results/munet_info.log" "$bin/munet" info
gpus=$(grep -c '^cuda device' "$results/munet_info.log" 2>/dev/null)
have_gpu=0
((gpus > 0)) && have_gpu=1
gpu_steps=$((have_gpu || dry))  # whether the GPU steps run (on the CPU in a dry run)
record "munet info" "$(verdict)" "$took" "$(grep -E '^(build|cuda)' "$results/munet_info.log" | tr '\n' ' ')"
[[ -z ${gpu_line:-} ]] && gpu_line=$(grep -m1 '^cuda device' "$results/munet_info.log")

# ---- CUDA tests: the construction first, then all of them in one process. ----
gtest_counts() {  # passed/failed/skipped from a gtest log
  local p f s
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
  s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
  echo "${p:-0} passed, ${f:-0} failed, ${s:-0} skipped"
}
gtest_failures() {  # the failed tests' names, or "none"
  local names
  names=$(grep -E '^\[  FAILED  \] [A-Za-z]' "$1" | sed 's/^\[  FAILED  \] //; s/ (.*//' | sort -u | tr '\n' ' ')
  echo "${names:-none}"
}
run_step construction "$(limit 60)" "$results/cuda_construction.log" "$bin/munet_cuda_tests" --gtest_brief=1 \
  --gtest_filter='CudaBackendErrors.*:CudaBackendAllocation.*:CudaBackendOnGpu.DescribesItsDeviceAndPrecision'
record construction "$(verdict)" "$took" "$(gtest_counts "$results/cuda_construction.log"); failed: $(gtest_failures "$results/cuda_construction.log")"

run_step "cuda tests" "$(limit 150)" "$results/cuda_tests.log" "$bin/munet_cuda_tests" --gtest_brief=1 \
  --gtest_output="json:$results/cuda_tests.json"
record "cuda tests" "$(verdict)" "$took" "$(gtest_counts "$results/cuda_tests.log"); failed: $(gtest_failures "$results/cuda_tests.log")"

# ---- A tiny CPU evolution: the CLI, data and HDF5 work on this machine. ----
tiny=(--tasks cmaterdb_devanagari --task-iterations 1 --children-per-task 1 --parallel-slots 1 --validations 1
      --steps-per-validation 3 --batch-size 16 --layers 1 --max-val-examples 50)
run_step "cpu evolve" "$(limit 60)" "$results/evolve_cpu_tiny.log" "$bin/munet" evolve --device cpu "${tiny[@]}"
record "cpu evolve" "$(verdict)" "$took" \
  "$(grep -A2 '^final:' "$results/evolve_cpu_tiny.log" | awk 'NR == 3 {print $1 ": val acc " $2 ", test acc " $3 " (3 steps)"}')"

# ---- Without a GPU: the clear message. ----
if ((have_gpu)); then
  record "no-gpu message" SKIP 0 "a GPU is present"
else
  run_step "no-gpu message" "$(limit 30)" "$results/evolve_no_gpu.log" "$bin/munet" evolve --device cuda "${tiny[@]}"
  msg=$(grep -m1 'error' "$results/evolve_no_gpu.log")
  if [[ $rc == 1 && $msg == *"no usable GPU"* && $msg == *"--device cpu"* ]]; then
    record "no-gpu message" PASS "$took" "exit 1: $msg"
  else
    record "no-gpu message" FAIL "$took" "exit $rc, expected 1 and 'no usable GPU ... --device cpu': $msg"
  fi
fi

# ---- memcheck on a short GPU training run. ----
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null | head -1)
if ((!have_gpu)); then
  record memcheck SKIP 0 "no GPU"
elif [[ -z $sanitizer ]]; then
  record memcheck SKIP 0 "compute-sanitizer not found"
else
  run_step memcheck "$(limit 90)" "$results/memcheck.log" "$sanitizer" --tool memcheck --error-exitcode 3 \
    "$bin/munet" train --device cuda --task cmaterdb_devanagari --steps 4 --validations 1 --batch-size 32 --layers 1 \
    --max-val-examples 64
  summary_line=$(grep -m1 -E 'ERROR SUMMARY' "$results/memcheck.log")
  if grep -qE 'Device not supported|Unable to|Target application terminated before first instrumented API' "$results/memcheck.log" &&
    [[ $rc != 3 ]]; then
    record memcheck SKIP "$took" "the tool does not work here: $(grep -m1 -E 'Device not supported|Unable to|Target application' "$results/memcheck.log")"
  else
    record memcheck "$(verdict)" "$took" "${summary_line:-no summary} (exit $rc)"
  fi
fi

# ---- The training step against PyTorch. ----
if ((!gpu_steps)); then
  record "train step" SKIP 0 "no GPU"
else
  torch_ok=0
  "$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() or sys.argv[1] == "1" else 1)' "$dry" \
    >/dev/null 2>&1 && torch_ok=1
  shape=(--warmup 3 --steps 10)
  ((dry)) && shape=(--warmup 0 --steps 1 --batch 2)
  table="### Training step, munet vs PyTorch (eager), same GPU, same run"$'\n\n'
  table+="| preset | precision | munet img/s | munet MFU | PyTorch img/s | PyTorch MFU | munet/PyTorch |"$'\n'
  table+="|---|---|---|---|---|---|---|"$'\n'
  get() { sed -n "s/^ *$1 \([^ ]*\).*/\1/p" "$log" | tail -1; }  # a figure of the current log
  for preset in ti16 b16; do
    for precision in $( ((dry)) && echo fp32 || echo tf32 bf16); do
      log=$results/train_step_${preset}_${precision}.log
      peer=(--python "$python")
      ((torch_ok)) || peer=(--no-torch)
      run_step "train step" "$(limit 45)" "$log" "$bin/bench_train_step" --device "$device" --preset "$preset" \
        --precision "$precision" "${shape[@]}" "${peer[@]}"
      record "train step $preset $precision" "$(verdict)" "$took" \
        "munet $(get munet_images_per_second) img/s, PyTorch $(get torch_images_per_second) img/s, ratio $(get ratio_munet_over_torch)$( ((torch_ok)) || echo ' (no CUDA torch)')"
      table+="| $preset | $precision | $(get munet_images_per_second) | $(get munet_mfu) | $(get torch_images_per_second) | $(get torch_mfu) | $(get ratio_munet_over_torch) |"$'\n'
    done
  done
  sections+=("$table")
  write_summary
fi

# ---- The evolution on the GPU: children per hour, identical results, accuracies vs the CPU. ----
if ((!gpu_steps)); then
  record evolve SKIP 0 "no GPU"
else
  etable="### Evolution on the GPU (${kit_evolve_args[*]})"$'\n\n'
  etable+="| children at once | seconds | children/hour | result |"$'\n'"|---|---|---|---|"$'\n'
  first_json=""
  evolve_args=("${kit_evolve_args[@]}")
  if ((dry)); then  # a few steps of a few examples: the script's plumbing, not the accuracies
    for i in "${!evolve_args[@]}"; do
      case ${evolve_args[i]} in
        --steps-per-validation) evolve_args[i + 1]=2 ;;
        --batch-size) evolve_args[i + 1]=8 ;;
        --max-val-examples) evolve_args[i + 1]=40 ;;
      esac
    done
  fi
  for k in 1 4; do
    run_dir=$results/evolve_at_once_$k
    rm -rf "$run_dir"
    run_step "evolve $k" "$(limit 90)" "$results/evolve_at_once_$k.log" "$bin/munet" evolve --device "$device" \
      --children-per-device "$k" "${evolve_args[@]}" --output "$run_dir"
    v=$(verdict)
    per_hour=$(awk -v n="$kit_evolve_children" -v s="$took" 'BEGIN { if (s > 0) printf "%.0f", n / s * 3600; else print "-" }')
    detail=""
    ckpt=$(ls "$run_dir"/checkpoints/ckpt-*.h5 2>/dev/null | sort | tail -1)
    if [[ $v == PASS && -n $ckpt ]]; then
      "$bin/munet" inspect --json "$ckpt" | grep -v '"checkpoint"' >"$run_dir.json"
      if [[ -z $first_json ]]; then
        first_json=$run_dir.json
        # Per-task test accuracy against the CPU reference the kit carries.
        atable="### Test accuracy of the GPU run against the CPU reference the kit carries"$'\n\n'
        atable+="| task | CPU test acc | GPU test acc | difference | within $kit_accuracy_tolerance |"$'\n'"|---|---|---|---|---|"$'\n'
        while IFS=$'\t' read -r task _ cpu_acc; do
          [[ $task == \#* || -z $task ]] && continue
          gpu_acc=$(sed -n "s/.*\"task\": \"$task\".*\"test_accuracy\": \([0-9.e-]*\).*/\1/p" "$run_dir.json")
          ok=$(awk -v a="$cpu_acc" -v b="$gpu_acc" -v t="$kit_accuracy_tolerance" \
            'BEGIN { d = a - b; if (d < 0) d = -d; if (b == "") print "no"; else print (d <= t ? "yes" : "no") }')
          diff=$(awk -v a="$cpu_acc" -v b="$gpu_acc" 'BEGIN { printf "%+.4f", b - a }')
          atable+="| $task | $(printf %.4f "$cpu_acc") | $(printf %.4f "${gpu_acc:-nan}") | $diff | $ok |"$'\n'
          [[ $ok == yes ]] || ((dry)) || { v=FAIL; detail+="$task test accuracy $gpu_acc vs CPU $cpu_acc; "; }
        done <"$kit/reference/evolve_cpu.tsv"
      elif cmp -s "$first_json" "$run_dir.json"; then
        detail+="identical to 1 at once; "
      else
        v=FAIL
        detail+="DIFFERS from 1 at once (diff $first_json $run_dir.json); "
      fi
    fi
    record "evolve $k at once" "$v" "$took" "$detail$per_hour children/hour"
    etable+="| $k | $took | $per_hour | $v |"$'\n'
  done
  sections+=("$etable" "${atable:-no accuracy table (the first run failed)}")
  write_summary
fi

write_summary
echo "summary: $results/summary.md"
exit "$failed"
