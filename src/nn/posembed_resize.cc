// Linear (order-1 spline) resampling of the position-embedding grid, aligned corners.
#include "nn/posembed_resize.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace munet {
namespace {

struct Tap {
  int lo, hi;
  double w;  // weight of hi
};

std::vector<Tap> taps(int from, int to) {
  std::vector<Tap> t(to);
  // scipy's zoom factor for grid_mode=False: (in - 1) / (out - 1), 1 when out = 1.
  const double zoom = to > 1 ? double(from - 1) / double(to - 1) : 1.0;
  for (int j = 0; j < to; ++j) {
    const double in = std::clamp(j * zoom, 0.0, double(from - 1));
    const int lo = static_cast<int>(std::floor(in));
    t[j] = {lo, std::min(lo + 1, from - 1), in - lo};
  }
  return t;
}

template <class T>
void resample(const T* src, int g0, int g1, int64_t D, T* dst) {
  std::copy(src, src + D, dst);  // class token
  const std::vector<Tap> ty = taps(g0, g1), tx = taps(g0, g1);
  for (int y = 0; y < g1; ++y)
    for (int x = 0; x < g1; ++x) {
      const T* a = src + (1 + ty[y].lo * g0 + tx[x].lo) * D;
      const T* b = src + (1 + ty[y].lo * g0 + tx[x].hi) * D;
      const T* c = src + (1 + ty[y].hi * g0 + tx[x].lo) * D;
      const T* d = src + (1 + ty[y].hi * g0 + tx[x].hi) * D;
      const double wy = ty[y].w, wx = tx[x].w;
      T* o = dst + (1 + int64_t(y) * g1 + x) * D;
      for (int64_t k = 0; k < D; ++k) {
        const double top = a[k] + (double(b[k]) - a[k]) * wx;
        const double bottom = c[k] + (double(d[k]) - c[k]) * wx;
        o[k] = static_cast<T>(top + (bottom - top) * wy);
      }
    }
}

}  // namespace

Tensor resize_position_embedding(const Tensor& pos, int new_grid) {
  MUNET_CHECK(pos.rank() == 2 && pos.dim(0) >= 2, "position embedding must be [1 + grid^2, hidden], got ",
              shape_str(pos.shape()));
  MUNET_CHECK(pos.device() == DeviceType::CPU, "position embedding resize works on host tensors");
  const int64_t patches = pos.dim(0) - 1, D = pos.dim(1);
  const int g0 = static_cast<int>(std::lround(std::sqrt(double(patches))));
  MUNET_CHECK(int64_t(g0) * g0 == patches, "position embedding has ", patches,
              " patch rows, not a square grid");
  MUNET_CHECK(new_grid > 0, "new position-embedding grid must be positive, got ", new_grid);
  Tensor out = Tensor::host({1 + int64_t(new_grid) * new_grid, D}, pos.dtype());
  if (pos.dtype() == DType::F32) resample(pos.data<float>(), g0, new_grid, D, out.data<float>());
  else resample(pos.data<double>(), g0, new_grid, D, out.data<double>());
  return out;
}

}  // namespace munet
