// ZipArchive: end-of-central-directory search, zip64 directory records and extra fields,
// local headers, and extraction by raw inflate with an incremental CRC-32.
#include "data/zip_archive.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <iomanip>

#include "data/file_bytes.h"
#include "util/error.h"

namespace munet {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50,
                   kEnd64Sig = 0x06064b50, kLocator64Sig = 0x07064b50;
constexpr size_t kEndSize = 22, kLocator64Size = 20, kEnd64Size = 56, kCentralSize = 46,
                 kLocalSize = 30;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kStored = 0, kDeflated = 8;
// Inflate in slices small enough to CRC the output while it is still in cache.
constexpr size_t kChunk = size_t(1) << 18;
constexpr uint64_t kMaxDeflateRatio = 1032;  // deflate cannot expand data further

uint16_t le16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t le32(const uint8_t* p) { return uint32_t(le16(p)) | uint32_t(le16(p + 2)) << 16; }
uint64_t le64(const uint8_t* p) { return uint64_t(le32(p)) | uint64_t(le32(p + 4)) << 32; }

std::string hex32(uint32_t v) { return cat("0x", std::hex, std::setw(8), std::setfill('0'), v); }

}  // namespace

ZipArchive::ZipArchive(std::string path) : path_(std::move(path)), bytes_(read_file_bytes(path_)) {
  parse_directory();
}

void ZipArchive::parse_directory() {
  const size_t n = bytes_.size();
  const uint8_t* b = bytes_.data();
  // The end record sits at the end, followed only by a comment of at most 65,535 bytes.
  size_t end = SIZE_MAX;
  if (n >= kEndSize) {
    const size_t lowest = n - kEndSize >= 0xffff ? n - kEndSize - 0xffff : 0;
    for (size_t at = n - kEndSize + 1; at-- > lowest;) {
      if (le32(b + at) == kEndSig) {
        end = at;
        break;
      }
    }
  }
  if (end == SIZE_MAX)
    fail(path_, ": not a zip archive, or truncated (no end-of-central-directory record in ", n,
         " bytes)");
  uint64_t count = le16(b + end + 10);
  uint64_t dir_size = le32(b + end + 12);
  uint64_t dir_offset = le32(b + end + 16);
  if (end >= kLocator64Size && le32(b + end - kLocator64Size) == kLocator64Sig) {
    const uint64_t at = le64(b + end - kLocator64Size + 8);
    if (at > n || n - at < kEnd64Size || le32(b + at) != kEnd64Sig)
      fail(path_, ": corrupt zip archive: bad zip64 end-of-central-directory offset ", at);
    count = le64(b + at + 32);
    dir_size = le64(b + at + 40);
    dir_offset = le64(b + at + 48);
  }
  if (dir_offset > n || dir_size > n - dir_offset)
    fail(path_, ": truncated or corrupt zip archive: central directory at ", dir_offset, " (",
         dir_size, " bytes) lies outside the ", n, "-byte file");

  const uint8_t* p = b + dir_offset;
  const uint8_t* const dir_end = p + dir_size;
  for (uint64_t i = 0; i < count; ++i) {
    if (dir_end - p < static_cast<ptrdiff_t>(kCentralSize) || le32(p) != kCentralSig)
      fail(path_, ": corrupt zip central directory at entry ", i, " of ", count);
    Entry e;
    e.flags = le16(p + 8);
    e.method = le16(p + 10);
    e.crc = le32(p + 16);
    e.compressed = le32(p + 20);
    e.uncompressed = le32(p + 24);
    const size_t name_len = le16(p + 28), extra_len = le16(p + 30), comment_len = le16(p + 32);
    e.local_offset = le32(p + 42);
    if (static_cast<size_t>(dir_end - p) < kCentralSize + name_len + extra_len + comment_len)
      fail(path_, ": corrupt zip central directory at entry ", i, " of ", count);
    e.name.assign(reinterpret_cast<const char*>(p + kCentralSize), name_len);
    // Zip64 extra field: 64-bit values for exactly those fields saturated at 0xffffffff.
    const uint8_t* x = p + kCentralSize + name_len;
    const uint8_t* const x_end = x + extra_len;
    while (x_end - x >= 4) {
      const uint16_t id = le16(x), len = le16(x + 2);
      if (x_end - x - 4 < len) break;
      if (id == kZip64ExtraId) {
        const uint8_t* v = x + 4;
        const uint8_t* const v_end = v + len;
        for (uint64_t* field : {&e.uncompressed, &e.compressed, &e.local_offset}) {
          if (*field != 0xffffffffu) continue;
          if (v_end - v < 8) fail(path_, ": corrupt zip64 extra field for '", e.name, "'");
          *field = le64(v);
          v += 8;
        }
      }
      x += 4 + len;
    }
    entries_.push_back(std::move(e));
    p += kCentralSize + name_len + extra_len + comment_len;
  }
}

