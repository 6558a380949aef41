// GELU (tanh approximation) forward and backward on the CPU.
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/fast_math.h"

namespace munet {
namespace {
constexpr double kSqrt2OverPi = 0.7978845608028654;
constexpr double kCubic = 0.044715;
}  // namespace

void CpuBackend::gelu_forward(const Tensor& x, Tensor& y) {
  dispatch_real(x.dtype(), "gelu_forward", [&](auto tag) {
    using T = decltype(tag);
    expect_tensor(y, x.dtype(), x.shape(), "gelu_forward", "y");
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const T c0 = T(kSqrt2OverPi), c1 = T(kCubic);
    pool_.parallel_for(0, x.numel(), 1 << 13, [&](int64_t lo, int64_t hi) {
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) {
        const T v = px[i];
        py[i] = T(0.5) * v * (T(1) + cpu::fast_tanh(c0 * (v + c1 * v * v * v)));
      }
    });
  });
}

void CpuBackend::gelu_backward(const Tensor& x, const Tensor& dy, Tensor& dx) {
  dispatch_real(x.dtype(), "gelu_backward", [&](auto tag) {
    using T = decltype(tag);
    expect_tensor(dy, x.dtype(), x.shape(), "gelu_backward", "dy");
    expect_tensor(dx, x.dtype(), x.shape(), "gelu_backward", "dx");
    const T* px = x.data<T>();
    const T* pdy = dy.data<T>();
    T* pdx = dx.data<T>();
    const T c0 = T(kSqrt2OverPi), c1 = T(kCubic);
    pool_.parallel_for(0, x.numel(), 1 << 13, [&](int64_t lo, int64_t hi) {
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) {
        const T v = px[i];
        const T t = cpu::fast_tanh(c0 * (v + c1 * v * v * v));
        const T dt = c0 * (T(1) + T(3) * c1 * v * v);
        pdx[i] = pdy[i] * (T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * dt);
      }
    });
  });
}

}  // namespace munet
