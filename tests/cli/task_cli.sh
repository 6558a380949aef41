#!/usr/bin/env bash
# Task files through the command line: pack a generated image folder (8- and 16-bit grey, RGBA and
# palette PNGs, RGB JPEGs) and a generated NPZ, show them with task info, read them with h5py alone
# (hash recomputed) and have munet read a task file h5py wrote; read a larger one within 1.1x its
# images' memory; train, predict and evolve on task
# files (stopped and resumed from the checkpoint, which records each task's source and hash); and
# the errors for a missing or truncated task file, an HDF5 file that is not a task, a duplicate task
# in --tasks, an empty folder, a corrupt PNG, a too-small validation split, an NPZ without the arrays.
# usage: task_cli.sh MUNET MAKE_TEST_IMAGES WORKDIR   (needs /usr/bin/python3 with h5py, numpy, xxhash)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
munet=$1
make_images=$2
work=$3
py=/usr/bin/python3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "FAILED: $*"; exit 1; }
# expect_error MESSAGE COMMAND...: the command must exit 1 and print MESSAGE on stderr.
expect_error() {
  local want=$1 status=0
  shift
  "$@" > /dev/null 2> err.txt || status=$?
  [[ $status == 1 ]] || fail "exit status $status (expected 1) from: $*"
  grep -qF -- "$want" err.txt || fail "'$want' not in the error of '$*': $(cat err.txt)"
  echo "refused as expected: $(cat err.txt)"
}

