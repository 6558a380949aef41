// Readers for IDX files, gzip-compressed or not (the MNIST family's format): a big-endian header
// (magic 0x00000803: images N, rows, cols; 0x00000801: labels N) followed by raw uint8.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace munet {

// Images from an IDX3 file (.gz or plain, told by the gzip magic): size = N, height = rows,
// width = cols, channels = 1 and no labels. Throws munet::Error naming the path for a wrong
// magic (expected and found), a short header, or a payload shorter or longer than the header says.
ImageSet read_idx_images(const std::string& path);

// Labels from an IDX1 file (.gz or plain), one per item; same errors as read_idx_images.
std::vector<int32_t> read_idx_labels(const std::string& path);

}  // namespace munet
