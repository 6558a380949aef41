// Resizing a position embedding when a model's image size changes (µ2Net's image_size
// mutation, and `munet import --image-size`): the class-token row (row 0) is kept, the grid of
// patch rows (row 1 + y * g + x) is resampled from g0 x g0 to g1 x g1 as the reference does,
// with scipy.ndimage.zoom(grid, (g1/g0, g1/g0, 1), order=1): linear interpolation along each
// axis with aligned corners, output index j reading input coordinate j * (g0 - 1) / (g1 - 1)
// (0 when g1 = 1).
#pragma once
#include "tensor/tensor.h"

namespace munet {

// pos: [1 + g0*g0, D] host tensor (float32 or float64); returns a new [1 + g1*g1, D] host tensor.
Tensor resize_position_embedding(const Tensor& pos, int new_grid);

}  // namespace munet
