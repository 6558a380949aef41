#!/usr/bin/env bash
# A living system through the command line, on task files only (no dataset folder needed):
#  1. a two-task run grown with a third task from a packed file (--add-tasks): the first two
#     tasks' best models, their route components (parameters, momentum, owner, locks) and test
#     accuracies are bit-identical to the two-task run's; the same command again adds nothing;
#  2. the inbox, without timing: a run stopped mid-turn (--max-generations); a task file, a .part
#     file and a corrupt file dropped in the inbox; resumed: the task joins at the next turn
#     boundary, the .part file is ignored, the corrupt one moves to rejected/ with its reason, the
#     task file to joined/, and the run ends normally;
#     the analysis report reads each task's stage;
#  3. determinism: the inbox run equals, bit for bit, --add-tasks runs that follow its recorded join
#     schedule (stopped where it joined, then --add-tasks);
#  4. a deleted or changed task copy refuses the resume, naming the task, the file and what differs,
#     with nothing in the run folder touched;
#     and an inbox that is not a folder, --add-tasks without a run to add to;
#  5. with MPIEXEC: the two-task run grown by a third on 2 and 3 ranks, and the inbox run on 2 ranks,
#     are identical to the 1-process ones.
# usage: grow_cli.sh MUNET MAKE_TEST_IMAGES WORKDIR [MPIEXEC]   (needs /usr/bin/python3 with h5py, numpy, xxhash)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
munet=$1
make_images=$2
work=$3
mpiexec=${4:-}
py=/usr/bin/python3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "FAILED: $*"; exit 1; }
same() {  # same A B WHAT: final checkpoints bit-identical (timings and where task files came from excluded)
  h5diff -q --exclude-path /run_info --exclude-path /models/train_seconds --exclude-path /tasks/task_file --exclude-path /digest "$1" "$2" ||
    fail "$3: $1 and $2 differ"
  echo "$3: identical (h5diff)"
}

# Three small tasks, packed: an image folder, an NPZ, a file h5py wrote.
"$make_images" shapes > /dev/null
"$munet" task pack shapes --name shapes --output shapes.h5 > /dev/null
$py - <<'PY'
import numpy as np
rng = np.random.default_rng(5)
labels = np.arange(150) % 4
images = rng.integers(0, 50, size=(150, 12, 12), dtype=np.uint8)
for i, l in enumerate(labels):
    images[i, 3 * l:3 * l + 3, :] += 200
np.savez("digits.npz", images=images, labels=labels)
PY
"$munet" task pack digits.npz --name digits --output digits.h5 > /dev/null
$py "$here/check_task_file.py" write squares.h5 squares > /dev/null

tiny=(--layers 1 --image-size 16 --patch 8 --hidden 32 --mlp 64 --heads 2 --threads 2 --max-image-size 16)
evolve=(evolve --tasks shapes.h5,digits.h5 --task-iterations 1 --children-per-task 2 --parallel-slots 1
        --validations 1 --steps-per-validation 4 --batch-size 16 "${tiny[@]}")
final=checkpoints/ckpt-000006.h5

# 1. Grown with --add-tasks.
"$munet" "${evolve[@]}" --output two > two.log
cp -r two grown
"$munet" evolve --output grown --add-tasks squares.h5 --threads 2 | tee grown.log | grep -v "generation"
grep -q "stage 2: task squares from squares.h5, copied to grown/tasks/squares.h5" grown.log || fail "no stage 2"
[[ -e grown/tasks/squares.h5 && -e grown/tasks/shapes.h5 ]] || fail "task copies missing: $(ls grown/tasks)"
$py "$here/check_grown.py" two/checkpoints/ckpt-000004.h5 grown/$final 2
"$munet" evolve --output grown --add-tasks squares.h5 --threads 2 > again.log
grep -q "already joined the run; nothing to add" again.log || fail "--add-tasks again: $(cat again.log)"
[[ ! -e grown/checkpoints/ckpt-000008.h5 ]] || fail "--add-tasks again ran more generations"

# 2. The inbox, stopped mid-turn, resumed with files dropped in.
mkdir inbox
"$munet" "${evolve[@]}" --output inboxed --task-inbox inbox --max-generations 1 > in1.log
grep -q "1 of 4 done" in1.log || fail "not stopped mid-turn: $(tail -1 in1.log)"
cp squares.h5 inbox/squares.h5
cp shapes.h5 inbox/later.h5.part
echo "not a task" > inbox/broken.h5
"$munet" "${evolve[@]}" --output inboxed --task-inbox inbox > in2.log
grep -B1 -A1 "stage 2 joins" in2.log
grep -q "stage 2 joins after 2 generations: 1 task" in2.log || fail "squares did not join at the turn boundary"
grep -A4 "^final:" in2.log | grep -q "^squares" || fail "no final row for squares: $(cat in2.log)"
[[ -e inbox/joined/squares.h5 && -e inbox/later.h5.part && ! -e inbox/squares.h5 ]] || fail "inbox: $(find inbox)"
grep -q "broken.h5: not an HDF5 file" inbox/rejected/broken.h5.error || fail "no reason for the rejected file"
echo "inbox: $(find inbox -type f | sort | tr '\n' ' ')"

