// A model: a route through the layer pool plus its hyperparameters, and everything the
// genealogy needs: its parent, the mutations that made it, its scores and its training cost.
// Every model ever sampled is kept as a record, also after its components are gone.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "evo/hparams.h"
#include "pool/layer_pool.h"

namespace munet {

using ModelId = int64_t;
constexpr ModelId kNoModel = -1;

struct ModelRecord {
  ModelId id = kNoModel;
  int task = kRootTask;
  ModelId parent = kNoModel;
  int iteration = -1, generation = -1, slot = -1;
  std::vector<ComponentId> route;
  std::vector<std::string> route_names;
  std::vector<bool> route_trainable;  // components this model created (trained) itself
  Hparams hparams;
  std::vector<std::string> mutations;
  std::vector<double> validation_accuracies;
  double quality = 0.0;  // best validation accuracy
  double score = 0.0;
  double test_accuracy = -1.0;  // set while it is its task's best model
  int64_t params = 0;            // parameters on its route
  int64_t new_params = 0;        // of which trained by this model (clones and new layers)
  double accounted_params = 0;   // with fractional sharing, at scoring time
  double flops = 0;              // forward FLOPs per image
  double train_seconds = 0.0;
  int64_t train_images = 0;
  bool accepted = false;
};

}  // namespace munet
