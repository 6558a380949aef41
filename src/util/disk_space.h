// Free space, checked before a large file is written (a checkpoint, a model file) so that a full
// disk is reported before the write, not as an HDF5 failure in the middle of it.
#pragma once
#include <cstdint>
#include <string>

namespace munet {

// Bytes available to this user in the file system that holds `path` (or its nearest existing
// folder); -1 when statvfs cannot tell.
int64_t free_bytes(const std::string& path);

// Throws "no space left on device for <file>: it needs about X MB, Y MB are free in <folder>"
// when `file`'s file system has less than `bytes` available.
void require_free_space(const std::string& file, int64_t bytes);

}  // namespace munet
