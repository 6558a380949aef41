// The search space's value lists, defaults and the mutation rule.
#include "evo/hparams.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "util/error.h"

namespace munet {

Augmentation Hparams::augmentation() const {
  Augmentation a;
  a.crop = (*this)[Hp::Crop] != 0;
  a.area_min = (*this)[Hp::AreaMin];
  a.aspect_min = (*this)[Hp::AspectMin];
  a.flip = (*this)[Hp::Flip] != 0;
  a.brightness = (*this)[Hp::Brightness];
  a.contrast = (*this)[Hp::Contrast];
  return a;
}

Hp hp_by_name(const std::string& name) {
  std::string valid;
  for (int i = 0; i < kHpCount; ++i) {
    if (name == kHpNames[i]) return static_cast<Hp>(i);
    valid += cat(i ? ", " : "", kHpNames[i]);
  }
  fail("unknown hyperparameter '", name, "' (valid: ", valid, ")");
}

HpSpace::HpSpace(int patch, int max_layers, int max_image_size, std::vector<double> momentum, HpDefaults d)
    : defaults_(d) {
  MUNET_CHECK(patch > 0 && max_image_size >= patch, "image sizes need a patch size (", patch,
              ") no larger than the largest image size (", max_image_size, ")");
  MUNET_CHECK(max_layers >= 0, "max layers must be >= 0, got ", max_layers);
  std::vector<double> sizes, layers;
  for (int s = patch; s <= max_image_size; s += patch) sizes.push_back(s);
  for (int l = 0; l <= max_layers; ++l) layers.push_back(l);
  std::vector<double> mus;
  for (int i = 10; i <= 30; i += 2) mus.push_back(i / 100.0);
  const std::vector<double> jitter = {0, 0.01, 0.02, 0.05, 0.1, 0.2};
  MUNET_CHECK(!momentum.empty() && std::is_sorted(momentum.begin(), momentum.end()) &&
                  std::adjacent_find(momentum.begin(), momentum.end()) == momentum.end() && momentum.front() >= 0 &&
                  momentum.back() < 1,
              "momentum values must be distinct, sorted and in [0, 1) (0: none)");
  specs_[int(Hp::Mu)] = {kHpNames[int(Hp::Mu)], mus, true, false};
  specs_[int(Hp::Lr)] = {kHpNames[int(Hp::Lr)], {1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5}, true, false};
  specs_[int(Hp::LrSchedule)] = {kHpNames[int(Hp::LrSchedule)], {0, 1, 2}, false, false};  // LrScheduleKind order
  specs_[int(Hp::WarmupRatio)] = {kHpNames[int(Hp::WarmupRatio)], {0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4}, true, false};
  specs_[int(Hp::Momentum)] = {kHpNames[int(Hp::Momentum)], std::move(momentum), true, false};
  specs_[int(Hp::Nesterov)] = {kHpNames[int(Hp::Nesterov)], {0, 1}, false, false};
  specs_[int(Hp::AdapterDim)] = {kHpNames[int(Hp::AdapterDim)], {8, 16, 32, 64, 128}, true, false};
  specs_[int(Hp::NumLayers)] = {kHpNames[int(Hp::NumLayers)], layers, true, false};
  specs_[int(Hp::ImageSize)] = {kHpNames[int(Hp::ImageSize)], sizes, true, true};
  specs_[int(Hp::Crop)] = {kHpNames[int(Hp::Crop)], {0, 1}, false, true};
  specs_[int(Hp::AreaMin)] = {kHpNames[int(Hp::AreaMin)], {0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0}, true, true};
  specs_[int(Hp::AspectMin)] = {kHpNames[int(Hp::AspectMin)], {0.25, 0.5, 0.75, 1.0}, true, true};
  specs_[int(Hp::Flip)] = {kHpNames[int(Hp::Flip)], {0, 1}, false, true};
  specs_[int(Hp::Brightness)] = {kHpNames[int(Hp::Brightness)], jitter, true, true};
  specs_[int(Hp::Contrast)] = {kHpNames[int(Hp::Contrast)], jitter, true, true};
}

Hparams HpSpace::defaults(int image_size) const {
  Hparams h;
  h[Hp::Mu] = defaults_.mu;
  h[Hp::Lr] = 0.01;
  h[Hp::LrSchedule] = double(static_cast<int>(LrScheduleKind::Cosine));
  h[Hp::WarmupRatio] = defaults_.warmup_ratio;
  h[Hp::Momentum] = 0.9;
  h[Hp::Nesterov] = 0;
  h[Hp::AdapterDim] = defaults_.adapter_dim;
  h[Hp::NumLayers] = spec(Hp::NumLayers).values.back();
  h[Hp::ImageSize] = image_size;
  h[Hp::Crop] = 1;
  h[Hp::AreaMin] = 0.05;
  h[Hp::AspectMin] = 0.75;
  h[Hp::Flip] = 1;
  h[Hp::Brightness] = 0;
  h[Hp::Contrast] = 0;
  check(h);
  return h;
}

size_t value_index(const HpSpec& spec, double value) {
  for (size_t i = 0; i < spec.values.size(); ++i)
    if (std::fabs(spec.values[i] - value) <= 1e-12 * std::max(1.0, std::fabs(value))) return i;
  fail("hyperparameter ", spec.name, ": value ", value, " is not one of its valid values");
}

std::string HpSpace::mutate(Hp h, Hparams& hp, double prob, Rng& rng) const {
  if (!rng.bernoulli(prob)) return "";
  const HpSpec& s = spec(h);
  const size_t i = value_index(s, hp[h]);
  const size_t j = rng.bernoulli(0.5) ? (i + 1 < s.values.size() ? i + 1 : i) : (i > 0 ? i - 1 : i);
  if (j == i) return "";
  const double before = hp[h];
  hp[h] = s.values[j];
  return cat(s.name, " ", value_string(h, before), "->", value_string(h, hp[h]));
}

void HpSpace::check(const Hparams& hp) const {
  for (int i = 0; i < kHpCount; ++i) value_index(specs_[i], hp[static_cast<Hp>(i)]);
}

std::string HpSpace::value_string(Hp h, double v) const {
  if (h == Hp::LrSchedule) return lr_schedule_name(static_cast<LrScheduleKind>(static_cast<int>(v)));
  if (!spec(h).numeric) return v != 0 ? "true" : "false";
  if (h == Hp::Momentum && v == 0) return "none";
  std::ostringstream out;
  out << v;
  return out.str();
}

std::string HpSpace::describe(const Hparams& hp) const {
  std::string s;
  for (int i = 0; i < kHpCount; ++i)
    s += cat(i ? " " : "", specs_[i].name, "=", value_string(static_cast<Hp>(i), hp[static_cast<Hp>(i)]));
  return s;
}

}  // namespace munet
