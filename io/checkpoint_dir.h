// A run's checkpoints in its output folder: <dir>/checkpoints/ckpt-<generations done>.h5. Finding
// the newest complete one (automatic resume) and keeping only the newest K.
#pragma once
#include <string>
#include <vector>

namespace munet {

std::string checkpoint_path(const std::string& output_dir, long long generations_done);

// The newest checkpoint in the folder that is a complete munet checkpoint whose every byte matches
// its checksums (verify_checkpoint: the pool is read once more, one component at a time), or ""
// when there is none; every newer file that failed is described in *skipped (file: reason).
std::string newest_checkpoint(const std::string& output_dir, std::vector<std::string>* skipped);

// Deletes all but the newest `keep` checkpoints, and partial files left by writers that died
// (call only from the run's one writer, after it published a checkpoint).
void prune_checkpoints(const std::string& output_dir, int keep);

}  // namespace munet
