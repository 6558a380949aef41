// The named float arrays of a checkpoint file, whatever its container: a NumPy .npz archive
// (big_vision / vit_jax checkpoints) or a .safetensors file (timm / Hugging Face). The importer
// reads shapes first, to learn the model's shape, then the values it needs, as float32.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace munet {

class ArrayFile {
 public:
  // Opens `path` by its contents: a zip archive is read as .npz, anything else as .safetensors.
  // Throws munet::Error naming the path for a missing, unreadable or malformed file.
  static std::unique_ptr<ArrayFile> open(const std::string& path);
  virtual ~ArrayFile() = default;

  const std::string& path() const { return path_; }
  // "npz" or "safetensors".
  virtual const char* container() const = 0;
  // Array names, in the file's order.
  virtual std::vector<std::string> names() const = 0;
  virtual bool has(const std::string& name) const = 0;
  virtual std::vector<int64_t> shape(const std::string& name) const = 0;
  // The array's elements in C order as float32. Throws munet::Error naming the file, the array
  // and its dtype when that is not a float type the container allows (npz: <f4, <f8;
  // safetensors: F32, F16, BF16, F64).
  virtual std::vector<float> read(const std::string& name) const = 0;

 protected:
  explicit ArrayFile(std::string path) : path_(std::move(path)) {}

 private:
  std::string path_;
};

}  // namespace munet
