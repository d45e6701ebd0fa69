"""Clustering accuracy, NMI, ARI and matched clusters against hand-computed values."""
import json
import math

import numpy as np
import pytest
import torch

from cdmx.evaluation.metrics import (best_cluster_map, cluster_accuracy, clustering_scores,
                                     matched_cluster_fraction)
from cdmx.registry import METRICS
from cdmx.utils.errors import CdmxError

# Counts (cluster x class): c0 = {class1: 2, class0: 1}, c1 = {class0: 2},
# c2 = {class2: 2, class1: 1}.
CLUSTERS = np.array([0, 0, 0, 1, 1, 2, 2, 2])
CLASSES = np.array([1, 1, 0, 0, 0, 2, 2, 1])


def test_accuracy_uses_the_best_one_to_one_map():
    assert best_cluster_map(CLUSTERS, CLASSES).tolist() == [1, 0, 2]
    assert cluster_accuracy(CLUSTERS, CLASSES) == 6 / 8
    # Renaming clusters changes nothing; two clusters cannot share a class.
    assert cluster_accuracy((CLUSTERS + 1) % 3, CLASSES) == 6 / 8
    assert cluster_accuracy(np.array([0, 1, 2, 3]), np.array([0, 0, 0, 0])) == 1 / 4


def test_ari_by_pair_counting():
    # sum_ij C(n_ij, 2) = 1 + 0 + 1 + 1 + 0 = 3; clusters 3, 2, 3 -> 7; classes 3, 3, 2 -> 7;
    # expected 7 * 7 / C(8, 2) = 1.75; ARI = (3 - 1.75) / (7 - 1.75).
    assert clustering_scores(CLUSTERS, CLASSES)['ari'] == pytest.approx(1.25 / 5.25)


def test_nmi_from_entropies():
    p_joint = {(0, 1): 2, (0, 0): 1, (1, 0): 2, (2, 2): 2, (2, 1): 1}
    p_cluster, p_class = [3, 2, 3], [3, 3, 2]
    mi = sum(n / 8 * math.log((n / 8) / (p_cluster[i] / 8 * p_class[j] / 8))
             for (i, j), n in p_joint.items())
    h_u = -sum(a / 8 * math.log(a / 8) for a in p_cluster)
    h_v = -sum(b / 8 * math.log(b / 8) for b in p_class)
    assert clustering_scores(CLUSTERS, CLASSES)['nmi'] == pytest.approx(mi / ((h_u + h_v) / 2))


def test_matched_clusters_counts_clusters_named_as_the_best_map_does():
    assert matched_cluster_fraction(CLUSTERS, CLASSES, [1, 0, 2]) == 1.0
    assert matched_cluster_fraction(CLUSTERS, CLASSES, [1, 2, 0]) == pytest.approx(1 / 3)
    assert clustering_scores(CLUSTERS, CLASSES, [2, 1, 0])['matched_clusters'] == 0.0


def test_perfect_clustering_scores_one():
    scores = clustering_scores(CLASSES, CLASSES, [0, 1, 2])
    assert scores == dict(accuracy=1.0, nmi=pytest.approx(1.0), ari=pytest.approx(1.0),
                          matched_clusters=1.0)


def test_metric_reports_percentages_and_reads_a_labels_file(tmp_path):
    labels_file = tmp_path / 'labels.json'
    labels_file.write_text(json.dumps(dict(class_names=['a', 'b', 'c'], labels=[],
                                           cluster_to_class=[1, 2, 0])))
    metric = METRICS.build(dict(type='ClusteringMetric', labels_file=str(labels_file)))
    samples = [dict(pred_label=torch.tensor([c]), gt_label=torch.tensor([g]))
               for c, g in zip(CLUSTERS, CLASSES)]
    metric.process(None, samples[:5])
    metric.process(None, samples[5:])
    result = metric.evaluate(len(samples))
    assert result['clustering/accuracy'] == pytest.approx(75.0)
    assert result['clustering/ari'] == pytest.approx(100 * 1.25 / 5.25)
    assert result['clustering/matched_clusters'] == pytest.approx(100 / 3)


def test_bad_inputs_are_refused(tmp_path):
    with pytest.raises(CdmxError, match='one of each per sample'):
        cluster_accuracy(CLUSTERS, CLASSES[:5])
    with pytest.raises(CdmxError, match='non-negative integer'):
        cluster_accuracy(np.array([0.5, 1.0]), np.array([0, 1]))
    with pytest.raises(CdmxError, match='one class per cluster'):
        matched_cluster_fraction(CLUSTERS, CLASSES, [0, 1])
    metric = METRICS.build(dict(type='ClusteringMetric', labels_file=str(tmp_path / 'x.json')))
    metric.process(None, [dict(pred_label=torch.tensor([0]), gt_label=torch.tensor([0]))])
    with pytest.raises(CdmxError, match='cannot be read'):
        metric.evaluate(1)
    with pytest.raises(CdmxError, match='lacks pred_label'):
        metric.process(None, [dict(gt_label=torch.tensor([0]))])
