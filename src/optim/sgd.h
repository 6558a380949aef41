// One optimizer step over a model's trainable components: global-norm clipping (optax
// clip_by_global_norm) then SGD with momentum, optionally Nesterov (optax.sgd). Gradients are
// zeroed afterwards, ready for the next step.
#pragma once
#include <vector>

#include "nn/component.h"

namespace munet {

struct SgdConfig {
  double momentum = 0.9;
  bool nesterov = false;
  double clip_norm = 1.0;  // <= 0 disables clipping
};

// Returns the global gradient norm before clipping.
double sgd_step(Backend& backend, const std::vector<Component*>& trainable, double lr,
                const SgdConfig& cfg);

}  // namespace munet
