// DeviceCache: pinning, LRU eviction under a byte budget, and adoption of trained copies.
#include "pool/device_cache.h"

namespace munet {

const Component& DeviceCache::pin(ComponentId id, const Component& host, Backend& device) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(id);
  if (it != entries_.end()) {
    ++stats_.hits;
    Entry& e = it->second;
    ++e.pins;
    lru_.splice(lru_.begin(), lru_, e.lru);
    return *e.copy;
  }
  ++stats_.misses;
  MUNET_CHECK(host.resident(), "device cache: component ", id, " ('", host.name(),
              "') is neither on the device nor in host memory");
  const int64_t bytes = int64_t(host.values().bytes());
  make_room(bytes);
  auto copy = std::make_unique<Component>(host.name(), host.kind(), host.layout(), device, host.dtype());
  device.copy(host.values(), copy->values());
  device.synchronize();  // other streams may read it as soon as this returns
  stats_.uploaded_bytes += bytes;
  const Component& out = *copy;
  insert(id, std::move(copy), 1);
  return out;
}

void DeviceCache::unpin(ComponentId id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(id);
  MUNET_CHECK(it != entries_.end() && it->second.pins > 0, "device cache: component ", id, " is not pinned");
  --it->second.pins;
}

void DeviceCache::adopt(ComponentId id, std::unique_ptr<Component> copy) {
  copy->drop_training_state();
  std::lock_guard<std::mutex> lock(mutex_);
  if (entries_.count(id)) return;  // already held (the same values)
  make_room(int64_t(copy->values().bytes()));
  insert(id, std::move(copy), 0);
}

void DeviceCache::retain(const std::function<bool(ComponentId)>& in_pool) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (in_pool(it->first) || it->second.pins > 0) {
      ++it;
      continue;
    }
    stats_.held_bytes -= it->second.bytes;
    lru_.erase(it->second.lru);
    it = entries_.erase(it);
  }
}

DeviceCacheStats DeviceCache::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void DeviceCache::make_room(int64_t incoming) {
  // Walk from the least recently used end; pinned copies stay (the budget may then be exceeded:
  // the routes in flight need them).
  for (auto it = lru_.end(); it != lru_.begin() && stats_.held_bytes + incoming > budget_;) {
    --it;
    Entry& e = entries_.at(*it);
    if (e.pins > 0) continue;
    stats_.held_bytes -= e.bytes;
    ++stats_.evictions;
    const ComponentId victim = *it;
    it = lru_.erase(it);
    entries_.erase(victim);
  }
}

void DeviceCache::insert(ComponentId id, std::unique_ptr<Component> copy, int pins) {
  Entry e;
  e.bytes = int64_t(copy->values().bytes());
  e.copy = std::move(copy);
  e.pins = pins;
  lru_.push_front(id);
  e.lru = lru_.begin();
  stats_.held_bytes += e.bytes;
  stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.held_bytes);
  entries_.emplace(id, std::move(e));
}

}  // namespace munet
