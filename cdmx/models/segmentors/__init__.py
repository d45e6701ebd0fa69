"""Segmentors (mmseg-compatible), registered in :data:`cdmx.registry.MODELS`."""
from .diffmatch import DiffMatch
from .discriminative import DiscriminativeSegmentor
from .semi_supervised import SemiSupervisedSegmentor

__all__ = ['DiffMatch', 'DiscriminativeSegmentor', 'SemiSupervisedSegmentor']
