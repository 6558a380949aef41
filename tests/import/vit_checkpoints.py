"""Pretrained-ViT checkpoints written from scratch, and an independent float64 forward pass.

Random ViT weights are kept in the vit_jax / big_vision layout (the AugReg .npz names and
shapes); `timm_arrays` turns them into timm's names and PyTorch shapes. Each layout has its own
reference forward pass, written in that framework's own conventions (flax: NHWC conv kernel
[p, p, 3, D], per-head query/key/value kernels [D, heads, D/heads]; timm: conv weight
[D, 3, p, p], Linear weights [out, in], the fused qkv rows split as (3, heads, D/heads)), with the
tanh GELU and LayerNorm epsilon 1e-6. Nothing here uses munet's code or conventions, so a
disagreement with munet's logits is a conversion or forward bug in munet.
"""
import json
import struct

import numpy as np

LN_EPS = 1e-6


# ---------------------------------------------------------------- random weights (vit_jax layout)

def vit_jax_arrays(rng, hidden, heads, mlp, blocks, grid, classes, patch=16):
    D, H, dh, M = hidden, heads, hidden // heads, mlp

    def normal(shape, scale):
        return rng.normal(0.0, scale, size=shape)

    a = {
        "embedding/kernel": normal((patch, patch, 3, D), 1.0 / np.sqrt(patch * patch * 3)),
        "embedding/bias": normal((D,), 0.1),
        "cls": normal((1, 1, D), 0.5),
        "Transformer/posembed_input/pos_embedding": normal((1, 1 + grid * grid, D), 0.5),
        "Transformer/encoder_norm/scale": 1.0 + normal((D,), 0.1),
        "Transformer/encoder_norm/bias": normal((D,), 0.1),
        "head/kernel": normal((D, classes), 1.0 / np.sqrt(D)),
        "head/bias": normal((classes,), 0.1),
    }
    for i in range(blocks):
        b = f"Transformer/encoderblock_{i}/"
        attn = b + "MultiHeadDotProductAttention_1/"
        a[b + "LayerNorm_0/scale"] = 1.0 + normal((D,), 0.1)
        a[b + "LayerNorm_0/bias"] = normal((D,), 0.1)
        for part in ("query", "key", "value"):
            a[attn + part + "/kernel"] = normal((D, H, dh), 1.0 / np.sqrt(D))
            a[attn + part + "/bias"] = normal((H, dh), 0.1)
        a[attn + "out/kernel"] = normal((H, dh, D), 1.0 / np.sqrt(D))
        a[attn + "out/bias"] = normal((D,), 0.1)
        a[b + "LayerNorm_2/scale"] = 1.0 + normal((D,), 0.1)
        a[b + "LayerNorm_2/bias"] = normal((D,), 0.1)
        a[b + "MlpBlock_3/Dense_0/kernel"] = normal((D, M), 1.0 / np.sqrt(D))
        a[b + "MlpBlock_3/Dense_0/bias"] = normal((M,), 0.1)
        a[b + "MlpBlock_3/Dense_1/kernel"] = normal((M, D), 1.0 / np.sqrt(M))
        a[b + "MlpBlock_3/Dense_1/bias"] = normal((D,), 0.1)
    return {k: v.astype(np.float32) for k, v in a.items()}


def timm_arrays(j):
    """The same weights under timm's names and PyTorch shapes."""
    t = {
        "patch_embed.proj.weight": j["embedding/kernel"].transpose(3, 2, 0, 1),  # [D, 3, p, p]
        "patch_embed.proj.bias": j["embedding/bias"],
        "cls_token": j["cls"],
        "pos_embed": j["Transformer/posembed_input/pos_embedding"],
        "norm.weight": j["Transformer/encoder_norm/scale"],
        "norm.bias": j["Transformer/encoder_norm/bias"],
        "head.weight": j["head/kernel"].T,
        "head.bias": j["head/bias"],
    }
    i = 0
    while f"Transformer/encoderblock_{i}/LayerNorm_0/scale" in j:
        b, o = f"Transformer/encoderblock_{i}/", f"blocks.{i}."
        attn = b + "MultiHeadDotProductAttention_1/"
        D = j[b + "LayerNorm_0/scale"].shape[0]
        t[o + "norm1.weight"] = j[b + "LayerNorm_0/scale"]
        t[o + "norm1.bias"] = j[b + "LayerNorm_0/bias"]
        t[o + "attn.qkv.weight"] = np.concatenate(
            [j[attn + p + "/kernel"].reshape(D, D).T for p in ("query", "key", "value")], axis=0)
        t[o + "attn.qkv.bias"] = np.concatenate([j[attn + p + "/bias"].reshape(D) for p in ("query", "key", "value")])
        t[o + "attn.proj.weight"] = j[attn + "out/kernel"].reshape(D, D).T
        t[o + "attn.proj.bias"] = j[attn + "out/bias"]
        t[o + "norm2.weight"] = j[b + "LayerNorm_2/scale"]
        t[o + "norm2.bias"] = j[b + "LayerNorm_2/bias"]
        t[o + "mlp.fc1.weight"] = j[b + "MlpBlock_3/Dense_0/kernel"].T
        t[o + "mlp.fc1.bias"] = j[b + "MlpBlock_3/Dense_0/bias"]
        t[o + "mlp.fc2.weight"] = j[b + "MlpBlock_3/Dense_1/kernel"].T
        t[o + "mlp.fc2.bias"] = j[b + "MlpBlock_3/Dense_1/bias"]
        i += 1
    return {k: np.ascontiguousarray(v) for k, v in t.items()}


