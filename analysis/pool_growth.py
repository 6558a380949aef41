#!/usr/bin/python3
"""Pool size and average activated share as tasks are added: after the root and after each
task's turn, the pool's parameters (stacked by the task that created them), and the share of
the pool each task's best model activates (their average in black).

It exists to show µ2Net's claim on one run: the system grows with every task while each task
activates a bounded part of it. A checkpoint holds only the current pool, so the earlier ones
are rebuilt from its /models table (checkpoint_data.ComponentSizes): a turn's end keeps the
root's route and each task's best model, the best being the highest score so far (ties to the
newest); sizes of pruned components come from the models' params/new_params. A value the
checkpoint does not determine is left out and reported. The rebuilt values agree with the
checkpoints written at those turn ends (tests/analysis checks this).

  pool_growth.py CHECKPOINT --out pool.png [--csv pool.csv]
"""
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoint_data  # noqa: E402
from plot_style import plt, save, task_colour  # noqa: E402

ROOT = checkpoint_data.ROOT_TASK


def creators(ck):
    """Owner task of every component on any route: the task of the model that created it (the
    one it is trainable on), the pool's owner when the pool still holds it; the root's: -1."""
    owner = {}
    for m in sorted(ck.models, key=lambda m: m.id):
        for r in m.route:
            if r.trainable and r.component not in owner:
                owner[r.component] = m.task
    for r in ck.model_by_id[ck.root_model].route:
        owner.setdefault(r.component, ROOT)
    for c in ck.pool:
        owner[c.id] = c.owner
    return owner


def growth(ck):
    """One row per step: the root alone, then after each finished turn."""
    sizes = ck.component_sizes()
    owner = creators(ck)
    root_comps = {r.component for r in ck.model_by_id[ck.root_model].route}
    rows = [{"turn": -1, "iteration": -1, "task": "root", "components": len(root_comps),
             "parameters": sizes.total(root_comps), "by_owner": {ROOT: sizes.total(root_comps)}, "shares": {}}]
    for turn in range(ck.turns_done):
        comps, total, best = ck.pool_after_turn(turn, sizes)
        iteration, task = ck.turn_of(turn)
        by_owner = {}
        for o in sorted({owner.get(c, ROOT) for c in comps}):
            by_owner[o] = sizes.total({c for c in comps if owner.get(c, ROOT) == o})
        shares = {t: ck.model_by_id[b].params / total for t, b in best.items()} if total else {}
        rows.append({"turn": turn, "iteration": iteration, "task": ck.tasks[task].name,
                     "stage": ck.tasks[task].stage, "components": len(comps),
                     "parameters": total, "by_owner": by_owner, "shares": shares})
    for r in rows:
        r["average_share"] = sum(r["shares"].values()) / len(r["shares"]) if r["shares"] else None
    return rows


def write_csv(ck, rows, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["after", "iteration", "task", "components", "parameters", "average_activated_share"]
                   + ["share_" + t.name for t in ck.tasks])
        for r in rows:
            w.writerow(["root" if r["turn"] < 0 else "turn %d" % (r["turn"] + 1), r["iteration"] + 1 if r["turn"] >= 0 else "",
                        r["task"], r["components"], "" if r["parameters"] is None else r["parameters"],
                        "" if r["average_share"] is None else repr(r["average_share"])]
                       + [repr(r["shares"][t.index]) if t.index in r["shares"] else "" for t in ck.tasks])


