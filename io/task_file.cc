// Task files in HDF5: chunked, deflated uint8 images and int32 labels per split, attributes at
// the root; reads go slab by slab into the final arrays. The images are compressed here, chunk by
// chunk (zlib: what HDF5's deflate filter stores, so any HDF5 reader decodes them), each stored
// chunk hashed (XXH3-64, "images_xxh3") and written raw; a reader checks each stored chunk's
// hash before it decodes it.
#include "io/task_file.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "data/task_hash.h"
#include "io/chunk_checksums.h"
#include "io/file_digest.h"
#include "io/hdf5_values.h"
#include "util/publish_file.h"

namespace munet {
namespace {

using h5::check;
using h5::Handle;
using h5::Where;

constexpr char kFormat[] = "munet-task";
constexpr int64_t kChunkBytes = 1 << 20;  // images per chunk: about 1 MiB of them
constexpr int kDeflateLevel = 4;

int64_t rows_per_chunk(int64_t image_bytes, int64_t rows) {
  return std::max<int64_t>(1, std::min(rows, kChunkBytes / std::max<int64_t>(1, image_bytes)));
}

// Writes dataset `ds` (chunks of `rows` whole rows, deflate) chunk by chunk: each compressed here
// as HDF5's deflate filter would, hashed as stored, and written raw; returns the chunks' hashes.
std::vector<uint64_t> write_compressed_chunks(hid_t ds, const std::vector<hsize_t>& dims, int64_t row_bytes,
                                              int64_t rows, const uint8_t* data, const std::string& file,
                                              const std::string& what) {
  const int64_t n = int64_t(dims[0]), chunk_bytes = rows * row_bytes;
  std::vector<uint8_t> chunk(size_t(chunk_bytes), 0);  // a whole chunk: the last one is padded with 0
  std::vector<uint8_t> stored(compressBound(uLong(chunk_bytes)));
  std::vector<uint64_t> hashes;
  hsize_t offset[H5S_MAX_RANK] = {};  // of a chunk: rows from offset[0], the rest 0
  for (int64_t first = 0; first < n; first += rows) {
    const int64_t valid = std::min(rows, n - first) * row_bytes;
    std::copy(data + first * row_bytes, data + first * row_bytes + valid, chunk.begin());
    std::fill(chunk.begin() + valid, chunk.end(), 0);
    uLongf size = uLongf(stored.size());
    MUNET_CHECK(compress2(stored.data(), &size, chunk.data(), uLong(chunk_bytes), kDeflateLevel) == Z_OK, file,
                ": cannot compress ", what, " rows from ", first);
    hashes.push_back(h5::xxh3_64(stored.data(), size));
    offset[0] = hsize_t(first);
    check(H5Dwrite_chunk(ds, H5P_DEFAULT, 0, offset, size, stored.data()), file,
          cat("cannot write ", what, " rows from ", first));
  }
  return hashes;
}

// A chunked, deflated dataset of `element_bytes`-byte elements, written whole from `data`; with
// `hashes`, compressed here with its stored chunks' hashes returned there (the file type must then
// be the memory type).
void write_dataset(hid_t group, const char* name, hid_t file_type, hid_t mem_type, size_t element_bytes,
                   const std::vector<hsize_t>& dims, const void* data, const Where& w,
                   std::vector<uint64_t>* hashes = nullptr) {
  const std::string what = cat(w.object, "/", name);
  Handle space = check(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose, w.file,
                       "cannot make a dataspace");
  Handle plist = check(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, w.file, "cannot make a property list");
  std::vector<hsize_t> chunk = dims;
  int64_t row_bytes = int64_t(element_bytes);
  for (size_t d = 1; d < dims.size(); ++d) row_bytes *= int64_t(dims[d]);
  chunk[0] = hsize_t(rows_per_chunk(row_bytes, int64_t(dims[0])));
  check(H5Pset_chunk(plist, int(chunk.size()), chunk.data()), w.file, cat("cannot chunk ", what));
  check(H5Pset_deflate(plist, kDeflateLevel), w.file, cat("cannot compress ", what));
  Handle ds = check(H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, plist, H5P_DEFAULT), H5Dclose, w.file,
                    cat("cannot create dataset ", what));
  if (!hashes) {
    check(H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), w.file, cat("cannot write ", what));
    return;
  }
  MUNET_CHECK(H5Tequal(file_type, mem_type) > 0, w.file, ": ", what, " is stored in another byte order than memory's");
  *hashes = write_compressed_chunks(ds, dims, row_bytes, int64_t(chunk[0]), static_cast<const uint8_t*>(data), w.file,
                                    what);
}

