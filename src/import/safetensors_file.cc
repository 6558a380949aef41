// SafetensorsFile: header parsing and checks with nlohmann::json, per-tensor reads with float16
// and bfloat16 widened to float32.
#include "import/safetensors_file.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tensor/tensor.h"
#include "util/error.h"

namespace munet {
namespace {

constexpr uint64_t kMaxHeaderBytes = uint64_t(100) << 20;  // the format's own limit

size_t dtype_bytes(const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "F16" || dtype == "BF16") return 2;
  if (dtype == "F64") return 8;
  return 0;
}

// IEEE binary16 to binary32, exact (subnormals, infinities and NaN included).
float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000 | mant << 13;
  } else if (exp != 0) {
    bits = sign | (exp + 112) << 23 | mant << 13;
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    exp = 113;
    while (!(mant & 0x400)) mant <<= 1, --exp;
    bits = sign | exp << 23 | (mant & 0x3ff) << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : ArrayFile(path) {
  std::ifstream in(path, std::ios::binary);
  MUNET_CHECK(in.good(), path, ": cannot open the checkpoint (missing or not readable)");
  in.seekg(0, std::ios::end);
  const uint64_t file_size = uint64_t(in.tellg());
  in.seekg(0);
  unsigned char len_bytes[8];
  MUNET_CHECK(file_size >= 8 && in.read(reinterpret_cast<char*>(len_bytes), 8), path,
              ": neither a .npz (zip) nor a .safetensors file (shorter than the 8-byte header length)");
  uint64_t header_len = 0;
  for (int k = 7; k >= 0; --k) header_len = header_len << 8 | len_bytes[k];
  MUNET_CHECK(header_len <= kMaxHeaderBytes && header_len <= file_size - 8, path,
              ": neither a .npz (zip) nor a .safetensors file (its first 8 bytes, read as a safetensors header "
              "length, give ", header_len, " for a file of ", file_size, " bytes)");
  std::string text(header_len, '\0');
  MUNET_CHECK(bool(in.read(text.data(), std::streamsize(header_len))), path, ": cannot read the .safetensors header");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": the .safetensors header is not valid JSON (", e.what(), ")");
  }
  MUNET_CHECK(header.is_object(), path, ": the .safetensors header is not a JSON object");
  const uint64_t data_start = 8 + header_len;
  for (const auto& [name, v] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string where = cat(path, ": tensor '", name, "'");
    try {
      Entry e;
      e.dtype = v.at("dtype").get<std::string>();
      e.shape = v.at("shape").get<std::vector<int64_t>>();
      const auto offsets = v.at("data_offsets").get<std::vector<uint64_t>>();
      MUNET_CHECK(offsets.size() == 2 && offsets[0] <= offsets[1] && offsets[1] <= file_size - data_start, where,
                  ": data_offsets lie outside the file's ", file_size - data_start, " data bytes");
      for (int64_t d : e.shape) MUNET_CHECK(d >= 0, where, ": negative dimension in shape ", shape_str(e.shape));
      const size_t item = dtype_bytes(e.dtype);
      if (item != 0)
        MUNET_CHECK(offsets[1] - offsets[0] == uint64_t(shape_numel(e.shape)) * item, where, ": holds ",
                    offsets[1] - offsets[0], " bytes, its shape ", shape_str(e.shape), " of ", e.dtype, " needs ",
                    uint64_t(shape_numel(e.shape)) * item);
      e.begin = data_start + offsets[0];
      e.end = data_start + offsets[1];
      tensors_[name] = e;
    } catch (const nlohmann::json::exception& e) {
      fail(where, ": malformed header entry (", e.what(), ")");
    }
  }
  for (const auto& [name, e] : tensors_) order_.push_back(name);
  std::stable_sort(order_.begin(), order_.end(),
                   [&](const std::string& a, const std::string& b) { return tensors_[a].begin < tensors_[b].begin; });
}

std::vector<std::string> SafetensorsFile::names() const { return order_; }

const SafetensorsFile::Entry& SafetensorsFile::entry(const std::string& name) const {
  auto it = tensors_.find(name);
  MUNET_CHECK(it != tensors_.end(), path(), ": no tensor '", name, "'");
  return it->second;
}

std::vector<int64_t> SafetensorsFile::shape(const std::string& name) const { return entry(name).shape; }

std::vector<float> SafetensorsFile::read(const std::string& name) const {
  const Entry& e = entry(name);
  const size_t item = dtype_bytes(e.dtype);
  MUNET_CHECK(item != 0, path(), ": tensor '", name, "' has dtype ", e.dtype,
              ", expected a float type (F32, F16, BF16 or F64)");
  std::vector<uint8_t> raw(e.end - e.begin);
  std::ifstream in(path(), std::ios::binary);
  in.seekg(std::streamoff(e.begin));
  MUNET_CHECK(in.good() && in.read(reinterpret_cast<char*>(raw.data()), std::streamsize(raw.size())), path(),
              ": cannot read tensor '", name, "' (truncated file?)");
  std::vector<float> out(raw.size() / item);
  for (size_t i = 0; i < out.size(); ++i) {  // little-endian bytes, whatever the host's order
    const uint8_t* p = raw.data() + i * item;
    uint64_t u = 0;
    for (int k = int(item) - 1; k >= 0; --k) u = u << 8 | p[k];
    if (e.dtype == "F16") {
      out[i] = half_to_float(uint16_t(u));
    } else if (e.dtype == "BF16" || e.dtype == "F32") {
      const uint32_t bits = e.dtype == "BF16" ? uint32_t(u) << 16 : uint32_t(u);
      std::memcpy(&out[i], &bits, 4);
    } else {
      double d;
      std::memcpy(&d, &u, 8);
      out[i] = float(d);
    }
  }
  return out;
}

}  // namespace munet
