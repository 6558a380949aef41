// A whole fresh ViT: the components of a root route (embedding, cls, posembed_<size>,
// encoderblock_0.., encoder_norm, optionally head), initialised, and the route through them.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/network.h"

namespace munet {

// Names and kinds of a ViT's components, in route order.
std::vector<std::pair<std::string, ComponentKind>> vit_component_names(const ViTConfig& cfg, bool with_head);

// One initialised component (init_component from seed and its name).
std::unique_ptr<Component> fresh_component(const std::string& name, ComponentKind kind, const ViTConfig& cfg,
                                           Backend& backend, uint64_t seed, int adapter_dim = 0,
                                           DType dtype = DType::F32);

struct VitModel {
  std::vector<std::unique_ptr<Component>> components;
  std::vector<RouteStep> route;  // all trainable
};

VitModel fresh_vit(Backend& backend, const ViTConfig& cfg, uint64_t seed, bool with_head = true,
                   DType dtype = DType::F32);

}  // namespace munet
