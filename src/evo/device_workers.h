// The GPU implementation of Workers (evo/workers.h): one worker per child trained at once, each
// with its own backend (a CUDA stream and cuBLAS handle) and a host thread pool for its data, so
// small children fill the device together; all share one cache of frozen components
// (pool/device_cache.h). A route runs on a worker's device as copies: frozen components pinned in
// the cache, the components it trains as private copies with their momentum, written back to the
// pool after. A child's result does not depend on which worker trains it, nor on how many there are.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "evo/workers.h"
#include "pool/device_cache.h"
#include "util/thread_pool.h"

namespace munet {

class DeviceWorkers final : public Workers {
 public:
  // `backends`: one per concurrent child, all on the same device; `host_threads`: data threads
  // per worker; `cache_bytes`: the budget for cached frozen components.
  DeviceWorkers(std::vector<std::unique_ptr<Backend>> backends, int host_threads, int64_t cache_bytes);

  int size() const { return int(backends_.size()); }
  Backend& backend(int worker) { return *backends_.at(worker); }
  ThreadPool& host_pool(int worker) { return *pools_.at(worker); }
  DeviceCache& cache() { return cache_; }

  // Calls fn(worker, item) for every item in [0, items): each worker takes the next item when it
  // is free. Returns when all are done; the first error is rethrown then.
  void run(int items, const std::function<void(int worker, int item)>& fn);

  std::vector<TrainResult> train(LayerPool& pool, const std::vector<RouteJob>& jobs) override;
  std::vector<EvalResult> test(LayerPool& pool, const std::vector<RouteJob>& jobs, int part, int parts) override;
  Tensor logits(LayerPool& pool, const RouteJob& job, const Tensor& images) override;
  void forget_removed(const LayerPool& pool) override;
  std::string note() const override;  // the cache: what it holds, hits and uploads

 private:
  std::vector<std::unique_ptr<Backend>> backends_;
  std::vector<std::unique_ptr<ThreadPool>> pools_;
  DeviceCache cache_;
};

}  // namespace munet
