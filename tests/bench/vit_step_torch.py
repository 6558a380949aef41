#!/usr/bin/python3
"""PyTorch peer of munet's training-step throughput benchmark.

Times full SGD training steps (forward, mean cross-entropy, backward, global-norm clipping to 1.0,
SGD momentum 0.9 update at lr 0.01, gradients cleared) of a ViT built exactly like munet's, on one
fixed random batch, in eager mode, so that munet's speed can be stated as a ratio to PyTorch's.

--device cpu: Debian's interpreter (/usr/bin/python3) with python3-torch; see ensure_torch.sh.
--device cuda[:N]: any Python whose torch has CUDA. Precisions, as munet's CUDA backend:
  fp32  fp32 GEMMs and convolutions (TF32 off for cuBLAS and cuDNN)
  tf32  TF32 GEMMs and convolutions
  bf16  torch.autocast(cuda, bfloat16) with fp32 master weights (no grad scaler: bf16 needs none);
        --bf16-attention tf32 runs the two attention matmuls outside autocast in tf32 (as munet
        does), the default lets autocast run them in bf16 (plain PyTorch AMP)
Timing: warm-up steps, then torch.cuda.synchronize() before reading the clock at both ends.
Prints `key value` lines (torch_images_per_second, ...) that bench_train_step parses.
"""
import argparse
import contextlib
import math
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--precision", default=None, choices=["fp32", "tf32", "bf16"],
                   help="GEMM precision on cuda (default tf32); cpu is fp32 only")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--patch", type=int, default=16)
    p.add_argument("--hidden", type=int, default=192)
    p.add_argument("--mlp", type=int, default=768)
    p.add_argument("--heads", type=int, default=3)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    p.add_argument("--steps", type=int, default=30, help="timed steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--attention", default="manual", choices=["manual", "sdpa"],
                   help="manual: softmax(q k^T / sqrt(d)) v as munet computes it (default); "
                        "sdpa: F.scaled_dot_product_attention (torch >= 2.0, may use flash attention)")
    p.add_argument("--bf16-attention", default="autocast", choices=["autocast", "tf32"],
                   help="with --precision bf16: attention matmuls under autocast (bf16) or in tf32 as munet")
    a = p.parse_args()
    if a.device != "cpu" and a.device != "cuda" and not (
            a.device.startswith("cuda:") and a.device[5:].isdigit()):
        p.error(f"--device {a.device}: expected cpu, cuda or cuda:N")
    if a.precision is None:
        a.precision = "fp32" if a.device == "cpu" else "tf32"
    if a.device == "cpu" and a.precision != "fp32":
        p.error(f"--precision {a.precision} applies to --device cuda; cpu is fp32 only")
    if a.image_size % a.patch:
        p.error("--image-size must be a multiple of --patch")
    if a.hidden % a.heads:
        p.error("--hidden must be a multiple of --heads")
    if a.threads < 1 or a.steps < 1 or a.warmup < 0:
        p.error("need --threads >= 1, --steps >= 1, --warmup >= 0")
    return a


ARGS = parse_args()
# The thread pools read these when torch is loaded, so they are set before the import.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import torch  # noqa: E402  (after the thread settings above)
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

LN_EPS = 1e-6


class EncoderBlock(nn.Module):
    """Pre-LN block: x + Wo·MHSA(LN1(x)), then x + MLP(LN2(x)) with tanh-approximated GELU."""

    def __init__(self, hidden, mlp, heads, attention="manual", attention_fp32=False):
        super().__init__()
        self.heads = heads
        self.attention = attention
        self.attention_fp32 = attention_fp32  # run q k^T and p v outside autocast (tf32)
        self.ln1 = nn.LayerNorm(hidden, eps=LN_EPS)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.ln2 = nn.LayerNorm(hidden, eps=LN_EPS)
        self.fc1 = nn.Linear(hidden, mlp)
        self.fc2 = nn.Linear(mlp, hidden)

    def attend(self, q, k, v):
        if self.attention == "sdpa":
            return F.scaled_dot_product_attention(q, k, v)
        attn = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
        return attn @ v

    def forward(self, x):
        b, t, h = x.shape
        d = h // self.heads
        qkv = self.qkv(self.ln1(x)).reshape(b, t, 3, self.heads, d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # each [b, heads, t, d]
        if self.attention_fp32:
            with torch.autocast(device_type="cuda", enabled=False):
                y = self.attend(q.float(), k.float(), v.float())
        else:
            y = self.attend(q, k, v)
        y = y.transpose(1, 2).reshape(b, t, h)
        x = x + self.out(y)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


class ViT(nn.Module):
    """Patch embedding, class token, position embedding, encoder, encoder_norm, zero-init head."""

    def __init__(self, image_size, patch, hidden, mlp, heads, layers, classes, **block_args):
        super().__init__()
        tokens = (image_size // patch) ** 2 + 1
        self.embedding = nn.Conv2d(3, hidden, kernel_size=patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, hidden))
        self.pos_embedding = nn.Parameter(torch.randn(1, tokens, hidden) * 0.02)
        self.blocks = nn.ModuleList(EncoderBlock(hidden, mlp, heads, **block_args) for _ in range(layers))
        self.encoder_norm = nn.LayerNorm(hidden, eps=LN_EPS)
        self.head = nn.Linear(hidden, classes)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, images):
        x = self.embedding(images).flatten(2).transpose(1, 2)  # [B, patches, hidden]
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embedding
        for block in self.blocks:
            x = block(x)
        return self.head(self.encoder_norm(x[:, 0]))


