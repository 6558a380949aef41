// A byte string of everything in an evolution that must be bit-identical between two runs:
// every pool component (values, momentum, owner, locks) and every model record (route,
// hyperparameters, scores, mutations; training time excluded), and the best model per task.
#pragma once
#include <string>

#include "data/tasks.h"
#include "evo/evolution.h"

namespace munet::test {

// A small, fast evolution: two CMATERdb tasks, 2 iterations of 2 generations of 2 children,
// a 2-layer ViT of hidden 16 at 16x16 (8 generations in all, about a second on 2 cores).
inline EvolutionConfig tiny_evolution_config() {
  EvolutionConfig c;
  c.root.image_size = 16;
  c.root.patch = 8;
  c.root.hidden = 16;
  c.root.mlp = 32;
  c.root.heads = 2;
  c.root.layers = 2;
  c.max_image_size = 24;
  c.task_iterations = 2;
  c.children_per_task = 4;
  c.parallel_slots = 2;
  c.validations = 2;
  c.steps_per_validation = 3;
  c.batch_size = 16;
  c.max_validation_examples = 100;
  c.eval_batch_size = 100;
  c.seed = 11;
  return c;
}

inline std::vector<TaskData> two_character_tasks(const std::string& data_root) {
  return {load_task("cmaterdb_devanagari", data_root), load_task("cmaterdb_bangla", data_root)};
}

inline std::string bytes_of(const Tensor& t) {
  return t.defined() ? std::string(static_cast<const char*>(t.raw()), t.bytes()) : std::string("none");
}

inline std::string fingerprint(const Evolution& evo) {
  std::string s;
  auto num = [&](double v) { s.append(reinterpret_cast<const char*>(&v), sizeof v); };
  for (const auto& [id, e] : evo.pool().entries()) {
    s += cat("c", id, e.component->name(), e.owner, ":");
    for (int t : e.locks) s += cat(t, ",");
    s += bytes_of(e.component->values()) + bytes_of(e.component->optimizer_state());
  }
  for (const auto& [id, m] : evo.models()) {
    s += cat("m", id, m.task, m.parent, m.iteration, m.generation, m.slot, m.accepted, m.params, m.new_params,
             m.train_images);
    for (double v : {m.quality, m.score, m.test_accuracy, m.accounted_params, m.flops}) num(v);
    for (double v : m.validation_accuracies) num(v);
    for (size_t i = 0; i < m.route.size(); ++i) s += cat(m.route[i], m.route_names[i], m.route_trainable[i]);
    for (int h = 0; h < kHpCount; ++h) num(m.hparams[static_cast<Hp>(h)]);
    for (const auto& mu : m.mutations) s += mu;
  }
  for (int t = 0; t < int(evo.tasks().size()); ++t) s += cat("b", evo.best(t));
  return s;
}

}  // namespace munet::test
