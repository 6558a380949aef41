// Multi-head self-attention core on the GPU, softmax(Q K^T / sqrt(d)) V, forward and backward.
// Short sequences (up to kFusedTokens tokens, as in the 32x32 character benchmark) run one fused
// kernel per direction: a block per (sequence, head) holds Q, K, V (and dO, P) in shared memory,
// so a layer costs one launch. Longer sequences use strided-batched cuBLAS GEMMs per head
// (tensor cores) around one softmax kernel (forward) or one softmax-gradient kernel (backward).
// Every sum has a fixed order.
#include <map>
#include <mutex>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/reduce.cuh"

namespace munet {
namespace {

constexpr int64_t kFusedTokens = 64;
constexpr int kFusedThreads = 128;

struct Dims {
  int64_t B, T, D, H, dh, row;  // row = 3 * D, the stride of qkv
};

Dims dims_of(const Tensor& qkv, int batch, int heads, const char* op) {
  MUNET_CHECK(qkv.rank() == 2 && batch > 0 && qkv.dim(0) % batch == 0 && qkv.dim(1) % 3 == 0, op, ": qkv ",
              shape_str(qkv.shape()), " is not [batch*tokens, 3*hidden] for batch ", batch);
  Dims d;
  d.B = batch;
  d.T = qkv.dim(0) / batch;
  d.D = qkv.dim(1) / 3;
  d.H = heads;
  MUNET_CHECK(heads > 0 && d.D % heads == 0, op, ": hidden ", d.D, " is not divisible by ", heads, " heads");
  d.dh = d.D / heads;
  d.row = 3 * d.D;
  return d;
}

// Shared memory of the fused kernels, in elements.
int64_t fused_forward_elems(const Dims& d) { return 3 * d.T * d.dh + d.T * d.T; }
int64_t fused_backward_elems(const Dims& d) { return 4 * d.T * d.dh + 2 * d.T * d.T; }

// Whether a fused kernel needing `bytes` of shared memory can run, raising the kernel's limit
// above the default 48 KiB where the device allows it. The limit is one value per kernel and
// device shared by every thread (children of different image sizes train at once), so it is
// only ever raised, under a lock.
bool fused_fits(const void* kernel, int64_t tokens, size_t bytes, int device) {
  if (tokens > kFusedTokens) return false;
  static std::mutex mutex;
  static std::map<std::pair<const void*, int>, size_t> raised;  // (kernel, device) -> limit set
  std::lock_guard<std::mutex> lock(mutex);
  int optin = 0;
  cuda::check(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device),
              "cudaDeviceGetAttribute", "attention");
  if (bytes > size_t(optin)) return false;
  size_t& limit = raised[{kernel, device}];
  if (bytes > std::max(limit, size_t(48) << 10)) {
    cuda::check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)),
                "cudaFuncSetAttribute", "attention");
    limit = bytes;
  }
  return true;
}

// Copies one (sequence, head)'s Q, K and V rows ([Tn, dh] each) from qkv into shared memory.
template <class T>
__device__ void load_head(const T* base, int64_t row, int D, int Tn, int dh, T* q, T* k, T* v) {
  for (int e = threadIdx.x; e < Tn * dh; e += blockDim.x) {
    const int i = e / dh, c = e % dh;
    q[e] = base[i * row + c];
    k[e] = base[i * row + D + c];
    v[e] = base[i * row + 2 * D + c];
  }
}

