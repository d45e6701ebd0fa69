"""cdmx: learning from unlabeled, label-scarce and class-mismatched images with diffusion models."""
from .version import __version__

__all__ = ['__version__']
