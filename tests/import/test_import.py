"""munet import against independent reference forward passes, and its refusals of bad arrays.

usage: test_import.py MUNET WORKDIR logits          checkpoints in both layouts (npz F32;
                                                    safetensors F32, F16, BF16), Ti at 224 px,
                                                    one block of L, resized grids: munet's logits
                                                    (predict --logits) vs float64 numpy
       test_import.py MUNET WORKDIR bad CASE        one bad checkpoint: munet import must exit 1
                                                    naming the array, its shape and the expected one
       test_import.py MUNET WORKDIR cases           the bad-array case names, one a line
       test_import.py MUNET WORKDIR root-checkpoint writes WORKDIR/ti16.safetensors (Ti/16 shapes,
                                                    2 blocks, 224 px, BF16) for imported_root.sh

Real images: the cmaterdb_devanagari test split from MUNET_DATA (or ../shared/datasets).
"""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vit_checkpoints as vc  # noqa: E402

RTOL = 1e-4
EXAMPLES = 24


def run(munet, *args, expect_rc=0):
    p = subprocess.run([munet, *args], capture_output=True, text=True)
    if p.returncode != expect_rc:
        sys.exit(f"FAIL: munet {' '.join(args)} exited {p.returncode}, expected {expect_rc}\n{p.stdout}{p.stderr}")
    return p.stdout + p.stderr


def data_root():
    for d in [os.environ.get("MUNET_DATA", ""), "../shared/datasets", "../../shared/datasets"]:
        if d and os.path.isdir(os.path.join(d, "cmaterdb")):
            return d
    print("no dataset directory found: set MUNET_DATA")
    sys.exit(0)


def test_images():
    with np.load(os.path.join(data_root(), "cmaterdb/devanagari/testing-images.npz")) as f:
        return f["images"][:EXAMPLES], f["labels"][:EXAMPLES]


def compare(munet, work, name, path, reference, import_args, classes=10):
    """Imports `path`, runs predict --logits and compares with reference(images at size S)."""
    root = os.path.join(work, name + ".h5")
    logits_file = os.path.join(work, name + "_logits.npz")
    out = run(munet, "import", path, "--output", root, "--task", "cmaterdb_devanagari", *import_args)
    size = int(out.split("image size ")[1].split()[0])
    run(munet, "predict", root, "--max-examples", str(EXAMPLES), "--logits", logits_file, "--eval-batch-size", "8",
        "--threads", "2", "--data", data_root())
    images, labels = test_images()
    want = reference(vc.resize_bilinear_half_pixel(images, size))
    with np.load(logits_file) as f:
        got, got_labels = f["logits"], f["labels"]
    assert got.shape == (EXAMPLES, classes) and got.dtype == np.float32, (got.shape, got.dtype)
    assert (got_labels == labels).all(), "labels differ"
    err = np.abs(got - want).max() / np.abs(want).max()
    status = "ok" if err <= RTOL else "FAIL"
    print(f"{status}: {name}: {size} px, max |munet - reference| / max |reference| = {err:.2e} (limit {RTOL:g})")
    return err <= RTOL, root


def logits_tests(munet, work):
    rng = np.random.default_rng(14)
    ok = True
    # Ti/16 (hidden 192, 3 heads, MLP 768) at 224 px, 4 blocks in the file, the first 3 kept (vit_jax .npz).
    ti = vc.vit_jax_arrays(rng, 192, 3, 768, blocks=4, grid=14, classes=10)
    path = os.path.join(work, "ti16.npz")
    np.savez(path, **ti)
    good, _ = compare(munet, work, "ti16_npz_224", path, lambda x: vc.forward_vit_jax(ti, x, 3), ["--layers", "3"])
    ok &= good
    # The same weights through timm's layout, F32, 2 blocks, resized to 64 px from the 14x14 grid.
    timm = vc.timm_arrays(ti)
    path = os.path.join(work, "ti16_f32.safetensors")
    vc.write_safetensors(path, timm, "F32")
    good, root = compare(munet, work, "ti16_safetensors_f32_64", path, lambda x: vc.forward_timm(timm, x, 2, 3),
                         ["--layers", "2", "--image-size", "64"])
    ok &= good
    ok &= check_original_grid(root, 224, 64)
    # F16 and BF16: the reference runs on the values the file holds.
    for dtype in ("F16", "BF16"):
        path = os.path.join(work, f"ti16_{dtype}.safetensors")
        vc.write_safetensors(path, timm, dtype)
        held = {k: vc.stored(v, dtype) for k, v in timm.items()}
        good, _ = compare(munet, work, f"ti16_safetensors_{dtype.lower()}_32", path,
                          lambda x, held=held: vc.forward_timm(held, x, 1, 3), ["--layers", "1", "--image-size", "32"])
        ok &= good
    # One block of L/16 (hidden 1024, 16 heads, MLP 4096), 48 px grid resized to 32 px (vit_jax .npz).
    big = vc.vit_jax_arrays(rng, 1024, 16, 4096, blocks=1, grid=3, classes=10)
    path = os.path.join(work, "l16.npz")
    np.savez(path, **big)
    good, _ = compare(munet, work, "l16_npz_1block_32", path, lambda x: vc.forward_vit_jax(big, x, 1),
                      ["--image-size", "32"])
    ok &= good
    # A flax optimizer checkpoint: the model under "opt/target/", momentum beside it (ignored).
    s = vc.vit_jax_arrays(rng, 64, 2, 128, blocks=2, grid=4, classes=10)
    saved = {"opt/target/" + k: v for k, v in s.items()}
    saved.update({"opt/state/param_states/" + k + "/momentum": v for k, v in s.items()})
    path = os.path.join(work, "opt_target.npz")
    np.savez(path, **saved)
    good, _ = compare(munet, work, "opt_target_npz_64", path, lambda x: vc.forward_vit_jax(s, x, 2), [])
    ok &= good
    # --drop-head: a file without a head, which predict refuses.
    root = os.path.join(work, "headless.h5")
    run(munet, "import", os.path.join(work, "ti16.npz"), "--output", root, "--layers", "1", "--drop-head")
    import h5py
    with h5py.File(root, "r") as f:
        headless = "head" not in f["components"] and f.attrs["num_classes"] == 0 and "head" not in list(f.attrs["route"])
    print(("ok" if headless else "FAIL") + ": --drop-head writes no head")
    ok &= headless
    msg = run(munet, "predict", root, "--task", "cmaterdb_devanagari", "--data", data_root(), expect_rc=1)
    ok &= "has no head" in msg
    return ok


