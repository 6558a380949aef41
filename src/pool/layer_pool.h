// The layer pool: every component of the system, with its id, owner task and the tasks whose
// best models use it (their train locks). Models refer to components by id; frozen components
// are shared by reference, never copied; a clone copies parameters and optimizer state into a
// new component owned by the cloning task. Training only ever touches components a child owns
// alone, so nothing a task does can change a component another task uses.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "nn/component.h"

namespace munet {

using ComponentId = int64_t;
constexpr int kRootTask = -1;

struct PoolComponent {
  ComponentId id = -1;
  int owner = kRootTask;   // the task that created it (kRootTask: the root model)
  std::set<int> locks;     // tasks whose best model routes through it
  std::unique_ptr<Component> component;
};

class LayerPool {
 public:
  explicit LayerPool(Backend& backend) : backend_(backend) {}

  ComponentId add(int owner, std::unique_ptr<Component> component);
  // A new component owned by `owner`: same name, layout and values, with the source's momentum.
  ComponentId clone(ComponentId source, int owner);

  // Puts back a component as a checkpoint recorded it (its id, owner and locks); ids made later
  // start after the largest id restored or `next_id`, whichever is larger.
  void restore(PoolComponent entry, ComponentId next_id);
  ComponentId next_id() const { return next_id_; }
  const std::map<ComponentId, PoolComponent>& entries() const { return entries_; }

  bool contains(ComponentId id) const { return entries_.count(id) > 0; }
  const PoolComponent& at(ComponentId id) const;
  PoolComponent& at(ComponentId id);
  Component& component(ComponentId id) { return *at(id).component; }

  // A task may train (and so must clone) only what it created and no other task has locked.
  bool trainable_by(ComponentId id, int task) const;
  // Replaces `task`'s locks with locks on exactly these components (its new best model).
  void set_locks(int task, const std::vector<ComponentId>& ids);
  // Removes every component that no kept model routes through.
  void keep_only(const std::set<ComponentId>& used);
  void remove(ComponentId id) { entries_.erase(id); }

  size_t size() const { return entries_.size(); }
  int64_t total_params() const;

 private:
  Backend& backend_;
  std::map<ComponentId, PoolComponent> entries_;
  ComponentId next_id_ = 0;
};

}  // namespace munet
