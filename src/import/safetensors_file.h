// .safetensors files (timm, Hugging Face): an 8-byte little-endian header length, a JSON header
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}} read with
// nlohmann::json, then the raw little-endian tensor bytes. Tensors are read one at a time, so a
// ViT-L checkpoint is never held in memory twice.
#pragma once
#include <map>

#include "import/array_file.h"

namespace munet {

class SafetensorsFile : public ArrayFile {
 public:
  // Reads and checks the header: every tensor's dtype, shape and byte range (inside the file,
  // of the size its shape and dtype need). Throws munet::Error naming the path and the tensor.
  explicit SafetensorsFile(const std::string& path);

  const char* container() const override { return "safetensors"; }
  std::vector<std::string> names() const override;
  bool has(const std::string& name) const override { return tensors_.count(name) > 0; }
  std::vector<int64_t> shape(const std::string& name) const override;
  std::vector<float> read(const std::string& name) const override;

 private:
  struct Entry {
    std::string dtype;
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;  // absolute file offsets
  };
  const Entry& entry(const std::string& name) const;

  std::map<std::string, Entry> tensors_;
  std::vector<std::string> order_;  // by data offset: the order the file holds them
};

}  // namespace munet
