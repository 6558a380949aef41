// Token assembly on the CPU: image patches, class token + position embedding, and picking the
// class token out of each sequence (and their backward passes).
#include <algorithm>

#include "kernels/cpu/cpu_backend.h"

namespace munet {

void CpuBackend::patchify(const Tensor& images, int patch, Tensor& patches) {
  dispatch_real(images.dtype(), "patchify", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(images.rank() == 4 && images.dim(1) == images.dim(2), "patchify: images must be "
                "[B, S, S, C], got ", shape_str(images.shape()));
    const int64_t B = images.dim(0), S = images.dim(1), C = images.dim(3);
    MUNET_CHECK(patch > 0 && S % patch == 0, "patchify: image size ", S,
                " is not a multiple of the patch size ", patch);
    const int64_t g = S / patch, P = g * g, row = int64_t(patch) * C;
    expect_tensor(patches, images.dtype(), {B * P, patch * row}, "patchify", "patches");
    const T* src = images.data<T>();
    T* dst = patches.data<T>();
    pool_.parallel_for(0, B * P, 16, [&](int64_t lo, int64_t hi) {
      for (int64_t bp = lo; bp < hi; ++bp) {
        const int64_t b = bp / P, py = (bp % P) / g, px = bp % g;
        T* out = dst + bp * patch * row;
        for (int ky = 0; ky < patch; ++ky) {
          const T* in = src + ((b * S + py * patch + ky) * S + px * patch) * C;
          std::copy(in, in + row, out + ky * row);
        }
      }
    });
  });
}

void CpuBackend::tokens_forward(const Tensor& emb, const Tensor& cls, const Tensor& pos, int batch,
                                Tensor& tokens) {
  dispatch_real(emb.dtype(), "tokens_forward", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(emb.rank() == 2 && batch > 0 && emb.dim(0) % batch == 0, "tokens_forward: emb ",
                shape_str(emb.shape()), " is not [batch*patches, hidden] for batch ", batch);
    const int64_t D = emb.dim(1), P = emb.dim(0) / batch, Tn = P + 1;
    expect_tensor(cls, emb.dtype(), {D}, "tokens_forward", "cls");
    expect_tensor(pos, emb.dtype(), {Tn, D}, "tokens_forward", "pos");
    expect_tensor(tokens, emb.dtype(), {batch * Tn, D}, "tokens_forward", "tokens");
    const T* pe = emb.data<T>();
    const T* pc = cls.data<T>();
    const T* pp = pos.data<T>();
    T* pt = tokens.data<T>();
    pool_.parallel_for(0, batch, 8, [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        T* out = pt + b * Tn * D;
#pragma omp simd
        for (int64_t c = 0; c < D; ++c) out[c] = pc[c] + pp[c];
        for (int64_t t = 1; t < Tn; ++t) {
          const T* e = pe + (b * P + t - 1) * D;
          const T* p = pp + t * D;
          T* o = out + t * D;
#pragma omp simd
          for (int64_t c = 0; c < D; ++c) o[c] = e[c] + p[c];
        }
      }
    });
  });
}

void CpuBackend::tokens_backward(const Tensor& dtokens, int batch, Tensor* demb, Tensor* dcls,
                                 Tensor* dpos) {
  dispatch_real(dtokens.dtype(), "tokens_backward", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(dtokens.rank() == 2 && batch > 0 && dtokens.dim(0) % batch == 0,
                "tokens_backward: dtokens ", shape_str(dtokens.shape()), " does not fit batch ", batch);
    const int64_t D = dtokens.dim(1), Tn = dtokens.dim(0) / batch, P = Tn - 1;
    if (demb) expect_tensor(*demb, dtokens.dtype(), {batch * P, D}, "tokens_backward", "demb");
    if (dcls) expect_tensor(*dcls, dtokens.dtype(), {D}, "tokens_backward", "dcls");
    if (dpos) expect_tensor(*dpos, dtokens.dtype(), {Tn, D}, "tokens_backward", "dpos");
    const T* pd = dtokens.data<T>();
    if (demb) {
      T* pe = demb->data<T>();
      pool_.parallel_for(0, batch, 8, [&](int64_t lo, int64_t hi) {
        for (int64_t b = lo; b < hi; ++b)
          std::copy(pd + (b * Tn + 1) * D, pd + (b + 1) * Tn * D, pe + b * P * D);
      });
    }
    // dpos[t] += sum_b dtokens[b, t]; dcls += sum_b dtokens[b, 0]. Threads own token rows t.
    if (dcls || dpos) {
      T* pp = dpos ? dpos->data<T>() : nullptr;
      T* pc = dcls ? dcls->data<T>() : nullptr;
      pool_.parallel_for(0, Tn, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t t = lo; t < hi; ++t)
          for (int64_t b = 0; b < batch; ++b) {
            const T* g = pd + (b * Tn + t) * D;
            if (pp) {
#pragma omp simd
              for (int64_t c = 0; c < D; ++c) pp[t * D + c] += g[c];
            }
            if (pc && t == 0) {
#pragma omp simd
              for (int64_t c = 0; c < D; ++c) pc[c] += g[c];
            }
          }
      });
    }
  });
}

void CpuBackend::class_token_gather(const Tensor& x, int batch, Tensor& out) {
  dispatch_real(x.dtype(), "class_token_gather", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(x.rank() == 2 && batch > 0 && x.dim(0) % batch == 0, "class_token_gather: x ",
                shape_str(x.shape()), " does not fit batch ", batch);
    const int64_t D = x.dim(1), Tn = x.dim(0) / batch;
    expect_tensor(out, x.dtype(), {batch, D}, "class_token_gather", "out");
    const T* px = x.data<T>();
    T* po = out.data<T>();
    for (int64_t b = 0; b < batch; ++b) std::copy(px + b * Tn * D, px + b * Tn * D + D, po + b * D);
  });
}

void CpuBackend::class_token_scatter(const Tensor& dout, int batch, Tensor& dx) {
  dispatch_real(dx.dtype(), "class_token_scatter", [&](auto tag) {
    using T = decltype(tag);
    MUNET_CHECK(dx.rank() == 2 && batch > 0 && dx.dim(0) % batch == 0, "class_token_scatter: dx ",
                shape_str(dx.shape()), " does not fit batch ", batch);
    const int64_t D = dx.dim(1), Tn = dx.dim(0) / batch;
    expect_tensor(dout, dx.dtype(), {batch, D}, "class_token_scatter", "dout");
    const T* pd = dout.data<T>();
    T* px = dx.data<T>();
    pool_.parallel_for(0, batch, 16, [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        T* seq = px + b * Tn * D;
        std::copy(pd + b * D, pd + (b + 1) * D, seq);
        std::fill(seq + D, seq + Tn * D, T(0));
      }
    });
  });
}

}  // namespace munet
