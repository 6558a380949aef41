// The evolution loop on two small real tasks with a tiny root: train locks keep every locked
// component and the best model's predictions bit-identical while another task evolves; pruning
// follows the rule; every sampled model is recorded; the same seed gives the same results.
#include <gtest/gtest.h>

#include <cstring>

#include "data/augment.h"
#include "evo/evolution.h"
#include "kernels/cpu/cpu_backend.h"
#include "support/data_root.h"

namespace munet {
namespace {

EvolutionConfig tiny_config(uint64_t seed) {
  EvolutionConfig c;
  c.root.image_size = 16;
  c.root.patch = 8;
  c.root.hidden = 32;
  c.root.mlp = 64;
  c.root.heads = 2;
  c.root.layers = 2;
  c.max_image_size = 32;
  c.task_iterations = 2;
  c.children_per_task = 4;
  c.parallel_slots = 2;
  c.validations = 2;
  c.steps_per_validation = 5;
  c.batch_size = 32;
  c.max_validation_examples = 200;
  c.seed = seed;
  return c;
}

std::vector<TaskData> two_tasks(const std::string& root) {
  return {load_task("cmaterdb_devanagari", root), load_task("cmaterdb_bangla", root)};
}

std::vector<uint8_t> bytes_of(const Tensor& t) {
  const auto* p = static_cast<const uint8_t*>(t.raw());
  return std::vector<uint8_t>(p, p + t.bytes());
}

TEST(Evolution, LockedComponentsAndBestPredictionsNeverChange) {
  MUNET_REQUIRE_DATA_ROOT(root);
  CpuBackend be(2);
  Evolution evo(be, be.pool(), tiny_config(1), two_tasks(root), nullptr);
  evo.turn(0, 0);
  const ModelId best = evo.best(0);
  const ModelRecord& m = evo.models().at(best);
  std::vector<std::vector<uint8_t>> values;
  for (ComponentId id : m.route) values.push_back(bytes_of(evo.pool().at(id).component->values()));
  const int S = m.hparams.image_size(), B = 16;
  Tensor images = Tensor::host({B, S, S, 3}, DType::F32);
  std::vector<int64_t> idx(B);
  for (int b = 0; b < B; ++b) idx[b] = b;
  make_batch(evo.tasks()[0].test, idx.data(), B, S, nullptr, 0, images.data<float>(), be.pool());
  const std::vector<uint8_t> before = bytes_of(evo.logits(best, images));

  evo.turn(1, 0);  // the other task evolves, sharing and cloning task 0's components
  ASSERT_EQ(evo.best(0), best);
  for (size_t i = 0; i < m.route.size(); ++i) {
    ASSERT_TRUE(evo.pool().contains(m.route[i])) << m.route_names[i];
    EXPECT_EQ(values[i], bytes_of(evo.pool().at(m.route[i]).component->values())) << m.route_names[i];
    EXPECT_TRUE(evo.pool().at(m.route[i]).locks.count(0)) << m.route_names[i];
    EXPECT_FALSE(evo.pool().trainable_by(m.route[i], 1)) << m.route_names[i];
  }
  EXPECT_EQ(before, bytes_of(evo.logits(best, images)));
  // Task 1's children did route through task 0's model or the root (both are its seeds).
  int from_other = 0;
  for (const auto& [id, r] : evo.models())
    if (r.task == 1) from_other += evo.models().at(r.parent).task != 1;
  EXPECT_GT(from_other, 0);
}

TEST(Evolution, PruningRecordsAndDeterminism) {
  MUNET_REQUIRE_DATA_ROOT(root);
  auto run = [&](uint64_t seed) {
    CpuBackend be(2);
    auto evo = std::make_unique<Evolution>(be, be.pool(), tiny_config(seed), two_tasks(root), nullptr);
    evo->run();
    std::vector<std::string> trace;
    for (const auto& [id, r] : evo->models()) {
      std::string t = cat(id, " task ", r.task, " parent ", r.parent, " score ", r.score, " accepted ", r.accepted);
      for (const auto& mut : r.mutations) t += " | " + mut;
      for (ComponentId c : r.route) t += cat(" ", c);
      trace.push_back(t);
    }
    for (int t = 0; t < 2; ++t)
      for (ComponentId c : evo->models().at(evo->best(t)).route) {
        const auto bytes = bytes_of(evo->pool().at(c).component->values());
        trace.push_back(std::string(bytes.begin(), bytes.end()));
      }
    // Rules on the genealogy of this run.
    const auto& models = evo->models();
    EXPECT_EQ(models.size(), 1u + 2 * 2 * 4);  // the root + every child sampled
    for (const auto& [id, r] : models) {
      if (id == evo->root()) continue;
      const ModelRecord& parent = models.at(r.parent);
      if (parent.task != r.task) EXPECT_TRUE(r.accepted) << "child " << id << " of another task's model";
      else EXPECT_EQ(r.accepted, r.score >= parent.score) << "child " << id;  // base 1: score = quality
      // A generation is sampled from the population before any of its children is trained...
      EXPECT_FALSE(parent.task == r.task && parent.iteration == r.iteration && parent.generation == r.generation)
          << "child " << id << " descends from its own generation";
      // ...and all its children share the generation's dataset hyperparameters.
      for (const auto& [id2, r2] : models) {
        if (id2 == evo->root() || r2.task != r.task || r2.iteration != r.iteration || r2.generation != r.generation)
          continue;
        for (Hp h : {Hp::ImageSize, Hp::Crop, Hp::AreaMin, Hp::AspectMin, Hp::Flip, Hp::Brightness, Hp::Contrast}) {
          EXPECT_EQ(r.hparams[h], r2.hparams[h]);
        }
      }
      // A pruned child leaves nothing in the pool.
      for (size_t i = 0; !r.accepted && i < r.route.size(); ++i) {
        if (r.route_trainable[i]) {
          EXPECT_FALSE(evo->pool().contains(r.route[i]));
        }
      }
      EXPECT_EQ(r.validation_accuracies.size(), 2u);
      EXPECT_GT(r.train_images, 0);
    }
    for (const TaskSummary& s : evo->summaries()) {
      EXPECT_GE(s.test_accuracy, 0.0) << s.task;
      EXPECT_GT(s.activated_share, 0.0);
      EXPECT_LE(s.activated_share, 1.0);
    }
    return trace;
  };
  const auto a = run(3), b = run(3);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, run(4));
}

TEST(Evolution, BaselineNeverUsesAnotherTasksModels) {
  MUNET_REQUIRE_DATA_ROOT(root);
  CpuBackend be(2);
  EvolutionConfig cfg = tiny_config(5);
  cfg.baseline = "transfer";
  cfg.task_iterations = 1;
  Evolution evo(be, be.pool(), cfg, two_tasks(root), nullptr);
  evo.run();
  for (const auto& [id, r] : evo.models())
    if (id != evo.root()) {
      const int parent_task = evo.models().at(r.parent).task;
      EXPECT_TRUE(parent_task == r.task || r.parent == evo.root()) << "child " << id;
    }
  for (ComponentId c : evo.models().at(evo.best(1)).route) EXPECT_NE(evo.pool().at(c).owner, 0);
}

}  // namespace
}  // namespace munet
