"""Per-seed values of several configs beside their mean and 95% interval, as a PNG (matplotlib's
Agg canvas): what a mean ± std cell hides, shown."""
import os
from typing import Mapping, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cdmx.evaluation.seeds import summarize


def plot_seeds(runs: Mapping[str, Mapping[int, Mapping[str, float]]], metrics: Sequence[str],
               out_file: str) -> str:
    """One panel per metric: a dot per seed and config, the mean as a bar, the 95% t interval as
    an error bar (none for a single seed).

    Args:
        runs: ``{config name: {seed: {metric: value}}}``.
        metrics: The metrics to draw, one panel each, in this order.
        out_file: Path of the PNG; its folder is created.

    Returns:
        str: ``out_file``.
    """
    names = list(runs)
    fig = Figure(figsize=(max(4.0, 0.9 * len(names) + 1.5) * len(metrics), 3.6))
    FigureCanvasAgg(fig)
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), i + 1)
        for x, name in enumerate(names):
            values = [runs[name][seed][metric] for seed in sorted(runs[name])]
            summary = summarize(values)
            ax.bar(x, summary.mean, width=0.6, color='0.85', zorder=1)
            if summary.n > 1:
                ax.errorbar(x, summary.mean, yerr=[[summary.mean - summary.ci_low],
                                                   [summary.ci_high - summary.mean]],
                            color='black', capsize=4, zorder=2)
            offsets = [0.2 * (j - (len(values) - 1) / 2) / max(1, len(values) - 1)
                       for j in range(len(values))]
            ax.scatter([x + o for o in offsets], values, s=16, color='tab:blue', zorder=3)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=30, ha='right', fontsize=8)
        ax.set_title(metric, fontsize=9)
        ax.grid(axis='y', alpha=0.3)
    fig.suptitle('bars: mean; lines: 95% interval; dots: one per seed', fontsize=9)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=110)
    return out_file
