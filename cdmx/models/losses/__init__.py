"""Losses (``nn.Module``), registered in :data:`cdmx.registry.LOSSES`."""
from .ucdm_loss import BRANCHES, UCDMLoss

__all__ = ['BRANCHES', 'UCDMLoss']
