// The CUDA backend: every Backend op on one GPU, in one CUDA stream with its own cuBLAS handle,
// so several backends on one device (one per child trained concurrently) overlap on the GPU.
// GEMMs go through cuBLAS in the chosen precision (fp32, tf32, or bf16 operands with fp32
// accumulation and fp32 master weights); the other ops are fused kernels in kernels/cuda/*.cu.
// Every reduction has a fixed order (no atomics), so results are bit-identical run to run.
// float64 is supported in full for gradient checks and tight comparisons with the CPU reference.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <memory>
#include <string>

#include "kernels/backend.h"
#include "kernels/op_checks.h"
#include "kernels/precision.h"

namespace munet {


struct CudaOptions {
  int device = 0;
  GemmPrecision precision = GemmPrecision::TF32;
};

// A CUDA stream that lives until the last buffer allocated on it is freed.
struct CudaStream {
  cudaStream_t stream = nullptr;
  int device = 0;
  explicit CudaStream(int device);
  ~CudaStream();
};

class CudaBackend final : public Backend {
 public:
  // Throws munet::Error when the device does not exist or cannot be used.
  explicit CudaBackend(CudaOptions options);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  DeviceType device() const override { return DeviceType::CUDA; }
  std::string describe() const override;
  const CudaOptions& options() const { return options_; }
  cudaStream_t stream() const { return stream_->stream; }
  // Makes this backend's device current in the calling thread (ops do it themselves).
  void bind() const;

  Tensor empty(const Shape& shape, DType dtype) override;
  void zero(Tensor& t) override;
  void copy(const Tensor& src, Tensor& dst) override;
  void synchronize() override;

  void linear_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y) override;
  void linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw,
                       Tensor* db) override;
  void layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                         Tensor& y, Tensor& mean, Tensor& rstd) override;
  void layernorm_backward(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                          const Tensor& rstd, const Tensor& dy, Tensor* dx, bool accumulate_dx,
                          Tensor* dgamma, Tensor* dbeta) override;
  void gelu_forward(const Tensor& x, Tensor& y) override;
  void gelu_backward(const Tensor& x, const Tensor& dy, Tensor& dx) override;
  void linear_gelu_forward(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& h, Tensor& g) override;
  void attention_forward(const Tensor& qkv, int batch, int heads, Tensor& out,
                         Tensor& probs) override;
  void attention_backward(const Tensor& qkv, const Tensor& probs, const Tensor& dout, int batch,
                          int heads, Tensor& dqkv) override;
  void patchify(const Tensor& images, int patch, Tensor& patches) override;
  void tokens_forward(const Tensor& emb, const Tensor& cls, const Tensor& pos, int batch,
                      Tensor& tokens) override;
  void tokens_backward(const Tensor& dtokens, int batch, Tensor* demb, Tensor* dcls,
                       Tensor* dpos) override;
  void class_token_gather(const Tensor& x, int batch, Tensor& out) override;
  void class_token_scatter(const Tensor& dout, int batch, Tensor& dx) override;
  void add(const Tensor& a, const Tensor& b, Tensor& out) override;
  LossStats softmax_cross_entropy(const Tensor& logits, const Tensor& labels, Tensor* dlogits,
                                  double grad_scale) override;
  double sum_squares(const Tensor& x) override;
  std::vector<double> sum_squares_each(const std::vector<const Tensor*>& xs) override;
  void sgd_update(Tensor& param, const Tensor& grad, Tensor& velocity, double lr, double momentum,
                  bool nesterov, double grad_scale) override;

  // Row-major batched GEMM: C_i[M,N] = alpha op(A_i) op(B_i) + beta C_i for i < batch, with
  // A_i = A + i * stride_a (likewise B, C), in this backend's precision. bf16 converts A and B
  // (which must then be contiguous, lda/ldb equal to their widths, batch 1) to bf16 first.
  template <class T>
  void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
            int64_t lda, int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b, T beta, T* C,
            int64_t ldc, int64_t stride_c, int64_t batch, bool allow_bf16, const char* op);

  // Device scratch memory of at least `bytes`, one buffer per slot, reused (stream-ordered).
  enum ScratchSlot { kOperandA, kOperandB, kAttentionGrad, kPartials, kOnesF32, kOnesF64, kSlots };
  void* scratch(ScratchSlot slot, size_t bytes);
  // A device vector of `n` ones of type T (for column sums through GEMV).
  template <class T>
  const T* ones(int64_t n);

 private:
  CudaOptions options_;
  std::shared_ptr<CudaStream> stream_;
  cublasHandle_t blas_ = nullptr;
  // Stream-ordered allocations (cudaMallocAsync) where the device supports memory pools; plain
  // cudaMalloc/cudaFree where it does not (some virtualised or older driver set-ups).
  bool pooled_ = true;
  Tensor blas_workspace_;
  Tensor scratch_[kSlots];
  int64_t ones_count_[2] = {0, 0};  // ones held in kOnesF32, kOnesF64
};

// Checks that t is a defined tensor on the GPU with dtype `dt` and shape `shape`.
inline void expect_device_tensor(const Tensor& t, DType dt, const Shape& shape, const char* op, const char* name) {
  expect_operand(t, DeviceType::CUDA, dt, shape, op, name);
}

// Launch geometry: blocks of `threads` covering n items, capped for grid-stride loops.
inline unsigned blocks_for(int64_t n, int threads) {
  const int64_t b = (n + threads - 1) / threads;
  return unsigned(b < 1 ? 1 : (b > 65535 * 8 ? 65535 * 8 : b));
}

}  // namespace munet
