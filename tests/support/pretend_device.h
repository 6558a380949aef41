// A CPU backend that says it is a GPU: it forwards every op to a CpuBackend but reports
// DeviceType::CUDA, so code paths taken only for device backends (batches prepared a step ahead,
// host <-> device copies) run, and can be checked bit for bit against the CPU path, on machines
// without a GPU.
#pragma once
#include "kernels/cpu/cpu_backend.h"

namespace munet::test {

class PretendDevice final : public Backend {
 public:
  explicit PretendDevice(int threads) : cpu_(threads) {}
  DeviceType device() const override { return DeviceType::CUDA; }
  std::string describe() const override { return "pretend device (" + cpu_.describe() + ")"; }
  Tensor empty(const Shape& s, DType d) override { return cpu_.empty(s, d); }
  void zero(Tensor& t) override { cpu_.zero(t); }
  void copy(const Tensor& src, Tensor& dst) override { cpu_.copy(src, dst); }
  void linear_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y) override {
    cpu_.linear_forward(x, w, b, y);
  }
  void linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw,
                       Tensor* db) override {
    cpu_.linear_backward(x, w, dy, dx, dw, db);
  }
  void layernorm_forward(const Tensor& x, const Tensor& g, const Tensor& b, double eps, Tensor& y, Tensor& mean,
                         Tensor& rstd) override {
    cpu_.layernorm_forward(x, g, b, eps, y, mean, rstd);
  }
  void layernorm_backward(const Tensor& x, const Tensor& g, const Tensor& mean, const Tensor& rstd, const Tensor& dy,
                          Tensor* dx, bool acc, Tensor* dg, Tensor* db) override {
    cpu_.layernorm_backward(x, g, mean, rstd, dy, dx, acc, dg, db);
  }
  void gelu_forward(const Tensor& x, Tensor& y) override { cpu_.gelu_forward(x, y); }
  void gelu_backward(const Tensor& x, const Tensor& dy, Tensor& dx) override { cpu_.gelu_backward(x, dy, dx); }
  void attention_forward(const Tensor& qkv, int batch, int heads, Tensor& out, Tensor& probs) override {
    cpu_.attention_forward(qkv, batch, heads, out, probs);
  }
  void attention_backward(const Tensor& qkv, const Tensor& probs, const Tensor& dout, int batch, int heads,
                          Tensor& dqkv) override {
    cpu_.attention_backward(qkv, probs, dout, batch, heads, dqkv);
  }
  void patchify(const Tensor& images, int patch, Tensor& patches) override { cpu_.patchify(images, patch, patches); }
  void tokens_forward(const Tensor& emb, const Tensor& cls, const Tensor& pos, int batch, Tensor& tokens) override {
    cpu_.tokens_forward(emb, cls, pos, batch, tokens);
  }
  void tokens_backward(const Tensor& dt, int batch, Tensor* demb, Tensor* dcls, Tensor* dpos) override {
    cpu_.tokens_backward(dt, batch, demb, dcls, dpos);
  }
  void class_token_gather(const Tensor& x, int batch, Tensor& out) override { cpu_.class_token_gather(x, batch, out); }
  void class_token_scatter(const Tensor& dout, int batch, Tensor& dx) override {
    cpu_.class_token_scatter(dout, batch, dx);
  }
  void add(const Tensor& a, const Tensor& b, Tensor& out) override { cpu_.add(a, b, out); }
  LossStats softmax_cross_entropy(const Tensor& logits, const Tensor& labels, Tensor* dlogits,
                                  double scale) override {
    return cpu_.softmax_cross_entropy(logits, labels, dlogits, scale);
  }
  double sum_squares(const Tensor& x) override { return cpu_.sum_squares(x); }
  void sgd_update(Tensor& p, const Tensor& g, Tensor& v, double lr, double mom, bool nesterov,
                  double scale) override {
    cpu_.sgd_update(p, g, v, lr, mom, nesterov, scale);
  }

 private:
  CpuBackend cpu_;
};

}  // namespace munet::test
