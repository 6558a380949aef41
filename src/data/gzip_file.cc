// read_gzip_file: the compressed file is read whole, then inflated member by member with
// zlib's gzip wrapper, which checks each member's CRC-32 and length trailer.
#include "data/gzip_file.h"

#include <zlib.h>

#include <algorithm>
#include <climits>

#include "data/file_bytes.h"
#include "util/error.h"

namespace munet {
namespace {

constexpr uint8_t kMagic0 = 0x1f, kMagic1 = 0x8b;
constexpr size_t kChunk = size_t(1) << 20;  // output is grown and zero-filled this much at a time
constexpr size_t kPlausibleRatio = 64;      // compression ratio up to which ISIZE is trusted

bool starts_like_gzip(const uint8_t* p, size_t n) {
  return (n < 1 || p[0] == kMagic0) && (n < 2 || p[1] == kMagic1);
}

// Output capacity to reserve: the last member's ISIZE trailer (length mod 2^32) when it is
// plausible for the compressed size. It is only reserved, never zero-filled, so a wrong hint
// from a damaged file costs address space, not time.
size_t size_hint(const std::vector<uint8_t>& in) {
  const size_t n = in.size();
  const size_t fallback = 4 * n + kChunk;
  if (n < 18) return fallback;
  const uint32_t isize = uint32_t(in[n - 4]) | uint32_t(in[n - 3]) << 8 |
                         uint32_t(in[n - 2]) << 16 | uint32_t(in[n - 1]) << 24;
  return isize <= kPlausibleRatio * n ? size_t(isize) : fallback;
}

}  // namespace

std::vector<uint8_t> read_gzip_file(const std::string& path) {
  const std::vector<uint8_t> in = read_file_bytes(path);
  if (in.empty()) fail(path, ": empty file, not a gzip stream");
  if (!starts_like_gzip(in.data(), in.size()))
    fail(path, ": not a gzip file (starts with bytes 0x", std::hex, int(in[0]),
         in.size() > 1 ? cat(" 0x", std::hex, int(in[1])) : std::string(), ")");

  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) fail(path, ": zlib inflateInit2 failed");
  std::vector<uint8_t> out;
  out.reserve(size_hint(in));
  size_t produced = 0;
  size_t consumed = 0;
  int rc = Z_OK;
  for (;;) {
    if (produced == out.size()) out.resize(out.size() + kChunk);
    z.next_in = const_cast<Bytef*>(in.data() + consumed);
    z.avail_in = static_cast<uInt>(std::min<size_t>(in.size() - consumed, UINT_MAX));
    z.next_out = out.data() + produced;
    z.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - produced, UINT_MAX));
    const uInt in_before = z.avail_in, out_before = z.avail_out;
    rc = inflate(&z, Z_NO_FLUSH);
    consumed += in_before - z.avail_in;
    produced += out_before - z.avail_out;
    if (rc == Z_STREAM_END) {
      if (consumed == in.size()) break;
      if (!starts_like_gzip(in.data() + consumed, in.size() - consumed)) {
        inflateEnd(&z);
        fail(path, ": corrupt gzip file: ", in.size() - consumed,
             " unexpected bytes after the gzip stream at offset ", consumed);
      }
      inflateReset(&z);
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR) {  // no progress although output space was free: input ran out
      inflateEnd(&z);
      fail(path, ": truncated gzip stream after ", in.size(),
           " compressed bytes (the stream does not end; file cut short?)");
    }
    const std::string msg = z.msg ? z.msg : "zlib error " + std::to_string(rc);
    inflateEnd(&z);
    fail(path, ": corrupt gzip stream at compressed byte ", consumed, ": ", msg);
  }
  inflateEnd(&z);
  out.resize(produced);
  return out;
}

}  // namespace munet
