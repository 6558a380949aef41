// Multi-head self-attention core (softmax(QK^T/sqrt(d)) V) on the CPU. Threads own whole
// (sequence, head) pairs, which write disjoint columns, so there is no shared accumulation.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/fast_math.h"

namespace munet {
namespace {

struct AttentionDims {
  int64_t B, T, D, H, dh, row;  // row = 3 * D, the stride of qkv
};

AttentionDims attention_dims(const Tensor& qkv, int batch, int heads, const char* op) {
  MUNET_CHECK(qkv.rank() == 2 && batch > 0 && qkv.dim(0) % batch == 0 && qkv.dim(1) % 3 == 0, op,
              ": qkv ", shape_str(qkv.shape()), " is not [batch*tokens, 3*hidden] for batch ", batch);
  AttentionDims d;
  d.B = batch;
  d.T = qkv.dim(0) / batch;
  d.D = qkv.dim(1) / 3;
  d.H = heads;
  MUNET_CHECK(heads > 0 && d.D % heads == 0, op, ": hidden ", d.D, " is not divisible by ", heads,
              " heads");
  d.dh = d.D / heads;
  d.row = 3 * d.D;
  return d;
}

}  // namespace

void CpuBackend::attention_forward(const Tensor& qkv, int batch, int heads, Tensor& out,
                                   Tensor& probs) {
  dispatch_real(qkv.dtype(), "attention_forward", [&](auto tag) {
    using T = decltype(tag);
    const AttentionDims d = attention_dims(qkv, batch, heads, "attention_forward");
    expect_tensor(out, qkv.dtype(), {d.B * d.T, d.D}, "attention_forward", "out");
    expect_tensor(probs, qkv.dtype(), {d.B, d.H, d.T, d.T}, "attention_forward", "probs");
    const T* pqkv = qkv.data<T>();
    T* po = out.data<T>();
    T* pp = probs.data<T>();
    const T scale = T(1) / std::sqrt(T(d.dh));
    pool_.parallel_for(0, d.B * d.H, 4, [&](int64_t lo, int64_t hi) {
      for (int64_t bh = lo; bh < hi; ++bh) {
        const int64_t b = bh / d.H, h = bh % d.H;
        const T* base = pqkv + b * d.T * d.row + h * d.dh;
        T* P = pp + bh * d.T * d.T;
        for (int64_t i = 0; i < d.T; ++i) {
          const T* q = base + i * d.row;
          T* Pi = P + i * d.T;
          T mx = -INFINITY;
          for (int64_t j = 0; j < d.T; ++j) {
            const T* k = base + j * d.row + d.D;
            T s = 0;
#pragma omp simd reduction(+ : s)
            for (int64_t c = 0; c < d.dh; ++c) s += q[c] * k[c];
            Pi[j] = s * scale;
            mx = std::max(mx, Pi[j]);
          }
          T sum = 0;
          for (int64_t j = 0; j < d.T; ++j) {
            Pi[j] = cpu::fast_exp(Pi[j] - mx);
            sum += Pi[j];
          }
          const T inv = T(1) / sum;
          for (int64_t j = 0; j < d.T; ++j) Pi[j] *= inv;
          T* o = po + (b * d.T + i) * d.D + h * d.dh;
          std::fill(o, o + d.dh, T(0));
          for (int64_t j = 0; j < d.T; ++j) {
            const T* v = base + j * d.row + 2 * d.D;
            const T pij = Pi[j];
#pragma omp simd
            for (int64_t c = 0; c < d.dh; ++c) o[c] += pij * v[c];
          }
        }
      }
    });
  });
}

void CpuBackend::attention_backward(const Tensor& qkv, const Tensor& probs, const Tensor& dout,
                                    int batch, int heads, Tensor& dqkv) {
  dispatch_real(qkv.dtype(), "attention_backward", [&](auto tag) {
    using T = decltype(tag);
    const AttentionDims d = attention_dims(qkv, batch, heads, "attention_backward");
    expect_tensor(probs, qkv.dtype(), {d.B, d.H, d.T, d.T}, "attention_backward", "probs");
    expect_tensor(dout, qkv.dtype(), {d.B * d.T, d.D}, "attention_backward", "dout");
    expect_tensor(dqkv, qkv.dtype(), qkv.shape(), "attention_backward", "dqkv");
    const T* pqkv = qkv.data<T>();
    const T* pp = probs.data<T>();
    const T* pdo = dout.data<T>();
    T* pd = dqkv.data<T>();
    const T scale = T(1) / std::sqrt(T(d.dh));
    pool_.parallel_for(0, d.B * d.H, 4, [&](int64_t lo, int64_t hi) {
      std::vector<T> dS(d.T * d.T);
      for (int64_t bh = lo; bh < hi; ++bh) {
        const int64_t b = bh / d.H, h = bh % d.H;
        const T* base = pqkv + b * d.T * d.row + h * d.dh;
        T* dbase = pd + b * d.T * d.row + h * d.dh;
        const T* P = pp + bh * d.T * d.T;
        for (int64_t j = 0; j < d.T; ++j) {
          std::fill(dbase + j * d.row, dbase + j * d.row + d.dh, T(0));
          std::fill(dbase + j * d.row + d.D, dbase + j * d.row + d.D + d.dh, T(0));
          std::fill(dbase + j * d.row + 2 * d.D, dbase + j * d.row + 2 * d.D + d.dh, T(0));
        }
        for (int64_t i = 0; i < d.T; ++i) {
          const T* dO = pdo + (b * d.T + i) * d.D + h * d.dh;
          const T* Pi = P + i * d.T;
          T* dSi = dS.data() + i * d.T;
          T dot = 0;
          for (int64_t j = 0; j < d.T; ++j) {
            const T* v = base + j * d.row + 2 * d.D;
            T* dv = dbase + j * d.row + 2 * d.D;
            T dp = 0;
#pragma omp simd reduction(+ : dp)
            for (int64_t c = 0; c < d.dh; ++c) dp += dO[c] * v[c];
            const T pij = Pi[j];
#pragma omp simd
            for (int64_t c = 0; c < d.dh; ++c) dv[c] += pij * dO[c];
            dSi[j] = dp;
            dot += pij * dp;
          }
          for (int64_t j = 0; j < d.T; ++j) dSi[j] = Pi[j] * (dSi[j] - dot) * scale;
        }
        for (int64_t i = 0; i < d.T; ++i) {
          const T* q = base + i * d.row;
          T* dq = dbase + i * d.row;
          const T* dSi = dS.data() + i * d.T;
          for (int64_t j = 0; j < d.T; ++j) {
            const T* k = base + j * d.row + d.D;
            T* dk = dbase + j * d.row + d.D;
            const T s = dSi[j];
#pragma omp simd
            for (int64_t c = 0; c < d.dh; ++c) {
              dq[c] += s * k[c];
              dk[c] += s * q[c];
            }
          }
        }
      }
    });
  });
}

}  // namespace munet
