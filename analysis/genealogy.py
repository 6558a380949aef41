#!/usr/bin/python3
"""The genealogy of a task's best model: its parent chain back to the root, each model with its
task, when it was sampled, validation accuracy and parameters, and on each edge the mutations
that made the child from its parent (hyperparameters, cloned/added layers, new head, ...).

It exists to show how a solution was found: which tasks' models it descends from (knowledge
transfer) and which mutations paid off. It reads /models (parent, mutation lists).

  genealogy.py CHECKPOINT --task TASK [--model ID] --out genealogy.png   (the chain as text on stdout)
"""
import os
import sys
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoint_data  # noqa: E402
from plot_style import plt, save, task_colour  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

LINE = 0.19  # inches per text line
WRAP = 62


def describe(ck, m):
    if m.task == checkpoint_data.ROOT_TASK:
        return "model %d: root (%d params)" % (m.id, m.params)
    return "model %d: %s, iteration %d generation %d, val %.2f%%%s, %d params (%d trained)" % (
        m.id, ck.task_name(m.task), m.iteration + 1, m.generation + 1, 100 * m.quality,
        ", test %.2f%%" % (100 * m.test_accuracy) if m.test_accuracy >= 0 else "", m.params, m.new_params)


def edge_text(m):
    return "; ".join(m.mutations) if m.mutations else "(no mutation)"


def wrap(items):
    """Lines of at most WRAP characters, never splitting one mutation (unless it alone is longer)."""
    lines = []
    for item in items:
        if lines and len(lines[-1]) + 2 + len(item) <= WRAP:
            lines[-1] += "; " + item
        else:
            if lines:
                lines[-1] += ";"
            lines.extend(textwrap.wrap(item, WRAP, break_on_hyphens=False) or [""])
    return lines


def target(ck, task_name=None, model_id=None):
    """The model whose genealogy to draw: --model, else the task's best model."""
    if model_id is not None:
        if model_id not in ck.model_by_id:
            raise checkpoint_data.CheckpointError("%s: /models has no model %d" % (ck.path, model_id))
        return model_id
    t = ck.tasks[ck.task_index(task_name)]
    if t.best_model == -1:
        raise checkpoint_data.CheckpointError("%s: task %s has no best model yet (its first turn has not ended)"
                                              % (ck.path, t.name))
    return t.best_model


def text(ck, model_id):
    chain = ck.ancestry(model_id)
    lines = ["genealogy of model %d (%d models, root first):" % (model_id, len(chain))]
    for i, m in enumerate(chain):
        if i:
            lines.append("    | " + edge_text(m))
        lines.append("  " + describe(ck, m))
    return "\n".join(lines) + "\n"


def plot(ck, model_id, path):
    chain = ck.ancestry(model_id)
    edges = [wrap(m.mutations or ["(no mutation)"]) for m in chain[1:]]
    box_lines = 2
    total_lines = 1.0 + len(chain) * (box_lines + 0.4 + 1.2) + sum(len(e) + 0.8 for e in edges)
    height = max(2.5, total_lines * LINE)
    fig, ax = plt.subplots(figsize=(9.5, height))
    ax.set_xlim(0, 10)
    ax.set_ylim(total_lines, 0)
    ax.axis("off")
    y = 1.0
    prev_bottom = None
    for i, m in enumerate(chain):
        if i:
            lines = edges[i - 1]
            top = y
            y += len(lines) + 0.8
            ax.annotate("", xy=(1.6, y), xytext=(1.6, prev_bottom), zorder=1,
                        arrowprops=dict(arrowstyle="-|>", color=task_colour(m.task), lw=1.6))
            ax.text(1.9, top + 0.4, "\n".join(lines), fontsize=7.5, va="top", ha="left", family="monospace",
                    color="#222222")
        h = box_lines + 0.4
        box = FancyBboxPatch((0.2, y), 9.5, h, boxstyle="round,pad=0,rounding_size=0.15",
                             facecolor=task_colour(m.task), alpha=0.25, edgecolor=task_colour(m.task), lw=1.5)
        ax.add_patch(box)
        head, _, rest = describe(ck, m).partition(": ")
        ax.text(0.4, y + 0.3, head + ("  (best of %s)" % ck.task_name(m.task)
                                      if m.task >= 0 and ck.tasks[m.task].best_model == m.id else ""),
                fontsize=8.5, va="top", ha="left", weight="bold")
        ax.text(0.4, y + 1.3, rest, fontsize=8, va="top", ha="left")
        prev_bottom = y + h
        y += h + 1.2
    target_model = chain[-1]
    ax.set_title("Genealogy of %s model %d (%s)" % (ck.task_name(target_model.task), target_model.id,
                                                   os.path.basename(ck.path)), fontsize=10)
    return save(fig, path)


def main():
    ap = checkpoint_data.parser(__doc__)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--task", help="draw this task's best model's genealogy")
    g.add_argument("--model", type=int, help="draw this model's genealogy (a /models id)")
    ap.add_argument("--out", default="genealogy.png", help="PNG to write (default: genealogy.png)")
    a = ap.parse_args()
    ck = checkpoint_data.load(a.checkpoint)
    mid = target(ck, a.task, a.model)
    sys.stdout.write(text(ck, mid))
    print(plot(ck, mid, a.out))
    return 0


if __name__ == "__main__":
    checkpoint_data.cli(main)
