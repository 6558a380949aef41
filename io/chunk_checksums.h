// Per-chunk checksums of a component's parameter datasets, so that a flipped bit in a stored
// parameter or momentum is found when it is read instead of trained on. Each float32 parameter
// dataset is stored in chunks of at most 4 MiB that are contiguous in its row-major values
// (component_datasets.h); every chunk gets an XXH3-64 of its bytes (float32 little-endian),
// computed from memory by the rank that writes it, while writing. A part (values,
// velocity) keeps its chunks' hashes in one uint64 dataset beside it, "<part>_xxh3": the layout's
// parameters in order, each one's chunks in row-major order (io/SCHEMA.md).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/hdf5_values.h"
#include "nn/component.h"

namespace munet::h5 {

// On by default. bench_checkpoint_io turns it off to measure what checksums cost in the same run:
// writers then store 0 for every chunk without hashing (the file keeps its layout), and checkpoint
// readers neither read the chunks' tables nor verify them or the file's /digest.
void set_chunk_checksums(bool on);
bool chunk_checksums_on();

// The name of the checksum dataset of a part ("values" -> "values_xxh3").
std::string checksum_dataset_name(const std::string& part);

// The chunk dimensions a parameter of this shape is stored in (at most 4 MiB of float32).
std::vector<int64_t> chunk_shape(const std::vector<int64_t>& shape);
// Elements per stored chunk of a parameter of this shape (the chunk's row-major extent).
int64_t chunk_elements(const std::vector<int64_t>& shape);
// Chunks a parameter of this shape is stored in.
int64_t chunk_count(const std::vector<int64_t>& shape);
// Chunks in all of a layout's parameters: the length of its checksum dataset.
int64_t chunk_count(const std::vector<ParamSpec>& layout);

uint64_t xxh3_64(const void* data, size_t bytes);
// XXH3-64 of bytes that arrive in pieces (the same hash as xxh3_64 over all of them): readers hash
// each piece as it lands, while it is still in the cache, instead of a second pass over memory.
class Xxh3Stream {
 public:
  Xxh3Stream();
  ~Xxh3Stream();
  Xxh3Stream(const Xxh3Stream&) = delete;
  Xxh3Stream& operator=(const Xxh3Stream&) = delete;
  void reset();
  void add(const void* data, size_t bytes);
  uint64_t digest() const;

 private:
  struct State;
  State* state_;
};
std::string hex64(uint64_t h);  // 16 lowercase hex digits (Python: xxhash.xxh3_64_hexdigest)

// Appends the hashes of one parameter's chunks (its values at `values`, row-major) to `out`.
void hash_param_chunks(const ParamSpec& p, const float* values, std::vector<uint64_t>& out);

// The checksum dataset: created by every rank (collective), filled by the part's writer.
void create_checksum_dataset(hid_t group, const std::string& name, int64_t chunks, const Where& w);
void write_checksums(hid_t group, const std::string& name, const std::vector<uint64_t>& hashes, hid_t transfer,
                     const Where& w);
// Reads it, requiring exactly `chunks` entries.
std::vector<uint64_t> read_checksums(hid_t group, const std::string& name, int64_t chunks, const Where& w);

// The error for chunk `chunk` of the dataset `object` (in `file`) whose bytes hash to `got`, not
// `expected`: it names the file, the dataset, the chunk and both hashes.
std::string chunk_damage(const std::string& file, const std::string& object, int64_t chunk, uint64_t got,
                         uint64_t expected);
// Throws chunk_damage unless chunk `chunk` of `object`, `bytes` at `data`, hashes to `expected`.
void verify_chunk(const void* data, size_t bytes, uint64_t expected, const std::string& file,
                  const std::string& object, int64_t chunk);

}  // namespace munet::h5
