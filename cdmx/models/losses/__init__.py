"""Losses (``nn.Module``), registered in :data:`cdmx.registry.LOSSES`."""
