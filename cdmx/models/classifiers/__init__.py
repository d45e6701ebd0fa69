"""Classifiers (mmengine ``BaseModel``), registered in :data:`cdmx.registry.MODELS`."""
from .ucdm_classifier import UCDMClassifier, known_driven_scores, open_set_scores

__all__ = ['UCDMClassifier', 'open_set_scores', 'known_driven_scores']
