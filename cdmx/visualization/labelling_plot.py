"""Plot of UCDM's confidence-based labelling log (the paper's Fig. 11), written as a PNG with
matplotlib's Agg canvas."""
import os
from typing import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cdmx.utils.errors import CdmxError


def plot_labelling(rounds: Sequence[dict], class_names: Sequence[str], out_file: str) -> str:
    """Grouped bars per labelling round: one bar per class (K known + "other").

    The light bar is how many samples the round selected for the class, the dark bar inside it
    how many of those were correct (drawn only for rounds whose ``correct`` is not None).

    Args:
        rounds (Sequence[dict]): Entries of the labelling log, each with ``round`` (int),
            ``selected`` (K+1 counts) and ``correct`` (K+1 counts or None).
        class_names (Sequence[str]): K+1 names, the last one "other".
        out_file (str): Path of the PNG; its folder is created.

    Returns:
        str: ``out_file``.
    """
    if not rounds:
        raise CdmxError('the labelling log has no round to plot; plot it after the first '
                        'labelling round.')
    num = len(class_names)
    if any(len(r['selected']) != num for r in rounds):
        raise CdmxError(f'the labelling log has counts for other than {num} classes; give one '
                        'name per class plus "other".')
    width = 0.8 / num
    x = np.arange(len(rounds))
    colors = colormaps['tab10' if num <= 10 else 'tab20'](np.arange(num) % 20)
    fig = Figure(figsize=(max(6.0, 1.2 * len(rounds) + 2), 4))
    FigureCanvasAgg(fig)  # the Agg canvas, without pyplot or a global backend
    ax = fig.subplots()
    for c, name in enumerate(class_names):
        pos = x - 0.4 + (c + 0.5) * width
        selected = [r['selected'][c] for r in rounds]
        ax.bar(pos, selected, width, color=colors[c], alpha=0.35, label=f'{name} selected')
        correct = [r['correct'][c] if r['correct'] is not None else 0 for r in rounds]
        if any(r['correct'] is not None for r in rounds):
            ax.bar(pos, correct, width * 0.6, color=colors[c], label=f'{name} correct')
    ax.set_xticks(x, [str(r['round']) for r in rounds])
    ax.set_xlabel('labelling round')
    ax.set_ylabel('samples')
    ax.set_title('Confidence-based labelling per round')
    ax.legend(fontsize='small', ncol=2, bbox_to_anchor=(1.01, 1), loc='upper left')
    os.makedirs(os.path.dirname(os.path.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=100, bbox_inches='tight')
    return out_file
