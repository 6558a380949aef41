// Model files: HDF5 writing (temporary name, flush, fsync, rename) and checked reading.
#include "io/model_file.h"

#include <unistd.h>

#include <cstdio>

#include "io/chunk_checksums.h"
#include "io/component_datasets.h"
#include "io/file_digest.h"
#include "util/publish_file.h"

namespace munet {
namespace {

using h5::check;
using h5::Handle;
using h5::Where;

// The ViT shape fields stored as root attributes, for writing and reading alike.
constexpr std::pair<const char*, int ViTConfig::*> kShapeFields[] = {
    {"image_size", &ViTConfig::image_size}, {"patch", &ViTConfig::patch}, {"hidden", &ViTConfig::hidden},
    {"mlp", &ViTConfig::mlp},               {"heads", &ViTConfig::heads}, {"layers", &ViTConfig::layers},
    {"num_classes", &ViTConfig::num_classes}};

constexpr const char* kChecksums = "xxh3_64";  // in each component's group

// /components/<name>/<parameter>: values covered by the chunk checksums.
bool is_parameter_dataset(const std::string& path) {
  const std::string prefix = "/components/";
  if (path.rfind(prefix, 0) != 0) return false;
  const size_t slash = path.find('/', prefix.size());
  return slash != std::string::npos && path.compare(slash + 1, std::string::npos, kChecksums) != 0;
}

}  // namespace

void write_model_file(const std::string& path, const ViTConfig& config, const std::string& task,
                      const std::vector<const Component*>& route, Backend& backend,
                      const Component* original_posembed) {
  h5::quiet_errors();
  const std::string tmp = temporary_name(path);
  {
    const Where root{tmp, "/"};
    Handle fapl = check(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, tmp, "cannot make a property list");
    h5::use_checksummed_format(fapl, root);
    Handle file = check(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), H5Fclose, tmp, "cannot create file");
    h5::write_attr(file, "format", std::string("munet-model"), root);
    h5::write_attr(file, "format_version", int64_t(kModelFileVersion), root);
    h5::write_attr(file, "task", task, root);
    for (const auto& [name, field] : kShapeFields) h5::write_attr(file, name, int64_t(config.*field), root);
    std::vector<std::string> names;
    for (const Component* c : route) names.push_back(c->name());
    h5::write_attr(file, "route", names, root);
    std::vector<const Component*> stored = route;
    if (original_posembed) {
      MUNET_CHECK(original_posembed->kind() == ComponentKind::PosEmbed, "the original position embedding '",
                  original_posembed->name(), "' is a ", kind_name(original_posembed->kind()));
      for (const Component* c : route)
        MUNET_CHECK(c->name() != original_posembed->name(), "the original position embedding '",
                    original_posembed->name(), "' has the name of a route component");
      h5::write_attr(file, "original_posembed", original_posembed->name(), root);
      stored.push_back(original_posembed);
    }

    Handle lcpl = check(H5Pcreate(H5P_LINK_CREATE), H5Pclose, tmp, "cannot make a property list");
    check(H5Pset_create_intermediate_group(lcpl, 1), tmp, "cannot set intermediate groups");
    for (const Component* c : stored) {
      const Where w{tmp, "/components/" + c->name()};
      Handle group = check(H5Gcreate2(file, w.object.c_str(), lcpl, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, tmp,
                           cat("cannot create group ", w.object));
      h5::write_component_meta(group, h5::meta_of(*c, config.patch), w);
      Tensor host = Tensor::host(c->values().shape(), DType::F32);
      backend.copy(c->values(), host);
      h5::create_param_datasets(group, c->layout(), w);
      std::vector<uint64_t> hashes;
      h5::write_param_values(group, c->layout(), host.data<float>(), H5P_DEFAULT, w, &hashes);
      h5::create_checksum_dataset(group, kChecksums, int64_t(hashes.size()), w);
      h5::write_checksums(group, kChecksums, hashes, H5P_DEFAULT, w);
    }
    h5::write_digest_table(file, is_parameter_dataset, root);
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
  const Where root{path, "/"};
  const std::string format = h5::read_string_attr(file, "format", root);
  MUNET_CHECK(format == "munet-model", path, ": not a munet model file (format '", format, "')");
  const int64_t version = h5::read_int_attr(file, "format_version", root);
  MUNET_CHECK(version >= kOldestModelFileVersion && version <= kModelFileVersion, path, ": model file format version ",
              version, ", this munet reads versions ", kOldestModelFileVersion, " to ", kModelFileVersion);
  const bool checked = version >= kChecksummedModelFileVersion;
  if (checked)
    h5::verify_digest_table(file, is_parameter_dataset, root);
  else
    std::fprintf(stderr, "warning: %s: model file format version %lld carries no checksums (they came with version "
                 "%d): it is read unverified\n", path.c_str(), (long long)version, kChecksummedModelFileVersion);
  ModelFile m;
  m.task = h5::read_string_attr(file, "task", root);
  for (const auto& [name, field] : kShapeFields) m.config.*field = int(h5::read_int_attr(file, name, root));
  ViTConfig check_cfg = m.config;
  if (check_cfg.num_classes <= 0) check_cfg.num_classes = 1;
  try {
    check_cfg.validate();
  } catch (const Error& e) {
    fail(path, ": bad model shape: ", e.what());
  }
  auto read_component = [&](const std::string& name, const char* named_by) {
    const Where w{path, "/components/" + name};
    MUNET_CHECK(h5::path_exists(file, w.object.substr(1)), path, ": ", named_by, " names component '", name,
                "' but ", w.object, " is missing");
    Handle group = h5::open_group(file, w.object, root);
    h5::ComponentMeta meta = h5::read_component_meta(group, name, w);
    if (meta.kind == ComponentKind::Head && meta.num_classes == 0) meta.num_classes = check_cfg.num_classes;
    auto c = std::make_unique<Component>(name, meta.kind, h5::layout_of(meta, check_cfg, w), backend, DType::F32);
    Tensor host = Tensor::host(c->values().shape(), DType::F32);
    const std::vector<uint64_t> sums =
        checked ? h5::read_checksums(group, kChecksums, h5::chunk_count(c->layout()), w) : std::vector<uint64_t>();
    h5::read_param_values(group, c->layout(), host.data<float>(), w, nullptr, checked ? &sums : nullptr);
    backend.copy(host, c->values());
    return c;
  };
  for (const std::string& name : h5::read_strings_attr(file, "route", root))
    m.components.push_back(read_component(name, "the route"));
  if (h5::has_attr(file, "original_posembed")) {
    const std::string name = h5::read_string_attr(file, "original_posembed", root);
    m.original_posembed = read_component(name, "original_posembed");
    MUNET_CHECK(m.original_posembed->kind() == ComponentKind::PosEmbed, path, ": original_posembed names '", name,
                "', a ", kind_name(m.original_posembed->kind()), ", not a position embedding");
  }
  return m;
}

}  // namespace munet
