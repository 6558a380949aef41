// XXH3-64 checksums of parameter chunks; see chunk_checksums.h.
#include "io/chunk_checksums.h"

#include <xxhash.h>
#if defined(__x86_64__) || defined(__i386__)
// libxxhash's runtime dispatch: XXH3 with AVX2 or AVX-512 where the CPU has them (the same hashes,
// about twice as fast on data in the cache as the SSE2 code it is built with).
#include <xxh_x86dispatch.h>
#endif

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>

namespace munet::h5 {
namespace {

constexpr int64_t kChunkElements = int64_t(1) << 20;  // 4 MiB of float32

std::atomic<bool> checksums_on{true};

}  // namespace

void set_chunk_checksums(bool on) { checksums_on = on; }
bool chunk_checksums_on() { return checksums_on; }

std::string checksum_dataset_name(const std::string& part) { return part + "_xxh3"; }

std::vector<int64_t> chunk_shape(const std::vector<int64_t>& shape) {
  // Split the leading dimensions into equal pieces until a chunk holds at most kChunkElements
  // (equal pieces: no chunk hangs past the data, so the file holds no padding). A chunk is then
  // one contiguous run of the row-major values: the dimensions it splits before the last are 1 wide.
  std::vector<int64_t> chunk = shape;
  for (size_t i = 0; i < chunk.size(); ++i) {
    int64_t rest = 1;
    for (size_t j = i + 1; j < chunk.size(); ++j) rest *= chunk[j];
    const int64_t most = std::max<int64_t>(1, kChunkElements / rest);
    const int64_t pieces = (chunk[i] + most - 1) / most;
    chunk[i] = (chunk[i] + pieces - 1) / pieces;
    if (chunk[i] * rest <= kChunkElements) break;
  }
  return chunk;
}

int64_t chunk_elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : chunk_shape(shape)) n *= d;
  return n;
}

int64_t chunk_count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  const int64_t per = chunk_elements(shape);
  return per == 0 ? 0 : (n + per - 1) / per;
}

int64_t chunk_count(const std::vector<ParamSpec>& layout) {
  int64_t n = 0;
  for (const ParamSpec& p : layout) n += chunk_count(p.shape);
  return n;
}

uint64_t xxh3_64(const void* data, size_t bytes) { return XXH3_64bits(data, bytes); }

struct Xxh3Stream::State {
  XXH3_state_t* s = XXH3_createState();
};
Xxh3Stream::Xxh3Stream() : state_(new State) {
  MUNET_CHECK(state_->s != nullptr, "cannot allocate an XXH3 hashing state");
  reset();
}
Xxh3Stream::~Xxh3Stream() {
  XXH3_freeState(state_->s);
  delete state_;
}
void Xxh3Stream::reset() { XXH3_64bits_reset(state_->s); }
void Xxh3Stream::add(const void* data, size_t bytes) { XXH3_64bits_update(state_->s, data, bytes); }
uint64_t Xxh3Stream::digest() const { return XXH3_64bits_digest(state_->s); }

std::string hex64(uint64_t h) {
  char s[17];
  std::snprintf(s, sizeof s, "%016" PRIx64, h);
  return s;
}

void hash_param_chunks(const ParamSpec& p, const float* values, std::vector<uint64_t>& out) {
  const int64_t per = chunk_elements(p.shape);
  const int64_t n = shape_numel(p.shape);
  for (int64_t first = 0; first < n; first += per)
    out.push_back(!checksums_on ? 0 : xxh3_64(values + first, size_t(std::min(per, n - first)) * sizeof(float)));
}

void create_checksum_dataset(hid_t group, const std::string& name, int64_t chunks, const Where& w) {
  const hsize_t n = hsize_t(chunks);
  Handle space = check(H5Screate_simple(1, &n, nullptr), H5Sclose, w.file, "cannot make a dataspace");
  Handle dcpl = check(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, w.file, "cannot make a property list");
  check(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY), w.file, "cannot set allocation time");
  check(H5Dcreate2(group, name.c_str(), H5T_STD_U64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), H5Dclose, w.file,
        cat("cannot create dataset ", w.object, "/", name));
}

void write_checksums(hid_t group, const std::string& name, const std::vector<uint64_t>& hashes, hid_t transfer,
                     const Where& w) {
  Handle ds = check(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose, w.file,
                    cat("cannot open dataset ", w.object, "/", name));
  check(H5Dwrite(ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, transfer, hashes.data()), w.file,
        cat("cannot write dataset ", w.object, "/", name));
}

std::vector<uint64_t> read_checksums(hid_t group, const std::string& name, int64_t chunks, const Where& w) {
  MUNET_CHECK(path_exists(group, name), w.file, ": dataset ", w.object, "/", name,
              " (the checksums of its chunks) is missing");
  Handle ds = open_dataset(group, name, w);
  Handle type = check(H5Dget_type(ds), H5Tclose, w.file, "cannot read a dataset's type");
  MUNET_CHECK(H5Tget_class(type) == H5T_INTEGER && H5Tget_size(type) == 8 && H5Tget_sign(type) == H5T_SGN_NONE,
              w.file, ": dataset ", w.object, "/", name, " is not uint64");
  const std::vector<hsize_t> dims = dims_of(ds, w);
  MUNET_CHECK(dims.size() == 1 && int64_t(dims[0]) == chunks, w.file, ": dataset ", w.object, "/", name, " holds ",
              dims.empty() ? 0 : int64_t(dims[0]), " checksums, the component has ", chunks, " chunks");
  std::vector<uint64_t> v(static_cast<size_t>(chunks));
  if (chunks > 0)
    check(H5Dread(ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), w.file,
          cat("cannot read dataset ", w.object, "/", name));
  return v;
}

std::string chunk_damage(const std::string& file, const std::string& object, int64_t chunk, uint64_t got,
                         uint64_t expected) {
  return cat(file, ": ", object, " chunk ", chunk, " is damaged: its bytes hash to XXH3-64 ", hex64(got),
             ", the file's checksum is ", hex64(expected));
}

void verify_chunk(const void* data, size_t bytes, uint64_t expected, const std::string& file,
                  const std::string& object, int64_t chunk) {
  const uint64_t got = xxh3_64(data, bytes);
  if (got != expected) throw Error(chunk_damage(file, object, chunk, got, expected));
}

}  // namespace munet::h5
