// The training loop, evaluation, and the best-validation snapshot.
#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <ostream>

#include "data/batch_stream.h"
#include "train/progress.h"
#include "util/rng.h"

namespace munet {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A batch of preprocessed images and labels, in host memory and (for a device backend) on the device.
struct Batch {
  Tensor host_images, host_labels, images, labels;
  // host_only: just the host buffers (a batch being prepared for a device backend).
  Batch(Backend& be, int batch, int image_size, bool host_only = false) {
    host_images = Tensor::host({batch, image_size, image_size, 3}, DType::F32);
    host_labels = Tensor::host({batch}, DType::I32);
    if (be.host_memory() || host_only) {
      images = host_images;
      labels = host_labels;
    } else {
      images = be.empty(host_images.shape(), DType::F32);
      labels = be.empty(host_labels.shape(), DType::I32);
    }
  }
  void fill(Backend& be, const ImageSet& set, const std::vector<int64_t>& idx, int image_size,
            const Augmentation* aug, uint64_t stream, ThreadPool& pool) {
    make_batch(set, idx.data(), int(idx.size()), image_size, aug, stream, host_images.data<float>(), pool);
    for (size_t b = 0; b < idx.size(); ++b) host_labels.data<int32_t>()[b] = set.labels[idx[b]];
    if (!images.same_storage(host_images)) {
      be.copy(host_images, images);
      be.copy(host_labels, labels);
    }
  }
};

// The training batches, in step order. For a device backend each batch is prepared on the host
// one step ahead (on a thread of its own, with the data pool), while the device computes the
// current step; a batch's contents depend only on its step, so this changes no result. A backend
// in host memory (the CPU's) shares its thread pool with the data, so there batches are made in turn.
class TrainBatches {
 public:
  TrainBatches(Backend& be, const ImageSet& set, const TrainConfig& cfg, int image_size, ThreadPool& pool)
      : be_(be), set_(set), cfg_(cfg), image_size_(image_size), pool_(pool),
        stream_(set.size, stream_id(cfg.seed, {1})), device_(be, cfg.batch_size, image_size) {
    if (!be.host_memory()) {
      host_ = std::make_unique<Batch>(be, cfg.batch_size, image_size, true);
      ahead_ = std::make_unique<Batch>(be, cfg.batch_size, image_size, true);
    }
  }
  ~TrainBatches() { settle(); }

  // Waits for the batch being prepared ahead: the data pool is then free for other work (an
  // evaluation's batches); ThreadPool takes one caller at a time.
  void settle() {
    if (pending_.valid()) pending_.wait();
  }

  // The batch of training step `step`; steps are asked for in order, from 0.
  const Batch& get(int64_t step) {
    if (!ahead_) {  // a backend in host memory
      fill(device_, step);
      return device_;
    }
    if (step == 0) start(step);
    pending_.get();  // rethrows a failure of the preparation
    std::swap(host_, ahead_);
    be_.copy(host_->host_images, device_.images);
    be_.copy(host_->host_labels, device_.labels);
    if (step + 1 < cfg_.steps) start(step + 1);
    return device_;
  }

 private:
  void fill(Batch& b, int64_t step) {
    stream_.next(cfg_.batch_size, idx_);
    b.fill(be_, set_, idx_, image_size_, &cfg_.augmentation, stream_id(cfg_.seed, {2, uint64_t(step)}), pool_);
  }
  // Prepares step's batch in ahead_'s host buffers, on another thread.
  void start(int64_t step) {
    stream_.next(cfg_.batch_size, idx_);
    pending_ = std::async(std::launch::async, [this, step, idx = idx_] {
      // ahead_ is host-only: filling it makes the batch and copies nothing.
      ahead_->fill(be_, set_, idx, image_size_, &cfg_.augmentation, stream_id(cfg_.seed, {2, uint64_t(step)}), pool_);
    });
  }

  Backend& be_;
  const ImageSet& set_;
  const TrainConfig& cfg_;
  const int image_size_;
  ThreadPool& pool_;
  BatchStream stream_;
  std::vector<int64_t> idx_;
  Batch device_;                          // the batch the step reads (on the device)
  std::unique_ptr<Batch> host_, ahead_;   // device backends: host buffers, this step's and the next's
  std::future<void> pending_;
};

// Host copies of the trainable components' values and momentum (a µ2Net child keeps both as
// they were at its best validation).
struct Snapshot {
  std::vector<Tensor> values, velocity;
  void take(Backend& be, const std::vector<Component*>& comps) {
    if (values.empty())
      for (Component* c : comps) {
        values.push_back(Tensor::host(c->values().shape(), c->values().dtype()));
        velocity.push_back(Tensor::host(c->values().shape(), c->values().dtype()));
      }
    for (size_t i = 0; i < comps.size(); ++i) {
      be.copy(comps[i]->values(), values[i]);
      be.copy(comps[i]->velocity(), velocity[i]);
    }
  }
  void restore(Backend& be, const std::vector<Component*>& comps) const {
    for (size_t i = 0; i < comps.size(); ++i) {
      be.copy(values[i], comps[i]->values());
      be.copy(velocity[i], comps[i]->velocity());
    }
  }
};

}  // namespace

