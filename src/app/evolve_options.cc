// The evolution's options, one per configuration field.
#include "app/evolve_options.h"

namespace munet::app {

std::string option_name(const char* attribute) {
  std::string s = attribute;
  for (char& c : s)
    if (c == '_') c = '-';
  return s;
}

po::options_description evolution_options() {
  po::options_description e("Evolution (a --preset sets a reference configuration's values)");
  e.add_options()
      ("preset", po::value<std::string>()->default_value(""),
       "the reference notebook's configuration: chars-ti3 (ViT-Ti/16, 3 blocks, the character tasks) or large-l16 "
       "(ViT-L/16 at 384); options given on the command line or in --config win over it")
      ("tasks", po::value<std::string>()->default_value("mnist,cmaterdb_bangla,cmaterdb_devanagari"),
       "comma-separated task list, in the order they join the system: built-in tasks (mnist, fashion_mnist, "
       "omniglot, cmaterdb_bangla, cmaterdb_devanagari) and task files from munet task pack, mixed; an entry is a "
       "task file when it contains '/' or ends in .h5 (e.g. mnist,./flowers.h5)");
#define MUNET_FIELD_OPTION(type, member, name, def, since, legacy, lo, hi, help) \
  e.add_options()(option_name(name).c_str(), po::value<type>()->default_value(def, value_text<type>(def)), help);
  MUNET_EVOLUTION_FIELDS(MUNET_FIELD_OPTION)
#undef MUNET_FIELD_OPTION
  return e;
}

EvolutionConfig evolution_config_from(const po::variables_map& vm) {
  EvolutionConfig cfg;
  cfg.root = model_from(vm, 1);  // the class count is each task's
#define MUNET_FIELD_FROM_VM(type, member, name, ...) cfg.member = vm[option_name(name)].as<type>();
  MUNET_EVOLUTION_FIELDS(MUNET_FIELD_FROM_VM)
#undef MUNET_FIELD_FROM_VM
  return cfg;
}

}  // namespace munet::app
