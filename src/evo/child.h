// Making a child model from a parent (MU2NET.md "Mutations"): µ mutates first (with the parent's
// µ), then the child's µ drives every other mutation, as in the reference's Path.clone; dataset
// hyperparameters come from the generation; the route is rebuilt from
// the child's num_layers, taking each component from the parent (else the nearest ancestor,
// else the root): components the task may train are always cloned, encoder_norm always, frozen
// ones with probability µ, else shared by reference. Missing adapter slots are added with
// probability µ (zero up-projection); an adapter whose size no longer matches adapter_dim is
// taken from the nearest ancestor that has one of that size, else made anew; the head is reused
// only from the task's own ancestors,
// else a new zero head; a position embedding of a new image size is reused from an ancestor or
// resized (from a pretrained root's original grid, else from the parent's) and trained.
#pragma once
#include <map>

#include "evo/config.h"
#include "evo/model.h"
#include "kernels/backend.h"
#include "nn/vit_config.h"
#include "train/trainer.h"

namespace munet {

// What a configuration changes in making a child: the hyperparameters that mutate, whether
// missing adapters may be added, and a paper baseline's fixed recipe (finetune: every component
// cloned; freeze:K: blocks from K cloned, the rest shared; adapters:D: an adapter of width D in
// every block, the rest shared; no mutation in any of them).
struct ChildRules {
  std::array<bool, kHpCount> mutate;
  bool adapters = true;
  BaselinePlan baseline;
};
ChildRules child_rules(const EvolutionConfig& config);

struct ChildContext {
  const HpSpace& space;
  LayerPool& pool;  // new components are added as shells with recipes (LayerPool::make_new)
  const std::map<ModelId, ModelRecord>& models;  // the genealogy (ancestors are looked up here)
  ModelId root = 0;
  int task = 0;
  ViTConfig shape;      // hidden, MLP, heads, patch of the system; num_classes of this task
  uint64_t init_seed = 0;  // for new components of this child
  const ChildRules* rules = nullptr;  // null: µ2Net with every mutation on
  // A pretrained root's position embedding at its checkpoint's grid: new sizes are resized from
  // it, as the reference does (-1, a random root: from the parent's embedding).
  ComponentId original_posembed = -1;
};

// The child's record: hyperparameters, route (new components already added to the pool as
// shells with their recipes, owned by the task), mutations. Scores and training cost are left for the caller.
ModelRecord make_child(const ChildContext& ctx, const ModelRecord& parent, const Hparams& generation,
                       Rng& rng);

// The ViT shape of a model: the system's shape with the model's image size, layer count and its
// task's class count.
ViTConfig model_shape(const ViTConfig& shape, const Hparams& hp, int num_classes);

// How a child with hyperparameters `hp` trains on a task with this many training examples: the
// turn plan's validations, each after the steps the one-epoch cap allows, the schedule over all
// of them (the data seed is the generation's, set by the caller).
TrainConfig child_training(const EvolutionConfig& c, const Hparams& hp, int64_t train_examples);

}  // namespace munet
