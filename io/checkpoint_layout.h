// What the checkpoint writer and reader share: object names (io/SCHEMA.md), the config fields
// stored as /config attributes, and the model table (/models) as columns.
#pragma once
#include <string>
#include <vector>

#include "evo/evolution.h"
#include "io/hdf5_values.h"

namespace munet {

constexpr const char* kCheckpointFormat = "munet-checkpoint";

// A checkpoint is written under this name and renamed when complete.
inline std::string partial_name(const std::string& path) { return path + ".partial"; }
std::string component_group_name(ComponentId id);  // "00000042"
std::string component_path(ComponentId id);        // "/pool/components/00000042"
// True for a parameter or momentum dataset (its values carry chunk checksums: io/chunk_checksums.h).
bool is_parameter_dataset(const std::string& path);

// The configuration's fields (evo/config_fields.h) as /config attributes: integers and flags as
// int64, reals as float64, text as strings. Reading a checkpoint of an older format version, a
// field it did not store takes its legacy value; a version-1 `baseline` (0/1) reads as none/transfer.
void write_config_fields(hid_t group, const EvolutionConfig& c, const h5::Where& w);
void read_config_fields(hid_t group, int64_t version, EvolutionConfig& c, const h5::Where& w);

struct ConfigShape {
  const char* name;
  int ViTConfig::*field;
};
inline constexpr ConfigShape kConfigShape[] = {
    {"image_size", &ViTConfig::image_size}, {"patch", &ViTConfig::patch}, {"hidden", &ViTConfig::hidden},
    {"mlp", &ViTConfig::mlp},               {"heads", &ViTConfig::heads}, {"layers", &ViTConfig::layers}};

// The model records as table columns; lists (route, validation accuracies, mutations) as a flat
// column with offsets: model i's entries are [offsets[i], offsets[i+1]).
struct ModelColumns {
  std::vector<int64_t> id, task, parent, iteration, generation, slot, accepted, params, new_params, train_images;
  std::vector<double> quality, score, test_accuracy, accounted_params, flops, train_seconds, hparams;
  std::vector<int64_t> route_offsets{0}, route_component, route_trainable;
  std::vector<std::string> route_name;
  std::vector<int64_t> validation_offsets{0}, mutation_offsets{0};
  std::vector<double> validation_accuracy;
  std::vector<std::string> mutation;

  void add(const ModelRecord& m);
  void write(hid_t group, const HpSpace& space, const h5::Where& w) const;
  // Reads the table and rebuilds the records (checking every column's length and offsets).
  static std::vector<ModelRecord> read(hid_t group, const HpSpace& space, const h5::Where& w);
};

}  // namespace munet
