// Layer pool bookkeeping and cloning.
#include "pool/layer_pool.h"

#include <algorithm>

#include "util/error.h"

namespace munet {

ComponentId LayerPool::add(int owner, std::unique_ptr<Component> component) {
  MUNET_CHECK(component != nullptr, "layer pool: adding a null component");
  const ComponentId id = next_id_++;
  PoolComponent& e = entries_[id];
  e.id = id;
  e.owner = owner;
  e.component = std::move(component);
  return id;
}

void LayerPool::restore(PoolComponent entry, ComponentId next_id) {
  MUNET_CHECK(entry.component != nullptr && entry.id >= 0 && !contains(entry.id),
              "layer pool: cannot restore component ", entry.id, " (null, negative or already present)");
  next_id_ = std::max({next_id_, next_id, entry.id + 1});
  const ComponentId id = entry.id;
  entries_.emplace(id, std::move(entry));
}

ComponentId LayerPool::clone(ComponentId source, int owner) {
  const Component& src = *at(source).component;
  auto copy = std::make_unique<Component>(src.name(), src.kind(), src.layout(), backend_, src.values().dtype());
  backend_.copy(src.values(), copy->values());
  if (src.has_optimizer_state()) backend_.copy(src.optimizer_state(), copy->velocity());
  return add(owner, std::move(copy));
}

const PoolComponent& LayerPool::at(ComponentId id) const {
  auto it = entries_.find(id);
  MUNET_CHECK(it != entries_.end(), "layer pool has no component ", id);
  return it->second;
}

PoolComponent& LayerPool::at(ComponentId id) {
  auto it = entries_.find(id);
  MUNET_CHECK(it != entries_.end(), "layer pool has no component ", id);
  return it->second;
}

bool LayerPool::trainable_by(ComponentId id, int task) const {
  const PoolComponent& e = at(id);
  if (e.owner != task) return false;
  for (int t : e.locks)
    if (t != task) return false;
  return true;
}

void LayerPool::set_locks(int task, const std::vector<ComponentId>& ids) {
  for (auto& [id, e] : entries_) e.locks.erase(task);
  for (ComponentId id : ids) at(id).locks.insert(task);
}

void LayerPool::keep_only(const std::set<ComponentId>& used) {
  for (auto it = entries_.begin(); it != entries_.end();)
    it = used.count(it->first) ? std::next(it) : entries_.erase(it);
}

int64_t LayerPool::total_params() const {
  int64_t n = 0;
  for (const auto& [id, e] : entries_) n += e.component->size();
  return n;
}

}  // namespace munet
