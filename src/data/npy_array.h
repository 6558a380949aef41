// One NumPy .npy array held in memory: its dtype, shape and raw little-endian elements,
// with range-checked conversions to the uint8 pixels and int32 labels that datasets use, and to
// the float32 values of imported checkpoints.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace munet {

enum class NpyType { kBool, kUInt8, kInt8, kInt32, kInt64, kFloat32, kFloat64 };

class NpyArray {
 public:
  // Parses .npy bytes (format versions 1.0, 2.0 and 3.0). `where` names the source in error
  // messages, e.g. "/data/x.npz: array 'labels'". Throws munet::Error for a bad magic or
  // version, a malformed header, fortran_order=True, an unsupported dtype (supported: |b1,
  // |u1, |i1, <i4, <i8, <f4, <f8) and a payload whose length does not match the shape.
  NpyArray(std::vector<uint8_t> bytes, std::string where);

  const std::string& where() const { return where_; }
  const std::string& descr() const { return descr_; }
  NpyType type() const { return type_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t size() const { return size_; }  // number of elements
  size_t item_bytes() const { return item_bytes_; }
  // The elements in C order, size() * item_bytes() bytes, little-endian.
  const uint8_t* data() const { return bytes_.data() + offset_; }

  // Elements as uint8: bools become 0/1; integers must lie in [0, 255].
  std::vector<uint8_t> to_uint8() const;
  // Elements as int32; integers must fit. Out-of-range values throw, naming index and value.
  std::vector<int32_t> to_int32() const;
  // Elements of a float array (<f4, <f8) as float32; other dtypes throw.
  std::vector<float> to_float32() const;

 private:
  void parse_header(const std::string& header);
  int64_t element(int64_t i) const;

  std::string where_, descr_;
  NpyType type_ = NpyType::kUInt8;
  std::vector<int64_t> shape_;
  int64_t size_ = 0;
  size_t item_bytes_ = 1;
  std::vector<uint8_t> bytes_;
  size_t offset_ = 0;
};

// "(964, 20, 105, 105)": a shape as NumPy prints it, for error messages.
std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace munet
