#!/usr/bin/env bash
# Checksums through the command line: `munet verify` passes good files and names what is damaged
# in bad ones (a parameter chunk, a momentum chunk, a table value, a model file's kernel);
# an explicit --resume, export and predict stop on damage; automatic resume skips a damaged
# newest checkpoint, saying why, and ends bit-identical to a straight run.
# usage: checksum_cli.sh MUNET WORKDIR
set -euo pipefail
munet=$1
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
run=(evolve --tasks cmaterdb_devanagari,cmaterdb_bangla --task-iterations 2 --children-per-task 2
     --parallel-slots 1 --validations 1 --steps-per-validation 4 --batch-size 16 --layers 1
     --max-val-examples 100 --threads 2 --seed 3)
fail() { echo "FAILED: $*"; exit 1; }
# Flips one bit in chunk 0 of dataset $2 (or, with a third argument "table", of a contiguous table) of file $1.
flip() {
  /usr/bin/python3 - "$@" <<'PY'
import sys, h5py
path, obj = sys.argv[1], sys.argv[2]
with h5py.File(path, "r") as f:
    ds = f[obj]
    at = ds.id.get_offset() if ds.chunks is None else ds.id.get_chunk_info(0).byte_offset
with open(path, "r+b") as f:
    f.seek(at + 6)
    b = f.read(1)
    f.seek(at + 6)
    f.write(bytes([b[0] ^ 0x20]))
PY
}
expect_damage() {  # expect_damage WHAT COMMAND...: fails, and stderr names WHAT
  if "${@:2}" > out.log 2> err.log; then fail "$* succeeded on a damaged file"; fi
  grep -q -- "$1" err.log || fail "$*: error lacks '$1': $(cat err.log)"
}

"$munet" "${run[@]}" --output straight > straight.log
"$munet" "${run[@]}" --output halves --max-generations 3 > first.log
new=halves/checkpoints/ckpt-000003.h5
"$munet" verify halves/checkpoints/*.h5 | tee verify.log
grep -q "ckpt-000003.h5: checkpoint (format version 4): .* parameter chunks .* match their checksums" verify.log ||
  fail "verify did not report the good checkpoint"

# Which component has momentum: the first with a velocity group.
comp=$(/usr/bin/python3 -c "
import h5py
f = h5py.File('$new', 'r')
print([n for n, g in f['pool/components'].items() if 'velocity' in g][0])")
for part in values velocity; do
  cp $new $part.h5
  flip $part.h5 /pool/components/$comp/$part/kernel
  expect_damage "/pool/components/$comp/$part/kernel chunk 0 is damaged" "$munet" verify $part.h5
  grep -q "DAMAGED $part.h5" err.log || fail "verify output: $(cat err.log)"
done
cp $new table.h5
flip table.h5 /models/quality
expect_damage "table.h5: /models/quality is damaged: its attributes and values hash to XXH3-64" "$munet" verify table.h5
expect_damage "/models/quality is damaged" "$munet" inspect table.h5
expect_damage "kernel chunk 0 is damaged" "$munet" export values.h5 --task cmaterdb_devanagari --output x.h5
echo "verify, inspect and export name the damaged object, chunk and both hashes"

"$munet" export $new --task cmaterdb_devanagari --output model.h5 > /dev/null
"$munet" verify model.h5 | grep -q "model.h5: model file" || fail "verify model.h5"
cp model.h5 model_bad.h5
kernel=$(/usr/bin/python3 -c "
import h5py
f = h5py.File('model_bad.h5', 'r')
print([n for n in f['components'] if f['components'][n].attrs['kind'] == 'head'][0])")
flip model_bad.h5 /components/$kernel/kernel
expect_damage "model_bad.h5: /components/$kernel/kernel chunk 0 is damaged" "$munet" predict model_bad.h5 --threads 2
expect_damage "/components/$kernel/kernel chunk 0 is damaged" "$munet" verify model_bad.h5
echo "predict and verify name a model file's damaged kernel"

# The newest checkpoint damaged: an explicit --resume stops; automatic resume falls back.
flip $new /pool/components/$comp/values/kernel
expect_damage "ckpt-000003.h5: /pool/components/$comp/values/kernel chunk 0 is damaged" \
  "$munet" "${run[@]}" --output resumed_explicitly --resume $new
"$munet" "${run[@]}" --output halves > second.log
grep -q "skipping a checkpoint that does not load: .*ckpt-000003.h5: .* chunk 0 is damaged" second.log ||
  fail "automatic resume did not say why it skipped: $(head -3 second.log)"
grep -q "resuming from halves/checkpoints/ckpt-000002.h5" second.log || fail "did not fall back to ckpt-000002"
last=checkpoints/ckpt-000008.h5
h5diff -q --exclude-path /run_info --exclude-path /models/train_seconds --exclude-path /digest straight/$last \
  halves/$last || fail "the run that fell back differs from the straight run"
echo "automatic resume fell back past the damaged checkpoint and ended identical to the straight run (h5diff)"
