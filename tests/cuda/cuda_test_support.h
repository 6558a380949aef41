// Shared helpers of the CUDA tests: skipping without a GPU, random host tensors in either float
// type, moving tensors to and from a backend, and the one comparison every CUDA-vs-CPU check
// uses: max |got - want| <= tol * max(1, max |want|), non-finite values always failing.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "kernels/backend.h"
#include "kernels/cuda/devices.h"
#include "util/rng.h"

namespace munet::test {

// Whether this process sees a usable CUDA device (asked once), and why not.
inline const CudaDevices& cuda_device_list() {
  static const CudaDevices devices = cuda_devices();
  return devices;
}
inline bool have_cuda_device() { return !cuda_device_list().devices.empty(); }

}  // namespace munet::test

// Skips the current test (from a test body or SetUp) when there is no CUDA device.
#define MUNET_REQUIRE_CUDA_DEVICE()                                                                \
  do {                                                                                             \
    if (!::munet::test::have_cuda_device())                                                        \
      GTEST_SKIP() << "no CUDA device (" << ::munet::test::cuda_device_list().problem << ")";      \
  } while (0)

namespace munet::test {

// A host tensor of `dtype` (F32 or F64) with offset + N(0, scale^2) values, drawn in double so
// that an F32 tensor holds the F64 one rounded.
inline Tensor random_host(const Shape& shape, DType dtype, Rng& rng, double scale = 1.0, double offset = 0.0) {
  Tensor t = Tensor::host(shape, dtype);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double v = offset + scale * rng.normal();
    if (dtype == DType::F64) t.data<double>()[i] = v;
    else t.data<float>()[i] = float(v);
  }
  return t;
}

// A host tensor full of quiet NaNs: the pre-filled contents of outputs an op must overwrite.
inline Tensor nan_host(const Shape& shape, DType dtype) {
  Tensor t = Tensor::host(shape, dtype);
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (dtype == DType::F64) t.data<double>()[i] = std::numeric_limits<double>::quiet_NaN();
    else t.data<float>()[i] = std::numeric_limits<float>::quiet_NaN();
  }
  return t;
}

// Element i of a host tensor (F32, F64 or I32) as a double.
inline double value_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::F32: return t.data<float>()[i];
    case DType::F64: return t.data<double>()[i];
    case DType::I32: return t.data<int32_t>()[i];
  }
  return 0;
}

// A deep copy of a host tensor.
inline Tensor host_clone(const Tensor& t) {
  Tensor c = Tensor::host(t.shape(), t.dtype(), /*zeroed=*/false);
  if (t.bytes()) std::memcpy(c.raw(), t.raw(), t.bytes());
  return c;
}

// The same values on `be`'s device, and back in host memory.
inline Tensor to_device(Backend& be, const Tensor& host) {
  Tensor d = be.empty(host.shape(), host.dtype());
  be.copy(host, d);
  return d;
}
inline Tensor to_host(Backend& be, const Tensor& t) {
  Tensor h = Tensor::host(t.shape(), t.dtype(), /*zeroed=*/false);
  be.copy(t, h);
  return h;
}

// Checks max |got - want| <= tol * max(1, max |want|) over all elements (tol = 0: bit-for-bit
// equal values); a NaN or infinity in `got` where `want` is finite always fails. Both are host
// tensors of one shape and dtype. Reports the worst element.
inline void expect_close(const std::string& what, const Tensor& want, const Tensor& got, double tol) {
  ASSERT_EQ(want.shape(), got.shape()) << what;
  ASSERT_EQ(want.dtype(), got.dtype()) << what;
  const int64_t n = want.numel();
  double max_want = 0, max_diff = 0;
  int64_t worst = -1, bad = -1;
  for (int64_t i = 0; i < n; ++i) max_want = std::max(max_want, std::fabs(value_at(want, i)));
  for (int64_t i = 0; i < n; ++i) {
    const double w = value_at(want, i), g = value_at(got, i);
    if (std::isfinite(w) && !std::isfinite(g)) {
      if (bad < 0) bad = i;
      continue;
    }
    const double d = std::fabs(g - w);
    if (d > max_diff || worst < 0) max_diff = d, worst = i;
  }
  if (bad >= 0)
    ADD_FAILURE() << what << " " << shape_str(want.shape()) << ": non-finite value at element " << bad << " ("
                  << value_at(got, bad) << ", expected " << value_at(want, bad) << "): not written?";
  const double bound = tol * std::max(1.0, max_want);
  if (worst >= 0) {
    EXPECT_LE(max_diff, bound) << what << " " << shape_str(want.shape()) << ": max |cuda - cpu| = " << max_diff
                               << " at element " << worst << " (cuda " << value_at(got, worst) << ", cpu "
                               << value_at(want, worst) << "), bound " << bound << " = " << tol
                               << " * max(1, max|cpu| = " << max_want << ")";
  }
}

// Byte-for-byte equality of two host tensors.
inline void expect_same_bytes(const std::string& what, const Tensor& want, const Tensor& got) {
  ASSERT_EQ(want.shape(), got.shape()) << what;
  ASSERT_EQ(want.dtype(), got.dtype()) << what;
  EXPECT_TRUE(want.bytes() == 0 || std::memcmp(want.raw(), got.raw(), want.bytes()) == 0)
      << what << " " << shape_str(want.shape()) << ": bytes differ";
}

}  // namespace munet::test
