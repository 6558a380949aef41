// Progress line formatting.
#include "train/progress.h"

#include <cmath>
#include <cstdio>
#include <ostream>

namespace munet {

std::string format_duration(double s) {
  char buf[32];
  const long total = std::lround(std::max(0.0, s));
  if (total >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", total / 3600, (total % 3600) / 60);
  else if (total >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", total / 60, total % 60);
  else std::snprintf(buf, sizeof buf, "%lds", total);
  return buf;
}

ProgressLine::ProgressLine(std::ostream* out, int64_t total_steps, int batch_size, int64_t log_every)
    : out_(out), total_(total_steps), log_every_(log_every), batch_(batch_size) {}

void ProgressLine::step(int64_t step, double loss, double lr, double grad_norm, double elapsed) {
  loss_sum_ += loss;
  ++loss_count_;
  if (!out_ || log_every_ <= 0 || (step % log_every_ != 0 && step != total_)) return;
  const double dt = elapsed - last_time_;
  const double rate = dt > 0 ? double(step - last_step_) * batch_ / dt : 0.0;
  const double eta = step > 0 ? elapsed / double(step) * double(total_ - step) : 0.0;
  char val[32] = "val -";
  if (last_accuracy_ >= 0) std::snprintf(val, sizeof val, "val %.2f%%", 100 * last_accuracy_);
  char buf[240];
  std::snprintf(buf, sizeof buf, "step %7lld/%lld  loss %.4f  %s  lr %.3g  |g| %.3f  %.0f img/s  ETA %s",
                (long long)step, (long long)total_, loss_sum_ / double(loss_count_), val, lr, grad_norm,
                rate, format_duration(eta).c_str());
  *out_ << buf << std::endl;
  loss_sum_ = 0.0;
  loss_count_ = 0;
  last_step_ = step;
  last_time_ = elapsed;
}

void ProgressLine::validation(int index, int total, int64_t step, double accuracy, double loss,
                              double best, double seconds, double elapsed) {
  if (!out_) return;
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "validation %d/%d at step %lld: accuracy %.2f%% (best %.2f%%)  loss %.4f  [%.1fs, elapsed %s]",
                index, total, (long long)step, 100 * accuracy, 100 * best, loss, seconds,
                format_duration(elapsed).c_str());
  *out_ << buf << std::endl;
  last_time_ += seconds;  // keep validation time out of the images/s figure
  last_accuracy_ = accuracy;
}

}  // namespace munet
