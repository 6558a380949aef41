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
  // image sizes: multiples of `patch` up to max_image_size; num_layers: 0 .. max_layers.
  HpSpace(int patch, int max_layers, int max_image_size);

  const HpSpec& spec(Hp h) const { return specs_[static_cast<int>(h)]; }
  // µ2Net's defaults, with the given image size and num_layers = max_layers.
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
};

// The index of hp[h] in its valid values (throws when not found).
size_t value_index(const HpSpec& spec, double value);

}  // namespace munet
