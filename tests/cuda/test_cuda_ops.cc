// Every Backend op on the GPU against the CPU reference, forward and backward (in the manner of
// ggml's test-backend-ops): the same host inputs go to both backends, the CUDA results come back
// and must agree within a tolerance stated per precision. Skips itself without a CUDA device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "cuda/cuda_test_support.h"
#include "kernels/backend.h"
#include "kernels/cuda/cuda_backend.h"

namespace munet {
namespace {

using test::expect_close;
using test::expect_same_bytes;
using test::host_clone;

// One parameter of the suite: a dtype, the GEMM precision of the CUDA backend, and tolerances.
// A result passes when max |cuda - cpu| <= tol * max(1, max |cpu|) over the whole output.
//
//   precision  | GEMM ops (linear*)  | attention | everything else
//   F64        | 1e-10               | 1e-10     | 1e-10
//   F32 fp32   | 1e-4                | 1e-4      | 1e-5
//   F32 tf32   | 5e-3                | 1e-2      | 1e-5
//   F32 bf16   | 3e-2                | 1e-2      | 1e-5
//
// Why these numbers (u = unit roundoff; sums have at most a few thousand terms here):
// - F64: each element is a few ulp (1e-16) from the reference; a sum of n terms taken in another
//   order differs by ~sqrt(n) u relative to its magnitude, ~1e-14. 1e-10 leaves four orders of
//   margin yet catches any float32 rounding anywhere in the path (>= 1e-8).
// - F32, element-wise ops and reductions: a few ulp (u = 6e-8; the CPU's fast exp/tanh are
//   ~2 ulp), sums in another order ~sqrt(n) u ~ 3e-6 at worst: 1e-5.
// - F32 fp32 GEMMs: another summation order (tiles, split-K) over K <= 768 terms gives
//   ~sqrt(K) u ~ 2e-6 of the largest output; 1e-4 leaves margin but fails if TF32 sneaks in
//   (errors of 4e-4 and more on these cases).
// - TF32: operands keep 10 mantissa bits (u = 2^-11 ~ 4.9e-4, twice that if truncated), so an
//   output's error is ~sqrt(K) |a||b| 7e-4: about 1e-3 of the largest output as the worst of
//   thousands of outputs (2e-3 with truncation, measured by emulating it on these cases): 5e-3.
// - BF16: 7 mantissa bits, rounded to nearest (u = 2^-8 ~ 3.9e-3): ~6e-3 measured: 3e-2.
// - Attention chains two GEMMs through the softmax (forward) and three (backward), so its TF32
//   errors add up: ~2e-3 measured with truncated inputs, more with the intermediate P and dS
//   truncated too: 1e-2. Its GEMMs never run in bf16 (they pass allow_bf16 = false and use
//   TF32), so bf16 gets the same bound; its fused kernel (<= 64 tokens) is plain fp32/fp64.
// Copies, patchify, token assembly, class-token gather/scatter and add involve no rounding
// beyond one IEEE addition, so they must match bit for bit; loss sums and sums of squares are
// accumulated in double on both sides and must agree to 1e-12 and 1e-10 relative.
struct OpPrecision {
  const char* name;
  DType dtype;
  GemmPrecision gemm;
  double gemm_tol, attention_tol, other_tol;
};

// F64 runs with the lossiest GEMM setting: double GEMMs must ignore it.
const OpPrecision kPrecisions[] = {
    {"F64", DType::F64, GemmPrecision::BF16, 1e-10, 1e-10, 1e-10},
    {"F32_fp32", DType::F32, GemmPrecision::FP32, 1e-4, 1e-4, 1e-5},
    {"F32_tf32", DType::F32, GemmPrecision::TF32, 5e-3, 1e-2, 1e-5},
    {"F32_bf16", DType::F32, GemmPrecision::BF16, 3e-2, 1e-2, 1e-5},
};
// Names the parameter in gtest's messages (instead of its bytes).
void PrintTo(const OpPrecision& p, std::ostream* os) { *os << p.name; }

constexpr double kLossTol = 1e-12;        // loss sums: per-example terms in double, summed in order
constexpr double kSumSquaresTol = 1e-10;  // double accumulation of up to 1e6 squares, another order

class CudaOps : public ::testing::TestWithParam<OpPrecision> {
 protected:
  void SetUp() override {
    MUNET_REQUIRE_CUDA_DEVICE();
    cuda_ = std::make_unique<CudaBackend>(CudaOptions{0, P().gemm});
    cpu_ = make_cpu_backend(4);
  }

  const OpPrecision& P() const { return GetParam(); }
  DType dt() const { return P().dtype; }
  // A host tensor of this test's dtype with offset + N(0, scale^2) values.
  Tensor rnd(const Shape& s, double scale = 1.0, double offset = 0.0) {
    return test::random_host(s, dt(), rng_, scale, offset);
  }
  Tensor zeros(const Shape& s) { return Tensor::host(s, dt()); }
  Tensor dev(const Tensor& host) { return test::to_device(*cuda_, host); }
  // A device tensor of NaNs: an output the op must overwrite everywhere.
  Tensor dev_nan(const Shape& s) { return dev(test::nan_host(s, dt())); }
  // Compares the CPU result (host) with the CUDA result (device).
  void check(const std::string& what, const Tensor& cpu_result, const Tensor& cuda_result, double tol) {
    expect_close(what, cpu_result, test::to_host(*cuda_, cuda_result), tol);
  }

