// Position-embedding resizing as scipy.ndimage.zoom(order=1) does it: identity at the same size,
// exact on linear ramps (aligned corners), class token kept.
#include <gtest/gtest.h>

#include "nn/posembed_resize.h"
#include "support/expect_error.h"

namespace munet {
namespace {

// A [1 + g*g, 2] embedding whose grid rows hold (row, column) scaled to [0, 1] with the corners
// at 0 and 1: linear resampling with aligned corners reproduces such a ramp exactly.
Tensor ramp(int g) {
  Tensor t = Tensor::host({1 + g * g, 2}, DType::F64);
  double* p = t.data<double>();
  p[0] = 42, p[1] = -7;
  for (int y = 0; y < g; ++y)
    for (int x = 0; x < g; ++x) {
      p[(1 + y * g + x) * 2] = double(y) / (g - 1);
      p[(1 + y * g + x) * 2 + 1] = double(x) / (g - 1);
    }
  return t;
}

TEST(PosembedResize, SameSizeIsTheIdentity) {
  const Tensor t = ramp(3);
  const Tensor r = resize_position_embedding(t, 3);
  for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(r.data<double>()[i], t.data<double>()[i]);
}

TEST(PosembedResize, UpsamplingKeepsRampAndClassToken) {
  const Tensor r = resize_position_embedding(ramp(2), 4);
  ASSERT_EQ(r.shape(), (Shape{17, 2}));
  EXPECT_EQ(r.data<double>()[0], 42);
  EXPECT_EQ(r.data<double>()[1], -7);
  // Output j reads input coordinate j * (2 - 1) / (4 - 1): the corners land on the corners.
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) {
      EXPECT_NEAR(r.data<double>()[(1 + y * 4 + x) * 2], y / 3.0, 1e-15);
      EXPECT_NEAR(r.data<double>()[(1 + y * 4 + x) * 2 + 1], x / 3.0, 1e-15);
    }
}

TEST(PosembedResize, DownsamplingMatchesScipyZoom) {
  // scipy.ndimage.zoom(np.arange(16.).reshape(4, 4), 3/4, order=1) = [[0, 1.5, 3], [6, 7.5, 9], [12, 13.5, 15]].
  Tensor t = Tensor::host({17, 1}, DType::F64);
  t.data<double>()[0] = 5;
  for (int i = 0; i < 16; ++i) t.data<double>()[1 + i] = i;
  const Tensor r = resize_position_embedding(t, 3);
  const double expect[10] = {5, 0, 1.5, 3, 6, 7.5, 9, 12, 13.5, 15};
  for (int i = 0; i < 10; ++i) EXPECT_NEAR(r.data<double>()[i], expect[i], 1e-12) << i;
}

TEST(PosembedResize, OneCellGridTakesTheFirstCorner) {
  const Tensor r = resize_position_embedding(ramp(3), 1);
  ASSERT_EQ(r.shape(), (Shape{2, 2}));
  EXPECT_EQ(r.data<double>()[2], 0);
  EXPECT_EQ(r.data<double>()[3], 0);
}

TEST(PosembedResize, RejectsNonSquareGrids) {
  EXPECT_ERROR(resize_position_embedding(Tensor::host({6, 4}, DType::F32), 2), "not a square grid");
}

}  // namespace
}  // namespace munet
