#!/usr/bin/env bash
# An imported root in use: a timm-layout Ti/16 checkpoint (BF16, 2 blocks, 224 px) imported at
# 32 px with one block and no head; `munet evolve --root` on two tasks runs to the end, keeps the
# root's original 224 px position embedding in its pool and resumes; `munet train --root` fine-tunes it
# at 48 px (the embedding resized from the original grid) and saves a model file that still
# carries the original grid.
# usage: imported_root.sh MUNET WORKDIR PYTHON
set -euo pipefail
munet=$1 work=$2 python=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
if [[ -z ${MUNET_DATA:-} ]]; then
  for d in ../shared/datasets ../../shared/datasets; do [[ -d $d/cmaterdb ]] && export MUNET_DATA=$d && break; done
fi
[[ -n ${MUNET_DATA:-} && -d ${MUNET_DATA}/cmaterdb ]] || { echo "no dataset directory found"; exit 0; }

"$python" "$here/test_import.py" "$munet" "$work" root-checkpoint
"$munet" import "$work/ti16.safetensors" --output "$work/root.h5" --layers 1 --image-size 32 --drop-head
# Seed 2 draws a 48 px image size: that child's embedding is resized from the 224 px grid.
evolve=(evolve --root "$work/root.h5" --tasks cmaterdb_devanagari,cmaterdb_bangla --task-iterations 1
        --children-per-task 4 --parallel-slots 2 --validations 1 --steps-per-validation 2 --batch-size 8
        --max-val-examples 50 --max-image-size 48 --seed 2 --output "$work/run")
"$munet" "${evolve[@]}" --genealogy "$work/genealogy.csv" | tee "$work/evolve.log"
grep -q "^root: $work/root.h5" "$work/evolve.log"
grep -q "final:" "$work/evolve.log"
grep -q "resize posembed_224->posembed_48" "$work/genealogy.csv"
# The same command again resumes from the last checkpoint (the pool with the original grid reads back).
"$munet" "${evolve[@]}" | tee "$work/resume.log"
grep -q "resuming from .*ckpt-000004.h5: 4 of 4 generations done" "$work/resume.log"
grep -q "final:" "$work/resume.log"
ckpt=$(ls "$work"/run/checkpoints/ckpt-*.h5 | tail -1)
"$python" - "$ckpt" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    names = [n.decode() if isinstance(n, bytes) else n for n in f["pool/index/name"][:]]
    owners = list(f["pool/index/owner"][:])
    kept = [o for n, o in zip(names, owners) if n == "posembed_224"]
    assert kept == [-1], f"the root's original grid is not kept in the pool: {list(zip(names, owners))}"
    print("ok: the pool keeps the root's posembed_224 (owner root) after the run")
PY
"$munet" train --root "$work/root.h5" --task cmaterdb_devanagari --steps 4 --validations 1 --batch-size 16 \
  --image-size 48 --max-val-examples 100 --save "$work/tuned.h5" | tee "$work/train.log"
grep -q "model: ViT patch 16, hidden 192, MLP 768, 3 heads, 1 layers, 48x48" "$work/train.log"
grep -q "test_accuracy 0\.[0-9]*" "$work/train.log"
"$python" - "$work/tuned.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    route = [r.decode() if isinstance(r, bytes) else r for r in f.attrs["route"]]
    orig = f.attrs["original_posembed"]
    orig = orig.decode() if isinstance(orig, bytes) else orig
    assert "posembed_48" in route and orig == "posembed_224" and "head" in route, (route, orig)
    print("ok: the fine-tuned model runs at 48 px and keeps the 224 px grid")
PY
echo "imported root: evolve and train ran to the end"
