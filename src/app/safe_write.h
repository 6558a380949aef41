// Writing a large output file so that a full disk loses nothing: its free space is checked
// (statvfs) before the write, and a write that fails anyway removes its half-written file and
// says what is intact, instead of leaving a partial file that fills the disk.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace munet::app {

// Runs `write` (which writes `file` through the temporary `partial`) after checking, when
// `check_here`, that `file`'s file system has `bytes` free. On failure removes `partial` (when
// `check_here`: the one process that writes it) and rethrows, adding `intact` (what was not lost).
void write_or_explain(const std::string& file, const std::string& partial, int64_t bytes, bool check_here,
                      const std::function<void()>& write, const std::string& intact);

}  // namespace munet::app
