// Route execution: forward through the stem, the blocks and the head; backward in reverse with
// the residual-stream gradient updated in place, parameter gradients only where trainable.
#include "nn/network.h"

#include <algorithm>

namespace munet {
namespace {

// Parameter-gradient views of a component, or none when it is frozen.
struct Grads {
  std::vector<Tensor> views;
  Grads(Component& c, bool trainable) {
    if (trainable)
      for (size_t i = 0; i < c.layout().size(); ++i) views.push_back(c.param_grad(int(i)));
  }
  Tensor* operator[](int i) { return views.empty() ? nullptr : &views[i]; }
};

}  // namespace

Network::Network(Backend& backend, const ViTConfig& cfg, std::vector<RouteStep> route)
    : be_(backend), cfg_(cfg), route_(std::move(route)) {
  cfg_.validate();
  MUNET_CHECK(route_.size() >= 5, "a route needs at least embedding, cls, posembed, encoder_norm "
              "and head; got ", route_.size(), " components");
  const ComponentKind stem[3] = {ComponentKind::Embedding, ComponentKind::ClassToken, ComponentKind::PosEmbed};
  end_blocks_ = route_.size() - 2;
  for (size_t i = 0; i < route_.size(); ++i) {
    const Component* c = route_[i].component;
    MUNET_CHECK(c != nullptr, "route step ", i, " has no component");
    ComponentKind want;
    if (i < 3) want = stem[i];
    else if (i == end_blocks_) want = ComponentKind::EncoderNorm;
    else if (i == end_blocks_ + 1) want = ComponentKind::Head;
    else want = c->kind() == ComponentKind::Adapter ? ComponentKind::Adapter : ComponentKind::EncoderBlock;
    MUNET_CHECK(c->kind() == want, "route step ", i, " ('", c->name(), "') is a ", kind_name(c->kind()),
                ", expected a ", kind_name(want));
    const int adapter_dim = want == ComponentKind::Adapter ? adapter_dim_of(*c) : 0;
    MUNET_CHECK(layout_matches(*c, component_layout(want, cfg_, adapter_dim)), "component '", c->name(), "' does not fit the model's shapes (image ",
                cfg_.image_size, ", hidden ", cfg_.hidden, ", mlp ", cfg_.mlp, ", classes ",
                cfg_.num_classes, ")");
    if (i == 0) dtype_ = c->values().dtype();
    MUNET_CHECK(c->values().dtype() == dtype_, "component '", c->name(), "' has dtype ",
                dtype_name(c->values().dtype()), ", the route uses ", dtype_name(dtype_));
  }
  blocks_.resize(end_blocks_ - first_block_);
}

std::vector<Component*> Network::trainable_components() const {
  std::vector<Component*> out;
  for (const auto& s : route_)
    if (s.trainable) out.push_back(s.component);
  return out;
}

void Network::allocate(int batch) {
  if (batch == batch_) return;
  batch_ = batch;
  const int64_t B = batch, T = cfg_.tokens(), P = T - 1, BT = B * T, D = cfg_.hidden;
  auto t = [&](const Shape& s) { return be_.empty(s, dtype_); };
  auto ln = [&](int64_t rows) { return LayerNormCache{t({rows, D}), t({rows}), t({rows})}; };
  patches_ = t({B * P, cfg_.patch_dim()});
  emb_ = t({B * P, D});
  tokens_ = t({BT, D});
  int64_t inner_max = 1;
  for (size_t i = first_block_; i < end_blocks_; ++i) {
    const Component& c = *route_[i].component;
    BlockCache& k = blocks_[i - first_block_];
    k = BlockCache{};
    k.ln1 = ln(BT);
    k.out = t({BT, D});
    if (c.kind() == ComponentKind::Adapter) {
      const int64_t a = adapter_dim_of(c);
      k.h = t({BT, a});
      k.g = t({BT, a});
      inner_max = std::max(inner_max, a);
    } else {
      k.ln2 = ln(BT);
      k.qkv = t({BT, 3 * D});
      k.probs = t({B, cfg_.heads, T, T});
      k.attn = t({BT, D});
      k.x1 = t({BT, D});
      k.h = t({BT, cfg_.mlp});
      k.g = t({BT, cfg_.mlp});
      inner_max = std::max<int64_t>(inner_max, cfg_.mlp);
    }
  }
  cls_ = t({B, D});
  norm_ = ln(B);
  logits_ = t({B, cfg_.num_classes});
  dstream_ = t({BT, D});
  dcls_ = t({B, D});
  dnorm_ = t({B, D});
  demb_ = t({B * P, D});
  dattn_ = t({BT, D});
  dqkv_ = t({BT, 3 * D});
  dln_ = t({BT, D});
  dh_ = t({BT * inner_max});
  dg_ = t({BT * inner_max});
}

void Network::layernorm(const Component& c, int first_param, const Tensor& x, LayerNormCache& k) {
  be_.layernorm_forward(x, c.param(first_param), c.param(first_param + 1), cfg_.ln_eps, k.y, k.mean,
                        k.rstd);
}

void Network::block_forward(const Component& c, const Tensor& x, BlockCache& k) {
  layernorm(c, 0, x, k.ln1);
  const Tensor b3 = c.param(3), b5 = c.param(5), b9 = c.param(9), b11 = c.param(11);
  be_.linear_forward(k.ln1.y, c.param(2), &b3, k.qkv);
  be_.attention_forward(k.qkv, batch_, cfg_.heads, k.attn, k.probs);
  be_.linear_forward(k.attn, c.param(4), &b5, k.x1);
  be_.add(k.x1, x, k.x1);
  layernorm(c, 6, k.x1, k.ln2);
  be_.linear_gelu_forward(k.ln2.y, c.param(8), b9, k.h, k.g);
  be_.linear_forward(k.g, c.param(10), &b11, k.out);
  be_.add(k.out, k.x1, k.out);
}

void Network::adapter_forward(const Component& c, const Tensor& x, BlockCache& k) {
  layernorm(c, 0, x, k.ln1);
  const Tensor b3 = c.param(3), b5 = c.param(5);
  be_.linear_gelu_forward(k.ln1.y, c.param(2), b3, k.h, k.g);
  be_.linear_forward(k.g, c.param(4), &b5, k.out);
  be_.add(k.out, x, k.out);
}

const Tensor& Network::forward(const Tensor& images) {
  MUNET_CHECK(images.rank() == 4 && images.dim(1) == cfg_.image_size &&
                  images.dim(2) == cfg_.image_size && images.dim(3) == cfg_.channels,
              "network input must be [batch, ", cfg_.image_size, ", ", cfg_.image_size, ", ",
              cfg_.channels, "], got ", shape_str(images.shape()));
  allocate(int(images.dim(0)));
  images_ = &images;
  const Component& emb = *route_[0].component;
  const Tensor emb_bias = emb.param(1);
  be_.patchify(images, cfg_.patch, patches_);
  be_.linear_forward(patches_, emb.param(0), &emb_bias, emb_);
  be_.tokens_forward(emb_, route_[1].component->param(0), route_[2].component->param(0), batch_, tokens_);
  const Tensor* x = &tokens_;
  for (size_t i = first_block_; i < end_blocks_; ++i) {
    BlockCache& k = blocks_[i - first_block_];
    const Component& c = *route_[i].component;
    if (c.kind() == ComponentKind::Adapter) adapter_forward(c, *x, k);
    else block_forward(c, *x, k);
    x = &k.out;
  }
  be_.class_token_gather(*x, batch_, cls_);
  layernorm(*route_[end_blocks_].component, 0, cls_, norm_);
  const Component& head = *route_[end_blocks_ + 1].component;
  const Tensor head_bias = head.param(1);
  be_.linear_forward(norm_.y, head.param(0), &head_bias, logits_);
  return logits_;
}

void Network::block_backward(Component& c, bool trainable, const Tensor& x, BlockCache& k,
                             Tensor& dy, bool need_dx) {
  Grads g(c, trainable);
  const int64_t BT = k.h.dim(0), M = k.h.dim(1);
  Tensor dg = dg_.view(0, {BT, M}), dh = dh_.view(0, {BT, M});
  be_.linear_backward(k.g, c.param(10), dy, &dg, g[10], g[11]);
  be_.gelu_backward(k.h, dg, dh);
  be_.linear_backward(k.ln2.y, c.param(8), dh, &dln_, g[8], g[9]);
  be_.layernorm_backward(k.x1, c.param(6), k.ln2.mean, k.ln2.rstd, dln_, &dy, true, g[6], g[7]);
  be_.linear_backward(k.attn, c.param(4), dy, &dattn_, g[4], g[5]);
  be_.attention_backward(k.qkv, k.probs, dattn_, batch_, cfg_.heads, dqkv_);
  be_.linear_backward(k.ln1.y, c.param(2), dqkv_, &dln_, g[2], g[3]);
  be_.layernorm_backward(x, c.param(0), k.ln1.mean, k.ln1.rstd, dln_, need_dx ? &dy : nullptr, true,
                         g[0], g[1]);
}

void Network::adapter_backward(Component& c, bool trainable, const Tensor& x, BlockCache& k,
                               Tensor& dy, bool need_dx) {
  Grads g(c, trainable);
  const int64_t BT = k.h.dim(0), A = k.h.dim(1);
  Tensor dg = dg_.view(0, {BT, A}), dh = dh_.view(0, {BT, A});
  be_.linear_backward(k.g, c.param(4), dy, &dg, g[4], g[5]);
  be_.gelu_backward(k.h, dg, dh);
  be_.linear_backward(k.ln1.y, c.param(2), dh, &dln_, g[2], g[3]);
  be_.layernorm_backward(x, c.param(0), k.ln1.mean, k.ln1.rstd, dln_, need_dx ? &dy : nullptr, true,
                         g[0], g[1]);
}

void Network::backward(const Tensor& dlogits) {
  MUNET_CHECK(batch_ > 0, "backward called before forward");
  size_t lowest = route_.size();
  for (size_t i = 0; i < route_.size(); ++i)
    if (route_[i].trainable) {
      lowest = i;
      break;
    }
  if (lowest == route_.size()) return;
  const size_t head_i = end_blocks_ + 1, norm_i = end_blocks_;

  Component& head = *route_[head_i].component;
  Grads gh(head, route_[head_i].trainable);
  be_.linear_backward(norm_.y, head.param(0), dlogits, lowest < head_i ? &dnorm_ : nullptr, gh[0], gh[1]);
  if (lowest == head_i) return;

  Component& norm = *route_[norm_i].component;
  Grads gn(norm, route_[norm_i].trainable);
  be_.layernorm_backward(cls_, norm.param(0), norm_.mean, norm_.rstd, dnorm_,
                         lowest < norm_i ? &dcls_ : nullptr, false, gn[0], gn[1]);
  if (lowest == norm_i) return;
  be_.class_token_scatter(dcls_, batch_, dstream_);

  for (size_t i = end_blocks_; i-- > first_block_;) {
    Component& c = *route_[i].component;
    BlockCache& k = blocks_[i - first_block_];
    const Tensor& x = i == first_block_ ? tokens_ : blocks_[i - 1 - first_block_].out;
    const bool need_dx = lowest < i;
    if (c.kind() == ComponentKind::Adapter) adapter_backward(c, route_[i].trainable, x, k, dstream_, need_dx);
    else block_backward(c, route_[i].trainable, x, k, dstream_, need_dx);
    if (!need_dx) return;
  }

  Component& emb = *route_[0].component;
  Grads ge(emb, route_[0].trainable);
  Grads gc(*route_[1].component, route_[1].trainable);
  Grads gp(*route_[2].component, route_[2].trainable);
  be_.tokens_backward(dstream_, batch_, route_[0].trainable ? &demb_ : nullptr, gc[0], gp[0]);
  if (route_[0].trainable) be_.linear_backward(patches_, emb.param(0), demb_, nullptr, ge[0], ge[1]);
}

}  // namespace munet
