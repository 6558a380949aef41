// Batch preprocessing (MU2NET.md "Training a child"): uint8 images to float NHWC batches in
// [-1, 1]; training adds TF's random crop (sample_distorted_bounding_box), flip and
// brightness/contrast jitter, then clips to [-1, 1], as the µ2Net reference does.
#pragma once
#include <cstdint>

#include "data/dataset.h"
#include "util/thread_pool.h"

namespace munet {

struct Augmentation {
  bool crop = true;
  double area_min = 0.05;    // smallest crop area fraction (1: no crop)
  double aspect_min = 0.75;  // crop aspect (width/height) is uniform in [r, 1/r]
  bool flip = true;          // left-right with probability 0.5
  double brightness = 0.0;   // add uniform[-brightness, brightness] on the [-1, 1] scale
  double contrast = 0.0;     // scale about the per-channel mean by uniform[1-c, 1+c]
};

// Writes `count` images of image_size x image_size x 3 floats (NHWC, grey repeated to 3
// channels) into out, for examples set.image(indices[b]). aug == nullptr: evaluation (bilinear
// resize of the whole image only). Otherwise example b draws from Rng(stream, {b}), so results
// do not depend on how the pool splits the batch. Throws munet::Error for an index out of
// range, a bad image_size or augmentation parameters out of range.
void make_batch(const ImageSet& set, const int64_t* indices, int count, int image_size,
                const Augmentation* aug, uint64_t stream, float* out, ThreadPool& pool);

}  // namespace munet
