"""GDUI's label-matching refinement (§3.4, Eqs. 13–18).

After matching (Algorithm 1), cluster k carries class name ``m(k)`` and sample i the label
``y_i = m(c_i)``, ``c_i = argmax_k P[i, k]``. Refinement compares the matched class with CLIP's
zero-shot vote ``z_i = argmax_c Z[i, c]`` on each cluster's most and least confident samples and
hands the doubtful, inconsistent ones to CLIP. With ``T_k`` the N_top samples of largest
``P[i, k]`` (Eq. 10) and ``B_k`` the N_btm members of cluster k (``c_i = k``) of smallest
``P[i, k]`` (a cluster with no member has no ``B_k``; it is reported, never refined):

- Eq. 13, matching ratio of the top samples:  ``delta_top_k = |{i in T_k : z_i = m(k)}| / |T_k|``
- Eq. 14, matching ratio of the bottom samples: ``delta_btm_k = |{i in B_k : z_i = m(k)}| / |B_k|``
- Eq. 15, the weighted matching ratio: ``delta_k = w_top * delta_top_k + w_btm * delta_btm_k``
- Eq. 16, cluster k is refined when any ratio falls below its threshold::

      delta_k < lambda_delta   or   delta_top_k < lambda_top   or   delta_btm_k < lambda_btm

- Eq. 17, consistency of a bottom sample over its N_s cosine neighbours (all samples, in the
  clustering features): ``r_btm_i = (1 / N_s) sum_{j in N_s(i)} 1[y_j = y_i]``
- Eq. 18, CLIP reassignment: in a refined cluster, every ``i in B_k`` with
  ``r_btm_i < sigma_btm`` takes ``y_i <- argmax_c Z[i, c]``; all other labels stay ``m(c_i)``.

The issue text names these quantities and thresholds but not how Eq. 16 combines them; the "any
ratio below its threshold" rule above is this implementation's reading, and every threshold is a
config value. The defaults are chosen here, not taken from the paper.
"""
from typing import Dict, Tuple

import numpy as np

from cdmx.pseudo_labelers.consistency import consistency_ratio
from cdmx.registry import MATCHERS
from cdmx.utils.errors import CdmxError
from .clip_scorer import check_cluster_probs, check_scored, top_confident


