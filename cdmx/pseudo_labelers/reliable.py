"""SPICE's reliable samples and confident pseudo-labels for joint training (GDUI §3.2, Eqs. 7-9).

- :class:`ReliableSampleLabeler` (Eqs. 7–8): a sample is reliable when most of its cosine
  neighbours in the feature space share its cluster label.
- :class:`ConfidentLabeler` (Eq. 9): FixMatch-style confident pseudo-labels from the prediction
  on a weakly augmented view, which supervise the strongly augmented view.
"""
from typing import Tuple

import numpy as np
import torch

from cdmx.registry import PSEUDO_LABELERS
from cdmx.utils.errors import CdmxError
from .consistency import consistency_ratio


def _threshold(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise CdmxError(f'{name} is {value!r}; give a threshold in (0, 1].')
    return float(value)


@PSEUDO_LABELERS.register_module()
class ReliableSampleLabeler:
    """Eqs. 7–8: reliable samples by the semantic consistency ratio over N_s neighbours.

    With ``y_i = argmax_k P[i, k]`` and ``N_s(i)`` the N_s most cosine-similar other samples::

        r_i = (1 / N_s) * sum_{j in N_s(i)} 1[y_j = y_i]                      (Eq. 7)
        reliable set  D_r = {(x_i, y_i) : r_i >= sigma_r}                      (Eq. 8)

    cdmx's addition (``min_per_cluster``): a cluster with fewer reliable samples than this gets
    its members of highest ``r_i`` added up to that number (all of them if it has fewer). The
    joint stage trains the head on ``D_r`` alone, so a small, mixed cluster with no reliable
    sample gets no training signal at all (on the mini world a cluster of 79 images had none at
    sigma_r = 0.95).

    Args:
        num_neighbors (int): N_s. Defaults to 100.
        threshold (float): sigma_r in (0, 1]. Defaults to 0.95.
        min_per_cluster (int): Smallest number of samples kept per cluster (0: Eq. 8 alone).
    """

    def __init__(self, num_neighbors: int = 100, threshold: float = 0.95,
                 min_per_cluster: int = 0):
        if isinstance(num_neighbors, bool) or not isinstance(num_neighbors, int) or \
                num_neighbors < 1:
            raise CdmxError(f'ReliableSampleLabeler num_neighbors is {num_neighbors!r}; give N_s '
                            'as a positive integer (e.g. 100).')
        self.num_neighbors = num_neighbors
        self.threshold = _threshold(threshold, 'ReliableSampleLabeler threshold')
        if isinstance(min_per_cluster, bool) or not isinstance(min_per_cluster, int) or \
                min_per_cluster < 0:
            raise CdmxError(f'ReliableSampleLabeler min_per_cluster is {min_per_cluster!r}; give '
                            'a non-negative integer.')
        self.min_per_cluster = min_per_cluster

    def __call__(self, features, probs) -> Tuple[torch.Tensor, torch.Tensor]:
        """(N, D) features and (N, K) cluster probabilities of the whole pool ->
        (indices (M,), labels (M,)) int64 of the reliable samples, indices increasing."""
        probs = np.asarray(probs)
        if probs.ndim != 2 or probs.shape[0] != np.asarray(features).shape[0]:
            raise CdmxError(f'ReliableSampleLabeler got probabilities {probs.shape} for '
                            f'{np.asarray(features).shape[0]} features; pass (N, K) and (N, D) of '
                            'the same samples.')
        labels = probs.argmax(axis=1)
        ratio = consistency_ratio(features, labels, self.num_neighbors)  # Eq. 7
        keep = ratio >= self.threshold  # Eq. 8
        for cluster in range(probs.shape[1]):
            members = np.nonzero(labels == cluster)[0]
            missing = self.min_per_cluster - int(keep[members].sum())
            if missing > 0:
                candidates = members[~keep[members]]
                keep[candidates[np.argsort(-ratio[candidates], kind='stable')[:missing]]] = True
        indices = np.nonzero(keep)[0]
        return (torch.as_tensor(indices, dtype=torch.int64),
                torch.as_tensor(labels[indices], dtype=torch.int64))


@PSEUDO_LABELERS.register_module()
class ConfidentLabeler:
    """Eq. 9: confident pseudo-labels from the weak view (Sohn et al., FixMatch, 2020).

    With ``q_i = softmax(h(f(weak(x_i))))``, sample i gets ``y_i = argmax q_i`` when
    ``max q_i >= tau``; the joint loss then applies ``CE(h(f(strong(x_i))), y_i)``.

    Args:
        threshold (float): tau in (0, 1]. Defaults to 0.95 (FixMatch's value).
    """

    def __init__(self, threshold: float = 0.95):
        self.threshold = _threshold(threshold, 'ConfidentLabeler threshold')

    @torch.no_grad()
    def __call__(self, probs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, K) weak-view probabilities -> (indices (M,), labels (M,)) int64."""
        if probs.dim() != 2:
            raise CdmxError(f'ConfidentLabeler got probabilities of shape {tuple(probs.shape)}; '
                            'pass (B, K).')
        conf, labels = probs.max(dim=1)
        indices = torch.nonzero(conf >= self.threshold, as_tuple=False).reshape(-1)
        return indices, labels[indices]
