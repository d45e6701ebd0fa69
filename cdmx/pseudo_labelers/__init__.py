"""Pseudo-labelers, registered in :data:`cdmx.registry.PSEUDO_LABELERS`.

A pseudo-labeler takes model outputs for a pool of unlabeled samples and returns
``(indices, labels)``, the samples it trusts and their labels; a hook decides when it runs.
"""
from .confidence import ConfidencePairLabeler

__all__ = ['ConfidencePairLabeler']
