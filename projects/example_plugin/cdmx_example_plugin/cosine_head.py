"""A cosine-classifier head: a third party's plugin registered into ``cdmx.registry.HEADS``."""
from typing import Optional, Tuple

import torch
from mmpretrain.models.heads import ClsHead
from mmpretrain.models.heads.margin_head import NormProduct

from cdmx.registry import HEADS
from cdmx.utils.errors import CdmxError


@HEADS.register_module()
class CosineClsHead(ClsHead):
    """Classify by scaled cosine similarity to one learned prototype per class.

    For pooled features f of shape (N, C) and class weights W of shape (K, C) the scores are
    (Gidaris & Komodakis, CVPR 2018, Eq. 3; Chen et al., ICLR 2019, "Baseline++")::

        logits[n, k] = scale * <f_n / ||f_n||, w_k / ||w_k||>        shape (N, K)

    so every logit lies in [-scale, scale]; ``scale`` sets how peaked the softmax can get.
    Training, prediction and the loss are mmpretrain's ``ClsHead``; mmpretrain's ``NormProduct``
    computes the cosine.

    Args:
        num_classes (int): K.
        in_channels (int): C.
        scale (float): The fixed temperature ``scale`` > 0. Defaults to 16.
        loss (dict): Loss config; names of other scopes carry their prefix. Defaults to
            mmpretrain's cross-entropy.
        topk (tuple[int]): Top-k accuracies logged in training when ``cal_acc``.
        init_cfg (dict): Initialisation of the prototypes. Defaults to N(0, 0.01).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 scale: float = 16.0,
                 loss: dict = dict(type='mmpretrain.CrossEntropyLoss', loss_weight=1.0),
                 topk: Tuple[int, ...] = (1, ),
                 init_cfg: Optional[dict] = dict(type='Normal', layer='Linear', std=0.01),
                 **kwargs):
        if num_classes < 1 or in_channels < 1 or scale <= 0:
            raise CdmxError(f'CosineClsHead got num_classes={num_classes}, '
                            f'in_channels={in_channels}, scale={scale}; give positive values.')
        super().__init__(loss=loss, topk=topk, init_cfg=init_cfg, **kwargs)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.scale = scale
        self.fc = NormProduct(in_channels, num_classes, bias=False)

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Tuple of (N, C) features (the last is used) -> (N, K) scaled cosine logits."""
        return self.scale * self.fc(self.pre_logits(feats))