template <class T>
__global__ void fused_forward(const T* qkv, T* out, T* probs, int Tn, int H, int dh, int D, T scale) {
  extern __shared__ __align__(16) unsigned char smem[];
  T* q = reinterpret_cast<T*>(smem);
  T* k = q + Tn * dh;
  T* v = k + Tn * dh;
  T* p = v + Tn * dh;
  const int bh = blockIdx.x, b = bh / H, h = bh % H;
  const int64_t row = 3 * int64_t(D);
  const T* base = qkv + int64_t(b) * Tn * row + int64_t(h) * dh;
  load_head(base, row, D, Tn, dh, q, k, v);
  __syncthreads();
  for (int e = threadIdx.x; e < Tn * Tn; e += blockDim.x) {
    const int i = e / Tn, j = e % Tn;
    T s = 0;
    for (int c = 0; c < dh; ++c) s += q[i * dh + c] * k[j * dh + c];
    p[e] = s * scale;
  }
  __syncthreads();
  for (int i = threadIdx.x; i < Tn; i += blockDim.x) {
    T* pi = p + i * Tn;
    T mx = pi[0];
    for (int j = 1; j < Tn; ++j) mx = max(mx, pi[j]);
    T sum = 0;
    for (int j = 0; j < Tn; ++j) {
      pi[j] = exp(pi[j] - mx);
      sum += pi[j];
    }
    const T inv = T(1) / sum;
    for (int j = 0; j < Tn; ++j) pi[j] *= inv;
  }
  __syncthreads();
  T* P = probs + int64_t(bh) * Tn * Tn;
  for (int e = threadIdx.x; e < Tn * Tn; e += blockDim.x) P[e] = p[e];
  for (int e = threadIdx.x; e < Tn * dh; e += blockDim.x) {
    const int i = e / dh, c = e % dh;
    T o = 0;
    for (int j = 0; j < Tn; ++j) o += p[i * Tn + j] * v[j * dh + c];
    out[(int64_t(b) * Tn + i) * D + int64_t(h) * dh + c] = o;
  }
}

template <class T>
__global__ void fused_backward(const T* qkv, const T* probs, const T* dout, T* dqkv, int Tn, int H, int dh, int D,
                               T scale) {
  extern __shared__ __align__(16) unsigned char smem[];
  T* q = reinterpret_cast<T*>(smem);
  T* k = q + Tn * dh;
  T* v = k + Tn * dh;
  T* go = v + Tn * dh;
  T* p = go + Tn * dh;
  T* ds = p + Tn * Tn;
  const int bh = blockIdx.x, b = bh / H, h = bh % H;
  const int64_t row = 3 * int64_t(D);
  const T* base = qkv + int64_t(b) * Tn * row + int64_t(h) * dh;
  load_head(base, row, D, Tn, dh, q, k, v);
  for (int e = threadIdx.x; e < Tn * dh; e += blockDim.x)
    go[e] = dout[(int64_t(b) * Tn + e / dh) * D + int64_t(h) * dh + e % dh];
  const T* P = probs + int64_t(bh) * Tn * Tn;
  for (int e = threadIdx.x; e < Tn * Tn; e += blockDim.x) p[e] = P[e];
  __syncthreads();
  for (int e = threadIdx.x; e < Tn * Tn; e += blockDim.x) {  // dP = dO V^T
    const int i = e / Tn, j = e % Tn;
    T s = 0;
    for (int c = 0; c < dh; ++c) s += go[i * dh + c] * v[j * dh + c];
    ds[e] = s;
  }
  __syncthreads();
  for (int i = threadIdx.x; i < Tn; i += blockDim.x) {  // dS = P (dP - rowsum(P dP)) * scale
    T dot = 0;
    for (int j = 0; j < Tn; ++j) dot += p[i * Tn + j] * ds[i * Tn + j];
    for (int j = 0; j < Tn; ++j) ds[i * Tn + j] = p[i * Tn + j] * (ds[i * Tn + j] - dot) * scale;
  }
  __syncthreads();
  T* dbase = dqkv + int64_t(b) * Tn * row + int64_t(h) * dh;
  for (int e = threadIdx.x; e < Tn * dh; e += blockDim.x) {
    const int i = e / dh, c = e % dh;
    T dq = 0, dk = 0, dv = 0;
    for (int j = 0; j < Tn; ++j) {
      dq += ds[i * Tn + j] * k[j * dh + c];   // dQ = dS K
      dk += ds[j * Tn + i] * q[j * dh + c];   // dK = dS^T Q
      dv += p[j * Tn + i] * go[j * dh + c];   // dV = P^T dO
    }
    dbase[i * row + c] = dq;
    dbase[i * row + D + c] = dk;
    dbase[i * row + 2 * D + c] = dv;
  }
}

