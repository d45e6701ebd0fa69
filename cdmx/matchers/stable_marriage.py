"""Stable-marriage assignment of clusters to class names (GDUI §3.3, Algorithm 1, Eq. 12).

Gale and Shapley (1962), "College admissions and the stability of marriage": clusters propose to
class names in decreasing order of priority; a class name holds the best proposal it has had and
rejects the others. Written here because neither scipy nor the OpenMMLab libraries ship it
(``scipy.optimize.linear_sum_assignment`` maximises the total priority, a different objective:
see :class:`cdmx.matchers.hungarian.HungarianMatcher`).
"""
import numpy as np

from cdmx.registry import MATCHERS
from .priority import PriorityMatcher


@MATCHERS.register_module()
class StableMarriageMatcher(PriorityMatcher):
    """Cluster-proposing Gale–Shapley on a priority matrix ``P^c`` (Eq. 12).

    Preferences come from one matrix, as in GDUI: cluster ``k`` ranks class names by
    ``P^c[k, :]`` (descending) and class name ``c`` ranks clusters by ``P^c[:, c]``
    (descending); ties go to the smaller index. The result is stable (Eq. 12): there is no pair
    ``(k, c)`` with ``P^c[k, c] > P^c[k, m(k)]`` and ``P^c[k, c] > P^c[m^{-1}(c), c]`` (or ``c``
    unmatched), and it is the best stable matching for every cluster. O(R * C) proposals.

    Args:
        maximize (bool): True: larger entries are preferred (priorities); False: smaller
            (costs). Defaults to True.
    """

    def assign(self, scores: np.ndarray) -> np.ndarray:
        rows, cols = scores.shape
        # Row k's columns from most to least wanted; stable sort breaks ties by index.
        row_prefs = np.argsort(-scores, axis=1, kind='stable')
        # col_rank[c, k]: rank of row k in column c's order (0 = most wanted).
        col_order = np.argsort(-scores, axis=0, kind='stable')
        col_rank = np.empty((cols, rows), dtype=np.int64)
        col_rank[np.arange(cols)[None, :], col_order] = np.arange(rows)[:, None]
        next_choice = np.zeros(rows, dtype=np.int64)
        holder = np.full(cols, -1, dtype=np.int64)  # row held by each column
        free = list(range(rows - 1, -1, -1))
        while free:
            row = free.pop()
            col = row_prefs[row, next_choice[row]]
            next_choice[row] += 1
            current = holder[col]
            if current < 0:
                holder[col] = row
            elif col_rank[col, row] < col_rank[col, current]:
                holder[col] = row
                free.append(current)
            else:
                free.append(row)
        assignment = np.full(rows, -1, dtype=np.int64)
        matched = holder >= 0
        assignment[holder[matched]] = np.nonzero(matched)[0]
        return assignment
