// The root model's components, fresh or pretrained.
#include "evo/root_model.h"

#include <algorithm>
#include <cmath>

#include "nn/vit_model.h"

namespace munet {

ComponentId original_posembed(const LayerPool& pool, const ModelRecord& root) {
  for (const auto& [id, e] : pool.entries())
    if (e.owner == kRootTask && e.component->kind() == ComponentKind::PosEmbed &&
        std::find(root.route.begin(), root.route.end(), id) == root.route.end())
      return id;
  return -1;
}

ModelRecord make_root(LayerPool& pool, Backend& backend, const EvolutionConfig& c,
                      std::vector<std::unique_ptr<Component>> pretrained, std::vector<ComponentId>& made) {
  // A fresh ViT (its head is never reused: heads belong to tasks).
  ModelRecord root;
  ViTConfig rc = c.root;
  rc.num_classes = 1;
  const auto names = vit_component_names(rc, /*with_head=*/false);
  // Heads belong to tasks: a pretrained model's head is not part of the root.
  pretrained.erase(std::remove_if(pretrained.begin(), pretrained.end(),
                                  [](const auto& p) { return p->kind() == ComponentKind::Head; }),
                   pretrained.end());
  std::unique_ptr<Component> original_pos;
  const std::string route_pos = "posembed_" + std::to_string(rc.image_size);
  for (auto it = pretrained.begin(); it != pretrained.end(); ++it)
    if ((*it)->kind() == ComponentKind::PosEmbed && (*it)->name() != route_pos) {
      original_pos = std::move(*it);
      pretrained.erase(it);
      const int64_t rows = original_pos->layout()[0].shape[0], grid = std::llround(std::sqrt(double(rows - 1)));
      MUNET_CHECK(grid * grid == rows - 1 && original_pos->layout()[0].shape[1] == rc.hidden,
                  "the pretrained root's original position embedding '", original_pos->name(), "' has shape ",
                  shape_str(original_pos->layout()[0].shape), ", not [1 + grid^2, ", rc.hidden, "]");
      break;
    }
  // A pretrained root without a separate original grid: its own embedding is the checkpoint's
  // grid. A copy goes off the route beside it, so that the pool itself records (through
  // checkpoints too) where resizes start.
  if (!pretrained.empty() && !original_pos) {
    for (const auto& p : pretrained)
      if (p->kind() == ComponentKind::PosEmbed) {
        original_pos = std::make_unique<Component>(p->name(), p->kind(), p->layout(), backend, p->dtype());
        backend.copy(p->values(), original_pos->values());
        break;
      }
  }
  if (!pretrained.empty()) {
    MUNET_CHECK(pretrained.size() == names.size(), "the pretrained root has ", pretrained.size(),
                " components without its head, a ViT of ", rc.layers, " layers has ", names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      const ComponentKind kind = names[i].second;
      MUNET_CHECK(pretrained[i]->name() == names[i].first && pretrained[i]->kind() == kind &&
                      layout_matches(*pretrained[i], component_layout(kind, rc)),
                  "pretrained root component ", i, " ('", pretrained[i]->name(), "') does not fit a ViT with hidden ",
                  rc.hidden, ", ", rc.layers, " layers at ", rc.image_size, "x", rc.image_size);
    }
  }
  for (size_t i = 0; i < names.size(); ++i) {
    const auto& [name, kind] = names[i];
    root.route.push_back(pool.add(
        kRootTask, pretrained.empty() ? fresh_component(name, kind, rc, backend, c.seed) : std::move(pretrained[i])));
    root.route_names.push_back(name);
    root.route_trainable.push_back(false);
  }
  for (ComponentId id : root.route) root.params += pool.at(id).component->size();
  made = root.route;
  if (original_pos) made.push_back(pool.add(kRootTask, std::move(original_pos)));
  return root;
}

}  // namespace munet
