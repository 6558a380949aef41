#!/usr/bin/env bash
# The polite stop (src/app/stop_request.h): SIGUSR1 to a running `munet evolve --output` makes it
# finish the generation, write a checkpoint for it (also off the --checkpoint-every schedule),
# say so and exit with status 3; run again, it resumes and ends bit-identical to a straight run
# (h5diff, timings excluded) with the same final table. SIGTERM without --output exits 143 and
# says that nothing was saved.
# usage: stop_signal_cli.sh MUNET WORKDIR
set -euo pipefail
munet=$1
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
# 12 generations of a fraction of a second each: time to send a signal while the run goes on.
run=(evolve --tasks cmaterdb_devanagari,cmaterdb_bangla --task-iterations 2 --children-per-task 3
     --parallel-slots 1 --validations 1 --steps-per-validation 40 --batch-size 16 --layers 1
     --max-val-examples 100 --threads 2 --seed 5 --checkpoint-every 4)
fail() { echo "FAILED: $*"; exit 1; }

# Starts munet in the background with its output in LOG, waits for its first finished generation,
# sends SIGNAL and waits for it; sets `status`.
signal_after_first_generation() {
  local sig=$1 log=$2 pid
  shift 2
  "$munet" "$@" > "$log" 2>&1 &
  pid=$!
  for ((i = 0; i < 1200; ++i)); do
    grep -q 'generation 1/' "$log" && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
  done
  grep -q 'generation 1/' "$log" || { kill $pid 2>/dev/null || true; cat "$log"; fail "no first generation"; }
  kill -s "$sig" $pid
  status=0
  wait $pid || status=$?
}

"$munet" "${run[@]}" --output straight > straight.log

signal_after_first_generation USR1 stopped.log "${run[@]}" --output stopped
cat stopped.log
((status == 3)) || fail "exit status $status after SIGUSR1, want 3"
line=$(grep '^stopped by SIGUSR1 after generation' stopped.log) || fail "no stop message"
generation=$(sed -n 's/^stopped by SIGUSR1 after generation \([0-9]*\) of 12; .*/\1/p' <<< "$line")
[[ -n $generation ]] && ((generation < 12)) || fail "stop message: $line"
ckpt=$(printf 'stopped/checkpoints/ckpt-%06d.h5' "$generation")
[[ $line == "stopped by SIGUSR1 after generation $generation of 12; checkpoint $ckpt; run again with the same --output to resume" ]] ||
  fail "stop message: $line"
[[ -f $ckpt ]] || fail "$ckpt does not exist: $(ls stopped/checkpoints)"
done_in_ckpt=$("$munet" inspect "$ckpt" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["generations_done"])')
[[ $done_in_ckpt == "$generation" ]] || fail "$ckpt holds $done_in_ckpt generations, the message says $generation"
echo "SIGUSR1: exit 3 after generation $generation with $ckpt"

"$munet" "${run[@]}" --output stopped > resumed.log
grep -q "^resuming from $ckpt: $generation of 12 generations done" resumed.log || fail "did not resume: $(head -3 resumed.log)"
diff <(sed -n '/^final:/,$p' straight.log) <(sed -n '/^final:/,$p' resumed.log) || fail "final tables differ"
last=checkpoints/ckpt-000012.h5
h5diff -q --exclude-path /run_info --exclude-path /models/train_seconds --exclude-path /digest straight/$last stopped/$last ||
  fail "stopped-and-resumed run differs from the straight run"
echo "stopped and resumed: same final table and checkpoint (h5diff) as the straight run"

signal_after_first_generation TERM nothing.log "${run[@]}"
((status == 143)) || { cat nothing.log; fail "exit status $status after SIGTERM without --output, want 143"; }
grep -q '^stopped by SIGTERM after generation [0-9]* of 12; no --output, so nothing was saved$' nothing.log ||
  fail "no nothing-saved message: $(tail -2 nothing.log)"
echo "SIGTERM without --output: exit 143, nothing saved"
echo "stop signal CLI: all checks passed"
