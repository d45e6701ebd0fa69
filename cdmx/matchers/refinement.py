"""GDUI's label-matching refinement (§3.4, Eqs. 13–18).

After matching (Algorithm 1), cluster m carries the class name ``g(m)`` and sample i the label
``y_i = g(c_i)``, ``c_i = argmax_k P[i, k]`` (its cluster, Eq. 10: ``X_m = {i : c_i = m}``).
CLIP's zero-shot vote is ``z_i = argmax_c Z[i, c]``. For cluster m:

- ``T_m``, the N_top most confident samples (Eq. 11, the matching stage's set, see
  :func:`cdmx.matchers.clip_scorer.top_confident`);
- Eq. 13, ``B_m``: the N_btm members of X_m with the smallest ``P[i, m]`` (all of them if fewer);
- Eq. 14, ``delta_top_m = |{i in T_m : z_i = g(m)}| / |T_m|``;
- Eq. 15, ``delta_btm_m = |{i in B_m : z_i = g(m)}| / |B_m|``;
- Eq. 16, ``delta_m = w_top * delta_top_m + w_btm * delta_btm_m``;
- Eq. 17, ``r_btm_m = (1 / |B_m|) sum_{i in B_m} P[i, m]`` (one number per cluster);
- Eq. 18, ``X_adj_m = {i in X_m : P[i, m] < sigma_btm}``.

The decision of §3.4, in the paper's order (:meth:`LabelMatchingRefinement.case`):

1. ``delta_m > lambda_delta``: the cluster's name is trustworthy; nothing changes (``trusted``).
2. otherwise, ``delta_top_m < lambda_top`` (the cluster as a whole is mismatched,
   ``top_mismatch``) or ``delta_top_m >= lambda_top`` and ``delta_btm_m < lambda_btm`` (its
   bottom is, ``bottom_mismatch``): examine ``r_btm_m``. When ``r_btm_m > sigma_btm`` the
   cluster is consistent enough and keeps its labels; otherwise every member of ``X_adj_m``
   takes CLIP's vote, ``y_i <- z_i`` (``refined``).
3. ``delta_m <= lambda_delta`` with both ratios at or above their thresholds: the paper does not
   say; the labels stay (``uncovered``, reported so a run shows how often it happens).

A cluster with no member has no ``B_m`` (``empty``); it is reported, never refined.

Where the paper is silent, cdmx's reading (docs/gdui.md, fidelity table): ties go to "not
trustworthy" in step 1 (the paper says ``delta_m > lambda_delta``) and to ``bottom_mismatch`` at
``delta_top_m = lambda_top``; ``r_btm_m = sigma_btm`` refines (the paper keeps a cluster only when
``r_btm`` *exceeds* ``sigma_btm``); the CLIP vote ranges over all class names, so a member whose
vote is its own class keeps it. With ``sigma_btm = 0`` nothing is refined (the +PLM labels);
with ``sigma_btm -> 1`` every member of every examined cluster takes CLIP's label (Fig. 4).
"""
from typing import Dict, List, Tuple

import numpy as np

from cdmx.registry import MATCHERS
from cdmx.utils.errors import CdmxError
from .clip_scorer import check_cluster_probs, check_scored, top_confident

