"""Building blocks of the models (not registered: the modules that use them build them)."""
from .deformable_attention import (PointsFirstDeformableAttention,
                                   deformable_attention_points_first)

__all__ = ['PointsFirstDeformableAttention', 'deformable_attention_points_first']
