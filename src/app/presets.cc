// The presets' values, read from google-research muNet/mu2Net.ipynb: get_exp_config_ti3_chars with
// exp_config_add_auto_tune (chars-ti3), get_exp_config_large with exp_config_add_auto_tune_v2
// (large-l16). K and D of the paper baselines are munet's choice (README "Presets").
#include "app/presets.h"

#include "util/error.h"

namespace munet::app {

const std::vector<Preset>& presets() {
  static const std::vector<Preset> all = {
      {"chars-ti3", "ViT-Ti/16 with 3 blocks at 32x32 on the character tasks (auto-tune v1)",
       "model = char\n"
       "tasks = mnist,omniglot,cmaterdb_bangla,cmaterdb_devanagari\n"
       "task-iterations = 2\n"
       "children-per-task = 64\n"
       "parallel-slots = 8\n"
       "validations = 5\n"
       "steps-per-validation = 100\n"
       "epoch-cap = true\n"
       "batch-size = 512\n"
       "max-val-examples = 5120\n"
       "base = 1.0\n"
       "mu = 0.1\n"
       "mutate = adapter_dim,lr,lr_schedule,lr_warmup_ratio,momentum,nesterov,image_size,area_range_min,"
       "aspect_ratio_range_min,flip_left_right,brightness_delta,contrast_delta\n"
       "momentum-values = none,0.2,0.4,0.5,0.6,0.7,0.8,0.85,0.9,0.95,0.98,0.99\n"
       "warmup-ratio = 0.1\n"
       "adapters = true\n"
       "adapter-dim = 32\n"
       "baseline-freeze = 2\n"
       "baseline-adapter-dim = 32\n"},
      {"large-l16", "ViT-L/16 at 384x384 (auto-tune v2)",
       "model = l16\n"
       "image-size = 384\n"
       "max-image-size = 384\n"
       "task-iterations = 1\n"
       "children-per-task = 128\n"
       "parallel-slots = 32\n"
       "validations = 4\n"
       "steps-per-validation = 2002\n"
       "epoch-cap = true\n"
       "batch-size = 64\n"
       "max-val-examples = 10000\n"
       "base = 1.0\n"
       "mu = 0.2\n"
       "mutate = mu,lr,lr_warmup_ratio,momentum,nesterov,crop,area_range_min,aspect_ratio_range_min,"
       "flip_left_right,brightness_delta,contrast_delta\n"
       "momentum-values = 0.5,0.6,0.7,0.8,0.85,0.9,0.95,0.98,0.99\n"
       "warmup-ratio = 0.05\n"
       "adapters = false\n"
       "adapter-dim = 16\n"
       "baseline-freeze = 12\n"
       "baseline-adapter-dim = 16\n"},
  };
  return all;
}

const Preset& preset(const std::string& name) {
  std::string names;
  for (const Preset& p : presets()) {
    if (name == p.name) return p;
    names += cat(names.empty() ? "" : ", ", p.name);
  }
  fail("unknown preset '", name, "' (valid: ", names, ")");
}

}  // namespace munet::app
