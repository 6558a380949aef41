// An evolution's configuration: the fields of evo/config_fields.h (one declaration each) plus the
// root's shape, and what follows from them: the baseline's plan, which hyperparameters mutate,
// momentum's values, the search space, and the training budget of a child on a task (the
// one-epoch cap, a paper baseline's one long training).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "evo/config_fields.h"
#include "evo/hparams.h"
#include "nn/vit_config.h"

namespace munet {

// Every field's checkpoint attribute name, in table order.
#define MUNET_FIELD_NAME(type, member, name, ...) name,
inline constexpr const char* kConfigFieldNames[] = {MUNET_EVOLUTION_FIELDS(MUNET_FIELD_NAME)};
#undef MUNET_FIELD_NAME

enum class BaselineKind { None, Transfer, Finetune, Freeze, Adapters };

// --baseline, parsed. The paper's baselines (finetune, freeze, adapters: the reference's
// PPBaseline) train one child per slot from the root, with no hyperparameter mutation, for the
// whole turn's compute; transfer is the evolution with the root as each task's only seed.
struct BaselinePlan {
  BaselineKind kind = BaselineKind::None;
  int arg = 0;  // freeze: K blocks frozen; adapters: width D
  bool paper() const { return kind == BaselineKind::Finetune || kind == BaselineKind::Freeze || kind == BaselineKind::Adapters; }
  // Components a child must train whatever µ says (freeze: the blocks from K up).
  bool forces(const std::string& component) const;
  std::string text() const;  // "freeze:2"
};

struct EvolutionConfig {
  ViTConfig root;  // the root's shape (its class count is unused)
#define MUNET_FIELD_MEMBER(type, member, name, def, ...) type member = def;
  MUNET_EVOLUTION_FIELDS(MUNET_FIELD_MEMBER)
#undef MUNET_FIELD_MEMBER

  // Throws munet::Error naming the first field that is out of range or does not parse.
  void validate() const;

  BaselinePlan baseline_plan() const;
  std::array<bool, kHpCount> mutating() const;  // `mutate` parsed (a paper baseline: none)
  std::vector<double> momentum_list() const;    // `momentum_values` parsed ("none" is 0)
  HpSpace space() const;

  // A turn's plan: a paper baseline runs one iteration of one generation (a child per slot),
  // each child trained with the validations of every generation of every iteration.
  int turn_iterations() const;
  int turn_children() const;
  int child_validations() const;
  // Training steps between validations on a task with this many training examples.
  int64_t steps_per_validation_for(int64_t train_examples) const;
};

}  // namespace munet
