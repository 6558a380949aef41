// The root model of an evolution: a fresh ViT, or a pretrained one (MU2NET.md, "Small notes"),
// made into the layer pool as components owned by no task (kRootTask). A pretrained root's
// position embedding at its checkpoint's grid rides along off the route: every later resize
// starts from it.
#pragma once
#include <memory>
#include <vector>

#include "evo/config.h"
#include "evo/model.h"

namespace munet {

// Adds the root's components to `pool` and returns its route (route, names, trainable flags,
// params; the caller sets id, hparams and the rest). `pretrained`: the root's components (a
// model file's route; a head is dropped; c.root must have their shape), and optionally the
// file's original-grid position embedding (any position embedding but the route's; without one,
// a copy of the route's), kept in the pool off the route as the source of every resize; empty:
// fresh components from c.seed. `made`: every component added, the route's and that embedding.
ModelRecord make_root(LayerPool& pool, Backend& backend, const EvolutionConfig& c,
                      std::vector<std::unique_ptr<Component>> pretrained, std::vector<ComponentId>& made);

// The position embedding at a pretrained root's checkpoint grid: the root-owned one off the
// root's route (found in the pool, so a resumed run finds it too); -1 for a random root.
ComponentId original_posembed(const LayerPool& pool, const ModelRecord& root);

}  // namespace munet
