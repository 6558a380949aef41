#!/usr/bin/python3
"""The results table of a munet run, per task: best model, validation and test accuracy,
parameters activated, added and owned, share of the pool activated, children accepted, and
where each task's data came from (source, content hash, task file).

It exists so that a run's outcome can be pasted into a write-up (Markdown) or compared across
runs (CSV) without munet; its numbers are those `munet inspect --json` prints (the CSV's column
names are that JSON's keys). `params_created` is what the task added to the system (pool
parameters in components it owns); `owned_params` the part of it on the best model's route.

  results_table.py CHECKPOINT [--markdown FILE] [--csv FILE]   (Markdown to stdout by default)
"""
import csv
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoint_data  # noqa: E402

COLUMNS = ["task", "best_model", "validation_accuracy", "test_accuracy", "activated_params", "owned_params",
           "params_created", "activated_share", "children", "accepted", "source", "content_hash", "task_file",
           "stage", "joined_at", "task_copy"]


def rows(ck):
    """One dict per task, keyed like `munet inspect --json`'s task objects."""
    out = []
    for t in ck.tasks:
        out.append({"task": t.name, "best_model": t.best_model,
                    "validation_accuracy": t.validation_accuracy if t.best_model != -1 else -1.0,
                    "test_accuracy": t.test_accuracy, "activated_params": t.activated_params,
                    "owned_params": t.owned_params, "params_created": t.params_created,
                    "activated_share": t.activated_share, "children": t.children, "accepted": t.accepted,
                    "source": t.source, "content_hash": t.content_hash, "task_file": t.task_file,
                    "stage": t.stage + 1, "joined_at": t.joined_at, "task_copy": t.task_copy})
    return out


def percent(x):
    return "–" if x < 0 else "%.2f%%" % (100 * x)


def markdown(ck):
    lines = ["| task | best model | validation accuracy | test accuracy | activated params | params added "
             "(created) | of which on its route | activated share | accepted / children |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows(ck):
        if r["best_model"] == -1:
            lines.append("| %s | – | – | – | – | %d | – | – | %d / %d |"
                         % (r["task"], r["params_created"], r["accepted"], r["children"]))
            continue
        lines.append("| %s | %d | %s | %s | %d | %d | %d | %s | %d / %d |" % (
            r["task"], r["best_model"], percent(r["validation_accuracy"]), percent(r["test_accuracy"]),
            r["activated_params"], r["params_created"], r["owned_params"], "%.1f%%" % (100 * r["activated_share"]),
            r["accepted"], r["children"]))
    lines += ["", "Task data (content hash, XXH3-128, and source):", ""]
    for r in rows(ck):
        lines.append("- %s: %s, %s" % (r["task"], r["content_hash"] or "(not recorded)",
                                       r["source"] or "(not recorded)"))
    lines.append("")
    lines.append("Pool: %d components, %d parameters (root %d). Generations: %d of %d done. Models sampled: %d."
                 % (ck.pool_components, ck.pool_parameters, ck.root_parameters, ck.generations_done,
                    ck.total_generations, len(ck.models)))
    return "\n".join(lines) + "\n"


def csv_text(ck):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows(ck):
        w.writerow({k: repr(v) if isinstance(v, float) else v for k, v in r.items()})
    return buf.getvalue()


def write(ck, markdown_path=None, csv_path=None):
    if markdown_path:
        with open(markdown_path, "w") as f:
            f.write(markdown(ck))
    if csv_path:
        with open(csv_path, "w") as f:
            f.write(csv_text(ck))


def main():
    ap = checkpoint_data.parser(__doc__)
    ap.add_argument("--markdown", metavar="FILE", help="write the Markdown table here")
    ap.add_argument("--csv", metavar="FILE", help="write the CSV table here")
    a = ap.parse_args()
    ck = checkpoint_data.load(a.checkpoint)
    write(ck, a.markdown, a.csv)
    if not a.markdown and not a.csv:
        sys.stdout.write(markdown(ck))
    return 0


if __name__ == "__main__":
    checkpoint_data.cli(main)