// Reads rows [0, n) of a dataset whose leading dimension is n into `out`, `rows` at a time.
void read_rows(hid_t ds, hid_t mem_type, int64_t n, int64_t row_bytes, int64_t rows, uint8_t* out,
               TaskHasher& hash, const std::string& path, const std::string& what) {
  Handle file_space = check(H5Dget_space(ds), H5Sclose, path, cat(what, " has no dataspace"));
  const int rank = H5Sget_simple_extent_ndims(file_space);
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(file_space, dims.data(), nullptr);
  for (int64_t begin = 0; begin < n; begin += rows) {
    std::vector<hsize_t> start(rank, 0), count = dims;
    start[0] = hsize_t(begin);
    count[0] = hsize_t(std::min(rows, n - begin));
    check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), path,
          cat("cannot select rows of ", what));
    Handle mem_space = check(H5Screate_simple(rank, count.data(), nullptr), H5Sclose, path, "cannot make a dataspace");
    uint8_t* dst = out + begin * row_bytes;
    check(H5Dread(ds, mem_type, mem_space, file_space, H5P_DEFAULT, dst), path,
          cat("cannot read ", what, " rows ", begin, "-", begin + int64_t(count[0]) - 1,
              " (file truncated or damaged?)"));
    hash.bytes(dst, size_t(int64_t(count[0]) * row_bytes));
  }
}

// Reads the rows of `group`'s images `ds` (n rows of `row_bytes`) into `out` stored chunk by stored
// chunk (as write_compressed_chunks stores them), checking each chunk's bytes against
// images_xxh3 before decoding it.
void read_checked_chunks(hid_t group, hid_t ds, int64_t n, int64_t row_bytes, uint8_t* out, TaskHasher& hash,
                         const std::string& path, const std::string& group_name) {
  const std::string what = group_name + "/images";
  Handle dcpl = check(H5Dget_create_plist(ds), H5Pclose, path, cat(what, " has no creation properties"));
  unsigned flags = 0, config = 0;
  size_t values = 0;
  const bool deflated = H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_nfilters(dcpl) == 1 &&
                        H5Pget_filter2(dcpl, 0, &flags, &values, nullptr, 0, nullptr, &config) == H5Z_FILTER_DEFLATE;
  const int rank = H5Pget_chunk(dcpl, 0, nullptr);
  std::vector<hsize_t> chunk(size_t(std::max(rank, 1)), 0);
  if (rank > 0) H5Pget_chunk(dcpl, rank, chunk.data());
  const std::vector<hsize_t> dims = h5::dims_of(ds, {path, what});
  bool whole_rows = rank == int(dims.size());
  for (size_t d = 1; whole_rows && d < dims.size(); ++d) whole_rows = chunk[d] == dims[d];
  MUNET_CHECK(deflated && whole_rows, path, ": ", what, " is not stored as its checksums need (chunks of whole rows, "
              "deflate only)");
  const int64_t rows = int64_t(chunk[0]), chunk_bytes = rows * row_bytes;
  const std::vector<uint64_t> expected =
      h5::read_checksums(group, h5::checksum_dataset_name("images"), (n + rows - 1) / rows, {path, group_name});
  std::vector<uint8_t> stored, decoded(static_cast<size_t>(chunk_bytes));
  hsize_t offset[H5S_MAX_RANK] = {};  // of a chunk: rows from offset[0], the rest 0
  for (int64_t first = 0, k = 0; first < n; first += rows, ++k) {
    offset[0] = hsize_t(first);
    const std::string rows_text = cat(what, " rows ", first, "-", std::min(n, first + rows) - 1);
    hsize_t size = 0;
    check(H5Dget_chunk_storage_size(ds, offset, &size), path, cat("cannot find ", rows_text));
    stored.resize(size_t(size));
    uint32_t mask = 0;
    check(H5Dread_chunk(ds, H5P_DEFAULT, offset, &mask, stored.data()), path,
          cat("cannot read ", rows_text, " (file truncated or damaged?)"));
    const uint64_t got = h5::xxh3_64(stored.data(), stored.size());
    if (got != expected[size_t(k)]) throw Error(h5::chunk_damage(path, what, k, got, expected[size_t(k)]));
    uLongf length = uLongf(chunk_bytes);
    MUNET_CHECK(mask == 0 && uncompress(decoded.data(), &length, stored.data(), uLong(size)) == Z_OK &&
                    int64_t(length) == chunk_bytes,
                path, ": cannot decode ", rows_text, " (its bytes match their checksum: written damaged?)");
    const int64_t valid = (std::min(n, first + rows) - first) * row_bytes;
    std::memcpy(out + first * row_bytes, decoded.data(), size_t(valid));
    hash.bytes(out + first * row_bytes, size_t(valid));
  }
}

