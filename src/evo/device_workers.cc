// DeviceWorkers: the worker threads and their backends; DeviceRoute: a route's device copies.
#include "evo/device_workers.h"

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

namespace munet {

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

}  // namespace munet
