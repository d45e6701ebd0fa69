"""Semantic consistency over cosine neighbours, for SPICE's reliable-sample selection (GDUI
Eqs. 7-8).

For unit features ``f_i`` and labels ``y_i``, ``N_s(i)`` the ``N_s`` samples ``j != i`` with the
largest cosine similarity ``<f_i, f_j>``::

    r_i = (1 / N_s) * sum_{j in N_s(i)} 1[y_j = y_i]

Written here because neither sklearn's ``NearestNeighbors`` (no chunked cosine top-k without a
full distance matrix per query block) nor mmpretrain has it; the search is an exact chunked
matrix product in torch: O(N^2 D) time, O(chunk * N) memory.
"""
from typing import Optional

import numpy as np
import torch
from tqdm import tqdm

from cdmx.utils.errors import CdmxError


def cosine_neighbors(features, num_neighbors: int, queries: Optional[np.ndarray] = None,
                     chunk: int = 1024) -> torch.Tensor:
    """The ``num_neighbors`` most cosine-similar other samples of each query.

    Args:
        features (array-like): (N, D) features (normalised here).
        num_neighbors (int): N_s, 1 <= N_s < N.
        queries (np.ndarray, optional): (M,) indices of the query samples; all N if None.
        chunk (int): Queries per matrix product.

    Returns:
        Tensor: (M, N_s) int64 neighbour indices, most similar first, never the query itself.
    """
    feats = torch.as_tensor(np.asarray(features), dtype=torch.float32)
    if feats.dim() != 2 or not torch.isfinite(feats).all():
        raise CdmxError(f'features have shape {tuple(feats.shape)} or non-finite values; pass '
                        'the (N, D) embeddings of the clustered samples.')
    n = feats.shape[0]
    if isinstance(num_neighbors, bool) or not isinstance(num_neighbors, int) or not \
            1 <= num_neighbors < n:
        raise CdmxError(f'num_neighbors (N_s) is {num_neighbors!r} for {n} samples; choose an '
                        f'integer in 1..{n - 1}.')
    feats = torch.nn.functional.normalize(feats, dim=1)
    queries = torch.arange(n) if queries is None else torch.as_tensor(queries, dtype=torch.long)
    out = []
    for start in tqdm(range(0, len(queries), chunk), desc='cosine neighbours', unit='chunk',
                      dynamic_ncols=True, mininterval=2.0, disable=len(queries) <= chunk):
        idx = queries[start:start + chunk]
        sims = feats[idx] @ feats.T
        sims[torch.arange(len(idx)), idx] = -float('inf')  # a sample is not its own neighbour
        out.append(sims.topk(num_neighbors, dim=1).indices)
    return torch.cat(out) if out else torch.empty(0, num_neighbors, dtype=torch.long)


def consistency_ratio(features, labels, num_neighbors: int) -> np.ndarray:
    """Eq. 8: the share ``r_i`` of each sample's N_s neighbours that share its label.

    Args:
        features (array-like): (N, D) features.
        labels (array-like): (N,) int labels.
        num_neighbors (int): N_s.

    Returns:
        np.ndarray: (N,) float64 in [0, 1].
    """
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    if labels.dim() != 1 or labels.shape[0] != np.asarray(features).shape[0]:
        raise CdmxError(f'{tuple(labels.shape)} labels for {np.asarray(features).shape[0]} '
                        'features; give one label per sample.')
    neighbors = cosine_neighbors(features, num_neighbors)
    return (labels[neighbors] == labels[:, None]).double().mean(dim=1).numpy()
