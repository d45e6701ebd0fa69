"""A greedy matcher: a third party's plugin registered into ``cdmx.registry.MATCHERS``.

A matcher takes a priority matrix and returns an assignment (DESIGN.md: the scorer that fills the
matrix is another plugin). Here ``priority[i, j]`` is how much row ``i`` (e.g. a cluster) wants
column ``j`` (e.g. a class name); higher is better.
"""
import numpy as np

from cdmx.registry import MATCHERS
from cdmx.utils.errors import CdmxError


@MATCHERS.register_module()
class GreedyMatcher:
    """One-to-one assignment by repeatedly taking the largest remaining priority.

    For a priority matrix P of shape (R, C) it picks ``(i, j) = argmax P`` over the rows and
    columns still free, assigns row i to column j, removes both, and repeats ``min(R, C)`` times.
    For non-negative priorities its total is at least half that of the maximum-weight matching
    (the optimum, found by the Hungarian algorithm in ``scipy.optimize.linear_sum_assignment``),
    traded for O(RC log RC) time.

    Args:
        maximize (bool): Prefer large priorities (True) or small costs (False). Defaults to True.
    """

    def __init__(self, maximize: bool = True):
        self.maximize = maximize

    def __call__(self, priority) -> np.ndarray:
        """Assign rows to columns.

        Args:
            priority (array-like): (R, C) priorities, finite.

        Returns:
            np.ndarray: (R,) int64, the column of each row, ``-1`` for rows left over when R > C.
        """
        scores = np.asarray(priority, dtype=np.float64)
        if scores.ndim != 2 or scores.size == 0 or not np.isfinite(scores).all():
            raise CdmxError(f'GreedyMatcher needs a non-empty, finite 2-D priority matrix but '
                            f'got shape {scores.shape}; pass an (R, C) array of scores.')
        if not self.maximize:
            scores = -scores
        assignment = np.full(scores.shape[0], -1, dtype=np.int64)
        row_free = np.ones(scores.shape[0], dtype=bool)
        col_free = np.ones(scores.shape[1], dtype=bool)
        # Visit entries from best to worst (stable sort: ties go to the smaller flat index).
        for flat in np.argsort(-scores, axis=None, kind='stable'):
            row, col = divmod(int(flat), scores.shape[1])
            if row_free[row] and col_free[col]:
                assignment[row] = col
                row_free[row] = col_free[col] = False
                if not (row_free.any() and col_free.any()):
                    break
        return assignment
