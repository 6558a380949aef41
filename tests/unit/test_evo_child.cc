// make_child, the µ2Net mutations, on a tiny root: clone-or-share rates, encoder_norm always
// cloned, own trainable layers always cloned, heads only from the task's own ancestors (else a
// zero head), position embeddings resized for a new image size (from an imported root's original
// grid when there is one), adapters that change nothing
// when added, layer removal, dataset hyperparameters from the generation, clones with momentum.
#include <gtest/gtest.h>

#include <cstring>

#include "evo/child.h"
#include "kernels/cpu/cpu_backend.h"
#include "nn/init.h"
#include "nn/posembed_resize.h"
#include "nn/vit_model.h"

namespace munet {
namespace {

struct ChildFixture : ::testing::Test {
  CpuBackend be{2};
  ViTConfig shape;
  HpSpace space{8, 2, 32};
  LayerPool pool{be};
  std::map<ModelId, ModelRecord> models;
  ModelId next = 1;

  ChildFixture() {
    shape.image_size = 16, shape.patch = 8, shape.hidden = 16, shape.mlp = 32, shape.heads = 2, shape.layers = 2;
    shape.num_classes = 5;
    ModelRecord root;
    root.id = 0;
    root.hparams = space.defaults(16);
    for (const auto& [name, kind] : vit_component_names(shape, false)) {
      auto c = std::make_unique<Component>(name, kind, component_layout(kind, shape), be, DType::F32);
      init_component(*c, be, 1);
      root.route.push_back(pool.add(kRootTask, std::move(c)));
      root.route_names.push_back(name);
      root.route_trainable.push_back(false);
    }
    models[0] = root;
  }

