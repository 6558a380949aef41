// µ2Net's hyperparameter search space (MU2NET.md "Hyperparameters"). Every hyperparameter has a
// list of valid values (numeric ones sorted; the schedule as constant, cosine, restarts; booleans
// as false, true), and a mutation moves one step up or down the list (50/50, clipped at the
// ends), as the reference's incremental_mutation does for every list. Dataset hyperparameters
// (image size and augmentation) are sampled once per generation; the others per child.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "data/augment.h"
#include "optim/schedule.h"
#include "util/rng.h"

namespace munet {

enum class Hp {
  Mu, Lr, LrSchedule, WarmupRatio, Momentum, Nesterov,  // model
  AdapterDim, NumLayers,                                 // architecture
  ImageSize, Crop, AreaMin, AspectMin, Flip, Brightness, Contrast,  // dataset (per generation)
  Count
};
constexpr int kHpCount = static_cast<int>(Hp::Count);

// The hyperparameters' names, in Hp order (as checkpoints and --mutate write them).
constexpr const char* kHpNames[kHpCount] = {
    "mu",       "lr",         "lr_schedule",    "lr_warmup_ratio",        "momentum",        "nesterov",
    "adapter_dim", "num_layers", "image_size",  "crop", "area_range_min", "aspect_ratio_range_min",
    "flip_left_right", "brightness_delta", "contrast_delta"};
// The hyperparameter called `name` (throws munet::Error naming the valid names).
Hp hp_by_name(const std::string& name);

// Momentum's valid values unless a configuration says otherwise (auto-tune v2). 0 stands for
// "none", plain SGD (the reference's momentum=None): v = g, p -= lr * g.
inline const std::vector<double> kDefaultMomentumValues = {0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99};

// The root's values of the hyperparameters the configurations set differently.
struct HpDefaults {
  double mu = 0.2;
  double warmup_ratio = 0.05;
  int adapter_dim = 32;
};

struct HpSpec {
  const char* name;
  std::vector<double> values;  // valid values, in mutation order
  bool numeric;                // printed as a number (else as a schedule name or true/false)
  bool dataset;
};

class Hparams {
 public:
  double operator[](Hp h) const { return v_[static_cast<int>(h)]; }
  double& operator[](Hp h) { return v_[static_cast<int>(h)]; }
  bool operator==(const Hparams& o) const { return v_ == o.v_; }

  double mu() const { return (*this)[Hp::Mu]; }
  int image_size() const { return static_cast<int>((*this)[Hp::ImageSize]); }
  int num_layers() const { return static_cast<int>((*this)[Hp::NumLayers]); }
  int adapter_dim() const { return static_cast<int>((*this)[Hp::AdapterDim]); }
  LrScheduleKind schedule() const { return static_cast<LrScheduleKind>(static_cast<int>((*this)[Hp::LrSchedule])); }
  Augmentation augmentation() const;

 private:
  std::array<double, kHpCount> v_{};
};

class HpSpace {
 public:
  // image sizes: multiples of `patch` up to max_image_size; num_layers: 0 .. max_layers;
  // momentum: `momentum` (sorted, 0 for none); the root's µ, warm-up and adapter width: `d`.
  HpSpace(int patch, int max_layers, int max_image_size,
          std::vector<double> momentum = kDefaultMomentumValues, HpDefaults d = {});

  const HpSpec& spec(Hp h) const { return specs_[static_cast<int>(h)]; }
  // µ2Net's defaults (with the HpDefaults given), the given image size and num_layers = max_layers.
  Hparams defaults(int image_size) const;
  // Mutates h with probability `prob`; returns a description ("lr 0.01->0.02") or "" if unchanged.
  std::string mutate(Hp h, Hparams& hp, double prob, Rng& rng) const;
  // Throws munet::Error if a value is not valid for its hyperparameter.
  void check(const Hparams& hp) const;
  // "lr=0.01 lr_schedule=cosine ..." for logs and records.
  std::string describe(const Hparams& hp) const;
  std::string value_string(Hp h, double v) const;

 private:
  std::array<HpSpec, kHpCount> specs_;
  HpDefaults defaults_;
};

// The index of hp[h] in its valid values (throws when not found).
size_t value_index(const HpSpec& spec, double value);

}  // namespace munet
