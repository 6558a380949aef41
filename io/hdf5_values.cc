// HDF5 attributes and table columns with checked reads.
#include "io/hdf5_values.h"

#include <algorithm>

namespace munet::h5 {
namespace {

std::string at(const Where& w, const char* name) { return cat(w.object, w.object == "/" ? "" : "/", name); }

Handle string_type(const Where& w) {
  Handle t = check(H5Tcopy(H5T_C_S1), H5Tclose, w.file, "cannot make a string type");
  check(H5Tset_size(t, H5T_VARIABLE), w.file, "cannot make a string type");
  check(H5Tset_cset(t, H5T_CSET_UTF8), w.file, "cannot make a string type");
  return t;
}

Handle space_1d(size_t n, const Where& w) {
  const hsize_t d = n;
  return check(H5Screate_simple(1, &d, nullptr), H5Sclose, w.file, "cannot make a dataspace");
}

Handle scalar_space(const Where& w) { return check(H5Screate(H5S_SCALAR), H5Sclose, w.file, "cannot make a dataspace"); }

void put_attr(hid_t obj, const char* name, hid_t file_type, hid_t mem_type, hid_t space, const void* data,
              const Where& w) {
  if (H5Aexists(obj, name) > 0) check(H5Adelete(obj, name), w.file, cat("cannot replace attribute ", at(w, name)));
  Handle a = check(H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose, w.file,
                   cat("cannot create attribute ", at(w, name)));
  if (H5Sget_simple_extent_npoints(space) > 0)
    check(H5Awrite(a, mem_type, data), w.file, cat("cannot write attribute ", at(w, name)));
}

Handle open_attr(hid_t obj, const char* name, const Where& w) {
  MUNET_CHECK(H5Aexists(obj, name) > 0, w.file, ": ", w.object, " has no attribute '", name, "'");
  return check(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose, w.file, cat("cannot open attribute ", at(w, name)));
}

std::vector<std::string> read_vlen_strings(hid_t obj, hid_t space, hid_t file_type, bool attribute,
                                           const std::string& what, const Where& w) {
  MUNET_CHECK(H5Tget_class(file_type) == H5T_STRING && H5Tis_variable_str(file_type) > 0, w.file, ": ", what,
              " is not a string");
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  Handle type = string_type(w);
  std::vector<char*> ptrs(std::max<hssize_t>(n, 0), nullptr);
  if (n > 0)
    check(attribute ? H5Aread(obj, type, ptrs.data()) : H5Dread(obj, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()),
          w.file, cat("cannot read ", what));
  std::vector<std::string> out;
  for (char* p : ptrs) {
    out.emplace_back(p ? p : "");
    H5free_memory(p);
  }
  return out;
}

template <class T>
std::vector<T> read_numbers_attr(hid_t obj, const char* name, hid_t mem_type, H5T_class_t want, const Where& w) {
  Handle a = open_attr(obj, name, w);
  Handle type = check(H5Aget_type(a), H5Tclose, w.file, cat("attribute ", at(w, name), " has no type"));
  const H5T_class_t cls = H5Tget_class(type);
  MUNET_CHECK(cls == want || (want == H5T_FLOAT && cls == H5T_INTEGER), w.file, ": attribute ", at(w, name),
              " is not ", want == H5T_FLOAT ? "a number" : "an integer");
  Handle space = check(H5Aget_space(a), H5Sclose, w.file, cat("attribute ", at(w, name), " has no dataspace"));
  std::vector<T> v(std::max<hssize_t>(H5Sget_simple_extent_npoints(space), 0));
  if (!v.empty()) check(H5Aread(a, mem_type, v.data()), w.file, cat("cannot read attribute ", at(w, name)));
  return v;
}

template <class T>
void write_numbers(hid_t group, const char* name, const T* data, const std::vector<hsize_t>& dims, hid_t file_type,
                   hid_t mem_type, const Where& w) {
  Handle space = check(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose, w.file,
                       "cannot make a dataspace");
  Handle ds = check(H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose,
                    w.file, cat("cannot create dataset ", at(w, name)));
  hsize_t n = 1;
  for (hsize_t d : dims) n *= d;
  if (n > 0) check(H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), w.file, cat("cannot write ", at(w, name)));
}

template <class T>
std::vector<T> read_numbers(hid_t group, const char* name, const std::vector<hsize_t>& want, hid_t mem_type,
                            H5T_class_t cls, const Where& w) {
  Handle ds = open_dataset(group, name, w);
  const std::vector<hsize_t> got = dims_of(ds, w);
  bool ok = got.size() == want.size();
  for (size_t i = 0; ok && i < got.size(); ++i) ok = want[i] == hsize_t(-1) || got[i] == want[i];
  auto str = [](const std::vector<hsize_t>& d) {
    std::string s = "[";
    for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + (d[i] == hsize_t(-1) ? std::string("any") : cat(d[i]));
    return s + "]";
  };
  MUNET_CHECK(ok, w.file, ": dataset ", at(w, name), " has shape ", str(got), ", expected ", str(want));
  Handle type = check(H5Dget_type(ds), H5Tclose, w.file, cat("dataset ", at(w, name), " has no type"));
  const H5T_class_t c = H5Tget_class(type);
  MUNET_CHECK(c == cls || (cls == H5T_FLOAT && c == H5T_INTEGER), w.file, ": dataset ", at(w, name), " is not ",
              cls == H5T_FLOAT ? "numeric" : "integer");
  hsize_t n = 1;
  for (hsize_t d : got) n *= d;
  std::vector<T> v(n);
  if (n > 0) check(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), w.file, cat("cannot read ", at(w, name)));
  return v;
}

