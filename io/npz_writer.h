// Writing NumPy .npz files (np.load reads them): each array a .npy (format 1.0) member of a zip
// archive, stored uncompressed with its CRC-32 (zlib). `munet predict --logits` writes one.
// Written under a temporary name and renamed when complete.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace munet {

struct NpyOutput {
  std::string name;               // member name without ".npy"
  std::string descr;              // NumPy dtype string: "<f4", "<i4", "<i8", ...
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;     // C-order little-endian elements
};

NpyOutput npy_float32(const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& v);
NpyOutput npy_int32(const std::string& name, const std::vector<int64_t>& shape, const std::vector<int32_t>& v);

// Throws munet::Error naming the path when it cannot be written, or an array whose byte count
// does not match its shape.
void write_npz(const std::string& path, const std::vector<NpyOutput>& arrays);

}  // namespace munet
