// munet's option handling: values from a config file, the command line winning over it, and
// clear errors for unknown options and bad values.
#include <gtest/gtest.h>

#include <fstream>

#include "app/options.h"
#include "support/expect_error.h"
#include "support/test_files.h"

namespace munet::app {
namespace {

struct Options : ::testing::Test {
  test::TempDir dir;
  po::options_description all;
  po::variables_map vm;
  Options() { all.add(common_options()).add(train_task_options()).add(model_options()).add(training_options()).add(augmentation_options()); }

  bool parse(std::vector<std::string> args) {
    vm.clear();
    args.insert(args.begin(), "train");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return parse_options(int(argv.size()), argv.data(), "usage", all, vm);
  }
  std::string config(const std::string& text) {
    const std::string path = dir.file("run.cfg");
    std::ofstream(path) << text;
    return path;
  }
};

TEST_F(Options, DefaultsGiveTheCharacterBenchmarkRoot) {
  ASSERT_TRUE(parse({}));
  const ViTConfig m = model_from(vm, 10);
  EXPECT_EQ(m.image_size, 32);
  EXPECT_EQ(m.patch, 16);
  EXPECT_EQ(m.hidden, 192);
  EXPECT_EQ(m.mlp, 768);
  EXPECT_EQ(m.heads, 3);
  EXPECT_EQ(m.layers, 3);
  const TrainConfig t = training_from(vm);
  EXPECT_EQ(t.batch_size, 128);
  EXPECT_DOUBLE_EQ(t.lr, 0.01);
  EXPECT_EQ(t.schedule, LrScheduleKind::Cosine);
  EXPECT_DOUBLE_EQ(t.sgd.clip_norm, 1.0);
  EXPECT_TRUE(t.augmentation.crop);
}

TEST_F(Options, ConfigFileSetsValuesAndTheCommandLineWins) {
  const std::string path = config("task = fashion_mnist\nlr = 0.05\nsteps = 77\nnesterov = true\n"
                                  "model = b16\nlayers = 2\ncrop = false\n");
  ASSERT_TRUE(parse({"--config", path, "--lr", "0.2"}));
  EXPECT_EQ(vm["task"].as<std::string>(), "fashion_mnist");
  const TrainConfig t = training_from(vm);
  EXPECT_DOUBLE_EQ(t.lr, 0.2);
  EXPECT_EQ(t.steps, 77);
  EXPECT_TRUE(t.sgd.nesterov);
  EXPECT_FALSE(t.augmentation.crop);
  const ViTConfig m = model_from(vm, 5);
  EXPECT_EQ(m.hidden, 768);
  EXPECT_EQ(m.layers, 2);
  EXPECT_EQ(m.num_classes, 5);
}

TEST_F(Options, ErrorsNameTheProblem) {
  EXPECT_ERROR(parse({"--config", dir.file("missing.cfg")}), "cannot open config file", "missing.cfg");
  EXPECT_ERROR(parse({"--config", config("learning_rate = 0.1\n")}), "run.cfg", "learning_rate");
  EXPECT_THROW(parse({"--steps", "many"}), po::error);
  ASSERT_TRUE(parse({"--validations", "0"}));
  EXPECT_ERROR(training_from(vm), "number of validations");
  ASSERT_TRUE(parse({"--model", "huge"}));
  EXPECT_ERROR(model_from(vm, 10), "unknown model preset 'huge'", "b16");
  ASSERT_TRUE(parse({"--image-size", "40"}));
  EXPECT_ERROR(model_from(vm, 10), "image size 40", "patch size 16");
  ASSERT_TRUE(parse({"--lr-schedule", "step"}));
  EXPECT_ERROR(training_from(vm), "unknown learning-rate schedule 'step'");
}

}  // namespace
}  // namespace munet::app
