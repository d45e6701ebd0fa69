"""Hue jitter for the strong view."""
import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from cdmx.registry import TRANSFORMS
from cdmx.utils.errors import CdmxError


@TRANSFORMS.register_module()
class RandomHue(BaseTransform):
    """Rotate the hue of a BGR uint8 image by ``delta`` of a full turn, ``delta ~ U[-d, d]``.

    The hue part of torchvision's / UniMatch's ``ColorJitter(hue=d)``. Written here because
    mmcv's ``adjust_hue`` (which mmpretrain's ``ColorJitter`` calls) computes
    ``np.uint8(delta * 255)``, which raises for every negative ``delta`` with numpy >= 2; use
    ``mmpretrain.ColorJitter(hue=0)`` for brightness, contrast and saturation and this after it.
    The hue channel of OpenCV's full-range HSV (0-255 for a full turn) is shifted modulo 256.

    Args:
        max_delta (float): ``d`` in [0, 0.5]. Defaults to 0.25.
    """

    def __init__(self, max_delta: float = 0.25):
        super().__init__()
        if not 0 <= max_delta <= 0.5:
            raise CdmxError(f'RandomHue max_delta={max_delta} is not in [0, 0.5]; a hue shift '
                            'is a fraction of a turn, at most half of it either way.')
        self.max_delta = max_delta

    @cache_randomness
    def _delta(self) -> float:
        return np.random.uniform(-self.max_delta, self.max_delta)

    def transform(self, results: dict) -> dict:
        hsv = cv2.cvtColor(results['img'], cv2.COLOR_BGR2HSV_FULL)
        shift = int(round(self._delta() * 256))
        hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + shift) % 256).astype(np.uint8)
        results['img'] = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(max_delta={self.max_delta})'
