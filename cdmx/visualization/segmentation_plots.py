"""Pictures of segmentation evaluation: the reliability diagram (DiffMatch Fig. 4) and the
per-class confusion matrix, as RGB arrays ready for a visualizer or a PNG file."""
from typing import Sequence

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mmpretrain.evaluation import ConfusionMatrix


def figure_to_rgb(fig) -> np.ndarray:
    """``(H, W, 3)`` uint8 pixels of a matplotlib figure drawn on its Agg canvas."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def reliability_diagram(counts: np.ndarray, confidence_sums: np.ndarray,
                        correct_sums: np.ndarray, ece: float) -> np.ndarray:
    """Accuracy against confidence per bin, with the gap to the diagonal shaded.

    Args:
        counts (np.ndarray): ``(B,)`` pixels per confidence bin.
        confidence_sums (np.ndarray): ``(B,)`` summed confidences per bin.
        correct_sums (np.ndarray): ``(B,)`` correctly classified pixels per bin.
        ece (float): The expected calibration error in percent (for the title).

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 image.
    """
    num_bins = len(counts)
    edges = np.linspace(0, 1, num_bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    filled = counts > 0
    accuracy = np.where(filled, correct_sums / np.maximum(counts, 1), 0.0)
    confidence = np.where(filled, confidence_sums / np.maximum(counts, 1), 0.0)
    fig = Figure(figsize=(4.5, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.bar(centres, accuracy, width=1 / num_bins, edgecolor='black', color='#4477aa',
           label='accuracy')
    ax.bar(centres, confidence - accuracy, bottom=accuracy, width=1 / num_bins,
           color='#ee6677', alpha=0.4, edgecolor='#ee6677', label='gap to confidence')
    ax.plot([0, 1], [0, 1], '--', color='grey', label='perfect calibration')
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel='confidence', ylabel='accuracy',
           title=f'reliability diagram (ECE {ece:.2f}%)')
    ax.legend(loc='upper left')
    fig.tight_layout()
    return figure_to_rgb(fig)


def confusion_matrix_image(matrix: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """The row-normalised confusion matrix in whole percent (rows: ground truth, columns:
    prediction), drawn by mmpretrain's ``ConfusionMatrix.plot`` (values printed for up to 20
    classes; mmpretrain prints integers only, hence the percent).

    Args:
        matrix (np.ndarray): ``(C, C)`` pixel counts, ``matrix[gt, pred]``.
        classes (Sequence[str]): The ``C`` class names.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 image.
    """
    import matplotlib.pyplot as plt  # mmpretrain draws through pyplot

    rows = matrix.sum(axis=1, keepdims=True)
    percent = torch.from_numpy(np.rint(100 * matrix / np.maximum(rows, 1)).astype(np.int64))
    fig = ConfusionMatrix.plot(percent, include_values=len(classes) <= 20,
                               classes=list(classes), show=False)
    try:
        return figure_to_rgb(fig)
    finally:
        plt.close(fig)
