// Task files in HDF5: chunked, deflated uint8 images and int32 labels per split, attributes at
// the root; reads go slab by slab into the final arrays.
#include "io/task_file.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "data/task_hash.h"
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

// A chunked, deflated dataset of `element_bytes`-byte elements, written whole from `data`.
void write_dataset(hid_t group, const char* name, hid_t file_type, hid_t mem_type, size_t element_bytes,
                   const std::vector<hsize_t>& dims, const void* data, const Where& w) {
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
  check(H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), w.file, cat("cannot write ", what));
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
        write_dataset(g, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1,
                      {hsize_t(v.size()), hsize_t(set.height), hsize_t(set.width), hsize_t(set.channels)}, v.images(),
                      w);
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
    read_rows(images, H5T_NATIVE_UINT8, set.size, set.image_bytes(), rows_per_chunk(set.image_bytes(), set.size),
              set.pixels.data(), hash, path, group + "/images");
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