// The images and labels: their every byte is covered by the content hash instead of /digest.
bool is_array_dataset(const std::string& path) {
  for (const char* split : kSplitNames)
    for (const char* array : {"images", "labels"})
      if (path == cat("/", split, "/", array)) return true;
  return false;
}

Handle open_task(const std::string& path) {
  h5::quiet_errors();
  MUNET_CHECK(::access(path.c_str(), R_OK) == 0, path, ": cannot read task file (missing or not readable)");
  MUNET_CHECK(H5Fis_hdf5(path.c_str()) > 0, path, ": not an HDF5 file (a task file is made by munet task pack)");
  return check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, path,
               "cannot open HDF5 file (truncated or damaged?)");
}

// The dataset's dimensions, after checking that it holds integers (unsigned bytes when `bytes`).
std::vector<hsize_t> integer_dims(hid_t ds, bool bytes, const std::string& path, const std::string& what,
                                  const char* want) {
  Handle type = check(H5Dget_type(ds), H5Tclose, path, cat(what, " has no type"));
  MUNET_CHECK(H5Tget_class(type) == H5T_INTEGER && (!bytes || (H5Tget_size(type) == 1 && H5Tget_sign(type) == H5T_SGN_NONE)),
              path, ": ", what, " must hold ", want);
  return h5::dims_of(ds, {path, what});
}

TaskFileInfo read_info(hid_t file, const std::string& path) {
  const Where root{path, "/"};
  MUNET_CHECK(h5::has_attr(file, "format"), path,
              ": HDF5 file is not a munet task (no 'format' attribute; make one with munet task pack)");
  const std::string format = h5::read_string_attr(file, "format", root);
  MUNET_CHECK(format == kFormat, path, ": HDF5 file is not a munet task (format '", format, "', expected '", kFormat,
              "')");
  TaskFileInfo info;
  info.format_version = h5::read_int_attr(file, "format_version", root);
  MUNET_CHECK(info.format_version >= kOldestTaskFileVersion && info.format_version <= kTaskFileVersion, path,
              ": task file format version ", info.format_version, ", this munet reads versions ", kOldestTaskFileVersion,
              " to ", kTaskFileVersion);
  if (info.format_version >= kDigestedTaskFileVersion)
    h5::verify_digest_table(file, is_array_dataset, root);
  else
    std::fprintf(stderr, "warning: %s: task file format version %lld has no /digest (it came with version %d): its "
                 "class names and source are read unverified (its content hash still covers the data)\n",
                 path.c_str(), (long long)info.format_version, kDigestedTaskFileVersion);
  TaskData& h = info.header;
  h.name = h5::read_string_attr(file, "name", root);
  const int64_t classes = h5::read_int_attr(file, "num_classes", root);
  MUNET_CHECK(classes >= 1 && classes <= (int64_t(1) << 30), path, ": num_classes is ", classes);
  h.num_classes = int(classes);
  h.class_names = h5::read_strings_attr(file, "class_names", root);
  h.source = h5::read_string_attr(file, "source", root);
  h.content_hash = h5::read_string_attr(file, "content_hash", root);
  h.file = path;
  for (int s = 0; s < 3; ++s) {
    const std::string group = cat("/", kSplitNames[s]);
    MUNET_CHECK(h5::path_exists(file, kSplitNames[s]), path, ": HDF5 file is not a complete munet task (no ", group,
                " group)");
    Handle g = h5::open_group(file, group, root);
    Handle images = h5::open_dataset(g, "images", {path, group});
    Handle labels = h5::open_dataset(g, "labels", {path, group});
    const std::vector<hsize_t> d =
        integer_dims(images, true, path, group + "/images", "uint8 images (N x H x W x C)");
    MUNET_CHECK(d.size() == 4 && (d[3] == 1 || d[3] == 3), path, ": ", group,
                "/images must be N x H x W x C with C = 1 or 3");
    const std::vector<hsize_t> l = integer_dims(labels, false, path, group + "/labels", "integer labels (N)");
    MUNET_CHECK(l.size() == 1 && l[0] == d[0], path, ": ", group, "/labels must hold one label per image (", d[0],
                " images)");
    info.sizes[s] = int64_t(d[0]);
    if (s == 0) {
      info.height = int64_t(d[1]);
      info.width = int64_t(d[2]);
      info.channels = int64_t(d[3]);
    }
    MUNET_CHECK(int64_t(d[1]) == info.height && int64_t(d[2]) == info.width && int64_t(d[3]) == info.channels, path,
                ": ", group, "/images are ", d[1], "x", d[2], "x", d[3], " but /train/images are ", info.height, "x",
                info.width, "x", info.channels);
  }
  return info;
}

}  // namespace

