// Resizing a position embedding when a model's image size changes (µ2Net's image_size
// mutation): the class-token row is kept, the grid of patch rows is resampled bilinearly
// (half-pixel centres, as jax.image.resize "bilinear") from g0 x g0 to g1 x g1.
#pragma once
#include "tensor/tensor.h"

namespace munet {

// pos: [1 + g0*g0, D] host tensor (float32 or float64); returns a new [1 + g1*g1, D] host tensor.
Tensor resize_position_embedding(const Tensor& pos, int new_grid);

}  // namespace munet