def check_original_grid(root, original, size):
    import h5py
    with h5py.File(root, "r") as f:
        name = f.attrs.get("original_posembed", "")
        name = name.decode() if isinstance(name, bytes) else name
        route = [r.decode() if isinstance(r, bytes) else r for r in f.attrs["route"]]
        good = (name == f"posembed_{original}" and name not in route and f"posembed_{size}" in route
                and f["components"][name].attrs["image_size"] == original
                and f["components"][name]["pos_embedding"].shape == (1 + (original // 16) ** 2, 192))
    print(("ok" if good else "FAIL") + f": the root keeps the {original} px grid ({name}) beside posembed_{size}")
    return good


# ---------------------------------------------------------------- bad arrays

def small(rng):
    return vc.vit_jax_arrays(rng, 64, 2, 128, blocks=2, grid=2, classes=10)


def bad_cases():
    """name -> (build(work) -> (path, extra import args), regex the error must match)."""
    rng = np.random.default_rng(7)
    j = small(rng)
    t = vc.timm_arrays(j)
    q = "Transformer/encoderblock_1/MultiHeadDotProductAttention_1/query/kernel"

    def npz(change):
        def build(work):
            a = dict(j)
            change(a)
            path = os.path.join(work, "bad.npz")
            np.savez(path, **a)
            return path, []
        return build

    def st(change, dtype="F32"):
        def build(work):
            a = dict(t)
            change(a)
            path = os.path.join(work, "bad.safetensors")
            vc.write_safetensors(path, a, dtype)
            return path, []
        return build

    def with_args(build, *args):
        def b(work):
            path, more = build(work)
            return path, more + list(args)
        return b

    def raw(header_json, data_len):
        def build(work):
            path = os.path.join(work, "bad.safetensors")
            with open(path, "wb") as f:
                f.write(len(header_json).to_bytes(8, "little") + header_json + bytes(data_len))
            return path, []
        return build

    return {
        "neither_npz_nor_safetensors": (lambda work: (os.path.abspath(__file__), []),  # this script
                                        r"neither a .npz \(zip\) nor a .safetensors file"),
        "safetensors_bad_json": (raw(b'{"cls_token": {"dtype": "F32", ', 16),
                                 r"the .safetensors header is not valid JSON"),
        "safetensors_offsets_outside": (raw(b'{"cls_token": {"dtype": "F32", "shape": [1, 1, 4], "data_offsets": [0, 16]}}', 8),
                                        r"tensor 'cls_token': data_offsets lie outside the file's 8 data bytes"),
        "missing_block_array": (npz(lambda a: a.pop("Transformer/encoderblock_1/MlpBlock_3/Dense_1/bias")),
                                r"array 'Transformer/encoderblock_1/MlpBlock_3/Dense_1/bias' is missing \(expected shape \[64\]\)"),
        "misshaped_query": (npz(lambda a: a.__setitem__(q, np.zeros((64, 2, 33), np.float32))),
                            rf"array '{q}' has shape \[64, 2, 33\], expected \[64, 2, 32\]"),
        "misshaped_mlp": (npz(lambda a: a.__setitem__("Transformer/encoderblock_0/MlpBlock_3/Dense_1/kernel",
                                                       np.zeros((100, 64), np.float32))),
                          r"'Transformer/encoderblock_0/MlpBlock_3/Dense_1/kernel' has shape \[100, 64\], expected \[128, 64\]"),
        "patch_kernel_rank": (npz(lambda a: a.__setitem__("embedding/kernel", np.zeros((16, 16, 3), np.float32))),
                              r"'embedding/kernel' has shape \[16, 16, 3\], expected \(patch, patch, 3, hidden\)"),
        "posembed_not_square": (npz(lambda a: a.__setitem__("Transformer/posembed_input/pos_embedding",
                                                            np.zeros((1, 6, 64), np.float32))),
                                r"'Transformer/posembed_input/pos_embedding' has shape \[1, 6, 64\], expected \(1, 1 \+ grid \* grid, 64\)"),
        "posembed_without_class_row": (st(lambda a: a.__setitem__("pos_embed", np.zeros((1, 4, 64), np.float32))),
                                       r"'pos_embed' has shape \[1, 4, 64\], expected \(1, 1 \+ grid \* grid, 64\)"),
        "cls_misshaped": (npz(lambda a: a.__setitem__("cls", np.zeros((1, 64), np.float32))),
                          r"array 'cls' has shape \[1, 64\], expected \[1, 1, 64\]"),
        "missing_head": (npz(lambda a: (a.pop("head/kernel"), a.pop("head/bias"))),
                         r"array 'head/kernel' is missing \(expected shape \(hidden, classes\)\); give --drop-head"),
        "missing_encoder_norm": (st(lambda a: a.pop("norm.bias")), r"array 'norm.bias' is missing \(expected shape \[64\]\)"),
        "timm_qkv_misshaped": (st(lambda a: a.__setitem__("blocks.1.attn.qkv.weight", np.zeros((64, 192), np.float32))),
                               r"array 'blocks.1.attn.qkv.weight' has shape \[64, 192\], expected \[192, 64\]"),
        "timm_qkv_bias_missing": (st(lambda a: a.pop("blocks.0.attn.qkv.bias")),
                                  r"array 'blocks.0.attn.qkv.bias' is missing \(expected shape \[192\]\)"),
        "unexpected_array": (npz(lambda a: a.__setitem__("pre_logits/kernel", np.zeros((64, 64), np.float32))),
                             r"1 array that a vit_jax ViT .* does not have: 'pre_logits/kernel' \[64, 64\]"),
        "block_gap": (npz(lambda a: [a.__setitem__(k.replace("encoderblock_1", "encoderblock_3"), a.pop(k))
                                     for k in [k for k in list(a) if "encoderblock_1/" in k]]),
                      r"encoder blocks must be numbered from 0 without gaps \(block 3 is present, block 1 is not\)"),
        "integer_dtype_npz": (npz(lambda a: a.__setitem__("embedding/bias", np.zeros(64, np.int64))),
                              r"array 'embedding/bias'.*dtype '<i8'.*float"),
        "integer_dtype_safetensors": (st(lambda a: None, "I32"),
                                      r"tensor 'patch_embed.proj.weight' has dtype I32, expected a float type"),
        "not_a_checkpoint": (npz(lambda a: [a.pop(k) for k in ["embedding/kernel"]]),
                             r"is not a ViT checkpoint munet knows: no array 'embedding/kernel'"),
        "too_many_layers": (with_args(npz(lambda a: None), "--layers", "3"), r"--layers 3: .* has only 2 encoder blocks"),
        "image_size_not_multiple": (with_args(npz(lambda a: None), "--image-size", "40"),
                                    r"--image-size 40 is not a multiple of the checkpoint's patch size 16"),
    }


def bad_test(munet, work, case):
    import re
    build, pattern = bad_cases()[case]
    path, args = build(work)
    msg = run(munet, "import", path, "--output", os.path.join(work, "bad.h5"), *args, expect_rc=1)
    good = re.search(pattern, msg) is not None and not os.path.exists(os.path.join(work, "bad.h5"))
    print(("ok" if good else "FAIL") + f": {case}: {msg.strip()}")
    return good


def main():
    munet, work, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(work, exist_ok=True)
    if mode == "cases":
        print("\n".join(bad_cases()))
        return 0
    if mode == "root-checkpoint":  # a Ti/16-shaped timm file (2 blocks, 224 px, 1000 classes) for the CLI test
        a = vc.timm_arrays(vc.vit_jax_arrays(np.random.default_rng(3), 192, 3, 768, blocks=2, grid=14, classes=1000))
        vc.write_safetensors(os.path.join(work, "ti16.safetensors"), a, "BF16")
        return 0
    if mode == "bad":
        return 0 if bad_test(munet, work, sys.argv[4]) else 1
    ok = logits_tests(munet, work)
    print("all logits agree" if ok else "FAIL: logits differ")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
