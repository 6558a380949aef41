// Stages (evo/evolution.h): a task added after a run finished runs its own turns, seeded by every
// best model; the earlier task's best model, its components and test accuracy never change; with
// task_iterations = 1 the grown system is bit for bit the one-stage run over all tasks, and with
// 2 iterations it is not (the earlier task gets no more turns).
#include <gtest/gtest.h>

#include "kernels/cpu/cpu_backend.h"
#include "support/data_root.h"
#include "support/evolution_fingerprint.h"
#include "support/expect_error.h"

namespace munet {
namespace {

TEST(EvolutionStages, AStageAddedLaterKeepsEarlierTasksAndMatchesOneStageWithOneIteration) {
  MUNET_REQUIRE_DATA_ROOT(root);
  CpuBackend be(2);
  for (int iterations : {1, 2}) {
    SCOPED_TRACE(cat("task_iterations ", iterations));
    EvolutionConfig c = test::tiny_evolution_config();
    c.task_iterations = iterations;
    std::vector<TaskData> tasks = test::two_character_tasks(root);
    Evolution one_stage(be, be.pool(), c, tasks, nullptr);
    one_stage.run();

    Evolution grown(be, be.pool(), c, {tasks[0]}, nullptr);
    grown.run();
    const ModelId best = grown.best(0);
    const double test_accuracy = grown.models().at(best).test_accuracy;
    std::map<ComponentId, std::string> route;
    for (ComponentId id : grown.models().at(best).route)
      route[id] = test::bytes_of(grown.pool().at(id).component->values());
    ASSERT_TRUE(grown.done());
    grown.add_stage({tasks[1]}, {""});
    EXPECT_FALSE(grown.done());
    EXPECT_EQ(grown.stages(), 2);
    EXPECT_EQ(grown.state().tasks[1].joined_at, grown.generations_done());
    EXPECT_ERROR(grown.add_stage({tasks[1]}, {""}), "task 'cmaterdb_bangla' is already in the run (stage 2)");
    grown.run();
    EXPECT_EQ(grown.generations_done(), grown.total_generations());
    EXPECT_EQ(grown.best(0), best);
    EXPECT_EQ(grown.models().at(best).test_accuracy, test_accuracy);
    for (const auto& [id, values] : route) {
      EXPECT_EQ(test::bytes_of(grown.pool().at(id).component->values()), values) << "component " << id;
      EXPECT_TRUE(grown.pool().at(id).locks.count(0)) << "component " << id;
    }
    if (iterations == 1)
      EXPECT_EQ(test::fingerprint(grown), test::fingerprint(one_stage));
    else
      EXPECT_NE(test::fingerprint(grown), test::fingerprint(one_stage));
  }
}

}  // namespace
}  // namespace munet
