// Task files: one task (train / validation / test images and labels, class names, where the data
// came from, its content hash) in one HDF5 file, format `munet-task` (io/SCHEMA.md), readable
// and writable with h5py alone. Written under a temporary name and renamed when complete; read
// chunk by chunk straight into the task's arrays (never a second whole copy of the images), with
// the content hash recomputed on the way and checked.
#pragma once
#include <cstdint>
#include <string>

#include "data/dataset.h"
#include "data/task_checks.h"

namespace munet {

// The content hash covers every byte of the images and labels; from kDigestedTaskFileVersion on,
// /digest (io/file_digest.h) covers every attribute too (class names, source, the hash itself);
// from kChunkChecksummedTaskFileVersion on, each stored (compressed) chunk of the images has an
// XXH3-64 too, so that a damaged one is named with its chunk and both hashes before it is decoded.
// Older files still load, with a warning.
constexpr int kDigestedTaskFileVersion = 2;
constexpr int kChunkChecksummedTaskFileVersion = 3;
constexpr int kTaskFileVersion = kChunkChecksummedTaskFileVersion;
constexpr int kOldestTaskFileVersion = 1;

// Writes header (name, num_classes, class_names, source) and the three splits to `path`: a file
// `path` either does not change or is the complete new task. Checks the task first
// (check_task, every class trained). Returns the content hash written.
std::string write_task_file(const std::string& path, const TaskData& header, const TaskSplits& splits);

// Everything but the arrays: for `munet task info`.
struct TaskFileInfo {
  TaskData header;                       // name, num_classes, class_names, source, content_hash
  int64_t format_version = 0;
  int64_t sizes[3] = {0, 0, 0};          // train, validation, test examples
  int64_t height = 0, width = 0, channels = 0;
};

// Throws munet::Error naming the file and what is wrong: missing or unreadable, not HDF5,
// truncated or damaged, not a munet task (no or another `format`), another format version,
// a missing or mis-shaped group, dataset or attribute.
TaskFileInfo read_task_file_info(const std::string& path);

// The whole task, checked: the errors above, and a content hash that does not match the data,
// and every check_task rule (labels in range, every class trained, no empty split).
TaskData read_task_file(const std::string& path);

}  // namespace munet
