// Building a fresh ViT route.
#include "nn/vit_model.h"

#include "nn/init.h"

namespace munet {

std::vector<std::pair<std::string, ComponentKind>> vit_component_names(const ViTConfig& cfg, bool with_head) {
  std::vector<std::pair<std::string, ComponentKind>> n = {
      {"embedding", ComponentKind::Embedding},
      {"cls", ComponentKind::ClassToken},
      {"posembed_" + std::to_string(cfg.image_size), ComponentKind::PosEmbed}};
  for (int i = 0; i < cfg.layers; ++i) n.push_back({"encoderblock_" + std::to_string(i), ComponentKind::EncoderBlock});
  n.push_back({"encoder_norm", ComponentKind::EncoderNorm});
  if (with_head) n.push_back({"head", ComponentKind::Head});
  return n;
}

std::unique_ptr<Component> fresh_component(const std::string& name, ComponentKind kind, const ViTConfig& cfg,
                                           Backend& backend, uint64_t seed, int adapter_dim, DType dtype) {
  auto c = std::make_unique<Component>(name, kind, component_layout(kind, cfg, adapter_dim), backend, dtype);
  init_component(*c, backend, seed);
  return c;
}

VitModel fresh_vit(Backend& backend, const ViTConfig& cfg, uint64_t seed, bool with_head, DType dtype) {
  VitModel m;
  for (const auto& [name, kind] : vit_component_names(cfg, with_head)) {
    m.components.push_back(fresh_component(name, kind, cfg, backend, seed, 0, dtype));
    m.route.push_back({m.components.back().get(), true});
  }
  return m;
}

}  // namespace munet
