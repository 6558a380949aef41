// make_backend: --device and --precision to a Backend.
#include "kernels/make_backend.h"

#include <cctype>
#include <cstdlib>

#include "munet/build_config.h"
#if MUNET_CUDA
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/devices.h"
#endif

namespace munet {

DeviceSpec parse_device(const std::string& text) {
  DeviceSpec spec;
  if (text == "cpu") return spec;
  if (text == "cuda" || text.rfind("cuda:", 0) == 0) {
    spec.type = DeviceType::CUDA;
    if (text != "cuda") {
      const std::string n = text.substr(5);
      char* end = nullptr;
      const long i = std::strtol(n.c_str(), &end, 10);
      MUNET_CHECK(!n.empty() && std::isdigit(static_cast<unsigned char>(n[0])) && *end == '\0' && i < 1024, "--device ", text,
                  ": expected cuda:N with N a GPU index");
      spec.index = int(i);
    }
    return spec;
  }
  fail("--device ", text, ": expected cpu, cuda or cuda:N");
}

std::string device_spec_str(const DeviceSpec& spec) {
  if (spec.type == DeviceType::CPU) return "cpu";
  return spec.index < 0 ? std::string("cuda") : cat("cuda:", spec.index);
}

DeviceSpec resolve_device(DeviceSpec spec, int64_t* memory_bytes) {
  if (memory_bytes) *memory_bytes = 0;
  if (spec.type == DeviceType::CPU) return spec;
#if MUNET_CUDA
  const CudaDevices found = cuda_devices();
  MUNET_CHECK(!found.devices.empty(), "--device ", device_spec_str(spec), ": no usable GPU (", found.problem,
              "); run on the CPU with --device cpu");
  const int count = int(found.devices.size());
  if (spec.index < 0) spec.index = spec.local_rank % count;
  MUNET_CHECK(spec.index < count, "--device ", device_spec_str(spec), ": no such GPU; this process sees ", count,
              " (cuda:0 .. cuda:", count - 1, ")");
  if (memory_bytes) *memory_bytes = int64_t(found.devices[size_t(spec.index)].memory_bytes);
  return spec;
#else
  fail("--device ", device_spec_str(spec), ": this munet was built without the CUDA backend (MUNET_CUDA=OFF); "
       "rebuild with the CUDA toolkit, or run with --device cpu");
#endif
}

std::unique_ptr<Backend> make_backend(const DeviceSpec& spec) {
  if (spec.type == DeviceType::CPU) return make_cpu_backend(spec.threads);
  const DeviceSpec gpu = resolve_device(spec);
#if MUNET_CUDA
  return std::make_unique<CudaBackend>(CudaOptions{gpu.index, parse_precision(gpu.precision)});
#else
  (void)gpu;
  return nullptr;  // not reached: resolve_device failed
#endif
}

}  // namespace munet
