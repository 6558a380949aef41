// The raw dataset readers of src/data (gzip, IDX, NPZ): round trips of generated files and, for
// each way a file can be bad, an error that names the file and the problem.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/file_bytes.h"
#include "data/gzip_file.h"
#include "data/idx_reader.h"
#include "data/npz_reader.h"
#include "support/expect_error.h"
#include "support/test_files.h"

namespace munet {
namespace {

using test::TempDir;

// Compressible but not trivial bytes.
std::vector<uint8_t> sample_bytes(size_t n) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = uint8_t((i * i / 7 + i / 13) % 251);
  return out;
}

TEST(GzipFile, RoundTripsData) {
  TempDir dir;
  const std::string path = dir.file("data.gz");
  for (size_t n : {size_t(0), size_t(1), size_t(100000)}) {
    test::write_gzip(path, sample_bytes(n));
    EXPECT_EQ(read_gzip_file(path), sample_bytes(n)) << "n=" << n;
  }
}

TEST(GzipFile, JoinsConcatenatedMembers) {
  TempDir dir;
  const std::string a = dir.file("a.gz"), b = dir.file("b.gz"), joined = dir.file("ab.gz");
  test::write_gzip(a, {1, 2, 3});
  test::write_gzip(b, {4, 5});
  std::vector<uint8_t> bytes = test::read_bytes(a);
  const std::vector<uint8_t> second = test::read_bytes(b);
  bytes.insert(bytes.end(), second.begin(), second.end());
  test::write_bytes(joined, bytes);
  EXPECT_EQ(read_gzip_file(joined), (std::vector<uint8_t>{1, 2, 3, 4, 5}));
}

TEST(GzipFile, MissingFileNamesPath) {
  TempDir dir;
  const std::string path = dir.path() + "/absent.gz";
  EXPECT_ERROR(read_gzip_file(path), path, "cannot open", "No such file");
}

TEST(GzipFile, TruncatedStreamIsAnErrorAtEveryCut) {
  TempDir dir;
  const std::string full = dir.file("full.gz"), cut = dir.file("cut.gz");
  test::write_gzip(full, sample_bytes(20000));
  const std::vector<uint8_t> bytes = test::read_bytes(full);
  std::vector<size_t> cuts = {1, 2, 3, 9, 10, 11, bytes.size() / 2};
  for (size_t from_end = 1; from_end <= 12; ++from_end) cuts.push_back(bytes.size() - from_end);
  for (size_t at = 13; at < bytes.size(); at += 97) cuts.push_back(at);
  for (size_t at : cuts) {
    SCOPED_TRACE("cut at " + std::to_string(at) + " of " + std::to_string(bytes.size()));
    test::write_bytes(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + at));
    EXPECT_ERROR(read_gzip_file(cut), cut, "truncated");
  }
  test::write_bytes(cut, {});
  EXPECT_ERROR(read_gzip_file(cut), cut, "empty");
}

TEST(GzipFile, NotGzipIsAnError) {
  TempDir dir;
  const std::string path = dir.file("plain.gz");
  test::write_bytes(path, test::idx_labels({1, 2, 3}));
  EXPECT_ERROR(read_gzip_file(path), path, "not a gzip file");
}

TEST(GzipFile, CorruptDataOrChecksumIsAnError) {
  TempDir dir;
  const std::string path = dir.file("data.gz");
  test::write_gzip(path, sample_bytes(5000));
  const std::vector<uint8_t> good = test::read_bytes(path);
  for (size_t at : {good.size() - 8, good.size() - 3}) {  // CRC-32, then ISIZE trailer
    std::vector<uint8_t> bad = good;
    bad[at] ^= 0x5a;
    test::write_bytes(path, bad);
    EXPECT_ERROR(read_gzip_file(path), path, "corrupt");
  }
  std::vector<uint8_t> trailing = good;
  trailing.push_back(0);
  test::write_bytes(path, trailing);
  EXPECT_ERROR(read_gzip_file(path), path, "unexpected bytes after");
}

TEST(IdxReader, RoundTripsImagesAndLabels) {
  TempDir dir;
  const std::string images = dir.file("images.gz"), labels = dir.file("labels.gz");
  const std::vector<uint8_t> pixels = sample_bytes(3 * 4 * 5);
  test::write_gzip(images, test::idx_images(3, 4, 5, pixels));
  test::write_gzip(labels, test::idx_labels({7, 0, 255}));
  const ImageSet set = read_idx_images(images);
  EXPECT_EQ(set.size, 3);
  EXPECT_EQ(set.height, 4);
  EXPECT_EQ(set.width, 5);
  EXPECT_EQ(set.channels, 1);
  EXPECT_EQ(set.pixels, pixels);
  EXPECT_TRUE(set.labels.empty());
  EXPECT_EQ(read_idx_labels(labels), (std::vector<int32_t>{7, 0, 255}));
}

