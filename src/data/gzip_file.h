// Decompresses a whole gzip file into memory (the IDX datasets ship as .gz). Strict: a
// truncated, corrupt or non-gzip file is an error, never silently shorter data.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace munet {

// The decompressed contents of the gzip file at `path` (concatenated members are joined).
// Throws munet::Error naming the path for a missing/unreadable file, a file that is not
// gzip, a corrupt stream (bad deflate data or CRC) and a truncated stream.
std::vector<uint8_t> read_gzip_file(const std::string& path);

}  // namespace munet
