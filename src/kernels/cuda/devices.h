// The CUDA devices this process can use, or why it can use none (no driver, no device). Built
// only when MUNET_CUDA is on; a clear message replaces a crash on machines without a GPU.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace munet {

struct CudaDevice {
  int index = 0;
  std::string name;
  size_t memory_bytes = 0;
  int compute_major = 0, compute_minor = 0;
  int multiprocessors = 0;
};

struct CudaDevices {
  std::vector<CudaDevice> devices;
  std::string problem;  // non-empty when none can be used: what the CUDA runtime said
};

CudaDevices cuda_devices();

}  // namespace munet
