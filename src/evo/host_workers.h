// The host implementation of Workers (evo/workers.h): routes run one after another on the
// pool's own backend, in place, with the thread pool that backend computes on for their data.
#pragma once
#include "evo/workers.h"
#include "util/thread_pool.h"

namespace munet {

class HostWorkers final : public Workers {
 public:
  HostWorkers(Backend& backend, ThreadPool& host_pool) : backend_(backend), host_pool_(host_pool) {}

  std::vector<TrainResult> train(LayerPool& pool, const std::vector<RouteJob>& jobs) override;
  std::vector<EvalResult> test(LayerPool& pool, const std::vector<RouteJob>& jobs, int part, int parts) override;
  Tensor logits(LayerPool& pool, const RouteJob& job, const Tensor& images) override;
  void forget_removed(const LayerPool&) override {}  // no copies: routes run in the pool itself
  std::string note() const override { return {}; }

 private:
  Backend& backend_;
  ThreadPool& host_pool_;
};

// The steps of a model's route in the pool; with_trainable: the components it trains train.
std::vector<RouteStep> pool_route(LayerPool& pool, const ModelRecord& m, bool with_trainable);

}  // namespace munet
