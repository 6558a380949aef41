// CUDA device discovery through the runtime API.
#include "kernels/cuda/devices.h"

#include <cuda_runtime.h>

namespace munet {

CudaDevices cuda_devices() {
  CudaDevices out;
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    out.problem = std::string("cudaGetDeviceCount: ") + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error
    return out;
  }
  if (count == 0) out.problem = "the CUDA runtime reports no device";
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    out.devices.push_back({i, p.name, p.totalGlobalMem, p.major, p.minor, p.multiProcessorCount});
  }
  return out;
}

}  // namespace munet
