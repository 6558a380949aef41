// Writers for the generated test inputs. The zip writer follows APPNOTE.TXT directly so that
// the reader is tested against an independent implementation of the format.
#include "support/test_files.h"

#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace munet::test {
namespace {

void put16(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(uint8_t(v));
  out.push_back(uint8_t(v >> 8));
}
void put32(std::vector<uint8_t>& out, uint32_t v) {
  put16(out, v & 0xffff);
  put16(out, v >> 16);
}
void put64(std::vector<uint8_t>& out, uint64_t v) {
  put32(out, uint32_t(v));
  put32(out, uint32_t(v >> 32));
}
void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(uint8_t(v >> shift));
}

std::vector<uint8_t> raw_deflate(const std::vector<uint8_t>& data) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::vector<uint8_t> out(deflateBound(&z, data.size()));
  z.next_in = const_cast<Bytef*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/munet_test_XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::file(const std::string& relative) const {
  const std::filesystem::path full = std::filesystem::path(path_) / relative;
  std::filesystem::create_directories(full.parent_path());
  return full.string();
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void write_gzip(const std::string& path, const std::vector<uint8_t>& data) {
  gzFile file = gzopen(path.c_str(), "wb");
  if (file == nullptr) throw std::runtime_error("gzopen failed: " + path);
  const int written = data.empty() ? 0 : gzwrite(file, data.data(), unsigned(data.size()));
  if (gzclose(file) != Z_OK || written != int(data.size()))
    throw std::runtime_error("gzwrite failed: " + path);
}

std::vector<uint8_t> idx_images(uint32_t n, uint32_t rows, uint32_t cols,
                                const std::vector<uint8_t>& pixels) {
  std::vector<uint8_t> out;
  for (uint32_t v : {0x803u, n, rows, cols}) put_be32(out, v);
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

std::vector<uint8_t> idx_labels(const std::vector<uint8_t>& labels) {
  std::vector<uint8_t> out;
  put_be32(out, 0x801);
  put_be32(out, uint32_t(labels.size()));
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

std::vector<uint8_t> npy(const std::string& descr, const std::vector<int64_t>& shape,
                         const std::vector<uint8_t>& payload, bool fortran_order, int major) {
  std::string dims;
  for (int64_t d : shape) dims += std::to_string(d) + ", ";
  if (shape.size() > 1) dims.resize(dims.size() - 2);
  std::string header = "{'descr': '" + descr +
                       "', 'fortran_order': " + (fortran_order ? "True" : "False") +
                       ", 'shape': (" + dims + "), }";
  const size_t preamble = major == 1 ? 10 : 12;
  header.append(63 - (preamble + header.size()) % 64, ' ');
  header += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(major), 0};
  if (major == 1)
    put16(out, uint32_t(header.size()));
  else
    put32(out, uint32_t(header.size()));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::vector<uint8_t> npy_u1(const std::vector<int64_t>& shape, const std::vector<uint8_t>& v) {
  return npy("|u1", shape, v);
}

std::vector<uint8_t> npy_b1(const std::vector<int64_t>& shape, const std::vector<bool>& v) {
  return npy("|b1", shape, std::vector<uint8_t>(v.begin(), v.end()));
}

std::vector<uint8_t> npy_i4(const std::vector<int64_t>& shape, const std::vector<int32_t>& v) {
  std::vector<uint8_t> payload;
  for (int32_t x : v) put32(payload, uint32_t(x));
  return npy("<i4", shape, payload);
}

std::vector<uint8_t> npy_i8(const std::vector<int64_t>& shape, const std::vector<int64_t>& v) {
  std::vector<uint8_t> payload;
  for (int64_t x : v) put64(payload, uint64_t(x));
  return npy("<i8", shape, payload);
}

std::vector<uint8_t> zip(const std::vector<ZipMember>& members, bool zip64) {
  std::vector<uint8_t> out, directory;
  const uint32_t saturated = 0xffffffffu;
  for (const ZipMember& m : members) {
    const std::vector<uint8_t> body = m.deflate ? raw_deflate(m.data) : m.data;
    const uint32_t crc = uint32_t(crc32(crc32(0L, Z_NULL, 0), m.data.data(), uInt(m.data.size())));
    const uint64_t offset = out.size();
    std::vector<uint8_t> local_extra, central_extra;
    if (zip64) {
      put16(local_extra, 0x0001);
      put16(local_extra, 16);
      put64(local_extra, m.data.size());
      put64(local_extra, body.size());
      put16(central_extra, 0x0001);
      put16(central_extra, 24);
      put64(central_extra, m.data.size());
      put64(central_extra, body.size());
      put64(central_extra, offset);
    }
    const uint16_t method = m.deflate ? 8 : 0;
    put32(out, 0x04034b50);
    for (uint32_t v : {45u, 0u, uint32_t(method), 0u, 0x21u}) put16(out, v);  // version..date
    put32(out, crc);
    put32(out, zip64 ? saturated : uint32_t(body.size()));
    put32(out, zip64 ? saturated : uint32_t(m.data.size()));
    put16(out, uint32_t(m.name.size()));
    put16(out, uint32_t(local_extra.size()));
    out.insert(out.end(), m.name.begin(), m.name.end());
    out.insert(out.end(), local_extra.begin(), local_extra.end());
    out.insert(out.end(), body.begin(), body.end());

    put32(directory, 0x02014b50);
    for (uint32_t v : {45u, 45u, 0u, uint32_t(method), 0u, 0x21u}) put16(directory, v);
    put32(directory, crc);
    put32(directory, zip64 ? saturated : uint32_t(body.size()));
    put32(directory, zip64 ? saturated : uint32_t(m.data.size()));
    put16(directory, uint32_t(m.name.size()));
    put16(directory, uint32_t(central_extra.size()));
    for (int i = 0; i < 3; ++i) put16(directory, 0);  // comment length, disk, internal attributes
    put32(directory, 0);                              // external attributes
    put32(directory, zip64 ? saturated : uint32_t(offset));
    directory.insert(directory.end(), m.name.begin(), m.name.end());
    directory.insert(directory.end(), central_extra.begin(), central_extra.end());
  }
  const uint64_t directory_offset = out.size();
  out.insert(out.end(), directory.begin(), directory.end());
  if (zip64) {
    const uint64_t end64_offset = out.size();
    put32(out, 0x06064b50);
    put64(out, 44);  // size of the rest of the record
    put16(out, 45);
    put16(out, 45);
    put32(out, 0);
    put32(out, 0);
    put64(out, members.size());
    put64(out, members.size());
    put64(out, directory.size());
    put64(out, directory_offset);
    put32(out, 0x07064b50);
    put32(out, 0);
    put64(out, end64_offset);
    put32(out, 1);
  }
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, zip64 ? 0xffff : uint32_t(members.size()));
  put16(out, zip64 ? 0xffff : uint32_t(members.size()));
  put32(out, zip64 ? saturated : uint32_t(directory.size()));
  put32(out, zip64 ? saturated : uint32_t(directory_offset));
  put16(out, 0);
  return out;
}

void write_npz(const std::string& path, const std::vector<NpzArray>& arrays, bool deflate) {
  std::vector<ZipMember> members;
  for (const NpzArray& a : arrays) members.push_back({a.name + ".npy", a.npy, deflate});
  write_bytes(path, zip(members));
}

}  // namespace munet::test
