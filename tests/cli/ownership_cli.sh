#!/usr/bin/env bash
# Nothing lost (issue 16): an output that is one of the command's inputs is refused (compared by
# file identity: a symbolic link counts), --resume into another run's folder is refused, and one
# process owns a run folder (munet.lock): a live holder refuses a second writer, a stale lock (its
# pid gone, or not refreshed for --lock-stale-minutes) is taken over, --break-lock takes a live one
# and the first writer then stops at its next generation. Readers take no lock. Each refusal leaves
# the files it guards byte-identical.
# usage: ownership_cli.sh MUNET WORKDIR
set -uo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/expect.sh"  # fail, expect
unset SLURM_JOB_ID  # the Slurm cases below set it themselves
munet=$1
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
run=(evolve --tasks cmaterdb_devanagari,cmaterdb_bangla --children-per-task 2 --parallel-slots 1 --validations 1
     --steps-per-validation 4 --batch-size 16 --layers 1 --max-val-examples 100 --threads 1)
# expect RC PATTERN CMD...: runs munet, asserts its exit status and that stdout+stderr match PATTERN.
sums() { find "$@" -type f | sort | xargs md5sum; }

"$munet" "${run[@]}" --task-iterations 2 --seed 1 --output A --max-generations 2 > a.log 2>&1 || fail "run A: $(cat a.log)"
"$munet" "${run[@]}" --task-iterations 2 --seed 2 --output B --max-generations 1 > b.log 2>&1 || fail "run B: $(cat b.log)"
ck=A/checkpoints/ckpt-000002.h5
test -f $ck || fail "no $ck: $(ls -R A)"
test ! -e A/munet.lock || fail "a finished run left its lock behind"

# --resume of run A into run B's folder: refused, B untouched.
before=$(sums B)
expect 1 "--output B holds another run .*continuing it there would overwrite" "${run[@]}" --resume $ck --output B
[ "$(sums B)" = "$before" ] || fail "B changed"
# ... into a new folder, or in place, it goes on.
expect 0 "resuming from $ck" "${run[@]}" --resume $ck --output A2 --max-generations 1

# An output that is an input: refused, by identity (a link, ./ and absolute paths are the same file).
before=$(sums A)
ln -s $ck link.h5
expect 1 "--output A/checkpoints/ckpt-000002.h5 is the same file as CHECKPOINT" export $ck --task cmaterdb_devanagari --output $ck
expect 1 "--output link.h5 is the same file as CHECKPOINT" export ./$ck --task cmaterdb_devanagari --output link.h5
expect 1 "--genealogy .* is the same file as --resume" "${run[@]}" --resume $ck --output A --genealogy "$PWD/$ck"
[ "$(sums A)" = "$before" ] || fail "A changed"
expect 0 "exported model" export $ck --task cmaterdb_devanagari --output model.h5
before=$(md5sum model.h5)
expect 1 "--save ./model.h5 is the same file as --root model.h5" train --task cmaterdb_devanagari --root model.h5 --save ./model.h5 --steps 2 --validations 1
expect 1 "--logits model.h5 is the same file as MODEL" predict model.h5 --logits model.h5
expect 1 "--genealogy model.h5 is the same file as --root" "${run[@]}" --root model.h5 --genealogy model.h5
[ "$(md5sum model.h5)" = "$before" ] || fail "model.h5 changed"
echo data > source.npz
expect 1 "--output source.npz is the same file as SOURCE" task pack source.npz --name t --output source.npz
expect 1 "--output ./source.npz is the same file as CHECKPOINT" import source.npz --output ./source.npz
[ "$(cat source.npz)" = data ] || fail "source.npz changed"

# Run-folder lock. A live holder on this host (this shell's pid): refused, naming it; readers work.
host=$(hostname)
printf 'host %s\npid %s\nslurm_job_id 77\ntoken t1\n' "$host" $$ > A/munet.lock
expect 1 "A/munet.lock: this run folder is in use by another munet process \(host $host, pid $$, Slurm job 77" \
  "${run[@]}" --output A
expect 0 "generations: 2 of" inspect $ck
expect 0 "exported model" export $ck --task cmaterdb_devanagari --output model2.h5
grep -q "token t1" A/munet.lock || fail "a reader touched the lock"
# A holder whose pid is gone on this host: stale at once.
sh -c 'exit 0' & dead=$!; wait $dead
printf 'host %s\npid %s\nslurm_job_id \ntoken t2\n' "$host" $dead > A/munet.lock
expect 0 "took over the run lock A/munet.lock from host $host, pid $dead.*its process $dead is gone on this host" \
  "${run[@]}" --output A --max-generations 1
test ! -e A/munet.lock || fail "lock left behind"
# A holder on another host: live while refreshed, stale after --lock-stale-minutes.
printf 'host elsewhere\npid 1\nslurm_job_id 5\ntoken t3\n' > A/munet.lock
expect 1 "in use by another munet process \(host elsewhere, pid 1, Slurm job 5" "${run[@]}" --output A
touch -d '-2 hours' A/munet.lock
expect 1 "in use by another munet process" "${run[@]}" --output A --lock-stale-minutes 180
expect 0 "took over the run lock .*not refreshed for 1[12][0-9] minutes \(stale after 30" "${run[@]}" --output A --max-generations 1
# The same Slurm job, requeued onto another node: its earlier run has ended (another job's lock is live).
printf 'host elsewhere\npid 1\nslurm_job_id 4242\ntoken t4\n' > A/munet.lock
SLURM_JOB_ID=4242 expect 0 "took over the run lock .*it is this Slurm job's \(4242\) earlier run, requeued" \
  "${run[@]}" --output A --max-generations 1
printf 'host elsewhere\npid 1\nslurm_job_id 4242\ntoken t5\n' > A/munet.lock
SLURM_JOB_ID=4243 expect 1 "in use by another munet process \(host elsewhere, pid 1, Slurm job 4242" "${run[@]}" --output A
rm A/munet.lock
expect 1 "--lock-stale-minutes must be in \[1, 10080\], got 0" "${run[@]}" --output A --lock-stale-minutes 0

# Two live writers: the second is refused; with --break-lock it takes the folder and the first
# stops at its next generation with a clear error, before writing another checkpoint.
"$munet" "${run[@]}" --task-iterations 200 --seed 4 --output C > first.log 2>&1 &
first=$!
for _ in $(seq 600); do [ -e C/munet.lock ] && break; sleep 0.1; done
test -e C/munet.lock || fail "the first writer took no lock: $(cat first.log)"
expect 1 "C/munet.lock: this run folder is in use by another munet process \(host $host, pid $first," \
  "${run[@]}" --task-iterations 200 --seed 4 --output C
expect 0 "took over the run lock C/munet.lock from host $host, pid $first.*--break-lock" \
  "${run[@]}" --task-iterations 200 --seed 4 --output C --break-lock --max-generations 1
wait $first
rc=$?
[ "$rc" = 1 ] || fail "the first writer went on after losing its lock (exit $rc): $(tail -3 first.log)"
grep -q "C/munet.lock: this run's lock was removed; stopping so that two writers do not overwrite" first.log \
  || grep -q "C/munet.lock: this run's lock was taken by another process" first.log \
  || fail "first writer's message: $(tail -3 first.log)"
echo "ok (exit $rc): first writer: $(grep -o 'C/munet.lock: this run.s lock.*' first.log)"
echo "ownership CLI: all checks passed"
