// Tensor: a typed, shaped view into a reference-counted buffer on one device. The layers and the
// optimizer only ever see Tensors and a Backend (kernels/backend.h), so a device backend slots in
// without touching them. Tensors are contiguous row-major; views share their parent's buffer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "util/error.h"

namespace munet {

enum class DType : uint8_t { F32, F64, I32 };
enum class DeviceType : uint8_t { CPU, CUDA };

size_t dtype_size(DType t);
const char* dtype_name(DType t);
const char* device_name(DeviceType d);

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::F32; }
template <>
constexpr DType dtype_of<double>() { return DType::F64; }
template <>
constexpr DType dtype_of<int32_t>() { return DType::I32; }

using Shape = std::vector<int64_t>;
int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);

// Raw memory owned by a device allocator; freed by the deleter it was made with.
struct Buffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  DeviceType device = DeviceType::CPU;
  std::function<void(void*)> release;
  ~Buffer() {
    if (ptr && release) release(ptr);
  }
};

class Tensor {
 public:
  Tensor() = default;
  Tensor(std::shared_ptr<Buffer> buffer, size_t byte_offset, Shape shape, DType dtype);

  // A tensor in host memory (64-byte aligned), zero-filled unless `zeroed` is false.
  static Tensor host(const Shape& shape, DType dtype, bool zeroed = true);

  bool defined() const { return buffer_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_.at(i < 0 ? shape_.size() + i : i); }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t bytes() const { return numel() * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  DeviceType device() const { return buffer_ ? buffer_->device : DeviceType::CPU; }

  void* raw() const { return static_cast<char*>(buffer_->ptr) + offset_; }
  template <class T>
  T* data() const {
    MUNET_CHECK(dtype_ == dtype_of<T>(), "tensor holds ", dtype_name(dtype_), ", accessed as ",
                dtype_name(dtype_of<T>()));
    return static_cast<T*>(raw());
  }

  // A view of `shape` starting `element_offset` elements into this tensor.
  Tensor view(int64_t element_offset, const Shape& shape) const;
  // The same elements under another shape of equal size.
  Tensor reshape(const Shape& shape) const { return view(0, shape); }
  // Rows [begin, end) of the leading dimension.
  Tensor rows(int64_t begin, int64_t end) const;

  // Same buffer and offset.
  bool same_storage(const Tensor& o) const { return buffer_ == o.buffer_ && offset_ == o.offset_; }

 private:
  std::shared_ptr<Buffer> buffer_;
  size_t offset_ = 0;
  Shape shape_;
  DType dtype_ = DType::F32;
};

// Throws a munet::Error naming `what` when t's shape differs from `expected`.
void check_shape(const Tensor& t, const Shape& expected, const char* what);

}  // namespace munet
