// --device parsing and backend choice (kernels/make_backend.h), checked on every machine and in
// every build: bad values are munet::Errors naming them, and asking for CUDA without a GPU (or in
// a build without CUDA) is a clear error pointing at --device cpu rather than a crash.
#include <gtest/gtest.h>

#include "kernels/make_backend.h"
#include "munet/build_config.h"
#include "support/expect_error.h"
#if MUNET_CUDA
#include "kernels/cuda/devices.h"
#endif

namespace munet {
namespace {

TEST(DeviceSelection, ParsesCpuCudaAndCudaN) {
  const DeviceSpec cpu = parse_device("cpu");
  EXPECT_EQ(cpu.type, DeviceType::CPU);
  EXPECT_EQ(device_spec_str(cpu), "cpu");
  const DeviceSpec cuda = parse_device("cuda");
  EXPECT_EQ(cuda.type, DeviceType::CUDA);
  EXPECT_EQ(cuda.index, -1);  // chosen later: the local rank modulo the GPUs this process sees
  EXPECT_EQ(device_spec_str(cuda), "cuda");
  const DeviceSpec cuda3 = parse_device("cuda:3");
  EXPECT_EQ(cuda3.type, DeviceType::CUDA);
  EXPECT_EQ(cuda3.index, 3);
  EXPECT_EQ(device_spec_str(cuda3), "cuda:3");
  EXPECT_EQ(parse_device("cuda:0").index, 0);
  EXPECT_EQ(parse_device("cuda:12").index, 12);
  EXPECT_EQ(cuda3.precision, "tf32");  // the default GEMM precision
}

TEST(DeviceSelection, RejectsOtherValuesNamingThem) {
  EXPECT_ERROR(parse_device("gpu"), "--device gpu", "expected cpu, cuda or cuda:N");
  EXPECT_ERROR(parse_device("cuda:x"), "--device cuda:x", "cuda:N");
  EXPECT_ERROR(parse_device("cuda:-1"), "--device cuda:-1", "cuda:N");
  EXPECT_ERROR(parse_device("cuda:1x"), "--device cuda:1x");
  EXPECT_ERROR(parse_device("cuda: 3"), "--device cuda: 3");
  EXPECT_ERROR(parse_device("cuda:+3"), "--device cuda:+3");
  EXPECT_ERROR(parse_device("cuda:"), "--device cuda:", "cuda:N");
  EXPECT_ERROR(parse_device("cuda:1024"), "--device cuda:1024");
  EXPECT_ERROR(parse_device("cuda0"), "--device cuda0");
  EXPECT_ERROR(parse_device("CUDA"), "--device CUDA");
  EXPECT_ERROR(parse_device("cpu:0"), "--device cpu:0");
  EXPECT_ERROR(parse_device(""), "expected cpu, cuda or cuda:N");
}

TEST(DeviceSelection, CpuGivesTheCpuBackend) {
  DeviceSpec spec = parse_device("cpu");
  spec.threads = 2;
  EXPECT_EQ(make_backend(spec)->device(), DeviceType::CPU);
  int64_t memory = -1;
  const DeviceSpec resolved = resolve_device(spec, &memory);
  EXPECT_EQ(resolved.type, DeviceType::CPU);
  EXPECT_EQ(memory, 0);
}

TEST(DeviceSelection, CudaWithoutAGpuSaysToUseTheCpu) {
#if MUNET_CUDA
  if (!cuda_devices().devices.empty()) GTEST_SKIP() << "a CUDA device is present";
#endif
  EXPECT_ERROR(make_backend(parse_device("cuda")), "--device cuda", "--device cpu");
  EXPECT_ERROR(make_backend(parse_device("cuda:1")), "--device cuda:1", "--device cpu");
  EXPECT_ERROR(resolve_device(parse_device("cuda")), "--device cpu");
}

}  // namespace
}  // namespace munet