# ---------------------------------------------------------------- file writers

def to_bf16_bits(x):
    """float32 -> bfloat16 bits, round to nearest even."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


def from_bf16_bits(b):
    return (b.astype(np.uint32) << 16).view(np.float32)


def stored(x, dtype):
    """The float32 values a checkpoint of `dtype` holds for x."""
    if dtype == "F16":
        return x.astype(np.float16).astype(np.float32)
    if dtype == "BF16":
        return from_bf16_bits(to_bf16_bits(x))
    return x.astype(np.float32)


def write_safetensors(path, arrays, dtype="F32", header_extra=None):
    """The safetensors format by hand: u64 LE header length, JSON header, raw LE data."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, x in arrays.items():
        if dtype == "F16":
            raw = x.astype("<f2").tobytes()
        elif dtype == "BF16":
            raw = to_bf16_bits(x).astype("<u2").tobytes()
        elif dtype == "F32":
            raw = x.astype("<f4").tobytes()
        else:  # an integer dtype, for the bad-dtype test
            raw = x.astype("<i4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(x.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if header_extra:
        header.update(header_extra)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


# ---------------------------------------------------------------- images as munet feeds them

def resize_bilinear_half_pixel(images, size):
    """[N, h, w, C] uint8 -> [N, size, size, C] float64 in [-1, 1]: bilinear, half-pixel centres
    (TF's resize, what munet's evaluation does), then v / 127.5 - 1."""
    def taps(n_in):
        x = (np.arange(size) + 0.5) * (n_in / size) - 0.5
        f = np.floor(x)
        lo = np.clip(f, 0, n_in - 1).astype(int)
        hi = np.clip(f + 1, 0, n_in - 1).astype(int)
        return lo, hi, x - f
    img = images.astype(np.float64)
    ylo, yhi, wy = taps(img.shape[1])
    xlo, xhi, wx = taps(img.shape[2])
    rows = img[:, ylo] + (img[:, yhi] - img[:, ylo]) * wy[None, :, None, None]
    out = rows[:, :, xlo] + (rows[:, :, xhi] - rows[:, :, xlo]) * wx[None, None, :, None]
    return out / 127.5 - 1.0


def zoom_order1(grid, new):
    """scipy.ndimage.zoom(grid, (new/g, new/g, 1), order=1) for a [g, g, D] grid."""
    g = grid.shape[0]
    x = np.arange(new) * ((g - 1) / (new - 1)) if new > 1 else np.zeros(1)
    lo = np.floor(x).astype(int)
    hi = np.minimum(lo + 1, g - 1)
    w = x - lo
    rows = grid[lo] + (grid[hi] - grid[lo]) * w[:, None, None]
    return rows[:, lo] + (rows[:, hi] - rows[:, lo]) * w[None, :, None]


def resize_posemb(pos, new_grid):
    """[1, 1 + g*g, D] -> [1, 1 + n*n, D]: class-token row kept, grid zoomed (the reference)."""
    tok, grid = pos[:, :1], pos[0, 1:]
    g = int(round(np.sqrt(grid.shape[0])))
    grid = zoom_order1(grid.reshape(g, g, -1), new_grid).reshape(1, new_grid * new_grid, -1)
    return np.concatenate([tok, grid], axis=1)


# ---------------------------------------------------------------- reference forward passes (float64)

def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def layernorm(x, scale, bias):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + LN_EPS) * scale + bias


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def forward_vit_jax(p, images, layers):
    """flax's ViT (vit_jax models_vit.VisionTransformer, classifier='token') in float64."""
    p = {k: v.astype(np.float64) for k, v in p.items()}
    k = p["embedding/kernel"]
    ps = k.shape[0]
    N, S = images.shape[0], images.shape[1]
    g = S // ps
    # nn.Conv with kernel [ps, ps, 3, D], stride ps, VALID, NHWC.
    patches = images.reshape(N, g, ps, g, ps, 3)
    x = np.einsum("nyhxwc,hwcd->nyxd", patches, k).reshape(N, g * g, -1) + p["embedding/bias"]
    cls = np.broadcast_to(p["cls"], (N, 1, x.shape[-1]))
    x = np.concatenate([cls, x], axis=1)
    pos = p["Transformer/posembed_input/pos_embedding"]
    if pos.shape[1] != x.shape[1]:
        pos = resize_posemb(pos, g)
    x = x + pos
    for i in range(layers):
        b = f"Transformer/encoderblock_{i}/"
        a = b + "MultiHeadDotProductAttention_1/"
        y = layernorm(x, p[b + "LayerNorm_0/scale"], p[b + "LayerNorm_0/bias"])
        q = np.einsum("ntd,dhk->nthk", y, p[a + "query/kernel"]) + p[a + "query/bias"]
        kk = np.einsum("ntd,dhk->nthk", y, p[a + "key/kernel"]) + p[a + "key/bias"]
        v = np.einsum("ntd,dhk->nthk", y, p[a + "value/kernel"]) + p[a + "value/bias"]
        att = softmax(np.einsum("nqhk,nshk->nhqs", q, kk) / np.sqrt(q.shape[-1]))
        o = np.einsum("nhqs,nshk->nqhk", att, v)
        x = x + np.einsum("nqhk,hkd->nqd", o, p[a + "out/kernel"]) + p[a + "out/bias"]
        y = layernorm(x, p[b + "LayerNorm_2/scale"], p[b + "LayerNorm_2/bias"])
        h = gelu_tanh(y @ p[b + "MlpBlock_3/Dense_0/kernel"] + p[b + "MlpBlock_3/Dense_0/bias"])
        x = x + h @ p[b + "MlpBlock_3/Dense_1/kernel"] + p[b + "MlpBlock_3/Dense_1/bias"]
    x = layernorm(x, p["Transformer/encoder_norm/scale"], p["Transformer/encoder_norm/bias"])
    return x[:, 0] @ p["head/kernel"] + p["head/bias"]


