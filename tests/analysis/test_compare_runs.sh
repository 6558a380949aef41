#!/usr/bin/env bash
# analysis/compare_runs.py on two short real runs (evolution and --baseline finetune, same tasks and
# budget): its per-task figures agree with `munet inspect --json` and with the genealogy CSVs (an
# independent record of every child's images, hours and validation), its win counts and first-
# generation figures are recomputed here from those, a run folder's time.log gives its CPU-hours,
# and bad input gives one line naming the file.
# usage: test_compare_runs.sh MUNET WORKDIR [PYTHON]   (PYTHON: default /usr/bin/python3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
analysis=$(cd "$here/../../analysis" && pwd)
munet=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$2
py=${3:-/usr/bin/python3}
export PYTHONDONTWRITEBYTECODE=1
fail() { echo "FAILED: $*"; exit 1; }
if ! "$py" -c "import h5py, numpy" 2>/dev/null; then
  echo "SKIPPED: analysis tools need $py with python3-h5py and python3-numpy"
  exit 0
fi
rm -rf "$work" && mkdir -p "$work" && cd "$work"

common=(--tasks cmaterdb_devanagari,cmaterdb_bangla --task-iterations 1 --children-per-task 4 --parallel-slots 2
  --validations 2 --steps-per-validation 5 --batch-size 16 --layers 2 --max-val-examples 100 --threads 2 --seed 5)
"$munet" evolve "${common[@]}" --output evo --genealogy evo.csv > evo.log || { cat evo.log; fail "evolve"; }
"$munet" evolve "${common[@]}" --baseline finetune --output ft --genealogy ft.csv > ft.log || { cat ft.log; fail "finetune"; }
for run in evo ft; do
  "$munet" inspect "$(ls "$run"/checkpoints/ckpt-*.h5 | tail -n 1)" --json > "$run.json"
done
# Two segments, as a resumed run leaves them; /usr/bin/time's note on a failed segment is skipped.
printf '100.0 3000.0 600.0 0\nCommand exited with non-zero status 1\n20.0 1000.0 600.0 1\n' > evo/time.log

"$py" "$analysis/compare_runs.py" evolution=evo ft --markdown compare.md
"$py" "$analysis/compare_runs.py" evolution=evo ft > stdout.md
cmp -s compare.md stdout.md || fail "stdout differs from --markdown"
"$py" "$analysis/compare_runs.py" with=evo ft --first-generation > first.md
"$py" "$here/check_compare.py" compare.md first.md evolution=evo.json:evo.csv ft=ft.json:ft.csv
grep -q '^| evolution | finished | none | 1.44 | 0.03 |' compare.md || fail "CPU-hours from time.log: $(grep '^| evolution' compare.md)"
grep -q '^| ft | finished | finetune | – | – |' compare.md || fail "a run without time.log: $(grep '^| ft ' compare.md)"
help=$("$py" "$analysis/compare_runs.py" --help) && [[ $help == "usage: compare_runs.py"* ]] || fail "--help"

set +e
"$py" "$analysis/compare_runs.py" evo evo.log > bad.out 2> bad.err
status=$?
set -e
[[ $status == 1 ]] && grep -q "^error: evo.log: cannot open as HDF5" bad.err || fail "bad input: $status $(cat bad.err)"
echo "compare_runs.py: all checks passed"
