// CudaBackend: device selection, memory (stream-ordered allocations), copies between host and
// device, scratch buffers, the cuBLAS GEMM wrapper, and the element-wise ops: add, the
// fixed-order sum of squares, and the fused SGD-with-momentum update.
#include "kernels/cuda/cuda_backend.h"

#include <cuda_bf16.h>

#include <cstdlib>
#include <limits>
#include <string>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/reduce.cuh"

namespace munet {

using cuda::check;
using cuda::check_launch;

CudaStream::CudaStream(int dev) : device(dev) {
  check(cudaSetDevice(dev), "cudaSetDevice", "creating a stream");
  check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate", "creating a stream");
}

CudaStream::~CudaStream() {
  cudaSetDevice(device);
  cudaStreamSynchronize(stream);
  cudaStreamDestroy(stream);
}

CudaBackend::CudaBackend(CudaOptions options) : options_(options) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    fail("--device cuda: no usable GPU: ", cudaGetErrorString(e),
         " (is there an NVIDIA GPU and driver? run on the CPU with --device cpu)");
  }
  MUNET_CHECK(count > 0, "--device cuda: the CUDA runtime sees no GPU (run on the CPU with --device cpu)");
  MUNET_CHECK(options.device >= 0 && options.device < count, "--device cuda:", options.device,
              ": no such GPU; this process sees ", count, " (cuda:0 .. cuda:", count - 1, ")");
  stream_ = std::make_shared<CudaStream>(options.device);
  // Freed memory stays in the device's pool for reuse instead of going back to the driver, where
  // the device has memory pools; elsewhere every allocation is a plain cudaMalloc.
  int pools = 0;
  check(cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, options.device),
        "cudaDeviceGetAttribute(cudaDevAttrMemoryPoolsSupported)", "backend");
  // MUNET_CUDA_MALLOC=plain forces the plain path, so that it is tested on GPUs that have pools.
  const char* forced = std::getenv("MUNET_CUDA_MALLOC");
  pooled_ = pools != 0 && !(forced && std::string(forced) == "plain");
  if (pooled_) {
    cudaMemPool_t pool;
    check(cudaDeviceGetDefaultMemPool(&pool, options.device), "cudaDeviceGetDefaultMemPool", "backend");
    uint64_t keep = std::numeric_limits<uint64_t>::max();
    check(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep), "cudaMemPoolSetAttribute",
          "backend");
  }
  // A workspace of its own per handle keeps cuBLAS results reproducible with concurrent streams.
  constexpr size_t kWorkspace = size_t(32) << 20;
  blas_workspace_ = empty({int64_t(kWorkspace / 4)}, DType::F32);
  check(cublasCreate(&blas_), "cublasCreate", "backend");
  try {
    check(cublasSetStream(blas_, stream()), "cublasSetStream", "backend");
    check(cublasSetWorkspace(blas_, blas_workspace_.raw(), kWorkspace), "cublasSetWorkspace", "backend");
  } catch (...) {
    cublasDestroy(blas_);
    throw;
  }
}

CudaBackend::~CudaBackend() {
  // No throwing here: this often runs while an exception from this very device unwinds.
  cudaSetDevice(options_.device);
  cudaStreamSynchronize(stream());
  if (blas_) cublasDestroy(blas_);
}

std::string CudaBackend::describe() const {
  cudaDeviceProp p{};
  cudaGetDeviceProperties(&p, options_.device);
  return cat("cuda:", options_.device, " (", p.name, ", ", p.totalGlobalMem >> 20, " MiB, sm_", p.major,
             p.minor, ", GEMMs in ", precision_name(options_.precision),
             pooled_ ? ", stream-ordered allocations)" : ", plain cudaMalloc)");
}

void CudaBackend::bind() const { check(cudaSetDevice(options_.device), "cudaSetDevice", "bind"); }

