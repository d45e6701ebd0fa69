"""Heads (``nn.Module``), registered in :data:`cdmx.registry.HEADS`."""
