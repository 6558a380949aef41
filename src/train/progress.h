// Progress lines for long training runs: step, loss, learning rate, gradient norm, images/s and
// ETA every few steps, and a line per validation.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>

namespace munet {

// "1h02m", "4m12s", "37s".
std::string format_duration(double seconds);

class ProgressLine {
 public:
  // out == nullptr prints nothing. log_every == 0 prints only validations.
  ProgressLine(std::ostream* out, int64_t total_steps, int batch_size, int64_t log_every = 50);
  void step(int64_t step, double loss, double lr, double grad_norm, double elapsed_seconds);
  void validation(int index, int total, int64_t step, double accuracy, double loss, double best,
                  double seconds, double elapsed_seconds);

 private:
  std::ostream* out_;
  int64_t total_, log_every_;
  int batch_;
  double loss_sum_ = 0.0;
  int64_t loss_count_ = 0, last_step_ = 0;
  double last_time_ = 0.0;
  double last_accuracy_ = -1.0;  // latest validation accuracy (< 0: none yet)
};

}  // namespace munet
