// The genealogy as CSV: one row per model ever sampled (the root first), with its parent, the
// mutations that made it, its hyperparameters, scores, size and training cost, for offline
// analysis before HDF5 checkpoints exist.
#pragma once
#include <string>

#include "evo/evolution.h"

namespace munet {

void write_genealogy_csv(const std::string& path, const Evolution& evo);

}  // namespace munet
