"""Backbones registered in :data:`cdmx.registry.MODELS`."""
from .wide_resnet import WideResNet

__all__ = ['WideResNet']
