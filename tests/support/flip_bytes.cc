// Flipped bytes in files and in HDF5 datasets' stored data; see flip_bytes.h.
#include "support/flip_bytes.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace munet::test {

void flip_byte(const std::string& path, long offset) {
  std::FILE* f = std::fopen(path.c_str(), "r+b");
  ASSERT_NE(f, nullptr) << path;
  std::fseek(f, offset, SEEK_SET);
  const int c = std::fgetc(f);
  std::fseek(f, offset, SEEK_SET);
  std::fputc(c ^ 0x10, f);
  std::fclose(f);
}

void flip_stored_byte(const std::string& path, const std::string& object, hsize_t at, hsize_t chunk) {
  haddr_t addr = HADDR_UNDEF;
  hsize_t stored = 0;
  {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t ds = H5Dopen2(f, object.c_str(), H5P_DEFAULT);
    addr = H5Dget_offset(ds);  // contiguous storage; HADDR_UNDEF when chunked
    if (addr != HADDR_UNDEF) {
      stored = H5Dget_storage_size(ds);
    } else {
      const hid_t space = H5Dget_space(ds);
      hsize_t offset[8] = {};
      unsigned mask = 0;
      H5Dget_chunk_info(ds, space, chunk, offset, &mask, &addr, &stored);
      H5Sclose(space);
    }
    H5Dclose(ds);
    H5Fclose(f);
  }
  ASSERT_NE(addr, HADDR_UNDEF) << path << ": " << object;
  ASSERT_LT(at, stored) << path << ": " << object;
  flip_byte(path, long(addr + at));
}

}  // namespace munet::test
