// Linear layer forward and backward on the CPU. Outputs are cut into fixed-size blocks (rows of
// y and dx, rows of dw, columns of db) that do not depend on the number of threads, and each block
// is one BLAS call handed whole to one thread: OpenBLAS picks its kernels by call shape, so this
// keeps every result bit-identical however many threads run. No floating-point sum is ever split.
#include <algorithm>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/cpu_backend.h"

namespace munet {
namespace {

// Blocks are few and large (each BLAS call re-packs its other operand): an even number of them
// (two threads stay balanced), about kTargetRows rows each. The split depends on n alone.
constexpr int64_t kTargetRows = 256;
constexpr int64_t kColumnBlock = 256;

int64_t row_blocks(int64_t n) { return n <= 0 ? 0 : 2 * ((n + 2 * kTargetRows - 1) / (2 * kTargetRows)); }
int64_t block_start(int64_t n, int64_t blocks, int64_t i) { return n * i / blocks; }
int64_t column_blocks(int64_t n) { return (n + kColumnBlock - 1) / kColumnBlock; }

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
    const int64_t nblk = row_blocks(M);
    pool_.parallel_for(0, nblk, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t blk = lo; blk < hi; ++blk) {
        const int64_t r0 = block_start(M, nblk, blk), r1 = block_start(M, nblk, blk + 1);
        if (r0 == r1) continue;
        if (pb)
          for (int64_t r = r0; r < r1; ++r) std::copy(pb, pb + N, py + r * N);
        cpu::gemm(false, false, int(r1 - r0), int(N), int(K), T(1), px + r0 * K, int(K), pw, int(N),
                  pb ? T(1) : T(0), py + r0 * N, int(N));
      }
    });
  });
}

void CpuBackend::linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx,
                                 Tensor* dw, Tensor* db) {
  dispatch_real(x.dtype(), "linear_backward", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(x.rank() == 2 && w.rank() == 2, "linear_backward: x and w must be matrices, got ",
                shape_str(x.shape()), " and ", shape_str(w.shape()));
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
    // One list of independent blocks: dx row blocks, then dw row blocks, then db column blocks.
    const int64_t nx = pdx ? row_blocks(M) : 0, nw = pdw ? row_blocks(K) : 0;
    const int64_t nb = pdb ? column_blocks(N) : 0;
    pool_.parallel_for(0, nx + nw + nb, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t blk = lo; blk < hi; ++blk) {
        if (blk < nx) {  // dx[r0:r1] = dy[r0:r1] w^T
          const int64_t r0 = block_start(M, nx, blk), r1 = block_start(M, nx, blk + 1);
          if (r0 < r1)
            cpu::gemm(false, true, int(r1 - r0), int(K), int(N), T(1), pdy + r0 * N, int(N), pw,
                      int(N), T(0), pdx + r0 * K, int(K));
        } else if (blk < nx + nw) {  // dw[k0:k1] += x[:, k0:k1]^T dy
          const int64_t k0 = block_start(K, nw, blk - nx), k1 = block_start(K, nw, blk - nx + 1);
          if (k0 < k1)
            cpu::gemm(true, false, int(k1 - k0), int(N), int(M), T(1), px + k0, int(K), pdy, int(N),
                      T(1), pdw + k0 * N, int(N));
        } else {  // db[n0:n1] += sum over rows of dy[:, n0:n1]
          const int64_t n0 = (blk - nx - nw) * kColumnBlock, n1 = std::min(N, n0 + kColumnBlock);
          for (int64_t r = 0; r < M; ++r) {
            const T* row = pdy + r * N;
#pragma omp simd
            for (int64_t n = n0; n < n1; ++n) pdb[n] += row[n];
          }
        }
      }
    });
  });
}

}  // namespace munet
