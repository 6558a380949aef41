// ViT presets and configuration checks.
#include "nn/vit_config.h"

#include "util/error.h"

namespace munet {

void ViTConfig::validate() const {
  MUNET_CHECK(patch > 0 && image_size > 0 && image_size % patch == 0, "image size ", image_size,
              " must be a positive multiple of the patch size ", patch);
  MUNET_CHECK(hidden > 0 && heads > 0 && hidden % heads == 0, "hidden size ", hidden,
              " must be a positive multiple of the number of heads ", heads);
  MUNET_CHECK(mlp > 0, "MLP size must be positive, got ", mlp);
  MUNET_CHECK(layers >= 0, "number of layers must be >= 0, got ", layers);
  MUNET_CHECK(num_classes > 0, "number of classes must be positive, got ", num_classes);
  MUNET_CHECK(channels == 3, "images have 3 channels after preprocessing, got ", channels);
}

ViTConfig vit_preset(const std::string& name) {
  ViTConfig c;
  if (name == "char") return c;
  c.image_size = 224;
  if (name == "ti16") {
    c.hidden = 192, c.mlp = 768, c.heads = 3, c.layers = 12;
  } else if (name == "s16") {
    c.hidden = 384, c.mlp = 1536, c.heads = 6, c.layers = 12;
  } else if (name == "b16") {
    c.hidden = 768, c.mlp = 3072, c.heads = 12, c.layers = 12;
  } else if (name == "l16") {
    c.hidden = 1024, c.mlp = 4096, c.heads = 16, c.layers = 24;
  } else {
    std::string names;
    for (const auto& n : vit_preset_names()) names += (names.empty() ? "" : ", ") + n;
    fail("unknown model preset '", name, "' (valid: ", names, ")");
  }
  return c;
}

std::vector<std::string> vit_preset_names() { return {"char", "ti16", "s16", "b16", "l16"}; }

}  // namespace munet
