"""Clustering and matching quality (GDUI §4.1 and Table 2): ACC, NMI, ARI, matched clusters.

For cluster ids ``c_i`` (0..K-1) and true classes ``g_i`` (0..G-1) of N samples:

- ``accuracy``: clustering accuracy, ``max_m (1/N) sum_i 1[m(c_i) = g_i]`` over one-to-one
  maps m from clusters to classes, solved as a maximum-weight assignment on the K x G count
  matrix (``scipy.optimize.linear_sum_assignment``, the Hungarian method);
- ``nmi``: normalised mutual information (arithmetic mean normalisation, sklearn's default);
- ``ari``: adjusted Rand index (sklearn);
- ``matched_clusters``: given a matcher's cluster -> class assignment (the ``cluster_to_class``
  of a labels file), the share of clusters assigned the class the accuracy-optimal map m gives
  them; 1.0 means the matcher found the best achievable naming of the clusters.

All values are fractions in [0, 1] (ARI may be negative).
"""
import json
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from cdmx.registry import METRICS
from cdmx.utils.errors import CdmxError


def _int(value) -> int:
    """An int from a Python number or a one-element tensor/array."""
    return int(value.reshape(-1)[0]) if hasattr(value, 'reshape') else int(value)


def _labels(values, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or array.size == 0 or not np.issubdtype(array.dtype, np.integer) or \
            (array < 0).any():
        raise CdmxError(f'{name} must be a non-empty 1-D array of non-negative integer ids, got '
                        f'shape {array.shape} and dtype {array.dtype}.')
    return array.astype(np.int64)


def best_cluster_map(clusters, classes) -> np.ndarray:
    """The one-to-one map m (K,) maximising ``sum_i 1[m(c_i) = g_i]``; -1 for clusters left
    over when there are more clusters than classes."""
    clusters, classes = _labels(clusters, 'clusters'), _labels(classes, 'classes')
    if clusters.shape != classes.shape:
        raise CdmxError(f'{clusters.size} cluster ids for {classes.size} true labels; give one '
                        'of each per sample.')
    counts = np.zeros((clusters.max() + 1, classes.max() + 1), dtype=np.int64)
    np.add.at(counts, (clusters, classes), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    mapping = np.full(counts.shape[0], -1, dtype=np.int64)
    mapping[rows] = cols
    return mapping


def cluster_accuracy(clusters, classes) -> float:
    """Clustering accuracy under the best one-to-one map (Hungarian)."""
    clusters, classes = _labels(clusters, 'clusters'), _labels(classes, 'classes')
    mapping = best_cluster_map(clusters, classes)
    return float(np.mean(mapping[clusters] == classes))


def matched_cluster_fraction(clusters, classes, cluster_to_class) -> float:
    """Share of clusters k whose assigned class ``cluster_to_class[k]`` is the one the
    accuracy-optimal map gives them (clusters without samples are not counted)."""
    clusters = _labels(clusters, 'clusters')
    assigned = np.asarray(cluster_to_class, dtype=np.int64)
    if assigned.ndim != 1 or clusters.max() >= assigned.size:
        raise CdmxError(f'cluster_to_class has {assigned.size} entries but cluster ids go up to '
                        f'{clusters.max()}; give one class per cluster.')
    best = best_cluster_map(clusters, classes)
    present = np.unique(clusters)
    return float(np.mean(assigned[present] == best[present]))


def clustering_scores(clusters, classes, cluster_to_class=None) -> Dict[str, float]:
    """``{'accuracy', 'nmi', 'ari'}`` (+ ``'matched_clusters'`` when an assignment is given)."""
    clusters, classes = _labels(clusters, 'clusters'), _labels(classes, 'classes')
    scores = dict(accuracy=cluster_accuracy(clusters, classes),
                  nmi=float(normalized_mutual_info_score(classes, clusters)),
                  ari=float(adjusted_rand_score(classes, clusters)))
    if cluster_to_class is not None:
        scores['matched_clusters'] = matched_cluster_fraction(clusters, classes,
                                                              cluster_to_class)
    return scores


@METRICS.register_module()
class ClusteringMetric(BaseMetric):
    """ACC, NMI, ARI of predicted clusters (``pred_label``) against ``gt_label``, in percent.

    Each data sample must carry ``pred_label`` (the cluster id, e.g. from
    :class:`cdmx.models.classifiers.ClusterModel` in ``predict`` mode) and ``gt_label``. With
    ``labels_file`` (the JSON written by ``tools/gdui/match_labels.py``) it also reports
    ``matched_clusters``: the share of clusters the matcher named right.

    Args:
        labels_file (str, optional): A labels JSON with ``cluster_to_class``.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Defaults to ``'clustering'``.
    """

    default_prefix = 'clustering'

    def __init__(self, labels_file: Optional[str] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.labels_file = labels_file

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'pred_label' not in sample or 'gt_label' not in sample:
                raise CdmxError('a data sample lacks pred_label or gt_label; evaluate a model '
                                'that predicts cluster ids on a dataset with true labels.')
            self.results.append((_int(sample['pred_label']), _int(sample['gt_label'])))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        clusters, classes = (np.array(column, dtype=np.int64) for column in zip(*results))
        assignment = None
        if self.labels_file is not None:
            try:
                with open(self.labels_file, encoding='utf-8') as f:
                    assignment = json.load(f)['cluster_to_class']
            except (OSError, ValueError, KeyError) as err:
                raise CdmxError(f'labels file {self.labels_file} cannot be read or has no '
                                f'cluster_to_class ({err}); run tools/gdui/match_labels.py '
                                'first or drop labels_file.') from err
        scores = clustering_scores(clusters, classes, assignment)
        return {name: value * 100 for name, value in scores.items()}
