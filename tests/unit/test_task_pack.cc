// What `munet task pack` reads (data/pack_source.h): image folders of PNG and JPEG files under the
// colour rules, .npz and IDX sources, the fixed shuffle, and one error per bad input: an empty
// folder, a corrupt PNG or JPEG (named), images of different sizes, an .npz without the named
// arrays, a negative label.
#include <gtest/gtest.h>
#include <png.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "data/image_file.h"
#include "data/pack_source.h"
#include "support/expect_error.h"
#include "support/image_writers.h"
#include "support/test_files.h"

namespace munet {
namespace {

using test::TempDir;

// A w x h image whose samples are (x + 2y + k * 40) % 256 for channel k.
std::vector<uint16_t> pattern(int w, int h, int channels, int scale = 1) {
  std::vector<uint16_t> out;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < channels; ++k) out.push_back(uint16_t(((x + 2 * y + k * 40) % 256) * scale));
  return out;
}

std::vector<uint8_t> bytes_of(const std::vector<uint16_t>& v) { return {v.begin(), v.end()}; }

TEST(PackFolder, GreyRgbaAndJpegMixBecomesRgbWithSortedClasses) {
  TempDir dir;
  test::write_png(dir.file("z_rgba/1.png"), 6, 4, PNG_COLOR_TYPE_RGBA, 8, pattern(6, 4, 4));
  test::write_png(dir.file("a_grey/1.png"), 6, 4, PNG_COLOR_TYPE_GRAY, 8, pattern(6, 4, 1));
  test::write_png(dir.file("a_grey/2.png"), 6, 4, PNG_COLOR_TYPE_GRAY, 16, pattern(6, 4, 1, 257));
  test::write_jpeg(dir.file("B_jpeg/x.jpg"), 6, 4, 3, bytes_of(pattern(6, 4, 3)), 100);
  test::write_bytes(dir.file("a_grey/notes.txt"), {'h', 'i'});
  const PackSource src = read_pack_source(dir.path(), {});
  EXPECT_EQ(src.class_names, (std::vector<std::string>{"B_jpeg", "a_grey", "z_rgba"}));  // byte order
  EXPECT_EQ(src.num_classes, 3);
  const ImageSet& s = src.examples;
  ASSERT_EQ(s.size, 4);
  EXPECT_EQ(s.height, 4);
  EXPECT_EQ(s.width, 6);
  EXPECT_EQ(s.channels, 3);
  EXPECT_EQ(s.labels, (std::vector<int32_t>{0, 1, 1, 2}));
  const std::vector<uint16_t> grey = pattern(6, 4, 1), rgba = pattern(6, 4, 4), rgb = pattern(6, 4, 3);
  for (int p = 0; p < 24; ++p) {
    for (int k = 0; k < 3; ++k) {
      EXPECT_EQ(s.image(1)[3 * p + k], grey[p]) << "grey repeated into RGB, pixel " << p;
      EXPECT_EQ(s.image(2)[3 * p + k], grey[p]) << "16-bit scaled to 8 bits, pixel " << p;
      EXPECT_EQ(s.image(3)[3 * p + k], rgba[4 * p + k]) << "alpha dropped, not blended, pixel " << p;
      EXPECT_NEAR(s.image(0)[3 * p + k], rgb[3 * p + k], 12) << "JPEG pixel " << p;
    }
  }
  EXPECT_NE(src.description.find("1 other files skipped"), std::string::npos) << src.description;
}

TEST(PackFolder, GreyStaysOneChannelAndPaletteBecomesRgb) {
  TempDir grey, palette;
  test::write_png(grey.file("0/a.png"), 3, 2, PNG_COLOR_TYPE_GRAY, 8, pattern(3, 2, 1));
  test::write_jpeg(grey.file("1/b.jpeg"), 3, 2, 1, bytes_of(pattern(3, 2, 1)), 100);
  const PackSource g = read_pack_source(grey.path(), {});
  EXPECT_EQ(g.examples.channels, 1);
  test::write_png(palette.file("0/p.png"), 2, 1, PNG_COLOR_TYPE_PALETTE, 8, {1, 0}, {10, 20, 30, 40, 50, 60});
  const PackSource p = read_pack_source(palette.path(), {});
  EXPECT_EQ(p.examples.channels, 3);
  EXPECT_EQ(p.examples.pixels, (std::vector<uint8_t>{40, 50, 60, 10, 20, 30}));
}

TEST(PackFolder, MixedSizesAreRefusedNamingTwoFilesOrResized) {
  TempDir dir;
  test::write_png(dir.file("a/1.png"), 6, 4, PNG_COLOR_TYPE_GRAY, 8, pattern(6, 4, 1));
  test::write_png(dir.file("b/2.png"), 5, 5, PNG_COLOR_TYPE_GRAY, 8, std::vector<uint16_t>(25, 7));
  EXPECT_ERROR(read_pack_source(dir.path(), {}), "images of different sizes", dir.file("a/1.png"), "6x4",
               dir.file("b/2.png"), "5x5", "--size");
  PackOptions options;
  options.size = 8;
  const PackSource s = read_pack_source(dir.path(), options);
  EXPECT_EQ(s.examples.height, 8);
  EXPECT_EQ(s.examples.width, 8);
  for (int64_t i = 0; i < 64; ++i) EXPECT_EQ(s.examples.image(1)[i], 7);  // a flat image stays flat
}

TEST(PackFolder, CorruptOrTruncatedImagesAreNamed) {
  TempDir dir;
  test::write_png(dir.file("a/good.png"), 6, 4, PNG_COLOR_TYPE_GRAY, 8, pattern(6, 4, 1));
  test::write_bytes(dir.file("a/bad.png"), {0x89, 'P', 'N', 'G', 1, 2, 3});
  EXPECT_ERROR(read_pack_source(dir.path(), {}), dir.file("a/bad.png"), "unreadable or corrupt PNG");
  std::filesystem::remove(dir.file("a/bad.png"));
  test::write_jpeg(dir.file("a/cut.jpg"), 64, 64, 3, std::vector<uint8_t>(64 * 64 * 3, 90));
  std::filesystem::resize_file(dir.file("a/cut.jpg"), std::filesystem::file_size(dir.file("a/cut.jpg")) / 2);
  EXPECT_ERROR(read_pack_source(dir.path(), {}), dir.file("a/cut.jpg"), "unreadable or corrupt JPEG");
  test::write_bytes(dir.file("a/cut.jpg"), {'n', 'o', 't', 'j', 'p', 'g'});
  EXPECT_ERROR(read_pack_source(dir.path(), {}), dir.file("a/cut.jpg"), "unreadable or corrupt JPEG");
}

TEST(PackFolder, EmptyFoldersAreRefused) {
  TempDir dir;
  EXPECT_ERROR(read_pack_source(dir.path(), {}), dir.path(), "empty folder");
  std::filesystem::create_directories(dir.file("cats"));
  EXPECT_ERROR(read_pack_source(dir.path(), {}), dir.file("cats"), "class folder holds no PNG or JPEG files");
  std::filesystem::remove(dir.file("cats"));
  test::write_png(dir.file("top.png"), 2, 2, PNG_COLOR_TYPE_GRAY, 8, pattern(2, 2, 1));
  EXPECT_ERROR(read_pack_source(dir.path(), {}), "top.png", "lies directly in the folder");
}

TEST(PackNpz, ReadsNamedArraysAndRefusesMissingOnes) {
  TempDir dir;
  const std::string path = dir.file("x.npz");
  test::write_npz(path, {{"x", test::npy_u1({3, 2, 2}, std::vector<uint8_t>(12, 5))},
                         {"y", test::npy_i8({3}, {0, 2, 1})}});
  EXPECT_ERROR(read_pack_source(path, {}), path, "array 'images' not found", "x, y");
  PackOptions keys;
  keys.images_key = "x";
  keys.labels_key = "y";
  const PackSource s = read_pack_source(path, keys);
  EXPECT_EQ(s.examples.size, 3);
  EXPECT_EQ(s.examples.channels, 1);
  EXPECT_EQ(s.num_classes, 3);
  keys.labels_key = "z";
  EXPECT_ERROR(read_pack_source(path, keys), path, "array 'z' not found");
}

TEST(PackNpz, NegativeLabelsAndRgbaArrays) {
  TempDir dir;
  const std::string path = dir.file("x.npz");
  test::write_npz(path, {{"images", test::npy_u1({2, 1, 1, 4}, {1, 2, 3, 4, 5, 6, 7, 8})},
                         {"labels", test::npy_i8({2}, {0, -1})}});
  EXPECT_ERROR(read_pack_source(path, {}), path, "'labels'", "label -1 at index 1 is negative");
  test::write_npz(path, {{"images", test::npy_u1({2, 1, 1, 4}, {1, 2, 3, 4, 5, 6, 7, 8})},
                         {"labels", test::npy_i8({2}, {0, 1})}});
  const PackSource s = read_pack_source(path, {});
  EXPECT_EQ(s.examples.channels, 3);
  EXPECT_EQ(s.examples.pixels, (std::vector<uint8_t>{1, 2, 3, 5, 6, 7}));
}

TEST(PackIdx, PlainAndGzippedPairs) {
  TempDir dir;
  const std::vector<uint8_t> pixels(2 * 3 * 3, 9);
  test::write_bytes(dir.file("a-images-idx3-ubyte"), test::idx_images(2, 3, 3, pixels));
  test::write_bytes(dir.file("a-labels-idx1-ubyte"), test::idx_labels({1, 4}));
  const PackSource plain = read_pack_source(dir.file("a-images-idx3-ubyte"), {});
  EXPECT_EQ(plain.examples.size, 2);
  EXPECT_EQ(plain.num_classes, 5);
  test::write_gzip(dir.file("i.gz"), test::idx_images(2, 3, 3, pixels));
  test::write_gzip(dir.file("l.gz"), test::idx_labels({1, 0, 1}));
  EXPECT_ERROR(read_pack_source(dir.file("i.gz") + "," + dir.file("l.gz"), {}), "count mismatch", "2 images",
               "3 labels");
}

TEST(PackOrder, FixedShuffleSeededByTheName) {
  const std::vector<int64_t> order = pack_order(10, "shapes");
  EXPECT_EQ(order, pack_order(10, "shapes"));
  EXPECT_NE(order, pack_order(10, "shapes2"));
  std::vector<int64_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(sorted[i], i);
  // Pinned: the same on every machine and in every later munet (task files depend on it).
  EXPECT_EQ(order, (std::vector<int64_t>{5, 1, 7, 3, 4, 2, 6, 8, 0, 9}));
}

TEST(PackOrder, PermuteInPlaceMatchesAGather) {
  ImageSet s;
  s.size = 7;
  s.height = s.width = 1;
  s.channels = 2;
  for (int i = 0; i < 14; ++i) s.pixels.push_back(uint8_t(i));
  for (int i = 0; i < 7; ++i) s.labels.push_back(i * 10);
  const std::vector<int64_t> order = pack_order(7, "x");
  ImageSet p = s;
  permute_in_place(p, order);
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(p.labels[i], s.labels[order[i]]);
    EXPECT_EQ(p.image(i)[1], s.image(order[i])[1]);
  }
}

}  // namespace
}  // namespace munet
