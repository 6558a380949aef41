// Token assembly on the GPU: image patches, class token + position embedding, and picking the
// class token out of each sequence, with their backward passes. One thread per output element;
// the position/class gradients sum over the batch in order, one thread per (token, channel).
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"

namespace munet {
namespace {

#define MUNET_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

template <class T>
__global__ void patchify_kernel(const T* images, T* patches, int64_t n, int64_t S, int64_t C, int64_t p, int64_t g) {
  const int64_t prow = p * C, psize = p * prow, P = g * g;
  MUNET_GRID_STRIDE(e, n) {
    const int64_t bp = e / psize, rem = e % psize, ky = rem / prow, r2 = rem % prow;
    const int64_t b = bp / P, py = (bp % P) / g, px = bp % g;
    patches[e] = images[((b * S + py * p + ky) * S + px * p) * C + r2];
  }
}

template <class T>
__global__ void tokens_forward_kernel(const T* emb, const T* cls, const T* pos, T* tokens, int64_t n, int64_t Tn,
                                      int64_t D) {
  MUNET_GRID_STRIDE(e, n) {
    const int64_t b = e / (Tn * D), t = (e / D) % Tn, c = e % D;
    tokens[e] = (t == 0 ? cls[c] : emb[(b * (Tn - 1) + t - 1) * D + c]) + pos[t * D + c];
  }
}

template <class T>
__global__ void tokens_demb_kernel(const T* dtokens, T* demb, int64_t n, int64_t Tn, int64_t D) {
  const int64_t P = Tn - 1;
  MUNET_GRID_STRIDE(e, n) {
    const int64_t b = e / (P * D), i = (e / D) % P, c = e % D;
    demb[e] = dtokens[(b * Tn + 1 + i) * D + c];
  }
}

// dpos[t, c] += sum over b of dtokens[b, t, c] (and dcls[c] += the t = 0 sum).
template <class T>
__global__ void tokens_dparams_kernel(const T* dtokens, T* dcls, T* dpos, int64_t batch, int64_t Tn, int64_t D) {
  MUNET_GRID_STRIDE(e, Tn * D) {
    const int64_t t = e / D, c = e % D;
    if (!dpos && t != 0) continue;
    T s = 0;
    for (int64_t b = 0; b < batch; ++b) s += dtokens[(b * Tn + t) * D + c];
    if (dpos) dpos[e] += s;
    if (dcls && t == 0) dcls[c] += s;
  }
}

template <class T>
__global__ void class_gather_kernel(const T* x, T* out, int64_t n, int64_t Tn, int64_t D) {
  MUNET_GRID_STRIDE(e, n) out[e] = x[(e / D) * Tn * D + e % D];
}

template <class T>
__global__ void class_scatter_kernel(const T* dout, T* dx, int64_t n, int64_t Tn, int64_t D) {
  MUNET_GRID_STRIDE(e, n) {
    const int64_t b = e / (Tn * D), t = (e / D) % Tn, c = e % D;
    dx[e] = t == 0 ? dout[b * D + c] : T(0);
  }
}

#undef MUNET_GRID_STRIDE

}  // namespace

void CudaBackend::patchify(const Tensor& images, int patch, Tensor& patches) {
  bind();
  dispatch_real(images.dtype(), "patchify", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(images.rank() == 4 && images.dim(1) == images.dim(2), "patchify: images must be [B, S, S, C], got ",
                shape_str(images.shape()));
    const int64_t B = images.dim(0), S = images.dim(1), C = images.dim(3);
    MUNET_CHECK(patch > 0 && S % patch == 0, "patchify: image size ", S, " is not a multiple of the patch size ",
                patch);
    const int64_t g = S / patch;
    expect_device_tensor(images, images.dtype(), images.shape(), "patchify", "images");
    expect_device_tensor(patches, images.dtype(), {B * g * g, int64_t(patch) * patch * C}, "patchify", "patches");
    const int64_t n = patches.numel();
    patchify_kernel<<<blocks_for(n, 256), 256, 0, stream()>>>(images.data<T>(), patches.data<T>(), n, S, C, patch, g);
    cuda::check_launch("patchify");
  });
}

