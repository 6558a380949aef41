// CpuBackend: construction, memory, element-wise ops, the fixed-order norm and the SGD update.
#include "kernels/cpu/cpu_backend.h"

#include <cblas.h>

#include <cstring>

namespace munet {

std::unique_ptr<Backend> make_cpu_backend(int threads) {
  return std::make_unique<CpuBackend>(threads <= 0 ? hardware_threads() : threads);
}

CpuBackend::CpuBackend(int threads) : pool_(threads) {
  // GEMMs run single-threaded inside our pool's tasks.
  openblas_set_num_threads(1);
}

std::string CpuBackend::describe() const {
  return cat("cpu (", pool_.size(), " threads, ", openblas_get_config(), ")");
}

Tensor CpuBackend::empty(const Shape& shape, DType dtype) { return Tensor::host(shape, dtype, /*zeroed=*/false); }

void CpuBackend::zero(Tensor& t) {
  MUNET_CHECK(t.defined(), "zero: tensor is not defined");
  char* p = static_cast<char*>(t.raw());
  const int64_t bytes = t.bytes();
  pool_.parallel_for(0, bytes, 1 << 18, [&](int64_t lo, int64_t hi) { std::memset(p + lo, 0, hi - lo); });
}

void CpuBackend::copy(const Tensor& src, Tensor& dst) {
  MUNET_CHECK(src.shape() == dst.shape() && src.dtype() == dst.dtype(), "copy: source ",
              shape_str(src.shape()), " ", dtype_name(src.dtype()), " does not match destination ",
              shape_str(dst.shape()), " ", dtype_name(dst.dtype()));
  MUNET_CHECK(src.device() == DeviceType::CPU && dst.device() == DeviceType::CPU,
              "copy: the CPU backend copies host tensors only");
  const char* s = static_cast<const char*>(src.raw());
  char* d = static_cast<char*>(dst.raw());
  if (s < d + dst.bytes() && d < s + src.bytes()) {  // overlapping views: one ordered move
    std::memmove(d, s, src.bytes());
    return;
  }
  pool_.parallel_for(0, src.bytes(), 1 << 18,
                     [&](int64_t lo, int64_t hi) { std::memmove(d + lo, s + lo, hi - lo); });
}

void CpuBackend::add(const Tensor& a, const Tensor& b, Tensor& out) {
  dispatch_real(a.dtype(), "add", [&](auto tag) {
    using T = decltype(tag);
    expect_tensor(b, a.dtype(), a.shape(), "add", "b");
    expect_tensor(out, a.dtype(), a.shape(), "add", "out");
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    pool_.parallel_for(0, a.numel(), 1 << 14, [&](int64_t lo, int64_t hi) {
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) po[i] = pa[i] + pb[i];
    });
  });
}

double CpuBackend::sum_squares(const Tensor& x) {
  // Fixed chunks, each summed in order, then chunk sums added in order: the result does not
  // depend on the number of threads.
  constexpr int64_t kChunk = 1 << 14;
  const int64_t n = x.numel(), chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(chunks, 0.0);
  dispatch_real(x.dtype(), "sum_squares", [&](auto tag) {
    using T = decltype(tag);
    const T* p = x.data<T>();
    pool_.parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t lo = c * kChunk, hi = std::min(n, lo + kChunk);
        double s = 0.0;
#pragma omp simd reduction(+ : s)
        for (int64_t i = lo; i < hi; ++i) s += double(p[i]) * double(p[i]);
        partial[c] = s;
      }
    });
  });
  double total = 0.0;
  for (double s : partial) total += s;
  return total;
}

void CpuBackend::sgd_update(Tensor& param, const Tensor& grad, Tensor& velocity, double lr,
                            double momentum, bool nesterov, double grad_scale) {
  dispatch_real(param.dtype(), "sgd_update", [&](auto tag) {
    using T = decltype(tag);
    expect_tensor(grad, param.dtype(), param.shape(), "sgd_update", "grad");
    expect_tensor(velocity, param.dtype(), param.shape(), "sgd_update", "velocity");
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* v = velocity.data<T>();
    const T tlr = T(lr), mom = T(momentum), scale = T(grad_scale);
    pool_.parallel_for(0, param.numel(), 1 << 14, [&](int64_t lo, int64_t hi) {
      if (nesterov) {
#pragma omp simd
        for (int64_t i = lo; i < hi; ++i) {
          const T gi = g[i] * scale;
          v[i] = mom * v[i] + gi;
          p[i] -= tlr * (gi + mom * v[i]);
        }
      } else {
#pragma omp simd
        for (int64_t i = lo; i < hi; ++i) {
          v[i] = mom * v[i] + g[i] * scale;
          p[i] -= tlr * v[i];
        }
      }
    });
  });
}

}  // namespace munet
