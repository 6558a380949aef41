// Linear layer forward and backward on the CPU. Each thread owns a slab of output rows (forward,
// dx), a slab of weight-gradient rows (dw) and a slab of bias-gradient columns (db), so no
// floating-point sum is ever split between threads.
#include <algorithm>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/cpu_backend.h"

namespace munet {
namespace {

// Below this many multiply-adds a GEMM is not worth splitting.
constexpr int64_t kParallelWork = 1 << 17;

int threads_for(ThreadPool& pool, int64_t work, int64_t rows) {
  if (work < kParallelWork) return 1;
  return static_cast<int>(std::min<int64_t>(pool.size(), std::max<int64_t>(rows / 8, 1)));
}

}  // namespace

void CpuBackend::linear_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y) {
  dispatch_real(x.dtype(), "linear_forward", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(x.rank() == 2 && w.rank() == 2, "linear_forward: x and w must be matrices, got ",
                shape_str(x.shape()), " and ", shape_str(w.shape()));
    const int64_t M = x.dim(0), K = x.dim(1), N = w.dim(1);
    expect_tensor(w, x.dtype(), {K, N}, "linear_forward", "w");
    expect_tensor(y, x.dtype(), {M, N}, "linear_forward", "y");
    if (b) expect_tensor(*b, x.dtype(), {N}, "linear_forward", "b");
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    const T* pb = b ? b->data<T>() : nullptr;
    T* py = y.data<T>();
    const int parts = threads_for(pool_, M * N * K, M);
    pool_.run(parts, [&](int t) {
      const int64_t r0 = M * t / parts, r1 = M * (t + 1) / parts;
      if (r0 == r1) return;
      if (pb)
        for (int64_t r = r0; r < r1; ++r) std::copy(pb, pb + N, py + r * N);
      cpu::gemm(false, false, int(r1 - r0), int(N), int(K), T(1), px + r0 * K, int(K), pw, int(N),
                pb ? T(1) : T(0), py + r0 * N, int(N));
    });
  });
}

void CpuBackend::linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx,
                                 Tensor* dw, Tensor* db) {
  dispatch_real(x.dtype(), "linear_backward", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(x.rank() == 2 && w.rank() == 2, "linear_backward: x and w must be matrices");
    const int64_t M = x.dim(0), K = x.dim(1), N = w.dim(1);
    expect_tensor(w, x.dtype(), {K, N}, "linear_backward", "w");
    expect_tensor(dy, x.dtype(), {M, N}, "linear_backward", "dy");
    if (dx) expect_tensor(*dx, x.dtype(), {M, K}, "linear_backward", "dx");
    if (dw) expect_tensor(*dw, x.dtype(), {K, N}, "linear_backward", "dw");
    if (db) expect_tensor(*db, x.dtype(), {N}, "linear_backward", "db");
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    const T* pdy = dy.data<T>();
    T* pdx = dx ? dx->data<T>() : nullptr;
    T* pdw = dw ? dw->data<T>() : nullptr;
    T* pdb = db ? db->data<T>() : nullptr;
    const int parts = threads_for(pool_, M * N * K, std::min(M, K));
    pool_.run(parts, [&](int t) {
      if (pdx) {  // dx[r0:r1] = dy[r0:r1] w^T
        const int64_t r0 = M * t / parts, r1 = M * (t + 1) / parts;
        if (r1 > r0)
          cpu::gemm(false, true, int(r1 - r0), int(K), int(N), T(1), pdy + r0 * N, int(N), pw,
                    int(N), T(0), pdx + r0 * K, int(K));
      }
      if (pdw) {  // dw[k0:k1] += x[:, k0:k1]^T dy
        const int64_t k0 = K * t / parts, k1 = K * (t + 1) / parts;
        if (k1 > k0)
          cpu::gemm(true, false, int(k1 - k0), int(N), int(M), T(1), px + k0, int(K), pdy, int(N),
                    T(1), pdw + k0 * N, int(N));
      }
      if (pdb) {  // db[n0:n1] += sum over rows of dy[:, n0:n1]
        const int64_t n0 = N * t / parts, n1 = N * (t + 1) / parts;
        for (int64_t r = 0; r < M; ++r) {
          const T* row = pdy + r * N;
#pragma omp simd
          for (int64_t n = n0; n < n1; ++n) pdb[n] += row[n];
        }
      }
    });
  });
}

}  // namespace munet
