// Learning-rate schedules of µ2Net (optax semantics): cosine = linear warm-up from lr/100 to lr
// over warmup_ratio of the steps, then cosine decay to 0; constant = 0.5 * lr; restarts = SGDR,
// the warm-up + cosine cycle repeated once per validation period.
#pragma once
#include <cstdint>
#include <string>

namespace munet {

enum class LrScheduleKind { Constant, Cosine, Restarts };
LrScheduleKind parse_lr_schedule(const std::string& name);
const char* lr_schedule_name(LrScheduleKind kind);

struct LrSchedule {
  LrScheduleKind kind = LrScheduleKind::Cosine;
  double lr = 0.01;
  double warmup_ratio = 0.05;
  int64_t total_steps = 1;
  int validations = 1;  // restarts: one cycle per validation chunk [steps*v/V, steps*(v+1)/V)

  // Learning rate for step t in [0, total_steps).
  double at(int64_t step) const;
};

}  // namespace munet
