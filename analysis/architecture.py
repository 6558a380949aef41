#!/usr/bin/python3
"""The architecture picture: every component of the pool, coloured by the task that created it
(grey: the root), in one column per owner and one row per layer position, and the route of each
task's best model drawn through them in the task's colour. A component on several tasks' routes
is outlined in black with one dot per task that uses it; components on no task's route (the
root's unused ones, or a turn's children mid-turn) are faded.

It exists to show, as the µ2Net paper's figure does, how the tasks share and extend the system.
It reads /pool/index and the best models' routes from /models.

  architecture.py CHECKPOINT --out architecture.png
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoint_data  # noqa: E402
from plot_style import plt, save, task_colour  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import FancyBboxPatch, Patch  # noqa: E402

ROOT = checkpoint_data.ROOT_TASK


def layer_position(name, layers):
    """Row of a component by its name, in the order of a route (input at the bottom)."""
    fixed = {"embedding": 0, "cls": 1, "encoder_norm": 3 + 2 * layers, "head": 4 + 2 * layers}
    if name in fixed:
        return fixed[name]
    if name.startswith("posembed"):
        return 2
    m = re.match(r"^(adapter|encoderblock)_(\d+)$", name)
    if m:
        return 3 + 2 * int(m.group(2)) + (m.group(1) == "encoderblock")
    return 5 + 2 * layers  # a kind these tools do not know: above the head


def row_label(name):
    return "posembed" if name.startswith("posembed") else name


def human(n):
    return "%.1fM" % (n / 1e6) if n >= 1e6 else "%.0fK" % (n / 1e3) if n >= 1e3 else str(n)


def light(colour, amount=0.35):
    r, g, b = to_rgb(colour)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def plot(ck, path):
    layers = max([int(ck.config.get("layers", 0))] +
                 [int(m.group(1)) + 1 for c in ck.pool for m in [re.match(r"^\D+_(\d+)$", c.name)]
                  if m and not c.name.startswith("posembed")])
    routes = {t.index: ck.model_by_id[t.best_model] for t in ck.tasks if t.best_model != -1}
    users = {}
    for t, m in routes.items():
        for r in m.route:
            users.setdefault(r.component, []).append(t)
    missing = sorted({c for c in users if c not in ck.component_by_id})
    if missing:
        raise checkpoint_data.CheckpointError("%s: best models route through components %s that /pool/index lacks"
                                              % (ck.path, missing))
    positions = sorted({layer_position(c.name, layers) for c in ck.pool})
    row_of = {p: i for i, p in enumerate(positions)}
    names_at = {}
    for c in ck.pool:
        names_at.setdefault(row_of[layer_position(c.name, layers)], set()).add(row_label(c.name))
    owners = [ROOT] + [t.index for t in ck.tasks]
    col_of = {o: i for i, o in enumerate(owners)}

    cells = {}
    for c in sorted(ck.pool, key=lambda c: c.id):
        cells.setdefault((row_of[layer_position(c.name, layers)], col_of[c.owner]), []).append(c)
    centre, width = {}, {}
    for (row, col), comps in cells.items():
        k = len(comps)
        w = 0.86 / k
        for i, c in enumerate(comps):
            centre[c.id] = (col - 0.43 + w * (i + 0.5), row)
            width[c.id] = w * 0.92

    fig_w = max(6.0, 2.3 * len(owners) + 2.5)
    fig_h = max(4.0, 0.62 * len(positions) + 2.2)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h))
    n = max(1, len(routes))
    for k, (t, m) in enumerate(sorted(routes.items())):
        off = (k - (n - 1) / 2) * min(0.05, 0.3 / n)
        pts = [centre[r.component] for r in m.route]
        ax.plot([p[0] + off for p in pts], [p[1] for p in pts], color=task_colour(t), lw=2.2, alpha=0.9,
                zorder=2, solid_capstyle="round")
    for c in ck.pool:
        x, y = centre[c.id]
        w, h = width[c.id], 0.56
        used = users.get(c.id, [])
        shared = len(used) > 1
        box = FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.08",
                             facecolor=light(task_colour(c.owner)), edgecolor="black" if shared else "#555555",
                             lw=2.4 if shared else 0.6, ls="-" if used else "--", alpha=1.0 if used else 0.35,
                             zorder=3)
        ax.add_patch(box)
        fs = 7 if w > 0.5 else 5.5
        ax.text(x, y + 0.07, c.name, ha="center", va="center", fontsize=fs, zorder=4, alpha=1 if used else 0.5)
        ax.text(x, y - 0.12, "#%d  %s" % (c.id, human(c.size)), ha="center", va="center", fontsize=fs - 1,
                color="#333333", zorder=4, alpha=1 if used else 0.5)
        for j, t in enumerate(sorted(set(used))):
            ax.scatter([x + w / 2 - 0.05 - 0.07 * j], [y + h / 2 - 0.07], s=16, color=task_colour(t),
                       edgecolor="black", lw=0.5, zorder=5)
    ax.set_xlim(-0.6, len(owners) - 0.4)
    ax.set_ylim(-0.6, len(positions) - 0.4)
    ax.set_xticks(range(len(owners)))
    ax.set_xticklabels(["root"] + ["created by\n" + t.name for t in ck.tasks], fontsize=8)
    ax.set_yticks(range(len(positions)))
    ax.set_yticklabels([" / ".join(sorted(names_at.get(i, []))) for i in range(len(positions))], fontsize=8)
    for x in range(len(owners) - 1):
        ax.axvline(x + 0.5, color="#dddddd", lw=0.8, zorder=0)
    for s in ["top", "right"]:
        ax.spines[s].set_visible(False)
    handles = [Line2D([0], [0], color=task_colour(t), lw=2.2,
                      label="route of %s's best model %d (val %.1f%%)" % (ck.tasks[t].name, m.id, 100 * m.quality))
               for t, m in sorted(routes.items())]
    handles.append(Patch(facecolor="white", edgecolor="black", lw=2.4, label="shared by several tasks (dots: which)"))
    handles.append(Patch(facecolor="white", edgecolor="#555555", ls="--", alpha=0.5, label="on no task's route"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    shared_params = sum(ck.component_by_id[c].size for c, u in users.items() if len(set(u)) > 1)
    ax.set_title("Routes through the pool (%s): %d components, %.2fM parameters, %.2fM on shared components%s"
                 % (os.path.basename(ck.path), ck.pool_components, ck.pool_parameters / 1e6, shared_params / 1e6,
                    "" if routes else "\n(no task has a best model yet)"), fontsize=10)
    fig.tight_layout()
    return save(fig, path)


def main():
    ap = checkpoint_data.parser(__doc__)
    ap.add_argument("--out", default="architecture.png", help="PNG to write (default: architecture.png)")
    a = ap.parse_args()
    print(plot(checkpoint_data.load(a.checkpoint), a.out))
    return 0


if __name__ == "__main__":
    checkpoint_data.cli(main)
