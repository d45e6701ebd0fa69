"""Diffusion models trained by ``tools/train.py`` (mmengine ``BaseModel``), registered in MODELS."""
from .pixel_diffusion import PixelDiffusion

__all__ = ['PixelDiffusion']