std::string write_task_file(const std::string& path, const TaskData& header, const TaskSplits& splits) {
  check_task(header, splits, cat(path, " (task ", header.name, ")"), true);
  const std::string hash = task_content_hash(header, splits);
  h5::quiet_errors();
  const std::string tmp = temporary_name(path);
  try {
    {
      const Where root{tmp, "/"};
      Handle fapl = check(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, tmp, "cannot make a property list");
      h5::use_checksummed_format(fapl, root);
      Handle file = check(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), H5Fclose, tmp, "cannot create file");
      h5::write_attr(file, "format", std::string(kFormat), root);
      h5::write_attr(file, "format_version", int64_t(kTaskFileVersion), root);
      h5::write_attr(file, "name", header.name, root);
      h5::write_attr(file, "num_classes", int64_t(header.num_classes), root);
      h5::write_attr(file, "class_names", header.class_names, root);
      h5::write_attr(file, "source", header.source, root);
      for (int s = 0; s < 3; ++s) {
        const SplitView& v = split_at(splits, s);
        const Where w{tmp, cat("/", kSplitNames[s])};
        Handle g = check(H5Gcreate2(file, kSplitNames[s], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, tmp,
                         cat("cannot create group ", w.object));
        const ImageSet& set = *v.set;
        std::vector<uint64_t> hashes;
        write_dataset(g, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1,
                      {hsize_t(v.size()), hsize_t(set.height), hsize_t(set.width), hsize_t(set.channels)}, v.images(),
                      w, &hashes);
        const std::string sums = h5::checksum_dataset_name("images");
        h5::create_checksum_dataset(g, sums, int64_t(hashes.size()), w);
        h5::write_checksums(g, sums, hashes, H5P_DEFAULT, w);
        write_dataset(g, "labels", H5T_STD_I32LE, H5T_NATIVE_INT32, sizeof(int32_t), {hsize_t(v.size())}, v.labels(),
                      w);
      }
      h5::write_attr(file, "content_hash", hash, root);
      h5::write_digest_table(file, is_array_dataset, root);  // over every attribute
      check(H5Fflush(file, H5F_SCOPE_GLOBAL), tmp, "cannot flush (disk full?)");
    }
    publish_file(tmp, path);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  return hash;
}

TaskFileInfo read_task_file_info(const std::string& path) {
  Handle file = open_task(path);
  return read_info(file, path);
}

TaskData read_task_file(const std::string& path) {
  Handle file = open_task(path);
  TaskFileInfo info = read_info(file, path);
  TaskData task = std::move(info.header);
  TaskHasher hash(task.name, task.num_classes);
  ImageSet* sets[3] = {&task.train, &task.validation, &task.test};
  for (int s = 0; s < 3; ++s) {
    ImageSet& set = *sets[s];
    set.size = info.sizes[s];
    set.height = int(info.height);
    set.width = int(info.width);
    set.channels = int(info.channels);
    set.pixels.resize(size_t(set.size * set.image_bytes()));
    set.labels.resize(size_t(set.size));
    hash.split(set.size, set.height, set.width, set.channels);
    const std::string group = cat("/", kSplitNames[s]);
    Handle g = h5::open_group(file, group, {path, "/"});
    Handle images = h5::open_dataset(g, "images", {path, group});
    if (info.format_version >= kChunkChecksummedTaskFileVersion) {
      read_checked_chunks(g, images, set.size, set.image_bytes(), set.pixels.data(), hash, path, group);
    } else {
      read_rows(images, H5T_NATIVE_UINT8, set.size, set.image_bytes(), rows_per_chunk(set.image_bytes(), set.size),
                set.pixels.data(), hash, path, group + "/images");
    }
    Handle labels = h5::open_dataset(g, "labels", {path, group});
    read_rows(labels, H5T_NATIVE_INT32, set.size, sizeof(int32_t), set.size,
              reinterpret_cast<uint8_t*>(set.labels.data()), hash, path, group + "/labels");
  }
  check_task(task, splits_of(task), path, true);
  const std::string computed = hash.hex();
  MUNET_CHECK(computed == task.content_hash, path, ": content_hash is ", task.content_hash,
              " but the data hashes to ", computed, " (file damaged, or edited without updating content_hash)");
  return task;
}

}  // namespace munet
