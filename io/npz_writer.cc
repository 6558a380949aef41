// .npy headers and a stored (method 0) zip archive: local headers, data, central directory,
// end record. Members larger than 4 GiB (zip64) are refused.
#include "io/npz_writer.h"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "util/error.h"
#include "util/publish_file.h"

namespace munet {
namespace {

template <class T>
std::vector<uint8_t> le_bytes(const std::vector<T>& v) {
  std::vector<uint8_t> out(v.size() * sizeof(T));
  for (size_t i = 0; i < v.size(); ++i) {
    uint64_t u = 0;
    std::memcpy(&u, &v[i], sizeof(T));
    for (size_t k = 0; k < sizeof(T); ++k) out[i * sizeof(T) + k] = uint8_t(u >> (8 * k));
  }
  return out;
}

void put16(std::vector<uint8_t>& b, uint32_t v) {
  b.push_back(uint8_t(v));
  b.push_back(uint8_t(v >> 8));
}
void put32(std::vector<uint8_t>& b, uint32_t v) {
  put16(b, v & 0xffff);
  put16(b, v >> 16);
}

// The .npy bytes: magic, version 1.0, the header dict padded with spaces to a multiple of 64
// bytes (newline last), then the data.
std::vector<uint8_t> npy_bytes(const NpyOutput& a) {
  std::string shape = "(";
  for (size_t i = 0; i < a.shape.size(); ++i) shape += cat(i ? ", " : "", a.shape[i]);
  shape += a.shape.size() == 1 ? ",)" : ")";
  std::string header = cat("{'descr': '", a.descr, "', 'fortran_order': False, 'shape': ", shape, ", }");
  const size_t preamble = 10;
  header.append(63 - (preamble + header.size()) % 64, ' ');
  header += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  put16(out, uint32_t(header.size()));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), a.bytes.begin(), a.bytes.end());
  return out;
}

}  // namespace

NpyOutput npy_float32(const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& v) {
  return {name, "<f4", shape, le_bytes(v)};
}

NpyOutput npy_int32(const std::string& name, const std::vector<int64_t>& shape, const std::vector<int32_t>& v) {
  return {name, "<i4", shape, le_bytes(v)};
}

void write_npz(const std::string& path, const std::vector<NpyOutput>& arrays) {
  std::vector<uint8_t> zip, directory;
  for (const NpyOutput& a : arrays) {
    int64_t n = 1;
    for (int64_t d : a.shape) n *= d;
    const size_t item = a.descr.size() >= 3 ? size_t(std::atoi(a.descr.c_str() + 2)) : 0;
    MUNET_CHECK(item > 0 && uint64_t(n) * item == a.bytes.size(), path, ": array '", a.name, "' has ",
                a.bytes.size(), " bytes, its shape and dtype '", a.descr, "' need ", uint64_t(n) * item);
    const std::vector<uint8_t> data = npy_bytes(a);
    const std::string member = a.name + ".npy";
    MUNET_CHECK(data.size() < 0xffffffffULL && zip.size() < 0xffffffffULL - data.size(), path,
                ": more than 4 GiB of arrays (zip64 is not written)");
    const uint32_t crc = uint32_t(crc32(crc32(0L, Z_NULL, 0), data.data(), uInt(data.size())));
    const uint32_t offset = uint32_t(zip.size());
    auto common = [&](std::vector<uint8_t>& b) {  // version needed .. name length, shared by both headers
      put16(b, 20);  // version needed: 2.0
      put16(b, 0);   // flags
      put16(b, 0);   // method: stored
      put16(b, 0);   // time
      put16(b, 0x21);  // date: 1980-01-01
      put32(b, crc);
      put32(b, uint32_t(data.size()));
      put32(b, uint32_t(data.size()));
      put16(b, uint32_t(member.size()));
      put16(b, 0);  // extra length
    };
    put32(zip, 0x04034b50);
    common(zip);
    zip.insert(zip.end(), member.begin(), member.end());
    zip.insert(zip.end(), data.begin(), data.end());
    put32(directory, 0x02014b50);
    put16(directory, 20);  // version made by
    common(directory);
    put16(directory, 0);  // comment length
    put16(directory, 0);  // disk
    put16(directory, 0);  // internal attributes
    put32(directory, 0);  // external attributes
    put32(directory, offset);
    directory.insert(directory.end(), member.begin(), member.end());
  }
  const uint32_t dir_offset = uint32_t(zip.size());
  zip.insert(zip.end(), directory.begin(), directory.end());
  put32(zip, 0x06054b50);
  put16(zip, 0);
  put16(zip, 0);
  put16(zip, uint32_t(arrays.size()));
  put16(zip, uint32_t(arrays.size()));
  put32(zip, uint32_t(directory.size()));
  put32(zip, dir_offset);
  put16(zip, 0);  // comment length

  const std::string tmp = temporary_name(path);
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(tmp.c_str(), "wb"), std::fclose);
  MUNET_CHECK(f != nullptr, path, ": cannot create file (", std::strerror(errno), ")");
  MUNET_CHECK(std::fwrite(zip.data(), 1, zip.size(), f.get()) == zip.size() && std::fflush(f.get()) == 0, path,
              ": cannot write (", std::strerror(errno), ")");
  f.reset();
  publish_file(tmp, path);
}

}  // namespace munet
