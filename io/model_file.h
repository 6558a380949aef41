// A self-contained model file (HDF5): a ViT route's components with their parameters, the ViT
// shape and the task it was trained on. `munet train --save` writes one; `munet evolve --root`
// starts the system from one. Readable without munet (h5py, h5dump); layout:
//   /                      attributes: format = "munet-model", format_version, task, image_size,
//                          patch, hidden, mlp, heads, layers, num_classes, route (component names),
//                          and original_posembed when the file keeps an imported checkpoint's own
//                          position embedding beside the resized one its route uses
//   /components/<name>/    attributes name, kind (and adapter_dim for adapters, image_size for
//                          position embeddings, num_classes for heads); one float32 dataset per
//                          parameter, named as its layout names it (io/SCHEMA.md), and
//                          xxh3_64: the XXH3-64 of each parameter chunk (io/chunk_checksums.h)
//   /digest                the hash of every attribute (io/file_digest.h)
// From kChecksummedModelFileVersion on, reading verifies every byte; older files load with a warning.
// A file is written under a temporary name and renamed when complete, so a crash never leaves
// a partial file under the real name.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/component.h"

namespace munet {

constexpr int kChecksummedModelFileVersion = 2;
constexpr int kModelFileVersion = kChecksummedModelFileVersion;
constexpr int kOldestModelFileVersion = 1;

struct ModelFile {
  ViTConfig config;  // num_classes = the head's (0 when the route has no head)
  std::string task;
  std::vector<std::unique_ptr<Component>> components;  // in route order
  // The position embedding at the grid of the checkpoint the model was imported from, off the
  // route; later resizes start from it (null: the route's embedding is the original).
  std::unique_ptr<Component> original_posembed;
};

// `original_posembed` (optional) is stored off the route, named by the root attribute.
void write_model_file(const std::string& path, const ViTConfig& config, const std::string& task,
                      const std::vector<const Component*>& route, Backend& backend,
                      const Component* original_posembed = nullptr);

// Throws munet::Error naming the file and what is wrong: not HDF5, not a munet model, another
// format version, a missing or mis-shaped dataset, an unknown component kind.
ModelFile read_model_file(const std::string& path, Backend& backend);

}  // namespace munet
