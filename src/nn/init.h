// Initialisation of fresh components, following the flax ViT: lecun-normal patch embedding and
// adapter down-projection,
// xavier-uniform attention and MLP kernels, N(0, 0.02) position embeddings, zero class token,
// unit LayerNorm scales, and zero heads and adapter up-projections (a new head or adapter starts
// as the identity on what the model already does).
#pragma once
#include <cstdint>

#include "nn/component.h"

namespace munet {

// Fills `c` deterministically from (seed, c.name()).
void init_component(Component& c, Backend& backend, uint64_t seed);

}  // namespace munet
