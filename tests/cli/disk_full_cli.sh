#!/usr/bin/env bash
# A full disk loses nothing (issue 16). With a shim that fails writes with ENOSPC (LD_PRELOAD):
# a checkpoint write that fills the disk says so, removes its partial file, keeps the previous
# checkpoint (the run resumes from it) and exits 1, not 139; train --save checks the space before
# training and, when the write fails anyway, saves the trained model under $TMPDIR; export says
# so and leaves nothing behind. statvfs (faked by the shim, then a real tmpfs where mount works)
# refuses a write that cannot fit before it starts.
# usage: disk_full_cli.sh MUNET SHIM WORKDIR
set -uo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/expect.sh"  # fail, expect
munet=$1
shim=$2
work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
run=(evolve --tasks cmaterdb_devanagari,cmaterdb_bangla --task-iterations 1 --children-per-task 2 --parallel-slots 1
     --validations 1 --steps-per-validation 4 --batch-size 16 --layers 1 --max-val-examples 100 --threads 1)
train=(train --task cmaterdb_devanagari --steps 4 --validations 1 --batch-size 16 --layers 1 --threads 1)
# expect RC PATTERN [VAR=VALUE...] -- munet args: runs munet (under the shim), asserts exit status and message.
expect_env=(LD_PRELOAD="$shim")

# The disk fills during the second checkpoint.
expect 1 "no space left on device writing A/checkpoints/ckpt-000002.h5.partial .*removed the partial file.*previous checkpoint \(if any\) is intact" \
  MUNET_ENOSPC_MATCH=ckpt-000002 MUNET_ENOSPC_AFTER=100000 -- "${run[@]}" --output A
ls A/checkpoints
test ! -e A/checkpoints/ckpt-000002.h5.partial || fail "the partial file stayed"
test ! -e A/checkpoints/ckpt-000002.h5 || fail "a failed checkpoint was published"
"$munet" inspect A/checkpoints/ckpt-000001.h5 | grep -q "generations: 1 of" || fail "the previous checkpoint is damaged"
test ! -e A/munet.lock || fail "the failed run left its lock"
expect 0 "resuming from A/checkpoints/ckpt-000001.h5" -- "${run[@]}" --output A --max-generations 1

# Not enough free space before a checkpoint: refused before writing a byte.
expect 1 "no space left on device for B/checkpoints/ckpt-000001.h5: it needs about [0-9.]+ MB, 1.0 MB are free" \
  MUNET_STATVFS_FREE=1000000 -- "${run[@]}" --output B
test -z "$(ls B/checkpoints 2>/dev/null)" || fail "B has files: $(ls B/checkpoints)"

# train --save: space checked before training; a write that fails anyway keeps the model in $TMPDIR.
expect 1 "no space left on device for model.h5: it needs about" MUNET_STATVFS_FREE=100000 -- "${train[@]}" --save model.h5
grep -q "^training:" out.log && grep -q "step " out.log && fail "it trained before refusing"
mkdir -p tmp
expect 1 "no space left on device writing model.h5.tmp.[0-9]+ .*the trained model was saved to $PWD/tmp/munet-rescued-[0-9]+-model.h5 instead" \
  TMPDIR="$PWD/tmp" MUNET_ENOSPC_MATCH="$PWD/model.h5" MUNET_ENOSPC_AFTER=1000 -- "${train[@]}" --save model.h5
test ! -e model.h5 && test -z "$(ls model.h5.tmp.* 2>/dev/null)" || fail "a partial model file stayed"
"$munet" predict tmp/munet-rescued-*-model.h5 --threads 1 | grep -q "accuracy" || fail "the rescued model does not load"

# export: the same message, nothing left behind, the checkpoint untouched.
expect 1 "no space left on device writing out.h5.tmp.[0-9]+ .*the checkpoint is untouched" \
  MUNET_ENOSPC_MATCH=out.h5 MUNET_ENOSPC_AFTER=1000 -- export A/checkpoints/ckpt-000002.h5 --task cmaterdb_devanagari --output out.h5
test -z "$(ls out.h5* 2>/dev/null)" || fail "export left $(ls out.h5*)"

# A real small file system, where this machine allows mounting one.
mkdir -p small
if mount -t tmpfs -o size=3m tmpfs small 2>/dev/null; then
  trap 'umount "$work/small"' EXIT
  expect 1 "no space left on device for small/checkpoints/ckpt-000001.h5: it needs about" -- "${run[@]}" --output small
  expect 1 "no space left on device for small/m.h5" -- "${train[@]}" --save small/m.h5
  # Past the free-space check (the shim hides how full it is), the real write fails and is cleaned up.
  expect 1 "no space left on device writing small/checkpoints/ckpt-00000[0-9].h5.partial .*removed the partial file" \
    MUNET_STATVFS_FREE=100000000 -- "${run[@]}" --output small
  test -z "$(ls small/checkpoints | grep -v '^ckpt-[0-9]*.h5$')" || fail "small holds $(ls small/checkpoints)"
  for f in small/checkpoints/*; do "$munet" inspect "$f" > /dev/null || fail "$f is damaged"; done
  echo "ok: small holds only complete checkpoints: $(ls small/checkpoints)"
else
  echo "note: cannot mount a tmpfs here (not permitted): the real small file system part is not run"
fi
echo "disk full CLI: all checks passed"
