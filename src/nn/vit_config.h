// ViT shape configuration and named presets. The character-benchmark root of µ2Net is "char":
// ViT-Ti/16 with 3 encoder blocks at 32x32.
#pragma once
#include <string>
#include <vector>

namespace munet {

struct ViTConfig {
  int image_size = 32;
  int patch = 16;
  int channels = 3;
  int hidden = 192;
  int mlp = 768;
  int heads = 3;
  int layers = 3;
  int num_classes = 10;
  double ln_eps = 1e-6;

  int grid() const { return image_size / patch; }
  int tokens() const { return grid() * grid() + 1; }
  int patch_dim() const { return patch * patch * channels; }
  // Throws munet::Error describing the first inconsistency.
  void validate() const;
};

// Presets: char (Ti/16, 3 layers, 32x32), ti16, s16, b16, l16 (full depth, 224x224).
ViTConfig vit_preset(const std::string& name);
std::vector<std::string> vit_preset_names();

}  // namespace munet
