#!/usr/bin/python3
"""PyTorch peer of munet's training-step throughput benchmark.

Times full SGD training steps (forward, backward, clip, momentum update) of a ViT built exactly like
munet's, on one fixed random batch, so that munet's CPU speed can be stated as a ratio to PyTorch's.
Run with Debian's interpreter (/usr/bin/python3), which has python3-torch; see ensure_torch.sh.
"""
import argparse
import math
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    a = p.parse_args()
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

    def __init__(self, hidden, mlp, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(hidden, eps=LN_EPS)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.ln2 = nn.LayerNorm(hidden, eps=LN_EPS)
        self.fc1 = nn.Linear(hidden, mlp)
        self.fc2 = nn.Linear(mlp, hidden)

    def forward(self, x):
        b, t, h = x.shape
        d = h // self.heads
        qkv = self.qkv(self.ln1(x)).reshape(b, t, 3, self.heads, d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # each [b, heads, t, d]
        attn = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d), dim=-1)
        y = (attn @ v).transpose(1, 2).reshape(b, t, h)
        x = x + self.out(y)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


class ViT(nn.Module):
    """Patch embedding, class token, position embedding, encoder, encoder_norm, zero-init head."""

    def __init__(self, image_size, patch, hidden, mlp, heads, layers, classes):
        super().__init__()
        tokens = (image_size // patch) ** 2 + 1
        self.embedding = nn.Conv2d(3, hidden, kernel_size=patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, hidden))
        self.pos_embedding = nn.Parameter(torch.randn(1, tokens, hidden) * 0.02)
        self.blocks = nn.ModuleList(EncoderBlock(hidden, mlp, heads) for _ in range(layers))
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


def main(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = ViT(a.image_size, a.patch, a.hidden, a.mlp, a.heads, a.layers, a.classes)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    images = torch.rand(a.batch, 3, a.image_size, a.image_size) * 2 - 1
    labels = torch.randint(0, a.classes, (a.batch,))

    def step():
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    for _ in range(a.warmup):
        step()
    start = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    elapsed = time.perf_counter() - start
    if not math.isfinite(loss.item()):
        sys.exit(f"error: loss became {loss.item()} — the benchmark model diverged")

    print(f"torch_version {torch.__version__}")
    print(f"torch_threads {torch.get_num_threads()}")
    print(f"torch_blas {os.path.realpath('/usr/lib/x86_64-linux-gnu/libblas.so.3')}")
    print(f"torch_step_ms {1000 * elapsed / a.steps:.3f}")
    print(f"torch_images_per_second {a.batch * a.steps / elapsed:.1f}")


if __name__ == "__main__":
    main(ARGS)
