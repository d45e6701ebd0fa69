"""Classifiers (mmengine ``BaseModel``), registered in :data:`cdmx.registry.MODELS`."""
