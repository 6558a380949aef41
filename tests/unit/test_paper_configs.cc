// The reference configurations on real tasks with a tiny root: the one-epoch cap on a small task
// (step count, training images and the schedule that follows it), the paper's baselines (only the
// intended components train, the root's stay untouched, the compute equals the evolution's), and
// the presets as README's table states them.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "app/evolve_options.h"
#include "evo/evolution.h"
#include "kernels/cpu/cpu_backend.h"
#include "nn/vit_model.h"
#include "support/data_root.h"

namespace munet {
namespace {

EvolutionConfig tiny(uint64_t seed) {
  EvolutionConfig c;
  c.root.image_size = 16, c.root.patch = 8, c.root.hidden = 32, c.root.mlp = 64, c.root.heads = 2, c.root.layers = 2;
  c.max_image_size = 32;
  c.task_iterations = 2;
  c.children_per_task = 4;
  c.parallel_slots = 2;
  c.validations = 1;
  c.steps_per_validation = 3;
  c.batch_size = 16;
  c.max_validation_examples = 100;
  c.seed = seed;
  return c;
}

std::vector<uint8_t> bytes_of(const Tensor& t) {
  const auto* p = static_cast<const uint8_t*>(t.raw());
  return std::vector<uint8_t>(p, p + t.bytes());
}

// cmaterdb_devanagari has fewer training examples than 1000 steps of batch 64: each of the 2
// validations comes after ceil(train / 64) steps, and the cosine schedule spans 2 x that.
TEST(PaperConfigs, EpochCapOnASmallTask) {
  MUNET_REQUIRE_DATA_ROOT(root);
  CpuBackend be(2);
  EvolutionConfig c = tiny(1);
  c.task_iterations = 1;
  c.children_per_task = 2;
  c.validations = 2;
  c.steps_per_validation = 1000;
  c.batch_size = 64;
  std::vector<TaskData> tasks;
  tasks.push_back(load_task("cmaterdb_devanagari", root));
  const int64_t train = tasks[0].train.size;
  const int64_t capped = (train + 63) / 64;
  ASSERT_LT(capped, 1000);
  std::printf("cmaterdb_devanagari: %lld training examples, %lld steps per validation (uncapped: 1000)\n",
              (long long)train, (long long)capped);
  Evolution evo(be, be.pool(), c, std::move(tasks), nullptr);
  evo.run();
  for (const auto& [id, m] : evo.models()) {
    if (id == evo.root()) continue;
    EXPECT_EQ(m.train_images, 2 * capped * 64) << "model " << id;
    EXPECT_EQ(m.validation_accuracies.size(), 2u);
    const TrainConfig tc = child_training(c, m.hparams, train);
    EXPECT_EQ(tc.steps, 2 * capped);
    // The schedule follows the capped length: warm-up over its first steps, zero at its end.
    const LrSchedule s{tc.schedule, tc.lr, tc.warmup_ratio, tc.steps, tc.validations};
    if (tc.schedule == LrScheduleKind::Cosine) {
      const int64_t warmup = int64_t(tc.warmup_ratio * double(tc.steps));
      EXPECT_DOUBLE_EQ(s.at(warmup), tc.lr);
      EXPECT_LT(s.at(tc.steps - 1), 0.01 * tc.lr);
    }
  }
  c.epoch_cap = false;
  EXPECT_EQ(child_training(c, evo.models().at(evo.root()).hparams, train).steps, 2 * 1000);
}

// Per baseline, the route components a child trains, by name.
std::set<std::string> trained(const ModelRecord& m) {
  std::set<std::string> out;
  for (size_t i = 0; i < m.route.size(); ++i)
    if (m.route_trainable[i]) out.insert(m.route_names[i]);
  return out;
}

int64_t task_images(const Evolution& evo, int task) {
  int64_t n = 0;
  for (const auto& [id, m] : evo.models())
    if (m.task == task) n += m.train_images;
  return n;
}

TEST(PaperConfigs, BaselinesTrainOnlyTheirComponentsWithTheEvolutionsCompute) {
  MUNET_REQUIRE_DATA_ROOT(root);
  CpuBackend be(2);
  auto one_task = [&] {
    std::vector<TaskData> t;
    t.push_back(load_task("cmaterdb_devanagari", root));
    return t;
  };
  Evolution evolution(be, be.pool(), tiny(2), one_task(), nullptr);
  evolution.run();
  const int64_t evolution_images = task_images(evolution, 0);
  ASSERT_EQ(evolution_images, 2 * 4 * 1 * 3 * 16);  // iterations x children x validations x steps x batch

  const std::set<std::string> everything = {"embedding", "cls", "posembed_16", "encoderblock_0", "encoderblock_1",
                                            "encoder_norm", "head"};
  const std::map<std::string, std::set<std::string>> expected = {
      {"finetune", everything},
      {"freeze:1", {"encoderblock_1", "encoder_norm", "head"}},
      {"adapters:8", {"adapter_0", "adapter_1", "encoder_norm", "head"}},
  };
  for (const auto& [baseline, want] : expected) {
    EvolutionConfig c = tiny(2);
    c.baseline = baseline;
    Evolution evo(be, be.pool(), c, one_task(), nullptr);
    const ModelRecord& root_model = evo.models().at(evo.root());
    std::map<ComponentId, std::vector<uint8_t>> root_values;
    for (ComponentId id : root_model.route) root_values[id] = bytes_of(evo.pool().at(id).component->values());
    evo.run();
    EXPECT_EQ(evo.total_generations(), 1) << baseline;
    int children = 0;
    for (const auto& [id, m] : evo.models()) {
      if (id == evo.root()) continue;
      ++children;
      EXPECT_EQ(m.parent, evo.root()) << baseline;
      EXPECT_EQ(m.validation_accuracies.size(), 4u) << baseline;  // 2 iterations x 2 generations x 1
      EXPECT_EQ(m.hparams, root_model.hparams) << baseline << ": a baseline mutates no hyperparameter";
      EXPECT_EQ(trained(m), want) << baseline;
      for (size_t i = 0; i < m.route.size(); ++i)
        if (!m.route_trainable[i]) {
          EXPECT_TRUE(root_values.count(m.route[i])) << baseline << ": frozen " << m.route_names[i] << " is the root's";
          EXPECT_EQ(bytes_of(evo.pool().at(m.route[i]).component->values()), root_values[m.route[i]])
              << baseline << ": " << m.route_names[i] << " changed";
        }
      for (const std::string& mutation : m.mutations) {  // the recipe, in the genealogy
        if (mutation.rfind("add adapter_", 0) == 0) {
          EXPECT_NE(mutation.find("(dim 8)"), std::string::npos) << mutation;
        }
      }
    }
    EXPECT_EQ(children, c.parallel_slots) << baseline;
    const ModelRecord& best = evo.models().at(evo.best(0));  // its trained components are kept
    for (size_t i = 0; i < best.route.size(); ++i) {
      if (best.route_names[i].rfind("adapter_", 0) == 0) {
        EXPECT_EQ(adapter_dim_of(*evo.pool().at(best.route[i]).component), 8);
      }
    }
    const int64_t images = task_images(evo, 0);
    EXPECT_LE(std::abs(double(images - evolution_images)), 0.05 * double(evolution_images))
        << baseline << ": " << images << " training images against the evolution's " << evolution_images;
  }
}

// README's preset table (between <!-- presets --> markers): `field` | chars-ti3 | large-l16 | ...
std::map<std::string, std::pair<std::string, std::string>> readme_presets() {
  std::ifstream in(std::string(MUNET_SOURCE_DIR) + "/README.md");
  std::map<std::string, std::pair<std::string, std::string>> rows;
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.find("<!-- presets -->") != std::string::npos) inside = true;
    if (line.find("<!-- /presets -->") != std::string::npos) inside = false;
    if (!inside || line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream s(line.substr(1));
    std::string cell;
    while (std::getline(s, cell, '|')) {
      const size_t a = cell.find_first_not_of(' '), b = cell.find_last_not_of(' ');
      std::string v = a == std::string::npos ? "" : cell.substr(a, b - a + 1);
      if (v.size() >= 2 && v.front() == '`' && v.back() == '`') v = v.substr(1, v.size() - 2);
      cells.push_back(v);
    }
    if (cells.size() >= 3) rows[cells[0]] = {cells[1], cells[2]};
  }
  return rows;
}

// `munet evolve --preset NAME` resolved, field by field, against README's column for it.
void expect_readme_values(const std::string& preset) {
  const auto rows = readme_presets();
  ASSERT_FALSE(rows.empty()) << "README.md has no preset table";
  namespace po = boost::program_options;
  po::options_description all;
  all.add(app::common_options()).add(app::model_options()).add(app::evolution_options());
  po::variables_map vm;
  std::vector<std::string> args = {"evolve", "--preset", preset};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  ASSERT_TRUE(app::parse_options(int(argv.size()), argv.data(), "usage", all, vm));
  const EvolutionConfig c = app::evolution_config_from(vm);
  c.validate();
  std::map<std::string, std::string> resolved;
#define MUNET_FIELD_TEXT(type, member, name, ...) resolved[name] = app::value_text<type>(c.member);
  MUNET_EVOLUTION_FIELDS(MUNET_FIELD_TEXT)
#undef MUNET_FIELD_TEXT
  resolved["model"] = vm["model"].as<std::string>();
  resolved["image_size"] = cat(c.root.image_size);
  resolved["layers"] = cat(c.root.layers);
  resolved["hidden"] = cat(c.root.hidden);
  resolved["tasks"] = vm["tasks"].as<std::string>();
  for (const auto& [field, value] : resolved) {
    auto it = rows.find(field);
    if (it == rows.end()) {
      ADD_FAILURE() << "README's preset table lacks `" << field << "`";
      continue;
    }
    EXPECT_EQ(value, preset == "chars-ti3" ? it->second.first : it->second.second) << preset << " " << field;
  }
}

TEST(PaperConfigs, CharsTi3ResolvesToReadmesTable) { expect_readme_values("chars-ti3"); }
TEST(PaperConfigs, LargeL16ResolvesToReadmesTable) { expect_readme_values("large-l16"); }

TEST(PaperConfigs, CommandLineBeatsConfigFileBeatsPreset) {
  namespace po = boost::program_options;
  const std::string cfg = ::testing::TempDir() + "/munet_preset_test.cfg";
  std::ofstream(cfg) << "mu = 0.14\nbatch-size = 128\n";
  po::options_description all;
  all.add(app::common_options()).add(app::model_options()).add(app::evolution_options());
  po::variables_map vm;
  std::vector<std::string> args = {"evolve", "--preset", "chars-ti3", "--config", cfg, "--batch-size", "32"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  ASSERT_TRUE(app::parse_options(int(argv.size()), argv.data(), "usage", all, vm));
  const EvolutionConfig c = app::evolution_config_from(vm);
  EXPECT_EQ(c.batch_size, 32);              // command line
  EXPECT_DOUBLE_EQ(c.mu, 0.14);             // config file over the preset's 0.1
  EXPECT_DOUBLE_EQ(c.warmup_ratio, 0.1);    // the preset over the default 0.05
  EXPECT_EQ(c.eval_batch_size, 256);        // the default
}

}  // namespace
}  // namespace munet
