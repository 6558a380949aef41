#!/usr/bin/env python3
"""Checks, with h5py alone, that a grown run kept its earlier tasks bit-identical: for each of the
first N tasks of BASE (a finished checkpoint), GROWN has the same best model, test accuracy and
validation accuracy, and every component on that model's route has the same parameters, momentum,
owner and the earlier tasks' locks. Also that GROWN's tasks after the first N are in later stages.
usage: check_grown.py BASE.h5 GROWN.h5 N"""
import sys

import h5py
import numpy as np


def fail(msg):
    sys.exit(f"FAILED: {msg}")


def tree(group):
    out = {}
    group.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


base_path, grown_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with h5py.File(base_path, "r") as b, h5py.File(grown_path, "r") as g:
    bt, gt = b["tasks"], g["tasks"]
    stage = gt["stage"][()]
    if list(stage[:n]) != [0] * n or not all(s > 0 for s in stage[n:]):
        fail(f"stages {list(stage)}: the first {n} tasks should be stage 0 and the rest later")
    for col in ("name", "best_model", "test_accuracy", "validation_accuracy", "children", "accepted"):
        if not np.array_equal(bt[col][:n], gt[col][:n]):
            fail(f"/tasks/{col} of the first {n} tasks: {bt[col][:n]} before, {gt[col][:n]} grown")
    models = {}
    for f in (b, g):
        m = f["models"]
        ids, off, comp = m["id"][()], m["route_offsets"][()], m["route_component"][()]
        models[f] = {int(i): comp[off[k]:off[k + 1]] for k, i in enumerate(ids)}
    checked = 0
    for t in range(n):
        best = int(bt["best_model"][t])
        route = models[b][best]
        if not np.array_equal(route, models[g][best]):
            fail(f"task {t}: the best model {best} has another route")
        for c in route:
            name = f"pool/components/{int(c):08d}"
            if name not in g:
                fail(f"component {c} of task {t}'s best model is gone from the grown pool")
            bc, gc = b[name], g[name]
            for a in ("owner", "size"):
                if not np.array_equal(bc.attrs[a], gc.attrs[a]):
                    fail(f"component {c}: attribute {a} {bc.attrs[a]} before, {gc.attrs[a]} grown")
            # A later task may lock a shared component too; the earlier tasks' locks stay.
            early = [int(x) for x in gc.attrs["locks"] if x < n]
            if early != [int(x) for x in bc.attrs["locks"]]:
                fail(f"component {c}: locks {list(bc.attrs['locks'])} before, {list(gc.attrs['locks'])} grown")
            bv, gv = tree(bc), tree(gc)
            if bv.keys() != gv.keys() or any(bv[k].tobytes() != gv[k].tobytes() for k in bv):
                fail(f"component {c} of task {t}'s best model: parameters differ")
            checked += 1
    print(f"grown run: the first {n} tasks' best models, test accuracies and {checked} route components "
          f"(parameters, momentum, owner, locks) are bit-identical; later tasks in stages {sorted(set(stage[n:]))}")