  std::unique_ptr<CudaBackend> cuda_;
  std::unique_ptr<Backend> cpu_;
  Rng rng_{20240611};
};

// ---- memory ----------------------------------------------------------------------------------

TEST_P(CudaOps, ZeroWholeTensorsAndRowViews) {
  for (const Shape& s : {Shape{1}, Shape{7, 13}, Shape{520, 192}}) {
    SCOPED_TRACE(shape_str(s));
    Tensor d = dev(rnd(s));
    cuda_->zero(d);
    check("zero", zeros(s), d, 0);
  }
  // Rows [2, 5) of a [7, 13] matrix: only they become zero.
  const Tensor h = rnd({7, 13});
  Tensor d = dev(h);
  Tensor dv = d.rows(2, 5);
  cuda_->zero(dv);
  Tensor want = host_clone(h);
  Tensor wv = want.rows(2, 5);
  cpu_->zero(wv);
  check("zero of a row view", want, d, 0);
  // int32 tensors too.
  Tensor labels = Tensor::host({37}, DType::I32);
  for (int i = 0; i < 37; ++i) labels.data<int32_t>()[i] = i * 7 - 3;
  Tensor dl = test::to_device(*cuda_, labels);
  cuda_->zero(dl);
  expect_same_bytes("zero int32", Tensor::host({37}, DType::I32), test::to_host(*cuda_, dl));
}

TEST_P(CudaOps, CopyHostToDeviceToDeviceToHost) {
  for (const Shape& s : {Shape{1}, Shape{3, 5, 7}, Shape{70001}, Shape{8, 65, 192}}) {
    SCOPED_TRACE(shape_str(s));
    const Tensor h = rnd(s);
    Tensor d1 = cuda_->empty(s, dt());
    cuda_->copy(h, d1);  // host -> device
    Tensor d2 = cuda_->empty(s, dt());
    cuda_->copy(d1, d2);  // device -> device
    Tensor back = test::nan_host(s, dt());
    cuda_->copy(d2, back);  // device -> host: readable as soon as copy returns
    expect_same_bytes("host -> device -> device -> host", h, back);
    Tensor h2 = test::nan_host(s, dt());
    cuda_->copy(h, h2);  // host -> host through the CUDA backend
    expect_same_bytes("host -> host", h, h2);
  }
  // Into and out of row views of device matrices.
  const Tensor h = rnd({9, 11}), part = rnd({3, 11});
  Tensor d = dev(h);
  Tensor dv = d.rows(4, 7);
  cuda_->copy(part, dv);
  Tensor want = host_clone(h);
  std::memcpy(want.rows(4, 7).raw(), part.raw(), part.bytes());
  expect_same_bytes("copy into a row view", want, test::to_host(*cuda_, d));
  Tensor out = test::nan_host({3, 11}, dt());
  cuda_->copy(d.rows(4, 7), out);
  expect_same_bytes("copy out of a row view", part, out);
  Tensor dd = cuda_->empty({3, 11}, dt());
  cuda_->copy(d.rows(1, 4), dd);
  expect_same_bytes("device view -> device", h.rows(1, 4), test::to_host(*cuda_, dd));
  // Overlapping views of one device buffer, both directions: as memmove (the CPU backend's copy).
  for (bool up : {false, true}) {
    SCOPED_TRACE(up ? "overlapping views, copied up" : "overlapping views, copied down");
    const Tensor o = rnd({10, 7});
    Tensor want_o = host_clone(o);
    Tensor want_dst = want_o.rows(up ? 0 : 2, up ? 6 : 8);
    cpu_->copy(want_o.rows(up ? 2 : 0, up ? 8 : 6), want_dst);
    Tensor od = dev(o);
    Tensor od_dst = od.rows(up ? 0 : 2, up ? 6 : 8);
    cuda_->copy(od.rows(up ? 2 : 0, up ? 8 : 6), od_dst);
    expect_same_bytes("copy between overlapping views", want_o, test::to_host(*cuda_, od));
  }
  // int32 and empty tensors.
  Tensor labels = Tensor::host({1000}, DType::I32);
  for (int i = 0; i < 1000; ++i) labels.data<int32_t>()[i] = (i * 7919) % 1013 - 500;
  expect_same_bytes("int32", labels, test::to_host(*cuda_, test::to_device(*cuda_, labels)));
  const Tensor empty_host = Tensor::host({0, 5}, dt());
  Tensor empty_dev = cuda_->empty({0, 5}, dt());
  cuda_->copy(empty_host, empty_dev);
  Tensor empty_back = Tensor::host({0, 5}, dt());
  cuda_->copy(empty_dev, empty_back);
  EXPECT_THROW(cuda_->copy(h, dd), Error);  // shapes differ
}

// ---- linear ----------------------------------------------------------------------------------

struct LinearCase {
  int64_t M, K, N;
};
// Small and odd sizes (no multiples of 32), then the char benchmark's ViT-Ti at 65 tokens and
// batch 8 (520 rows): the qkv projection and the MLP's down projection.
const LinearCase kLinearCases[] = {{1, 1, 1}, {7, 5, 3}, {33, 17, 65}, {97, 45, 31}, {520, 192, 576}, {520, 768, 192}};

std::string linear_name(const LinearCase& c) { return cat("M=", c.M, " K=", c.K, " N=", c.N); }

TEST_P(CudaOps, LinearForwardWithAndWithoutBias) {
  for (const LinearCase& c : kLinearCases)
    for (bool bias : {false, true}) {
      SCOPED_TRACE(cat(linear_name(c), bias ? ", bias" : ", no bias"));
      const Tensor x = rnd({c.M, c.K}), w = rnd({c.K, c.N}, 1 / std::sqrt(double(c.K))), b = rnd({c.N});
      Tensor y = zeros({c.M, c.N});
      cpu_->linear_forward(x, w, bias ? &b : nullptr, y);
      const Tensor xd = dev(x), wd = dev(w), bd = dev(b);
      Tensor yd = dev_nan({c.M, c.N});
      cuda_->linear_forward(xd, wd, bias ? &bd : nullptr, yd);
      check("linear_forward y", y, yd, P().gemm_tol);
    }
}

TEST_P(CudaOps, LinearBackwardEveryOutputPresentOrAbsent) {
  for (const LinearCase& c : kLinearCases)
    for (int mask = 0; mask < 8; ++mask) {
      const bool want_dx = mask & 1, want_dw = mask & 2, want_db = mask & 4;
      SCOPED_TRACE(cat(linear_name(c), want_dx ? " dx" : "", want_dw ? " dw" : "", want_db ? " db" : ""));
      const Tensor x = rnd({c.M, c.K}), w = rnd({c.K, c.N}, 1 / std::sqrt(double(c.K))), dy = rnd({c.M, c.N});
      const Tensor dw0 = rnd({c.K, c.N}), db0 = rnd({c.N});  // dw and db accumulate onto these
      Tensor dx = zeros({c.M, c.K}), dw = host_clone(dw0), db = host_clone(db0);
      cpu_->linear_backward(x, w, dy, want_dx ? &dx : nullptr, want_dw ? &dw : nullptr, want_db ? &db : nullptr);
      const Tensor xd = dev(x), wd = dev(w), dyd = dev(dy);
      Tensor dxd = dev_nan({c.M, c.K}), dwd = dev(dw0), dbd = dev(db0);
      cuda_->linear_backward(xd, wd, dyd, want_dx ? &dxd : nullptr, want_dw ? &dwd : nullptr,
                             want_db ? &dbd : nullptr);
      if (want_dx) check("linear_backward dx", dx, dxd, P().gemm_tol);
      // Absent, dw and db keep their values exactly.
      check("linear_backward dw", dw, dwd, want_dw ? P().gemm_tol : 0);
      check("linear_backward db", db, dbd, want_db ? P().gemm_tol : 0);
    }
}

TEST_P(CudaOps, LinearGeluForward) {
  for (const LinearCase& c : kLinearCases) {
    SCOPED_TRACE(linear_name(c));
    const Tensor x = rnd({c.M, c.K}), w = rnd({c.K, c.N}, 1 / std::sqrt(double(c.K))), b = rnd({c.N});
    Tensor h = zeros({c.M, c.N}), g = zeros({c.M, c.N});
    cpu_->linear_gelu_forward(x, w, b, h, g);  // the reference: linear_forward, then gelu_forward
    const Tensor xd = dev(x), wd = dev(w), bd = dev(b);
    Tensor hd = dev_nan({c.M, c.N}), gd = dev_nan({c.M, c.N});
    cuda_->linear_gelu_forward(xd, wd, bd, hd, gd);
    check("linear_gelu_forward h", h, hd, P().gemm_tol);
    check("linear_gelu_forward g", g, gd, P().gemm_tol);
  }
}

// ---- layer norm ------------------------------------------------------------------------------

struct RowsCase {
  int64_t M, D;
};
// 520, 2000 and 70001 rows split the dgamma/dbeta column sums into 3, 8 and 256 chunks of rows.
const RowsCase kLayerNormCases[] = {{1, 1}, {5, 7}, {33, 31}, {64, 192}, {520, 192}, {2000, 33}, {70001, 3}};

TEST_P(CudaOps, LayerNormForward) {
  for (const RowsCase& c : kLayerNormCases) {
    SCOPED_TRACE(cat("M=", c.M, " D=", c.D));
    // A mean far from zero: the variance must not come from E[x^2] - E[x]^2.
    const Tensor x = rnd({c.M, c.D}, 2.0, 3.0), gamma = rnd({c.D}), beta = rnd({c.D});
    Tensor y = zeros({c.M, c.D}), mean = zeros({c.M}), rstd = zeros({c.M});
    cpu_->layernorm_forward(x, gamma, beta, 1e-6, y, mean, rstd);
    const Tensor xd = dev(x), gd = dev(gamma), bd = dev(beta);
    Tensor yd = dev_nan({c.M, c.D}), md = dev_nan({c.M}), rd = dev_nan({c.M});
    cuda_->layernorm_forward(xd, gd, bd, 1e-6, yd, md, rd);
    check("layernorm_forward y", y, yd, P().other_tol);
    check("layernorm_forward mean", mean, md, P().other_tol);
    check("layernorm_forward rstd", rstd, rd, P().other_tol);
  }
}

TEST_P(CudaOps, LayerNormBackwardOverwriteAccumulateAndOptionalOutputs) {
  enum DxMode { kNoDx, kOverwriteDx, kAccumulateDx };
  for (const RowsCase& c : kLayerNormCases) {
    const Tensor x = rnd({c.M, c.D}, 2.0, 3.0), gamma = rnd({c.D}), beta = rnd({c.D}), dy = rnd({c.M, c.D});
    Tensor y = zeros({c.M, c.D}), mean = zeros({c.M}), rstd = zeros({c.M});
    cpu_->layernorm_forward(x, gamma, beta, 1e-6, y, mean, rstd);
    const Tensor xd = dev(x), gd = dev(gamma), md = dev(mean), rd = dev(rstd), dyd = dev(dy);
    const Tensor dx0 = rnd({c.M, c.D}), dgamma0 = rnd({c.D}), dbeta0 = rnd({c.D});
    for (int mode : {kNoDx, kOverwriteDx, kAccumulateDx})
      for (int mask = 0; mask < 4; ++mask) {
        const bool want_dgamma = mask & 1, want_dbeta = mask & 2, accumulate = mode == kAccumulateDx;
        SCOPED_TRACE(cat("M=", c.M, " D=", c.D, mode == kNoDx ? " no dx" : accumulate ? " dx +=" : " dx =",
                         want_dgamma ? " dgamma" : "", want_dbeta ? " dbeta" : ""));
        Tensor dx = accumulate ? host_clone(dx0) : zeros({c.M, c.D});
        Tensor dgamma = host_clone(dgamma0), dbeta = host_clone(dbeta0);
        cpu_->layernorm_backward(x, gamma, mean, rstd, dy, mode == kNoDx ? nullptr : &dx, accumulate,
                                 want_dgamma ? &dgamma : nullptr, want_dbeta ? &dbeta : nullptr);
        Tensor dxd = accumulate ? dev(dx0) : dev_nan({c.M, c.D});
        Tensor dgd = dev(dgamma0), dbd = dev(dbeta0);
        cuda_->layernorm_backward(xd, gd, md, rd, dyd, mode == kNoDx ? nullptr : &dxd, accumulate,
                                  want_dgamma ? &dgd : nullptr, want_dbeta ? &dbd : nullptr);
        if (mode != kNoDx) check("layernorm_backward dx", dx, dxd, P().other_tol);
        check("layernorm_backward dgamma", dgamma, dgd, want_dgamma ? P().other_tol : 0);
        check("layernorm_backward dbeta", dbeta, dbd, want_dbeta ? P().other_tol : 0);
      }
  }
}

// ---- GELU ------------------------------------------------------------------------------------

const Shape kElementwiseShapes[] = {{1}, {7, 13}, {520, 768}, {100003}};

TEST_P(CudaOps, GeluForwardAndBackward) {
  for (const Shape& s : kElementwiseShapes) {
    SCOPED_TRACE(shape_str(s));
    const Tensor x = rnd(s, 3.0), dy = rnd(s);  // |x| up to ~15: both tails of tanh
    Tensor y = zeros(s), dx = zeros(s);
    cpu_->gelu_forward(x, y);
    cpu_->gelu_backward(x, dy, dx);
    const Tensor xd = dev(x), dyd = dev(dy);
    Tensor yd = dev_nan(s), dxd = dev_nan(s);
    cuda_->gelu_forward(xd, yd);
    cuda_->gelu_backward(xd, dyd, dxd);
    check("gelu_forward y", y, yd, P().other_tol);
    check("gelu_backward dx", dx, dxd, P().other_tol);
  }
}

// ---- attention -------------------------------------------------------------------------------

struct AttentionCase {
  int B, T, H, D;
};
// Up to 64 tokens the fused kernel runs (when its shared memory fits the device), above it the
// cuBLAS path: both sides of the boundary, several head counts and odd head widths.
const AttentionCase kAttentionCases[] = {
    {1, 1, 1, 4},      // one token: every probability is 1
    {2, 5, 3, 12},     // the char benchmark (32x32, patch 16: 5 tokens), head width 4
    {3, 17, 2, 10},    // odd head width 5
    {2, 33, 1, 40},    // one head
    {1, 64, 4, 32},    // the longest sequence of the fused kernel
    {2, 64, 3, 192},   // fused with more than 48 KiB of shared memory (the opt-in limit)
    {2, 65, 3, 24},    // the shortest sequence of the cuBLAS path
    {8, 65, 3, 192},   // realistic: ViT-Ti at 32x32 with patch 4, batch 8
    {3, 100, 6, 36},   // six heads of width 6
    {2, 197, 3, 192},  // ViT-Ti/16 at 224x224
};

std::string attention_name(const AttentionCase& c) {
  return cat("B=", c.B, " T=", c.T, " H=", c.H, " D=", c.D,
             c.T <= 64 ? " (fused kernel where its shared memory fits)" : " (cuBLAS)");
}

TEST_P(CudaOps, AttentionForwardBothPaths) {
  for (const AttentionCase& c : kAttentionCases) {
    SCOPED_TRACE(attention_name(c));
    const int64_t BT = int64_t(c.B) * c.T;
    const Tensor qkv = rnd({BT, 3 * c.D});
    Tensor out = zeros({BT, c.D}), probs = zeros({c.B, c.H, c.T, c.T});
    cpu_->attention_forward(qkv, c.B, c.H, out, probs);
    const Tensor qd = dev(qkv);
    Tensor od = dev_nan({BT, c.D}), pd = dev_nan({c.B, c.H, c.T, c.T});
    cuda_->attention_forward(qd, c.B, c.H, od, pd);
    check("attention_forward probs", probs, pd, P().attention_tol);
    check("attention_forward out", out, od, P().attention_tol);
  }
}

TEST_P(CudaOps, AttentionBackwardBothPaths) {
  for (const AttentionCase& c : kAttentionCases) {
    SCOPED_TRACE(attention_name(c));
    const int64_t BT = int64_t(c.B) * c.T;
    const Tensor qkv = rnd({BT, 3 * c.D}), dout = rnd({BT, c.D});
    Tensor out = zeros({BT, c.D}), probs = zeros({c.B, c.H, c.T, c.T}), dqkv = zeros({BT, 3 * c.D});
    cpu_->attention_forward(qkv, c.B, c.H, out, probs);
    cpu_->attention_backward(qkv, probs, dout, c.B, c.H, dqkv);
    // The backward pass alone: both get the reference's probabilities.
    const Tensor qd = dev(qkv), pd = dev(probs), dod = dev(dout);
    Tensor dqd = dev_nan({BT, 3 * c.D});
    cuda_->attention_backward(qd, pd, dod, c.B, c.H, dqd);
    check("attention_backward dqkv", dqkv, dqd, P().attention_tol);
  }
}

// ---- token assembly --------------------------------------------------------------------------

struct PatchCase {
  int B, S, p, C;
};
const PatchCase kPatchCases[] = {{1, 4, 4, 3}, {2, 8, 4, 3}, {3, 12, 4, 1}, {2, 6, 3, 5},
                                 {8, 32, 4, 3}, {1, 32, 16, 3}, {2, 224, 16, 3}};

TEST_P(CudaOps, Patchify) {
  for (const PatchCase& c : kPatchCases) {
    SCOPED_TRACE(cat("B=", c.B, " S=", c.S, " patch=", c.p, " C=", c.C));
    const int64_t g = c.S / c.p;
    const Shape ps = {c.B * g * g, int64_t(c.p) * c.p * c.C};
    const Tensor images = rnd({c.B, c.S, c.S, c.C});
    Tensor patches = zeros(ps);
    cpu_->patchify(images, c.p, patches);
    const Tensor id = dev(images);
    Tensor pd = dev_nan(ps);
    cuda_->patchify(id, c.p, pd);
    check("patchify", patches, pd, 0);
  }
}

struct TokensCase {
  int B, P, D;
};
const TokensCase kTokensCases[] = {{1, 1, 1}, {3, 4, 6}, {5, 9, 33}, {8, 64, 192}, {2, 196, 192}};

TEST_P(CudaOps, TokensForward) {
  for (const TokensCase& c : kTokensCases) {
    SCOPED_TRACE(cat("B=", c.B, " patches=", c.P, " D=", c.D));
    const int64_t T = c.P + 1;
    const Tensor emb = rnd({int64_t(c.B) * c.P, c.D}), cls = rnd({c.D}), pos = rnd({T, c.D});
    Tensor tokens = zeros({c.B * T, c.D});
    cpu_->tokens_forward(emb, cls, pos, c.B, tokens);
    const Tensor ed = dev(emb), cd = dev(cls), pd = dev(pos);
    Tensor td = dev_nan({c.B * T, c.D});
    cuda_->tokens_forward(ed, cd, pd, c.B, td);
    check("tokens_forward", tokens, td, 0);
  }
}

TEST_P(CudaOps, TokensBackwardEveryOutputPresentOrAbsent) {
  for (const TokensCase& c : kTokensCases) {
    const int64_t T = c.P + 1, BP = int64_t(c.B) * c.P;
    const Tensor dtokens = rnd({c.B * T, c.D}), dcls0 = rnd({c.D}), dpos0 = rnd({T, c.D});
    const Tensor dtd = dev(dtokens);
    for (int mask = 0; mask < 8; ++mask) {
      const bool want_demb = mask & 1, want_dcls = mask & 2, want_dpos = mask & 4;
      SCOPED_TRACE(cat("B=", c.B, " patches=", c.P, " D=", c.D, want_demb ? " demb" : "", want_dcls ? " dcls" : "",
                       want_dpos ? " dpos" : ""));
      Tensor demb = zeros({BP, c.D}), dcls = host_clone(dcls0), dpos = host_clone(dpos0);
      cpu_->tokens_backward(dtokens, c.B, want_demb ? &demb : nullptr, want_dcls ? &dcls : nullptr,
                            want_dpos ? &dpos : nullptr);
      Tensor dembd = dev_nan({BP, c.D}), dclsd = dev(dcls0), dposd = dev(dpos0);
      cuda_->tokens_backward(dtd, c.B, want_demb ? &dembd : nullptr, want_dcls ? &dclsd : nullptr,
                             want_dpos ? &dposd : nullptr);
      if (want_demb) check("tokens_backward demb", demb, dembd, 0);
      check("tokens_backward dcls", dcls, dclsd, want_dcls ? P().other_tol : 0);
      check("tokens_backward dpos", dpos, dposd, want_dpos ? P().other_tol : 0);
    }
  }
}

struct SeqCase {
  int B, T, D;
};
const SeqCase kSeqCases[] = {{1, 1, 1}, {3, 4, 5}, {5, 17, 33}, {8, 65, 192}, {2, 197, 192}};

TEST_P(CudaOps, ClassTokenGatherAndScatter) {
  for (const SeqCase& c : kSeqCases) {
    SCOPED_TRACE(cat("B=", c.B, " T=", c.T, " D=", c.D));
    const int64_t BT = int64_t(c.B) * c.T;
    const Tensor x = rnd({BT, c.D}), dout = rnd({c.B, c.D});
    Tensor out = zeros({c.B, c.D}), dx = zeros({BT, c.D});
    cpu_->class_token_gather(x, c.B, out);
    cpu_->class_token_scatter(dout, c.B, dx);
    const Tensor xd = dev(x), dod = dev(dout);
    Tensor outd = dev_nan({c.B, c.D}), dxd = dev_nan({BT, c.D});  // scatter writes zeros elsewhere
    cuda_->class_token_gather(xd, c.B, outd);
    cuda_->class_token_scatter(dod, c.B, dxd);
    check("class_token_gather", out, outd, 0);
    check("class_token_scatter", dx, dxd, 0);
  }
}

// ---- add, loss, norm, SGD --------------------------------------------------------------------

TEST_P(CudaOps, AddIncludingOutputAliasingAnInput) {
  for (const Shape& s : kElementwiseShapes) {
    SCOPED_TRACE(shape_str(s));
    const Tensor a = rnd(s), b = rnd(s);
    Tensor sum = zeros(s), twice = zeros(s);
    cpu_->add(a, b, sum);
    cpu_->add(a, a, twice);
    const Tensor ad = dev(a), bd = dev(b);
    Tensor out = dev_nan(s);
    cuda_->add(ad, bd, out);
    check("add", sum, out, 0);
    Tensor a_out = dev(a);
    cuda_->add(a_out, bd, a_out);
    check("add, out is a", sum, a_out, 0);
    Tensor b_out = dev(b);
    cuda_->add(ad, b_out, b_out);
    check("add, out is b", sum, b_out, 0);
    Tensor all = dev(a);
    cuda_->add(all, all, all);
    check("add, out is a and b", twice, all, 0);
  }
}

struct ClassesCase {
  int B, C;
};
const ClassesCase kCrossEntropyCases[] = {{1, 1}, {5, 7}, {33, 10}, {64, 40}, {128, 1000}};

TEST_P(CudaOps, SoftmaxCrossEntropyWithTiesAndGradScale) {
  enum Mode { kRandom, kTies, kLarge };
  for (const ClassesCase& c : kCrossEntropyCases)
    for (int mode : {kRandom, kTies, kLarge}) {
      Tensor logits = rnd({c.B, c.C}, mode == kLarge ? 40.0 : 3.0);
      auto at = [&](int b, int k) -> double { return test::value_at(logits, int64_t(b) * c.C + k); };
      auto set = [&](int b, int k, double v) {
        if (dt() == DType::F64) logits.data<double>()[int64_t(b) * c.C + k] = v;
        else logits.data<float>()[int64_t(b) * c.C + k] = float(v);
      };
      if (mode == kTies) {
        // Logits in {-1, 0, 1}: most rows have several maxima, far apart and in different lanes
        // of a warp; the arg-max is the lowest index, as on the CPU.
        for (int b = 0; b < c.B; ++b)
          for (int k = 0; k < c.C; ++k) set(b, k, std::round(std::fmax(-1.0, std::fmin(1.0, at(b, k) / 3))));
        for (int k = 0; k < c.C; ++k) set(0, k, 0.0);  // a row of equal logits
        if (c.B > 1 && c.C >= 34)                        // maxima at 33 (lane 1) and 2 (lane 2)
          for (int k = 0; k < c.C; ++k) set(1, k, k == 33 || k == 2 ? 5.0 : 0.0);
        if (c.B > 2 && c.C >= 32)  // maxima at 31 and 0
          for (int k = 0; k < c.C; ++k) set(2, k, k == 31 || k == 0 ? 5.0 : -k);
      }
      // Labels: every third example its lowest arg-max (correct), every third its highest
      // (wrong where tied), the rest anything.
      Tensor labels = Tensor::host({c.B}, DType::I32);
      for (int b = 0; b < c.B; ++b) {
        int lo = 0, hi = 0;
        for (int k = 1; k < c.C; ++k) {
          if (at(b, k) > at(b, lo)) lo = hi = k;
          else if (at(b, k) == at(b, lo)) hi = k;
        }
        labels.data<int32_t>()[b] = b % 3 == 0 ? lo : b % 3 == 1 ? hi : int32_t(rng_.below(c.C));
      }
      const Tensor ld = dev(logits), yd = test::to_device(*cuda_, labels);
      for (bool with_grad : {false, true})
        for (double scale : {1.0 / c.B, 0.37}) {
          if (!with_grad && scale != 0.37) continue;
          SCOPED_TRACE(cat("B=", c.B, " C=", c.C, mode == kRandom ? " random" : mode == kTies ? " ties" : " large",
                           with_grad ? " dlogits, scale " : " no dlogits", with_grad ? scale : 0.0));
          Tensor dl = zeros({c.B, c.C});
          const LossStats want = cpu_->softmax_cross_entropy(logits, labels, with_grad ? &dl : nullptr, scale);
          Tensor dld = dev_nan({c.B, c.C});
          const LossStats got = cuda_->softmax_cross_entropy(ld, yd, with_grad ? &dld : nullptr, scale);
          EXPECT_NEAR(got.loss_sum, want.loss_sum, kLossTol * std::max(1.0, std::fabs(want.loss_sum)));
          EXPECT_EQ(got.correct, want.correct);
          if (with_grad) check("softmax_cross_entropy dlogits", dl, dld, P().other_tol);
        }
    }
}

TEST_P(CudaOps, SumSquares) {
  for (int64_t n : {int64_t(0), int64_t(1), int64_t(1000), int64_t(131073), int64_t(1000003)}) {
    SCOPED_TRACE(cat("n=", n));
    const Tensor x = rnd({n}, 1.5, 0.25);
    const double want = cpu_->sum_squares(x);
    const double got = cuda_->sum_squares(dev(x));
    EXPECT_NEAR(got, want, kSumSquaresTol * std::max(1.0, want));
  }
  // A row view (a buffer offset).
  const Tensor m = rnd({40, 33});
  const Tensor md = dev(m);
  EXPECT_NEAR(cuda_->sum_squares(md.rows(7, 29)), cpu_->sum_squares(m.rows(7, 29)),
              kSumSquaresTol * std::max(1.0, cpu_->sum_squares(m.rows(7, 29))));
}

// The norm of many gradients with one wait for the device: each total as sum_squares alone
// gives it (bit for bit), empty tensors and tensors of the other dtype included.
TEST_P(CudaOps, SumSquaresEachInOneCall) {
  const DType other = dt() == DType::F32 ? DType::F64 : DType::F32;
  std::vector<Tensor> hosts = {rnd({1000}), rnd({0}), rnd({70001}, 2.0), rnd({1}), rnd({33, 65}),
                               test::random_host({77}, other, rng_)};
  std::vector<Tensor> devs;
  std::vector<const Tensor*> host_ptrs, dev_ptrs;
  for (const Tensor& h : hosts) devs.push_back(dev(h));
  for (size_t i = 0; i < hosts.size(); ++i) host_ptrs.push_back(&hosts[i]), dev_ptrs.push_back(&devs[i]);
  const std::vector<double> want = cpu_->sum_squares_each(host_ptrs), got = cuda_->sum_squares_each(dev_ptrs);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], kSumSquaresTol * std::max(1.0, want[i])) << "tensor " << i;
    const double alone = cuda_->sum_squares(devs[i]);
    EXPECT_EQ(std::memcmp(&alone, &got[i], sizeof alone), 0) << "tensor " << i << ": " << alone << " vs " << got[i];
  }
  EXPECT_TRUE(cuda_->sum_squares_each({}).empty());
}

