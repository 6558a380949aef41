// Device copies of pool components for the routes being trained or evaluated on a GPU. A frozen
// component that several children (or several generations) route through is uploaded once and
// shared; when the copies held would exceed the budget, the least recently used unpinned ones
// are dropped. Pool components never change once trained, so a copy stays valid for as long as
// its id is in the pool. Thread-safe: concurrent children pin and unpin from their own threads.
#pragma once
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>

#include "kernels/backend.h"
#include "nn/component.h"

namespace munet {

using ComponentId = int64_t;

struct DeviceCacheStats {
  int64_t hits = 0, misses = 0, evictions = 0;
  int64_t uploaded_bytes = 0;  // host -> device
  int64_t held_bytes = 0, peak_bytes = 0;
};

class DeviceCache {
 public:
  explicit DeviceCache(int64_t budget_bytes) : budget_(budget_bytes) {}

  // The device copy of component `id` (parameters only, read-only), uploaded from `host` through
  // `device` on a miss (the upload is complete when this returns). Pinned until unpin(id).
  const Component& pin(ComponentId id, const Component& host, Backend& device);
  void unpin(ComponentId id);
  // Takes a device copy whose values equal the pool's (a component just trained there), so later
  // routes need not upload it. Its gradient and momentum are freed.
  void adopt(ComponentId id, std::unique_ptr<Component> copy);
  // Drops the copies of components for which `in_pool` is false (pruned ones).
  void retain(const std::function<bool(ComponentId)>& in_pool);

  DeviceCacheStats stats() const;
  int64_t budget() const { return budget_; }

 private:
  struct Entry {
    std::unique_ptr<Component> copy;
    int pins = 0;
    int64_t bytes = 0;
    std::list<ComponentId>::iterator lru;  // position in lru_ (front: most recent)
  };
  // Drops unpinned copies, least recently used first, until `incoming` more bytes fit.
  void make_room(int64_t incoming);
  void insert(ComponentId id, std::unique_ptr<Component> copy, int pins);

  const int64_t budget_;
  mutable std::mutex mutex_;
  std::map<ComponentId, Entry> entries_;
  std::list<ComponentId> lru_;
  DeviceCacheStats stats_;
};

}  // namespace munet
