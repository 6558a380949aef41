// Position-embedding resizing: identity at the same size, exact on linear ramps, class token kept.
#include <gtest/gtest.h>

#include "nn/posembed_resize.h"
#include "support/expect_error.h"

namespace munet {
namespace {

// A [1 + g*g, 2] embedding whose grid rows hold (row, column) in pixel-centre coordinates scaled
// to [0, 1]: bilinear resampling with half-pixel centres reproduces such a ramp exactly inside.
Tensor ramp(int g) {
  Tensor t = Tensor::host({1 + g * g, 2}, DType::F64);
  double* p = t.data<double>();
  p[0] = 42, p[1] = -7;
  for (int y = 0; y < g; ++y)
    for (int x = 0; x < g; ++x) {
      p[(1 + y * g + x) * 2] = (y + 0.5) / g;
      p[(1 + y * g + x) * 2 + 1] = (x + 0.5) / g;
    }
  return t;
}

TEST(PosembedResize, SameSizeIsTheIdentity) {
  const Tensor t = ramp(3);
  const Tensor r = resize_position_embedding(t, 3);
  for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(r.data<double>()[i], t.data<double>()[i]);
}

TEST(PosembedResize, UpsamplingAKeepsRampAndClassToken) {
  const Tensor r = resize_position_embedding(ramp(2), 4);
  ASSERT_EQ(r.shape(), (Shape{17, 2}));
  EXPECT_EQ(r.data<double>()[0], 42);
  EXPECT_EQ(r.data<double>()[1], -7);
  // Output pixel centres (j + 0.5) / 4 map to input coordinate (j + 0.5) / 2 - 0.5, clamped at
  // the border: inner samples lie on the ramp, border ones take the nearest input centre.
  const double expect[4] = {0.25, 0.375, 0.625, 0.75};
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) {
      EXPECT_NEAR(r.data<double>()[(1 + y * 4 + x) * 2], expect[y], 1e-15);
      EXPECT_NEAR(r.data<double>()[(1 + y * 4 + x) * 2 + 1], expect[x], 1e-15);
    }
}

TEST(PosembedResize, DownsamplingAveragesNeighbours) {
  const Tensor r = resize_position_embedding(ramp(4), 2);
  // Output centre 0 maps to input coordinate 0.5: the mean of input centres 0 and 1.
  EXPECT_NEAR(r.data<double>()[2], (0.125 + 0.375) / 2, 1e-15);
  EXPECT_NEAR(r.data<double>()[3 + 2 * 2 + 1 - 2], (0.625 + 0.875) / 2, 1e-15);
}

TEST(PosembedResize, RejectsNonSquareGrids) {
  EXPECT_ERROR(resize_position_embedding(Tensor::host({6, 4}, DType::F32), 2), "not a square grid");
}

}  // namespace
}  // namespace munet
