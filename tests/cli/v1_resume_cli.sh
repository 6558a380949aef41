#!/usr/bin/env bash
# A version-1 checkpoint (written by munet b76a228, before the configuration table) resumes and
# continues bit-identically to how that munet continued it. The fixture holds its checkpoint after
# 3 of 8 generations and the one it wrote at the end; the run's steps per validation (150 x 16)
# exceed an epoch of cmaterdb_devanagari, so the cap, which version 1 lacked, must stay off.
# Results depend on the CPU's vector width (-march=native), so the same munet first redoes the
# first 3 generations from scratch with version 1's behaviour: if that already differs from the
# fixture, this machine computes differently and the test is skipped, not failed.
# usage: v1_resume_cli.sh MUNET WORKDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fixture="$here/../fixtures/v1_checkpoint"
munet=$1
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
run=(evolve --tasks cmaterdb_devanagari,cmaterdb_bangla --task-iterations 2 --children-per-task 2
     --parallel-slots 1 --validations 1 --steps-per-validation 150 --batch-size 16 --layers 1 --hidden 32
     --mlp 64 --heads 2 --patch 8 --image-size 16 --max-image-size 32 --max-val-examples 100 --threads 2 --seed 3)
fail() { echo "FAILED: $*"; exit 1; }
# same A B: the state of two checkpoints, /tasks /progress /models /pool, values and attributes
# (/config and the root attributes name the version). What later versions added is left out: the
# /tasks columns of task files and stages, and the per-chunk checksums (values_xxh3,
# velocity_xxh3). Exit 0: identical; 1: values differ; 2: the structure differs (a test bug).
same() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import sys
import h5py
import numpy as np
LATER = {"source", "content_hash", "task_file", "task_copy", "stage", "joined_at", "values_xxh3",
         "velocity_xxh3", "train_seconds"}
def state(f):
    out = {}
    def visit(name, obj):
        if name.split("/")[-1] in LATER:
            return
        for k, v in obj.attrs.items():
            out[f"{obj.name}@{k}"] = v
        if isinstance(obj, h5py.Dataset):
            out[obj.name] = obj[()]
    for g in ("tasks", "progress", "models", "pool"):
        visit(g, f[g])
        f[g].visititems(lambda n, o: visit(n, o))
    return out
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    x, y = state(a), state(b)
    if set(x) != set(y):
        print("structure differs:", sorted(set(x) ^ set(y))[:8])
        sys.exit(2)
    bad = [k for k in x if not np.array_equal(np.asarray(x[k]), np.asarray(y[k]))]
    if bad:
        print("values differ:", bad[:8])
        sys.exit(1)
PY
}

# 1. Does this machine compute as the one that made the fixture? (version 1's behaviour: no cap)
"$munet" "${run[@]}" --epoch-cap false --output scratch --max-generations 3 > scratch.log
status=0
same scratch/checkpoints/ckpt-000003.h5 "$fixture/ckpt-000003.h5" || status=$?
((status != 2)) || fail "a checkpoint of this munet has objects the comparison does not know"
((status == 0)) || { echo "platform differs from the fixture's: skipped"; exit 0; }
echo "from scratch with --epoch-cap false: the fixture's first 3 generations, bit for bit"

# 2. Resume the version-1 checkpoint, options left out: they come from it, the new fields get
# their legacy values, and the run ends where munet b76a228 ended it.
mkdir -p resumed/checkpoints
cp "$fixture/ckpt-000003.h5" resumed/checkpoints/
"$munet" "${run[@]}" --output resumed > resumed.log
grep -q "resuming from resumed/checkpoints/ckpt-000003.h5: 3 of 8 generations done" resumed.log || fail "did not resume"
final=resumed/checkpoints/ckpt-000008.h5
same "$final" "$fixture/ckpt-000008.h5" || fail "the resumed version-1 run differs from munet b76a228's continuation"
echo "resumed version-1 checkpoint: identical to munet b76a228's continuation (h5diff /tasks /progress /models /pool)"
/usr/bin/python3 - "$final" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    c = f["config"].attrs
    assert int(f.attrs["format_version"]) == 4, "the continuation is written as version 4"
    assert list(f["tasks/stage"][()]) == [0, 0], "a version-1 run is one stage"
    assert int(c["epoch_cap"]) == 0 and c["baseline"] == "none" and c["mutate"] == "all" and abs(c["mu"] - 0.2) < 1e-12, dict(c)
print("its /config: version 4, one stage, epoch_cap 0, mutate all, mu 0.2, baseline none")
PY

# Options that contradict what the version-1 run did are refused, naming each.
if "$munet" "${run[@]}" --resume "$fixture/ckpt-000003.h5" --epoch-cap true --mu 0.1 > /dev/null 2> mismatch.err; then
  fail "a version-1 checkpoint resumed with the cap on"
fi
grep -q -- "--epoch-cap is true here, false in the checkpoint" mismatch.err || fail "mismatch message: $(cat mismatch.err)"
grep -q -- "--mu is 0.1 here, 0.2 in the checkpoint" mismatch.err || fail "mismatch message: $(cat mismatch.err)"

# 3. With the cap (the default for new runs) the same command is another run.
"$munet" "${run[@]}" --output capped --max-generations 3 > capped.log
if same capped/checkpoints/ckpt-000003.h5 "$fixture/ckpt-000003.h5"; then fail "the cap changed nothing"; fi
echo "v1 resume: all checks passed"
