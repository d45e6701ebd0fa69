"""Maximum-total-priority assignment of clusters to class names (the Hungarian algorithm).

The alternative to GDUI's stable marriage (Eq. 12) for the comparison of §3.3: the one-to-one
assignment ``m`` maximising ``sum_k P^c[k, m(k)]``, solved by
``scipy.optimize.linear_sum_assignment`` (Crouse's shortest augmenting path, O(K^3)).
"""
import numpy as np
from scipy.optimize import linear_sum_assignment

from cdmx.registry import MATCHERS
from .priority import PriorityMatcher


@MATCHERS.register_module()
class HungarianMatcher(PriorityMatcher):
    """``argmax_m sum_k P^c[k, m(k)]`` over one-to-one assignments ``m`` (rows to columns).

    Args:
        maximize (bool): True: maximise the total priority; False: minimise a total cost.
            Defaults to True.
    """

    def assign(self, scores: np.ndarray) -> np.ndarray:
        rows, cols = linear_sum_assignment(scores, maximize=True)
        assignment = np.full(scores.shape[0], -1, dtype=np.int64)
        assignment[rows] = cols
        return assignment
