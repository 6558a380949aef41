// The parent-sampling rule.
#include "evo/sampling.h"

#include <algorithm>
#include <cmath>

#include "util/error.h"

namespace munet {

bool better_model(double score_a, ModelId a, double score_b, ModelId b) {
  return score_a > score_b || (score_a == score_b && a > b);
}

ParentSampler::ParentSampler(std::vector<std::pair<ModelId, double>> own, std::vector<ModelId> seeds,
                             std::map<ModelId, int>& offspring, size_t seed_start)
    : seeds_(std::move(seeds)), seed_start_(seed_start), offspring_(offspring) {
  for (const auto& [id, s] : own) add_own(id, s);
}

void ParentSampler::add_own(ModelId id, double score) {
  own_.emplace_back(id, score);
  std::stable_sort(own_.begin(), own_.end(), [](const auto& x, const auto& y) {
    return better_model(x.second, x.first, y.second, y.first);
  });
}

int ParentSampler::offspring(ModelId id) const {
  auto it = offspring_.find(id);
  return it == offspring_.end() ? 0 : it->second;
}

ModelId ParentSampler::draw(Rng& rng, size_t* seed_index) const {
  MUNET_CHECK(!own_.empty() || !seeds_.empty(), "parent sampling: no model to sample from");
  auto accept = [&](ModelId id) { return rng.uniform() < std::pow(0.5, offspring(id)); };
  for (const auto& [id, s] : own_)
    if (accept(id)) return id;
  for (size_t k = 0; k < seeds_.size(); ++k) {
    const size_t i = (seed_start_ + k) % seeds_.size();
    if (accept(seeds_[i])) {
      *seed_index = i;
      return seeds_[i];
    }
  }
  const size_t i = static_cast<size_t>(rng.below(own_.size() + seeds_.size()));
  return i < own_.size() ? own_[i].first : seeds_[i - own_.size()];
}

ModelId ParentSampler::sample(Rng& rng) {
  size_t seed_index = seeds_.size();
  const ModelId chosen = draw(rng, &seed_index);
  if (seed_index < seeds_.size()) seed_start_ = seed_index + 1;
  count_child(chosen);
  return chosen;
}

}  // namespace munet
