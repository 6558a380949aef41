// A component in an HDF5 file, as both model files and checkpoints store it: a group whose
// attributes say what the component is (kind, and the adapter size, image size or class count
// that fix its shape) and one float32 dataset per parameter, named as the layout names it
// (e.g. MlpBlock_3/Dense_0/kernel), chunked in pieces of at most 4 MiB (chunk_checksums.h).
// Creating the datasets and writing their values are separate steps, so that parallel writers can
// create every dataset together (collective) and each write only the components it owns.
#pragma once
#include <string>
#include <vector>

#include "io/hdf5_values.h"
#include "io/raw_chunk_reads.h"
#include "nn/component.h"

namespace munet::h5 {

struct ComponentMeta {
  std::string name;
  ComponentKind kind = ComponentKind::EncoderBlock;
  int adapter_dim = 0;   // adapters
  int image_size = 0;    // position embeddings
  int num_classes = 0;   // heads
};

ComponentMeta meta_of(const Component& c, int patch);
void write_component_meta(hid_t group, const ComponentMeta& m, const Where& w);
ComponentMeta read_component_meta(hid_t group, const std::string& name, const Where& w);
// The layout a component with this meta has in a system of `system`'s hidden, MLP and patch size.
std::vector<ParamSpec> layout_of(const ComponentMeta& m, const ViTConfig& system, const Where& w);

// Creates one float32 dataset per parameter under `group` (intermediate groups included).
void create_param_datasets(hid_t group, const std::vector<ParamSpec>& layout, const Where& w);
// Writes a flat float32 buffer laid out as `layout` into those datasets; `transfer` is the
// dataset transfer property list (H5P_DEFAULT, or independent MPI-IO). With `hashes`, appends the
// XXH3-64 of every chunk (chunk_checksums.h), computed on a second thread while the values are
// written, off the write's critical path.
void write_param_values(hid_t group, const std::vector<ParamSpec>& layout, const float* flat, hid_t transfer,
                        const Where& w, std::vector<uint64_t>* hashes = nullptr);
// Reads them back into a flat buffer, checking that each dataset exists and has its shape. With
// `plan`, datasets stored raw are only planned there (read later by plan->finish) instead of read now.
// With `expected` (chunk_count(layout) hashes), every chunk is verified once it is in memory.
void read_param_values(hid_t group, const std::vector<ParamSpec>& layout, float* flat, const Where& w,
                       RawChunkReads* plan = nullptr, const std::vector<uint64_t>* expected = nullptr);

}  // namespace munet::h5