hsize_t want_length(int64_t length) { return length >= 0 ? hsize_t(length) : hsize_t(-1); }

}  // namespace

void write_attr(hid_t obj, const char* name, int64_t v, const Where& w) {
  put_attr(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, scalar_space(w), &v, w);
}
void write_attr(hid_t obj, const char* name, double v, const Where& w) {
  put_attr(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, scalar_space(w), &v, w);
}
void write_attr(hid_t obj, const char* name, const std::string& v, const Where& w) {
  Handle type = string_type(w);
  const char* p = v.c_str();
  put_attr(obj, name, type, type, scalar_space(w), &p, w);
}
void write_attr(hid_t obj, const char* name, const std::vector<std::string>& v, const Where& w) {
  Handle type = string_type(w);
  std::vector<const char*> ptrs;
  for (const auto& s : v) ptrs.push_back(s.c_str());
  put_attr(obj, name, type, type, space_1d(v.size(), w), ptrs.data(), w);
}
void write_attr(hid_t obj, const char* name, const std::vector<int64_t>& v, const Where& w) {
  put_attr(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, space_1d(v.size(), w), v.data(), w);
}

bool has_attr(hid_t obj, const char* name) { return H5Aexists(obj, name) > 0; }

int64_t read_int_attr(hid_t obj, const char* name, const Where& w) {
  const auto v = read_numbers_attr<int64_t>(obj, name, H5T_NATIVE_INT64, H5T_INTEGER, w);
  MUNET_CHECK(v.size() == 1, w.file, ": attribute ", at(w, name), " is not a single integer");
  return v[0];
}
double read_double_attr(hid_t obj, const char* name, const Where& w) {
  const auto v = read_numbers_attr<double>(obj, name, H5T_NATIVE_DOUBLE, H5T_FLOAT, w);
  MUNET_CHECK(v.size() == 1, w.file, ": attribute ", at(w, name), " is not a single number");
  return v[0];
}
std::vector<int64_t> read_ints_attr(hid_t obj, const char* name, const Where& w) {
  return read_numbers_attr<int64_t>(obj, name, H5T_NATIVE_INT64, H5T_INTEGER, w);
}
std::vector<std::string> read_strings_attr(hid_t obj, const char* name, const Where& w) {
  Handle a = open_attr(obj, name, w);
  Handle space = check(H5Aget_space(a), H5Sclose, w.file, cat("attribute ", at(w, name), " has no dataspace"));
  Handle type = check(H5Aget_type(a), H5Tclose, w.file, cat("attribute ", at(w, name), " has no type"));
  return read_vlen_strings(a, space, type, true, cat("attribute ", at(w, name)), w);
}
std::string read_string_attr(hid_t obj, const char* name, const Where& w) {
  const auto v = read_strings_attr(obj, name, w);
  MUNET_CHECK(v.size() == 1, w.file, ": attribute ", at(w, name), " is not a single string");
  return v[0];
}

