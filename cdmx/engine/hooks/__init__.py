"""Hooks of cdmx, registered in :data:`cdmx.registry.HOOKS`."""
from .labelling_hook import ConfidenceLabellingHook

__all__ = ['ConfidenceLabellingHook']
