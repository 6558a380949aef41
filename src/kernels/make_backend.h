// Choosing the compute backend from the command line: `--device cpu`, `cuda` or `cuda:N`, and
// `--precision` for GPU GEMMs. The one place that knows whether this build has CUDA, so a missing
// GPU or a CPU-only build is a clear message rather than a crash.
#pragma once
#include <memory>
#include <string>

#include "kernels/backend.h"
#include "kernels/precision.h"

namespace munet {

struct DeviceSpec {
  DeviceType type = DeviceType::CPU;
  int index = -1;              // the GPU, for cuda (-1: local_rank mod the GPUs this process sees)
  int local_rank = 0;          // this process's rank on its node
  std::string precision = "tf32";  // GEMM precision on a GPU: fp32, tf32 or bf16
  int threads = 0;             // CPU threads (<= 0: all)
};

// Parses "cpu", "cuda" or "cuda:N"; throws munet::Error naming the bad value otherwise.
DeviceSpec parse_device(const std::string& text);
std::string device_spec_str(const DeviceSpec& spec);
// The GPU `spec` resolves to (its index made concrete), and that GPU's memory in bytes; throws
// munet::Error like make_backend when there is none. For the CPU: spec unchanged, 0 bytes.
DeviceSpec resolve_device(DeviceSpec spec, int64_t* memory_bytes = nullptr);

// The backend for `spec`. Throws munet::Error when CUDA is asked for and this build has no CUDA
// backend, or the GPU is missing or unusable.
std::unique_ptr<Backend> make_backend(const DeviceSpec& spec);

}  // namespace munet
