"""Heads (``nn.Module``), registered in :data:`cdmx.registry.HEADS`."""
from .cluster_head import ClusterHead
from .open_set_head import ClosedSetHead, OpenSetHead
from .mask_denoiser import MaskDenoiser
from .deformable_readout import DeformableReadout, DeformableReadoutASPPHead

__all__ = ['ClosedSetHead', 'OpenSetHead']
__all__ += ['ClusterHead']
__all__ += ['MaskDenoiser']
__all__ += ['DeformableReadout', 'DeformableReadoutASPPHead']
