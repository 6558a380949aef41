#!/usr/bin/env bash
# Built-in dataset folders swapped (issue 16): a data folder whose mnist holds Fashion-MNIST and
# whose cmaterdb/bangla holds the Devanagari files is refused, naming the task whose files they
# are (known content hashes, src/data/builtin_hashes.cc); the real folders load as before.
# usage: swapped_data_cli.sh MUNET DATA WORKDIR (DATA: the real files, unless MUNET_DATA is set)
set -uo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/expect.sh"  # fail, expect
munet=$1
data=${MUNET_DATA:-$2}  # where the other tests find the real files
work=$3
rm -rf "$work" && mkdir -p "$work/data/cmaterdb" && cd "$work"
[ -d "$data/mnist" ] || { echo "no dataset directory found in $data"; exit 0; }
fashion=$data/fashion_mnist
[ -d "$fashion" ] || fashion=/usr/share/datasets/fashion-mnist  # Debian's dataset-fashion-mnist
ln -s "$data/cmaterdb/devanagari" data/cmaterdb/bangla
ln -s "$data/cmaterdb/bangla" data/cmaterdb/devanagari
quick=(--steps 1 --validations 1 --layers 1 --batch-size 2 --max-val-examples 2 --eval-batch-size 64 --threads 1)
expect 1 "task cmaterdb_bangla: the files in .*data/cmaterdb/bangla are those of the built-in task cmaterdb_devanagari: are the dataset folders swapped\?" \
  train --task cmaterdb_bangla --data data "${quick[@]}"
expect 1 "task cmaterdb_devanagari: the files in .* are those of the built-in task cmaterdb_bangla" \
  evolve --tasks cmaterdb_devanagari --data data
if [ -d "$fashion" ]; then
  ln -s "$fashion" data/mnist
  ln -s "$data/mnist" data/fashion_mnist
  expect 1 "task mnist: the files in .*data/mnist are those of the built-in task fashion_mnist" \
    train --task mnist --data data "${quick[@]}"
  expect 1 "task fashion_mnist: the files in .*data/fashion_mnist are those of the built-in task mnist" \
    train --task fashion_mnist --data data "${quick[@]}"
else
  echo "note: no Fashion-MNIST files on this machine: the mnist <-> fashion_mnist case is not run"
fi
expect 0 "test_accuracy" train --task cmaterdb_bangla --data "$data" "${quick[@]}"
grep -q "warning" out.log && fail "the real files gave a warning: $(grep warning out.log)"
# Files that are no built-in's (Devanagari's training file with Bangla's test file): a warning
# naming the known hash, and the task is used.
mkdir -p other/cmaterdb/devanagari
cp "$data/cmaterdb/devanagari/training-images.npz" "$data/cmaterdb/bangla/testing-images.npz" other/cmaterdb/devanagari/
expect 0 "warning: task cmaterdb_devanagari: the files in other/cmaterdb/devanagari are not the public dataset \(content hash [0-9a-f]+, known 1c923e7dabd0e385f42777416b81ac38\); using them as they are" \
  train --task cmaterdb_devanagari --data other "${quick[@]}"
echo "swapped data CLI: all checks passed"
