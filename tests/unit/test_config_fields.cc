// The configuration's one declaration (evo/config_fields.h) and what it drives: every field is
// documented in io/SCHEMA.md and read by analysis/checkpoint_data.py; range checks and parsers
// name the field; the one-epoch cap and a paper baseline's turn plan.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "evo/config.h"
#include "optim/schedule.h"
#include "support/expect_error.h"

namespace munet {
namespace {

std::string source_file(const std::string& relative) {
  const std::string path = std::string(MUNET_SOURCE_DIR) + "/" + relative;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ConfigFields, EveryFieldIsInTheSchemaAndTheAnalysisLoader) {
  const std::string schema = source_file("io/SCHEMA.md"), loader = source_file("analysis/checkpoint_data.py");
  ASSERT_FALSE(schema.empty());
  ASSERT_FALSE(loader.empty());
  for (const char* name : kConfigFieldNames) {
    EXPECT_NE(schema.find(std::string("`") + name + "`"), std::string::npos) << "io/SCHEMA.md lacks `" << name << "`";
    EXPECT_NE(loader.find(std::string("\"") + name + "\": "), std::string::npos)
        << "analysis/checkpoint_data.py CONFIG_FIELDS lacks \"" << name << "\"";
  }
}

TEST(ConfigFields, RangesAndParsersNameTheField) {
  EvolutionConfig c;
  c.validate();
  c.batch_size = 0;
  EXPECT_ERROR(c.validate(), "batch_size (--batch-size) must be in [1, 1000000], got 0");
  c = EvolutionConfig{};
  c.mu = 0.5;
  EXPECT_ERROR(c.validate(), "mu (--mu) must be in [0.1, 0.3], got 0.5");
  c = EvolutionConfig{};
  c.mutate = "lr,dropout";
  EXPECT_ERROR(c.validate(), "unknown hyperparameter 'dropout'");
  c = EvolutionConfig{};
  c.momentum_values = "none,0.2,1.5";
  EXPECT_ERROR(c.validate(), "momentum value '1.5'");
  c = EvolutionConfig{};
  c.momentum_values = "none,0.5";  // the root's momentum 0.9 must be a valid value
  EXPECT_ERROR(c.validate(), "momentum", "0.9");
  c = EvolutionConfig{};
  c.baseline = "freeze:4";
  EXPECT_ERROR(c.validate(), "freeze:4", "[0, 3]");
  c.baseline = "adapters:24";
  EXPECT_ERROR(c.validate(), "adapter_dim", "24");
  c.baseline = "true";
  EXPECT_ERROR(c.validate(), "unknown baseline 'true'");
}

TEST(ConfigFields, MomentumNoneIsPlainSgdAndPrintsAsNone) {
  EvolutionConfig c;
  c.momentum_values = "none,0.2,0.4,0.5,0.6,0.7,0.8,0.85,0.9,0.95,0.98,0.99";
  c.validate();
  const HpSpace space = c.space();
  EXPECT_EQ(space.spec(Hp::Momentum).values.front(), 0.0);
  EXPECT_EQ(space.value_string(Hp::Momentum, 0.0), "none");
  Hparams h = space.defaults(32);
  h[Hp::Momentum] = 0.2;
  Rng rng(1);
  int none = 0;
  for (int i = 0; i < 20 && none == 0; ++i) {
    Hparams m = h;
    none += space.mutate(Hp::Momentum, m, 1.0, rng) == "momentum 0.2->none";
  }
  EXPECT_GT(none, 0);
}

TEST(ConfigFields, MutateChoosesTheHyperparametersAndBaselinesMutateNothing) {
  EvolutionConfig c;
  c.mutate = "lr,momentum";
  const auto on = c.mutating();
  for (int i = 0; i < kHpCount; ++i)
    EXPECT_EQ(on[i], i == int(Hp::Lr) || i == int(Hp::Momentum)) << kHpNames[i];
  c.mutate = "all";
  c.baseline = "finetune";
  for (bool b : c.mutating()) EXPECT_FALSE(b);
}

// The cap on a task of 1,000 training examples at batch 64: ceil(1000/64) = 16 steps between
// validations instead of 100, and a cosine schedule over 3 x 16 steps ends at zero.
TEST(ConfigFields, EpochCapLimitsStepsAndTheScheduleFollows) {
  EvolutionConfig c;
  c.batch_size = 64;
  c.steps_per_validation = 100;
  c.validations = 3;
  EXPECT_EQ(c.steps_per_validation_for(1000), 16);
  EXPECT_EQ(c.steps_per_validation_for(100000), 100);  // more than 100 batches: the cap does not bind
  EXPECT_EQ(c.steps_per_validation_for(64 * 100), 100);
  c.epoch_cap = false;
  EXPECT_EQ(c.steps_per_validation_for(1000), 100);
}

TEST(ConfigFields, PaperBaselinesTrainOneGenerationWithTheWholeTurnsValidations) {
  EvolutionConfig c;
  c.task_iterations = 2;
  c.children_per_task = 64;
  c.parallel_slots = 8;
  c.validations = 5;
  EXPECT_EQ(c.turn_iterations(), 2);
  EXPECT_EQ(c.turn_children(), 64);
  EXPECT_EQ(c.child_validations(), 5);
  c.baseline = "transfer";  // evolves alone: the evolution's plan
  EXPECT_EQ(c.child_validations(), 5);
  for (const char* b : {"finetune", "freeze:1", "adapters:16"}) {
    c.baseline = b;
    EXPECT_EQ(c.turn_iterations(), 1) << b;
    EXPECT_EQ(c.turn_children(), 8) << b;
    EXPECT_EQ(c.child_validations(), 5 * 2 * 8) << b;  // 8 slots x 80 validations = 2 x 64 x 5
  }
  c.baseline = "freeze";
  c.baseline_freeze = 1;
  EXPECT_EQ(c.baseline_plan().text(), "freeze:1");
  EXPECT_TRUE(c.baseline_plan().forces("encoderblock_2"));
  EXPECT_TRUE(c.baseline_plan().forces("encoderblock_1"));
  EXPECT_FALSE(c.baseline_plan().forces("encoderblock_0"));
  EXPECT_FALSE(c.baseline_plan().forces("embedding"));
}

}  // namespace
}  // namespace munet