"$make_images" shapes
"$munet" task pack shapes --name shapes --output shapes.h5 | tee pack.log
grep -q "3 classes, 65 train / 7 validation / 18 test, 16x16x3 images" pack.log || fail "pack summary"
"$munet" task info shapes.h5 | tee info.log
grep -q "^classes:    3 (bars, dots, rings)" info.log || fail "class names"
grep -q "^splits:     65 train / 7 validation / 18 test" info.log || fail "split sizes"
grep -q "^images:     16x16x3" info.log || fail "image shape"
grep -q "^source:     image folder .*/shapes (3 classes, 90 images)" info.log || fail "source"
hash=$(sed -n 's/^hash: *//p' info.log)
[[ ${#hash} == 32 ]] || fail "hash '$hash'"
$py "$here/check_task_file.py" read shapes.h5 shapes 3 65 7 18 16 16 3
"$munet" task info shapes.h5 --verify | grep -q "^verified:   .* content hash matches" || fail "task info --verify"
# Packing again gives the same file content (fixed shuffle), under another name a different one.
"$munet" task pack shapes --name shapes --output again.h5 > /dev/null
[[ $("$munet" task info again.h5 | sed -n 's/^hash: *//p') == "$hash" ]] || fail "packing is not reproducible"

# An NPZ (NumPy alone), with a separate test set and the default array names.
$py - <<'PY'
import numpy as np
rng = np.random.default_rng(5)
for name, n in (("digits_train.npz", 120), ("digits_test.npz", 30)):
    labels = np.arange(n) % 4
    images = rng.integers(0, 50, size=(n, 12, 12), dtype=np.uint8)
    for i, l in enumerate(labels):
        images[i, 3 * l:3 * l + 3, :] += 200
    np.savez(name, images=images, labels=labels)
np.savez("wrong_keys.npz", x=np.zeros((2, 4, 4), np.uint8), y=np.zeros(2, np.int64))
PY
"$munet" task pack digits_train.npz --test digits_test.npz --name digits --output digits.h5 > /dev/null
"$munet" task info digits.h5 | grep -q "^splits:     108 train / 12 validation / 30 test" || fail "npz split sizes"
$py "$here/check_task_file.py" read digits.h5 digits 4 108 12 30 12 12 1

# Reading goes chunk by chunk into the task's arrays: peak memory at most 1.1x the images (74 MB here).
$py -c "import numpy as np; r = np.random.default_rng(2)
np.savez('big.npz', images=r.integers(0, 256, (24000, 32, 32, 3), dtype=np.uint8), labels=np.arange(24000) % 10)"
"$munet" task pack big.npz --name big --output big.h5 > /dev/null
"$munet" task info big.h5 --verify | tee verify.log | grep "^verified"
ratio=$(sed -n 's/^verified: .*(\([0-9.]*\)x)$/\1/p' verify.log)
$py -c "import sys; sys.exit(0 if 0 < float('$ratio') <= 1.1 else 1)" || fail "reading took ${ratio}x the images' memory"
rm big.npz big.h5

# A task file written by h5py alone is a task like any other.
$py "$here/check_task_file.py" write squares.h5 squares
"$munet" task info squares.h5 | grep -q "^splits:     40 train / 10 validation / 10 test" || fail "h5py-written file"

# Training, predicting and evolving on task files.
tiny=(--layers 1 --image-size 16 --patch 8 --hidden 32 --mlp 64 --heads 2 --threads 2)
"$munet" train --task ./shapes.h5 --steps 30 --validations 2 --batch-size 16 "${tiny[@]}" --save shapes_model.h5 | tee train.log
grep -q "content hash $hash" train.log || fail "train does not show the hash"
grep -q "^test_accuracy 0\.[0-9]*\|^test_accuracy 1\.0000" train.log || fail "no test accuracy"
"$munet" predict shapes_model.h5 --task shapes.h5 --threads 2 | grep -q "on shapes.h5 test: accuracy" || fail "predict"
expect_error "trained on task 'shapes', which is not a built-in task" "$munet" predict shapes_model.h5
evolve=(evolve --tasks shapes.h5,./digits.h5,squares.h5 --task-iterations 1 --children-per-task 2 --parallel-slots 1
        --validations 1 --steps-per-validation 4 --batch-size 16 "${tiny[@]}" --max-image-size 16)
"$munet" "${evolve[@]}" --output run --max-generations 3 > first.log
"$munet" "${evolve[@]}" --output run > second.log
grep -q "resuming from run/checkpoints/ckpt-000003.h5" second.log || fail "did not resume"
grep -A4 "^final:" second.log | grep -q "squares" || fail "no final table: $(cat second.log)"
"$munet" inspect run/checkpoints/ckpt-000006.h5 | tee inspect.log
grep -q "^shapes .* $hash .*image folder .*/shapes (3 classes, 90 images)" inspect.log || fail "inspect: source and hash"
"$munet" inspect --json run/checkpoints/ckpt-000006.h5 | grep -q "\"content_hash\": \"$hash\"" || fail "inspect --json"

# Bad input: one clear error each, naming the file.
expect_error "missing.h5: cannot read task file (missing or not readable)" "$munet" train --task missing.h5
head -c 3000 shapes.h5 > truncated.h5
expect_error "truncated.h5: cannot open HDF5 file (truncated or damaged?)" "$munet" task info truncated.h5
expect_error "shapes_model.h5: HDF5 file is not a munet task (format 'munet-model'" "$munet" train --task shapes_model.h5
expect_error "duplicate task 'shapes' in the task list: given by shapes.h5 and by again.h5" "$munet" evolve \
  --tasks shapes.h5,again.h5
expect_error "duplicate task 'mnist' in the task list: given by mnist twice" "$munet" evolve --tasks mnist,mnist
mkdir empty
expect_error "empty: empty folder" "$munet" task pack empty --name e --output e.h5
cp -r shapes broken && printf 'not a png' > broken/dots/999.png
expect_error "broken/dots/999.png: unreadable or corrupt PNG" "$munet" task pack broken --name b --output b.h5
expect_error "split 'validation' has no examples" "$munet" task pack digits_test.npz --name d --output d.h5 \
  --val-fraction 0.01
expect_error "wrong_keys.npz: array 'images' not found (archive holds: x, y)" "$munet" task pack wrong_keys.npz \
  --name w --output w.h5
[[ ! -e e.h5 && ! -e b.h5 && ! -e d.h5 && -z $(ls | grep '\.tmp\.') ]] || fail "a refused pack left a file behind"
echo "task files: all checks passed"
