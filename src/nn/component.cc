// Component layouts (flax ViT parameter names, with Q, K and V fused into one kernel) and storage.
#include "nn/component.h"

#include <algorithm>

namespace munet {

const char* kind_name(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::Embedding: return "embedding";
    case ComponentKind::ClassToken: return "cls";
    case ComponentKind::PosEmbed: return "posembed";
    case ComponentKind::Adapter: return "adapter";
    case ComponentKind::EncoderBlock: return "encoderblock";
    case ComponentKind::EncoderNorm: return "encoder_norm";
    case ComponentKind::Head: return "head";
  }
  return "?";
}

ComponentKind parse_kind(const std::string& name) {
  for (ComponentKind k : {ComponentKind::Embedding, ComponentKind::ClassToken, ComponentKind::PosEmbed,
                          ComponentKind::Adapter, ComponentKind::EncoderBlock, ComponentKind::EncoderNorm,
                          ComponentKind::Head})
    if (name == kind_name(k)) return k;
  fail("unknown component kind '", name, "'");
}

std::vector<ParamSpec> component_layout(ComponentKind kind, const ViTConfig& c, int adapter_dim) {
  const int64_t D = c.hidden, M = c.mlp;
  std::vector<ParamSpec> l;
  switch (kind) {
    case ComponentKind::Embedding:
      l = {{"kernel", {c.patch_dim(), D}}, {"bias", {D}}};
      break;
    case ComponentKind::ClassToken:
      l = {{"cls", {D}}};
      break;
    case ComponentKind::PosEmbed:
      l = {{"pos_embedding", {c.tokens(), D}}};
      break;
    case ComponentKind::Adapter:
      MUNET_CHECK(adapter_dim > 0, "adapter dimension must be positive, got ", adapter_dim);
      l = {{"LayerNorm/scale", {D}}, {"LayerNorm/bias", {D}},
           {"down/kernel", {D, adapter_dim}}, {"down/bias", {adapter_dim}},
           {"up/kernel", {adapter_dim, D}}, {"up/bias", {D}}};
      break;
    case ComponentKind::EncoderBlock:
      l = {{"LayerNorm_0/scale", {D}}, {"LayerNorm_0/bias", {D}},
           {"MultiHeadDotProductAttention_1/qkv/kernel", {D, 3 * D}},
           {"MultiHeadDotProductAttention_1/qkv/bias", {3 * D}},
           {"MultiHeadDotProductAttention_1/out/kernel", {D, D}},
           {"MultiHeadDotProductAttention_1/out/bias", {D}},
           {"LayerNorm_2/scale", {D}}, {"LayerNorm_2/bias", {D}},
           {"MlpBlock_3/Dense_0/kernel", {D, M}}, {"MlpBlock_3/Dense_0/bias", {M}},
           {"MlpBlock_3/Dense_1/kernel", {M, D}}, {"MlpBlock_3/Dense_1/bias", {D}}};
      break;
    case ComponentKind::EncoderNorm:
      l = {{"scale", {D}}, {"bias", {D}}};
      break;
    case ComponentKind::Head:
      l = {{"kernel", {D, c.num_classes}}, {"bias", {c.num_classes}}};
      break;
  }
  int64_t offset = 0;
  for (auto& p : l) {
    p.offset = offset;
    offset += shape_numel(p.shape);
  }
  return l;
}

bool layout_matches(const Component& c, const std::vector<ParamSpec>& expected) {
  if (expected.size() != c.layout().size()) return false;
  for (size_t k = 0; k < expected.size(); ++k)
    if (expected[k].shape != c.layout()[k].shape) return false;
  return true;
}

int adapter_dim_of(const Component& adapter) {
  return int(adapter.layout()[adapter.index_of("down/kernel")].shape[1]);
}

Component::Component(std::string name, ComponentKind kind, std::vector<ParamSpec> layout,
                     Backend& backend, DType dtype)
    : name_(std::move(name)), kind_(kind), layout_(std::move(layout)), backend_(&backend), dtype_(dtype) {
  for (const auto& p : layout_) size_ = std::max(size_, p.offset + shape_numel(p.shape));
  values_ = backend.empty({size_}, dtype);
  backend.zero(values_);
}

std::unique_ptr<Component> Component::shell(std::string name, ComponentKind kind, std::vector<ParamSpec> layout,
                                            Backend& backend, DType dtype, bool has_optimizer_state) {
  auto c = std::make_unique<Component>(std::move(name), kind, std::vector<ParamSpec>{}, backend, dtype);
  c->layout_ = std::move(layout);
  c->size_ = 0;
  for (const auto& p : c->layout_) c->size_ = std::max(c->size_, p.offset + shape_numel(p.shape));
  c->values_ = Tensor();
  c->shell_optimizer_state_ = has_optimizer_state;
  return c;
}

void Component::make_resident(bool with_optimizer_state) {
  if (resident()) return;
  values_ = backend_->empty({size_}, dtype_);
  if (shell_optimizer_state_ && with_optimizer_state) velocity_ = backend_->empty({size_}, dtype_);
}

void Component::release() {
  if (!resident()) return;
  shell_optimizer_state_ = shell_optimizer_state_ || velocity_.defined();
  values_ = grad_ = velocity_ = Tensor();
}

void Component::mark_trained() {
  if (!resident()) shell_optimizer_state_ = true;
}

Tensor& Component::values() {
  MUNET_CHECK(resident(), "component '", name_, "' is not held by this process (a shell of a sharded pool)");
  return values_;
}

const Tensor& Component::values() const {
  MUNET_CHECK(resident(), "component '", name_, "' is not held by this process (a shell of a sharded pool)");
  return values_;
}

Tensor& Component::grad() {
  if (!grad_.defined()) {
    grad_ = backend_->empty(values().shape(), dtype_);
    backend_->zero(grad_);
  }
  return grad_;
}

Tensor& Component::velocity() {
  if (!velocity_.defined()) {
    velocity_ = backend_->empty(values().shape(), dtype_);
    backend_->zero(velocity_);
  }
  return velocity_;
}

int Component::index_of(const std::string& param_name) const {
  for (size_t i = 0; i < layout_.size(); ++i)
    if (layout_[i].name == param_name) return static_cast<int>(i);
  fail("component '", name_, "' has no parameter '", param_name, "'");
}

Tensor Component::view_of(const Tensor& flat, int i) const {
  const ParamSpec& p = layout_.at(i);
  return flat.view(p.offset, p.shape);
}

}  // namespace munet
