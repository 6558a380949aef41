// Softmax cross-entropy on the CPU: per-example losses computed by row slabs, then summed
// serially in example order so the total is the same for any number of threads.
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_backend.h"

namespace munet {

LossStats CpuBackend::softmax_cross_entropy(const Tensor& logits, const Tensor& labels,
                                            Tensor* dlogits, double grad_scale) {
  LossStats stats;
  dispatch_real(logits.dtype(), "softmax_cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(logits.rank() == 2, "softmax_cross_entropy: logits must be [batch, classes], got ",
                shape_str(logits.shape()));
    const int64_t B = logits.dim(0), C = logits.dim(1);
    expect_tensor(labels, DType::I32, {B}, "softmax_cross_entropy", "labels");
    if (dlogits) expect_tensor(*dlogits, logits.dtype(), {B, C}, "softmax_cross_entropy", "dlogits");
    const T* pl = logits.data<T>();
    const int32_t* py = labels.data<int32_t>();
    T* pd = dlogits ? dlogits->data<T>() : nullptr;
    for (int64_t b = 0; b < B; ++b)
      MUNET_CHECK(py[b] >= 0 && py[b] < C, "softmax_cross_entropy: label ", py[b], " of example ",
                  b, " is outside [0, ", C, ")");
    std::vector<double> loss(B);
    std::vector<uint8_t> hit(B);
    pool_.parallel_for(0, B, 16, [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        const T* row = pl + b * C;
        int64_t arg = 0;
        for (int64_t c = 1; c < C; ++c)
          if (row[c] > row[arg]) arg = c;
        const double mx = double(row[arg]);
        double sum = 0.0;
        for (int64_t c = 0; c < C; ++c) sum += std::exp(double(row[c]) - mx);
        const double lse = mx + std::log(sum);
        loss[b] = lse - double(row[py[b]]);
        hit[b] = arg == py[b];
        if (pd) {
          T* d = pd + b * C;
          for (int64_t c = 0; c < C; ++c)
            d[c] = T((std::exp(double(row[c]) - lse) - (c == py[b] ? 1.0 : 0.0)) * grad_scale);
        }
      }
    });
    for (int64_t b = 0; b < B; ++b) {
      stats.loss_sum += loss[b];
      stats.correct += hit[b];
    }
  });
  return stats;
}

}  // namespace munet