// In-place softmax of `rows` rows of length n, one warp per row.
template <class T>
__global__ void softmax_rows(T* x, int64_t rows, int64_t n) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x >> 5);
  for (int64_t r = blockIdx.x * int64_t(blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warps) {
    T* xr = x + r * n;
    T mx = -INFINITY;
    for (int64_t j = lane; j < n; j += 32) mx = max(mx, xr[j]);
    mx = cuda::warp_max(mx);
    T sum = 0;
    for (int64_t j = lane; j < n; j += 32) {
      const T e = exp(xr[j] - mx);
      xr[j] = e;
      sum += e;
    }
    const T inv = T(1) / cuda::warp_sum(sum);
    for (int64_t j = lane; j < n; j += 32) xr[j] *= inv;
  }
}

// ds = p (ds - rowsum(p ds)) * scale, one warp per row.
template <class T>
__global__ void softmax_grad_rows(const T* p, T* ds, int64_t rows, int64_t n, T scale) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x >> 5);
  for (int64_t r = blockIdx.x * int64_t(blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warps) {
    const T* pr = p + r * n;
    T* dr = ds + r * n;
    T dot = 0;
    for (int64_t j = lane; j < n; j += 32) dot += pr[j] * dr[j];
    dot = cuda::warp_sum(dot);
    for (int64_t j = lane; j < n; j += 32) dr[j] = pr[j] * (dr[j] - dot) * scale;
  }
}

}  // namespace

void CudaBackend::attention_forward(const Tensor& qkv, int batch, int heads, Tensor& out, Tensor& probs) {
  bind();
  dispatch_real(qkv.dtype(), "attention_forward", [&](auto tag) {
    using T = decltype(tag);
    const Dims d = dims_of(qkv, batch, heads, "attention_forward");
    expect_device_tensor(qkv, qkv.dtype(), qkv.shape(), "attention_forward", "qkv");
    expect_device_tensor(out, qkv.dtype(), {d.B * d.T, d.D}, "attention_forward", "out");
    expect_device_tensor(probs, qkv.dtype(), {d.B, d.H, d.T, d.T}, "attention_forward", "probs");
    const T scale = T(1) / std::sqrt(T(d.dh));
    const size_t smem = size_t(fused_forward_elems(d)) * sizeof(T);
    if (fused_fits(reinterpret_cast<const void*>(&fused_forward<T>), d.T, smem, options_.device)) {
      fused_forward<T><<<unsigned(d.B * d.H), kFusedThreads, smem, stream()>>>(
          qkv.data<T>(), out.data<T>(), probs.data<T>(), int(d.T), int(d.H), int(d.dh), int(d.D), scale);
      cuda::check_launch("attention_forward (fused)");
      return;
    }
    const T* Q = qkv.data<T>();
    T* P = probs.data<T>();
    for (int64_t h = 0; h < d.H; ++h)  // S = scale Q K^T, batched over sequences
      gemm<T>(false, true, d.T, d.T, d.dh, scale, Q + h * d.dh, d.row, d.T * d.row, Q + d.D + h * d.dh, d.row,
              d.T * d.row, T(0), P + h * d.T * d.T, d.T, d.H * d.T * d.T, d.B, false, "attention_forward (QK)");
    const int64_t rows = d.B * d.H * d.T;
    softmax_rows<<<blocks_for(rows, 8), 256, 0, stream()>>>(P, rows, d.T);
    cuda::check_launch("attention_forward (softmax)");
    for (int64_t h = 0; h < d.H; ++h)  // O = P V
      gemm<T>(false, false, d.T, d.dh, d.T, T(1), P + h * d.T * d.T, d.T, d.H * d.T * d.T, Q + 2 * d.D + h * d.dh,
              d.row, d.T * d.row, T(0), out.data<T>() + h * d.dh, d.D, d.T * d.D, d.B, false,
              "attention_forward (PV)");
  });
}

