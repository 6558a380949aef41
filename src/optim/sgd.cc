// The optimizer step: the norm is summed component by component in route order (deterministic).
#include "optim/sgd.h"

#include <cmath>

namespace munet {

double sgd_step(Backend& backend, const std::vector<Component*>& trainable, double lr,
                const SgdConfig& cfg) {
  std::vector<const Tensor*> grads;
  for (Component* c : trainable) grads.push_back(&c->grad());
  double sq = 0.0;
  for (double s : backend.sum_squares_each(grads)) sq += s;
  const double norm = std::sqrt(sq);
  const double scale = (cfg.clip_norm > 0 && norm > cfg.clip_norm) ? cfg.clip_norm / norm : 1.0;
  for (Component* c : trainable) {
    backend.sgd_update(c->values(), c->grad(), c->velocity(), lr, cfg.momentum, cfg.nesterov, scale);
    backend.zero(c->grad());
  }
  return norm;
}

}  // namespace munet