TEST(IdxReader, WrongMagicNamesExpectedAndFound) {
  TempDir dir;
  const std::string labels = dir.file("labels.gz"), images = dir.file("images.gz");
  test::write_gzip(labels, test::idx_labels({1, 2}));
  test::write_gzip(images, test::idx_images(1, 2, 2, {1, 2, 3, 4}));
  EXPECT_ERROR(read_idx_images(labels), labels, "wrong IDX magic", "0x00000801", "0x00000803");
  EXPECT_ERROR(read_idx_labels(images), images, "wrong IDX magic", "0x00000803", "0x00000801");
}

TEST(IdxReader, PayloadLengthMustMatchHeader) {
  TempDir dir;
  const std::string path = dir.file("images.gz");
  test::write_gzip(path, test::idx_images(2, 3, 3, sample_bytes(17)));
  EXPECT_ERROR(read_idx_images(path), path, "too short", "17", "18");
  test::write_gzip(path, test::idx_images(2, 3, 3, sample_bytes(19)));
  EXPECT_ERROR(read_idx_images(path), path, "too long");
  std::vector<uint8_t> labels = test::idx_labels({1, 2, 3});
  labels.pop_back();
  test::write_gzip(path, labels);
  EXPECT_ERROR(read_idx_labels(path), path, "too short");
  test::write_gzip(path, {0, 0, 8});
  EXPECT_ERROR(read_idx_labels(path), path, "truncated IDX");
}

TEST(NpzArchive, RoundTripsStoredAndDeflatedArrays) {
  const std::vector<uint8_t> u1 = sample_bytes(2 * 3 * 4);
  const std::vector<bool> b1 = {true, false, false, true, true, false};
  const std::vector<int64_t> i8 = {0, -5, 1LL << 40, 9};
  const std::vector<int32_t> i4 = {-7, 0, 2147483647};
  for (bool deflate : {false, true}) {
    SCOPED_TRACE(deflate ? "deflated" : "stored");
    TempDir dir;
    const std::string path = dir.file("arrays.npz");
    test::write_npz(path,
                    {{"images", test::npy_u1({2, 3, 4}, u1)},
                     {"mask", test::npy_b1({2, 3}, b1)},
                     {"big", test::npy_i8({4}, i8)},
                     {"small", test::npy_i4({3}, i4)}},
                    deflate);
    const NpzArchive npz(path);
    EXPECT_EQ(npz.names(), (std::vector<std::string>{"images", "mask", "big", "small"}));
    EXPECT_TRUE(npz.has("mask"));
    EXPECT_FALSE(npz.has("labels"));

    const NpyArray images = npz.read("images");
    EXPECT_EQ(images.type(), NpyType::kUInt8);
    EXPECT_EQ(images.shape(), (std::vector<int64_t>{2, 3, 4}));
    EXPECT_EQ(images.to_uint8(), u1);

    const NpyArray mask = npz.read("mask");
    EXPECT_EQ(mask.type(), NpyType::kBool);
    EXPECT_EQ(mask.to_uint8(), (std::vector<uint8_t>{1, 0, 0, 1, 1, 0}));
    EXPECT_EQ(mask.to_int32(), (std::vector<int32_t>{1, 0, 0, 1, 1, 0}));

    const NpyArray big = npz.read("big");
    EXPECT_EQ(big.type(), NpyType::kInt64);
    EXPECT_EQ(big.shape(), (std::vector<int64_t>{4}));
    EXPECT_ERROR(big.to_int32(), path, "'big'", "1099511627776", "index 2", "int32");
    EXPECT_ERROR(big.to_uint8(), path, "'big'", "-5", "index 1", "uint8");

    const NpyArray small = npz.read("small");
    EXPECT_EQ(small.type(), NpyType::kInt32);
    EXPECT_EQ(small.to_int32(), i4);
  }
}

TEST(NpzArchive, ReadsZip64RecordsAndNpyVersions) {
  TempDir dir;
  const std::string path = dir.file("zip64.npz");
  const std::vector<int64_t> labels = {3, 1, 4, 1, 5};
  test::write_bytes(path,
                    test::zip({{"v1.npy", test::npy_i8({5}, labels), true},
                               {"v2.npy", test::npy("|u1", {2, 2}, {1, 2, 3, 4}, false, 2), false},
                               {"v3.npy", test::npy("|u1", {0}, {}, false, 3), true}},
                              /*zip64=*/true));
  const NpzArchive npz(path);
  EXPECT_EQ(npz.names(), (std::vector<std::string>{"v1", "v2", "v3"}));
  EXPECT_EQ(npz.read("v1").to_int32(), (std::vector<int32_t>{3, 1, 4, 1, 5}));
  EXPECT_EQ(npz.read("v2").to_uint8(), (std::vector<uint8_t>{1, 2, 3, 4}));
  EXPECT_EQ(npz.read("v3").size(), 0);
}

