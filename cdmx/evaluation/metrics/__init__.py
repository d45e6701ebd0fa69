"""Metrics (mmengine ``BaseMetric``), registered in :data:`cdmx.registry.METRICS`."""
from .clustering import (ClusteringMetric, best_cluster_map, cluster_accuracy,
                         clustering_scores, matched_cluster_fraction)
from .open_set import OpenSetMetric

__all__ = ['OpenSetMetric']
__all__ += ['ClusteringMetric', 'best_cluster_map', 'cluster_accuracy', 'clustering_scores',
            'matched_cluster_fraction']
from .segmentation import CalibrationMetric, HeadTailIoUMetric, SegConfusionMatrix  # noqa: E402

__all__ += ['CalibrationMetric', 'HeadTailIoUMetric', 'SegConfusionMatrix']
from .generation import (GenerationMetric, InceptionExtractor, ModelLogits,  # noqa: E402
                         compute_generation_metrics, fid_from_features, frechet_distance,
                         inception_score, precision_recall)

__all__ += ['GenerationMetric', 'InceptionExtractor', 'ModelLogits', 'compute_generation_metrics',
            'fid_from_features', 'frechet_distance', 'inception_score', 'precision_recall']