def forward_timm(p, images, layers, heads):
    """timm's VisionTransformer (class token, pre-norm blocks), with the tanh GELU, in float64."""
    p = {k: v.astype(np.float64) for k, v in p.items()}
    w = p["patch_embed.proj.weight"]  # [D, 3, ps, ps], applied to NCHW images
    D, ps = w.shape[0], w.shape[2]
    nchw = images.transpose(0, 3, 1, 2)
    N, S = nchw.shape[0], nchw.shape[2]
    g = S // ps
    patches = nchw.reshape(N, 3, g, ps, g, ps)
    x = np.einsum("ncyhxw,dchw->nyxd", patches, w).reshape(N, g * g, D) + p["patch_embed.proj.bias"]
    x = np.concatenate([np.broadcast_to(p["cls_token"], (N, 1, D)), x], axis=1)
    pos = p["pos_embed"]
    if pos.shape[1] != x.shape[1]:
        pos = resize_posemb(pos, g)
    x = x + pos
    T, dh = x.shape[1], D // heads
    for i in range(layers):
        b = f"blocks.{i}."
        y = layernorm(x, p[b + "norm1.weight"], p[b + "norm1.bias"])
        qkv = (y @ p[b + "attn.qkv.weight"].T + p[b + "attn.qkv.bias"]).reshape(N, T, 3, heads, dh)
        q, k, v = qkv.transpose(2, 0, 3, 1, 4)  # [N, heads, T, dh] each
        att = softmax(q @ k.transpose(0, 1, 3, 2) / np.sqrt(dh))
        o = (att @ v).transpose(0, 2, 1, 3).reshape(N, T, D)
        x = x + o @ p[b + "attn.proj.weight"].T + p[b + "attn.proj.bias"]
        y = layernorm(x, p[b + "norm2.weight"], p[b + "norm2.bias"])
        h = gelu_tanh(y @ p[b + "mlp.fc1.weight"].T + p[b + "mlp.fc1.bias"])
        x = x + h @ p[b + "mlp.fc2.weight"].T + p[b + "mlp.fc2.bias"]
    x = layernorm(x, p["norm.weight"], p["norm.bias"])
    return x[:, 0] @ p["head.weight"].T + p["head.bias"]
