// `munet evolve`'s configuration options, made from the configuration's one declaration
// (evo/config_fields.h): one option per field (its attribute with '-' for '_'), plus --preset and
// --tasks; and the configuration they resolve to.
#pragma once
#include <string>
#include <type_traits>

#include "app/options.h"
#include "evo/config.h"

namespace munet::app {

po::options_description evolution_options();
// The configuration the parsed options give (the root's shape from the Model options).
EvolutionConfig evolution_config_from(const po::variables_map& vm);

// A field's option name ("max_val_examples" -> "max-val-examples") and a value as options and
// messages write it (flags as true/false).
std::string option_name(const char* attribute);
template <typename T>
std::string value_text(const T& v) {
  if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
  else return cat(v);
}

}  // namespace munet::app
