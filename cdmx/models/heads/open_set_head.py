"""UCDM's two linear heads on pooled backbone features (Du et al., ICML 2025, §4).

- :class:`ClosedSetHead`: K logits ``c(x)``; the closed-set probabilities are ``softmax(c(x))``.
- :class:`OpenSetHead`: K one-vs-all binary classifiers, 2K logits arranged as ``(N, 2, K)``:
  ``o[:, 0, k]`` says "x is of class k" (inlier), ``o[:, 1, k]`` says "x is not of class k"
  (outlier). Each class's pair is normalised on its own::

      p_k(in | x) = exp(o[0, k]) / (exp(o[0, k]) + exp(o[1, k])),   p_k(out | x) = 1 - p_k(in | x)

  (the layout of the official implementation: one linear layer of 2K outputs read as 2 x K).

Both heads are plain linear layers (mmpretrain's ``LinearClsHead`` also owns a loss and a
predict step, which belong to :class:`cdmx.models.classifiers.UCDMClassifier` here).
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from cdmx.registry import HEADS
from cdmx.utils.errors import CdmxError

# FixMatch's (and the baseline configs') classifier initialisation: Xavier-normal, zero bias.
DEFAULT_INIT = dict(type='Xavier', layer='Linear', distribution='normal', bias=0.0)


def _check_sizes(name: str, num_classes: int, in_channels: int) -> None:
    for what, value in (('num_classes', num_classes), ('in_channels', in_channels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CdmxError(f'{name} {what} is {value!r}; give a positive integer (e.g. '
                            'num_classes=2, in_channels=128 for WRN-28-2).')


def _features(feats: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
    """The last of a neck's outputs (a tuple, as mmpretrain necks return) or the tensor itself."""
    return feats[-1] if isinstance(feats, (tuple, list)) else feats


@HEADS.register_module()
class ClosedSetHead(BaseModule):
    """Closed-set classifier: pooled features (N, C) -> logits c(x) of shape (N, K).

    Args:
        num_classes (int): K, the number of known classes.
        in_channels (int): C, the feature size (128 for WRN-28-2).
        init_cfg (dict, optional): mmengine initialisation; Xavier-normal with zero bias.
    """

    def __init__(self, num_classes: int, in_channels: int, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=DEFAULT_INIT if init_cfg is None else init_cfg)
        _check_sizes('ClosedSetHead', num_classes, in_channels)
        self.num_classes = num_classes
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
        """(N, C) features (or a tuple ending with them) -> (N, K) logits."""
        return self.fc(_features(feats))


@HEADS.register_module()
class OpenSetHead(BaseModule):
    """K one-vs-all binary classifiers: pooled features (N, C) -> logits o(x) of shape (N, 2, K).

    ``o[:, 0]`` are the inlier logits and ``o[:, 1]`` the outlier logits of the K classifiers;
    :meth:`pair_probs` turns them into ``p_k(in | x)`` and ``p_k(out | x)``.

    Args:
        num_classes (int): K, the number of known classes (one binary classifier each).
        in_channels (int): C, the feature size (128 for WRN-28-2).
        init_cfg (dict, optional): mmengine initialisation; Xavier-normal with zero bias.
    """

    def __init__(self, num_classes: int, in_channels: int, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=DEFAULT_INIT if init_cfg is None else init_cfg)
        _check_sizes('OpenSetHead', num_classes, in_channels)
        self.num_classes = num_classes
        self.fc = nn.Linear(in_channels, 2 * num_classes)

    def forward(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
        """(N, C) features (or a tuple ending with them) -> (N, 2, K) logits."""
        logits = self.fc(_features(feats))
        return logits.view(logits.shape[0], 2, self.num_classes)

    @staticmethod
    def pair_probs(open_logits: torch.Tensor) -> torch.Tensor:
        """(N, 2, K) logits -> (N, 2, K) probabilities, a softmax over each class's pair (dim 1):
        ``[:, 0, k] = p_k(in | x)``, ``[:, 1, k] = p_k(out | x)``."""
        if open_logits.dim() != 3 or open_logits.shape[1] != 2:
            raise CdmxError(f'open-set logits must have shape (N, 2, K) but have '
                            f'{tuple(open_logits.shape)}; pass the output of OpenSetHead.')
        return open_logits.softmax(dim=1)
