// Parent sampling (MU2NET.md "Evolution"): walk the task's own models by descending score,
// accepting each with probability 0.5^(children it already produced for this task); if none is
// accepted, apply the same rule to the seeds (the best models of the other tasks and the root,
// shuffled once per turn), starting after the seed chosen last; if still none, pick uniformly
// among own models and seeds. Offspring counts belong to the task and persist across its turns
// (the reference keeps them on the model); the caller owns them.
#pragma once
#include <map>
#include <vector>

#include "evo/model.h"
#include "util/rng.h"

namespace munet {

class ParentSampler {
 public:
  // own: (id, score) of the task's own models; seeds: ids in their (shuffled) order; offspring:
  // children each model has produced for this task so far (updated by sample()); seed_start:
  // where the first seed walk starts (seed_start() of the sampler this one continues).
  ParentSampler(std::vector<std::pair<ModelId, double>> own, std::vector<ModelId> seeds,
                std::map<ModelId, int>& offspring, size_t seed_start = 0);

  // Picks a parent, counts the child against it and rotates the seeds past a chosen seed.
  ModelId sample(Rng& rng);
  // The rule's choice without side effects; *seed_index is set when a seed was accepted in the
  // seed walk (else left alone).
  ModelId draw(Rng& rng, size_t* seed_index) const;
  void count_child(ModelId id) { ++offspring_[id]; }
  // Adds a newly accepted model of the task.
  void add_own(ModelId id, double score);
  int offspring(ModelId id) const;
  size_t seed_start() const { return seed_start_; }

 private:
  std::vector<std::pair<ModelId, double>> own_;  // sorted by score, descending; ties: newest first
  std::vector<ModelId> seeds_;
  size_t seed_start_ = 0;
  std::map<ModelId, int>& offspring_;
};

// Best model of a set: highest score, ties to the newest (largest id).
bool better_model(double score_a, ModelId a, double score_b, ModelId b);

}  // namespace munet
