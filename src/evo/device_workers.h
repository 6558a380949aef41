// Training children on a GPU: one worker per child trained at once, each with its own backend
// (a CUDA stream and cuBLAS handle) and a host thread pool for its data, so small children fill
// the device together; all share one cache of frozen components (pool/device_cache.h). A child's
// result does not depend on which worker trains it, nor on how many there are.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "evo/model.h"
#include "nn/network.h"
#include "pool/device_cache.h"
#include "pool/layer_pool.h"
#include "util/thread_pool.h"

namespace munet {

class DeviceWorkers {
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

 private:
  std::vector<std::unique_ptr<Backend>> backends_;
  std::vector<std::unique_ptr<ThreadPool>> pools_;
  DeviceCache cache_;
};

// A model's route on a worker's device: frozen components pinned in the cache; components the
// model trains as private copies with their momentum. write_back() returns them to the pool.
class DeviceRoute {
 public:
  DeviceRoute(DeviceWorkers& workers, int worker, LayerPool& pool, const ModelRecord& model, bool with_trainable);
  ~DeviceRoute();
  DeviceRoute(const DeviceRoute&) = delete;
  DeviceRoute& operator=(const DeviceRoute&) = delete;

  const std::vector<RouteStep>& steps() const { return steps_; }
  // Copies trained parameters and momentum into the pool's host components (whose momentum
  // buffers must already exist), then hands the device copies to the cache for later routes.
  void write_back();

 private:
  DeviceWorkers& workers_;
  Backend& device_;
  LayerPool& pool_;
  std::vector<ComponentId> pinned_;
  std::vector<std::pair<ComponentId, std::unique_ptr<Component>>> trained_;
  std::vector<RouteStep> steps_;
};

}  // namespace munet
