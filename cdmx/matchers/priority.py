"""The priority matrices every matcher takes, and the matchers' shared call."""
from abc import ABCMeta, abstractmethod

import numpy as np

from cdmx.utils.errors import CdmxError


def check_priority(priority, matcher: str) -> np.ndarray:
    """``priority`` as a float64 (R, C) array with 1 <= R <= C and finite entries.

    Args:
        priority (array-like): ``priority[i, j]``: how much row i (a cluster) wants column j
            (a class name); higher is better.
        matcher (str): The matcher's name, for the error message.

    Raises:
        CdmxError: Not 2-D, empty, non-finite, or more rows than columns.
    """
    scores = np.asarray(priority, dtype=np.float64)
    if scores.ndim != 2 or scores.size == 0 or not np.isfinite(scores).all():
        raise CdmxError(f'{matcher} needs a non-empty, finite 2-D priority matrix but got shape '
                        f'{scores.shape}; pass an (R, C) array of scores, e.g. clusters x classes.')
    if scores.shape[0] > scores.shape[1]:
        raise CdmxError(f'{matcher} got {scores.shape[0]} clusters for {scores.shape[1]} classes; '
                        'give at least as many class names as clusters (GDUI uses K of each).')
    return scores


class PriorityMatcher(metaclass=ABCMeta):
    """A one-to-one matcher of rows (clusters) to columns (class names) on a priority matrix.

    ``matcher(priority)`` checks the matrix, turns costs into priorities (``maximize=False``
    negates them) and hands it to :meth:`assign`; subclasses implement only that.

    Args:
        maximize (bool): True: larger entries are preferred (priorities); False: smaller
            (costs). Defaults to True.
    """

    def __init__(self, maximize: bool = True):
        self.maximize = bool(maximize)

    def __call__(self, priority) -> np.ndarray:
        """Match rows (clusters) to columns (class names) one-to-one.

        Args:
            priority (array-like): (R, C) priorities, finite, R <= C.

        Returns:
            np.ndarray: (R,) int64, the column of each row (every row is matched).
        """
        scores = check_priority(priority, type(self).__name__)
        return self.assign(scores if self.maximize else -scores)

    @abstractmethod
    def assign(self, scores: np.ndarray) -> np.ndarray:
        """Checked (R, C) priorities, larger preferred -> (R,) int64 column of each row."""
