// The µ2Net rules in isolation: hyperparameter mutation, parent sampling, scoring.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "evo/hparams.h"
#include "evo/sampling.h"
#include "evo/scoring.h"
#include "kernels/backend.h"
#include "support/expect_error.h"

namespace munet {
namespace {

TEST(Hparams, DefaultsAreValidAndMatchTheReference) {
  const HpSpace space(16, 3, 64);
  const Hparams h = space.defaults(32);
  EXPECT_DOUBLE_EQ(h.mu(), 0.2);
  EXPECT_DOUBLE_EQ(h[Hp::Lr], 0.01);
  EXPECT_EQ(h.schedule(), LrScheduleKind::Cosine);
  EXPECT_EQ(h.num_layers(), 3);
  EXPECT_EQ(h.adapter_dim(), 32);
  EXPECT_EQ(space.spec(Hp::ImageSize).values, (std::vector<double>{16, 32, 48, 64}));
  EXPECT_EQ(space.spec(Hp::Mu).values.size(), 11u);
  EXPECT_ERROR(space.defaults(40), "image_size", "40");
}

// Every hyperparameter, from every valid value: a mutation moves exactly one step (or stays at
// an end), up and down about equally often.
TEST(Hparams, AMutatedValueIsAlwaysANeighbour) {
  const HpSpace space(16, 3, 64);
  Rng rng(5);
  for (int i = 0; i < kHpCount; ++i) {
    const Hp h = static_cast<Hp>(i);
    const HpSpec& s = space.spec(h);
    for (size_t from = 0; from < s.values.size(); ++from) {
      int up = 0, down = 0;
      const int n = 2000;
      for (int k = 0; k < n; ++k) {
        Hparams hp = space.defaults(32);
        hp[h] = s.values[from];
        space.mutate(h, hp, 1.0, rng);
        const size_t to = value_index(s, hp[h]);
        ASSERT_LE(std::max(to, from) - std::min(to, from), 1u) << s.name << " from " << s.values[from];
        up += to > from;
        down += to < from;
      }
      if (from > 0 && from + 1 < s.values.size()) {
        EXPECT_NEAR(up / double(n), 0.5, 0.05) << s.name;  // binomial sd ~0.011
        EXPECT_EQ(up + down, n) << s.name;
      }
    }
  }
}

TEST(Hparams, MutationHappensWithProbabilityMuAndEveryListMovesOneStep) {
  const HpSpace space(16, 3, 64);
  Rng rng(6);
  int changed = 0, to_restarts = 0, to_constant = 0;
  const int n = 20000;
  for (int k = 0; k < n; ++k) {
    Hparams hp = space.defaults(32);
    changed += !space.mutate(Hp::Lr, hp, 0.2, rng).empty();
    Hparams cat = space.defaults(32);
    space.mutate(Hp::LrSchedule, cat, 1.0, rng);
    to_restarts += cat.schedule() == LrScheduleKind::Restarts;
    to_constant += cat.schedule() == LrScheduleKind::Constant;
  }
  EXPECT_NEAR(changed / double(n), 0.2, 0.015);  // lr default 0.01 is interior: always moves
  // The schedule list is constant, cosine, restarts: from cosine one step either way.
  EXPECT_NEAR(to_restarts / double(n), 0.5, 0.02);
  EXPECT_EQ(to_restarts + to_constant, n);
}

// How often each model is drawn in n side-effect-free draws, as fractions.
std::map<ModelId, double> draw_frequencies(const ParentSampler& s, int n, uint64_t seed) {
  Rng rng(seed);
  std::map<ModelId, double> freq;
  size_t seed_index;
  for (int k = 0; k < n; ++k) freq[s.draw(rng, &seed_index)] += 1.0 / n;
  return freq;
}

TEST(ParentSampling, FrequenciesFollowTheHalvingRule) {
  // Own models A (1 child so far), B (2 children); seeds S1, S2 (none).
  // P(A) = 1/2; P(B) = 1/2 * 1/4 = 1/8; P(S1) = 1/2 * 3/4 = 3/8; P(S2) = 0.
  std::map<ModelId, int> counts;
  ParentSampler s({{10, 0.9}, {11, 0.8}}, {20, 21}, counts);
  s.count_child(10);
  s.count_child(11);
  s.count_child(11);
  // 200,000 draws: binomial standard deviations are at most 0.0012, the tolerance 0.005.
  auto freq = draw_frequencies(s, 200000, 7);
  EXPECT_NEAR(freq[10], 0.5, 0.005);
  EXPECT_NEAR(freq[11], 0.125, 0.005);
  EXPECT_NEAR(freq[20], 0.375, 0.005);
  EXPECT_EQ(freq[21], 0);
}

TEST(ParentSampling, UniformFallbackWhenNothingIsAccepted) {
  // A (1 child), seeds S1 (1), S2 (2): P(A) = 1/2 + f/3, P(S1) = 1/4 + f/3, P(S2) = 1/16 + f/3
  // with f = P(no acceptance) = 1/2 * 1/2 * 3/4 = 3/16.
  std::map<ModelId, int> counts;
  ParentSampler s({{1, 0.5}}, {2, 3}, counts);
  s.count_child(1);
  s.count_child(2);
  s.count_child(3);
  s.count_child(3);
  auto freq = draw_frequencies(s, 200000, 8);
  const double f = 3.0 / 16;
  EXPECT_NEAR(freq[1], 0.5 + f / 3, 0.005);
  EXPECT_NEAR(freq[2], 0.25 + f / 3, 0.005);
  EXPECT_NEAR(freq[3], 1.0 / 16 + f / 3, 0.005);
}

TEST(ParentSampling, SeedsRotatePastTheOneChosen) {
  std::map<ModelId, int> counts;
  ParentSampler s({}, {5, 6, 7}, counts);
  Rng rng(9);
  // Fresh seeds are accepted with probability 1, so each pick is the next seed in rotation.
  EXPECT_EQ(s.sample(rng), 5);
  EXPECT_EQ(s.sample(rng), 6);
  EXPECT_EQ(s.sample(rng), 7);
  EXPECT_EQ(s.offspring(6), 1);
  EXPECT_EQ(counts[7], 1);  // the counts live with the caller and outlast the sampler
  // Once every seed has a child, acceptance halves; the walk still starts after the last pick.
  ParentSampler again({}, {5, 6, 7}, counts);
  EXPECT_EQ(again.offspring(5), 1);
}

TEST(ParentSampling, BestModelTiesGoToTheNewest) {
  EXPECT_TRUE(better_model(0.9, 3, 0.9, 2));
  EXPECT_FALSE(better_model(0.9, 2, 0.9, 3));
  EXPECT_TRUE(better_model(0.91, 2, 0.9, 3));
  std::map<ModelId, int> counts;
  ParentSampler s({{2, 0.9}, {3, 0.9}}, {}, counts);
  Rng rng(1);
  EXPECT_EQ(s.sample(rng), 3);  // walked first: equal score, newer
}

TEST(Scoring, AccountedParametersShareComponentsFractionally) {
  auto be = make_cpu_backend(1);
  LayerPool pool(*be);
  auto make = [&](int64_t n) {
    return std::make_unique<Component>("c", ComponentKind::ClassToken, std::vector<ParamSpec>{{"cls", {n}, 0}},
                                       *be, DType::F32);
  };
  const ComponentId a = pool.add(0, make(100)), b = pool.add(kRootTask, make(50)), c = pool.add(2, make(30));
  pool.set_locks(0, {a});
  pool.set_locks(1, {a});
  pool.set_locks(2, {c});
  // For task 0: a is used by tasks {0, 1} -> 100/2; b by none but task 0 -> 50; c by {2, 0} -> 15.
  EXPECT_DOUBLE_EQ(accounted_params(pool, {a, b, c}, 0), 115.0);
  // For a new task 3: 100/3 + 50 + 15.
  EXPECT_DOUBLE_EQ(accounted_params(pool, {a, b, c}, 3), 100.0 / 3 + 65.0);
  ScoreConfig cfg;
  cfg.base = 0.98;
  cfg.root_params = 200;
  EXPECT_DOUBLE_EQ(score(0.9, 115.0, 0, cfg), 0.9 * std::pow(0.98, 115.0 / 200));
  cfg.base = 1.0;
  EXPECT_DOUBLE_EQ(score(0.9, 115.0, 0, cfg), 0.9);
  cfg.flops_factor = true;
  cfg.root_flops = 1000;
  EXPECT_DOUBLE_EQ(score(0.9, 115.0, 500, cfg), 0.9 * std::pow(0.99, 115.0 / 200) * std::pow(0.99, 0.5));
  // Locks: only the owner may train, and only while no other task has locked it.
  EXPECT_FALSE(pool.trainable_by(a, 0));
  EXPECT_TRUE(pool.trainable_by(c, 2));
  EXPECT_FALSE(pool.trainable_by(b, 0));
}

}  // namespace
}  // namespace munet
