#!/usr/bin/python3
"""Checks the analysis tools' outputs against munet and the raw checkpoints (h5py only, no
analysis/ code): the results table (CSV and Markdown, the tool's and the report's) equals what
`munet inspect --json` printed; the pool growth rebuilt from the newest checkpoint equals the
pool of the checkpoint written at each turn end; genealogies run from the root to the best
model; every PNG is a non-empty PNG; index.html shows every figure of its folder and each task's
source and content hash.
usage: check_report.py --report DIR [--early] [--inspect JSON --run RUN_DIR --csv ... ]"""
import argparse
import csv
import html
import json
import math
import os
import re
import sys

import h5py

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)


def check_png(path):
    with open(path, "rb") as f:
        head = f.read(8)
    size = os.path.getsize(path)
    expect(head == PNG_SIGNATURE and size > 1000, "%s: not a non-empty PNG (%d bytes)" % (path, size))
    return size


def check_report_folder(folder, want_figures):
    index = open(os.path.join(folder, "index.html")).read()
    pngs = sorted(p for p in os.listdir(folder) if p.endswith(".png"))
    for p in want_figures:
        expect(p in pngs, "%s: no %s" % (folder, p))
    for p in pngs:
        check_png(os.path.join(folder, p))
        expect('src="%s"' % p in index, "%s/index.html does not show %s" % (folder, p))
    for ref in re.findall(r'(?:src|href)="([^"]+)"', index):
        expect(os.path.exists(os.path.join(folder, ref)), "%s/index.html refers to missing %s" % (folder, ref))
    for name in ["results.md", "results.csv", "pool.csv", "genealogy.txt"]:
        expect(os.path.getsize(os.path.join(folder, name)) > 0, "%s/%s is empty" % (folder, name))
    return pngs


def check_csv(path, report):
    rows = list(csv.DictReader(open(path)))
    expect([r["task"] for r in rows] == [t["task"] for t in report["tasks"]], "%s: tasks" % path)
    for r, t in zip(rows, report["tasks"]):
        for key, want in t.items():
            if key == "task":
                continue
            got = r.get(key)
            if isinstance(want, str):
                ok = got == want
            else:
                ok = got is not None and (float(got) == float(want) if isinstance(want, float) else int(got) == want)
            expect(ok, "%s: %s of %s is %s, munet inspect says %s" % (path, key, t["task"], got, want))


def pct(x, digits=2):
    return "%.*f%%" % (digits, 100 * x)


def check_markdown(path, report):
    lines = [l for l in open(path).read().splitlines() if l.startswith("| ") and not l.startswith("| task")]
    expect(len(lines) == len(report["tasks"]), "%s: %d task rows" % (path, len(lines)))
    for line, t in zip(lines, report["tasks"]):
        cells = [c.strip() for c in line.strip("|").split("|")]
        if t["best_model"] == -1:
            want = [t["task"], "–", "–", "–", "–", str(t["params_created"]), "–", "–"]
        else:
            want = [t["task"], str(t["best_model"]), pct(t["validation_accuracy"]), pct(t["test_accuracy"]),
                    str(t["activated_params"]), str(t["params_created"]), str(t["owned_params"]),
                    pct(t["activated_share"], 1)]
        want.append("%d / %d" % (t["accepted"], t["children"]))
        expect(cells == want, "%s: row %s, expected %s" % (path, cells, want))
    pool = report["pool"]
    expect("Pool: %d components, %d parameters (root %d)." % (pool["components"], pool["parameters"],
                                                             pool["root_parameters"]) in open(path).read(),
           "%s: pool line" % path)


