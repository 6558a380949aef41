// Finite-difference gradient checks (float64) for every op of the CPU backend.
#include <gtest/gtest.h>

#include "kernels/backend.h"
#include "support/gradcheck.h"

namespace munet {
namespace {

using test::expect_gradient;
using test::random_tensor;
using test::weighted_sum;

class GradCheck : public ::testing::Test {
 protected:
  std::unique_ptr<Backend> be = make_cpu_backend(2);
  Rng rng{1234};
  Tensor zeros(const Shape& s) { return Tensor::host(s, DType::F64); }
};

TEST_F(GradCheck, Linear) {
  Tensor x = random_tensor({7, 5}, rng), w = random_tensor({5, 6}, rng), b = random_tensor({6}, rng);
  Tensor dy = random_tensor({7, 6}, rng), y = zeros({7, 6});
  auto loss = [&] { be->linear_forward(x, w, &b, y); return weighted_sum(y, dy); };
  Tensor dx = zeros({7, 5}), dw = zeros({5, 6}), db = zeros({6});
  loss();
  be->linear_backward(x, w, dy, &dx, &dw, &db);
  expect_gradient("linear dx", x, dx, loss);
  expect_gradient("linear dw", w, dw, loss);
  expect_gradient("linear db", b, db, loss);
}

TEST_F(GradCheck, LinearLargeEnoughToSplitAcrossThreads) {
  Tensor x = random_tensor({96, 64}, rng), w = random_tensor({64, 48}, rng), b = random_tensor({48}, rng);
  Tensor dy = random_tensor({96, 48}, rng), y = zeros({96, 48});
  auto loss = [&] { be->linear_forward(x, w, &b, y); return weighted_sum(y, dy); };
  Tensor dx = zeros({96, 64}), dw = zeros({64, 48}), db = zeros({48});
  loss();
  be->linear_backward(x, w, dy, &dx, &dw, &db);
  expect_gradient("linear dx", x, dx, loss, 200);
  expect_gradient("linear dw", w, dw, loss, 200);
  expect_gradient("linear db", b, db, loss);
}

TEST_F(GradCheck, LayerNorm) {
  const int M = 6, D = 9;
  Tensor x = random_tensor({M, D}, rng, 2.0), g = random_tensor({D}, rng), b = random_tensor({D}, rng);
  Tensor dy = random_tensor({M, D}, rng), y = zeros({M, D}), mean = zeros({M}), rstd = zeros({M});
  auto loss = [&] { be->layernorm_forward(x, g, b, 1e-6, y, mean, rstd); return weighted_sum(y, dy); };
  loss();
  Tensor dx = zeros({M, D}), dg = zeros({D}), db = zeros({D});
  be->layernorm_backward(x, g, mean, rstd, dy, &dx, false, &dg, &db);
  expect_gradient("layernorm dx", x, dx, loss);
  expect_gradient("layernorm dgamma", g, dg, loss);
  expect_gradient("layernorm dbeta", b, db, loss);
  // Accumulating mode adds to what is there.
  Tensor acc = zeros({M, D});
  for (int64_t i = 0; i < acc.numel(); ++i) acc.data<double>()[i] = 1.0;
  be->layernorm_backward(x, g, mean, rstd, dy, &acc, true, nullptr, nullptr);
  for (int64_t i = 0; i < acc.numel(); ++i)
    EXPECT_NEAR(acc.data<double>()[i], 1.0 + dx.data<double>()[i], 1e-12);
}

TEST_F(GradCheck, Gelu) {
  Tensor x = random_tensor({5, 11}, rng, 2.0), dy = random_tensor({5, 11}, rng), y = zeros({5, 11});
  auto loss = [&] { be->gelu_forward(x, y); return weighted_sum(y, dy); };
  Tensor dx = zeros({5, 11});
  be->gelu_backward(x, dy, dx);
  expect_gradient("gelu dx", x, dx, loss);
}

TEST_F(GradCheck, Attention) {
  const int B = 2, T = 5, H = 3, D = 12;
  Tensor qkv = random_tensor({B * T, 3 * D}, rng), dout = random_tensor({B * T, D}, rng);
  Tensor out = zeros({B * T, D}), probs = zeros({B, H, T, T});
  auto loss = [&] { be->attention_forward(qkv, B, H, out, probs); return weighted_sum(out, dout); };
  loss();
  Tensor dqkv = zeros({B * T, 3 * D});
  be->attention_backward(qkv, probs, dout, B, H, dqkv);
  expect_gradient("attention dqkv", qkv, dqkv, loss);
}

TEST_F(GradCheck, AttentionProbabilitiesSumToOne) {
  const int B = 3, T = 4, H = 2, D = 8;
  Tensor qkv = random_tensor({B * T, 3 * D}, rng, 3.0), out = zeros({B * T, D}), probs = zeros({B, H, T, T});
  be->attention_forward(qkv, B, H, out, probs);
  for (int64_t r = 0; r < B * H * T; ++r) {
    double s = 0;
    for (int j = 0; j < T; ++j) s += probs.data<double>()[r * T + j];
    EXPECT_NEAR(s, 1.0, 1e-12);
  }
}

TEST_F(GradCheck, PatchEmbedding) {
  // patchify + linear: gradients of the kernel and bias (images are not differentiated).
  const int B = 2, S = 8, p = 4, C = 3, D = 5, P = (S / p) * (S / p);
  Tensor images = random_tensor({B, S, S, C}, rng), w = random_tensor({p * p * C, D}, rng);
  Tensor b = random_tensor({D}, rng), dy = random_tensor({B * P, D}, rng);
  Tensor patches = zeros({B * P, p * p * C}), y = zeros({B * P, D});
  auto loss = [&] {
    be->patchify(images, p, patches);
    be->linear_forward(patches, w, &b, y);
    return weighted_sum(y, dy);
  };
  loss();
  // Patch layout: (row, column, channel) within each patch, patches in row-major grid order.
  EXPECT_EQ(patches.data<double>()[(1 * p + 2) * C + 1],
            images.data<double>()[((0 * S + 1) * S + 2) * C + 1]);
  EXPECT_EQ(patches.data<double>()[3 * p * p * C],
            images.data<double>()[((0 * S + 4) * S + 4) * C]);
  Tensor dw = zeros({p * p * C, D}), db = zeros({D});
  be->linear_backward(patches, w, dy, nullptr, &dw, &db);
  expect_gradient("patch embedding kernel", w, dw, loss);
  expect_gradient("patch embedding bias", b, db, loss);
}

TEST_F(GradCheck, ClassTokenAndPositionEmbedding) {
  const int B = 3, P = 4, D = 6, T = P + 1;
  Tensor emb = random_tensor({B * P, D}, rng), cls = random_tensor({D}, rng), pos = random_tensor({T, D}, rng);
  Tensor dy = random_tensor({B * T, D}, rng), tokens = zeros({B * T, D});
  auto loss = [&] { be->tokens_forward(emb, cls, pos, B, tokens); return weighted_sum(tokens, dy); };
  Tensor demb = zeros({B * P, D}), dcls = zeros({D}), dpos = zeros({T, D});
  be->tokens_backward(dy, B, &demb, &dcls, &dpos);
  expect_gradient("tokens demb", emb, demb, loss);
  expect_gradient("tokens dcls", cls, dcls, loss);
  expect_gradient("tokens dpos", pos, dpos, loss);
}

TEST_F(GradCheck, ClassTokenGather) {
  const int B = 3, T = 4, D = 5;
  Tensor x = random_tensor({B * T, D}, rng), dy = random_tensor({B, D}, rng), out = zeros({B, D});
  auto loss = [&] { be->class_token_gather(x, B, out); return weighted_sum(out, dy); };
  Tensor dx = random_tensor({B * T, D}, rng);  // scatter must overwrite everything
  be->class_token_scatter(dy, B, dx);
  expect_gradient("class token dx", x, dx, loss);
}

TEST_F(GradCheck, SoftmaxCrossEntropy) {
  const int B = 5, C = 7;
  Tensor logits = random_tensor({B, C}, rng, 3.0), labels = Tensor::host({B}, DType::I32);
  for (int b = 0; b < B; ++b) labels.data<int32_t>()[b] = (b * 3) % C;
  auto loss = [&] { return be->softmax_cross_entropy(logits, labels, nullptr, 0).loss_sum / B; };
  Tensor dlogits = zeros({B, C});
  const LossStats s = be->softmax_cross_entropy(logits, labels, &dlogits, 1.0 / B);
  EXPECT_NEAR(s.loss_sum / B, loss(), 1e-15);
  expect_gradient("cross-entropy dlogits", logits, dlogits, loss);
}

TEST_F(GradCheck, CrossEntropyCountsCorrectAndRejectsBadLabels) {
  Tensor logits = zeros({2, 3}), labels = Tensor::host({2}, DType::I32);
  logits.data<double>()[1] = 5.0;  // example 0 predicts class 1
  logits.data<double>()[3] = 5.0;  // example 1 predicts class 0
  labels.data<int32_t>()[0] = 1;
  labels.data<int32_t>()[1] = 2;
  EXPECT_EQ(be->softmax_cross_entropy(logits, labels, nullptr, 0).correct, 1);
  labels.data<int32_t>()[1] = 3;
  EXPECT_THROW(be->softmax_cross_entropy(logits, labels, nullptr, 0), Error);
}

TEST_F(GradCheck, Add) {
  Tensor a = random_tensor({4, 3}, rng), b = random_tensor({4, 3}, rng), dy = random_tensor({4, 3}, rng);
  Tensor out = zeros({4, 3});
  auto loss = [&] { be->add(a, b, out); return weighted_sum(out, dy); };
  expect_gradient("add da", a, dy, loss);
  expect_gradient("add db", b, dy, loss);
}

TEST_F(GradCheck, ShapeMismatchIsAClearError) {
  Tensor x = zeros({4, 3}), w = zeros({5, 2}), y = zeros({4, 2});
  try {
    be->linear_forward(x, w, nullptr, y);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("linear_forward: w has shape [5, 2], expected [3, 2]"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace munet
