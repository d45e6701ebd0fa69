"""Heads (``nn.Module``), registered in :data:`cdmx.registry.HEADS`."""
from .open_set_head import ClosedSetHead, OpenSetHead

__all__ = ['ClosedSetHead', 'OpenSetHead']
