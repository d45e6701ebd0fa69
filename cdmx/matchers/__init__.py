"""Matchers, registered in :data:`cdmx.registry.MATCHERS`.

A matcher is a callable ``matcher(priority) -> assignment``: ``priority`` is an (R, C) array
whose entry ``[i, j]`` says how much row i (e.g. a cluster) wants column j (e.g. a class name),
and ``assignment`` an (R,) int array giving the column of each row (-1 where none). The scorer
that fills the priority matrix is a separate component. ``projects/example_plugin`` shows one
written outside cdmx; a new one subclasses :class:`PriorityMatcher` and implements ``assign``.
"""
from .clip_scorer import (CLIPZeroShotScorer, check_class_count, class_proportion_priority,
                          top_confident)
from .hungarian import HungarianMatcher
from .priority import PriorityMatcher, check_priority
from .refinement import LabelMatchingRefinement
from .stable_marriage import StableMarriageMatcher

__all__ = [
    'CLIPZeroShotScorer', 'check_class_count', 'class_proportion_priority', 'top_confident',
    'HungarianMatcher', 'LabelMatchingRefinement', 'PriorityMatcher', 'StableMarriageMatcher',
    'check_priority'
]
