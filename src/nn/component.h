// A component: one named, shaped parameter set of the layer pool (e.g. "encoderblock_2", "head",
// "posembed_32"), with its gradient and optimizer state. Parameters live in one flat buffer on
// the backend's device, so copying, checkpointing or broadcasting a component is one transfer.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "nn/vit_config.h"

namespace munet {

enum class ComponentKind { Embedding, ClassToken, PosEmbed, Adapter, EncoderBlock, EncoderNorm, Head };
const char* kind_name(ComponentKind kind);
// The kind named `name` (as kind_name writes it); throws munet::Error for an unknown name.
ComponentKind parse_kind(const std::string& name);

struct ParamSpec {
  std::string name;
  Shape shape;
  int64_t offset = 0;  // in elements, within the flat buffer
};

// The bottleneck width of an adapter component.
class Component;
int adapter_dim_of(const Component& adapter);

// Parameter layout of a component kind for a ViT config. `adapter_dim` is used by adapters only.
std::vector<ParamSpec> component_layout(ComponentKind kind, const ViTConfig& cfg, int adapter_dim = 0);

// True when the component's parameters have exactly these shapes, in this order.
bool layout_matches(const Component& c, const std::vector<ParamSpec>& expected);

// A component is resident (its parameters are in memory here) or a shell: name, kind and
// layout only, as a rank of a sharded pool knows the components other ranks hold.
class Component {
 public:
  // A resident component with zeroed parameters.
  Component(std::string name, ComponentKind kind, std::vector<ParamSpec> layout, Backend& backend,
            DType dtype);
  // A shell; `has_optimizer_state` tells whether the resident copy has a momentum buffer.
  static std::unique_ptr<Component> shell(std::string name, ComponentKind kind, std::vector<ParamSpec> layout,
                                          Backend& backend, DType dtype, bool has_optimizer_state);

  const std::string& name() const { return name_; }
  ComponentKind kind() const { return kind_; }
  const std::vector<ParamSpec>& layout() const { return layout_; }
  int64_t size() const { return size_; }
  DType dtype() const { return dtype_; }

  bool resident() const { return values_.defined(); }
  // A shell gets (unspecified) parameters, and a momentum buffer when it has optimizer state and
  // `with_optimizer_state` asks for it (a copy used only frozen needs none).
  void make_resident(bool with_optimizer_state);
  // Frees the parameters, gradient and momentum: the component becomes a shell. Whether it has
  // optimizer state is remembered (a copy held without it does not forget the original's).
  void release();
  // For shells: the resident copy has been trained (it now has a momentum buffer).
  void mark_trained();
  // Frees the gradient buffer (a trained component keeps only parameters and momentum).
  void drop_grad() { grad_ = Tensor(); }
  // Frees the gradient and momentum (a device copy kept only to be read).
  void drop_training_state() { grad_ = velocity_ = Tensor(); }

  // The parameters; throws for a shell.
  Tensor& values();
  const Tensor& values() const;
  // Gradient and momentum buffers, allocated (zeroed) on first use: frozen components have none.
  Tensor& grad();
  Tensor& velocity();
  bool has_optimizer_state() const { return resident() ? velocity_.defined() : shell_optimizer_state_; }
  // The momentum buffer as it is (undefined when the component was never trained).
  const Tensor& optimizer_state() const { return velocity_; }

  // Views of parameter i (in layout order) into values / grad.
  Tensor param(int i) const { return view_of(values_, i); }
  Tensor param_grad(int i) { return view_of(grad(), i); }
  int index_of(const std::string& param_name) const;

 private:
  Tensor view_of(const Tensor& flat, int i) const;

  std::string name_;
  ComponentKind kind_;
  std::vector<ParamSpec> layout_;
  Backend* backend_;
  int64_t size_ = 0;
  DType dtype_;
  bool shell_optimizer_state_ = false;
  Tensor values_, grad_, velocity_;
};

}  // namespace munet
