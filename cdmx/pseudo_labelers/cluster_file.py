"""The output of GDUI's pseudo-label generation (§3.2) on disk, without pickle.

A folder (``work_dirs/<clustering config>/pseudo_labels/`` by default) holding:

- ``probs.npy``: float32 (N, K), the cluster probabilities P (rows sum to 1);
- ``features.npy``: float32 (N, D), the pooled features of the feature model (the neighbours
  of Eqs. 7 and 17 are searched in them);
- ``clusters.json``: ``{"num_samples": N, "num_clusters": K, "labels": [argmax_k P[i, k] per
  index], "head": int, "config": str, "checkpoint": str, "evaluation": {...} (when the pool has
  true labels)}``.

Row i is index i of the clustered dataset. Arrays are written and read by numpy with
``allow_pickle=False``.
"""
import json
import os
from typing import Dict, Optional

import numpy as np

from cdmx.utils.errors import CdmxError

PROBS, FEATURES, META = 'probs.npy', 'features.npy', 'clusters.json'


def save_clusters(folder: str, probs: np.ndarray, features: np.ndarray,
                  meta: Optional[dict] = None) -> None:
    """Write P (N, K), the features (N, D) and ``clusters.json`` into ``folder``."""
    probs = np.asarray(probs, dtype=np.float32)
    features = np.asarray(features, dtype=np.float32)
    if probs.ndim != 2 or features.ndim != 2 or probs.shape[0] != features.shape[0]:
        raise CdmxError(f'cannot save P {probs.shape} with features {features.shape}; give '
                        '(N, K) and (N, D) arrays of the same N samples.')
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, PROBS), probs, allow_pickle=False)
    np.save(os.path.join(folder, FEATURES), features, allow_pickle=False)
    content = dict(num_samples=int(probs.shape[0]), num_clusters=int(probs.shape[1]),
                   labels=probs.argmax(axis=1).tolist(), **(meta or {}))
    with open(os.path.join(folder, META), 'w', encoding='utf-8') as f:
        json.dump(content, f, indent=1)


def load_clusters(folder: str) -> Dict:
    """``{'probs': (N, K) float32, 'features': (N, D) float32, 'meta': dict}`` of a folder.

    Raises:
        CdmxError: A file is missing or unreadable, or the arrays disagree.
    """
    paths = [os.path.join(folder, name) for name in (PROBS, FEATURES, META)]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise CdmxError(f'pseudo-label folder {folder} lacks {", ".join(missing)}; run '
                        'tools/gdui/export_clusters.py with the clustering config and checkpoint '
                        'first.')
    try:
        probs = np.load(paths[0], allow_pickle=False)
        features = np.load(paths[1], allow_pickle=False)
        with open(paths[2], encoding='utf-8') as f:
            meta = json.load(f)
    except (OSError, ValueError) as err:
        raise CdmxError(f'pseudo-label folder {folder} holds an unreadable file ({err}); export '
                        'the clusters again.') from err
    if probs.ndim != 2 or features.ndim != 2 or probs.shape[0] != features.shape[0] or \
            meta.get('num_samples') != probs.shape[0]:
        raise CdmxError(f'pseudo-label folder {folder} holds P {probs.shape}, features '
                        f'{features.shape} and {meta.get("num_samples")} samples in '
                        f'{META}; export the clusters again.')
    return dict(probs=probs, features=features, meta=meta)
