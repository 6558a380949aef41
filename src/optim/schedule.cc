// Learning-rate schedule values.
#include "optim/schedule.h"

#include <algorithm>
#include <cmath>

#include "util/error.h"

namespace munet {
namespace {

// optax.warmup_cosine_decay_schedule(init=lr/100, peak=lr, warmup, decay_steps=steps, end=0).
double warmup_cosine(double lr, double warmup_ratio, int64_t steps, int64_t t) {
  const int64_t warmup = static_cast<int64_t>(warmup_ratio * double(steps));
  const double init = lr / 100.0;
  if (t < warmup) return init + (lr - init) * double(t) / double(warmup);
  const int64_t decay = steps - warmup;
  if (decay <= 0) return lr;
  const double progress = std::min(1.0, double(t - warmup) / double(decay));
  return lr * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace

LrScheduleKind parse_lr_schedule(const std::string& name) {
  if (name == "constant") return LrScheduleKind::Constant;
  if (name == "cosine") return LrScheduleKind::Cosine;
  if (name == "restarts") return LrScheduleKind::Restarts;
  fail("unknown learning-rate schedule '", name, "' (valid: constant, cosine, restarts)");
}

const char* lr_schedule_name(LrScheduleKind kind) {
  switch (kind) {
    case LrScheduleKind::Constant: return "constant";
    case LrScheduleKind::Cosine: return "cosine";
    case LrScheduleKind::Restarts: return "restarts";
  }
  return "?";
}

double LrSchedule::at(int64_t step) const {
  switch (kind) {
    case LrScheduleKind::Constant: return 0.5 * lr;
    case LrScheduleKind::Cosine: return warmup_cosine(lr, warmup_ratio, total_steps, step);
    case LrScheduleKind::Restarts: {
      // The chunk holding `step`, bounded exactly as the trainer bounds its validations.
      const int64_t V = validations > 0 ? validations : 1;
      // The largest v with total_steps * v / V <= step.
      const int64_t v = std::min(V - 1, ((step + 1) * V - 1) / total_steps);
      const int64_t start = total_steps * v / V, end = total_steps * (v + 1) / V;
      return warmup_cosine(lr, warmup_ratio, end - start, step - start);
    }
  }
  return lr;
}

}  // namespace munet