Tensor CudaBackend::empty(const Shape& shape, DType dtype) {
  bind();
  const size_t bytes = std::max<size_t>(1, size_t(shape_numel(shape)) * dtype_size(dtype));
  auto buffer = std::make_shared<Buffer>();
  const cudaError_t e = pooled_ ? cudaMallocAsync(&buffer->ptr, bytes, stream()) : cudaMalloc(&buffer->ptr, bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();
    size_t free_bytes = 0, total = 0;
    cudaMemGetInfo(&free_bytes, &total);
    fail("cuda:", options_.device, ": cannot allocate ", shape_str(shape), " ", dtype_name(dtype), " (",
         bytes >> 20, " MiB; ", free_bytes >> 20, " of ", total >> 20, " MiB free): ", cudaGetErrorString(e));
  }
  buffer->bytes = bytes;
  buffer->device = DeviceType::CUDA;
  // The stream stays alive while any of its buffers does.
  if (pooled_) {
    buffer->release = [s = stream_](void* p) { cudaFreeAsync(p, s->stream); };
  } else {  // cudaFree waits for the device, so work queued on the stream that reads p ends first
    buffer->release = [s = stream_](void* p) {
      cudaSetDevice(s->device);
      cudaFree(p);
    };
  }
  return Tensor(std::move(buffer), 0, shape, dtype);
}

void CudaBackend::zero(Tensor& t) {
  MUNET_CHECK(t.defined() && t.device() == DeviceType::CUDA, "zero: tensor is not in GPU memory");
  bind();
  check(cudaMemsetAsync(t.raw(), 0, t.bytes(), stream()), "cudaMemsetAsync", "zero");
}

void CudaBackend::copy(const Tensor& src, Tensor& dst) {
  MUNET_CHECK(src.shape() == dst.shape() && src.dtype() == dst.dtype(), "copy: source ",
              shape_str(src.shape()), " ", dtype_name(src.dtype()), " does not match destination ",
              shape_str(dst.shape()), " ", dtype_name(dst.dtype()));
  bind();
  if (src.bytes() == 0) return;
  const char* s = static_cast<const char*>(src.raw());
  const char* d = static_cast<const char*>(dst.raw());
  if (src.device() == DeviceType::CUDA && dst.device() == DeviceType::CUDA && s < d + dst.bytes() &&
      d < s + src.bytes() && s != d) {  // overlapping views (cudaMemcpy may not overlap): through a temporary
    Tensor staged = empty(src.shape(), src.dtype());
    copy(src, staged);
    copy(staged, dst);
    return;
  }
  check(cudaMemcpyAsync(dst.raw(), src.raw(), src.bytes(), cudaMemcpyDefault, stream()), "cudaMemcpyAsync", "copy");
  // The caller may read (device to host) or reuse (host to device: from pageable memory the copy
  // is not guaranteed to have been staged on return) the host side as soon as copy returns.
  if (src.device() == DeviceType::CPU || dst.device() == DeviceType::CPU) synchronize();
}

void CudaBackend::synchronize() {
  bind();
  check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize", "synchronize");
}

void* CudaBackend::scratch(ScratchSlot slot, size_t bytes) {
  Tensor& s = scratch_[slot];
  if (!s.defined() || s.bytes() < bytes) {
    // Grow by half again, so a slowly growing need does not reallocate every time.
    const int64_t words = int64_t((std::max(bytes, s.defined() ? s.bytes() * 3 / 2 : 0) + 7) / 8);
    s = empty({words}, DType::F64);
  }
  return s.raw();
}

namespace {

template <class T>
__global__ void fill_kernel(T* p, int64_t n, T v) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) p[i] = v;
}

__global__ void to_bf16_kernel(const float* x, __nv_bfloat16* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = __float2bfloat16(x[i]);
}

template <class T>
__global__ void add_kernel(const T* a, const T* b, T* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = a[i] + b[i];
}

// Fixed grid: block k sums elements k*256+t, k*256+t+stride, ... in double; then one block sums
// the partials. The order depends on n alone.
constexpr int kSumBlocks = 512, kSumThreads = 256;

