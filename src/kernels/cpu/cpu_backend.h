// The CPU reference backend: every op in float32 (training) and float64 (gradient checks),
// GEMMs through single-threaded OpenBLAS calls on row slabs spread over munet's own thread pool
// (one pool for everything, so BLAS threads never compete with ours).
#pragma once
#include "kernels/backend.h"
#include "kernels/op_checks.h"
#include "util/thread_pool.h"

namespace munet {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads);

  DeviceType device() const override { return DeviceType::CPU; }
  std::string describe() const override;
  bool host_memory() const override { return true; }
  ThreadPool* thread_pool() override { return &pool_; }
  ThreadPool& pool() { return pool_; }

  Tensor empty(const Shape& shape, DType dtype) override;
  void zero(Tensor& t) override;
  void copy(const Tensor& src, Tensor& dst) override;

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
  void sgd_update(Tensor& param, const Tensor& grad, Tensor& velocity, double lr, double momentum,
                  bool nesterov, double grad_scale) override;

 private:
  ThreadPool pool_;
};

// Checks that t is a defined host tensor of dtype `dt` and shape `shape`.
inline void expect_tensor(const Tensor& t, DType dt, const Shape& shape, const char* op, const char* name) {
  expect_operand(t, DeviceType::CPU, dt, shape, op, name);
}

}  // namespace munet
