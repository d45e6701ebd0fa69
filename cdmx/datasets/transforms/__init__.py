"""Transforms of cdmx's segmentation pipelines, registered in :data:`cdmx.registry.TRANSFORMS`.

Only what mmcv, mmseg and mmpretrain lack: the multi-branch packing of semi-supervised samples,
an annotation loader that checks label values, a crop that refuses images smaller than the
crop and a hue jitter. The strong photometric views use the libraries' transforms by prefix
(``mmpretrain.ColorJitter``, ``RandomGrayscale``, ``mmpretrain.GaussianBlur`` in ``RandomApply``),
except the hue jitter, which mmcv gets wrong under numpy 2 (:class:`RandomHue`).
"""
from .checked import CheckedRandomCrop, LoadCheckedAnnotations
from .multi_branch import MultiBranchSeg
from .photometric import RandomHue

__all__ = ['CheckedRandomCrop', 'LoadCheckedAnnotations', 'MultiBranchSeg', 'RandomHue']
