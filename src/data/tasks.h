// The five tasks of the character benchmark: where their files live, how they are read and
// split into train / validation / test exactly as /work/shared/datasets/README.md says.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"

namespace munet {

// {"mnist", "fashion_mnist", "omniglot", "cmaterdb_bangla", "cmaterdb_devanagari"}.
std::vector<std::string> task_names();

// The dataset root: explicit_root if non-empty, else $MUNET_DATA if set and non-empty, else
// the first existing directory of ../shared/datasets, ../../shared/datasets,
// /work/shared/datasets. Throws munet::Error if the chosen directory does not exist or none
// is found (saying to set MUNET_DATA or pass --data).
std::string find_data_root(const std::string& explicit_root = "");

// Loads and splits one task from data_root. Throws munet::Error for an unknown name (listing
// the valid ones), missing or corrupt files, image/label count mismatches (naming both
// sources and counts), unexpected image shapes and labels out of range (file, index, value).
TaskData load_task(const std::string& name, const std::string& data_root);

}  // namespace munet