void CudaBackend::attention_backward(const Tensor& qkv, const Tensor& probs, const Tensor& dout, int batch, int heads,
                                     Tensor& dqkv) {
  bind();
  dispatch_real(qkv.dtype(), "attention_backward", [&](auto tag) {
    using T = decltype(tag);
    const Dims d = dims_of(qkv, batch, heads, "attention_backward");
    expect_device_tensor(qkv, qkv.dtype(), qkv.shape(), "attention_backward", "qkv");
    expect_device_tensor(probs, qkv.dtype(), {d.B, d.H, d.T, d.T}, "attention_backward", "probs");
    expect_device_tensor(dout, qkv.dtype(), {d.B * d.T, d.D}, "attention_backward", "dout");
    expect_device_tensor(dqkv, qkv.dtype(), qkv.shape(), "attention_backward", "dqkv");
    const T scale = T(1) / std::sqrt(T(d.dh));
    const size_t smem = size_t(fused_backward_elems(d)) * sizeof(T);
    if (fused_fits(reinterpret_cast<const void*>(&fused_backward<T>), d.T, smem, options_.device)) {
      fused_backward<T><<<unsigned(d.B * d.H), kFusedThreads, smem, stream()>>>(
          qkv.data<T>(), probs.data<T>(), dout.data<T>(), dqkv.data<T>(), int(d.T), int(d.H), int(d.dh), int(d.D),
          scale);
      cuda::check_launch("attention_backward (fused)");
      return;
    }
    const T* Q = qkv.data<T>();
    const T* P = probs.data<T>();
    const T* dO = dout.data<T>();
    T* dQ = dqkv.data<T>();
    const int64_t tt = d.T * d.T, s_tt = d.H * tt, s_seq = d.T * d.row, s_out = d.T * d.D;
    T* dS = static_cast<T*>(scratch(kAttentionGrad, size_t(d.B * s_tt) * sizeof(T)));
    for (int64_t h = 0; h < d.H; ++h) {
      const int64_t c = h * d.dh;
      // dP = dO V^T
      gemm<T>(false, true, d.T, d.T, d.dh, T(1), dO + c, d.D, s_out, Q + 2 * d.D + c, d.row, s_seq, T(0),
              dS + h * tt, d.T, s_tt, d.B, false, "attention_backward (dP)");
      // dV = P^T dO
      gemm<T>(true, false, d.T, d.dh, d.T, T(1), P + h * tt, d.T, s_tt, dO + c, d.D, s_out, T(0),
              dQ + 2 * d.D + c, d.row, s_seq, d.B, false, "attention_backward (dV)");
    }
    const int64_t rows = d.B * d.H * d.T;
    softmax_grad_rows<<<blocks_for(rows, 8), 256, 0, stream()>>>(P, dS, rows, d.T, scale);
    cuda::check_launch("attention_backward (softmax)");
    for (int64_t h = 0; h < d.H; ++h) {
      const int64_t c = h * d.dh;
      // dQ = dS K; dK = dS^T Q
      gemm<T>(false, false, d.T, d.dh, d.T, T(1), dS + h * tt, d.T, s_tt, Q + d.D + c, d.row, s_seq, T(0), dQ + c,
              d.row, s_seq, d.B, false, "attention_backward (dQ)");
      gemm<T>(true, false, d.T, d.dh, d.T, T(1), dS + h * tt, d.T, s_tt, Q + c, d.row, s_seq, T(0), dQ + d.D + c,
              d.row, s_seq, d.B, false, "attention_backward (dK)");
    }
  });
}

}  // namespace munet
