// Generated input files for the reader and dataset tests: a self-deleting temporary
// directory and writers for gzip, IDX, .npy and zip/.npz bytes built independently of the readers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace munet::test {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/relative, creating the parent directories.
  std::string file(const std::string& relative) const;

 private:
  std::string path_;
};

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
std::vector<uint8_t> read_bytes(const std::string& path);
// Gzip-compresses data into path with zlib's gzopen/gzwrite.
void write_gzip(const std::string& path, const std::vector<uint8_t>& data);

// IDX bytes (uncompressed): magic 0x803 + n, rows, cols + pixels; magic 0x801 + n + labels.
std::vector<uint8_t> idx_images(uint32_t n, uint32_t rows, uint32_t cols,
                                const std::vector<uint8_t>& pixels);
std::vector<uint8_t> idx_labels(const std::vector<uint8_t>& labels);

// .npy bytes for a raw little-endian payload (format `major`.0, header padded to 64 bytes).
std::vector<uint8_t> npy(const std::string& descr, const std::vector<int64_t>& shape,
                         const std::vector<uint8_t>& payload, bool fortran_order = false,
                         int major = 1);
std::vector<uint8_t> npy_u1(const std::vector<int64_t>& shape, const std::vector<uint8_t>& v);
std::vector<uint8_t> npy_b1(const std::vector<int64_t>& shape, const std::vector<bool>& v);
std::vector<uint8_t> npy_i4(const std::vector<int64_t>& shape, const std::vector<int32_t>& v);
std::vector<uint8_t> npy_i8(const std::vector<int64_t>& shape, const std::vector<int64_t>& v);

struct ZipMember {
  std::string name;
  std::vector<uint8_t> data;
  bool deflate = true;
};
// A zip archive with correct CRCs and central directory; zip64 forces zip64 extra fields
// and the zip64 end-of-central-directory record and locator.
std::vector<uint8_t> zip(const std::vector<ZipMember>& members, bool zip64 = false);

struct NpzArray {
  std::string name;  // without ".npy"
  std::vector<uint8_t> npy;
};
void write_npz(const std::string& path, const std::vector<NpzArray>& arrays, bool deflate = true);

}  // namespace munet::test
