"""Plot of the pseudo-label counts per class over training against the ground truth (DiffMatch
Figs. 1 and 8), written as a PNG with matplotlib's Agg canvas."""
import os
from typing import Optional, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cdmx.utils.errors import CdmxError


def _shares(counts: np.ndarray) -> np.ndarray:
    """Rows of counts -> rows of shares (a row of zeros stays zeros)."""
    totals = counts.sum(axis=-1, keepdims=True)
    return np.where(totals > 0, counts / np.maximum(totals, 1), 0.0)


def plot_pseudo_label_stats(records: Sequence[dict], class_names: Sequence[str],
                            reference: Optional[Sequence[float]], reference_name: str,
                            out_file: str) -> str:
    """Two panels: left, each class's share of the pseudo-labelled pixels in each logging window
    (solid) with its ground-truth share (dashed); right, the shares over the whole training as
    bars on a log scale, classes sorted by ground-truth share (head left, tail right), so a
    pseudo-label bias towards head classes shows as bars above the ground truth on the left and
    below it on the right.

    Args:
        records (Sequence[dict]): Entries of the statistics log, each with ``iter`` (int) and
            ``pseudo_counts`` (``C`` cumulative pixel counts).
        class_names (Sequence[str]): The ``C`` class names.
        reference (Sequence[float], optional): ``C`` ground-truth pixel counts (any scale).
        reference_name (str): What the reference is, for the legend.
        out_file (str): Path of the PNG; its folder is created.

    Returns:
        str: ``out_file``.
    """
    if not records:
        raise CdmxError('the pseudo-label log has no record to plot; plot it after the first '
                        'logging interval.')
    iters = np.array([r['iter'] for r in records])
    cumulative = np.array([r['pseudo_counts'] for r in records], dtype=np.float64)
    num_classes = len(class_names)
    if cumulative.shape[1] != num_classes:
        raise CdmxError(f'the log holds {cumulative.shape[1]} classes but {num_classes} class '
                        'names were given; give one name per class.')
    windows = np.diff(np.vstack([np.zeros(num_classes), cumulative]), axis=0)
    ref = None if reference is None else _shares(np.asarray(reference, dtype=np.float64))
    order = np.argsort(-ref) if ref is not None else np.argsort(-cumulative[-1])
    colours = colormaps['tab20'](np.linspace(0, 1, max(num_classes, 2)))

    fig = Figure(figsize=(13, 4.8))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    for c in range(num_classes):
        left.plot(iters, _shares(windows)[:, c], '-o', ms=3, color=colours[c],
                  label=class_names[c])
        if ref is not None:
            left.axhline(ref[c], ls='--', lw=0.8, color=colours[c])
    left.set(xlabel='iteration', ylabel='share of pseudo-labelled pixels', yscale='log',
             title='pseudo-labels per window (dashed: ' + (reference_name if ref is not None
                                                          else 'no ground truth') + ')')
    left.legend(fontsize=7, ncol=2)
    x = np.arange(num_classes)
    width = 0.4 if ref is not None else 0.8
    right.bar(x - (width / 2 if ref is not None else 0), _shares(cumulative[-1])[order],
              width=width, color='#4477aa', label='pseudo-labels (all training)')
    if ref is not None:
        right.bar(x + width / 2, ref[order], width=width, color='#bbbbbb', label=reference_name)
    right.set_xticks(x, [class_names[c] for c in order], rotation=45, ha='right', fontsize=8)
    right.set(yscale='log', ylabel='share of pixels', title=f'iterations 1-{int(iters[-1])}')
    right.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=100)
    return out_file
