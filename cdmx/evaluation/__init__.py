"""Evaluation of cdmx: metrics registered in :data:`cdmx.registry.METRICS` on import."""
from .metrics import *  # noqa: F401,F403
