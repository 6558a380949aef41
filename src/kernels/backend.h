// The compute backend interface: every op a µ2Net ViT needs for training, forward and backward.
// Layers (nn/) and the optimizer (optim/) call only these, so the CPU reference backend
// (kernels/cpu) and a device backend are interchangeable. All tensors passed to a backend live on
// its device. Matrices are row-major; a token sequence batch is [batch * tokens, hidden].
// Gradient outputs named d* with "accumulate" semantics are added to (+=), others overwritten.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace munet {

class ThreadPool;

struct LossStats {
  double loss_sum = 0.0;  // sum over the batch of per-example cross-entropy
  int64_t correct = 0;    // examples whose arg-max logit equals the label
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual DeviceType device() const = 0;
  virtual std::string describe() const = 0;
  // Its tensors are host memory and its ops run on host threads (the CPU backend): a host batch
  // is already its input (no staging copy), and preparing data shares those threads (batches
  // are made in turn, not a step ahead). A device backend: neither.
  virtual bool host_memory() const { return false; }
  // The thread pool its ops run on, which host work (preparing data) then uses too; null for a
  // backend without one (a device backend: data preparation gets threads of its own).
  virtual ThreadPool* thread_pool() { return nullptr; }

  // Memory.
  virtual Tensor empty(const Shape& shape, DType dtype) = 0;  // contents unspecified
  virtual void zero(Tensor& t) = 0;
  virtual void copy(const Tensor& src, Tensor& dst) = 0;  // same shape; either side may be host
  virtual void synchronize() {}

  // y[M,N] = x[M,K] w[K,N] (+ b[N]).
  virtual void linear_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y) = 0;
  // dx = dy w^T (overwrite, if dx); dw += x^T dy (if dw); db += column sums of dy (if db).
  virtual void linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx,
                               Tensor* dw, Tensor* db) = 0;

  // Per-row LayerNorm over the last dimension. mean, rstd: [M].
  virtual void layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 double eps, Tensor& y, Tensor& mean, Tensor& rstd) = 0;
  // dx overwritten or accumulated (accumulate_dx); dgamma, dbeta accumulated (if given).
  virtual void layernorm_backward(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                  const Tensor& rstd, const Tensor& dy, Tensor* dx,
                                  bool accumulate_dx, Tensor* dgamma, Tensor* dbeta) = 0;

  // GELU, tanh approximation (as jax.nn.gelu): y = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
  virtual void gelu_forward(const Tensor& x, Tensor& y) = 0;
  virtual void gelu_backward(const Tensor& x, const Tensor& dy, Tensor& dx) = 0;
  // The first half of an MLP: h = x w + b, g = gelu(h) (h is kept for backward). A device
  // backend fuses the bias and the GELU into one pass over h.
  virtual void linear_gelu_forward(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& h, Tensor& g) {
    linear_forward(x, w, &b, h);
    gelu_forward(h, g);
  }

  // Multi-head self-attention core. qkv: [B*T, 3*D] laid out [q | k | v], each head h using
  // columns h*D/H .. (h+1)*D/H of its part. out: [B*T, D]; probs: [B, H, T, T] (saved for backward).
  virtual void attention_forward(const Tensor& qkv, int batch, int heads, Tensor& out,
                                 Tensor& probs) = 0;
  virtual void attention_backward(const Tensor& qkv, const Tensor& probs, const Tensor& dout,
                                  int batch, int heads, Tensor& dqkv) = 0;

  // images [B, S, S, C] -> patches [B * (S/p)^2, p*p*C], each patch in (row, column, channel) order.
  virtual void patchify(const Tensor& images, int patch, Tensor& patches) = 0;
  // tokens[b*T + 0] = cls + pos[0]; tokens[b*T + 1 + i] = emb[b*(T-1) + i] + pos[1 + i].
  virtual void tokens_forward(const Tensor& emb, const Tensor& cls, const Tensor& pos, int batch,
                              Tensor& tokens) = 0;
  // demb overwritten; dcls, dpos accumulated; each optional.
  virtual void tokens_backward(const Tensor& dtokens, int batch, Tensor* demb, Tensor* dcls,
                               Tensor* dpos) = 0;
  // out[b] = x[b*T] (the class token of each sequence); backward writes dx (zero elsewhere).
  virtual void class_token_gather(const Tensor& x, int batch, Tensor& out) = 0;
  virtual void class_token_scatter(const Tensor& dout, int batch, Tensor& dx) = 0;

  // out = a + b (out may be a or b).
  virtual void add(const Tensor& a, const Tensor& b, Tensor& out) = 0;

  // Softmax cross-entropy of logits [B, C] against labels [B] (int32). If dlogits is given it is
  // set to (softmax - onehot) * grad_scale. Returns the loss sum and the number correct.
  virtual LossStats softmax_cross_entropy(const Tensor& logits, const Tensor& labels,
                                          Tensor* dlogits, double grad_scale) = 0;

  // Sum of squares of all elements, accumulated in double in a fixed order.
  virtual double sum_squares(const Tensor& x) = 0;
  // sum_squares of each tensor (a device backend waits for the device once, not once per tensor).
  virtual std::vector<double> sum_squares_each(const std::vector<const Tensor*>& xs) {
    std::vector<double> out;
    for (const Tensor* x : xs) out.push_back(sum_squares(*x));
    return out;
  }
  // SGD with momentum (optax.sgd semantics) on a gradient scaled by grad_scale:
  //   g = grad * grad_scale; v = momentum * v + g; p -= lr * (nesterov ? g + momentum * v : v).
  virtual void sgd_update(Tensor& param, const Tensor& grad, Tensor& velocity, double lr,
                          double momentum, bool nesterov, double grad_scale) = 0;
};

// The CPU reference backend with `threads` threads (<= 0: all hardware threads).
std::unique_ptr<Backend> make_cpu_backend(int threads);

}  // namespace munet
