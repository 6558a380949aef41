// A pretrained ViT read from a checkpoint in one of two layouts and turned into munet components:
//  - vit_jax / big_vision (.npz of the AugReg checkpoints): embedding/kernel [p, p, 3, D],
//    cls [1, 1, D], Transformer/posembed_input/pos_embedding [1, 1 + g*g, D],
//    Transformer/encoderblock_N/{LayerNorm_0, MultiHeadDotProductAttention_1/{query,key,value}
//    [D, heads, D/heads], out [heads, D/heads, D], LayerNorm_2, MlpBlock_3/Dense_0, Dense_1},
//    Transformer/encoder_norm, head/kernel [D, classes] (optionally all under "opt/target/", a
//    flax optimizer checkpoint, or "params/", big_vision; arrays outside that prefix are ignored);
//  - timm (.safetensors): patch_embed.proj.weight [D, 3, p, p], cls_token, pos_embed,
//    blocks.N.{norm1, attn.qkv [3D, D], attn.proj, norm2, mlp.fc1, mlp.fc2}, norm,
//    head.weight [classes, D] (PyTorch Linear weights are [out, in]: transposed here).
// The shape (patch, hidden, MLP, heads, blocks, grid, classes) comes from the arrays. Every
// array must be used, dropped by an option, or it is an error: a model munet cannot run
// faithfully is refused, never imported with a part silently missing.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "import/array_file.h"
#include "nn/component.h"

namespace munet {

struct ImportOptions {
  int layers = -1;         // keep the first k encoder blocks (-1: all)
  int image_size = 0;      // the route's image size (0: the checkpoint's); the position embedding
                           // is resized from the checkpoint's grid (nn/posembed_resize.h)
  bool drop_head = false;  // leave the classifier head out
  int heads = 0;           // attention heads (0: from the arrays; timm's fused qkv does not say
                           // them, so hidden / 64, the head width of every standard ViT)
};

struct ImportedViT {
  std::string layout;   // "vit_jax" or "timm"
  ViTConfig config;     // image_size: the route's; num_classes: the head's, 0 without one
  int checkpoint_layers = 0;
  int original_image_size = 0;  // grid * patch of the checkpoint's position embedding
  std::vector<std::unique_ptr<Component>> route;  // embedding, cls, posembed_<S>, blocks, encoder_norm[, head]
  // The checkpoint's own position embedding (posembed_<original>) when the route's is resized
  // from it; null when the route's is the original.
  std::unique_ptr<Component> original_posembed;
};

// Throws munet::Error naming the file, the array, its shape and the expected one for a missing,
// mis-shaped, non-float or unexpected array, and naming the option for a bad option.
ImportedViT import_vit(const ArrayFile& file, const ImportOptions& options, Backend& backend);

}  // namespace munet
