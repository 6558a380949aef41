// The evolution on a GPU: children trained by CUDA workers (several at once, sharing the cache of
// frozen components) reach the per-task accuracies of the CPU run of the same small config within
// a stated tolerance, and the GPU result does not depend on how many children train at once.
#include <gtest/gtest.h>

#include "evo/device_workers.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/devices.h"
#include "support/data_root.h"
#include "support/evolution_fingerprint.h"

namespace munet {
namespace {

// Long enough children that the accuracies are well above chance (1/10 for Bangla and Devanagari
// digits), so the comparison means something.
EvolutionConfig small_config() {
  EvolutionConfig c = test::tiny_evolution_config();
  c.task_iterations = 1;
  c.children_per_task = 4;
  c.parallel_slots = 4;
  c.validations = 2;
  c.steps_per_validation = 40;
  c.batch_size = 64;
  c.max_validation_examples = 500;
  c.eval_batch_size = 250;
  return c;
}

struct Outcome {
  std::vector<TaskSummary> summaries;
  std::string fingerprint;
};

// workers = 0: on the CPU; else on GPU 0 with that many children at once, fp32 GEMMs.
Outcome evolve(int workers, const std::string& root) {
  CpuBackend cpu(2);
  Evolution evo(cpu, cpu.pool(), small_config(), test::two_character_tasks(root), nullptr);
  std::unique_ptr<DeviceWorkers> dw;
  if (workers > 0) {
    std::vector<std::unique_ptr<Backend>> backends;
    for (int i = 0; i < workers; ++i) backends.push_back(std::make_unique<CudaBackend>(CudaOptions{0, GemmPrecision::FP32}));
    dw = std::make_unique<DeviceWorkers>(std::move(backends), 1, int64_t(256) << 20);
    evo.use_workers(dw.get());
  }
  evo.run();
  return {evo.summaries(), test::fingerprint(evo)};
}

// Tolerance: 0.10 absolute accuracy per task. fp32 GEMMs on the GPU round differently from
// OpenBLAS (about 1e-6 relative per op); over 80 SGD steps per child the models drift apart a
// little and, near ties, selection may pick a different child, so the per-task accuracies agree
// only approximately. A broken op (wrong gradient, wrong layout) costs far more than 0.10.
TEST(CudaEvolution, ReachesTheCpuAccuraciesWithinTolerance) {
  if (cuda_devices().devices.empty()) GTEST_SKIP() << "no CUDA device";
  MUNET_REQUIRE_DATA_ROOT(root);
  const Outcome cpu = evolve(0, root), gpu = evolve(3, root);
  ASSERT_EQ(cpu.summaries.size(), gpu.summaries.size());
  for (size_t t = 0; t < cpu.summaries.size(); ++t) {
    const TaskSummary &a = cpu.summaries[t], &b = gpu.summaries[t];
    SCOPED_TRACE(a.task);
    EXPECT_GT(a.validation_accuracy, 0.3) << "the CPU run must learn, or the comparison means nothing";
    EXPECT_NEAR(a.validation_accuracy, b.validation_accuracy, 0.10);
    EXPECT_NEAR(a.test_accuracy, b.test_accuracy, 0.10);
  }
}

TEST(CudaEvolution, ResultDoesNotDependOnChildrenAtOnce) {
  if (cuda_devices().devices.empty()) GTEST_SKIP() << "no CUDA device";
  MUNET_REQUIRE_DATA_ROOT(root);
  EXPECT_TRUE(evolve(1, root).fingerprint == evolve(4, root).fingerprint)
      << "1 and 4 concurrent children on the GPU gave different pools or models";
}

}  // namespace
}  // namespace munet
