#!/usr/bin/python3
"""Makes a report folder from a munet checkpoint: index.html with the results table and every
figure (accuracy over generations, pool growth, the architecture, each task's best model's
genealogy), the PNGs, results.md / results.csv and pool.csv.

It exists so that one command turns a run into something to look at in a browser or attach to
a write-up; jobs/quickstart.sh ends with it. Each figure is also a tool of its own (see
analysis/README.md).

  report.py CHECKPOINT_OR_RUN_FOLDER --out DIR
"""
import html
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoint_data  # noqa: E402
import accuracy_curves  # noqa: E402
import architecture  # noqa: E402
import genealogy  # noqa: E402
import pool_growth  # noqa: E402
import results_table  # noqa: E402


def caption(module):
    """The first paragraph of a tool's header comment, on one line."""
    return " ".join(module.__doc__.split("\n\n")[0].split())


def results_html(ck):
    head = ["task", "best model", "validation accuracy", "test accuracy", "activated params",
            "params added (created)", "of which on its route", "activated share", "accepted / children"]
    out = ["<table>", "<tr>" + "".join("<th>%s</th>" % h for h in head) + "</tr>"]
    for r in results_table.rows(ck):
        if r["best_model"] == -1:
            cells = [r["task"], "–", "–", "–", "–", str(r["params_created"]), "–", "–"]
        else:
            cells = [r["task"], str(r["best_model"]), results_table.percent(r["validation_accuracy"]),
                     results_table.percent(r["test_accuracy"]), str(r["activated_params"]), str(r["params_created"]),
                     str(r["owned_params"]), "%.1f%%" % (100 * r["activated_share"])]
        cells.append("%d / %d" % (r["accepted"], r["children"]))
        out.append("<tr>" + "".join("<td>%s</td>" % html.escape(c) for c in cells) + "</tr>")
    out.append("</table>")
    out.append("<h3>Task data</h3>")
    out.append("<table><tr><th>task</th><th>stage (joined after generation)</th><th>content hash (XXH3-128)</th>"
               "<th>source</th></tr>")
    for r, t in zip(results_table.rows(ck), ck.tasks):
        out.append("<tr>" + "".join("<td>%s</td>" % html.escape(c) for c in [
            r["task"], "%d (%d)" % (t.stage + 1, t.joined_at), r["content_hash"] or "(not recorded)",
            r["source"] or "(not recorded)"]) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def make(ck, out):
    os.makedirs(out, exist_ok=True)
    results_table.write(ck, os.path.join(out, "results.md"), os.path.join(out, "results.csv"))
    figures = []  # (file, heading, caption)
    accuracy_curves.plot(ck, os.path.join(out, "accuracy.png"))
    figures.append(("accuracy.png", "Accuracy over generations", caption(accuracy_curves)))
    rows = pool_growth.growth(ck)
    pool_growth.write_csv(ck, rows, os.path.join(out, "pool.csv"))
    pool_growth.plot(ck, os.path.join(out, "pool.png"), rows)
    note = ""
    if any(r["parameters"] is None for r in rows):
        note = " The checkpoint does not determine the pool size after some turns; those bars are missing."
    figures.append(("pool.png", "Pool size and activated share as tasks are added", caption(pool_growth) + note))
    architecture.plot(ck, os.path.join(out, "architecture.png"))
    figures.append(("architecture.png", "Architecture: routes through the pool", caption(architecture)))
    chains = []
    for t in ck.tasks:
        if t.best_model == -1:
            continue
        name = "genealogy-%s.png" % re.sub(r"[^A-Za-z0-9_.-]", "_", t.name)
        genealogy.plot(ck, t.best_model, os.path.join(out, name))
        figures.append((name, "Genealogy of %s's best model %d" % (t.name, t.best_model), caption(genealogy)))
        chains.append(genealogy.text(ck, t.best_model))
    with open(os.path.join(out, "genealogy.txt"), "w") as f:
        f.write("\n".join(chains) if chains else "no task has a best model yet\n")

    info = ck.run_info
    facts = [("checkpoint", os.path.abspath(ck.path)),
             ("command", info.get("command_line", "")),
             ("written", "%s by munet %s on %s (%s ranks)" % (info.get("written_at", "?"), info.get("munet_version", "?"),
                                                            info.get("host", "?"), info.get("ranks", "?"))),
             ("progress", "%d of %d generations done%s; %d models sampled" % (
                 ck.generations_done, ck.total_generations,
                 " (complete)" if ck.generations_done == ck.total_generations else "", len(ck.models))),
             ("pool", "%d components, %d parameters (root %d)" % (ck.pool_components, ck.pool_parameters,
                                                                  ck.root_parameters))]
    parts = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\"><title>munet report: %s</title>"
             % html.escape(os.path.basename(ck.path)),
             "<style>body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
             "td:first-child,th:first-child{text-align:left}img{max-width:100%;border:1px solid #eee}"
             "dt{font-weight:bold}pre{background:#f6f6f6;padding:.5em;overflow-x:auto}</style></head><body>",
             "<h1>munet report</h1>", "<dl>"]
    for k, v in facts:
        parts.append("<dt>%s</dt><dd>%s</dd>" % (html.escape(k), html.escape(str(v))))
    parts.append("</dl>")
    parts.append("<h2>Results per task</h2>")
    parts.append(results_html(ck))
    parts.append("<p>Also as <a href=\"results.md\">Markdown</a> and <a href=\"results.csv\">CSV</a>; "
                 "pool growth values in <a href=\"pool.csv\">pool.csv</a>; genealogies as text in "
                 "<a href=\"genealogy.txt\">genealogy.txt</a>.</p>")
    for name, heading, text in figures:
        parts.append("<h2>%s</h2>" % html.escape(heading))
        parts.append("<p>%s</p>" % html.escape(text))
        parts.append("<p><img src=\"%s\" alt=\"%s\"></p>" % (html.escape(name), html.escape(heading)))
    if chains:
        parts.append("<h2>Genealogies as text</h2><pre>%s</pre>" % html.escape("\n".join(chains)))
    parts.append("</body></html>")
    index = os.path.join(out, "index.html")
    with open(index, "w") as f:
        f.write("\n".join(parts) + "\n")
    return index, [os.path.join(out, n) for n, _, _ in figures]


def main():
    ap = checkpoint_data.parser(__doc__)
    ap.add_argument("--out", required=True, help="report folder to write (created if missing)")
    a = ap.parse_args()
    ck = checkpoint_data.load(a.checkpoint)
    index, pngs = make(ck, a.out)
    print("report of %s: %s (%d figures)" % (ck.path, index, len(pngs)))
    return 0


if __name__ == "__main__":
    checkpoint_data.cli(main)
