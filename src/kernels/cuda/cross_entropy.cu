// Softmax cross-entropy on the GPU: one warp per example computes its arg-max (lowest index on
// ties, as on the CPU), its loss in double, and its logit gradient; the per-example losses and
// hits are summed on the host in example order, as on the CPU (each example's log-sum-exp is a
// tree sum over lanes, so losses agree with the CPU's to about an ulp of double).
#include <vector>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/reduce.cuh"

namespace munet {
namespace {

// hit[b]: 1 when the arg-max is the label, 0 when not, -1 when the label is out of range.
template <class T>
__global__ void cross_entropy_kernel(const T* logits, const int32_t* labels, T* dlogits, double scale, int64_t B,
                                     int64_t C, double* loss, int32_t* hit) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x >> 5);
  for (int64_t b = blockIdx.x * int64_t(blockDim.x >> 5) + (threadIdx.x >> 5); b < B; b += warps) {
    const T* row = logits + b * C;
    const int32_t y = labels[b];
    if (y < 0 || y >= C) {
      if (lane == 0) hit[b] = -1, loss[b] = 0;
      continue;
    }
    T best = row[0];
    int64_t arg = 0;
    for (int64_t c = lane; c < C; c += 32)
      if (row[c] > best || (row[c] == best && c < arg)) best = row[c], arg = c;
    for (int offset = 16; offset > 0; offset >>= 1) {
      const T ob = __shfl_xor_sync(cuda::kFullMask, best, offset);
      const int64_t oa = __shfl_xor_sync(cuda::kFullMask, arg, offset);
      if (ob > best || (ob == best && oa < arg)) best = ob, arg = oa;
    }
    const double mx = double(best);
    double sum = 0;
    for (int64_t c = lane; c < C; c += 32) sum += exp(double(row[c]) - mx);
    const double lse = mx + log(cuda::warp_sum(sum));
    if (lane == 0) {
      loss[b] = lse - double(row[y]);
      hit[b] = arg == y;
    }
    if (dlogits)
      for (int64_t c = lane; c < C; c += 32)
        dlogits[b * C + c] = T((exp(double(row[c]) - lse) - (c == y ? 1.0 : 0.0)) * scale);
  }
}

}  // namespace

LossStats CudaBackend::softmax_cross_entropy(const Tensor& logits, const Tensor& labels, Tensor* dlogits,
                                             double grad_scale) {
  bind();
  LossStats stats;
  dispatch_real(logits.dtype(), "softmax_cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(logits.rank() == 2, "softmax_cross_entropy: logits must be [batch, classes], got ",
                shape_str(logits.shape()));
    const int64_t B = logits.dim(0), C = logits.dim(1);
    expect_device_tensor(logits, logits.dtype(), {B, C}, "softmax_cross_entropy", "logits");
    expect_device_tensor(labels, DType::I32, {B}, "softmax_cross_entropy", "labels");
    if (dlogits) expect_device_tensor(*dlogits, logits.dtype(), {B, C}, "softmax_cross_entropy", "dlogits");
    auto* loss = static_cast<double*>(scratch(kPartials, size_t(B) * (sizeof(double) + sizeof(int32_t))));
    auto* hit = reinterpret_cast<int32_t*>(loss + B);
    cross_entropy_kernel<<<blocks_for(B, 8), 256, 0, stream()>>>(logits.data<T>(), labels.data<int32_t>(),
                                                                 dlogits ? dlogits->data<T>() : nullptr, grad_scale,
                                                                 B, C, loss, hit);
    cuda::check_launch("softmax_cross_entropy");
    std::vector<double> host_loss(B);
    std::vector<int32_t> host_hit(B);
    cuda::check(cudaMemcpyAsync(host_loss.data(), loss, B * sizeof(double), cudaMemcpyDeviceToHost, stream()),
                "cudaMemcpyAsync", "softmax_cross_entropy");
    cuda::check(cudaMemcpyAsync(host_hit.data(), hit, B * sizeof(int32_t), cudaMemcpyDeviceToHost, stream()),
                "cudaMemcpyAsync", "softmax_cross_entropy");
    synchronize();
    for (int64_t b = 0; b < B; ++b) {
      MUNET_CHECK(host_hit[b] >= 0, "softmax_cross_entropy: the label of example ", b, " is outside [0, ", C, ")");
      stats.loss_sum += host_loss[b];
      stats.correct += host_hit[b];
    }
  });
  return stats;
}

}  // namespace munet