def plot(ck, path, rows=None):
    rows = rows or growth(ck)
    staged = ck.stages > 1
    labels = ["root"] + ["%s\n(%siteration %d)" % (r["task"], "stage %d, " % (r["stage"] + 1) if staged else "",
                                                   r["iteration"] + 1) for r in rows[1:]]
    xs = list(range(len(rows)))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(7, 1.1 * len(rows) + 3), 7.5), sharex=True)
    owners = [ROOT] + [t.index for t in ck.tasks]
    bottoms = [0.0] * len(rows)
    for o in owners:
        vals = [r["by_owner"].get(o) for r in rows]
        if not any(vals):
            continue
        h = [(v or 0) / 1e6 for v in vals]
        top.bar(xs, h, bottom=bottoms, color=task_colour(o), width=0.6,
                label="root" if o == ROOT else "created by " + ck.tasks[o].name)
        bottoms = [b + v for b, v in zip(bottoms, h)]
    for x, r in zip(xs, rows):
        text = ("%d comp.\n%.2fM" % (r["components"], r["parameters"] / 1e6)) if r["parameters"] is not None \
            else "%d comp.\nsize n/a" % r["components"]
        top.annotate(text, (x, bottoms[x]), ha="center", va="bottom", fontsize=7, xytext=(0, 2),
                     textcoords="offset points")
    top.set_ylabel("pool parameters (millions)")
    top.set_ylim(0, max(bottoms + [1e-6]) * 1.25)
    top.legend(fontsize=7, loc="upper left")
    top.grid(axis="y", alpha=0.3)
    top.set_title("Pool size and activated share as tasks are added (%s)" % os.path.basename(ck.path), fontsize=11)

    for t in ck.tasks:
        pts = [(x, r["shares"][t.index]) for x, r in zip(xs, rows) if t.index in r["shares"]]
        if pts:
            bottom.plot([p[0] for p in pts], [100 * p[1] for p in pts], marker="o", ms=4, lw=1,
                        color=task_colour(t.index), alpha=0.8, label=t.name)
    avg = [(x, r["average_share"]) for x, r in zip(xs, rows) if r["average_share"] is not None]
    if avg:
        bottom.plot([p[0] for p in avg], [100 * p[1] for p in avg], marker="s", color="black", lw=2,
                    label="average over tasks")
        bottom.legend(fontsize=7, loc="upper right")
    else:
        bottom.text(0.5, 0.5, "no task has finished a turn yet", transform=bottom.transAxes, ha="center",
                    color="grey")
    bottom.set_ylabel("activated share of the pool (%)")
    bottom.set_ylim(0, 105)
    bottom.grid(alpha=0.3)
    for x, (a, b) in enumerate(zip(rows, rows[1:])):  # where a later stage joined the system
        if a["turn"] >= 0 and b["stage"] != a["stage"]:
            for ax in (top, bottom):
                ax.axvline(x + 0.5, color="grey", ls="--", lw=0.8)
            bottom.annotate("stage %d joins" % (b["stage"] + 1), (x + 0.5, 2), fontsize=7, color="grey", ha="left",
                            va="bottom", xytext=(2, 0), textcoords="offset points")
    bottom.set_xticks(xs)
    bottom.set_xticklabels(labels, fontsize=7, rotation=30 if len(rows) > 6 else 0)
    bottom.set_xlabel("after the turn of")
    fig.tight_layout()
    return save(fig, path)


def main():
    ap = checkpoint_data.parser(__doc__)
    ap.add_argument("--out", default="pool.png", help="PNG to write (default: pool.png)")
    ap.add_argument("--csv", metavar="FILE", help="also write the values as CSV")
    a = ap.parse_args()
    ck = checkpoint_data.load(a.checkpoint)
    rows = growth(ck)
    for r in rows:
        print("%-44s %4d components  %12s parameters  average activated share %s" % (
            "root" if r["turn"] < 0 else "turn %d (%s, iteration %d)" % (r["turn"] + 1, r["task"], r["iteration"] + 1),
            r["components"], "n/a" if r["parameters"] is None else r["parameters"],
            "-" if r["average_share"] is None else "%.1f%%" % (100 * r["average_share"])))
    missing = [r for r in rows if r["parameters"] is None]
    if missing:
        print("note: the checkpoint does not determine the pool size after %d of the turns" % len(missing))
    if a.csv:
        write_csv(ck, rows, a.csv)
    print(plot(ck, a.out, rows))
    return 0


if __name__ == "__main__":
    checkpoint_data.cli(main)