def set_precision(a, cuda):
    """fp32: no TF32 anywhere; tf32 and bf16: TF32 for fp32 GEMMs/convolutions (in bf16 mode only
    the matmuls that autocast leaves in fp32, e.g. --bf16-attention tf32, use it)."""
    if not cuda:
        return
    tf32 = a.precision != "fp32"
    if hasattr(torch.backends.cuda.matmul, "fp32_precision"):  # torch >= 2.9; allow_tf32 is deprecated
        torch.backends.cuda.matmul.fp32_precision = "tf32" if tf32 else "ieee"
    else:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):
        conv.fp32_precision = "tf32" if tf32 else "ieee"
    else:
        torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True  # the patch-embedding convolution: fastest algorithm


def main(a):
    cuda = a.device != "cpu"
    if cuda and not torch.cuda.is_available():
        sys.exit(f"error: --device {a.device}: this torch ({torch.__version__}) sees no CUDA GPU")
    if a.attention == "sdpa" and not hasattr(F, "scaled_dot_product_attention"):
        sys.exit(f"error: --attention sdpa needs torch >= 2.0 (this is {torch.__version__})")
    device = torch.device(a.device)
    if cuda:
        torch.cuda.set_device(device)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    set_precision(a, cuda)
    bf16 = a.precision == "bf16"
    model = ViT(a.image_size, a.patch, a.hidden, a.mlp, a.heads, a.layers, a.classes,
                attention=a.attention, attention_fp32=bf16 and a.bf16_attention == "tf32").to(device)
    params = [p for p in model.parameters() if p.requires_grad]  # fp32 master weights
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    images = (torch.rand(a.batch, 3, a.image_size, a.image_size) * 2 - 1).to(device)
    labels = torch.randint(0, a.classes, (a.batch,)).to(device)

    def autocast():
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    def step():
        with autocast():
            logits = model(images)
        loss = F.cross_entropy(logits.float(), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    def sync():
        if cuda:
            torch.cuda.synchronize(device)

    for _ in range(a.warmup):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    sync()
    elapsed = time.perf_counter() - start
    if not math.isfinite(loss.item()):
        sys.exit(f"error: loss became {loss.item()} — the benchmark model diverged")

    print(f"torch_version {torch.__version__}")
    print(f"torch_device {a.device}" + (f" ({torch.cuda.get_device_name(device)})" if cuda else ""))
    print(f"torch_precision {a.precision}" + (f" (attention {a.bf16_attention})" if bf16 else ""))
    print(f"torch_attention {a.attention}")
    print(f"torch_threads {torch.get_num_threads()}")
    if cuda:
        print(f"torch_cuda {torch.version.cuda} cudnn {torch.backends.cudnn.version()}")
        print(f"torch_max_memory_gib {torch.cuda.max_memory_allocated(device) / 2**30:.2f}")
    else:
        print(f"torch_blas {os.path.realpath('/usr/lib/x86_64-linux-gnu/libblas.so.3')}")
    print(f"torch_final_loss {loss.item():.4f}")
    print(f"torch_step_ms {1000 * elapsed / a.steps:.3f}")
    print(f"torch_images_per_second {a.batch * a.steps / elapsed:.1f}")


if __name__ == "__main__":
    main(ARGS)
