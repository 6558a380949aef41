// Results never depend on the number of threads: every CPU op, on odd shapes, gives
// bit-identical float32 outputs with 1, 2 and 3 threads. Also: the pool rethrows task errors.
#include <gtest/gtest.h>

#include <cstring>

#include "kernels/cpu/cpu_backend.h"
#include "util/rng.h"

namespace munet {
namespace {

Tensor random_f32(const Shape& shape, uint64_t seed) {
  Tensor t = Tensor::host(shape, DType::F32);
  Rng rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float(rng.normal());
  return t;
}

bool same_bits(const Tensor& a, const Tensor& b) { return std::memcmp(a.raw(), b.raw(), a.bytes()) == 0; }

// Runs `op` (which fills its outputs from fixed inputs) on backends of 1, 2, 3 threads and
// compares every output bitwise with the single-thread one.
template <class Op>
void expect_thread_invariant(const char* what, Op op) {
  CpuBackend one(1);
  const std::vector<Tensor> ref = op(one);
  for (int threads : {2, 3}) {
    CpuBackend be(threads);
    const std::vector<Tensor> got = op(be);
    for (size_t i = 0; i < ref.size(); ++i)
      EXPECT_TRUE(same_bits(ref[i], got[i])) << what << ": output " << i << " differs with " << threads << " threads";
  }
}

class ThreadInvariance : public ::testing::TestWithParam<std::array<int, 3>> {};

TEST_P(ThreadInvariance, Linear) {
  const auto [M, K, N] = GetParam();
  const Tensor x = random_f32({M, K}, 1), w = random_f32({K, N}, 2), b = random_f32({N}, 3), dy = random_f32({M, N}, 4);
  expect_thread_invariant("linear", [&](CpuBackend& be) {
    Tensor y = Tensor::host({M, N}, DType::F32), dx = Tensor::host({M, K}, DType::F32);
    Tensor dw = random_f32({K, N}, 5), db = random_f32({N}, 6);
    be.linear_forward(x, w, &b, y);
    be.linear_backward(x, w, dy, &dx, &dw, &db);
    return std::vector<Tensor>{y, dx, dw, db};
  });
}

TEST_P(ThreadInvariance, LayerNormGeluAdd) {
  const auto [M, K, N] = GetParam();
  (void)N;
  const Tensor x = random_f32({M, K}, 7), g = random_f32({K}, 8), bt = random_f32({K}, 9), dy = random_f32({M, K}, 10);
  expect_thread_invariant("layernorm/gelu/add", [&](CpuBackend& be) {
    Tensor y = Tensor::host({M, K}, DType::F32), mean = Tensor::host({M}, DType::F32), rstd = Tensor::host({M}, DType::F32);
    Tensor dx = random_f32({M, K}, 11), dg = random_f32({K}, 12), db = random_f32({K}, 13);
    Tensor gy = Tensor::host({M, K}, DType::F32), gdx = Tensor::host({M, K}, DType::F32), sum = Tensor::host({M, K}, DType::F32);
    be.layernorm_forward(x, g, bt, 1e-6, y, mean, rstd);
    be.layernorm_backward(x, g, mean, rstd, dy, &dx, true, &dg, &db);
    be.gelu_forward(x, gy);
    be.gelu_backward(x, dy, gdx);
    be.add(x, dy, sum);
    Tensor norm = Tensor::host({1}, DType::F64);
    norm.data<double>()[0] = be.sum_squares(dy);
    return std::vector<Tensor>{y, mean, rstd, dx, dg, db, gy, gdx, sum, norm};
  });
}

INSTANTIATE_TEST_SUITE_P(OddShapes, ThreadInvariance,
                         ::testing::Values(std::array<int, 3>{160, 120, 100}, std::array<int, 3>{640, 192, 16},
                                           std::array<int, 3>{64, 64, 64}, std::array<int, 3>{333, 77, 555},
                                           std::array<int, 3>{640, 768, 192}));

TEST(ThreadInvarianceOps, AttentionTokensLossSgd) {
  const int B = 7, T = 5, H = 3, D = 48, P = T - 1, C = 11;
  const Tensor qkv = random_f32({B * T, 3 * D}, 20), dout = random_f32({B * T, D}, 21);
  const Tensor emb = random_f32({B * P, D}, 22), cls = random_f32({D}, 23), pos = random_f32({T, D}, 24);
  const Tensor logits = random_f32({B, C}, 25);
  Tensor labels = Tensor::host({B}, DType::I32);
  for (int b = 0; b < B; ++b) labels.data<int32_t>()[b] = (b * 5) % C;
  expect_thread_invariant("attention/tokens/loss/sgd", [&](CpuBackend& be) {
    Tensor out = Tensor::host({B * T, D}, DType::F32), probs = Tensor::host({B, H, T, T}, DType::F32);
    Tensor dqkv = Tensor::host({B * T, 3 * D}, DType::F32), tokens = Tensor::host({B * T, D}, DType::F32);
    Tensor demb = Tensor::host({B * P, D}, DType::F32), dcls = random_f32({D}, 26), dpos = random_f32({T, D}, 27);
    Tensor dlogits = Tensor::host({B, C}, DType::F32), loss = Tensor::host({1}, DType::F64);
    Tensor p = random_f32({B * T, D}, 28), v = random_f32({B * T, D}, 29);
    be.attention_forward(qkv, B, H, out, probs);
    be.attention_backward(qkv, probs, dout, B, H, dqkv);
    be.tokens_forward(emb, cls, pos, B, tokens);
    be.tokens_backward(dout, B, &demb, &dcls, &dpos);
    loss.data<double>()[0] = be.softmax_cross_entropy(logits, labels, &dlogits, 1.0 / B).loss_sum;
    be.sgd_update(p, dout, v, 0.1, 0.9, true, 0.5);
    return std::vector<Tensor>{out, probs, dqkv, tokens, demb, dcls, dpos, dlogits, loss, p, v};
  });
}

TEST(ThreadPoolErrors, ATaskErrorIsRethrownAndThePoolStaysUsable) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.run(4, [](int t) { if (t == 3) throw Error("task 3 failed"); }), Error);
  EXPECT_THROW(pool.run(4, [](int t) { if (t == 0) throw Error("task 0 failed"); }), Error);
  std::vector<int> seen(8, 0);
  pool.parallel_for(0, 8, 1, [&](int64_t lo, int64_t hi) { for (int64_t i = lo; i < hi; ++i) seen[i]++; });
  for (int s : seen) EXPECT_EQ(s, 1);
}

}  // namespace
}  // namespace munet