template <class T>
__global__ void sum_squares_partial(const T* x, int64_t n, double* partial) {
  __shared__ double shared[32];
  double s = 0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    s += double(x[i]) * double(x[i]);
  s = cuda::block_sum(s, shared);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

__global__ void sum_partials(const double* partial, int n, double* out) {
  __shared__ double shared[32];
  double s = 0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) s += partial[i];
  s = cuda::block_sum(s, shared);
  if (threadIdx.x == 0) *out = s;
}

template <class T>
__global__ void sgd_kernel(T* p, const T* g, T* v, int64_t n, T lr, T mom, T scale, bool nesterov) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const T gi = g[i] * scale;
    const T vi = mom * v[i] + gi;
    v[i] = vi;
    p[i] -= lr * (nesterov ? gi + mom * vi : vi);
  }
}

}  // namespace

template <class T>
const T* CudaBackend::ones(int64_t n) {
  const bool f32 = std::is_same<T, float>::value;
  const ScratchSlot slot = f32 ? kOnesF32 : kOnesF64;
  int64_t& have = ones_count_[f32 ? 0 : 1];
  n = std::max<int64_t>(n, 1);
  if (have < n) {  // (re)fill all n: the slot may have been reallocated
    T* p = static_cast<T*>(scratch(slot, size_t(n) * sizeof(T)));
    fill_kernel<<<blocks_for(n, 256), 256, 0, stream()>>>(p, n, T(1));
    check_launch("ones");
    have = n;
  }
  return static_cast<const T*>(scratch_[slot].raw());
}
template const float* CudaBackend::ones<float>(int64_t);
template const double* CudaBackend::ones<double>(int64_t);

template <class T>
void CudaBackend::gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                       int64_t lda, int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b, T beta, T* C,
                       int64_t ldc, int64_t stride_c, int64_t batch, bool allow_bf16, const char* op) {
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  MUNET_CHECK(M <= kMax && N <= kMax && K <= kMax && lda <= kMax && ldb <= kMax && ldc <= kMax && batch <= kMax,
              op, ": GEMM of ", M, "x", N, "x", K, " is too large for cuBLAS's 32-bit sizes");
  if (M == 0 || N == 0 || batch == 0) return;
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
  const cublasOperation_t oa = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, ob = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  if constexpr (std::is_same<T, double>::value) {
    check(cublasDgemmStridedBatched(blas_, ob, oa, int(N), int(M), int(K), &alpha, B, int(ldb), stride_b, A,
                                    int(lda), stride_a, &beta, C, int(ldc), stride_c, int(batch)),
          "cublasDgemmStridedBatched", op);
  } else if (options_.precision == GemmPrecision::BF16 && allow_bf16) {
    const int64_t na = (trans_a ? K : M) * lda, nb = (trans_b ? N : K) * ldb;
    MUNET_CHECK(batch == 1 && lda == (trans_a ? M : K) && ldb == (trans_b ? K : N), op,
                ": bf16 GEMMs take one pair of contiguous matrices");
    auto* a16 = static_cast<__nv_bfloat16*>(scratch(kOperandA, size_t(na) * 2));
    auto* b16 = static_cast<__nv_bfloat16*>(scratch(kOperandB, size_t(nb) * 2));
    to_bf16_kernel<<<blocks_for(na, 256), 256, 0, stream()>>>(A, a16, na);
    to_bf16_kernel<<<blocks_for(nb, 256), 256, 0, stream()>>>(B, b16, nb);
    check_launch(op);
    check(cublasGemmEx(blas_, ob, oa, int(N), int(M), int(K), &alpha, b16, CUDA_R_16BF, int(ldb), a16, CUDA_R_16BF,
                       int(lda), &beta, C, CUDA_R_32F, int(ldc), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
          "cublasGemmEx (bf16)", op);
  } else {
    const cublasComputeType_t compute =
        options_.precision == GemmPrecision::FP32 ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32F_FAST_TF32;
    check(cublasGemmStridedBatchedEx(blas_, ob, oa, int(N), int(M), int(K), &alpha, B, CUDA_R_32F, int(ldb),
                                     stride_b, A, CUDA_R_32F, int(lda), stride_a, &beta, C, CUDA_R_32F, int(ldc),
                                     stride_c, int(batch), compute, CUBLAS_GEMM_DEFAULT),
          "cublasGemmStridedBatchedEx", op);
  }
}
template void CudaBackend::gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t,
                                       const float*, int64_t, int64_t, float, float*, int64_t, int64_t, int64_t,
                                       bool, const char*);
