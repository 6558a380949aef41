// Components as HDF5 groups of parameter datasets.
#include "io/component_datasets.h"

#include <cmath>
#include <future>

#include "io/chunk_checksums.h"

namespace munet::h5 {
namespace {

std::string shape_text(const std::vector<hsize_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += cat(i ? ", " : "", d[i]);
  return s + "]";
}

}  // namespace

ComponentMeta meta_of(const Component& c, int patch) {
  ComponentMeta m;
  m.name = c.name();
  m.kind = c.kind();
  if (c.kind() == ComponentKind::Adapter) m.adapter_dim = adapter_dim_of(c);
  if (c.kind() == ComponentKind::PosEmbed)  // [1 + grid^2, hidden]
    m.image_size = int(std::lround(std::sqrt(double(c.layout()[0].shape[0] - 1)))) * patch;
  if (c.kind() == ComponentKind::Head) m.num_classes = int(c.layout()[1].shape[0]);
  return m;
}

void write_component_meta(hid_t group, const ComponentMeta& m, const Where& w) {
  write_attr(group, "name", m.name, w);
  write_attr(group, "kind", std::string(kind_name(m.kind)), w);
  if (m.kind == ComponentKind::Adapter) write_attr(group, "adapter_dim", int64_t(m.adapter_dim), w);
  if (m.kind == ComponentKind::PosEmbed) write_attr(group, "image_size", int64_t(m.image_size), w);
  if (m.kind == ComponentKind::Head) write_attr(group, "num_classes", int64_t(m.num_classes), w);
}

ComponentMeta read_component_meta(hid_t group, const std::string& name, const Where& w) {
  ComponentMeta m;
  m.name = name;
  try {
    m.kind = parse_kind(read_string_attr(group, "kind", w));
  } catch (const Error& e) {
    fail(w.file, ": ", w.object, ": ", e.what());
  }
  if (m.kind == ComponentKind::Adapter) m.adapter_dim = int(read_int_attr(group, "adapter_dim", w));
  if (m.kind == ComponentKind::PosEmbed) m.image_size = int(read_int_attr(group, "image_size", w));
  if (m.kind == ComponentKind::Head && has_attr(group, "num_classes"))
    m.num_classes = int(read_int_attr(group, "num_classes", w));
  return m;
}

std::vector<ParamSpec> layout_of(const ComponentMeta& m, const ViTConfig& system, const Where& w) {
  ViTConfig shape = system;
  if (m.kind == ComponentKind::PosEmbed) shape.image_size = m.image_size;
  if (m.kind == ComponentKind::Head) shape.num_classes = m.num_classes;
  try {
    if (m.kind == ComponentKind::PosEmbed || m.kind == ComponentKind::Head) shape.validate();
    return component_layout(m.kind, shape, m.adapter_dim);
  } catch (const Error& e) {
    fail(w.file, ": ", w.object, " (", kind_name(m.kind), "): ", e.what());
  }
}

void create_param_datasets(hid_t group, const std::vector<ParamSpec>& layout, const Where& w) {
  Handle lcpl = check(H5Pcreate(H5P_LINK_CREATE), H5Pclose, w.file, "cannot make a property list");
  check(H5Pset_create_intermediate_group(lcpl, 1), w.file, "cannot set intermediate groups");
  for (const ParamSpec& p : layout) {
    const std::vector<hsize_t> dims(p.shape.begin(), p.shape.end());
    const std::vector<int64_t> split = chunk_shape(p.shape);
    const std::vector<hsize_t> chunk(split.begin(), split.end());
    Handle dcpl = check(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, w.file, "cannot make a property list");
    if (!dims.empty()) check(H5Pset_chunk(dcpl, int(chunk.size()), chunk.data()), w.file, "cannot set chunking");
    check(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY), w.file, "cannot set allocation time");
    check(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), w.file, "cannot set fill time");
    Handle space = check(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose, w.file,
                         "cannot make a dataspace");
    check(H5Dcreate2(group, p.name.c_str(), H5T_IEEE_F32LE, space, lcpl, dcpl, H5P_DEFAULT), H5Dclose, w.file,
          cat("cannot create dataset ", w.object, "/", p.name));
  }
}

void write_param_values(hid_t group, const std::vector<ParamSpec>& layout, const float* flat, hid_t transfer,
                        const Where& w, std::vector<uint64_t>* hashes) {
  // The hashes are computed on a second thread while this one writes the same values: XXH3 runs
  // several times faster than the write's copy into the page cache, so it stays ahead (leaving the
  // values in the shared cache for the copy where a part fits), and adds no time to the write
  // while a core is free.
  // A std::async future waits for its thread when destroyed, so a failing write below cannot
  // return while the thread still reads `flat`.
  std::future<std::vector<uint64_t>> hashing;
  if (hashes)
    hashing = std::async(std::launch::async, [&layout, flat] {
      std::vector<uint64_t> out;
      for (const ParamSpec& p : layout) hash_param_chunks(p, flat + p.offset, out);
      return out;
    });
  for (const ParamSpec& p : layout) {
    Handle ds = check(H5Dopen2(group, p.name.c_str(), H5P_DEFAULT), H5Dclose, w.file,
                      cat("cannot open dataset ", w.object, "/", p.name));
    check(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, transfer, flat + p.offset), w.file,
          cat("cannot write dataset ", w.object, "/", p.name));
  }
  if (!hashes) return;
  const std::vector<uint64_t> computed = hashing.get();
  hashes->insert(hashes->end(), computed.begin(), computed.end());
}

void read_param_values(hid_t group, const std::vector<ParamSpec>& layout, float* flat, const Where& w,
                       RawChunkReads* plan, const std::vector<uint64_t>* expected) {
  MUNET_CHECK(!expected || int64_t(expected->size()) == chunk_count(layout), w.file, ": ", w.object,
              ": checksums for ", expected ? expected->size() : 0, " chunks, its datasets have ", chunk_count(layout));
  if (!chunk_checksums_on()) expected = nullptr;
  size_t first_hash = 0;  // of this parameter's chunks in `expected`
  for (const ParamSpec& p : layout) {
    const uint64_t* hashes = expected ? expected->data() + first_hash : nullptr;
    first_hash += size_t(chunk_count(p.shape));
    MUNET_CHECK(path_exists(group, p.name), w.file, ": dataset ", w.object, "/", p.name, " is missing");
    Handle ds = check(H5Dopen2(group, p.name.c_str(), H5P_DEFAULT), H5Dclose, w.file,
                      cat("cannot open dataset ", w.object, "/", p.name));
    const std::vector<hsize_t> got = dims_of(ds, w), want(p.shape.begin(), p.shape.end());
    MUNET_CHECK(got == want, w.file, ": dataset ", w.object, "/", p.name, " has shape ", shape_text(got),
                ", expected ", shape_text(want));
    if (plan && plan->add(ds, flat + p.offset, {w.file, w.object + "/" + p.name}, hashes)) continue;
    check(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, flat + p.offset), w.file,
          cat("cannot read dataset ", w.object, "/", p.name, " (truncated or damaged file?)"));
    if (!hashes) continue;
    const int64_t n = shape_numel(p.shape), per = chunk_elements(p.shape);
    for (int64_t first = 0; first < n; first += per)
      verify_chunk(flat + p.offset + first, size_t(std::min(per, n - first)) * sizeof(float), hashes[first / per],
                   w.file, w.object + "/" + p.name, first / per);
  }
}

}  // namespace munet::h5
