// The sharded pool's pieces, in one process: shells keep name, layout, size and optimizer-state
// flag without parameters; recipes made into components give exactly what the eager operations
// gave (clone with momentum, fresh initialisation from the seed, resized position embedding);
// releasing and re-fetching keeps the flag every rank must agree on.
#include <gtest/gtest.h>

#include <cstring>

#include "kernels/cpu/cpu_backend.h"
#include "nn/posembed_resize.h"
#include "nn/vit_model.h"
#include "pool/layer_pool.h"
#include "support/expect_error.h"

namespace munet {
namespace {

struct PoolShards : ::testing::Test {
  CpuBackend be{1};
  ViTConfig shape;
  LayerPool pool{be};
  PoolShards() {
    shape.image_size = 16, shape.patch = 8, shape.hidden = 16, shape.mlp = 32, shape.heads = 2, shape.layers = 1;
    shape.num_classes = 3;
  }
  static bool same(const Tensor& a, const Tensor& b) {
    return a.bytes() == b.bytes() && std::memcmp(a.raw(), b.raw(), a.bytes()) == 0;
  }
};

TEST_F(PoolShards, ShellsKnowTheirShapeButHoldNothing) {
  auto shell = Component::shell("encoderblock_0", ComponentKind::EncoderBlock,
                                component_layout(ComponentKind::EncoderBlock, shape), be, DType::F32, true);
  const auto real = fresh_component("encoderblock_0", ComponentKind::EncoderBlock, shape, be, 1);
  EXPECT_FALSE(shell->resident());
  EXPECT_EQ(shell->size(), real->size());
  EXPECT_TRUE(shell->has_optimizer_state());
  EXPECT_ERROR(shell->values(), "encoderblock_0", "not held by this process");
  shell->make_resident(false);  // a copy used frozen: no momentum buffer
  EXPECT_TRUE(shell->resident());
  EXPECT_FALSE(shell->optimizer_state().defined());
  shell->release();
  EXPECT_TRUE(shell->has_optimizer_state()) << "a copy held without momentum must not forget the original's";
  shell->make_resident(true);
  EXPECT_TRUE(shell->optimizer_state().defined());
}

TEST_F(PoolShards, RecipesMakeWhatTheEagerOperationsMade) {
  const ComponentId block = pool.add(kRootTask, fresh_component("encoderblock_0", ComponentKind::EncoderBlock,
                                                                shape, be, 7));
  Tensor& v = pool.component(block).velocity();
  for (int64_t i = 0; i < v.numel(); ++i) v.data<float>()[i] = float(i % 5);
  const ComponentId pos = pool.add(kRootTask, fresh_component("posembed_16", ComponentKind::PosEmbed, shape, be, 7));

  const ComponentId clone = pool.clone(block, 0);
  ViTConfig big = shape;
  big.image_size = 24;
  const ComponentId fresh = pool.add_fresh(0, "adapter_0", ComponentKind::Adapter, shape, 99, 4);
  const ComponentId resized = pool.add_resized(0, pos, "posembed_24", big);
  for (ComponentId id : {clone, fresh, resized}) {
    EXPECT_TRUE(pool.pending(id));
    EXPECT_FALSE(pool.resident(id));
    pool.make_new(id);
    EXPECT_FALSE(pool.pending(id));
    EXPECT_TRUE(pool.resident(id));
  }
  EXPECT_TRUE(same(pool.component(clone).values(), pool.component(block).values()));
  EXPECT_TRUE(same(pool.component(clone).optimizer_state(), v));
  EXPECT_TRUE(same(pool.component(fresh).values(),
                   fresh_component("adapter_0", ComponentKind::Adapter, shape, be, 99, 4)->values()));
  const Component& src = pool.component(pos);
  const Tensor want = resize_position_embedding(src.values().reshape(src.layout()[0].shape), big.grid());
  EXPECT_EQ(0, std::memcmp(pool.component(resized).values().raw(), want.raw(), want.bytes()));
  EXPECT_FALSE(pool.component(resized).has_optimizer_state());
}

TEST_F(PoolShards, ARecipeNeedsItsSourceHere) {
  const ComponentId block = pool.add(kRootTask, fresh_component("encoderblock_0", ComponentKind::EncoderBlock,
                                                                shape, be, 7));
  const ComponentId clone = pool.clone(block, 0);
  pool.component(block).release();  // held by another rank
  EXPECT_ERROR(pool.make_new(clone), "made from component", "does not hold");
  EXPECT_EQ(pool.resident_bytes(), 0);
  pool.component(block).make_resident(false);
  EXPECT_EQ(pool.resident_bytes(), pool.component(block).size() * 4);
}

}  // namespace
}  // namespace munet