template void CudaBackend::gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                                        int64_t, const double*, int64_t, int64_t, double, double*, int64_t,
                                        int64_t, int64_t, bool, const char*);

void CudaBackend::add(const Tensor& a, const Tensor& b, Tensor& out) {
  bind();
  dispatch_real(a.dtype(), "add", [&](auto tag) {
    using T = decltype(tag);
    expect_device_tensor(a, a.dtype(), a.shape(), "add", "a");
    expect_device_tensor(b, a.dtype(), a.shape(), "add", "b");
    expect_device_tensor(out, a.dtype(), a.shape(), "add", "out");
    const int64_t n = a.numel();
    add_kernel<<<blocks_for(n, 256), 256, 0, stream()>>>(a.data<T>(), b.data<T>(), out.data<T>(), n);
    check_launch("add");
  });
}

double CudaBackend::sum_squares(const Tensor& x) { return sum_squares_each({&x})[0]; }

std::vector<double> CudaBackend::sum_squares_each(const std::vector<const Tensor*>& xs) {
  bind();
  const size_t n = xs.size();
  std::vector<double> out(n, 0.0);
  if (n == 0) return out;
  // Per tensor: kSumBlocks partials, then its total at the end of the buffer; one copy back.
  auto* partial = static_cast<double*>(scratch(kPartials, (n * kSumBlocks + n) * sizeof(double)));
  double* totals = partial + n * kSumBlocks;
  for (size_t i = 0; i < n; ++i) {
    const Tensor& x = *xs[i];
    dispatch_real(x.dtype(), "sum_squares", [&](auto tag) {
      using T = decltype(tag);
      expect_device_tensor(x, x.dtype(), x.shape(), "sum_squares", "x");
      sum_squares_partial<<<kSumBlocks, kSumThreads, 0, stream()>>>(x.data<T>(), x.numel(), partial + i * kSumBlocks);
      sum_partials<<<1, 1024, 0, stream()>>>(partial + i * kSumBlocks, kSumBlocks, totals + i);
    });
  }
  check_launch("sum_squares");
  check(cudaMemcpyAsync(out.data(), totals, n * sizeof(double), cudaMemcpyDeviceToHost, stream()),
        "cudaMemcpyAsync", "sum_squares");
  synchronize();
  return out;
}

void CudaBackend::sgd_update(Tensor& param, const Tensor& grad, Tensor& velocity, double lr, double momentum,
                             bool nesterov, double grad_scale) {
  bind();
  dispatch_real(param.dtype(), "sgd_update", [&](auto tag) {
    using T = decltype(tag);
    expect_device_tensor(param, param.dtype(), param.shape(), "sgd_update", "param");
    expect_device_tensor(grad, param.dtype(), param.shape(), "sgd_update", "grad");
    expect_device_tensor(velocity, param.dtype(), param.shape(), "sgd_update", "velocity");
    const int64_t n = param.numel();
    sgd_kernel<<<blocks_for(n, 256), 256, 0, stream()>>>(param.data<T>(), grad.data<T>(), velocity.data<T>(), n,
                                                         T(lr), T(momentum), T(grad_scale), nesterov);
    check_launch("sgd_update");
  });
}

}  // namespace munet
