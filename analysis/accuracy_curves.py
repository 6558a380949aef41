#!/usr/bin/python3
"""Accuracy over generations, one panel per task: every child's validation accuracy (filled:
accepted into the task's population, x: discarded by early pruning), the task's best model so
far (µ2Net's rule: highest score, ties to the newest) with its test accuracy at each turn end,
and the task's turns shaded.

It exists to show how each task's evolution progressed and whether later turns (with other
tasks' layers in the pool) still improved it. Everything comes from the checkpoint's /models
table: munet tests every task's best model at each turn end and keeps that test accuracy in the
model's row (only those models have one), so the test curve has a point per turn end.

  accuracy_curves.py CHECKPOINT --out accuracy.png
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoint_data  # noqa: E402
from plot_style import plt, save, task_colour  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


def best_curve(ck, task, last_generation):
    """For generations 0..last_generation: (validation accuracy, score) of the task's best
    model once that generation has ended, None before its first accepted child."""
    models = sorted((m for m in ck.models if m.task == task and m.accepted), key=ck.global_generation)
    out, best, i = [], None, 0
    for g in range(last_generation + 1):
        while i < len(models) and ck.global_generation(models[i]) <= g:
            m = models[i]
            if best is None or (m.score, m.id) > (best.score, best.id):
                best = m
            i += 1
        out.append(None if best is None else (best.quality, best.score))
    return out


def test_curve(ck, task):
    """(generation, test accuracy) of the task's best model at each turn end: munet tests every
    task's best model when a turn ends, and /models keeps that test accuracy."""
    out = []
    for turn in range(ck.turns_done):
        mid = ck.best_after_turn(turn).get(task)
        if mid is not None and ck.model_by_id[mid].test_accuracy >= 0:
            out.append(((turn + 1) * ck.generations_per_turn, ck.model_by_id[mid].test_accuracy))
    return out


def plot(ck, path):
    n = len(ck.tasks)
    gpt = ck.generations_per_turn
    last = max([ck.global_generation(m) for m in ck.models] + [ck.generations_done - 1, 0])
    fig, axes = plt.subplots(n, 1, figsize=(11, 1.0 + 2.3 * n), sharex=True, squeeze=False)
    for t, ax in zip(ck.tasks, axes[:, 0]):
        colour = task_colour(t.index)
        for turn in ck.task_turns(t.index):
            ax.axvspan(turn * gpt + 0.5, (turn + 1) * gpt + 0.5, color=colour, alpha=0.08, lw=0)
        kids = [m for m in ck.models if m.task == t.index]
        acc = [m for m in kids if m.accepted]
        rej = [m for m in kids if not m.accepted]
        if acc:
            ax.scatter([ck.global_generation(m) + 1 for m in acc], [m.quality for m in acc], s=18, color=colour,
                       alpha=0.7, label="child (accepted)", zorder=3)
        if rej:
            ax.scatter([ck.global_generation(m) + 1 for m in rej], [m.quality for m in rej], s=18, marker="x",
                       color=colour, alpha=0.6, label="child (discarded)", zorder=3)
        curve = best_curve(ck, t.index, last)
        xs = [g + 1 for g, c in enumerate(curve) if c is not None]
        if xs:
            ax.step(xs, [c[0] for c in curve if c is not None], where="post", color="black", lw=1.4,
                    label="best model: validation accuracy", zorder=4)
            if any(abs(c[0] - c[1]) > 1e-12 for c in curve if c is not None):
                ax.step(xs, [c[1] for c in curve if c is not None], where="post", color="black", lw=1, ls=":",
                        label="best model: score", zorder=4)
        test = test_curve(ck, t.index)
        if test:
            ax.step([x for x, _ in test], [a for _, a in test], where="post", color="goldenrod", lw=1, ls="--",
                    zorder=4)
            ax.scatter([x for x, _ in test], [a for _, a in test], marker="D", s=28, color="gold",
                       edgecolor="black", zorder=5,
                       label="best model: test accuracy at turn ends (last %.2f%%)" % (100 * test[-1][1]))
        if not kids:
            ax.text(0.5, 0.5, "no children yet", transform=ax.transAxes, ha="center", va="center", color="grey")
        ax.set_ylabel("accuracy")
        staged = "stage %d, " % (t.stage + 1) if ck.stages > 1 else ""
        ax.set_title("%s  (%sits turns shaded)" % (t.name, staged), fontsize=10, loc="left", color=colour)
        for stage in range(1, ck.stages):  # where each later stage joined the system
            x = ck.stage_first_turn(stage) * gpt + 0.5
            ax.axvline(x, color="grey", ls="--", lw=0.8, zorder=1)
            if t.index == ck.tasks[0].index:
                ax.annotate("stage %d" % (stage + 1), (x, 1), xycoords=("data", "axes fraction"), fontsize=7,
                            color="grey", ha="left", va="top", xytext=(2, -2), textcoords="offset points")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    axes[-1, 0].set_xlabel("generation (over the whole run; %d per task turn)" % gpt)
    axes[-1, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[-1, 0].set_xlim(0.5, max(last + 1, ck.total_generations) + 0.9)
    fig.suptitle("Validation accuracy over generations (%s)" % os.path.basename(ck.path), fontsize=11)
    fig.tight_layout()
    return save(fig, path)


def main():
    ap = checkpoint_data.parser(__doc__)
    ap.add_argument("--out", default="accuracy.png", help="PNG to write (default: accuracy.png)")
    a = ap.parse_args()
    print(plot(checkpoint_data.load(a.checkpoint), a.out))
    return 0


if __name__ == "__main__":
    checkpoint_data.cli(main)
