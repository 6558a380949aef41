// GELU (tanh approximation, as jax.nn.gelu) forward and backward on the GPU, and the MLP's first
// half fused after its GEMM: one pass adds the bias to h and writes gelu(h).
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"

namespace munet {
namespace {

template <class T>
__device__ inline T gelu_of(T v) {
  const T c0 = T(0.7978845608028654), c1 = T(0.044715);
  return T(0.5) * v * (T(1) + tanh(c0 * (v + c1 * v * v * v)));
}

template <class T>
__global__ void gelu_forward_kernel(const T* x, T* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = gelu_of(x[i]);
}

template <class T>
__global__ void gelu_backward_kernel(const T* x, const T* dy, T* dx, int64_t n) {
  const T c0 = T(0.7978845608028654), c1 = T(0.044715);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const T v = x[i];
    const T t = tanh(c0 * (v + c1 * v * v * v));
    const T dt = c0 * (T(1) + T(3) * c1 * v * v);
    dx[i] = dy[i] * (T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * dt);
  }
}

template <class T>
__global__ void bias_gelu_kernel(const T* b, T* h, T* g, int64_t rows, int64_t n) {
  const int64_t total = rows * n;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const T v = h[i] + b[i % n];
    h[i] = v;
    g[i] = gelu_of(v);
  }
}

}  // namespace

void CudaBackend::gelu_forward(const Tensor& x, Tensor& y) {
  bind();
  dispatch_real(x.dtype(), "gelu_forward", [&](auto tag) {
    using T = decltype(tag);
    expect_device_tensor(x, x.dtype(), x.shape(), "gelu_forward", "x");
    expect_device_tensor(y, x.dtype(), x.shape(), "gelu_forward", "y");
    const int64_t n = x.numel();
    gelu_forward_kernel<<<blocks_for(n, 256), 256, 0, stream()>>>(x.data<T>(), y.data<T>(), n);
    cuda::check_launch("gelu_forward");
  });
}

void CudaBackend::gelu_backward(const Tensor& x, const Tensor& dy, Tensor& dx) {
  bind();
  dispatch_real(x.dtype(), "gelu_backward", [&](auto tag) {
    using T = decltype(tag);
    expect_device_tensor(x, x.dtype(), x.shape(), "gelu_backward", "x");
    expect_device_tensor(dy, x.dtype(), x.shape(), "gelu_backward", "dy");
    expect_device_tensor(dx, x.dtype(), x.shape(), "gelu_backward", "dx");
    const int64_t n = x.numel();
    gelu_backward_kernel<<<blocks_for(n, 256), 256, 0, stream()>>>(x.data<T>(), dy.data<T>(), dx.data<T>(), n);
    cuda::check_launch("gelu_backward");
  });
}

void CudaBackend::linear_gelu_forward(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& h, Tensor& g) {
  bind();
  dispatch_real(x.dtype(), "linear_gelu_forward", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(x.rank() == 2 && w.rank() == 2, "linear_gelu_forward: x and w must be matrices, got ",
                shape_str(x.shape()), " and ", shape_str(w.shape()));
    const int64_t M = x.dim(0), K = x.dim(1), N = w.dim(1);
    expect_device_tensor(x, x.dtype(), {M, K}, "linear_gelu_forward", "x");
    expect_device_tensor(w, x.dtype(), {K, N}, "linear_gelu_forward", "w");
    expect_device_tensor(b, x.dtype(), {N}, "linear_gelu_forward", "b");
    expect_device_tensor(h, x.dtype(), {M, N}, "linear_gelu_forward", "h");
    expect_device_tensor(g, x.dtype(), {M, N}, "linear_gelu_forward", "g");
    gemm<T>(false, false, M, N, K, T(1), x.data<T>(), K, 0, w.data<T>(), N, 0, T(0), h.data<T>(), N, 0, 1, true,
            "linear_gelu_forward");
    bias_gelu_kernel<<<blocks_for(M * N, 256), 256, 0, stream()>>>(b.data<T>(), h.data<T>(), g.data<T>(), M, N);
    cuda::check_launch("linear_gelu_forward");
  });
}

}  // namespace munet
