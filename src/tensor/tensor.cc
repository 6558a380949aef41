// Tensor bookkeeping: sizes, names, views and host allocation.
#include "tensor/tensor.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

namespace munet {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I32: return 4;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "float32";
    case DType::F64: return "float64";
    case DType::I32: return "int32";
  }
  return "?";
}

const char* device_name(DeviceType d) { return d == DeviceType::CPU ? "cpu" : "cuda"; }

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < s.size(); ++i) out << (i ? ", " : "") << s[i];
  out << ']';
  return out.str();
}

Tensor::Tensor(std::shared_ptr<Buffer> buffer, size_t byte_offset, Shape shape, DType dtype)
    : buffer_(std::move(buffer)), offset_(byte_offset), shape_(std::move(shape)), dtype_(dtype) {
  MUNET_CHECK(buffer_ != nullptr, "tensor of shape ", shape_str(shape_), " has no buffer");
  for (int64_t d : shape_) MUNET_CHECK(d >= 0, "negative dimension in shape ", shape_str(shape_));
  MUNET_CHECK(offset_ + bytes() <= buffer_->bytes, "tensor of shape ", shape_str(shape_),
              " does not fit its buffer");
}

Tensor Tensor::host(const Shape& shape, DType dtype, bool zeroed) {
  auto buf = std::make_shared<Buffer>();
  const size_t bytes = shape_numel(shape) * dtype_size(dtype);
  const size_t rounded = (bytes + 63) / 64 * 64;
  buf->ptr = rounded ? std::aligned_alloc(64, rounded) : nullptr;
  MUNET_CHECK(rounded == 0 || buf->ptr, "out of host memory allocating ", bytes, " bytes for ",
              shape_str(shape));
  if (rounded && zeroed) std::memset(buf->ptr, 0, rounded);
  buf->bytes = bytes;
  buf->device = DeviceType::CPU;
  buf->release = [](void* p) { std::free(p); };
  return Tensor(std::move(buf), 0, shape, dtype);
}

Tensor Tensor::view(int64_t element_offset, const Shape& shape) const {
  MUNET_CHECK(defined(), "view of an undefined tensor");
  MUNET_CHECK(element_offset >= 0 && element_offset + shape_numel(shape) <= numel(), "view ",
              shape_str(shape), " at offset ", element_offset, " exceeds tensor ", shape_str(shape_));
  return Tensor(buffer_, offset_ + element_offset * dtype_size(dtype_), shape, dtype_);
}

Tensor Tensor::rows(int64_t begin, int64_t end) const {
  MUNET_CHECK(rank() >= 1 && begin >= 0 && begin <= end && end <= shape_[0], "rows [", begin, ", ",
              end, ") out of range for ", shape_str(shape_));
  Shape s = shape_;
  s[0] = end - begin;
  return view(begin * (numel() / (shape_[0] ? shape_[0] : 1)), s);
}

void check_shape(const Tensor& t, const Shape& expected, const char* what) {
  MUNET_CHECK(t.defined(), what, ": tensor is not defined");
  MUNET_CHECK(t.shape() == expected, what, ": expected shape ", shape_str(expected), ", got ",
              shape_str(t.shape()));
}

}  // namespace munet
