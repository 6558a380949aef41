// What every backend checks of an op's operands, in one place: the real dtype an op runs on,
// and that a tensor is defined, on the backend's device, with the expected dtype and shape.
#pragma once
#include "tensor/tensor.h"

namespace munet {

// Calls f(T{}) with T = float or double according to dtype; other dtypes are an error naming `op`.
template <class F>
void dispatch_real(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::F32: f(float{}); return;
    case DType::F64: f(double{}); return;
    default: fail(op, ": unsupported dtype ", dtype_name(dtype));
  }
}

// Throws munet::Error naming the op and operand unless t is defined, in `device`'s memory, and
// has dtype `dt` and shape `shape`.
inline void expect_operand(const Tensor& t, DeviceType device, DType dt, const Shape& shape, const char* op,
                           const char* name) {
  MUNET_CHECK(t.defined(), op, ": ", name, " is not defined");
  MUNET_CHECK(t.device() == device, op, ": ", name, " is not in ",
              device == DeviceType::CPU ? "host" : "GPU", " memory");
  MUNET_CHECK(t.dtype() == dt, op, ": ", name, " has dtype ", dtype_name(t.dtype()), ", expected ", dtype_name(dt));
  MUNET_CHECK(t.shape() == shape, op, ": ", name, " has shape ", shape_str(t.shape()), ", expected ",
              shape_str(shape));
}

}  // namespace munet
