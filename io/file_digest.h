// The checksums of everything in a munet HDF5 file besides its chunk-checksummed parameters:
// every attribute (format, version, config, progress, component metadata) and every table
// column. Parameter chunks carry their own XXH3-64 (chunk_checksums.h); HDF5 checksums its own
// metadata (files are written in the v110 format). Written last but for the `complete` marker, as
// the table /digest: one row per object that holds attributes or table values, its path and the
// XXH3-64 of its contents, so that a mismatch names the table or object that changed.
//
// An object's hash (Python can recompute it: analysis/checkpoint_data.py): XXH3-64 over, for each
// attribute in name order, its name, a 0 byte, then its values; then, for a dataset whose values
// count (not a parameter dataset), its values. Values: variable-length strings as each string's
// UTF-8 bytes followed by a 0 byte; anything else as its raw little-endian bytes in the file's type.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "io/hdf5_values.h"

namespace munet::h5 {

constexpr const char* kDigestTable = "digest";

// Sets a file access list to write HDF5's v110 format, whose metadata HDF5 checksums itself.
void use_checksummed_format(hid_t fapl, const Where& w);

// True for a dataset whose values are covered by chunk checksums instead (by its path).
using IsParameterDataset = std::function<bool(const std::string& path)>;

// (path, hash) of every object with attributes or counted values, in name order; the root's
// `complete` attribute and the /digest table are left out.
std::vector<std::pair<std::string, uint64_t>> object_digests(hid_t file, const IsParameterDataset& is_parameter,
                                                               const Where& w);
// Writes /digest (columns `object` and `xxh3_64`).
void write_digest_table(hid_t file, const IsParameterDataset& is_parameter, const Where& w);
// Recomputes every object's hash and compares it with /digest; throws naming the file, the object
// and both hashes, or an object that appeared or disappeared. Returns the objects checked.
int64_t verify_digest_table(hid_t file, const IsParameterDataset& is_parameter, const Where& w);

}  // namespace munet::h5
