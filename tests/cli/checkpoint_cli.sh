#!/usr/bin/env bash
# Checkpoints through the command line: a run stopped halfway and started again (automatic
# resume) ends bit-identical to a straight run (h5diff, timings excluded); options that do not
# match the checkpoint are refused; inspect, export and predict agree; h5py reads the file.
# usage: checkpoint_cli.sh MUNET WORKDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
munet=$1
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
run=(evolve --tasks cmaterdb_devanagari,cmaterdb_bangla --task-iterations 2 --children-per-task 2
     --parallel-slots 1 --validations 1 --steps-per-validation 4 --batch-size 16 --layers 1
     --max-val-examples 100 --threads 2 --seed 3)
fail() { echo "FAILED: $*"; exit 1; }

"$munet" "${run[@]}" --output straight > straight.log
"$munet" "${run[@]}" --output halves --max-generations 3 > first.log
grep -q "stopped after 3 generations" first.log || fail "no stop message"
"$munet" "${run[@]}" --output halves > second.log
grep -q "resuming from halves/checkpoints/ckpt-000003.h5: 3 of 8 generations done" second.log || fail "did not resume"
last=checkpoints/ckpt-000008.h5
h5diff -q --exclude-path /run_info --exclude-path /models/train_seconds --exclude-path /digest straight/$last halves/$last \
  || fail "resumed run differs from the straight run"
echo "straight and resumed runs: identical checkpoints (h5diff)"
ls halves/checkpoints | grep -c '^ckpt-' | grep -qx 3 || fail "--keep-checkpoints 3 not honoured: $(ls halves/checkpoints)"

# Options that contradict the checkpoint are refused, naming each one.
if "$munet" evolve --output halves --seed 9 --batch-size 8 > /dev/null 2> mismatch.err; then
  fail "a mismatching config was accepted"
fi
grep -q -- "--seed is 9 here, 3 in the checkpoint" mismatch.err || fail "mismatch message: $(cat mismatch.err)"
grep -q -- "--batch-size is 8 here, 16 in the checkpoint" mismatch.err || fail "mismatch message: $(cat mismatch.err)"
cat mismatch.err

# inspect --json, export, predict: the exported model reproduces the checkpoint's test accuracy.
"$munet" inspect halves/$last --json > inspect.json
"$munet" inspect halves/$last
for task in cmaterdb_devanagari cmaterdb_bangla; do
  "$munet" export halves/$last --task $task --output $task.h5
  "$munet" predict $task.h5 --threads 2 | tee predict.log
  examples=$(sed -n 's/.*of \([0-9]*\) correct.*/\1/p' predict.log)
  want=$(/usr/bin/python3 -c "import json; r=json.load(open('inspect.json')); t=[t for t in r['tasks'] if t['task']=='$task'][0]; print(round(t['test_accuracy']*$examples))")
  grep -q "($want of $examples correct)" predict.log || fail "$task: predict does not give the checkpoint's $want correct"
done

# Offline reading with h5py alone.
/usr/bin/python3 "$here/check_checkpoint.py" halves/$last inspect.json
echo "checkpoint CLI: all checks passed"
