// Finite-difference gradient check (float64) of a whole small ViT with an adapter, and of routes
// with frozen components: frozen ones get no update, trainable ones still get exact gradients.
#include <gtest/gtest.h>

#include <cstring>

#include "optim/sgd.h"
#include "support/gradcheck.h"
#include "support/small_vit.h"

namespace munet {
namespace {

using test::expect_gradient;

struct VitGradFixture : ::testing::Test {
  std::unique_ptr<Backend> be = make_cpu_backend(2);
  Rng rng{77};
  const int B = 3;
  Tensor images, labels;

  void SetUp() override {
    images = test::random_tensor({B, 8, 8, 3}, rng);
    labels = Tensor::host({B}, DType::I32);
    for (int b = 0; b < B; ++b) labels.data<int32_t>()[b] = b % 3;
  }

  double loss(Network& net) {
    return be->softmax_cross_entropy(net.forward(images), labels, nullptr, 0).loss_sum / B;
  }

  void backward(Network& net) {
    const Tensor& logits = net.forward(images);
    Tensor dlogits = Tensor::host(logits.shape(), DType::F64);
    be->softmax_cross_entropy(logits, labels, &dlogits, 1.0 / B);
    net.backward(dlogits);
  }
};

TEST_F(VitGradFixture, WholeModelWithAdapter) {
  auto v = test::make_small_vit(*be, DType::F64, /*with_adapter=*/true, 5, /*perturb=*/true);
  Network net(*be, v.cfg, v.route);
  backward(net);
  for (auto& c : v.components)
    expect_gradient(c->name(), c->values(), c->grad(), [&] { return loss(net); }, 150);
}

TEST_F(VitGradFixture, FrozenComponentsBelowAndAboveTrainableOnes) {
  auto v = test::make_small_vit(*be, DType::F64, true, 6, true);
  // Only the adapter and the head train: the stem, both blocks and the norm are frozen.
  for (auto& s : v.route)
    s.trainable = s.component->kind() == ComponentKind::Adapter || s.component->kind() == ComponentKind::Head;
  Network net(*be, v.cfg, v.route);
  backward(net);
  for (auto& s : v.route)
    if (s.trainable)
      expect_gradient(s.component->name(), s.component->values(), s.component->grad(),
                      [&] { return loss(net); }, 150);

  std::vector<Tensor> before;
  for (auto& c : v.components) {
    before.push_back(Tensor::host(c->values().shape(), DType::F64));
    be->copy(c->values(), before.back());
  }
  sgd_step(*be, net.trainable_components(), 0.1, SgdConfig{});
  for (size_t i = 0; i < v.components.size(); ++i) {
    const bool changed = std::memcmp(before[i].raw(), v.components[i]->values().raw(), before[i].bytes()) != 0;
    EXPECT_EQ(changed, v.route[i].trainable) << v.components[i]->name();
    EXPECT_EQ(v.components[i]->has_optimizer_state(), v.route[i].trainable) << v.components[i]->name();
  }
}

TEST_F(VitGradFixture, OnlyTheHeadTrainable) {
  auto v = test::make_small_vit(*be, DType::F64, false, 7, true);
  for (auto& s : v.route) s.trainable = s.component->kind() == ComponentKind::Head;
  Network net(*be, v.cfg, v.route);
  backward(net);
  Component& head = *v.route.back().component;
  expect_gradient("head", head.values(), head.grad(), [&] { return loss(net); });
}

TEST_F(VitGradFixture, Float32MatchesFloat64) {
  // The float32 engine computes the same function: logits agree to float precision.
  auto v64 = test::make_small_vit(*be, DType::F64, true, 8, true);
  auto v32 = test::make_small_vit(*be, DType::F32, true, 8, true);
  Network n64(*be, v64.cfg, v64.route), n32(*be, v32.cfg, v32.route);
  Tensor img32 = Tensor::host(images.shape(), DType::F32);
  for (int64_t i = 0; i < images.numel(); ++i) img32.data<float>()[i] = float(images.data<double>()[i]);
  const Tensor& l64 = n64.forward(images);
  const Tensor& l32 = n32.forward(img32);
  for (int64_t i = 0; i < l64.numel(); ++i)
    EXPECT_NEAR(l32.data<float>()[i], l64.data<double>()[i], 2e-4 * (1 + std::fabs(l64.data<double>()[i])));
}

TEST_F(VitGradFixture, RouteOfTheWrongShapeIsRejected) {
  auto v = test::make_small_vit(*be, DType::F64, false, 9, false);
  ViTConfig other = v.cfg;
  other.num_classes = 4;
  EXPECT_THROW(Network(*be, other, v.route), Error);
  std::swap(v.route[4], v.route[5]);  // encoder_norm where a block belongs
  EXPECT_THROW(Network(*be, v.cfg, v.route), Error);
}

}  // namespace
}  // namespace munet
