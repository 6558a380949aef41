// Batch preprocessing and the training example stream: value ranges, determinism across
// thread counts, crops, flips, jitter, and epoch coverage.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "data/augment.h"
#include "data/batch_stream.h"
#include "support/expect_error.h"
#include "util/rng.h"

namespace munet {
namespace {

// n images of height x width x channels with a deterministic asymmetric pattern.
ImageSet pattern_set(int n, int height, int width, int channels) {
  ImageSet set;
  set.size = n;
  set.height = height;
  set.width = width;
  set.channels = channels;
  set.pixels.resize(size_t(n) * height * width * channels);
  for (size_t i = 0; i < set.pixels.size(); ++i) set.pixels[i] = uint8_t((i * 37 + i / 5) % 256);
  set.labels.assign(n, 0);
  return set;
}

std::vector<int64_t> iota_indices(int n) {
  std::vector<int64_t> out(n);
  for (int i = 0; i < n; ++i) out[i] = i;
  return out;
}

std::vector<float> batch(const ImageSet& set, const std::vector<int64_t>& indices, int size,
                         const Augmentation* aug, uint64_t stream, int threads) {
  ThreadPool pool(threads);
  std::vector<float> out(indices.size() * size * size * 3);
  make_batch(set, indices.data(), int(indices.size()), size, aug, stream, out.data(), pool);
  return out;
}

Augmentation no_jitter() { return Augmentation{}; }

TEST(MakeBatch, EvalOfConstantImageIsTheScaledConstant) {
  ImageSet grey = pattern_set(2, 28, 28, 1);
  std::fill(grey.pixels.begin(), grey.pixels.end(), 51);
  for (float v : batch(grey, {1, 0}, 32, nullptr, 0, 1)) ASSERT_FLOAT_EQ(v, 51 / 127.5f - 1);

  ImageSet rgb = pattern_set(1, 10, 12, 3);
  for (size_t i = 0; i < rgb.pixels.size(); ++i)
    rgb.pixels[i] = i % 3 == 0 ? 0 : i % 3 == 1 ? 255 : 102;
  const std::vector<float> out = batch(rgb, {0}, 16, nullptr, 0, 1);
  for (size_t i = 0; i < out.size(); i += 3) {
    ASSERT_FLOAT_EQ(out[i], -1.0f);
    ASSERT_FLOAT_EQ(out[i + 1], 1.0f);
    ASSERT_FLOAT_EQ(out[i + 2], 102 / 127.5f - 1);
  }
}

TEST(MakeBatch, EvalAtTheSourceSizeCopiesPixels) {
  const ImageSet set = pattern_set(3, 8, 8, 1);
  const std::vector<float> out = batch(set, {2}, 8, nullptr, 0, 1);
  const uint8_t* src = set.image(2);
  for (int p = 0; p < 64; ++p)
    for (int c = 0; c < 3; ++c) ASSERT_EQ(out[p * 3 + c], src[p] / 127.5f - 1);
}

TEST(MakeBatch, OutputStaysInRangeWithoutJitter) {
  const ImageSet set = pattern_set(4, 28, 28, 1);
  ImageSet extremes = set;
  for (size_t i = 0; i < extremes.pixels.size(); ++i) extremes.pixels[i] = i % 2 ? 255 : 0;
  const Augmentation aug = no_jitter();
  for (const ImageSet* s : std::vector<const ImageSet*>{&set, &extremes}) {
    for (const Augmentation* a : {static_cast<const Augmentation*>(nullptr), &aug}) {
      for (float v : batch(*s, {0, 1, 2, 3, 3, 2, 1, 0}, 32, a, 7, 2)) {
        ASSERT_GE(v, -1.0f);
        ASSERT_LE(v, 1.0f);
      }
    }
  }
}

TEST(MakeBatch, SameStreamIsBitIdenticalForOneAndTwoThreads) {
  const ImageSet set = pattern_set(50, 28, 28, 1);
  Augmentation aug;
  aug.brightness = 0.2;
  aug.contrast = 0.2;
  std::vector<int64_t> indices = iota_indices(50);
  std::reverse(indices.begin(), indices.end());
  const std::vector<float> one = batch(set, indices, 32, &aug, 1234, 1);
  const std::vector<float> two = batch(set, indices, 32, &aug, 1234, 2);
  ASSERT_EQ(one.size(), two.size());
  EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)), 0);
}

TEST(MakeBatch, DifferentStreamsGiveDifferentCrops) {
  const ImageSet set = pattern_set(1, 28, 28, 3);
  Augmentation aug;
  aug.flip = false;
  const std::vector<int64_t> indices(8, 0);
  const std::vector<float> a = batch(set, indices, 32, &aug, 1, 1);
  const std::vector<float> b = batch(set, indices, 32, &aug, 2, 1);
  const size_t image_floats = 32 * 32 * 3;
  for (size_t i = 0; i < indices.size(); ++i)  // also: examples within a batch differ
    EXPECT_NE(std::memcmp(a.data() + i * image_floats, b.data() + i * image_floats,
                          image_floats * sizeof(float)),
              0)
        << "example " << i;
  EXPECT_NE(std::memcmp(a.data(), a.data() + image_floats, image_floats * sizeof(float)), 0);
}

