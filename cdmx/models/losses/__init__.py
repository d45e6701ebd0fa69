"""Losses (``nn.Module``), registered in :data:`cdmx.registry.LOSSES`."""
from .ucdm_loss import BRANCHES, UCDMLoss
from .debiased_diffusion_loss import DebiasedCrossEntropyLoss, DebiasedDiffusionLoss

__all__ = ['BRANCHES', 'UCDMLoss']
__all__ += ['DebiasedCrossEntropyLoss', 'DebiasedDiffusionLoss']
