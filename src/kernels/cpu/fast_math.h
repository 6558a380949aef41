// Branch-free, vectorisable float approximations of exp and tanh for the hot element-wise loops
// (GELU, softmax). exp: range reduction to 2^n * e^r, |r| <= ln2/2, degree-6 polynomial, about
// 2 ulp over [-87, 88]; NaN stays NaN. Double precision always uses the exact <cmath> functions.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace munet::cpu {

inline float fast_exp(float x) {
  x = x == x ? std::fmin(std::fmax(x, -87.0f), 88.0f) : x;  // clamp; NaN passes through
  const float n = std::nearbyint(x * 1.44269504088896341f);
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}
inline double fast_exp(double x) { return std::exp(x); }

inline float fast_tanh(float x) { return 1.0f - 2.0f / (1.0f + fast_exp(2.0f * x)); }
inline double fast_tanh(double x) { return std::tanh(x); }

}  // namespace munet::cpu
