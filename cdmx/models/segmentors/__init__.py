"""Segmentors (mmseg-compatible), registered in :data:`cdmx.registry.MODELS`."""
from .diffmatch import DiffMatch
from .semi_supervised import SemiSupervisedSegmentor

__all__ = ['DiffMatch', 'SemiSupervisedSegmentor']
