#!/usr/bin/python3
"""Checks compare_runs.py's tables against `munet inspect --json` (accuracies, parameters added,
activated share) and the genealogy CSVs (training images and seconds per task, first-generation
best validation), recomputing the win counts; exits 1 naming the first mismatch.

  check_compare.py COMPARE.md FIRST.md LABEL=INSPECT.json:GENEALOGY.csv ...   (the first is the reference run)
"""
import csv
import json
import sys


def table(path, header_start):
    """The rows of the Markdown table whose header line starts with header_start, as cell lists."""
    rows, inside = [], False
    for line in open(path):
        line = line.strip()
        if line.startswith(header_start):
            inside = True
            continue
        if inside:
            if not line.startswith("|"):
                break
            if not line.startswith("|---"):
                rows.append([c.strip() for c in line.strip("|").split("|")])
    if not rows:
        sys.exit("FAILED: %s: no table starting %r" % (path, header_start))
    return rows


def check(cond, what):
    if not cond:
        sys.exit("FAILED: " + what)


def main():
    compare, first, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
    runs = []
    for spec in specs:
        label, files = spec.split("=")
        js, gen = files.split(":")
        tasks = {t["task"]: t for t in json.load(open(js))["tasks"]}
        children = [r for r in csv.DictReader(open(gen)) if r["task"] != "root"]
        runs.append((label, tasks, children))
    rows = {(r[0], r[1]): r for r in table(compare, "| task | run |")}
    for label, tasks, children in runs:
        for name, t in tasks.items():
            r = rows.get((name, label))
            check(r is not None, "no row for %s / %s" % (name, label))
            mine = [c for c in children if c["task"] == name]
            want = ["%.2f%%" % (100 * t["test_accuracy"]), "%.2f%%" % (100 * t["validation_accuracy"]),
                    "{:,}".format(t["params_created"]), "%.1f%%" % (100 * t["activated_share"]),
                    "{:,}".format(sum(int(c["train_images"]) for c in mine)),
                    "%.3f" % (sum(float(c["train_seconds"]) for c in mine) / 3600)]
            check(r[2:] == want, "%s / %s: %s, expected %s" % (name, label, r[2:], want))
    ref_label, ref, _ = runs[0]
    wins = {r[0]: r[1:] for r in table(compare, "| against |")}
    for label, tasks, _ in runs[1:]:
        both = [n for n in ref if n in tasks]
        won = [n for n in both if ref[n]["test_accuracy"] > tasks[n]["test_accuracy"]]
        lean = [n for n in won if ref[n]["params_created"] < tasks[n]["params_created"]]
        want = [str(len(both)), str(len(won)), str(len(lean))]
        check(wins.get(label) == want, "wins against %s: %s, expected %s" % (label, wins.get(label), want))
    firsts = {r[0]: r[1:] for r in table(first, "| task |")}
    for k, (label, tasks, children) in enumerate(runs):
        for name in tasks:
            gen0 = [float(c["quality"]) for c in children
                    if c["task"] == name and c["iteration"] == "0" and c["generation"] == "0"]
            want = "%.2f%%" % (100 * max(gen0))
            check(firsts[name][k] == want, "first generation of %s in %s: %s, expected %s"
                  % (name, label, firsts[name][k], want))
    print("compare_runs.py tables agree with inspect --json and the genealogy CSVs")


main()
