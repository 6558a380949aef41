// µ2Net scoring: score = quality x base^(accounted_params / root_params), where a component
// shared by n tasks counts params / n (the scored task included). µ2Net+ optionally multiplies
// by s^(accounted_params / root_params) x s^(flops / root_flops), s = 0.99.
#pragma once
#include <vector>

#include "nn/vit_config.h"
#include "pool/layer_pool.h"

namespace munet {

struct ScoreConfig {
  double base = 1.0;
  bool flops_factor = false;  // µ2Net+
  double flops_base = 0.99;
  double root_params = 1.0;
  double root_flops = 1.0;
};

// Sum over the route of params / |tasks locking it, plus `task`|.
double accounted_params(const LayerPool& pool, const std::vector<ComponentId>& route, int task);

// Forward multiply-adds x 2 per image of a ViT route (stem, blocks, adapters, norm, head).
double route_flops(const LayerPool& pool, const std::vector<ComponentId>& route, const ViTConfig& cfg);

double score(double quality, double accounted, double flops, const ScoreConfig& cfg);

}  // namespace munet
