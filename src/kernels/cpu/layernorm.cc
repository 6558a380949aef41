// LayerNorm forward and backward on the CPU: threads own row slabs for y and dx, and column
// slabs for dgamma/dbeta (recomputing the normalised input there), so results are exact per thread.
#include <cmath>

#include "kernels/cpu/cpu_backend.h"

namespace munet {

void CpuBackend::layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                   double eps, Tensor& y, Tensor& mean, Tensor& rstd) {
  dispatch_real(x.dtype(), "layernorm_forward", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(x.rank() == 2, "layernorm_forward: x must be a matrix, got ", shape_str(x.shape()));
    const int64_t M = x.dim(0), D = x.dim(1);
    expect_tensor(gamma, x.dtype(), {D}, "layernorm_forward", "gamma");
    expect_tensor(beta, x.dtype(), {D}, "layernorm_forward", "beta");
    expect_tensor(y, x.dtype(), {M, D}, "layernorm_forward", "y");
    expect_tensor(mean, x.dtype(), {M}, "layernorm_forward", "mean");
    expect_tensor(rstd, x.dtype(), {M}, "layernorm_forward", "rstd");
    const T* px = x.data<T>();
    const T* g = gamma.data<T>();
    const T* b = beta.data<T>();
    T* py = y.data<T>();
    T* pm = mean.data<T>();
    T* pr = rstd.data<T>();
    pool_.parallel_for(0, M, 32, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* xr = px + r * D;
        T s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < D; ++i) s += xr[i];
        const T mu = s / T(D);
        T v = 0;
#pragma omp simd reduction(+ : v)
        for (int64_t i = 0; i < D; ++i) v += (xr[i] - mu) * (xr[i] - mu);
        const T rs = T(1) / std::sqrt(v / T(D) + T(eps));
        T* yr = py + r * D;
#pragma omp simd
        for (int64_t i = 0; i < D; ++i) yr[i] = (xr[i] - mu) * rs * g[i] + b[i];
        pm[r] = mu;
        pr[r] = rs;
      }
    });
  });
}

void CpuBackend::layernorm_backward(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                    const Tensor& rstd, const Tensor& dy, Tensor* dx,
                                    bool accumulate_dx, Tensor* dgamma, Tensor* dbeta) {
  dispatch_real(x.dtype(), "layernorm_backward", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(x.rank() == 2, "layernorm_backward: x must be a matrix, got ", shape_str(x.shape()));
    const int64_t M = x.dim(0), D = x.dim(1);
    expect_tensor(gamma, x.dtype(), {D}, "layernorm_backward", "gamma");
    expect_tensor(mean, x.dtype(), {M}, "layernorm_backward", "mean");
    expect_tensor(rstd, x.dtype(), {M}, "layernorm_backward", "rstd");
    expect_tensor(dy, x.dtype(), {M, D}, "layernorm_backward", "dy");
    if (dx) expect_tensor(*dx, x.dtype(), {M, D}, "layernorm_backward", "dx");
    if (dgamma) expect_tensor(*dgamma, x.dtype(), {D}, "layernorm_backward", "dgamma");
    if (dbeta) expect_tensor(*dbeta, x.dtype(), {D}, "layernorm_backward", "dbeta");
    const T* px = x.data<T>();
    const T* g = gamma.data<T>();
    const T* pm = mean.data<T>();
    const T* pr = rstd.data<T>();
    const T* pdy = dy.data<T>();
    T* pdx = dx ? dx->data<T>() : nullptr;
    T* pdg = dgamma ? dgamma->data<T>() : nullptr;
    T* pdb = dbeta ? dbeta->data<T>() : nullptr;
    const int parts = M * D < (1 << 14) ? 1 : pool_.size();
    pool_.run(parts, [&](int t) {
      if (pdx) {
        const int64_t r0 = M * t / parts, r1 = M * (t + 1) / parts;
        for (int64_t r = r0; r < r1; ++r) {
          const T* xr = px + r * D;
          const T* dyr = pdy + r * D;
          const T mu = pm[r], rs = pr[r];
          T sum_dxhat = 0, sum_dxhat_xhat = 0;
#pragma omp simd reduction(+ : sum_dxhat, sum_dxhat_xhat)
          for (int64_t i = 0; i < D; ++i) {
            const T dxhat = dyr[i] * g[i];
            sum_dxhat += dxhat;
            sum_dxhat_xhat += dxhat * (xr[i] - mu) * rs;
          }
          const T a = sum_dxhat / T(D), c = sum_dxhat_xhat / T(D);
          T* dxr = pdx + r * D;
          if (accumulate_dx) {
#pragma omp simd
            for (int64_t i = 0; i < D; ++i)
              dxr[i] += rs * (dyr[i] * g[i] - a - (xr[i] - mu) * rs * c);
          } else {
#pragma omp simd
            for (int64_t i = 0; i < D; ++i)
              dxr[i] = rs * (dyr[i] * g[i] - a - (xr[i] - mu) * rs * c);
          }
        }
      }
      if (pdg || pdb) {
        const int64_t c0 = D * t / parts, c1 = D * (t + 1) / parts;
        for (int64_t r = 0; r < M; ++r) {
          const T* xr = px + r * D;
          const T* dyr = pdy + r * D;
          const T mu = pm[r], rs = pr[r];
          if (pdg) {
#pragma omp simd
            for (int64_t i = c0; i < c1; ++i) pdg[i] += dyr[i] * (xr[i] - mu) * rs;
          }
          if (pdb) {
#pragma omp simd
            for (int64_t i = c0; i < c1; ++i) pdb[i] += dyr[i];
          }
        }
      }
    });
  });
}

}  // namespace munet
