"""Pseudo-labelers, registered in :data:`cdmx.registry.PSEUDO_LABELERS`.

A pseudo-labeler takes model outputs for a pool of unlabeled samples and returns
``(indices, labels)``, the samples it trusts and their labels; a hook decides when it runs.
"""
from .cluster_file import load_clusters, save_clusters
from .confidence import ConfidencePairLabeler
from .consistency import consistency_ratio, cosine_neighbors
from .prototype import PrototypeLabeler
from .reliable import ConfidentLabeler, ReliableSampleLabeler

__all__ = ['ConfidencePairLabeler']
__all__ += ['consistency_ratio', 'cosine_neighbors', 'PrototypeLabeler', 'ConfidentLabeler',
            'ReliableSampleLabeler']
__all__ += ['load_clusters', 'save_clusters']
