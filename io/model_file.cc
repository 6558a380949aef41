// Model files: HDF5 writing (temporary name, flush, fsync, rename) and checked reading.
#include "io/model_file.h"

#include <unistd.h>

#include <cmath>

#include "io/hdf5_handles.h"
#include "util/publish_file.h"

namespace munet {
namespace {

using h5::check;
using h5::Handle;

// The ViT shape fields stored as root attributes, for writing and reading alike.
constexpr std::pair<const char*, int ViTConfig::*> kShapeFields[] = {
    {"image_size", &ViTConfig::image_size}, {"patch", &ViTConfig::patch}, {"hidden", &ViTConfig::hidden},
    {"mlp", &ViTConfig::mlp},               {"heads", &ViTConfig::heads}, {"layers", &ViTConfig::layers},
    {"num_classes", &ViTConfig::num_classes}};

Handle vlen_string_type(const std::string& path) {
  Handle t = check(H5Tcopy(H5T_C_S1), H5Tclose, path, "cannot make a string type");
  check(H5Tset_size(t, H5T_VARIABLE), path, "cannot make a string type");
  check(H5Tset_cset(t, H5T_CSET_UTF8), path, "cannot make a string type");
  return t;
}

void write_int(hid_t obj, const char* name, int64_t v, const std::string& path) {
  Handle space = check(H5Screate(H5S_SCALAR), H5Sclose, path, "cannot make a dataspace");
  Handle a = check(H5Acreate2(obj, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose, path,
                   cat("cannot create attribute ", name));
  check(H5Awrite(a, H5T_NATIVE_INT64, &v), path, cat("cannot write attribute ", name));
}

void write_strings(hid_t obj, const char* name, const std::vector<std::string>& values, bool scalar,
                   const std::string& path) {
  const hsize_t n = values.size();
  Handle space = scalar ? check(H5Screate(H5S_SCALAR), H5Sclose, path, "cannot make a dataspace")
                        : check(H5Screate_simple(1, &n, nullptr), H5Sclose, path, "cannot make a dataspace");
  Handle type = vlen_string_type(path);
  Handle a = check(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose, path,
                   cat("cannot create attribute ", name));
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  check(H5Awrite(a, type, ptrs.data()), path, cat("cannot write attribute ", name));
}

Handle open_attr(hid_t obj, const char* name, const std::string& path, const std::string& where) {
  MUNET_CHECK(H5Aexists(obj, name) > 0, path, ": ", where, " has no attribute '", name,
              "' (not a munet model file?)");
  return check(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose, path, cat("cannot open attribute ", name));
}

int64_t read_int(hid_t obj, const char* name, const std::string& path, const std::string& where = "/") {
  Handle a = open_attr(obj, name, path, where);
  int64_t v = 0;
  check(H5Aread(a, H5T_NATIVE_INT64, &v), path, cat("attribute ", name, " is not an integer"));
  return v;
}

std::vector<std::string> read_strings(hid_t obj, const char* name, const std::string& path,
                                      const std::string& where) {
  Handle a = open_attr(obj, name, path, where);
  Handle space = check(H5Aget_space(a), H5Sclose, path, cat("attribute ", name, " has no dataspace"));
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  Handle file_type = check(H5Aget_type(a), H5Tclose, path, cat("attribute ", name, " has no type"));
  MUNET_CHECK(H5Tget_class(file_type) == H5T_STRING && H5Tis_variable_str(file_type) > 0, path, ": attribute ",
              name, " of ", where, " is not a string");
  Handle type = vlen_string_type(path);
  std::vector<char*> ptrs(std::max<hssize_t>(n, 0), nullptr);
  check(H5Aread(a, type, ptrs.data()), path, cat("cannot read attribute ", name));
  std::vector<std::string> out;
  for (char* p : ptrs) {
    out.emplace_back(p ? p : "");
    H5free_memory(p);
  }
  return out;
}

}  // namespace

void write_model_file(const std::string& path, const ViTConfig& config, const std::string& task,
                      const std::vector<const Component*>& route, Backend& backend) {
  h5::quiet_errors();
  const std::string tmp = temporary_name(path);
  {
    Handle file = check(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, tmp,
                        "cannot create file");
    write_strings(file, "format", {"munet-model"}, true, tmp);
    write_int(file, "format_version", kModelFileVersion, tmp);
    write_strings(file, "task", {task}, true, tmp);
    for (const auto& [name, field] : kShapeFields) write_int(file, name, config.*field, tmp);
    std::vector<std::string> names;
    for (const Component* c : route) names.push_back(c->name());
    write_strings(file, "route", names, false, tmp);

    Handle lcpl = check(H5Pcreate(H5P_LINK_CREATE), H5Pclose, tmp, "cannot make a property list");
    check(H5Pset_create_intermediate_group(lcpl, 1), tmp, "cannot set intermediate groups");
    for (const Component* c : route) {
      const std::string group_path = "/components/" + c->name();
      Handle group = check(H5Gcreate2(file, group_path.c_str(), lcpl, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, tmp,
                           cat("cannot create group ", group_path));
      write_strings(group, "kind", {kind_name(c->kind())}, true, tmp);
      if (c->kind() == ComponentKind::Adapter) write_int(group, "adapter_dim", adapter_dim_of(*c), tmp);
      if (c->kind() == ComponentKind::PosEmbed) {  // [1 + grid^2, hidden]
        const int64_t grid = std::lround(std::sqrt(double(c->layout()[0].shape[0] - 1)));
        write_int(group, "image_size", grid * config.patch, tmp);
      }
      Tensor host = Tensor::host(c->values().shape(), DType::F32);
      backend.copy(c->values(), host);
      for (const ParamSpec& p : c->layout()) {
        std::vector<hsize_t> dims(p.shape.begin(), p.shape.end());
        Handle space = check(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose, tmp,
                             "cannot make a dataspace");
        Handle ds = check(H5Dcreate2(group, p.name.c_str(), H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT),
                          H5Dclose, tmp, cat("cannot create dataset ", group_path, "/", p.name));
        check(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, host.data<float>() + p.offset), tmp,
              cat("cannot write dataset ", group_path, "/", p.name));
      }
    }
    check(H5Fflush(file, H5F_SCOPE_GLOBAL), tmp, "cannot flush");
  }
  publish_file(tmp, path);
}

ModelFile read_model_file(const std::string& path, Backend& backend) {
  h5::quiet_errors();
  MUNET_CHECK(::access(path.c_str(), R_OK) == 0, path, ": cannot read model file (missing or not readable)");
  MUNET_CHECK(H5Fis_hdf5(path.c_str()) > 0, path, ": not an HDF5 file");
  Handle file = check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, path,
                      "cannot open HDF5 file (truncated or damaged?)");
  const auto format = read_strings(file, "format", path, "/");
  MUNET_CHECK(format.size() == 1 && format[0] == "munet-model", path, ": not a munet model file (format '",
              format.empty() ? "" : format[0], "')");
  const int64_t version = read_int(file, "format_version", path);
  MUNET_CHECK(version == kModelFileVersion, path, ": model file format version ", version,
              ", this munet reads version ", kModelFileVersion);
  ModelFile m;
  m.task = read_strings(file, "task", path, "/").at(0);
  for (const auto& [name, field] : kShapeFields) m.config.*field = int(read_int(file, name, path));
  ViTConfig check_cfg = m.config;
  if (check_cfg.num_classes <= 0) check_cfg.num_classes = 1;
  try {
    check_cfg.validate();
  } catch (const Error& e) {
    fail(path, ": bad model shape: ", e.what());
  }
  for (const std::string& name : read_strings(file, "route", path, "/")) {
    const std::string group_path = "/components/" + name;
    MUNET_CHECK(H5Lexists(file, "components", H5P_DEFAULT) > 0 && H5Lexists(file, group_path.c_str(), H5P_DEFAULT) > 0,
                path, ": route names component '", name, "' but ", group_path, " is missing");
    Handle group = check(H5Gopen2(file, group_path.c_str(), H5P_DEFAULT), H5Gclose, path,
                         cat("cannot open group ", group_path));
    const ComponentKind kind = parse_kind(read_strings(group, "kind", path, group_path).at(0));
    auto open_ds = [&](const std::string& param) {
      MUNET_CHECK(H5Lexists(group, param.substr(0, param.find('/')).c_str(), H5P_DEFAULT) > 0 &&
                      H5Lexists(group, param.c_str(), H5P_DEFAULT) > 0,
                  path, ": dataset ", group_path, "/", param, " is missing");
      return check(H5Dopen2(group, param.c_str(), H5P_DEFAULT), H5Dclose, path,
                   cat("cannot open dataset ", group_path, "/", param));
    };
    const int adapter_dim = kind == ComponentKind::Adapter ? int(read_int(group, "adapter_dim", path, group_path)) : 0;
    ViTConfig shape = check_cfg;
    if (kind == ComponentKind::PosEmbed) shape.image_size = int(read_int(group, "image_size", path, group_path));
    auto c = std::make_unique<Component>(name, kind, component_layout(kind, shape, adapter_dim), backend, DType::F32);
    Tensor host = Tensor::host(c->values().shape(), DType::F32);
    for (const ParamSpec& p : c->layout()) {
      Handle ds = open_ds(p.name);
      Handle space = check(H5Dget_space(ds), H5Sclose, path, "dataset without dataspace");
      std::vector<hsize_t> dims(std::max(0, H5Sget_simple_extent_ndims(space)));
      H5Sget_simple_extent_dims(space, dims.data(), nullptr);
      const Shape got(dims.begin(), dims.end());
      MUNET_CHECK(got == p.shape, path, ": dataset ", group_path, "/", p.name, " has shape ", shape_str(got),
                  ", expected ", shape_str(p.shape));
      check(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, host.data<float>() + p.offset), path,
            cat("cannot read dataset ", group_path, "/", p.name));
    }
    backend.copy(host, c->values());
    m.components.push_back(std::move(c));
  }
  return m;
}

}  // namespace munet
