#!/usr/bin/env bash
# Multi-rank evolution through the command line, on real data:
#  1. the same seed and config give bit-identical checkpoints with 1, 2 and 3 ranks;
#  2. a checkpoint written by 2 ranks resumes in 1 process, and one written by 1 process resumes
#     on 3 ranks, both ending identical to the straight run;
#  3. faults: a rank that fails (bad data on rank 1) or is killed (SIGKILL) ends the job within a
#     bounded time with a message naming the rank, and the next run resumes from the last complete
#     checkpoint and ends identical to the straight run.
# usage: ranks_cli.sh MUNET MPIEXEC WORKDIR
set -euo pipefail
munet=$1
mpiexec=$2
work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpi=("$mpiexec" --oversubscribe)
common=(evolve --tasks cmaterdb_devanagari,cmaterdb_bangla --task-iterations 2 --children-per-task 4
        --parallel-slots 3 --validations 1 --batch-size 16 --layers 2 --max-val-examples 100 --seed 5)
run=("${common[@]}" --steps-per-validation 5)
last=checkpoints/ckpt-000008.h5
fail() { echo "FAILED: $*"; exit 1; }
same() {  # same A B WHAT: final checkpoints bit-identical (timings excluded)
  h5diff -q --exclude-path /run_info --exclude-path /models/train_seconds --exclude-path /digest "$1/$last" "$2/$last" ||
    fail "$3: differs from the 1-rank run"
  echo "$3: identical to the 1-rank run (h5diff)"
}

"$munet" "${run[@]}" --output one > one.log
"${mpi[@]}" -n 2 "$munet" "${run[@]}" --output two > two.log
grep -q "2 ranks (mpi)" two.log || fail "2-rank run did not run on 2 ranks: $(head -5 two.log)"
grep -q "moved [0-9.]* MB, held [0-9.]*/[0-9.]* MB per rank" two.log || fail "no traffic/memory figures"
same one two "2 ranks"
"${mpi[@]}" -n 3 "$munet" "${run[@]}" --output three > three.log
same one three "3 ranks"

# Across rank counts: 2 ranks for 3 generations, then 1 process; 1 process for 5, then 3 ranks.
"${mpi[@]}" -n 2 "$munet" "${run[@]}" --output two_then_one --max-generations 3 > a.log
"$munet" "${run[@]}" --output two_then_one > b.log
grep -q "resuming from two_then_one/checkpoints/ckpt-000003.h5" b.log || fail "1 process did not resume"
same one two_then_one "2 ranks, resumed by 1 process"
"$munet" "${run[@]}" --output one_then_three --max-generations 5 > c.log
"${mpi[@]}" -n 3 "$munet" "${run[@]}" --output one_then_three > d.log
grep -q "resuming from one_then_three/checkpoints/ckpt-000005.h5" d.log || fail "3 ranks did not resume"
same one one_then_three "1 process, resumed by 3 ranks"

# Fault 1: rank 1 finds no data. The job ends at once, naming the rank and the cause.
mkdir -p empty
start=$SECONDS
status=0
timeout 120 "$mpiexec" --oversubscribe -n 1 "$munet" "${run[@]}" --output bad : \
  -n 1 -x MUNET_DATA="$work/empty" "$munet" "${run[@]}" --output bad > bad.log 2>&1 || status=$?
((status != 0)) || fail "a job with a failing rank succeeded"
((status != 124)) || fail "a job with a failing rank hung (killed by timeout)"
grep -q "rank 1 of 2: error: .*cmaterdb" bad.log || fail "no message naming rank 1 and its cause: $(cat bad.log)"
echo "failing rank: job ended in $((SECONDS - start)) s with status $status: $(grep -m1 'rank 1 of 2' bad.log)"

# Fault 2: rank 1 is killed (SIGKILL) after the first checkpoint; then the job is run again.
slow=("${common[@]}" --steps-per-validation 60 --output killed)
"${mpi[@]}" -n 2 "$munet" "${slow[@]}" > killed.log 2>&1 &
job=$!
for _ in $(seq 600); do
  [[ -e killed/checkpoints/ckpt-000002.h5 ]] && break
  sleep 0.1
done
[[ -e killed/checkpoints/ckpt-000002.h5 ]] || fail "no checkpoint to kill after: $(cat killed.log)"
victim=$(pgrep -f -- "--output killed" | while read -r p; do
  tr '\0' '\n' < /proc/"$p"/environ 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && echo "$p"; done | head -1)
[[ -n $victim ]] || fail "rank 1's process not found"
kill -9 "$victim"
start=$SECONDS
status=0
timeout 120 tail --pid="$job" -f /dev/null || fail "the job did not end within 120 s of losing rank 1"
wait "$job" || status=$?
((status != 0)) || fail "the job survived losing a rank"
grep -qi "rank 1" killed.log || fail "no message naming rank 1: $(cat killed.log)"
echo "killed rank: job ended in $((SECONDS - start)) s with status $status: $(grep -i -m1 'rank 1' killed.log)"
"${mpi[@]}" -n 2 "$munet" "${slow[@]}" > resumed.log 2>&1
grep -q "resuming from killed/checkpoints/ckpt-0000" resumed.log || fail "did not resume: $(head resumed.log)"
"$munet" "${common[@]}" --steps-per-validation 60 --output straight_slow > straight_slow.log
h5diff -q --exclude-path /run_info --exclude-path /models/train_seconds --exclude-path /digest straight_slow/$last killed/$last ||
  fail "the resumed run after the kill differs from a straight run"
echo "after the kill: resumed from $(grep -o 'ckpt-[0-9]*.h5' resumed.log | head -1), identical to a straight run"
echo "ranks CLI: all checks passed"