std::vector<std::string> ZipArchive::names() const {
  std::vector<std::string> out;
  for (const Entry& e : entries_) out.push_back(e.name);
  return out;
}

bool ZipArchive::has(const std::string& name) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const Entry& e) { return e.name == name; });
}

const ZipArchive::Entry& ZipArchive::entry(const std::string& name) const {
  for (const Entry& e : entries_)
    if (e.name == name) return e;
  std::string held;
  for (const Entry& e : entries_) held += (held.empty() ? "" : ", ") + e.name;
  fail(path_, ": member '", name, "' not found (archive holds: ", held.empty() ? "nothing" : held,
       ")");
}

const uint8_t* ZipArchive::member_data(const Entry& e) const {
  const size_t n = bytes_.size();
  if (e.local_offset > n || n - e.local_offset < kLocalSize ||
      le32(bytes_.data() + e.local_offset) != kLocalSig)
    fail(path_, ": corrupt zip archive: no local header for '", e.name, "' at offset ",
         e.local_offset);
  const uint8_t* local = bytes_.data() + e.local_offset;
  const uint64_t start = e.local_offset + kLocalSize + le16(local + 26) + le16(local + 28);
  if (start > n || e.compressed > n - start)
    fail(path_, ": truncated zip archive: member '", e.name, "' needs ", e.compressed,
         " bytes at offset ", start, " but the file has ", n);
  return bytes_.data() + start;
}

std::vector<uint8_t> ZipArchive::read(const std::string& name) const {
  const Entry& e = entry(name);
  if (e.flags & 1) fail(path_, ": member '", name, "' is encrypted (unsupported)");
  if (e.method != kStored && e.method != kDeflated)
    fail(path_, ": member '", name, "' uses unsupported compression method ", e.method,
         " (supported: 0 stored, 8 deflate)");
  const uint8_t* in = member_data(e);
  if (e.method == kStored && e.compressed != e.uncompressed)
    fail(path_, ": corrupt zip archive: stored member '", name, "' has compressed size ",
         e.compressed, " != size ", e.uncompressed);
  if (e.method == kDeflated && e.uncompressed > kMaxDeflateRatio * (e.compressed + 1))
    fail(path_, ": corrupt zip archive: member '", name, "' claims ", e.uncompressed,
         " bytes from ", e.compressed, " deflated bytes");
  std::vector<uint8_t> out;
  uLong crc = crc32(0L, Z_NULL, 0);
  if (e.method == kStored) {
    out.assign(in, in + e.compressed);
    for (size_t at = 0; at < out.size(); at += kChunk)
      crc = crc32(crc, out.data() + at, static_cast<uInt>(std::min(kChunk, out.size() - at)));
  } else {
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail(path_, ": zlib inflateInit2 failed");
    out.reserve(e.uncompressed);
    uint8_t empty_out = 0;  // zlib rejects a null next_out, which an empty vector may give
    uint64_t consumed = 0, produced = 0;
    int rc = Z_OK;
    while (rc == Z_OK) {
      z.next_in = const_cast<Bytef*>(in + consumed);
      z.avail_in = static_cast<uInt>(std::min<uint64_t>(e.compressed - consumed, UINT_MAX));
      out.resize(std::min<uint64_t>(produced + kChunk, e.uncompressed));  // within reserve
      z.next_out = out.empty() ? &empty_out : out.data() + produced;
      z.avail_out = static_cast<uInt>(out.size() - produced);
      const uInt in_before = z.avail_in, out_before = z.avail_out;
      rc = inflate(&z, Z_NO_FLUSH);
      consumed += in_before - z.avail_in;
      const uInt got = out_before - z.avail_out;
      if (got > 0) crc = crc32(crc, out.data() + produced, got);
      produced += got;
    }
    const std::string msg = z.msg ? z.msg : cat("zlib error ", rc);
    inflateEnd(&z);
    if (rc != Z_STREAM_END && rc != Z_BUF_ERROR)
      fail(path_, ": corrupt deflate data in member '", name, "': ", msg);
    if (rc == Z_BUF_ERROR && produced == e.uncompressed)
      fail(path_, ": corrupt zip archive: member '", name, "' inflates to more than its recorded ",
           "size ", e.uncompressed);
    if (rc == Z_BUF_ERROR)
      fail(path_, ": truncated or corrupt member '", name, "': its deflate data ends after ",
           produced, " of ", e.uncompressed, " bytes");
    if (produced != e.uncompressed)
      fail(path_, ": corrupt zip archive: member '", name, "' inflates to ", produced,
           " bytes, directory says ", e.uncompressed);
  }
  if (crc != e.crc)
    fail(path_, ": bad CRC-32 for member '", name, "': computed ", hex32(uint32_t(crc)),
         ", directory says ", hex32(e.crc), " (corrupt archive)");
  return out;
}

}  // namespace munet