TEST_P(CudaOps, SgdUpdateWithAndWithoutNesterov) {
  for (const Shape& s : {Shape{1}, Shape{1000}, Shape{70001}})
    for (bool nesterov : {false, true})
      for (double momentum : {0.0, 0.9})
        for (double grad_scale : {1.0, 0.3}) {
          SCOPED_TRACE(cat(shape_str(s), nesterov ? " nesterov" : "", " momentum ", momentum, " grad_scale ",
                           grad_scale));
          Tensor p = rnd(s), v = rnd(s, 0.1);
          Tensor pd = dev(p), vd = dev(v);
          for (int step = 0; step < 3; ++step) {  // the velocity carries over
            const Tensor g = rnd(s);
            cpu_->sgd_update(p, g, v, 0.05, momentum, nesterov, grad_scale);
            cuda_->sgd_update(pd, dev(g), vd, 0.05, momentum, nesterov, grad_scale);
            check(cat("sgd_update param, step ", step), p, pd, P().other_tol);
            check(cat("sgd_update velocity, step ", step), v, vd, P().other_tol);
          }
        }
}

// ---- determinism -----------------------------------------------------------------------------

// The backend promises fixed-order reductions: the same call twice gives the same bits.
TEST_P(CudaOps, RepeatedCallsAreBitIdentical) {
  auto same = [&](const std::string& what, const Tensor& a, const Tensor& b) {
    expect_same_bytes(what, test::to_host(*cuda_, a), test::to_host(*cuda_, b));
  };
  for (const AttentionCase& c : {AttentionCase{2, 5, 3, 12}, AttentionCase{8, 65, 3, 192}}) {
    SCOPED_TRACE(attention_name(c));
    const int64_t BT = int64_t(c.B) * c.T;
    const Tensor qd = dev(rnd({BT, 3 * c.D})), dod = dev(rnd({BT, c.D}));
    Tensor o1 = cuda_->empty({BT, c.D}, dt()), o2 = cuda_->empty({BT, c.D}, dt());
    Tensor p1 = cuda_->empty({c.B, c.H, c.T, c.T}, dt()), p2 = cuda_->empty({c.B, c.H, c.T, c.T}, dt());
    Tensor g1 = cuda_->empty({BT, 3 * c.D}, dt()), g2 = cuda_->empty({BT, 3 * c.D}, dt());
    cuda_->attention_forward(qd, c.B, c.H, o1, p1);
    cuda_->attention_forward(qd, c.B, c.H, o2, p2);
    cuda_->attention_backward(qd, p1, dod, c.B, c.H, g1);
    cuda_->attention_backward(qd, p1, dod, c.B, c.H, g2);
    same("attention out", o1, o2);
    same("attention probs", p1, p2);
    same("attention dqkv", g1, g2);
  }
  {
    const Tensor xd = dev(rnd({2000, 33}, 2.0, 3.0)), gd = dev(rnd({33})), bd = dev(rnd({33}));
    const Tensor dyd = dev(rnd({2000, 33}));
    Tensor y = cuda_->empty({2000, 33}, dt()), mean = cuda_->empty({2000}, dt()), rstd = cuda_->empty({2000}, dt());
    cuda_->layernorm_forward(xd, gd, bd, 1e-6, y, mean, rstd);
    const Tensor dg0 = rnd({33});
    Tensor dg1 = dev(dg0), dg2 = dev(dg0), dx1 = cuda_->empty({2000, 33}, dt()), dx2 = cuda_->empty({2000, 33}, dt());
    cuda_->layernorm_backward(xd, gd, mean, rstd, dyd, &dx1, false, &dg1, nullptr);
    cuda_->layernorm_backward(xd, gd, mean, rstd, dyd, &dx2, false, &dg2, nullptr);
    same("layernorm dx", dx1, dx2);
    same("layernorm dgamma", dg1, dg2);
  }
  {
    const LinearCase c{520, 192, 576};
    const Tensor xd = dev(rnd({c.M, c.K})), wd = dev(rnd({c.K, c.N})), dyd = dev(rnd({c.M, c.N}));
    const Tensor dw0 = rnd({c.K, c.N}), db0 = rnd({c.N});
    Tensor dw1 = dev(dw0), dw2 = dev(dw0), db1 = dev(db0), db2 = dev(db0);
    Tensor dx1 = cuda_->empty({c.M, c.K}, dt()), dx2 = cuda_->empty({c.M, c.K}, dt());
    cuda_->linear_backward(xd, wd, dyd, &dx1, &dw1, &db1);
    cuda_->linear_backward(xd, wd, dyd, &dx2, &dw2, &db2);
    same("linear dx", dx1, dx2);
    same("linear dw", dw1, dw2);
    same("linear db", db1, db2);
  }
  {
    const Tensor xd = dev(rnd({1000003}));
    const double a = cuda_->sum_squares(xd), b = cuda_->sum_squares(xd);
    EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0) << a << " vs " << b;
  }
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaOps, ::testing::ValuesIn(kPrecisions),
                         [](const ::testing::TestParamInfo<OpPrecision>& info) { return info.param.name; });

}  // namespace
}  // namespace munet
