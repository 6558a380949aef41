#!/usr/bin/env bash
# Bounds on every option and the inputs that were silently accepted (issue 16): each is either a
# meaning stated in --help or a refusal with the exit status and a message that says why, given
# before any work.
# usage: options_cli.sh MUNET WORKDIR
set -uo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/expect.sh"  # fail, expect
munet=$1
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
evolve=(evolve --tasks cmaterdb_bangla --task-iterations 1 --children-per-task 2 --parallel-slots 1 --validations 1
        --steps-per-validation 2 --batch-size 8 --max-val-examples 50 --threads 1)
expect_timeout=120

# Ranges, before any work (a huge --threads once created threads until the machine ran out).
expect 1 "--threads must be in \[0, [0-9]+\]" train --threads 100000
expect 1 "--threads must be in \[0, [0-9]+\]" evolve --threads -1
expect 1 "--seed must be in \[0, 9223372036854775807\], got 18446744073709551615" train --seed -1
expect 1 "seed \(--seed\) must be in \[0, 9223372036854775807\]" "${evolve[@]}" --seed -1
expect 0 "--threads arg \(=0\) +CPU threads, in \[0, [0-9]+\] \(0: all hardware" train --help
expect 1 "--max-val-examples must be >= 0 \(0: all\), got -5" train --max-val-examples -5
expect 0 "--max-val-examples arg \(=10000\) +validate on at most this many examples \(0:" train --help
expect 0 "--clip-norm arg \(=1.0\) +global gradient-norm clipping, >= 0 \(0: off\)" train --help
expect 1 "max_val_examples \(--max-val-examples\) must be in \[1, " evolve --max-val-examples 0
expect 1 "--clip-norm must be >= 0 \(0: off\), got -1" train --clip-norm -1
expect 1 "--children-per-device must be in \[1, 64\], got 0" "${evolve[@]}" --children-per-device 0
expect 1 "--eval-batch-size must be positive, got 0" train --eval-batch-size 0
# Arguments and files that were read as something else.
expect 2 "too many positional options" train extra
expect 2 "too many positional options" inspect a.h5 b.h5
expect 1 "config file \. is a directory" train --config .
printf '\xef\xbb\xbfsteps = 2\nvalidations = 1\nlayers = 1\nbatch-size = 8\nthreads = 1\n' > bom.cfg
expect 0 "training: 2 steps x batch 8, 1 validations" train --task cmaterdb_bangla --config bom.cfg --save plain.h5
expect 1 "duplicate task 'cmaterdb_bangla'" evolve --tasks cmaterdb_bangla,cmaterdb_bangla
expect 0 "Nothing was saved \(no --output\): running the command again starts from the beginning" \
  "${evolve[@]}" --layers 1 --max-generations 1
# --root gives munet evolve the whole shape; model options beside it are refused, not dropped.
expect 1 "--layers with --root: munet evolve takes the whole shape from the root file plain.h5" "${evolve[@]}" --root plain.h5 --layers 1
expect 1 "--image-size with --root" "${evolve[@]}" --root plain.h5 --image-size 48
# An exported evolved model (with adapters) is not a root, and the message says why.
for seed in 1 2 3 4 5 6; do
  "$munet" evolve --tasks cmaterdb_bangla --task-iterations 2 --children-per-task 6 --parallel-slots 1 --validations 1 \
    --steps-per-validation 4 --batch-size 16 --max-val-examples 100 --threads 1 --layers 2 --mu 0.3 --seed $seed --output ad$seed \
    > /dev/null 2>&1 || fail "adapter run $seed"
  "$munet" export ad$seed/checkpoints/$(ls ad$seed/checkpoints | tail -1) --task cmaterdb_bangla --output ad.h5 > /dev/null
  h5ls -r ad.h5 | grep -q adapter && break
  rm ad.h5
done
test -f ad.h5 || fail "no evolved model with an adapter came out of 6 seeds"
expect 1 "--root ad.h5: the model has [0-9]+ adapter components? \(an evolved model from munet export\); a root must be a plain ViT" \
  "${evolve[@]}" --root ad.h5
echo "options CLI: all checks passed"
