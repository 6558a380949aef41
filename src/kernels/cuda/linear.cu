// Linear layer forward and backward on the GPU: the three GEMMs through cuBLAS (in the backend's
// precision), the bias as a broadcast before the GEMM accumulates onto it, and the bias gradient
// as a GEMV against a vector of ones (a fixed-order column sum).
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"

namespace munet {
namespace {

template <class T>
__global__ void broadcast_rows(const T* b, T* y, int64_t rows, int64_t n) {
  const int64_t total = rows * n;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = b[i % n];
}

}  // namespace

void CudaBackend::linear_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y) {
  bind();
  dispatch_real(x.dtype(), "linear_forward", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(x.rank() == 2 && w.rank() == 2, "linear_forward: x and w must be matrices, got ",
                shape_str(x.shape()), " and ", shape_str(w.shape()));
    const int64_t M = x.dim(0), K = x.dim(1), N = w.dim(1);
    expect_device_tensor(x, x.dtype(), {M, K}, "linear_forward", "x");
    expect_device_tensor(w, x.dtype(), {K, N}, "linear_forward", "w");
    expect_device_tensor(y, x.dtype(), {M, N}, "linear_forward", "y");
    if (b) {
      expect_device_tensor(*b, x.dtype(), {N}, "linear_forward", "b");
      broadcast_rows<<<blocks_for(M * N, 256), 256, 0, stream()>>>(b->data<T>(), y.data<T>(), M, N);
      cuda::check_launch("linear_forward");
    }
    gemm<T>(false, false, M, N, K, T(1), x.data<T>(), K, 0, w.data<T>(), N, 0, b ? T(1) : T(0), y.data<T>(), N, 0,
            1, true, "linear_forward");
  });
}

void CudaBackend::linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw,
                                  Tensor* db) {
  bind();
  dispatch_real(x.dtype(), "linear_backward", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(x.rank() == 2 && w.rank() == 2, "linear_backward: x and w must be matrices, got ",
                shape_str(x.shape()), " and ", shape_str(w.shape()));
    const int64_t M = x.dim(0), K = x.dim(1), N = w.dim(1);
    expect_device_tensor(x, x.dtype(), {M, K}, "linear_backward", "x");
    expect_device_tensor(w, x.dtype(), {K, N}, "linear_backward", "w");
    expect_device_tensor(dy, x.dtype(), {M, N}, "linear_backward", "dy");
    if (dx) {  // dx = dy w^T
      expect_device_tensor(*dx, x.dtype(), {M, K}, "linear_backward", "dx");
      gemm<T>(false, true, M, K, N, T(1), dy.data<T>(), N, 0, w.data<T>(), N, 0, T(0), dx->data<T>(), K, 0, 1, true,
              "linear_backward (dx)");
    }
    if (dw) {  // dw += x^T dy
      expect_device_tensor(*dw, x.dtype(), {K, N}, "linear_backward", "dw");
      gemm<T>(true, false, K, N, M, T(1), x.data<T>(), K, 0, dy.data<T>(), N, 0, T(1), dw->data<T>(), N, 0, 1, true,
              "linear_backward (dw)");
    }
    if (db) {  // db += dy^T 1
      expect_device_tensor(*db, x.dtype(), {N}, "linear_backward", "db");
      MUNET_CHECK(M <= INT32_MAX && N <= INT32_MAX, "linear_backward: ", M, "x", N, " is too large for cuBLAS");
      const T one = T(1);
      if constexpr (std::is_same<T, float>::value)
        cuda::check(cublasSgemv(blas_, CUBLAS_OP_N, int(N), int(M), &one, dy.data<T>(), int(N), ones<T>(M), 1, &one,
                                db->data<T>(), 1),
                    "cublasSgemv", "linear_backward (db)");
      else
        cuda::check(cublasDgemv(blas_, CUBLAS_OP_N, int(N), int(M), &one, dy.data<T>(), int(N), ones<T>(M), 1, &one,
                                db->data<T>(), 1),
                    "cublasDgemv", "linear_backward (db)");
    }
  });
}

}  // namespace munet