void write_column(hid_t group, const char* name, const std::vector<int64_t>& v, const Where& w) {
  write_numbers(group, name, v.data(), {v.size()}, H5T_STD_I64LE, H5T_NATIVE_INT64, w);
}
void write_column(hid_t group, const char* name, const std::vector<double>& v, const Where& w) {
  write_numbers(group, name, v.data(), {v.size()}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, w);
}
void write_column(hid_t group, const char* name, const std::vector<std::string>& v, const Where& w) {
  Handle type = string_type(w);
  Handle space = space_1d(v.size(), w);
  Handle ds = check(H5Dcreate2(group, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose, w.file,
                    cat("cannot create dataset ", at(w, name)));
  std::vector<const char*> ptrs;
  for (const auto& s : v) ptrs.push_back(s.c_str());
  if (!v.empty())
    check(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), w.file, cat("cannot write ", at(w, name)));
}
void write_matrix(hid_t group, const char* name, const std::vector<double>& v, int64_t rows, int64_t cols,
                  const Where& w) {
  MUNET_CHECK(int64_t(v.size()) == rows * cols, "write_matrix: ", v.size(), " values for ", rows, "x", cols);
  write_numbers(group, name, v.data(), {hsize_t(rows), hsize_t(cols)}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, w);
}

std::vector<int64_t> read_int_column(hid_t group, const char* name, int64_t length, const Where& w) {
  return read_numbers<int64_t>(group, name, {want_length(length)}, H5T_NATIVE_INT64, H5T_INTEGER, w);
}
std::vector<double> read_double_column(hid_t group, const char* name, int64_t length, const Where& w) {
  return read_numbers<double>(group, name, {want_length(length)}, H5T_NATIVE_DOUBLE, H5T_FLOAT, w);
}
std::vector<double> read_matrix(hid_t group, const char* name, int64_t rows, int64_t cols, const Where& w) {
  return read_numbers<double>(group, name, {hsize_t(rows), hsize_t(cols)}, H5T_NATIVE_DOUBLE, H5T_FLOAT, w);
}
std::vector<std::string> read_string_column(hid_t group, const char* name, int64_t length, const Where& w) {
  Handle ds = open_dataset(group, name, w);
  const std::vector<hsize_t> got = dims_of(ds, w);
  MUNET_CHECK(got.size() == 1 && (length < 0 || got[0] == hsize_t(length)), w.file, ": dataset ", at(w, name),
              " should be a list of ", length, " strings");
  Handle space = check(H5Dget_space(ds), H5Sclose, w.file, cat("dataset ", at(w, name), " has no dataspace"));
  Handle type = check(H5Dget_type(ds), H5Tclose, w.file, cat("dataset ", at(w, name), " has no type"));
  return read_vlen_strings(ds, space, type, false, cat("dataset ", at(w, name)), w);
}

bool path_exists(hid_t parent, const std::string& path) {
  size_t pos = 0;
  while (true) {
    const size_t slash = path.find('/', pos);
    const std::string prefix = path.substr(0, slash);
    if (!prefix.empty() && H5Lexists(parent, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (slash == std::string::npos) return true;
    pos = slash + 1;
  }
}

Handle open_group(hid_t parent, const std::string& name, const Where& w) {
  MUNET_CHECK(path_exists(parent, name), w.file, ": group ", at(w, name.c_str()), " is missing");
  return check(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), H5Gclose, w.file, cat("cannot open group ", at(w, name.c_str())));
}

Handle open_dataset(hid_t parent, const std::string& name, const Where& w) {
  MUNET_CHECK(path_exists(parent, name), w.file, ": dataset ", at(w, name.c_str()), " is missing");
  return check(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose, w.file,
               cat("cannot open dataset ", at(w, name.c_str())));
}

std::vector<hsize_t> dims_of(hid_t dataset, const Where& w) {
  Handle space = check(H5Dget_space(dataset), H5Sclose, w.file, "dataset without a dataspace");
  std::vector<hsize_t> dims(std::max(0, H5Sget_simple_extent_ndims(space)));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return dims;
}

}  // namespace munet::h5
