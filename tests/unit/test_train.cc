// Training on real data: ~200 steps on MNIST reach well above chance, and the same seed gives
// bit-identical training losses (also with a different number of threads, and on the device
// path, where batches are prepared a step ahead on another thread).
#include <gtest/gtest.h>

#include <cstring>

#include "kernels/cpu/cpu_backend.h"
#include "nn/vit_model.h"
#include "support/data_root.h"
#include "support/pretend_device.h"
#include "train/trainer.h"

namespace munet {
namespace {

const TaskData& mnist(const std::string& root) {
  static const TaskData task = load_task("mnist", root);
  return task;
}

TrainResult train(const TaskData& task, int threads, const TrainConfig& tc, uint64_t seed) {
  CpuBackend be(threads);
  ViTConfig cfg = vit_preset("char");
  VitModel m = fresh_vit(be, cfg, seed);
  Network net(be, cfg, m.route);
  return train_network(be, net, task, tc, be.pool(), nullptr);
}

// Chance is 10%; 200 steps of batch 128 from scratch reach about 90% (the threshold leaves room
// for run-to-run variation across seeds, while a broken gradient or data path stays far below).
TEST(Train, TwoHundredStepsOnMnistBeatChanceByFar) {
  MUNET_REQUIRE_DATA_ROOT(root);
  TrainConfig tc;
  tc.steps = 200;
  tc.validations = 2;
  tc.augmentation.crop = false;
  tc.augmentation.flip = false;
  const TrainResult r = train(mnist(root), 2, tc, 0);
  ASSERT_EQ(r.validations.size(), 2u);
  EXPECT_EQ(r.validations[1].result.examples, 3000);
  EXPECT_GE(r.best_accuracy, 0.80) << "validation accuracy after 200 steps";
  EXPECT_LT(r.losses.back(), r.losses.front());
}

TEST(Train, SameSeedGivesBitIdenticalLosses) {
  MUNET_REQUIRE_DATA_ROOT(root);
  TrainConfig tc;
  tc.steps = 20;
  tc.validations = 1;
  tc.max_validation_examples = 256;
  const TrainResult a = train(mnist(root), 2, tc, 3), b = train(mnist(root), 2, tc, 3);
  ASSERT_EQ(a.losses.size(), 20u);
  EXPECT_EQ(0, std::memcmp(a.losses.data(), b.losses.data(), 20 * sizeof(double)));
  EXPECT_EQ(a.best_accuracy, b.best_accuracy);
  // The thread count does not change any result either.
  const TrainResult c = train(mnist(root), 1, tc, 3);
  EXPECT_EQ(0, std::memcmp(a.losses.data(), c.losses.data(), 20 * sizeof(double)));
  // A different seed does.
  const TrainResult d = train(mnist(root), 2, tc, 4);
  EXPECT_NE(0, std::memcmp(a.losses.data(), d.losses.data(), 20 * sizeof(double)));
}

// A device backend's batches are prepared one step ahead while the device computes; the
// results must be those of the CPU path, bit for bit (with the validations' best-step restore).
TEST(Train, DevicePathWithBatchesPreparedAheadMatchesTheCpuPath) {
  MUNET_REQUIRE_DATA_ROOT(root);
  TrainConfig tc;
  tc.steps = 12;
  tc.validations = 3;
  tc.batch_size = 32;
  tc.max_validation_examples = 256;
  const ViTConfig cfg = vit_preset("char");
  test::PretendDevice device(1);
  ThreadPool data_pool(2);
  VitModel m = fresh_vit(device, cfg, 5);
  Network net(device, cfg, m.route);
  const TrainResult on_device = train_network(device, net, mnist(root), tc, data_pool, nullptr);
  CpuBackend cpu(1);
  VitModel ref = fresh_vit(cpu, cfg, 5);
  Network ref_net(cpu, cfg, ref.route);
  const TrainResult on_cpu = train_network(cpu, ref_net, mnist(root), tc, cpu.pool(), nullptr);
  ASSERT_EQ(on_device.losses.size(), 12u);
  EXPECT_EQ(0, std::memcmp(on_device.losses.data(), on_cpu.losses.data(), 12 * sizeof(double)));
  EXPECT_EQ(on_device.best_accuracy, on_cpu.best_accuracy);
  for (size_t i = 0; i < m.components.size(); ++i)
    EXPECT_EQ(0, std::memcmp(m.components[i]->values().raw(), ref.components[i]->values().raw(),
                             m.components[i]->values().bytes()))
        << m.components[i]->name();
}

}  // namespace
}  // namespace munet
