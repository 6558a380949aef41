// munet_make_test_images DIR: an image folder for the task-packing CLI test, in every colour kind
// `munet task pack` converts: DIR/bars (8-bit grey PNG and 16-bit grey PNG), DIR/dots (RGBA PNG and
// palette PNG), DIR/rings (RGB JPEG); 16x16, 30 images per class, each class its own pattern plus noise.
#include <png.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "support/image_writers.h"
#include "util/rng.h"

using munet::Rng;

namespace {

constexpr int kSide = 16, kPerClass = 30;

// 0..255 intensity of class c's pattern at (x, y), with noise.
int intensity(int c, int x, int y, Rng& rng) {
  double v = 0;
  if (c == 0) v = (x / 2) % 2 ? 220 : 30;                                      // vertical bars
  if (c == 1) v = (x % 4 == 1 && y % 4 == 1) ? 240 : 20;                       // dots
  if (c == 2) v = std::fabs(std::hypot(x - 7.5, y - 7.5) - 5) < 1.5 ? 230 : 25;  // a ring
  return int(std::min(255.0, std::max(0.0, v + 30 * (rng.uniform() - 0.5))));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: munet_make_test_images DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  Rng rng(7);
  for (int i = 0; i < kPerClass; ++i) {
    const std::string n = std::to_string(100 + i);
    std::vector<uint16_t> grey, rgba;
    std::vector<uint8_t> rgb;
    for (int y = 0; y < kSide; ++y)
      for (int x = 0; x < kSide; ++x) {
        grey.push_back(uint16_t(intensity(0, x, y, rng)));
        const int d = intensity(1, x, y, rng);
        rgba.insert(rgba.end(), {uint16_t(d), uint16_t(d / 2), uint16_t(255 - d), uint16_t(i * 8)});
        const int r = intensity(2, x, y, rng);
        rgb.insert(rgb.end(), {uint8_t(r), uint8_t(r), uint8_t(255 - r)});
      }
    if (i % 2 == 0) {
      munet::test::write_png(dir + "/bars/" + n + ".png", kSide, kSide, PNG_COLOR_TYPE_GRAY, 8, grey);
    } else {
      for (uint16_t& v : grey) v = uint16_t(v * 257);
      munet::test::write_png(dir + "/bars/" + n + ".png", kSide, kSide, PNG_COLOR_TYPE_GRAY, 16, grey);
    }
    if (i % 3 != 0) {
      munet::test::write_png(dir + "/dots/" + n + ".png", kSide, kSide, PNG_COLOR_TYPE_RGBA, 8, rgba);
    } else {  // palette: index 1 where the dot is bright
      std::vector<uint16_t> index;
      for (size_t p = 0; p < rgba.size(); p += 4) index.push_back(rgba[p] > 128 ? 1 : 0);
      munet::test::write_png(dir + "/dots/" + n + ".png", kSide, kSide, PNG_COLOR_TYPE_PALETTE, 8, index,
                             {20, 10, 235, 240, 120, 15});
    }
    munet::test::write_jpeg(dir + "/rings/" + n + ".jpg", kSide, kSide, 3, rgb);
  }
  return 0;
}
