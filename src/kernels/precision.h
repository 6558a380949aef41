// The precision of matrix products on a GPU (--precision), known to every build so that a bad
// value is refused the same way with or without the CUDA backend.
#pragma once
#include <cstdint>
#include <string>

#include "util/error.h"

namespace munet {

enum class GemmPrecision : uint8_t { FP32, TF32, BF16 };

inline const char* precision_name(GemmPrecision p) {
  switch (p) {
    case GemmPrecision::FP32: return "fp32";
    case GemmPrecision::TF32: return "tf32";
    case GemmPrecision::BF16: return "bf16";
  }
  return "?";
}

// "fp32", "tf32" or "bf16"; throws munet::Error naming the bad value otherwise.
inline GemmPrecision parse_precision(const std::string& name) {
  for (GemmPrecision p : {GemmPrecision::FP32, GemmPrecision::TF32, GemmPrecision::BF16})
    if (name == precision_name(p)) return p;
  fail("--precision: unknown GEMM precision '", name, "' (expected fp32, tf32 or bf16)");
}

}  // namespace munet
