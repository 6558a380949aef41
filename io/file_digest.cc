// Hashes of a file's attributes and tables; see file_digest.h.
#include "io/file_digest.h"

#include <xxhash.h>

#include <map>
#include <memory>

#include "io/chunk_checksums.h"

namespace munet::h5 {
namespace {

struct Hasher {
  std::unique_ptr<XXH3_state_t, XXH_errorcode (*)(XXH3_state_t*)> state{XXH3_createState(), XXH3_freeState};
  Hasher() { XXH3_64bits_reset(state.get()); }
  void add(const void* p, size_t n) { XXH3_64bits_update(state.get(), p, n); }
  uint64_t digest() const { return XXH3_64bits_digest(state.get()); }
};

// Adds the values of an attribute or dataset (`attribute` picks the call) to `h`.
void add_values(Hasher& h, hid_t obj, bool attribute, const std::string& what, const Where& w) {
  Handle type = check(attribute ? H5Aget_type(obj) : H5Dget_type(obj), H5Tclose, w.file, cat("cannot type ", what));
  Handle space = check(attribute ? H5Aget_space(obj) : H5Dget_space(obj), H5Sclose, w.file,
                       cat("cannot read the shape of ", what));
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n <= 0) return;
  if (H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) > 0) {
    Handle mem = check(H5Tcopy(H5T_C_S1), H5Tclose, w.file, "cannot make a string type");
    check(H5Tset_size(mem, H5T_VARIABLE), w.file, "cannot make a string type");
    check(H5Tset_cset(mem, H5Tget_cset(type)), w.file, "cannot make a string type");
    std::vector<char*> ptrs(size_t(n), nullptr);
    check(attribute ? H5Aread(obj, mem, ptrs.data()) : H5Dread(obj, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()),
          w.file, cat("cannot read ", what));
    for (char* p : ptrs) {
      const std::string s = p ? p : "";
      h.add(s.c_str(), s.size() + 1);
      H5free_memory(p);
    }
    return;
  }
  // Raw bytes in the file's own type (munet's numbers are stored little-endian: as in memory here).
  std::vector<char> bytes(size_t(n) * H5Tget_size(type));
  check(attribute ? H5Aread(obj, type, bytes.data()) : H5Dread(obj, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()),
        w.file, cat("cannot read ", what));
  h.add(bytes.data(), bytes.size());
}

struct Walk {
  hid_t file;
  const IsParameterDataset& is_parameter;
  const Where& w;
  std::vector<std::pair<std::string, uint64_t>> out;
  std::string error;
};

// Hashes one object; false when it holds nothing to hash.
bool hash_object(Walk& walk, const std::string& path, H5O_type_t kind, uint64_t* hash) {
  const Where& w = walk.w;
  Handle obj = check(H5Oopen(walk.file, path.c_str(), H5P_DEFAULT), H5Oclose, w.file, cat("cannot open ", path));
  H5O_info_t info;
  check(H5Oget_info2(obj, &info, H5O_INFO_NUM_ATTRS), w.file, cat("cannot read ", path));
  const bool values = kind == H5O_TYPE_DATASET && !walk.is_parameter(path);
  Hasher h;
  int64_t attrs = 0;
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    Handle a = check(H5Aopen_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
                     w.file, cat("cannot open an attribute of ", path));
    const ssize_t len = H5Aget_name(a, 0, nullptr);
    std::string name(size_t(std::max<ssize_t>(len, 0)), '\0');
    H5Aget_name(a, name.size() + 1, &name[0]);
    if (path == "/" && name == "complete") continue;  // written after the digest
    h.add(name.c_str(), name.size() + 1);
    add_values(h, a, true, cat("attribute ", path, path == "/" ? "" : "/", name), w);
    ++attrs;
  }
  if (values) add_values(h, obj, false, cat("dataset ", path), w);
  if (attrs == 0 && !values) return false;
  *hash = h.digest();
  return true;
}

herr_t visit(hid_t, const char* name, const H5O_info_t* info, void* data) {
  Walk& walk = *static_cast<Walk*>(data);
  const std::string rel = name;
  const std::string path = rel == "." ? "/" : "/" + rel;
  if (path == std::string("/") + kDigestTable || path.rfind(std::string("/") + kDigestTable + "/", 0) == 0) return 0;
  try {
    uint64_t hash = 0;
    if (hash_object(walk, path, info->type, &hash)) walk.out.emplace_back(path, hash);
  } catch (const Error& e) {
    walk.error = e.what();
    return -1;
  }
  return 0;
}

}  // namespace

void use_checksummed_format(hid_t fapl, const Where& w) {
  check(H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_LATEST), w.file, "cannot choose the v110 file format");
}

std::vector<std::pair<std::string, uint64_t>> object_digests(hid_t file, const IsParameterDataset& is_parameter,
                                                               const Where& w) {
  Walk walk{file, is_parameter, w, {}, {}};
  if (H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, visit, &walk, H5O_INFO_BASIC) < 0) {
    MUNET_CHECK(walk.error.empty(), walk.error);
    fail(w.file, ": cannot walk the file's objects (damaged?)");
  }
  return walk.out;
}

void write_digest_table(hid_t file, const IsParameterDataset& is_parameter, const Where& w) {
  const auto digests = object_digests(file, is_parameter, w);
  Handle g = check(H5Gcreate2(file, kDigestTable, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, w.file,
                   cat("cannot create group /", kDigestTable));
  const Where dw{w.file, std::string("/") + kDigestTable};
  std::vector<std::string> objects;
  std::vector<uint64_t> hashes;
  for (const auto& [path, hash] : digests) objects.push_back(path), hashes.push_back(hash);
  write_column(g, "object", objects, dw);
  create_checksum_dataset(g, "xxh3_64", int64_t(hashes.size()), dw);
  if (!hashes.empty()) write_checksums(g, "xxh3_64", hashes, H5P_DEFAULT, dw);
}

int64_t verify_digest_table(hid_t file, const IsParameterDataset& is_parameter, const Where& w) {
  const Where dw{w.file, std::string("/") + kDigestTable};
  Handle g = open_group(file, kDigestTable, {w.file, "/"});
  const auto objects = read_string_column(g, "object", -1, dw);
  const auto hashes = read_checksums(g, "xxh3_64", int64_t(objects.size()), dw);
  std::map<std::string, uint64_t> want;
  for (size_t i = 0; i < objects.size(); ++i) want[objects[i]] = hashes[i];
  const auto got = object_digests(file, is_parameter, w);
  for (const auto& [path, hash] : got) {
    auto it = want.find(path);
    MUNET_CHECK(it != want.end(), w.file, ": ", path, " is not in /", kDigestTable,
                " (an object was added, or an object's name is damaged)");
    MUNET_CHECK(it->second == hash, w.file, ": ", path, " is damaged: its attributes and values hash to XXH3-64 ",
                hex64(hash), ", /", kDigestTable, " says ", hex64(it->second));
    want.erase(it);
  }
  MUNET_CHECK(want.empty(), w.file, ": ", want.empty() ? "" : want.begin()->first, " is listed in /", kDigestTable,
              " but holds nothing (an object was removed, or its name is damaged)");
  return int64_t(got.size());
}

}  // namespace munet::h5
