// Reads a whole file into memory. The dataset readers parse from memory so that every
// bounds check is against a known size and a short file is reported, never read past.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace munet {

// The file's bytes. Throws munet::Error naming the path and the reason if it cannot be read.
std::vector<uint8_t> read_file_bytes(const std::string& path);

}  // namespace munet