  ModelRecord child_of(ModelId parent, int task, uint64_t seed, const Hparams* gen = nullptr,
                       ComponentId original_posembed = -1) {
    const ChildContext ctx{space, pool, models, 0, task, shape, seed, nullptr, original_posembed};
    Rng rng(seed);
    ModelRecord c = make_child(ctx, models.at(parent), gen ? *gen : models.at(parent).hparams, rng);
    for (ComponentId id : c.route)
      if (pool.pending(id)) pool.make_new(id);
    c.id = next++;
    return c;
  }
  // Keeps a child as a model of the genealogy (its components stay in the pool).
  ModelId keep(ModelRecord c) {
    const ModelId id = c.id;
    models[id] = std::move(c);
    return id;
  }
  void discard(const ModelRecord& c) {
    for (size_t i = 0; i < c.route.size(); ++i)
      if (c.route_trainable[i]) pool.remove(c.route[i]);
  }
  std::vector<uint8_t> bytes(ComponentId id) {
    const Tensor& t = pool.at(id).component->values();
    const auto* p = static_cast<const uint8_t*>(t.raw());
    return std::vector<uint8_t>(p, p + t.bytes());
  }
  Tensor logits(const ModelRecord& m, const std::vector<size_t>& skip = {}) {
    std::vector<RouteStep> steps;
    for (size_t i = 0; i < m.route.size(); ++i)
      if (std::find(skip.begin(), skip.end(), i) == skip.end()) steps.push_back({&pool.component(m.route[i]), false});
    Network net(be, model_shape(shape, m.hparams, shape.num_classes), steps);
    const int S = m.hparams.image_size();
    Tensor images = Tensor::host({3, S, S, 3}, DType::F32);
    Rng rng(3);
    for (int64_t i = 0; i < images.numel(); ++i) images.data<float>()[i] = float(rng.uniform(-1, 1));
    Tensor out = Tensor::host({3, shape.num_classes}, DType::F32);
    be.copy(net.forward(images), out);
    return out;
  }
};

TEST_F(ChildFixture, ChildrenOfTheRootShareOrCloneAtRateMu) {
  const ModelRecord& root = models.at(0);
  int decisions = 0, clones = 0, slots = 0, adapters = 0;
  double mu_sum = 0;
  for (uint64_t k = 0; k < 400; ++k) {
    const ModelRecord c = child_of(0, 0, 100 + k);
    ASSERT_EQ(c.route_names.back(), "head");
    EXPECT_TRUE(c.route_trainable.back());
    const Tensor& head = pool.at(c.route.back()).component->values();
    for (int64_t i = 0; i < head.numel(); ++i) ASSERT_EQ(head.data<float>()[i], 0.0f);
    for (size_t i = 0; i + 1 < c.route.size(); ++i) {
      const std::string& name = c.route_names[i];
      if (name.rfind("adapter", 0) == 0) {
        ++adapters;
        continue;
      }
      const PoolComponent& e = pool.at(c.route[i]);
      if (name == "encoder_norm") {
        EXPECT_TRUE(c.route_trainable[i]);
        EXPECT_EQ(e.owner, 0);
        continue;
      }
      ++decisions;
      if (c.route_trainable[i]) {
        ++clones;
        EXPECT_EQ(e.owner, 0) << name;
        // A clone starts from its source's values.
        const auto src = std::find(root.route_names.begin(), root.route_names.end(), name) - root.route_names.begin();
        EXPECT_EQ(bytes(c.route[i]), bytes(root.route[src])) << name;
      } else {
        EXPECT_EQ(e.owner, kRootTask) << name;  // shared by reference
      }
    }
    slots += c.hparams.num_layers();
    mu_sum += c.hparams.mu();
    discard(c);
  }
  // 400 children x ~5 decisions: binomial sd ~0.009; the mean µ is ~0.2.
  EXPECT_NEAR(clones / double(decisions), mu_sum / 400, 0.03);
  EXPECT_NEAR(adapters / double(slots), mu_sum / 400, 0.04);
  EXPECT_EQ(pool.size(), root.route.size());  // discarded children left nothing behind
}

TEST_F(ChildFixture, AnAddedAdapterChangesNothingAtFirst) {
  for (uint64_t k = 0; k < 200; ++k) {
    ModelRecord c = child_of(0, 0, 500 + k);
    const auto it = std::find_if(c.route_names.begin(), c.route_names.end(),
                                 [](const std::string& n) { return n.rfind("adapter", 0) == 0; });
    if (it == c.route_names.end()) {
      discard(c);
      continue;
    }
    const size_t at = it - c.route_names.begin();
    const Tensor with = logits(c), without = logits(c, {at});
    EXPECT_EQ(0, std::memcmp(with.raw(), without.raw(), with.bytes()));
    return;
  }
  FAIL() << "no child with an adapter in 200 draws";
}

TEST_F(ChildFixture, NewImageSizeResizesThePositionEmbeddingAndTrainsIt) {
  Hparams gen = models.at(0).hparams;
  gen[Hp::ImageSize] = 32;
  gen[Hp::Flip] = 0;
  const ModelRecord c = child_of(0, 0, 7, &gen);
  EXPECT_EQ(c.hparams.image_size(), 32);
  EXPECT_EQ(c.hparams[Hp::Flip], 0);
  const size_t pos = std::find(c.route_names.begin(), c.route_names.end(), "posembed_32") - c.route_names.begin();
  ASSERT_LT(pos, c.route.size());
  EXPECT_TRUE(c.route_trainable[pos]);
  EXPECT_EQ(pool.at(c.route[pos]).component->size(), int64_t(1 + 16) * 16);
  bool recorded = false;
  for (const auto& m : c.mutations) recorded |= m == "resize posembed_16->posembed_32";
  EXPECT_TRUE(recorded);
  // The class-token row is kept.
  const float* resized = pool.at(c.route[pos]).component->values().data<float>();
  const float* original = pool.at(models.at(0).route[2]).component->values().data<float>();
  for (int k = 0; k < 16; ++k) EXPECT_EQ(resized[k], original[k]);
  EXPECT_EQ(logits(c).dim(0), 3);  // the child runs at 32x32
}

TEST_F(ChildFixture, AnImportedRootsOriginalGridIsTheSourceOfEveryResize) {
  // The root was imported at 16 px from a checkpoint of 48 px (grid 6): that grid stays in the
  // pool off the route, and a child at 32 px is resized from it, not from the parent's 16 px one.
  ViTConfig big = shape;
  big.image_size = 48;
  auto orig = std::make_unique<Component>("posembed_48", ComponentKind::PosEmbed,
                                          component_layout(ComponentKind::PosEmbed, big), be, DType::F32);
  init_component(*orig, be, 5);
  const Tensor expect = resize_position_embedding(orig->values().reshape({1 + 36, 16}), 4);
  const ComponentId original = pool.add(kRootTask, std::move(orig));
  Hparams gen = models.at(0).hparams;
  gen[Hp::ImageSize] = 32;
  const ModelRecord c = child_of(0, 0, 7, &gen, original);
  const size_t pos = std::find(c.route_names.begin(), c.route_names.end(), "posembed_32") - c.route_names.begin();
  ASSERT_LT(pos, c.route.size());
  bool recorded = false;
  for (const auto& m : c.mutations) recorded |= m == "resize posembed_48->posembed_32";
  EXPECT_TRUE(recorded);
  const float* got = pool.at(c.route[pos]).component->values().data<float>();
  for (int64_t k = 0; k < expect.numel(); ++k) ASSERT_EQ(got[k], expect.data<float>()[k]) << k;
}

TEST_F(ChildFixture, OwnTrainableLayersAreAlwaysClonedAndTheHeadStaysInTheTask) {
  const ModelId parent = keep(child_of(0, 0, 11));
  const ModelRecord& p = models.at(parent);
  for (uint64_t k = 0; k < 50; ++k) {
    const ModelRecord c = child_of(parent, 0, 200 + k);
    for (size_t i = 0; i < c.route.size(); ++i) {
      const auto src = std::find(p.route_names.begin(), p.route_names.end(), c.route_names[i]) - p.route_names.begin();
      if (size_t(src) < p.route.size() && p.route_trainable[src]) {  // the task's own layer
        EXPECT_TRUE(c.route_trainable[i]) << c.route_names[i];
        EXPECT_NE(c.route[i], p.route[src]) << c.route_names[i];
        if (pool.at(c.route[i]).component->size() == pool.at(p.route[src]).component->size()) {
          EXPECT_EQ(bytes(c.route[i]), bytes(p.route[src])) << c.route_names[i];
        } else {  // an adapter re-made at a mutated adapter_dim
          const std::string made = cat("new ", c.route_names[i], " (dim ", c.hparams.adapter_dim(), ")");
          EXPECT_NE(std::find(c.mutations.begin(), c.mutations.end(), made), c.mutations.end()) << made;
        }
      }
    }
    for (const auto& m : c.mutations) EXPECT_NE(m, "new head");
    discard(c);
  }
  // Another task never takes this task's head.
  const ModelRecord other = child_of(parent, 1, 300);
  EXPECT_NE(std::find(other.mutations.begin(), other.mutations.end(), "new head"), other.mutations.end());
}

TEST_F(ChildFixture, FewerLayersDropTheTopBlocks) {
  models.at(0).hparams[Hp::NumLayers] = 1;
  for (uint64_t k = 0; k < 30; ++k) {
    const ModelRecord c = child_of(0, 0, 400 + k);
    int blocks = 0;
    for (const auto& n : c.route_names)
      if (n.rfind("encoderblock_", 0) == 0) {
        EXPECT_EQ(n, "encoderblock_" + std::to_string(blocks));
        ++blocks;
      }
    EXPECT_EQ(blocks, c.hparams.num_layers());
    EXPECT_LE(blocks, 2);
    discard(c);
  }
}

TEST_F(ChildFixture, ClonesCarryTheOptimizerState) {
  const ComponentId block = models.at(0).route[3];
  Tensor& v = pool.component(block).velocity();
  for (int64_t i = 0; i < v.numel(); ++i) v.data<float>()[i] = float(i % 7);
  const ComponentId copy = pool.clone(block, 4);
  EXPECT_FALSE(pool.resident(copy));  // a shell until made
  pool.make_new(copy);
  EXPECT_EQ(pool.at(copy).owner, 4);
  const Tensor& cv = pool.at(copy).component->optimizer_state();
  ASSERT_TRUE(cv.defined());
  EXPECT_EQ(0, std::memcmp(cv.raw(), v.raw(), v.bytes()));
  EXPECT_EQ(bytes(copy), bytes(block));
  pool.keep_only({block});
  EXPECT_FALSE(pool.contains(copy));
  EXPECT_TRUE(pool.contains(block));
}

}  // namespace
}  // namespace munet
