// The layer pool: every component of the system, with its id, owner task, the tasks whose best
// models use it (their train locks) and the rank that holds its parameters (its home). Models
// refer to components by id; frozen components are shared by reference, never copied; a clone
// copies parameters and optimizer state into a new component owned by the cloning task. Training
// only ever touches components a child owns alone, so nothing a task does can change a component
// another task uses.
//
// Sharding: every rank keeps the whole pool's bookkeeping, but a component's parameters are
// resident only on its home rank and, for the time they are needed, on the ranks that fetched
// them; elsewhere it is a shell (name, kind, layout). New components are made as shells with a
// recipe (clone of a source, fresh initialisation, resized position embedding) that every rank
// records alike, so that ids agree; only the rank that trains the child makes them resident.
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

// How a new component gets its first parameters.
struct Recipe {
  enum Kind { None, Clone, Fresh, Resize } kind = None;
  ComponentId source = -1;  // Clone, Resize
  ViTConfig shape;          // Fresh, Resize: the child's shape
  uint64_t seed = 0;        // Fresh
  int adapter_dim = 0;      // Fresh adapters
};

struct PoolComponent {
  ComponentId id = -1;
  int owner = kRootTask;   // the task that created it (kRootTask: the root model)
  std::set<int> locks;     // tasks whose best model routes through it
  int home = 0;            // the rank that holds its parameters
  Recipe recipe;           // during the generation that made it (cleared on every rank after)
  std::unique_ptr<Component> component;
};

class LayerPool {
 public:
  explicit LayerPool(Backend& backend) : backend_(backend) {}

  ComponentId add(int owner, std::unique_ptr<Component> component);
  // New shells with a recipe (see above); make_new() carries the recipe out.
  ComponentId clone(ComponentId source, int owner);
  ComponentId add_fresh(int owner, const std::string& name, ComponentKind kind, const ViTConfig& shape,
                        uint64_t seed, int adapter_dim);
  ComponentId add_resized(int owner, ComponentId source, const std::string& name, const ViTConfig& shape);
  // Makes a new component resident by its recipe; a Clone or Resize source must be resident.
  void make_new(ComponentId id);
  bool pending(ComponentId id) const { return at(id).recipe.kind != Recipe::None; }

  // Puts back a component as a checkpoint recorded it (its id, owner and locks); ids made later
  // start after the largest id restored or `next_id`, whichever is larger.
  void restore(PoolComponent entry, ComponentId next_id);
  ComponentId next_id() const { return next_id_; }
  const std::map<ComponentId, PoolComponent>& entries() const { return entries_; }

  bool contains(ComponentId id) const { return entries_.count(id) > 0; }
  const PoolComponent& at(ComponentId id) const;
  PoolComponent& at(ComponentId id);
  Component& component(ComponentId id) { return *at(id).component; }
  bool resident(ComponentId id) const { return at(id).component->resident(); }

  // A task may train (and so must clone) only what it created and no other task has locked.
  bool trainable_by(ComponentId id, int task) const;
  // Replaces `task`'s locks with locks on exactly these components (its new best model).
  void set_locks(int task, const std::vector<ComponentId>& ids);
  // Removes every component that no kept model routes through.
  void keep_only(const std::set<ComponentId>& used);
  void remove(ComponentId id) { entries_.erase(id); }

  size_t size() const { return entries_.size(); }
  int64_t total_params() const;
  // Bytes of parameters and optimizer state resident in this process.
  int64_t resident_bytes() const;

 private:
  ComponentId add_shell(int owner, std::unique_ptr<Component> shell, Recipe recipe);

  Backend& backend_;
  std::map<ComponentId, PoolComponent> entries_;
  ComponentId next_id_ = 0;
};

}  // namespace munet
