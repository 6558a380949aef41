// Finite-difference gradient checking in double precision. Central differences with step h on a
// scalar loss; an analytic gradient g and a numeric one n agree when
// |g - n| <= tol * max(1, |g|, |n|). With h = 1e-6 and float64 the numeric error is ~1e-9.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "tensor/tensor.h"
#include "util/rng.h"

namespace munet::test {

constexpr double kGradStep = 1e-6;
constexpr double kGradTolerance = 1e-6;

// A float64 host tensor filled with N(0, scale^2) values.
inline Tensor random_tensor(const Shape& shape, Rng& rng, double scale = 1.0) {
  Tensor t = Tensor::host(shape, DType::F64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = scale * rng.normal();
  return t;
}

// sum(out * weights): the scalar loss whose gradient wrt out is `weights`.
inline double weighted_sum(const Tensor& out, const Tensor& weights) {
  double s = 0.0;
  for (int64_t i = 0; i < out.numel(); ++i) s += out.data<double>()[i] * weights.data<double>()[i];
  return s;
}

// Checks analytic gradient `grad` of `loss()` with respect to the values of `input`, perturbing
// at most `max_checks` elements spread over the tensor.
inline void expect_gradient(const std::string& what, Tensor input, const Tensor& grad,
                            const std::function<double()>& loss, int64_t max_checks = 400) {
  ASSERT_EQ(input.numel(), grad.numel()) << what;
  double* x = input.data<double>();
  const double* g = grad.data<double>();
  const int64_t n = input.numel();
  const int64_t stride = n > max_checks ? (n + max_checks - 1) / max_checks : 1;
  int failures = 0;
  for (int64_t i = 0; i < n; i += stride) {
    const double saved = x[i];
    x[i] = saved + kGradStep;
    const double up = loss();
    x[i] = saved - kGradStep;
    const double down = loss();
    x[i] = saved;
    const double numeric = (up - down) / (2 * kGradStep);
    const double bound = kGradTolerance * std::max({1.0, std::fabs(g[i]), std::fabs(numeric)});
    if (std::fabs(g[i] - numeric) > bound && failures++ < 5)
      ADD_FAILURE() << what << "[" << i << "]: analytic " << g[i] << " vs numeric " << numeric;
  }
  EXPECT_EQ(failures, 0) << what << ": " << failures << " elements outside tolerance";
}

}  // namespace munet::test
