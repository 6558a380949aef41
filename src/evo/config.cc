// Range checks and parsing of the configuration's fields, and the turn's plan.
#include "evo/config.h"

#include <type_traits>

#include "util/error.h"
#include "util/split_list.h"

namespace munet {
namespace {

// "1000000" rather than "1e+06" for the bounds of integer fields.
template <typename T>
std::string bound(double b) {
  if constexpr (std::is_integral_v<T>) return std::to_string((long long)b);
  else return cat(b);
}

template <typename T>
void check_range(const char* name, const T& v, double lo, double hi) {
  if constexpr (std::is_arithmetic_v<T>) {
    if (double(v) >= lo && double(v) <= hi) return;
    std::string option = name;
    for (char& c : option)
      if (c == '_') c = '-';
    fail("configuration field ", name, " (--", option, ") must be in [", bound<T>(lo), ", ", bound<T>(hi), "], got ", v);
  }
}

int parse_int(const std::string& text, const std::string& what) {
  size_t used = 0;
  int v = -1;
  try {
    v = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  MUNET_CHECK(used == text.size() && !text.empty(), what, ": '", text, "' is not an integer");
  return v;
}

}  // namespace

bool BaselinePlan::forces(const std::string& component) const {
  const std::string block = "encoderblock_";
  return kind == BaselineKind::Freeze && component.rfind(block, 0) == 0 &&
         parse_int(component.substr(block.size()), "component") >= arg;
}

std::string BaselinePlan::text() const {
  switch (kind) {
    case BaselineKind::None: return "none";
    case BaselineKind::Transfer: return "transfer";
    case BaselineKind::Finetune: return "finetune";
    case BaselineKind::Freeze: return cat("freeze:", arg);
    case BaselineKind::Adapters: return cat("adapters:", arg);
  }
  return "?";
}

BaselinePlan EvolutionConfig::baseline_plan() const {
  const std::string& b = baseline;
  const size_t colon = b.find(':');
  const std::string kind = b.substr(0, colon);
  const bool has_arg = colon != std::string::npos;
  BaselinePlan p;
  auto arg = [&](int fallback) { return has_arg ? parse_int(b.substr(colon + 1), cat("baseline '", b, "'")) : fallback; };
  if (kind == "none" && !has_arg) p.kind = BaselineKind::None;
  else if (kind == "transfer" && !has_arg) p.kind = BaselineKind::Transfer;
  else if (kind == "finetune" && !has_arg) p.kind = BaselineKind::Finetune;
  else if (kind == "freeze") p = {BaselineKind::Freeze, arg(baseline_freeze)};
  else if (kind == "adapters") p = {BaselineKind::Adapters, arg(baseline_adapter_dim)};
  else fail("unknown baseline '", b, "' (valid: none, transfer, finetune, freeze[:K], adapters[:D])");
  if (p.kind == BaselineKind::Freeze)
    MUNET_CHECK(p.arg >= 0 && p.arg <= root.layers, "baseline freeze:", p.arg, ": K must be in [0, ", root.layers,
                "] (the root's blocks)");
  if (p.kind == BaselineKind::Adapters)
    value_index(HpSpace(root.patch, root.layers, std::max(max_image_size, root.patch)).spec(Hp::AdapterDim), p.arg);
  return p;
}

std::array<bool, kHpCount> EvolutionConfig::mutating() const {
  std::array<bool, kHpCount> on{};
  if (baseline_plan().paper() || mutate == "none") return on;
  if (mutate == "all") {
    on.fill(true);
    return on;
  }
  for (const std::string& name : split_list(mutate)) on[static_cast<int>(hp_by_name(name))] = true;
  return on;
}

std::vector<double> EvolutionConfig::momentum_list() const {
  std::vector<double> out;
  for (const std::string& v : split_list(momentum_values)) {
    if (v == "none") {
      out.push_back(0.0);
      continue;
    }
    size_t used = 0;
    double x = -1;
    try {
      x = std::stod(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    MUNET_CHECK(used == v.size() && x > 0 && x < 1, "momentum value '", v, "' is not 'none' or a number in (0, 1)");
    out.push_back(x);
  }
  return out;
}

HpSpace EvolutionConfig::space() const {
  const BaselinePlan plan = baseline_plan();
  HpDefaults d{mu, warmup_ratio, plan.kind == BaselineKind::Adapters ? plan.arg : adapter_dim};
  return HpSpace(root.patch, root.layers, max_image_size, momentum_list(), d);
}

void EvolutionConfig::validate() const {
  root.validate();
#define MUNET_FIELD_CHECK(type, member, name, def, since, legacy, lo, hi, ...) check_range(name, member, lo, hi);
  MUNET_EVOLUTION_FIELDS(MUNET_FIELD_CHECK)
#undef MUNET_FIELD_CHECK
  MUNET_CHECK(base > 0, "score base must be in (0, 1], got ", base);
  MUNET_CHECK(max_image_size >= root.image_size && max_image_size % root.patch == 0, "largest image size ",
              max_image_size, " must be a multiple of the patch size ", root.patch, " and >= the root's ",
              root.image_size);
  mutating();
  space().defaults(root.image_size);  // µ, warm-up, adapter width and momentum 0.9 are valid values
}

int EvolutionConfig::turn_iterations() const { return baseline_plan().paper() ? 1 : task_iterations; }

int EvolutionConfig::turn_children() const { return baseline_plan().paper() ? parallel_slots : children_per_task; }

int EvolutionConfig::child_validations() const {
  if (!baseline_plan().paper()) return validations;
  const int generations = (children_per_task + parallel_slots - 1) / parallel_slots;
  return validations * task_iterations * generations;
}

int64_t EvolutionConfig::steps_per_validation_for(int64_t train_examples) const {
  if (!epoch_cap) return steps_per_validation;
  const int64_t examples = std::min<int64_t>(train_examples, int64_t(steps_per_validation) * batch_size);
  return std::max<int64_t>(1, (examples + batch_size - 1) / batch_size);
}

}  // namespace munet