# The analysis report reads the stages (checkpoint_data.py): results.csv gives each task's stage.
if [[ -z $mpiexec ]]; then
  $py "$here/../../analysis/report.py" --out report inboxed/$final > /dev/null
  $py - <<'PY' || fail "the report's stages"
import csv
rows = list(csv.DictReader(open("report/results.csv")))
got = [(r["task"], r["stage"], r["joined_at"]) for r in rows]
assert got == [("shapes", "1", "0"), ("digits", "1", "0"), ("squares", "2", "2")], got
print("report: stages", got)
PY
  grep -q "squares</td><td>2 (2)" report/index.html || fail "index.html: no stage for squares"
fi

# 3. The same join schedule with --add-tasks: stopped where squares joined, then added.
"$munet" "${evolve[@]}" --output scheduled --max-generations 2 > s1.log
"$munet" "${evolve[@]}" --output scheduled --add-tasks squares.h5 > s2.log
same inboxed/$final scheduled/$final "inbox run vs --add-tasks on its join schedule"

# 4. A changed or deleted task copy refuses the resume, touching nothing.
expect_refusal() {  # expect_refusal MESSAGE RUN: resuming RUN fails with MESSAGE, RUN unchanged
  local before status=0
  before=$(ls -lR --time-style=full-iso "$2")
  "$munet" "${evolve[@]}" --output "$2" > /dev/null 2> err.txt || status=$?
  [[ $status == 1 ]] || fail "exit status $status (expected 1) resuming $2"
  grep -qF -- "$1" err.txt || fail "'$1' not in: $(cat err.txt)"
  [[ $(ls -lR --time-style=full-iso "$2") == "$before" ]] || fail "the refused resume changed $2"
  echo "refused as expected: $(tail -1 err.txt)"
}
"$munet" "${evolve[@]}" --output broken --max-generations 1 > /dev/null
mv broken/tasks/digits.h5 digits_copy.h5
expect_refusal "task 'digits': its copy broken/tasks/digits.h5 is missing (stage 1, joined from digits.h5" broken
"$munet" task pack digits.npz --name digits --output broken/tasks/digits.h5 --val-fraction 0.2 > /dev/null
expect_refusal "task 'digits': its copy broken/tasks/digits.h5 has content hash" broken
mv digits_copy.h5 broken/tasks/digits.h5
"$munet" "${evolve[@]}" --output broken > /dev/null || fail "the restored copy does not resume"

# Options that cannot grow anything.
status=0
"$munet" "${evolve[@]}" --output nodir --task-inbox no_such_dir > /dev/null 2> err.txt || status=$?
[[ $status == 1 ]] && grep -q -- "--task-inbox no_such_dir: not a folder" err.txt || fail "missing inbox: $(cat err.txt)"
status=0
"$munet" evolve --output empty_run --add-tasks squares.h5 > /dev/null 2> err.txt || status=$?
[[ $status == 1 ]] && grep -q "empty_run has no checkpoint to add to" err.txt || fail "--add-tasks, no run: $(cat err.txt)"
echo "refused as expected: $(cat err.txt)"

# 5. Ranks.
if [[ -n $mpiexec ]]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  for n in 2 3; do
    "$mpiexec" --oversubscribe -n $n "$munet" "${evolve[@]}" --output grown_$n > r$n.log
    "$mpiexec" --oversubscribe -n $n "$munet" evolve --output grown_$n --add-tasks squares.h5 --threads 1 >> r$n.log
    grep -q "$n ranks (mpi)" r$n.log || fail "not on $n ranks: $(head -3 r$n.log)"
    same grown/$final grown_$n/$final "two tasks then one more, on $n ranks vs 1 process"
  done
  # The inbox on 2 ranks: rank 0 looks, every rank adds the same stage.
  mkdir inbox_2
  "$mpiexec" --oversubscribe -n 2 "$munet" "${evolve[@]}" --output inboxed_2 --task-inbox inbox_2 \
    --max-generations 1 > i2.log
  cp squares.h5 inbox_2/
  "$mpiexec" --oversubscribe -n 2 "$munet" "${evolve[@]}" --output inboxed_2 --task-inbox inbox_2 >> i2.log
  [[ -e inbox_2/joined/squares.h5 ]] || fail "2 ranks: squares not taken: $(cat i2.log)"
  same inboxed/$final inboxed_2/$final "the inbox run on 2 ranks vs 1 process"
fi
echo "growing a system: all checks passed"
