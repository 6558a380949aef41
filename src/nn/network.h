// A network is a route through components: embedding, cls, posembed, then adapters and encoder
// blocks in order, then encoder_norm and head. It runs forward and backward on a backend;
// gradients flow only into trainable components, and backward stops below the lowest trainable
// one (frozen layers under it cost nothing to train).
#pragma once
#include <vector>

#include "nn/component.h"

namespace munet {

struct RouteStep {
  Component* component = nullptr;
  bool trainable = false;
};

class Network {
 public:
  // `cfg` gives the shapes (hidden, heads, image size, ...); each component's layout must match.
  Network(Backend& backend, const ViTConfig& cfg, std::vector<RouteStep> route);

  // images: [B, S, S, 3] on the backend's device. Returns logits [B, classes]; activations are
  // kept for backward.
  const Tensor& forward(const Tensor& images);
  // Accumulates into the trainable components' gradients, given dLoss/dlogits of the last forward.
  void backward(const Tensor& dlogits);

  const ViTConfig& config() const { return cfg_; }
  const std::vector<RouteStep>& route() const { return route_; }
  std::vector<Component*> trainable_components() const;

 private:
  struct LayerNormCache {
    Tensor y, mean, rstd;
  };
  // Activations of one adapter or encoder block.
  struct BlockCache {
    LayerNormCache ln1, ln2;
    Tensor qkv, probs, attn, x1, h, g, out;
  };

  void allocate(int batch);
  void layernorm(const Component& c, int first_param, const Tensor& x, LayerNormCache& cache);
  void block_forward(const Component& c, const Tensor& x, BlockCache& cache);
  void adapter_forward(const Component& c, const Tensor& x, BlockCache& cache);
  // dy holds dLoss/d(block output) and is turned into dLoss/d(block input) in place
  // (skipped when need_dx is false).
  void block_backward(Component& c, bool trainable, const Tensor& x, BlockCache& cache, Tensor& dy,
                      bool need_dx);
  void adapter_backward(Component& c, bool trainable, const Tensor& x, BlockCache& cache, Tensor& dy,
                        bool need_dx);

  Backend& be_;
  ViTConfig cfg_;
  std::vector<RouteStep> route_;
  size_t first_block_ = 3, end_blocks_ = 0;  // route_[first_block_, end_blocks_) are blocks/adapters
  int batch_ = 0;
  DType dtype_ = DType::F32;
  const Tensor* images_ = nullptr;

  // Activations.
  Tensor patches_, emb_, tokens_, cls_;
  LayerNormCache norm_;
  Tensor logits_;
  std::vector<BlockCache> blocks_;
  // Gradient scratch.
  Tensor dstream_, dcls_, dnorm_, demb_, dattn_, dqkv_, dln_, dh_, dg_;
};

}  // namespace munet
