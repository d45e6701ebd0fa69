"""Classifiers (mmengine ``BaseModel``), registered in :data:`cdmx.registry.MODELS`."""
from .noisy_classifier import NoisyClassifier
from .cluster_model import ClusterModel
from .ucdm_classifier import UCDMClassifier, known_driven_scores, open_set_scores

__all__ = ['NoisyClassifier', 'UCDMClassifier', 'open_set_scores', 'known_driven_scores']
__all__ += ['ClusterModel']
