#!/usr/bin/env bash
# The analysis tools (analysis/) on a checkpoint of a short real run: every tool runs, the results
# table matches `munet inspect --json`, every figure is a non-empty PNG that index.html shows,
# the pool growth rebuilt from the newest checkpoint agrees with the checkpoints written at each
# turn end, the tools cope with a checkpoint from the middle of the first turn, and bad input
# gives a one-line error naming the file.
# usage: test_analysis.sh MUNET WORKDIR [PYTHON]   (PYTHON: default /usr/bin/python3, with Debian's
# python3-h5py, python3-numpy and python3-matplotlib; without them the test prints SKIPPED)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
analysis=$(cd "$here/../../analysis" && pwd)
munet=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$2
py=${3:-/usr/bin/python3}
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
fail() { echo "FAILED: $*"; exit 1; }

if ! "$py" -c "import h5py, numpy, matplotlib" 2>/dev/null; then
  echo "SKIPPED: analysis tools need $py with python3-h5py, python3-numpy and python3-matplotlib"
  exit 0
fi
rm -rf "$work" && mkdir -p "$work" && cd "$work"

# Two tasks, two rounds, two layers (so that models add adapters in pairs), every checkpoint kept.
"$munet" evolve --tasks cmaterdb_devanagari,cmaterdb_bangla --task-iterations 2 --children-per-task 4 \
  --parallel-slots 2 --validations 2 --steps-per-validation 5 --batch-size 16 --layers 2 \
  --max-val-examples 100 --threads 2 --seed 5 --keep-checkpoints 100 --output run > evolve.log ||
  { cat evolve.log; fail "munet evolve"; }
last=run/checkpoints/ckpt-000008.h5
[[ -f $last ]] || fail "no $last: $(ls run/checkpoints)"
"$munet" inspect "$last" --json > inspect.json

# Every tool on its own.
mkdir -p tools
"$py" "$analysis/results_table.py" "$last" --markdown tools/results.md --csv tools/results.csv
"$py" "$analysis/results_table.py" run > tools/stdout.md
cmp -s tools/stdout.md tools/results.md || fail "results_table.py: stdout differs from --markdown"
"$py" "$analysis/accuracy_curves.py" "$last" --out tools/accuracy.png
"$py" "$analysis/pool_growth.py" "$last" --out tools/pool.png --csv tools/pool.csv
"$py" "$analysis/architecture.py" "$last" --out tools/architecture.png
for task in cmaterdb_devanagari cmaterdb_bangla; do
  "$py" "$analysis/genealogy.py" "$last" --task $task --out tools/genealogy-$task.png > tools/genealogy-$task.txt
done
for tool in results_table accuracy_curves pool_growth architecture genealogy report; do
  help=$("$py" "$analysis/$tool.py" --help) && [[ $help == "usage: $tool.py"* ]] || fail "$tool.py --help"
done

# The report, from the run folder (its newest checkpoint) and from the first checkpoint (mid-turn).
"$py" "$analysis/report.py" run --out report | tee report.log
grep -q "ckpt-000008.h5: report/index.html" report.log || fail "report.py did not take the newest checkpoint"
"$py" "$analysis/report.py" run/checkpoints/ckpt-000001.h5 --out report-early

"$py" "$here/check_report.py" --inspect inspect.json --run run --report report \
  --csv tools/results.csv --markdown tools/results.md --pool-csv tools/pool.csv \
  --genealogy tools/genealogy-cmaterdb_devanagari.txt tools/genealogy-cmaterdb_bangla.txt \
  --png tools/*.png
"$py" "$here/check_report.py" --report report-early --early

# Bad input: one line on stderr naming the file, exit status 1.
set +e
"$py" "$analysis/report.py" evolve.log --out bad > bad.out 2> bad.err
status=$?
set -e
[[ $status == 1 ]] || fail "report.py on a non-HDF5 file exited with $status"
grep -q "^error: evolve.log: cannot open as HDF5" bad.err || fail "error message: $(cat bad.err)"
set +e
"$py" "$analysis/genealogy.py" "$last" --task mnist > bad.out 2> bad.err
status=$?
set -e
[[ $status == 1 ]] && grep -q "has no task 'mnist'" bad.err || fail "unknown task: $status $(cat bad.err)"
echo "analysis tools: all checks passed"