void TrainConfig::validate() const {
  MUNET_CHECK(batch_size > 0, "batch size must be positive, got ", batch_size);
  MUNET_CHECK(steps > 0, "number of steps must be positive, got ", steps);
  MUNET_CHECK(validations >= 1 && validations <= steps, "number of validations must be in [1, steps=",
              steps, "], got ", validations);
  MUNET_CHECK(lr > 0, "learning rate must be positive, got ", lr);
  MUNET_CHECK(warmup_ratio >= 0 && warmup_ratio < 1, "warm-up ratio must be in [0, 1), got ", warmup_ratio);
  MUNET_CHECK(sgd.momentum >= 0 && sgd.momentum < 1, "momentum must be in [0, 1), got ", sgd.momentum);
  MUNET_CHECK(eval_batch_size > 0, "--eval-batch-size must be positive, got ", eval_batch_size);
  MUNET_CHECK(log_every >= 0, "log interval must be >= 0, got ", log_every);
  MUNET_CHECK(max_validation_examples >= 0, "--max-val-examples must be >= 0 (0: all), got ",
              max_validation_examples);
  MUNET_CHECK(sgd.clip_norm >= 0, "--clip-norm must be >= 0 (0: off), got ", sgd.clip_norm);
}

EvalResult evaluate(Backend& backend, Network& net, const ImageSet& set, int64_t max_examples,
                    int batch_size, ThreadPool& host_pool, int part, int parts) {
  MUNET_CHECK(parts >= 1 && part >= 0 && part < parts, "evaluation part ", part, " of ", parts);
  const int64_t n = max_examples > 0 ? std::min(set.size, max_examples) : set.size;
  const int image_size = net.config().image_size;
  EvalResult r;
  int64_t correct = 0;
  std::vector<int64_t> idx;
  std::unique_ptr<Batch> batch;
  for (int64_t start = int64_t(part) * batch_size; start < n; start += int64_t(parts) * batch_size) {
    const int count = int(std::min<int64_t>(batch_size, n - start));
    if (!batch || batch->host_labels.dim(0) != count) batch = std::make_unique<Batch>(backend, count, image_size);
    idx.resize(count);
    for (int i = 0; i < count; ++i) idx[i] = start + i;
    batch->fill(backend, set, idx, image_size, nullptr, 0, host_pool);
    const LossStats s = backend.softmax_cross_entropy(net.forward(batch->images), batch->labels, nullptr, 0);
    r.loss += s.loss_sum;
    correct += s.correct;
    r.examples += count;
  }
  r.correct = correct;
  if (r.examples > 0) {
    r.accuracy = double(correct) / double(r.examples);
    r.loss /= double(r.examples);
  }
  return r;
}

TrainResult train_network(Backend& backend, Network& net, const TaskData& task,
                          const TrainConfig& cfg, ThreadPool& host_pool, std::ostream* progress) {
  cfg.validate();
  MUNET_CHECK(task.num_classes == net.config().num_classes, "task ", task.name, " has ",
              task.num_classes, " classes, the model's head has ", net.config().num_classes);
  MUNET_CHECK(task.train.size > 0 && task.validation.size > 0, "task ", task.name,
              " needs training and validation examples");
  const auto t0 = Clock::now();
  const std::vector<Component*> trainable = net.trainable_components();
  MUNET_CHECK(!trainable.empty(), "the route has no trainable component");
  const int image_size = net.config().image_size;
  const LrSchedule schedule{cfg.schedule, cfg.lr, cfg.warmup_ratio, cfg.steps, cfg.validations};

  TrainBatches batches(backend, task.train, cfg, image_size, host_pool);
  Tensor dlogits = backend.empty({cfg.batch_size, net.config().num_classes}, DType::F32);
  Snapshot best;
  TrainResult result;
  ProgressLine line(progress, cfg.steps, cfg.batch_size, cfg.log_every);

  int64_t step = 0;
  for (int v = 1; v <= cfg.validations; ++v) {
    const int64_t chunk_end = cfg.steps * v / cfg.validations;
    const auto chunk_start = Clock::now();
    for (; step < chunk_end; ++step) {
      const Batch& batch = batches.get(step);
      const Tensor& logits = net.forward(batch.images);
      const LossStats s = backend.softmax_cross_entropy(logits, batch.labels, &dlogits, 1.0 / cfg.batch_size);
      net.backward(dlogits);
      const double lr = schedule.at(step);
      const double norm = sgd_step(backend, trainable, lr, cfg.sgd);
      const double loss = s.loss_sum / cfg.batch_size;
      MUNET_CHECK(std::isfinite(loss), "training diverged on task ", task.name, " at step ", step + 1,
                  ": loss is ", loss, " (learning rate ", lr, ")");
      result.losses.push_back(loss);
      line.step(step + 1, loss, lr, norm, seconds_since(t0));
    }
    result.train_seconds += seconds_since(chunk_start);
    const auto val_start = Clock::now();
    batches.settle();
    const EvalResult e = evaluate(backend, net, task.validation, cfg.max_validation_examples,
                                  cfg.eval_batch_size, host_pool);
    result.validations.push_back({step, e});
    // Ties go to the later validation (the reference compares with >=).
    const bool improved = result.validations.size() == 1 || e.accuracy >= result.best_accuracy;
    if (improved) {
      result.best_accuracy = e.accuracy;
      result.best_step = step;
      if (v < cfg.validations) best.take(backend, trainable);
    }
    line.validation(v, cfg.validations, step, e.accuracy, e.loss, result.best_accuracy,
                    seconds_since(val_start), seconds_since(t0));
  }
  // Keep the parameters of the best validation (the last one is what the model holds now).
  if (result.best_step != step) best.restore(backend, trainable);
  result.images = step * cfg.batch_size;
  result.seconds = seconds_since(t0);
  return result;
}

}  // namespace munet
