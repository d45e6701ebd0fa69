"""Metrics (mmengine ``BaseMetric``), registered in :data:`cdmx.registry.METRICS`."""
from .open_set import OpenSetMetric

__all__ = ['OpenSetMetric']
