// CUDA device discovery: on a machine with a GPU every device reports a name, memory and a
// compute capability; without one the runtime's reason is reported (and the test skips).
#include <gtest/gtest.h>

#include "munet/build_config.h"
#if MUNET_CUDA
#include "kernels/cuda/devices.h"

TEST(CudaDevices, ListsUsableDevicesOrSaysWhyNone) {
  const munet::CudaDevices d = munet::cuda_devices();
  if (d.devices.empty()) {
    EXPECT_FALSE(d.problem.empty());
    GTEST_SKIP() << "no CUDA device: " << d.problem;
  }
  for (const auto& dev : d.devices) {
    EXPECT_FALSE(dev.name.empty());
    EXPECT_GT(dev.memory_bytes, size_t(1) << 30) << dev.name;
    EXPECT_GE(dev.compute_major, 7) << dev.name;
    EXPECT_GT(dev.multiprocessors, 0) << dev.name;
  }
}
#endif
