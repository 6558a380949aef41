// make_batch: per example, a crop box and jitter are drawn (TF semantics, as the µ2Net reference;
// one difference: contrast is applied after the resize, so its mean is over the output image), bilinear taps (TF half-pixel
// centres) are precomputed for the box's rows and columns, and the output is written in one pass.
#include "data/augment.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "util/error.h"
#include "util/rng.h"

namespace munet {
namespace {

constexpr int kCropAttempts = 100;  // TF's default max_attempts
constexpr int kOutChannels = 3;
constexpr int64_t kExamplesPerTask = 8;

struct Box {
  int x, y, width, height;
};

// For each output coordinate: the two source coordinates and the weight of the second.
struct Taps {
  std::vector<int> lo, hi;
  std::vector<float> weight;
};

// Samples source range [start, start + length) onto `size` outputs, like TF's bilinear resize
// with half_pixel_centers of the cropped image; `mirror` reverses the outputs (a flip).
void make_taps(int start, int length, int size, bool mirror, Taps& taps) {
  taps.lo.resize(size);
  taps.hi.resize(size);
  taps.weight.resize(size);
  const double scale = double(length) / size;
  for (int j = 0; j < size; ++j) {
    const double in = (j + 0.5) * scale - 0.5;
    const double floor_in = std::floor(in);
    const int f = static_cast<int>(floor_in);
    const int at = mirror ? size - 1 - j : j;
    taps.lo[at] = start + std::clamp(f, 0, length - 1);
    taps.hi[at] = start + std::clamp(f + 1, 0, length - 1);
    taps.weight[at] = static_cast<float>(in - floor_in);
  }
}

// TF's sample_distorted_bounding_box with min_object_covered = 0 (GenerateRandomCrop in
// tensorflow/core/kernels/image/sample_distorted_bounding_box_op.cc, ported literally): the
// aspect ratio is uniform in [r, 1/r], the height uniform between the heights giving the smallest
// and the largest allowed area, the offset uniform; up to kCropAttempts tries, else the whole image.
bool generate_random_crop(int width, int height, double area_min, float aspect, Rng& rng, Box& box) {
  const float min_area = float(area_min) * width * height;
  const float max_area = float(width) * height;
  int h = static_cast<int>(std::lrint(std::sqrt(min_area / aspect)));
  int max_h = static_cast<int>(std::lrint(std::sqrt(max_area / aspect)));
  if (std::lrint(max_h * aspect) > width) {
    // The smallest max_h with round(max_h * aspect) <= width.
    const float kEps = 0.0000001f;
    max_h = static_cast<int>((width + 0.5f - kEps) / aspect);
    if (std::lrint(max_h * aspect) > width) max_h -= 1;
  }
  if (max_h > height) max_h = height;
  if (h >= max_h) h = max_h;
  if (h < max_h) h += static_cast<int>(rng.below(uint64_t(max_h - h) + 1));
  int w = static_cast<int>(std::lrint(h * aspect));
  float area = float(w) * h;
  if (area < min_area) {
    h += 1;
    w = static_cast<int>(std::lrint(h * aspect));
    area = float(w) * h;
  }
  if (area > max_area) {
    h -= 1;
    w = static_cast<int>(std::lrint(h * aspect));
    area = float(w) * h;
  }
  if (area < min_area || area > max_area || w > width || h > height || w <= 0 || h <= 0) return false;
  const int y = h < height ? static_cast<int>(rng.below(uint64_t(height - h))) : 0;
  const int x = w < width ? static_cast<int>(rng.below(uint64_t(width - w))) : 0;
  box = {x, y, w, h};
  return true;
}

Box sample_crop(int height, int width, const Augmentation& aug, Rng& rng) {
  Box box{0, 0, width, height};
  if (aug.area_min >= 1.0) return box;  // as the reference: no crop when nothing may be cut
  for (int attempt = 0; attempt < kCropAttempts; ++attempt) {
    const float aspect = static_cast<float>(rng.uniform(aug.aspect_min, 1.0 / aug.aspect_min));
    if (generate_random_crop(width, height, aug.area_min, aspect, rng, box)) return box;
  }
  return {0, 0, width, height};
}

// Scales each channel about its mean over the image (TF adjust_contrast). Contrast is affine
// in the pixel scale, so applying it on the [-1, 1] scale equals applying it on [0, 1].
void adjust_contrast(float* image, int pixels, float factor) {
  for (int c = 0; c < kOutChannels; ++c) {
    double sum = 0;
    for (int p = 0; p < pixels; ++p) sum += image[p * kOutChannels + c];
    const float mean = static_cast<float>(sum / pixels);
    for (int p = 0; p < pixels; ++p) {
      float& v = image[p * kOutChannels + c];
      v = (v - mean) * factor + mean;
    }
  }
}

template <int C>
void resize_into(const ImageSet& set, const uint8_t* src, const Taps& rows, const Taps& cols,
                 int size, float offset, float* out) {
  const int64_t stride = int64_t(set.width) * C;
  for (int y = 0; y < size; ++y) {
    const uint8_t* r0 = src + rows.lo[y] * stride;
    const uint8_t* r1 = src + rows.hi[y] * stride;
    const float wy = rows.weight[y];
    float* o = out + int64_t(y) * size * kOutChannels;
    for (int x = 0; x < size; ++x, o += kOutChannels) {
      const int a = cols.lo[x] * C, b = cols.hi[x] * C;
      const float wx = cols.weight[x];
      for (int c = 0; c < C; ++c) {
        const float top = r0[a + c] + (float(r0[b + c]) - r0[a + c]) * wx;
        const float bottom = r1[a + c] + (float(r1[b + c]) - r1[a + c]) * wx;
        // v / 127.5 - 1 maps [0, 255] exactly onto [-1, 1] (no rounding past the ends).
        const float v = (top + (bottom - top) * wy) / 127.5f + offset;
        if (C == 1) {
          o[0] = o[1] = o[2] = v;
        } else {
          o[c] = v;
        }
      }
    }
  }
}

void check_augmentation(const Augmentation& aug) {
  MUNET_CHECK(aug.area_min > 0 && aug.area_min <= 1, "augmentation: area_min ", aug.area_min,
              " is not in (0, 1]");
  MUNET_CHECK(aug.aspect_min > 0 && aug.aspect_min <= 1, "augmentation: aspect_min ",
              aug.aspect_min, " is not in (0, 1]");
  MUNET_CHECK(aug.brightness >= 0, "augmentation: brightness ", aug.brightness, " is negative");
  MUNET_CHECK(aug.contrast >= 0 && aug.contrast <= 1, "augmentation: contrast ", aug.contrast,
              " is not in [0, 1]");
}

}  // namespace

void make_batch(const ImageSet& set, const int64_t* indices, int count, int image_size,
                const Augmentation* aug, uint64_t stream, float* out, ThreadPool& pool) {
  MUNET_CHECK(image_size > 0, "make_batch: image_size ", image_size, " must be positive");
  MUNET_CHECK(count >= 0, "make_batch: negative batch size ", count);
  MUNET_CHECK(set.channels == 1 || set.channels == 3, "make_batch: images have ", set.channels,
              " channels, expected 1 or 3");
  MUNET_CHECK(set.height > 0 && set.width > 0, "make_batch: empty image shape ", set.height, "x",
              set.width);
  MUNET_CHECK(int64_t(set.pixels.size()) == set.size * set.image_bytes(), "make_batch: image set ",
              "holds ", set.pixels.size(), " bytes, expected ", set.size * set.image_bytes());
  for (int b = 0; b < count; ++b)
    MUNET_CHECK(indices[b] >= 0 && indices[b] < set.size, "make_batch: index ", indices[b],
                " at batch position ", b, " is outside the set of ", set.size, " images");
  if (aug != nullptr) check_augmentation(*aug);

  const int64_t out_floats = int64_t(image_size) * image_size * kOutChannels;
  pool.parallel_for(0, count, kExamplesPerTask, [&](int64_t lo, int64_t hi) {
    Taps rows, cols;
    for (int64_t b = lo; b < hi; ++b) {
      Box box{0, 0, set.width, set.height};
      bool flip = false;
      float brightness = 0, contrast = 1;
      if (aug != nullptr) {
        Rng rng(stream, {uint64_t(b)});
        if (aug->crop) box = sample_crop(set.height, set.width, *aug, rng);
        if (aug->flip) flip = rng.bernoulli(0.5);
        if (aug->brightness > 0)
          brightness = static_cast<float>(rng.uniform(-aug->brightness, aug->brightness));
        if (aug->contrast > 0)
          contrast = static_cast<float>(rng.uniform(1 - aug->contrast, 1 + aug->contrast));
      }
      make_taps(box.y, box.height, image_size, false, rows);
      make_taps(box.x, box.width, image_size, flip, cols);
      float* dst = out + b * out_floats;
      const uint8_t* src = set.image(indices[b]);
      // Brightness is added on the [-1, 1] scale, as the reference does after scaling.
      const float offset = brightness - 1;
      if (set.channels == 1) {
        resize_into<1>(set, src, rows, cols, image_size, offset, dst);
      } else {
        resize_into<3>(set, src, rows, cols, image_size, offset, dst);
      }
      if (contrast != 1) adjust_contrast(dst, image_size * image_size, contrast);
      if (brightness != 0 || contrast != 1)  // the reference ends with clip_by_value(-1, 1)
        for (int64_t i = 0; i < out_floats; ++i) dst[i] = std::clamp(dst[i], -1.0f, 1.0f);
    }
  });
}

}  // namespace munet
