// Training one route on one task: the µ2Net child-training loop. Steps are split into
// `validations` equal chunks; after each chunk the model is validated on up to
// max_validation_examples validation images, and at the end the trainable components are put
// back to their values at the best validation, the latest of equal ones (quality = best
// validation accuracy).
#pragma once
#include <cstdint>
#include <iosfwd>
#include <vector>

#include "data/augment.h"
#include "data/dataset.h"
#include "nn/network.h"
#include "optim/schedule.h"
#include "optim/sgd.h"

namespace munet {

struct TrainConfig {
  int batch_size = 128;
  int64_t steps = 1000;
  int validations = 5;
  LrScheduleKind schedule = LrScheduleKind::Cosine;
  double lr = 0.01;
  double warmup_ratio = 0.05;
  SgdConfig sgd;
  Augmentation augmentation;
  int64_t max_validation_examples = 10000;
  int eval_batch_size = 256;
  uint64_t seed = 0;
  int64_t log_every = 50;  // progress line every this many steps (0: only at validations)

  // Throws munet::Error naming the first bad value.
  void validate() const;
};

struct EvalResult {
  double accuracy = 0.0;
  double loss = 0.0;  // mean cross-entropy
  int64_t examples = 0;
  int64_t correct = 0;
};

struct ValidationRecord {
  int64_t step = 0;  // steps done when validated
  EvalResult result;
};

struct TrainResult {
  std::vector<ValidationRecord> validations;
  double best_accuracy = 0.0;
  int64_t best_step = 0;
  double seconds = 0.0;        // wall time of the whole call
  double train_seconds = 0.0;  // of which training steps (data preparation included)
  int64_t images = 0;          // training images processed
  std::vector<double> losses;  // mean training loss of every step
};

// Evaluates on the first min(set.size, max_examples) images (max_examples <= 0: all). With
// parts > 1, only batches b with b mod parts == part (ranks sharing one evaluation: each batch is
// computed as it would be alone, so summed `correct` counts do not depend on the split); the
// result then covers that part's examples.
EvalResult evaluate(Backend& backend, Network& net, const ImageSet& set, int64_t max_examples,
                    int batch_size, ThreadPool& host_pool, int part = 0, int parts = 1);

// Trains the network's trainable components on task.train, validating on task.validation.
// Progress lines go to `progress` when it is not null.
TrainResult train_network(Backend& backend, Network& net, const TaskData& task,
                          const TrainConfig& cfg, ThreadPool& host_pool, std::ostream* progress);

}  // namespace munet