#: Outcomes of the decision of §3.4 for one cluster (see the module docstring).
CASES = ('empty', 'trusted', 'top_mismatch', 'bottom_mismatch', 'uncovered')
EXAMINED = ('top_mismatch', 'bottom_mismatch')


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
    """Refine matched labels with CLIP in the clusters §3.4 does not trust (Eqs. 13–18).

    Args:
        n_top (int): N_top, top samples per cluster for ``delta_top`` (Eq. 14). Defaults to 100.
        n_btm (int): N_btm, bottom members per cluster (Eqs. 13, 15, 17). Defaults to 100.
        w_top (float): w_top of Eq. 16. Defaults to 0.5.
        w_btm (float): w_btm of Eq. 16; ``w_top + w_btm = 1``. Defaults to 0.5.
        lambda_delta (float): lambda_delta, the overall matching threshold. Defaults to 0.8.
        lambda_top (float): lambda_top, the top matching threshold. Defaults to 0.9.
        lambda_btm (float): lambda_btm, the bottom matching threshold. Defaults to 0.6.
        sigma_btm (float): sigma_btm, the confidence threshold on r_btm (Eq. 17) and on
            ``P[i, m]`` (Eq. 18). Defaults to 0.5.

    The paper gives no values for these; the defaults are cdmx's.
    """

    def __init__(self,
                 n_top: int = 100,
                 n_btm: int = 100,
                 w_top: float = 0.5,
                 w_btm: float = 0.5,
                 lambda_delta: float = 0.8,
                 lambda_top: float = 0.9,
                 lambda_btm: float = 0.6,
                 sigma_btm: float = 0.5):
        self.n_top = _count(n_top, 'n_top')
        self.n_btm = _count(n_btm, 'n_btm')
        self.w_top = _fraction(w_top, 'w_top')
        self.w_btm = _fraction(w_btm, 'w_btm')
        if abs(self.w_top + self.w_btm - 1) > 1e-6:
            raise CdmxError(f'LabelMatchingRefinement w_top + w_btm = {w_top + w_btm}; choose '
                            'weights that sum to 1 (e.g. 0.5 and 0.5).')
        self.lambda_delta = _fraction(lambda_delta, 'lambda_delta')
        self.lambda_top = _fraction(lambda_top, 'lambda_top')
        self.lambda_btm = _fraction(lambda_btm, 'lambda_btm')
        self.sigma_btm = _fraction(sigma_btm, 'sigma_btm')

    def bottom_confident(self, probs: np.ndarray) -> List[np.ndarray]:
        """Eq. 13, ``B_m``: the ``n_btm`` members of each cluster with the smallest ``P[i, m]``.

        Args:
            probs (np.ndarray): (N, K) cluster probabilities P.

        Returns:
            list[np.ndarray]: K int64 arrays, by increasing ``P[i, m]`` (ties: smaller index);
            empty for a cluster with no member.
        """
        clusters = probs.argmax(axis=1)
        bottoms = []
        for m in range(probs.shape[1]):
            members = np.nonzero(clusters == m)[0]
            order = np.argsort(probs[members, m], kind='stable')
            bottoms.append(members[order[:self.n_btm]].astype(np.int64))
        return bottoms

    def case(self, delta_top: float, delta_btm: float, delta: float) -> str:
        """Which branch of §3.4's decision a cluster with these ratios takes (not ``empty``)."""
        if delta > self.lambda_delta:
            return 'trusted'
        if delta_top < self.lambda_top:
            return 'top_mismatch'
        if delta_btm < self.lambda_btm:
            return 'bottom_mismatch'
        return 'uncovered'

    def needed_indices(self, probs) -> np.ndarray:
        """Sorted indices whose CLIP scores the decision reads (``T_m`` and ``B_m``); the
        members of ``X_adj_m`` it then selects are :meth:`adjustment_indices`."""
        probs = check_cluster_probs(probs)
        return np.unique(np.concatenate(top_confident(probs, self.n_top) +
                                        self.bottom_confident(probs)))

    def adjustment_indices(self, probs, cluster_to_class, clip_probs) -> np.ndarray:
        """Sorted union of ``X_adj_m`` (Eq. 18) over the clusters the decision refines: the
        rows of Z the refinement reassigns (score them before calling the refinement).

        Args: as :meth:`__call__` (only the rows of :meth:`needed_indices` of ``clip_probs``
            are read).

        Returns:
            np.ndarray: int64 sample indices.
        """
        _, adjust = self._decide(*self._check(probs, cluster_to_class, clip_probs))
        return np.unique(np.concatenate(adjust))

    def __call__(self, probs, cluster_to_class, clip_probs) -> Tuple[np.ndarray, Dict]:
        """Refined labels of all samples.

        Args:
            probs (array-like): (N, K) cluster probabilities P.
            cluster_to_class (array-like): (K,) the matched class id of each cluster, g.
            clip_probs (array-like): (N, C) CLIP zero-shot probabilities Z; only the rows of
                :meth:`needed_indices` and :meth:`adjustment_indices` are read (the others may
                be NaN).

        Returns:
            tuple: ``labels`` (N,) int64 class ids, and a report ``{'clusters': [per cluster
            {'delta_top', 'delta_btm', 'delta', 'r_btm', 'case', 'refined', 'adjusted',
            'changed'}], 'adjusted': int, 'changed': int}``: ``adjusted`` = |X_adj_m| (0 when
            not refined), ``changed`` = how many of them CLIP gave another class. Values that
            do not exist for a cluster (an empty one's ``B_m``) are None.
        """
        probs, mapping, clip_probs = self._check(probs, cluster_to_class, clip_probs)
        report, adjust = self._decide(probs, mapping, clip_probs)
        chosen = np.concatenate(adjust)
        check_scored(clip_probs, chosen, 'the members that Eq. 18 reassigns (X_adj)')
        labels = mapping[probs.argmax(axis=1)]
        refined = labels.copy()
        refined[chosen] = clip_probs[chosen].argmax(axis=1)  # Eq. 18: y_i <- CLIP's vote
        for entry, members in zip(report, adjust):
            entry['adjusted'] = int(members.size)
            entry['changed'] = int(np.sum(refined[members] != labels[members]))
        return refined, dict(clusters=report,
                             adjusted=sum(entry['adjusted'] for entry in report),
                             changed=sum(entry['changed'] for entry in report))

    def _check(self, probs, cluster_to_class, clip_probs) -> Tuple[np.ndarray, ...]:
        probs = check_cluster_probs(probs)
        mapping = np.asarray(cluster_to_class, dtype=np.int64)
        clip_probs = np.asarray(clip_probs)
        if mapping.shape != (probs.shape[1], ) or clip_probs.ndim != 2 or \
                clip_probs.shape[0] != probs.shape[0] or (mapping < 0).any() or \
                (mapping >= clip_probs.shape[1]).any():
            raise CdmxError(f'refinement got P {probs.shape}, cluster_to_class {mapping.shape} and '
                            f'CLIP scores {clip_probs.shape}; pass P (N, K), a class id in '
                            '0..C-1 per cluster and Z (N, C) of the same N samples.')
        return probs, mapping, clip_probs

    def _decide(self, probs: np.ndarray, mapping: np.ndarray,
                clip_probs: np.ndarray) -> Tuple[List[dict], List[np.ndarray]]:
        """Per cluster the report entry and ``X_adj_m`` (empty unless refined)."""
        tops, bottoms = top_confident(probs, self.n_top), self.bottom_confident(probs)
        check_scored(clip_probs, np.concatenate(tops + bottoms),
                     'the top and bottom samples of the clusters')
        votes = clip_probs.argmax(axis=1)
        clusters = probs.argmax(axis=1)
        report, adjust = [], []
        for m, (top, bottom) in enumerate(zip(tops, bottoms)):
            delta_top = float(np.mean(votes[top] == mapping[m]))  # Eq. 14
            members = np.zeros(0, dtype=np.int64)
            if bottom.size == 0:  # no member (argmax): no B_m to compare or reassign
                entry = dict(delta_top=delta_top, delta_btm=None, delta=None, r_btm=None,
                             case='empty', refined=False)
            else:
                delta_btm = float(np.mean(votes[bottom] == mapping[m]))  # Eq. 15
                delta = self.w_top * delta_top + self.w_btm * delta_btm  # Eq. 16
                r_btm = float(np.mean(probs[bottom, m]))  # Eq. 17
                case = self.case(delta_top, delta_btm, delta)
                refine = case in EXAMINED and r_btm <= self.sigma_btm
                if refine:
                    in_cluster = np.nonzero(clusters == m)[0]
                    members = in_cluster[probs[in_cluster, m] < self.sigma_btm]  # Eq. 18
                entry = dict(delta_top=delta_top, delta_btm=delta_btm, delta=delta,
                             r_btm=r_btm, case=case, refined=refine)
            report.append(entry)
            adjust.append(members.astype(np.int64))
        return report, adjust