def check_pool_growth(path, run):
    """pool.csv's row after turn k equals the pool of run/checkpoints/ckpt-<k*G>.h5."""
    rows = list(csv.DictReader(open(path)))
    ckpts = {int(m.group(1)): os.path.join(run, "checkpoints", n) for n in os.listdir(os.path.join(run, "checkpoints"))
             for m in [re.match(r"^ckpt-(\d+)\.h5$", n)] if m}
    with h5py.File(ckpts[max(ckpts)], "r") as f:
        cfg = f["config"].attrs
        per_turn = math.ceil(int(cfg["children_per_task"]) / int(cfg["parallel_slots"]))
        tasks = [str(t) for t in cfg["tasks"]]
        turns = int(f["progress"].attrs["generations_done"]) // per_turn
    expect(len(rows) == turns + 1 and rows[0]["after"] == "root", "%s: %d rows for %d turns" % (path, len(rows), turns))
    compared = 0
    for k, row in enumerate(rows[1:], start=1):
        g = k * per_turn
        if g not in ckpts:
            continue
        with h5py.File(ckpts[g], "r") as f:
            want_c = int(f["pool"].attrs["components"])
            want_p = int(f["pool"].attrs["parameters"])
            best = f["tasks/best_model"][()]
            share = f["tasks/activated_share"][()]
        expect(row["components"] == str(want_c) and row["parameters"] == str(want_p),
               "%s after turn %d: %s components, %s parameters; ckpt-%06d.h5 has %d, %d"
               % (path, k, row["components"], row["parameters"], g, want_c, want_p))
        for i, name in enumerate(tasks):
            got = row["share_" + name]
            if best[i] == -1:
                expect(got == "", "%s after turn %d: a share for %s before its turn" % (path, k, name))
            else:
                expect(got != "" and math.isclose(float(got), float(share[i]), rel_tol=1e-12),
                       "%s after turn %d: share of %s %s, checkpoint %s" % (path, k, name, got, share[i]))
        compared += 1
    expect(compared == turns, "%s: compared %d of %d turns with their checkpoints" % (path, compared, turns))
    return compared


def check_genealogy(path, report):
    text = open(path).read()
    m = re.match(r"genealogy of model (\d+) \((\d+) models", text)
    expect(m is not None, "%s: header" % path)
    if not m:
        return
    models = re.findall(r"^  model (\d+):", text, re.M)
    expect(len(models) == int(m.group(2)) and models[0] == "0" and models[-1] == m.group(1),
           "%s: chain %s" % (path, models))
    expect(int(m.group(1)) in [t["best_model"] for t in report["tasks"]], "%s: not a best model" % path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--report", required=True)
    ap.add_argument("--early", action="store_true", help="a mid-turn checkpoint: no best model, no genealogy")
    ap.add_argument("--inspect")
    ap.add_argument("--run")
    ap.add_argument("--csv")
    ap.add_argument("--markdown")
    ap.add_argument("--pool-csv")
    ap.add_argument("--genealogy", nargs="*", default=[])
    ap.add_argument("--png", nargs="*", default=[])
    a = ap.parse_args()
    if a.early:
        pngs = check_report_folder(a.report, ["accuracy.png", "pool.png", "architecture.png"])
        expect(not any(p.startswith("genealogy-") for p in pngs), "genealogy figures before any best model")
        print("early report: %d figures" % len(pngs))
    else:
        report = json.load(open(a.inspect))
        tasks = [t["task"] for t in report["tasks"]]
        pngs = check_report_folder(a.report, ["accuracy.png", "pool.png", "architecture.png"] +
                                   ["genealogy-%s.png" % t for t in tasks])
        for p in [a.csv, os.path.join(a.report, "results.csv")]:
            check_csv(p, report)
        for p in [a.markdown, os.path.join(a.report, "results.md")]:
            check_markdown(p, report)
        index = open(os.path.join(a.report, "index.html")).read()
        for t in report["tasks"]:  # each task's data: its hash and source, as munet inspect shows them
            expect(len(t["content_hash"]) == 32 and t["content_hash"] in index and html.escape(t["source"]) in index,
                   "index.html lacks %s's content hash or source" % t["task"])
        turns = 0
        for p in [a.pool_csv, os.path.join(a.report, "pool.csv")]:
            turns = check_pool_growth(p, a.run)
        for p in a.genealogy:
            check_genealogy(p, report)
        for p in a.png:
            check_png(p)
        print("report: %d figures, %d tool figures, results table = munet inspect (%d tasks), pool growth = "
              "checkpoints at %d turn ends" % (len(pngs), len(a.png), len(tasks), turns))
    if failures:
        print("FAILED: " + "\n  ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
