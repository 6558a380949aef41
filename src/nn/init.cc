// Component initialisers: values are drawn in double on the host, then stored in the
// component's dtype on its device.
#include "nn/init.h"

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "util/rng.h"

namespace munet {
namespace {

uint64_t name_hash(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ULL;
  return h;
}

// Truncated normal on [-2, 2] scaled to the given standard deviation (as jax's
// variance_scaling with "truncated_normal").
double truncated_normal(Rng& rng, double stddev) {
  double z;
  do z = rng.normal();
  while (std::fabs(z) > 2.0);
  return z * stddev / 0.87962566103423978;
}

}  // namespace

void init_component(Component& c, Backend& backend, uint64_t seed) {
  Rng rng(seed, {name_hash(c.name())});
  std::vector<double> v(c.size(), 0.0);
  for (size_t i = 0; i < c.layout().size(); ++i) {
    const ParamSpec& p = c.layout()[i];
    const int64_t n = shape_numel(p.shape);
    double* out = v.data() + p.offset;
    const std::string& name = p.name;
    auto ends_with = [&](const char* suffix) {
      const std::string s(suffix);
      return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    if (ends_with("scale")) {
      for (int64_t k = 0; k < n; ++k) out[k] = 1.0;
    } else if (c.kind() == ComponentKind::PosEmbed) {
      for (int64_t k = 0; k < n; ++k) out[k] = 0.02 * rng.normal();
    } else if ((c.kind() == ComponentKind::Embedding && name == "kernel") || name == "down/kernel") {
      // lecun_normal: the flax default of nn.Conv (patch embedding) and nn.Dense (adapter down).
      const double stddev = std::sqrt(1.0 / double(p.shape[0]));
      for (int64_t k = 0; k < n; ++k) out[k] = truncated_normal(rng, stddev);
    } else if (ends_with("kernel") && c.kind() != ComponentKind::Head && name != "up/kernel") {
      // xavier_uniform; the fused QKV kernel is three [D, D] kernels side by side.
      int64_t fan_in = p.shape[0], fan_out = p.shape[1];
      if (name.find("qkv") != std::string::npos) fan_out /= 3;
      const double limit = std::sqrt(6.0 / double(fan_in + fan_out));
      for (int64_t k = 0; k < n; ++k) out[k] = rng.uniform(-limit, limit);
    } else if (name.rfind("MlpBlock", 0) == 0 && ends_with("bias")) {
      for (int64_t k = 0; k < n; ++k) out[k] = 1e-6 * rng.normal();
    }
    // Everything else (biases, class token, head, adapter up-projection) stays zero.
  }
  Tensor host = Tensor::host(c.values().shape(), c.values().dtype());
  if (host.dtype() == DType::F64) {
    std::copy(v.begin(), v.end(), host.data<double>());
  } else {
    float* h = host.data<float>();
    for (size_t k = 0; k < v.size(); ++k) h[k] = static_cast<float>(v[k]);
  }
  backend.copy(host, c.values());
}

}  // namespace munet
