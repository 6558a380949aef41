// Damage for the checksum tests: one flipped bit at a byte of a file, or at a byte of a dataset's
// stored data (its contiguous storage or one of its chunks), found through HDF5's own addresses.
#pragma once
#include <hdf5.h>

#include <string>

namespace munet::test {

// Flips one bit of the byte at `offset` in `path`.
void flip_byte(const std::string& path, long offset);
// Flips one bit of the byte `at` bytes into dataset `object`'s stored data: its contiguous storage,
// or chunk `chunk` when it is chunked. Fails the test when the dataset has no such byte.
void flip_stored_byte(const std::string& path, const std::string& object, hsize_t at, hsize_t chunk = 0);

}  // namespace munet::test
