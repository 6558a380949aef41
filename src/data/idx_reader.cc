// IDX parsing on top of read_gzip_file or read_file_bytes; every size is checked against the header.
#include "data/idx_reader.h"

#include <iomanip>

#include "data/file_bytes.h"
#include "data/gzip_file.h"
#include "util/error.h"

namespace munet {
namespace {

constexpr uint32_t kImagesMagic = 0x00000803, kLabelsMagic = 0x00000801;
constexpr uint32_t kMaxSide = 1 << 16;

uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

// The file's bytes, decompressed when it starts with the gzip magic.
std::vector<uint8_t> read_idx_bytes(const std::string& path) {
  std::vector<uint8_t> bytes = read_file_bytes(path);
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) return read_gzip_file(path);
  return bytes;
}

std::string hex32(uint32_t v) { return cat("0x", std::hex, std::setw(8), std::setfill('0'), v); }

// Checks the magic and header length; returns the header's dimension words.
std::vector<uint32_t> parse_header(const std::string& path, const std::vector<uint8_t>& bytes,
                                   uint32_t magic, const char* kind) {
  if (bytes.size() < 4) fail(path, ": truncated IDX file: ", bytes.size(), " bytes, no magic");
  const uint32_t found = be32(bytes.data());
  if (found != magic)
    fail(path, ": wrong IDX magic ", hex32(found), ", expected ", hex32(magic), " (", kind, ")");
  const size_t dims = magic & 0xff;
  if (bytes.size() < 4 + 4 * dims)
    fail(path, ": truncated IDX header: ", bytes.size(), " bytes, need ", 4 + 4 * dims);
  std::vector<uint32_t> out(dims);
  for (size_t d = 0; d < dims; ++d) out[d] = be32(bytes.data() + 4 + 4 * d);
  return out;
}

void check_payload(const std::string& path, size_t header, size_t total, unsigned __int128 expected,
                   const std::string& what) {
  const size_t payload = total - header;
  if (payload == expected) return;
  fail(path, ": IDX payload ", payload < expected ? "too short" : "too long", ": ", payload,
       " bytes after the header, but the header (", what, ") says ",
       static_cast<unsigned long long>(expected));
}

}  // namespace

ImageSet read_idx_images(const std::string& path) {
  std::vector<uint8_t> bytes = read_idx_bytes(path);
  const std::vector<uint32_t> dims = parse_header(path, bytes, kImagesMagic, "images");
  const uint32_t n = dims[0], rows = dims[1], cols = dims[2];
  if (rows > kMaxSide || cols > kMaxSide)
    fail(path, ": implausible IDX image size ", rows, "x", cols, " (at most ", kMaxSide, ")");
  check_payload(path, 16, bytes.size(), static_cast<unsigned __int128>(n) * rows * cols,
                cat(n, " images of ", rows, "x", cols));
  ImageSet set;
  set.size = n;
  set.height = static_cast<int>(rows);
  set.width = static_cast<int>(cols);
  set.channels = 1;
  bytes.erase(bytes.begin(), bytes.begin() + 16);
  set.pixels = std::move(bytes);
  return set;
}

std::vector<int32_t> read_idx_labels(const std::string& path) {
  const std::vector<uint8_t> bytes = read_idx_bytes(path);
  const std::vector<uint32_t> dims = parse_header(path, bytes, kLabelsMagic, "labels");
  check_payload(path, 8, bytes.size(), dims[0], cat(dims[0], " labels"));
  return std::vector<int32_t>(bytes.begin() + 8, bytes.end());
}

}  // namespace munet