def _fraction(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise CdmxError(f'LabelMatchingRefinement {name} is {value!r}; give a number in [0, 1].')
    return float(value)


def _count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CdmxError(f'LabelMatchingRefinement {name} is {value!r}; give a positive integer.')
    return value


@MATCHERS.register_module()
class LabelMatchingRefinement:
    """Refine matched labels with CLIP on the low-confidence, low-consistency samples.

    Args:
        n_top (int): N_top, top samples per cluster for ``delta_top`` (Eq. 13). Defaults to 100.
        n_btm (int): N_btm, bottom samples per cluster (Eqs. 14, 17, 18). Defaults to 100.
        w_top (float): w_top of Eq. 15. Defaults to 0.5.
        w_btm (float): w_btm of Eq. 15; ``w_top + w_btm = 1``. Defaults to 0.5.
        lambda_delta (float): lambda_delta of Eq. 16. Defaults to 0.8.
        lambda_top (float): lambda_top of Eq. 16. Defaults to 0.9.
        lambda_btm (float): lambda_btm of Eq. 16. Defaults to 0.6.
        sigma_btm (float): sigma_btm of Eq. 18 (threshold on r_btm). Defaults to 0.5.
        num_neighbors (int): N_s of Eq. 17. Defaults to 20.
    """

    def __init__(self,
                 n_top: int = 100,
                 n_btm: int = 100,
                 w_top: float = 0.5,
                 w_btm: float = 0.5,
                 lambda_delta: float = 0.8,
                 lambda_top: float = 0.9,
                 lambda_btm: float = 0.6,
                 sigma_btm: float = 0.5,
                 num_neighbors: int = 20):
        self.n_top = _count(n_top, 'n_top')
        self.n_btm = _count(n_btm, 'n_btm')
        self.num_neighbors = _count(num_neighbors, 'num_neighbors')
        self.w_top = _fraction(w_top, 'w_top')
        self.w_btm = _fraction(w_btm, 'w_btm')
        if abs(self.w_top + self.w_btm - 1) > 1e-6:
            raise CdmxError(f'LabelMatchingRefinement w_top + w_btm = {w_top + w_btm}; choose '
                            'weights that sum to 1 (e.g. 0.5 and 0.5).')
        self.lambda_delta = _fraction(lambda_delta, 'lambda_delta')
        self.lambda_top = _fraction(lambda_top, 'lambda_top')
        self.lambda_btm = _fraction(lambda_btm, 'lambda_btm')
        self.sigma_btm = _fraction(sigma_btm, 'sigma_btm')

    def bottom_confident(self, probs: np.ndarray) -> list:
        """B_k: the ``n_btm`` members of each cluster with the smallest ``P[i, k]``."""
        clusters = probs.argmax(axis=1)
        bottoms = []
        for k in range(probs.shape[1]):
            members = np.nonzero(clusters == k)[0]
            order = np.argsort(probs[members, k], kind='stable')
            bottoms.append(members[order[:self.n_btm]].astype(np.int64))
        return bottoms

    def needed_indices(self, probs) -> np.ndarray:
        """Sorted indices of the samples whose CLIP scores Eqs. 13–18 read (T_k and B_k)."""
        probs = check_cluster_probs(probs)
        return np.unique(np.concatenate(top_confident(probs, self.n_top) +
                                        self.bottom_confident(probs)))

    def __call__(self, probs, cluster_to_class, clip_probs, features) -> Tuple[np.ndarray, Dict]:
        """Refined labels of all samples.

        Args:
            probs (array-like): (N, K) cluster probabilities P.
            cluster_to_class (array-like): (K,) the matched class name of each cluster, m.
            clip_probs (array-like): (N, C) CLIP zero-shot probabilities Z; only the rows of
                :meth:`needed_indices` are read (the others may be NaN).
            features (array-like): (N, D) clustering features (for the neighbours of Eq. 17).

        Returns:
            tuple: ``labels`` (N,) int64 class ids, and a report ``{'clusters': [per cluster
            {'delta_top', 'delta_btm', 'delta', 'refined', 'reassigned'}], 'reassigned': int}``.
        """
        probs = check_cluster_probs(probs)
        mapping = np.asarray(cluster_to_class, dtype=np.int64)
        clip_probs = np.asarray(clip_probs)
        if mapping.shape != (probs.shape[1], ) or clip_probs.ndim != 2 or \
                clip_probs.shape[0] != probs.shape[0] or (mapping < 0).any() or \
                (mapping >= clip_probs.shape[1]).any():
            raise CdmxError(f'refinement got P {probs.shape}, cluster_to_class {mapping.shape} and '
                            f'CLIP scores {clip_probs.shape}; pass P (N, K), a class id in '
                            '0..C-1 per cluster and Z (N, C) of the same N samples.')
        tops = top_confident(probs, self.n_top)
        bottoms = self.bottom_confident(probs)
        check_scored(clip_probs, np.concatenate(tops + bottoms),
                     'the top and bottom samples of the clusters')
        votes = clip_probs.argmax(axis=1)
        labels = mapping[probs.argmax(axis=1)]
        refined = labels.copy()
        report = []
        candidates = []
        for k, (top, bottom) in enumerate(zip(tops, bottoms)):
            delta_top = float(np.mean(votes[top] == mapping[k]))  # Eq. 13
            if bottom.size == 0:  # no member (argmax) at all: no B_k to compare or reassign
                report.append(dict(delta_top=delta_top, delta_btm=None, delta=None,
                                   refined=False, reassigned=0))
                continue
            delta_btm = float(np.mean(votes[bottom] == mapping[k]))  # Eq. 14
            delta = self.w_top * delta_top + self.w_btm * delta_btm  # Eq. 15
            refine = (delta < self.lambda_delta or delta_top < self.lambda_top
                      or delta_btm < self.lambda_btm)  # Eq. 16
            report.append(dict(delta_top=delta_top, delta_btm=delta_btm, delta=delta,
                               refined=bool(refine), reassigned=0))
            if refine:
                candidates.append(bottom)
        candidates = np.concatenate(candidates) if candidates else np.zeros(0, dtype=np.int64)
        if candidates.size:
            r_btm = consistency_ratio(features, labels, self.num_neighbors, candidates)  # Eq. 17
            chosen = candidates[r_btm < self.sigma_btm]
            refined[chosen] = votes[chosen]  # Eq. 18
            clusters = probs.argmax(axis=1)
            for k in range(probs.shape[1]):
                report[k]['reassigned'] = int(np.sum(clusters[chosen] == k))
        return refined, dict(clusters=report, reassigned=int(sum(r['reassigned']
                                                                 for r in report)))