TEST(NpzArchive, MissingFileNamesPath) {
  TempDir dir;
  const std::string path = dir.path() + "/absent.npz";
  EXPECT_ERROR(NpzArchive{path}, path, "cannot open");
}

TEST(NpzArchive, NotAZipIsAnError) {
  TempDir dir;
  const std::string path = dir.file("fake.npz");
  test::write_bytes(path, sample_bytes(1000));
  EXPECT_ERROR(NpzArchive{path}, path, "not a zip archive");
}

TEST(NpzArchive, TruncatedArchiveIsAnError) {
  TempDir dir;
  const std::string full = dir.file("full.npz"), cut = dir.file("cut.npz");
  test::write_npz(full, {{"images", test::npy_u1({100}, sample_bytes(100))}});
  const std::vector<uint8_t> bytes = test::read_bytes(full);
  for (size_t at : {size_t(0), size_t(10), bytes.size() / 2, bytes.size() - 1}) {
    SCOPED_TRACE("cut at " + std::to_string(at));
    test::write_bytes(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + at));
    EXPECT_ERROR(NpzArchive{cut}, cut, "truncated");
  }
}

TEST(NpzArchive, MissingArrayListsWhatIsThere) {
  TempDir dir;
  const std::string path = dir.file("x.npz");
  test::write_npz(path, {{"images", test::npy_u1({1}, {0})}});
  const NpzArchive npz(path);
  EXPECT_ERROR(npz.read("labels"), path, "array 'labels' not found (archive holds: images)");
}

TEST(NpzArchive, UnsupportedDtypeAndLayoutAreErrors) {
  TempDir dir;
  const std::string path = dir.file("x.npz");
  test::write_npz(path, {{"halves", test::npy("<f2", {1}, {0, 60})},
                         {"floats", test::npy("<f4", {1}, {0, 0, 128, 63})},
                         {"big_endian", test::npy(">i8", {1}, sample_bytes(8))},
                         {"fortran", test::npy("|u1", {2, 2}, {1, 2, 3, 4}, true)},
                         {"short", test::npy("<i4", {3}, sample_bytes(11))}});
  const NpzArchive npz(path);
  EXPECT_ERROR(npz.read("halves"), path, "'halves'", "unsupported dtype '<f2'");
  // Floats are read as floats (imported checkpoints), never as pixels or labels.
  EXPECT_EQ(npz.read("floats").to_float32(), std::vector<float>{1.0f});
  EXPECT_ERROR(npz.read("floats").to_uint8(), "'floats'", "floating-point values, integers are expected");
  EXPECT_ERROR(npz.read("big_endian"), path, "unsupported dtype '>i8'");
  EXPECT_ERROR(npz.read("fortran"), path, "'fortran'", "fortran_order");
  EXPECT_ERROR(npz.read("short"), path, "'short'", "too short", "11", "12");
}

TEST(NpzArchive, CorruptedCrcIsAnError) {
  TempDir dir;
  const std::string path = dir.file("x.npz");
  test::write_npz(path, {{"images", test::npy_u1({64}, sample_bytes(64))}}, /*deflate=*/false);
  std::vector<uint8_t> bytes = test::read_bytes(path);
  bytes[100] ^= 1;  // inside the stored payload
  test::write_bytes(path, bytes);
  const NpzArchive npz(path);
  EXPECT_ERROR(npz.read("images"), path, "images", "bad CRC-32");
}

TEST(NpzArchive, CorruptDeflateDataIsAnError) {
  TempDir dir;
  const std::string path = dir.file("x.npz");
  test::write_npz(path, {{"images", test::npy_u1({4000}, sample_bytes(4000))}});
  std::vector<uint8_t> bytes = test::read_bytes(path);
  for (size_t at = 60; at < 90; ++at) bytes[at] = 0xff;
  test::write_bytes(path, bytes);
  const NpzArchive npz(path);
  EXPECT_ERROR(npz.read("images"), path, "images", "corrupt");
}

TEST(FileBytes, DirectoryIsAnError) {
  TempDir dir;
  EXPECT_ERROR(read_file_bytes(dir.path()), dir.path(), "is a directory");
}

}  // namespace
}  // namespace munet
