// Layer pool bookkeeping and cloning.
#include "pool/layer_pool.h"

#include <algorithm>

#include "nn/posembed_resize.h"
#include "nn/vit_model.h"
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

ComponentId LayerPool::add_shell(int owner, std::unique_ptr<Component> shell, Recipe recipe) {
  const ComponentId id = add(owner, std::move(shell));
  at(id).recipe = std::move(recipe);
  return id;
}

ComponentId LayerPool::clone(ComponentId source, int owner) {
  const Component& src = *at(source).component;
  Recipe r;
  r.kind = Recipe::Clone;
  r.source = source;
  return add_shell(owner,
                   Component::shell(src.name(), src.kind(), src.layout(), backend_, src.dtype(),
                                    src.has_optimizer_state()),
                   r);
}

ComponentId LayerPool::add_fresh(int owner, const std::string& name, ComponentKind kind, const ViTConfig& shape,
                                 uint64_t seed, int adapter_dim) {
  Recipe r;
  r.kind = Recipe::Fresh;
  r.shape = shape;
  r.seed = seed;
  r.adapter_dim = adapter_dim;
  return add_shell(owner,
                   Component::shell(name, kind, component_layout(kind, shape, adapter_dim), backend_, DType::F32, false),
                   r);
}

ComponentId LayerPool::add_resized(int owner, ComponentId source, const std::string& name, const ViTConfig& shape) {
  Recipe r;
  r.kind = Recipe::Resize;
  r.source = source;
  r.shape = shape;
  return add_shell(owner,
                   Component::shell(name, ComponentKind::PosEmbed, component_layout(ComponentKind::PosEmbed, shape),
                                    backend_, DType::F32, false),
                   r);
}

void LayerPool::make_new(ComponentId id) {
  PoolComponent& e = at(id);
  const Recipe r = e.recipe;
  MUNET_CHECK(r.kind != Recipe::None, "layer pool: component ", id, " is not new");
  if (r.source >= 0)
    MUNET_CHECK(resident(r.source), "layer pool: component ", id, " is made from component ", r.source,
                ", which this process does not hold");
  switch (r.kind) {
    case Recipe::Clone: {
      const Component& src = *at(r.source).component;
      auto copy = std::make_unique<Component>(src.name(), src.kind(), src.layout(), backend_, src.dtype());
      backend_.copy(src.values(), copy->values());
      if (src.has_optimizer_state()) backend_.copy(src.optimizer_state(), copy->velocity());
      e.component = std::move(copy);
      break;
    }
    case Recipe::Fresh:
      e.component = fresh_component(e.component->name(), e.component->kind(), r.shape, backend_, r.seed,
                                    r.adapter_dim);
      break;
    case Recipe::Resize: {
      const Component& src = *at(r.source).component;
      Tensor host = Tensor::host(src.values().shape(), src.dtype());
      backend_.copy(src.values(), host);
      const Tensor resized = resize_position_embedding(host.reshape(src.layout()[0].shape), r.shape.grid());
      auto c = std::make_unique<Component>(e.component->name(), ComponentKind::PosEmbed, e.component->layout(),
                                           backend_, DType::F32);
      backend_.copy(resized.reshape(c->values().shape()), c->values());
      e.component = std::move(c);
      break;
    }
    case Recipe::None: break;
  }
  e.recipe = Recipe{};
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

int64_t LayerPool::resident_bytes() const {
  int64_t n = 0;
  for (const auto& [id, e] : entries_)
    if (e.component->resident())
      n += e.component->size() * int64_t(dtype_size(e.component->dtype())) *
           (e.component->has_optimizer_state() ? 2 : 1);
  return n;
}

int64_t LayerPool::total_params() const {
  int64_t n = 0;
  for (const auto& [id, e] : entries_) n += e.component->size();
  return n;
}

}  // namespace munet
