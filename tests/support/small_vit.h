// A small ViT route for tests: 8x8 images, patch 4, hidden 8, 2 heads, MLP 16, 2 blocks, 3 classes,
// optionally with an adapter before block 1. Components are owned by the returned struct.
#pragma once
#include <memory>
#include <vector>

#include "nn/init.h"
#include "nn/network.h"
#include "util/rng.h"

namespace munet::test {

struct SmallVit {
  ViTConfig cfg;
  std::vector<std::unique_ptr<Component>> components;
  std::vector<RouteStep> route;
};

inline ViTConfig small_vit_config() {
  ViTConfig c;
  c.image_size = 8, c.patch = 4, c.hidden = 8, c.mlp = 16, c.heads = 2, c.layers = 2, c.num_classes = 3;
  return c;
}

// Components initialised by init_component; with `perturb`, every parameter (zero-initialised
// heads and adapters too) gets N(0, 0.3^2) added so that no gradient is trivially zero.
inline SmallVit make_small_vit(Backend& be, DType dtype, bool with_adapter, uint64_t seed, bool perturb) {
  SmallVit v;
  v.cfg = small_vit_config();
  auto add = [&](const std::string& name, ComponentKind kind, int adapter_dim = 0) {
    v.components.push_back(std::make_unique<Component>(name, kind, component_layout(kind, v.cfg, adapter_dim), be, dtype));
    Component& c = *v.components.back();
    init_component(c, be, seed);
    if (perturb) {
      Rng rng(seed, {v.components.size(), 99});
      Tensor host = Tensor::host(c.values().shape(), c.values().dtype());
      be.copy(c.values(), host);
      for (int64_t i = 0; i < host.numel(); ++i) {
        if (dtype == DType::F64) host.data<double>()[i] += 0.3 * rng.normal();
        else host.data<float>()[i] += float(0.3 * rng.normal());
      }
      be.copy(host, c.values());
    }
    v.route.push_back({&c, true});
  };
  add("embedding", ComponentKind::Embedding);
  add("cls", ComponentKind::ClassToken);
  add("posembed_8", ComponentKind::PosEmbed);
  add("encoderblock_0", ComponentKind::EncoderBlock);
  if (with_adapter) add("adapter_1", ComponentKind::Adapter, 4);
  add("encoderblock_1", ComponentKind::EncoderBlock);
  add("encoder_norm", ComponentKind::EncoderNorm);
  add("head", ComponentKind::Head);
  return v;
}

}  // namespace munet::test
