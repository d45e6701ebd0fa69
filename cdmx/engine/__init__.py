"""Runner-side pieces of cdmx: distributed setup and (through cdmx.utils.checkpoint) safe loading.

Importing this package also installs cdmx's checkpoint loader into mmengine
(:mod:`cdmx.utils.checkpoint`), so every Runner that resolves cdmx's registries loads checkpoints
under ``weights_only=True`` with the allow-list.
"""
from cdmx.utils import checkpoint  # noqa: F401  (installs the safe loader on import)

from .distributed import LAUNCHERS, setup_distributed, teardown_distributed
from .hooks import ConfidenceLabellingHook

__all__ = ['LAUNCHERS', 'setup_distributed', 'teardown_distributed',
           'ConfidenceLabellingHook']
