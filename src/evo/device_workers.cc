// DeviceWorkers: the worker threads and their backends; DeviceRoute: a route's device copies.
#include "evo/device_workers.h"

#include <atomic>
#include <cstdio>
#include <exception>
#include <mutex>
#include <thread>

namespace munet {
namespace {

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

}  // namespace

DeviceWorkers::DeviceWorkers(std::vector<std::unique_ptr<Backend>> backends, int host_threads, int64_t cache_bytes)
    : backends_(std::move(backends)), cache_(cache_bytes) {
  MUNET_CHECK(!backends_.empty(), "device training needs at least one worker");
  for (size_t i = 0; i < backends_.size(); ++i) pools_.push_back(std::make_unique<ThreadPool>(std::max(1, host_threads)));
}

void DeviceWorkers::run(int items, const std::function<void(int, int)>& fn) {
  std::atomic<int> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&](int worker) {
    for (int item; (item = next.fetch_add(1)) < items;) {
      try {
        fn(worker, item);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = items;  // the others stop after their current item
      }
    }
  };
  const int workers = std::min(size(), items);
  std::vector<std::thread> threads;
  for (int w = 1; w < workers; ++w) threads.emplace_back(work, w);
  if (workers > 0) work(0);
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

DeviceRoute::DeviceRoute(DeviceWorkers& workers, int worker, LayerPool& pool, const ModelRecord& model,
                         bool with_trainable)
    : workers_(workers), device_(workers.backend(worker)), pool_(pool) {
  try {
    for (size_t i = 0; i < model.route.size(); ++i) {
      const ComponentId id = model.route[i];
      const Component& host = pool.component(id);
      if (with_trainable && model.route_trainable[i]) {
        auto copy = std::make_unique<Component>(host.name(), host.kind(), host.layout(), device_, host.dtype());
        device_.copy(host.values(), copy->values());
        if (host.has_optimizer_state()) device_.copy(host.optimizer_state(), copy->velocity());
        steps_.push_back({copy.get(), true});
        trained_.emplace_back(id, std::move(copy));
      } else {
        // A frozen component: read-only, so the cache's shared copy serves every route.
        steps_.push_back({const_cast<Component*>(&workers.cache().pin(id, host, device_)), false});
        pinned_.push_back(id);
      }
    }
  } catch (...) {
    for (ComponentId id : pinned_) workers_.cache().unpin(id);
    throw;
  }
}

DeviceRoute::~DeviceRoute() {
  // Work still queued (after an error) may read the pinned copies: let it finish before they
  // can be evicted and their memory reused. An error here was already reported.
  try {
    device_.synchronize();
  } catch (const std::exception&) {
  }
  for (ComponentId id : pinned_) workers_.cache().unpin(id);
}

void DeviceRoute::write_back() {
  for (auto& [id, copy] : trained_) {
    Component& host = pool_.component(id);
    MUNET_CHECK(host.optimizer_state().defined(), "component ", id, " ('", host.name(),
                "') has no host momentum buffer to receive its trained momentum");
    Tensor velocity = host.optimizer_state();
    device_.copy(copy->values(), host.values());
    device_.copy(copy->velocity(), velocity);
    workers_.cache().adopt(id, std::move(copy));
  }
  trained_.clear();
}

std::vector<TrainResult> DeviceWorkers::train(LayerPool& pool, const std::vector<RouteJob>& jobs) {
  // Host momentum buffers to receive the trained momentum: made here, not on the worker threads
  // (the pool is not thread-safe).
  for (const RouteJob& job : jobs)
    for (size_t i = 0; i < job.model->route.size(); ++i)
      if (job.model->route_trainable[i]) pool.component(job.model->route[i]).velocity();
  std::vector<TrainResult> results(jobs.size());
  run(int(jobs.size()), [&](int w, int i) {
    const RouteJob& job = jobs[size_t(i)];
    DeviceRoute route(*this, w, pool, *job.model, true);
    Network net(backend(w), job.shape, route.steps());
    results[size_t(i)] = train_network(backend(w), net, *job.task, job.train, host_pool(w), nullptr);
    route.write_back();
  });
  return results;
}

std::vector<EvalResult> DeviceWorkers::test(LayerPool& pool, const std::vector<RouteJob>& jobs, int part, int parts) {
  std::vector<EvalResult> results(jobs.size());
  run(int(jobs.size()), [&](int w, int i) {
    const RouteJob& job = jobs[size_t(i)];
    DeviceRoute route(*this, w, pool, *job.model, false);
    Network net(backend(w), job.shape, route.steps());
    results[size_t(i)] =
        evaluate(backend(w), net, job.task->test, 0, job.train.eval_batch_size, host_pool(w), part, parts);
  });
  return results;
}

Tensor DeviceWorkers::logits(LayerPool& pool, const RouteJob& job, const Tensor& images) {
  Backend& device = backend(0);
  DeviceRoute route(*this, 0, pool, *job.model, false);
  Network net(device, job.shape, route.steps());
  Tensor on_device = device.empty(images.shape(), images.dtype());
  device.copy(images, on_device);
  const Tensor& out = net.forward(on_device);
  Tensor copy = Tensor::host(out.shape(), out.dtype());
  device.copy(out, copy);
  return copy;
}

void DeviceWorkers::forget_removed(const LayerPool& pool) {
  cache_.retain([&](ComponentId id) { return pool.contains(id); });
}

std::string DeviceWorkers::note() const {
  const DeviceCacheStats d = cache_.stats();
  char buf[128];
  std::snprintf(buf, sizeof buf, ", device cache %.1f MB (%lld hits, %lld uploads)", d.held_bytes / 1e6,
                (long long)d.hits, (long long)d.misses);
  return buf;
}

}  // namespace munet
