// Scores and the size measures they use.
#include "evo/scoring.h"

#include <cmath>

namespace munet {

double accounted_params(const LayerPool& pool, const std::vector<ComponentId>& route, int task) {
  double total = 0;
  for (ComponentId id : route) {
    const PoolComponent& e = pool.at(id);
    const size_t users = e.locks.size() + (e.locks.count(task) ? 0 : 1);
    total += double(e.component->size()) / double(users);
  }
  return total;
}

double route_flops(const LayerPool& pool, const std::vector<ComponentId>& route, const ViTConfig& c) {
  const double T = c.tokens(), P = T - 1, D = c.hidden;
  double f = 0;
  for (ComponentId id : route) {
    const Component& comp = *pool.at(id).component;
    switch (comp.kind()) {
      case ComponentKind::Embedding: f += 2 * P * c.patch_dim() * D; break;
      case ComponentKind::EncoderBlock:
        f += 2 * T * (3 * D * D + D * D + 2 * D * c.mlp) + 4 * T * T * D;
        break;
      case ComponentKind::Adapter: {
        f += 2 * T * 2 * D * adapter_dim_of(comp);
        break;
      }
      case ComponentKind::Head: f += 2 * D * c.num_classes; break;
      default: break;  // cls, posembed, norms: no multiply-adds worth counting
    }
  }
  return f;
}

double score(double quality, double accounted, double flops, const ScoreConfig& cfg) {
  double s = quality * std::pow(cfg.base, accounted / cfg.root_params);
  if (cfg.flops_factor)
    s *= std::pow(cfg.flops_base, accounted / cfg.root_params) * std::pow(cfg.flops_base, flops / cfg.root_flops);
  return s;
}

}  // namespace munet
