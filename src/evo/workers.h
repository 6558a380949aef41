// Where children train and models are evaluated: the one interface the evolution loop calls,
// with two implementations. HostWorkers (evo/host_workers.h) runs every route in turn on the
// pool's own backend and thread pool; DeviceWorkers (evo/device_workers.h) copies routes to a
// GPU and runs several at once. Both give the same results bit for bit: a route's result depends
// only on the route, its task and its training configuration.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"
#include "evo/model.h"
#include "pool/layer_pool.h"
#include "train/trainer.h"

namespace munet {

// A model's route through the pool, on its task, in its shape; `train`: how it trains (its data
// seed included), and the batch size its evaluation uses.
struct RouteJob {
  const ModelRecord* model = nullptr;
  const TaskData* task = nullptr;
  ViTConfig shape;
  TrainConfig train;
};

class Workers {
 public:
  virtual ~Workers() = default;
  // Trains every job's route: the components its model trains (route_trainable) end with their
  // parameters and momentum at the best validation, in the pool; results in job order. Those
  // components must be resident; the frozen ones too.
  virtual std::vector<TrainResult> train(LayerPool& pool, const std::vector<RouteJob>& jobs) = 0;
  // Evaluates every job's route on part `part` of `parts` of its task's test split (evaluate's
  // split of the batches); nothing is trained.
  virtual std::vector<EvalResult> test(LayerPool& pool, const std::vector<RouteJob>& jobs, int part, int parts) = 0;
  // The route's logits on host images [B, S, S, 3] (host memory).
  virtual Tensor logits(LayerPool& pool, const RouteJob& job, const Tensor& images) = 0;
  // Components left the pool (pruned children, dropped at a turn's end): copies of them go.
  virtual void forget_removed(const LayerPool& pool) = 0;
  // For the generation's progress line: what the workers hold and did (empty: nothing to say).
  virtual std::string note() const = 0;
};

}  // namespace munet
