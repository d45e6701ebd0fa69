"""The whole unlabeled pool with SPICE's reliable labels (GDUI §3.2, Eq. 8) for joint training.

The reliable file is the JSON written by ``tools/gdui/select_reliable.py``::

    {"num_samples": N, "num_clusters": K,
     "indices": [...],          # increasing indices of the reliable samples in the pool
     "labels": [...],           # their cluster labels, 0..K-1
     "labeler": {...}}          # the PSEUDO_LABELERS config that chose them

Every sample of the wrapped pool stays in the dataset (the unreliable ones feed Eq. 9); each
``get_data_info`` is the wrapped dataset's with ``pseudo_label`` = its reliable cluster label or
-1. Its ``gt_label`` (a true class, where the pool has one) is left for evaluation only;
:class:`cdmx.models.classifiers.ClusterModel` trains on ``pseudo_label`` alone, which the
pipeline's ``PackInputs`` must list in ``meta_keys``.
"""
import json
import os
from typing import Union

import numpy as np
from mmengine.dataset import BaseDataset

from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError


def read_reliable_file(path: str, num_samples: int) -> np.ndarray:
    """(N,) int64 pseudo-labels, -1 where a sample is not reliable."""
    if not os.path.isfile(path):
        raise CdmxError(f'reliable-samples file {path} does not exist; run '
                        'tools/gdui/select_reliable.py with the joint-stage config first.')
    try:
        with open(path, encoding='utf-8') as f:
            content = json.load(f)
        indices = np.asarray(content['indices'], dtype=np.int64)
        labels = np.asarray(content['labels'], dtype=np.int64)
        total, clusters = int(content['num_samples']), int(content['num_clusters'])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CdmxError(f'reliable-samples file {path} is not a reliable-samples JSON ({err}); '
                        'write it again with tools/gdui/select_reliable.py.') from err
    if total != num_samples:
        raise CdmxError(f'reliable-samples file {path} was computed on {total} images but the '
                        f'pool has {num_samples}; select the reliable samples on this pool.')
    if indices.shape != labels.shape or indices.ndim != 1 or (indices.size and (
            indices.min() < 0 or indices.max() >= total or labels.min() < 0
            or labels.max() >= clusters)):
        raise CdmxError(f'reliable-samples file {path} holds indices or labels out of range; '
                        'write it again with tools/gdui/select_reliable.py.')
    out = np.full(total, -1, dtype=np.int64)
    out[indices] = labels
    return out


@DATASETS.register_module()
class ReliableSamplesDataset(BaseDataset):
    """A pool dataset plus ``pseudo_label`` per sample (reliable cluster label or -1).

    Args:
        dataset (dict | BaseDataset): The pool the reliable samples were selected on, same order.
        reliable_file (str): The reliable-samples JSON (module docstring).
        pipeline (Sequence): Transforms applied by ``__getitem__``.
        **kwargs: Other arguments of mmengine's ``BaseDataset``.
    """

    def __init__(self, dataset: Union[dict, BaseDataset], reliable_file: str, pipeline=(),
                 **kwargs):
        self.source = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self.reliable_file = reliable_file
        self._pseudo = read_reliable_file(reliable_file, len(self.source))
        super().__init__(metainfo=dict(self.source.metainfo), pipeline=list(pipeline),
                         **kwargs)

    def load_data_list(self):
        return [dict(source_idx=i) for i in range(len(self._pseudo))]

    def get_data_info(self, idx: int) -> dict:
        source_idx = super().get_data_info(idx)['source_idx']
        info = self.source.get_data_info(source_idx)
        info['pseudo_label'] = int(self._pseudo[source_idx])
        return info

    @property
    def num_reliable(self) -> int:
        """How many samples carry a reliable label."""
        return int((self._pseudo >= 0).sum())