TEST(MakeBatch, FlipMirrorsTheEvalOutputWhenDrawn) {
  const ImageSet set = pattern_set(1, 20, 28, 1);
  Augmentation aug = no_jitter();
  aug.crop = false;
  const int size = 24, examples = 32;
  const uint64_t stream = 99;
  const std::vector<int64_t> indices(examples, 0);
  const std::vector<float> eval = batch(set, {0}, size, nullptr, 0, 1);
  const std::vector<float> out = batch(set, indices, size, &aug, stream, 2);
  int flipped = 0;
  for (int b = 0; b < examples; ++b) {
    Rng rng(stream, {uint64_t(b)});
    const bool flip = rng.bernoulli(0.5);  // with crop off, the flip is the first draw
    flipped += flip;
    const float* got = out.data() + size_t(b) * size * size * 3;
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x)
        for (int c = 0; c < 3; ++c) {
          const int sx = flip ? size - 1 - x : x;
          ASSERT_EQ(got[(y * size + x) * 3 + c], eval[(y * size + sx) * 3 + c])
              << "example " << b << " flip " << flip << " at " << y << "," << x;
        }
  }
  EXPECT_GT(flipped, 0);
  EXPECT_LT(flipped, examples);
}

TEST(MakeBatch, BrightnessShiftsAndContrastScalesAboutTheMean) {
  const ImageSet set = pattern_set(1, 16, 16, 3);
  const std::vector<float> eval = batch(set, {0}, 16, nullptr, 0, 1);
  Augmentation aug = no_jitter();
  aug.crop = aug.flip = false;
  aug.brightness = 0.1;
  const std::vector<float> bright = batch(set, {0}, 16, &aug, 5, 1);
  const float shift = bright[0] - eval[0];
  EXPECT_NE(shift, 0.0f);
  EXPECT_LE(std::abs(shift), 0.1f + 1e-6f);  // brightness is added on the [-1, 1] scale
  for (size_t i = 0; i < eval.size(); ++i)  // then the result is clipped to [-1, 1]
    ASSERT_NEAR(bright[i], std::clamp(eval[i] + shift, -1.0f, 1.0f), 1e-5f) << i;

  // Contrast on a mid-range image ([64, 192] -> about [-0.5, 0.5]), where a factor up to 1.5
  // cannot reach the clip at +-1.
  ImageSet mid = set;
  for (uint8_t& p : mid.pixels) p = uint8_t(64 + p / 2);
  const std::vector<float> mid_eval = batch(mid, {0}, 16, nullptr, 0, 1);
  aug.brightness = 0;
  aug.contrast = 0.5;
  const std::vector<float> contrast = batch(mid, {0}, 16, &aug, 5, 1);
  for (int c = 0; c < 3; ++c) {
    double mean_eval = 0, mean_out = 0;
    for (int p = 0; p < 256; ++p) mean_eval += mid_eval[p * 3 + c], mean_out += contrast[p * 3 + c];
    mean_eval /= 256, mean_out /= 256;
    EXPECT_NEAR(mean_out, mean_eval, 1e-5);
    const double factor = (contrast[c] - mean_eval) / (mid_eval[c] - mean_eval);
    EXPECT_GE(factor, 0.5 - 1e-4);
    EXPECT_LE(factor, 1.5 + 1e-4);
    EXPECT_NE(factor, 1.0);
  }
}

TEST(MakeBatch, RejectsBadArguments) {
  const ImageSet set = pattern_set(3, 8, 8, 1);
  EXPECT_ERROR(batch(set, {0, 3}, 8, nullptr, 0, 1), "index 3", "batch position 1", "3 images");
  EXPECT_ERROR(batch(set, {0}, 0, nullptr, 0, 1), "image_size 0");
  Augmentation aug;
  aug.area_min = 0;
  EXPECT_ERROR(batch(set, {0}, 8, &aug, 0, 1), "area_min");
}

TEST(BatchStream, CoversEveryIndexOncePerEpochAndIsDeterministic) {
  const int64_t n = 10;
  BatchStream stream(n, 42), same(n, 42), other(n, 43);
  std::vector<int64_t> all, all_same, all_other, part;
  for (int i = 0; i < 10; ++i) {  // 30 indices: three epochs, batches spanning boundaries
    stream.next(3, part);
    all.insert(all.end(), part.begin(), part.end());
    same.next(3, part);
    all_same.insert(all_same.end(), part.begin(), part.end());
    other.next(3, part);
    all_other.insert(all_other.end(), part.begin(), part.end());
  }
  EXPECT_EQ(stream.epoch(), 3);
  EXPECT_EQ(all, all_same);
  EXPECT_NE(all, all_other);
  for (int e = 0; e < 3; ++e) {
    std::vector<int64_t> epoch(all.begin() + e * n, all.begin() + (e + 1) * n);
    std::sort(epoch.begin(), epoch.end());
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(epoch[i], i) << "epoch " << e;
  }
  EXPECT_FALSE(std::equal(all.begin(), all.begin() + n, all.begin() + n));  // fresh permutation
  EXPECT_ERROR(BatchStream(0, 1), "empty");
}

}  // namespace
}  // namespace munet