void CudaBackend::tokens_forward(const Tensor& emb, const Tensor& cls, const Tensor& pos, int batch, Tensor& tokens) {
  bind();
  dispatch_real(emb.dtype(), "tokens_forward", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(emb.rank() == 2 && batch > 0 && emb.dim(0) % batch == 0, "tokens_forward: emb ",
                shape_str(emb.shape()), " is not [batch*patches, hidden] for batch ", batch);
    const int64_t D = emb.dim(1), Tn = emb.dim(0) / batch + 1;
    expect_device_tensor(emb, emb.dtype(), emb.shape(), "tokens_forward", "emb");
    expect_device_tensor(cls, emb.dtype(), {D}, "tokens_forward", "cls");
    expect_device_tensor(pos, emb.dtype(), {Tn, D}, "tokens_forward", "pos");
    expect_device_tensor(tokens, emb.dtype(), {batch * Tn, D}, "tokens_forward", "tokens");
    const int64_t n = tokens.numel();
    tokens_forward_kernel<<<blocks_for(n, 256), 256, 0, stream()>>>(emb.data<T>(), cls.data<T>(), pos.data<T>(),
                                                                    tokens.data<T>(), n, Tn, D);
    cuda::check_launch("tokens_forward");
  });
}

void CudaBackend::tokens_backward(const Tensor& dtokens, int batch, Tensor* demb, Tensor* dcls, Tensor* dpos) {
  bind();
  dispatch_real(dtokens.dtype(), "tokens_backward", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(dtokens.rank() == 2 && batch > 0 && dtokens.dim(0) % batch == 0, "tokens_backward: dtokens ",
                shape_str(dtokens.shape()), " does not fit batch ", batch);
    const int64_t D = dtokens.dim(1), Tn = dtokens.dim(0) / batch;
    expect_device_tensor(dtokens, dtokens.dtype(), dtokens.shape(), "tokens_backward", "dtokens");
    if (demb) {
      expect_device_tensor(*demb, dtokens.dtype(), {batch * (Tn - 1), D}, "tokens_backward", "demb");
      const int64_t n = demb->numel();
      tokens_demb_kernel<<<blocks_for(n, 256), 256, 0, stream()>>>(dtokens.data<T>(), demb->data<T>(), n, Tn, D);
      cuda::check_launch("tokens_backward (demb)");
    }
    if (dcls) expect_device_tensor(*dcls, dtokens.dtype(), {D}, "tokens_backward", "dcls");
    if (dpos) expect_device_tensor(*dpos, dtokens.dtype(), {Tn, D}, "tokens_backward", "dpos");
    if (dcls || dpos) {
      tokens_dparams_kernel<<<blocks_for(Tn * D, 128), 128, 0, stream()>>>(
          dtokens.data<T>(), dcls ? dcls->data<T>() : nullptr, dpos ? dpos->data<T>() : nullptr, batch, Tn, D);
      cuda::check_launch("tokens_backward (dcls, dpos)");
    }
  });
}

void CudaBackend::class_token_gather(const Tensor& x, int batch, Tensor& out) {
  bind();
  dispatch_real(x.dtype(), "class_token_gather", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(x.rank() == 2 && batch > 0 && x.dim(0) % batch == 0, "class_token_gather: x ", shape_str(x.shape()),
                " does not fit batch ", batch);
    const int64_t D = x.dim(1), Tn = x.dim(0) / batch;
    expect_device_tensor(x, x.dtype(), x.shape(), "class_token_gather", "x");
    expect_device_tensor(out, x.dtype(), {batch, D}, "class_token_gather", "out");
    const int64_t n = out.numel();
    class_gather_kernel<<<blocks_for(n, 256), 256, 0, stream()>>>(x.data<T>(), out.data<T>(), n, Tn, D);
    cuda::check_launch("class_token_gather");
  });
}

void CudaBackend::class_token_scatter(const Tensor& dout, int batch, Tensor& dx) {
  bind();
  dispatch_real(dx.dtype(), "class_token_scatter", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(dx.rank() == 2 && batch > 0 && dx.dim(0) % batch == 0, "class_token_scatter: dx ",
                shape_str(dx.shape()), " does not fit batch ", batch);
    const int64_t D = dx.dim(1), Tn = dx.dim(0) / batch;
    expect_device_tensor(dx, dx.dtype(), dx.shape(), "class_token_scatter", "dx");
    expect_device_tensor(dout, dx.dtype(), {batch, D}, "class_token_scatter", "dout");
    const int64_t n = dx.numel();
    class_scatter_kernel<<<blocks_for(n, 256), 256, 0, stream()>>>(dout.data<T>(), dx.data<T>(), n, Tn, D);
    cuda::check_launch("class_token_scatter");
  });
}

}  // namespace munet
