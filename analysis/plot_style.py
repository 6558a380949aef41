"""Figure settings shared by the analysis tools: matplotlib without a display (Agg) and one
colour per task, the same in every figure (the root grey), so figures can be read together."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402,F401  (re-exported for the tools)

ROOT_COLOUR = "#9e9e9e"
_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
            "#17becf", "#393b79", "#ad494a", "#637939", "#7b4173", "#3182bd", "#e6550d", "#31a354"]


def task_colour(task: int) -> str:
    return ROOT_COLOUR if task < 0 else _PALETTE[task % len(_PALETTE)]


def save(fig, path):
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
