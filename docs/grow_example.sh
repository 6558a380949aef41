#!/usr/bin/env bash
# README "Growing a system": a system grown in three steps, on the CPU in about a minute. Run from
# the repository root after tests/run.sh (it needs build/munet and the datasets); writes grow_example/.
# 1. three built-in tasks; 2. two of the user's own packed tasks (--add-tasks); 3. one task file
# dropped into the inbox of a running job (--task-inbox), then the analysis report.
set -euo pipefail
repo=$(pwd)
munet=$repo/build/munet
mkdir -p grow_example && cd grow_example
rm -rf system inbox report
tiny=(--layers 2 --image-size 16 --patch 8 --hidden 32 --mlp 64 --heads 2 --max-image-size 16
      --task-iterations 1 --children-per-task 4 --parallel-slots 2 --validations 2 --steps-per-validation 100
      --batch-size 32 --max-val-examples 200 --seed 3)
# Three small NPZ tasks of 4 classes: a bright band (rows or columns) at one of four places.
/usr/bin/python3 - <<'PY'
import numpy as np
for name, seed, axis in (("stripes", 5, 0), ("columns", 7, 1)):
    rng = np.random.default_rng(seed)
    labels = np.arange(400) % 4
    images = rng.integers(0, 50, size=(400, 12, 12), dtype=np.uint8)
    for i, l in enumerate(labels):
        if axis == 0:
            images[i, 3 * l:3 * l + 3, :] += 200
        else:
            images[i, :, 3 * l:3 * l + 3] += 200
    np.savez(name + ".npz", images=images, labels=labels)
PY
"$repo/build/tests/munet_make_test_images" shapes > /dev/null
# Step 1: three built-in tasks.
"$munet" evolve --tasks mnist,cmaterdb_bangla,cmaterdb_devanagari "${tiny[@]}" --output system | tee step1.log
# Step 2: two packed tasks join the finished system as stage 2.
"$munet" task pack shapes --name shapes --output shapes.h5
"$munet" task pack stripes.npz --name stripes --output stripes.h5
"$munet" evolve --output system --add-tasks shapes.h5,stripes.h5 | tee step2.log
# Step 3: a job that waits on an inbox; a task file is dropped in while it runs (written as .part,
# then renamed), joins as stage 3, and the job exits 30 s after its last task.
mkdir -p inbox
"$munet" evolve --output system --task-inbox inbox --inbox-wait 0.5 > step3.log &
job=$!
"$munet" task pack columns.npz --name columns --output columns.h5
sleep 10  # the job has run out of tasks and waits on the inbox
cp columns.h5 inbox/columns.h5.part && mv inbox/columns.h5.part inbox/columns.h5
wait $job
cat step3.log
/usr/bin/python3 "$repo/analysis/report.py" --out report "system/checkpoints/$(ls system/checkpoints | tail -1)"
