// `munet evolve --preset NAME`: the reference notebook's configurations (MU2NET.md "Reference
// configurations"; README "Presets" lists every value and munet's departures). A preset is a set
// of option values below the --config file and the command line: command line > --config >
// --preset > defaults.
#pragma once
#include <string>
#include <vector>

namespace munet::app {

struct Preset {
  const char* name;
  const char* summary;
  const char* options;  // "name = value" lines, as in a --config file
};

const std::vector<Preset>& presets();
// The preset called `name` (throws munet::Error naming the presets there are).
const Preset& preset(const std::string& name);

}  // namespace munet::app
