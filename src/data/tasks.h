// The five built-in tasks of the character benchmark: recipes that read their raw files and split
// them into train / validation / test exactly as shared/datasets/README.md says, giving the same
// in-memory task, checked and hashed alike, as a task file (io/task_file.h) does.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"

namespace munet {

// {"mnist", "fashion_mnist", "omniglot", "cmaterdb_bangla", "cmaterdb_devanagari"}.
std::vector<std::string> task_names();

// The dataset root: explicit_root if non-empty, else $MUNET_DATA if set and non-empty, else
// data_root_above(the running executable's folder), so that a munet built in <repo>/build finds
// <repo>/shared/datasets or <repo>/../shared/datasets wherever it is started from. Never the
// working directory, never a folder compiled in. Throws munet::Error if the chosen directory
// does not exist or none is found (saying to set MUNET_DATA or pass --data).
std::string find_data_root(const std::string& explicit_root = "");

// The first existing <dir>/shared/datasets for dir = folder and its 3 parents; "" if none.
std::string data_root_above(const std::string& folder);

// Loads and splits one built-in task from data_root; class names are "0", "1", ..., the
// source names the recipe and folder, and the content hash is set. Throws munet::Error for an unknown name (listing
// the valid ones), missing or corrupt files, image/label count mismatches (naming both
// sources and counts), unexpected image shapes and labels out of range (file, index, value).
TaskData load_task(const std::string& name, const std::string& data_root);

}  // namespace munet
