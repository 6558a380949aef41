// LayerNorm forward and backward on the GPU. One warp per row computes the row's mean and
// inverse deviation and writes y (forward) or dx (backward) in one kernel. dgamma and dbeta are
// column sums over all rows, done in two fixed-order stages (row chunks, then the chunks in
// order), so the result never depends on scheduling.
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/reduce.cuh"

namespace munet {
namespace {

constexpr int kWarpsPerBlock = 8;

template <class T>
__global__ void layernorm_forward_kernel(const T* x, const T* gamma, const T* beta, T eps, T* y, T* mean,
                                         T* rstd, int64_t M, int64_t D) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = int64_t(gridDim.x) * kWarpsPerBlock;
  for (int64_t r = blockIdx.x * int64_t(kWarpsPerBlock) + (threadIdx.x >> 5); r < M; r += warps) {
    const T* xr = x + r * D;
    T s = 0;
    for (int64_t i = lane; i < D; i += 32) s += xr[i];
    const T mu = cuda::warp_sum(s) / T(D);
    T v = 0;
    for (int64_t i = lane; i < D; i += 32) v += (xr[i] - mu) * (xr[i] - mu);
    const T rs = T(1) / sqrt(cuda::warp_sum(v) / T(D) + eps);
    T* yr = y + r * D;
    for (int64_t i = lane; i < D; i += 32) yr[i] = (xr[i] - mu) * rs * gamma[i] + beta[i];
    if (lane == 0) mean[r] = mu, rstd[r] = rs;
  }
}

template <class T>
__global__ void layernorm_dx_kernel(const T* x, const T* gamma, const T* mean, const T* rstd, const T* dy, T* dx,
                                    bool accumulate, int64_t M, int64_t D) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = int64_t(gridDim.x) * kWarpsPerBlock;
  for (int64_t r = blockIdx.x * int64_t(kWarpsPerBlock) + (threadIdx.x >> 5); r < M; r += warps) {
    const T* xr = x + r * D;
    const T* dyr = dy + r * D;
    const T mu = mean[r], rs = rstd[r];
    T a = 0, c = 0;
    for (int64_t i = lane; i < D; i += 32) {
      const T dxhat = dyr[i] * gamma[i];
      a += dxhat;
      c += dxhat * (xr[i] - mu) * rs;
    }
    a = cuda::warp_sum(a) / T(D);
    c = cuda::warp_sum(c) / T(D);
    T* dxr = dx + r * D;
    for (int64_t i = lane; i < D; i += 32) {
      const T v = rs * (dyr[i] * gamma[i] - a - (xr[i] - mu) * rs * c);
      dxr[i] = accumulate ? dxr[i] + v : v;
    }
  }
}

// Stage 1: block (column tile cx, row chunk ry) of 32 x 8 threads sums rows
// [ry*chunk, (ry+1)*chunk) of its 32 columns into partial[ry] (dgamma terms) and
// partial[chunks + ry] (dbeta terms).
template <class T>
__global__ void layernorm_param_partial(const T* x, const T* mean, const T* rstd, const T* dy, int64_t M, int64_t D,
                                        int64_t chunk, T* partial) {
  __shared__ T sg[8][33], sb[8][33];
  const int64_t col = blockIdx.x * 32 + threadIdx.x;
  const int64_t r0 = blockIdx.y * chunk, r1 = min(M, r0 + chunk);
  T g = 0, b = 0;
  if (col < D)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += 8) {
      const T d = dy[r * D + col];
      g += d * (x[r * D + col] - mean[r]) * rstd[r];
      b += d;
    }
  sg[threadIdx.y][threadIdx.x] = g;
  sb[threadIdx.y][threadIdx.x] = b;
  __syncthreads();
  if (threadIdx.y == 0 && col < D) {
    T tg = 0, tb = 0;
    for (int k = 0; k < 8; ++k) tg += sg[k][threadIdx.x], tb += sb[k][threadIdx.x];
    partial[blockIdx.y * D + col] = tg;
    partial[(gridDim.y + blockIdx.y) * D + col] = tb;
  }
}

// Stage 2: dgamma[c] += sum of the chunks in order (likewise dbeta).
template <class T>
__global__ void layernorm_param_finish(const T* partial, int64_t chunks, int64_t D, T* dgamma, T* dbeta) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < D; c += int64_t(gridDim.x) * blockDim.x) {
    T g = 0, b = 0;
    for (int64_t k = 0; k < chunks; ++k) g += partial[k * D + c], b += partial[(chunks + k) * D + c];
    if (dgamma) dgamma[c] += g;
    if (dbeta) dbeta[c] += b;
  }
}

