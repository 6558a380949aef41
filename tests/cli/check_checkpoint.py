#!/usr/bin/python3
"""Reads a munet checkpoint with h5py alone (no munet code) and checks the paths, shapes and
values io/SCHEMA.md promises against what `munet inspect --json` reported for the same file.
usage: check_checkpoint.py CHECKPOINT INSPECT_JSON"""
import json
import sys

import h5py
import numpy as np


def main(path, report_path):
    report = json.load(open(report_path))
    failures = []

    def expect(cond, what):
        if not cond:
            failures.append(what)

    with h5py.File(path, "r") as f:
        expect(f.attrs["format"] == "munet-checkpoint", "format attribute")
        expect(int(f.attrs["format_version"]) == report["format_version"] == 4, "format_version")
        expect(int(f.attrs["complete"]) == 1, "complete marker")
        for group in ["config", "tasks", "progress", "models", "pool/index", "pool/components", "run_info"]:
            expect(group in f, "group /" + group)
        tasks = [t["task"] for t in report["tasks"]]
        expect(list(f["config"].attrs["tasks"]) == tasks, "config tasks")
        expect([n.decode() if isinstance(n, bytes) else n for n in f["tasks/name"][()]] == tasks, "/tasks/name")
        expect(int(f["progress"].attrs["generations_done"]) == report["generations_done"], "generations_done")
        expect(int(f["progress"].attrs["total_generations"]) == report["total_generations"], "total_generations")
        n_models = report["models"]
        for col in ["id", "task", "parent", "quality", "score", "test_accuracy", "params", "accepted"]:
            expect(f["models/" + col].shape == (n_models,), "/models/%s shape" % col)
        expect(f["models/hparams"].shape == (n_models, len(f["models"].attrs["hparam_names"])), "/models/hparams")
        expect(f["models/route_offsets"].shape == (n_models + 1,), "/models/route_offsets")
        ids = list(f["models/id"][()])
        for i, t in enumerate(report["tasks"]):
            expect(int(f["tasks/best_model"][i]) == t["best_model"], "best model of " + t["task"])
            expect(float(f["tasks/test_accuracy"][i]) == t["test_accuracy"], "test accuracy of " + t["task"])
            row = ids.index(t["best_model"])
            expect(float(f["models/test_accuracy"][row]) == t["test_accuracy"], "model test accuracy " + t["task"])
            expect(float(f["models/quality"][row]) == t["validation_accuracy"], "validation accuracy " + t["task"])
            expect(int(f["models/params"][row]) == t["activated_params"], "activated params " + t["task"])
            # The best model's route: every component is in the pool; its values add up to params.
            lo, hi = f["models/route_offsets"][row], f["models/route_offsets"][row + 1]
            total = 0
            for c in f["models/route_component"][lo:hi]:
                g = f["pool/components/%08d" % c]
                sizes = []
                g["values"].visititems(lambda name, obj: sizes.append(obj.size) if isinstance(obj, h5py.Dataset) else None)
                expect(sum(sizes) == int(g.attrs["size"]), "values of component %d" % c)
                expect(all(np.isfinite(d[()]).all() for d in _datasets(g["values"])), "finite values %d" % c)
                total += sum(sizes)
            expect(total == t["activated_params"], "route parameters of " + t["task"])
        index = f["pool/index"]
        expect(len(index["id"]) == report["pool"]["components"] == len(f["pool/components"]), "pool components")
        expect(int(index["size"][()].sum()) == report["pool"]["parameters"] == int(f["pool"].attrs["parameters"]),
               "pool parameters")
        chunked = [d.chunks is not None for g in f["pool/components"].values() for d in _datasets(g["values"])]
        expect(all(chunked), "parameter datasets are chunked")
    if failures:
        print("FAILED:", "; ".join(failures))
        return 1
    print("checkpoint %s matches munet inspect: %d tasks, %d models, %d components, %d parameters" % (
        path, len(report["tasks"]), report["models"], report["pool"]["components"], report["pool"]["parameters"]))
    return 0


def _datasets(group):
    out = []
    group.visititems(lambda name, obj: out.append(obj) if isinstance(obj, h5py.Dataset) else None)
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
