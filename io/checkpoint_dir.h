// A run's checkpoints in its output folder: <dir>/checkpoints/ckpt-<generations done>.h5. Reading
// the newest one that loads (automatic resume) and keeping only the newest K.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "io/checkpoint.h"

namespace munet {

std::string checkpoint_path(const std::string& output_dir, long long generations_done);

// Automatic resume, every rank of `comm` together: the folder's checkpoints newest first (as rank 0
// lists them). For each, `accept(path, info)` sees its tables (it may refuse the checkpoint by
// throwing: that error ends the resume), then `read(path)` reads it, each rank its share of the
// pool with every chunk verified as it lands (read_checkpoint): each checkpoint's pool is read once.
// When reading its tables or `read` throws munet::Error on any rank (not a checkpoint, incomplete,
// truncated, a damaged chunk or table), `skipped(why)` is called on every rank with the first
// rank's error and the previous checkpoint is tried. Returns the path read, or "" when none loads.
std::string read_newest_checkpoint(const std::string& output_dir, Communicator& comm,
                                   const std::function<void(const std::string&, const CheckpointInfo&)>& accept,
                                   const std::function<void(const std::string&)>& read,
                                   const std::function<void(const std::string& why)>& skipped);

// Deletes all but the newest `keep` checkpoints, and partial files left by writers that died
// (call only from the run's one writer, after it published a checkpoint).
void prune_checkpoints(const std::string& output_dir, int keep);

}  // namespace munet