unsigned row_blocks(int64_t M) { return blocks_for(M, kWarpsPerBlock); }

}  // namespace

void CudaBackend::layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps, Tensor& y,
                                    Tensor& mean, Tensor& rstd) {
  bind();
  dispatch_real(x.dtype(), "layernorm_forward", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(x.rank() == 2, "layernorm_forward: x must be a matrix, got ", shape_str(x.shape()));
    const int64_t M = x.dim(0), D = x.dim(1);
    expect_device_tensor(x, x.dtype(), {M, D}, "layernorm_forward", "x");
    expect_device_tensor(gamma, x.dtype(), {D}, "layernorm_forward", "gamma");
    expect_device_tensor(beta, x.dtype(), {D}, "layernorm_forward", "beta");
    expect_device_tensor(y, x.dtype(), {M, D}, "layernorm_forward", "y");
    expect_device_tensor(mean, x.dtype(), {M}, "layernorm_forward", "mean");
    expect_device_tensor(rstd, x.dtype(), {M}, "layernorm_forward", "rstd");
    layernorm_forward_kernel<<<row_blocks(M), 32 * kWarpsPerBlock, 0, stream()>>>(
        x.data<T>(), gamma.data<T>(), beta.data<T>(), T(eps), y.data<T>(), mean.data<T>(), rstd.data<T>(), M, D);
    cuda::check_launch("layernorm_forward");
  });
}

void CudaBackend::layernorm_backward(const Tensor& x, const Tensor& gamma, const Tensor& mean, const Tensor& rstd,
                                     const Tensor& dy, Tensor* dx, bool accumulate_dx, Tensor* dgamma,
                                     Tensor* dbeta) {
  bind();
  dispatch_real(x.dtype(), "layernorm_backward", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(x.rank() == 2, "layernorm_backward: x must be a matrix, got ", shape_str(x.shape()));
    const int64_t M = x.dim(0), D = x.dim(1);
    expect_device_tensor(x, x.dtype(), {M, D}, "layernorm_backward", "x");
    expect_device_tensor(gamma, x.dtype(), {D}, "layernorm_backward", "gamma");
    expect_device_tensor(mean, x.dtype(), {M}, "layernorm_backward", "mean");
    expect_device_tensor(rstd, x.dtype(), {M}, "layernorm_backward", "rstd");
    expect_device_tensor(dy, x.dtype(), {M, D}, "layernorm_backward", "dy");
    if (dx) {
      expect_device_tensor(*dx, x.dtype(), {M, D}, "layernorm_backward", "dx");
      layernorm_dx_kernel<<<row_blocks(M), 32 * kWarpsPerBlock, 0, stream()>>>(
          x.data<T>(), gamma.data<T>(), mean.data<T>(), rstd.data<T>(), dy.data<T>(), dx->data<T>(), accumulate_dx,
          M, D);
      cuda::check_launch("layernorm_backward (dx)");
    }
    if (dgamma) expect_device_tensor(*dgamma, x.dtype(), {D}, "layernorm_backward", "dgamma");
    if (dbeta) expect_device_tensor(*dbeta, x.dtype(), {D}, "layernorm_backward", "dbeta");
    if ((dgamma || dbeta) && M > 0) {
      // Chunks of 256 rows, at most 256 chunks: the split depends on M alone.
      const int64_t chunks = std::min<int64_t>(256, (M + 255) / 256), chunk = (M + chunks - 1) / chunks;
      T* partial = static_cast<T*>(scratch(kPartials, size_t(2 * chunks * D) * sizeof(T)));
      layernorm_param_partial<<<dim3(unsigned((D + 31) / 32), unsigned(chunks)), dim3(32, 8), 0, stream()>>>(
          x.data<T>(), mean.data<T>(), rstd.data<T>(), dy.data<T>(), M, D, chunk, partial);
      layernorm_param_finish<<<blocks_for(D, 256), 256, 0, stream()>>>(
          partial, chunks, D, dgamma ? dgamma->data<T>() : nullptr, dbeta ? dbeta->data<T>() : nullptr);
      cuda::check_launch("layernorm_backward (dgamma, dbeta)");
    }
  });
}

}  // namespace munet
