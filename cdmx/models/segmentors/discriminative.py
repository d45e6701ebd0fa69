"""A discriminative segmentor with the labelled class prior and post-hoc logit adjustment.

mmseg's :class:`~mmseg.models.EncoderDecoder` (any decode head: DeepLabv3+ for the UniMatch-style
baseline, :class:`~cdmx.models.heads.DeformableReadoutASPPHead` for DiffMatch's Table 5 "Dis.
Baseline") plus what DiffMatch's extension ``debias_sampling`` offers the diffusion readout, so
the two readouts can be compared with and without it:

* the labelled class prior ``p(c)`` (:mod:`.class_prior`: a fixed ``class_prior`` or the
  add-one smoothed labelled pixel counts, summed over processes);
* ``logit_adjust`` = alpha >= 0: the logits at inference (and so the teacher's pseudo-labels in
  the semi-supervised loop) become ``s_c - alpha log p(c)``, i.e. the softmax posterior divided
  by ``p(c)^alpha`` and renormalised, the post-hoc logit adjustment of Menon et al. 2020
  ("Long-tail learning via logit adjustment"), which DiffMatch's Appendix C cites; it is
  ``P(c) / (C p(c))^alpha`` of DiffMatch's ``debias_sampling`` (``C`` is a constant shift).
  0 (default) leaves mmseg's ``EncoderDecoder`` unchanged. Not in the DiffMatch paper.
"""
from typing import List, Optional, Sequence

import torch
from mmseg.models import EncoderDecoder
from mmseg.structures import SegDataSample

from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError

from .class_prior import ClassPriorMixin


@MODELS.register_module()
class DiscriminativeSegmentor(ClassPriorMixin, EncoderDecoder):
    """mmseg's ``EncoderDecoder`` with ``p(c)`` and logit adjustment (module docstring):
    ``inputs (N, 3, H, W)`` -> ``seg_logits (N, C, H, W)``.

    Args:
        logit_adjust (float): ``alpha`` >= 0 of ``s_c - alpha log p(c)`` (0: none).
        class_prior (list[float], optional): A fixed ``p(c)`` (``C`` positive values,
            normalised); by default the smoothed labelled pixel counts of training.
        **kwargs: ``EncoderDecoder``'s arguments (backbone, decode_head, ...).
    """

    def __init__(self, logit_adjust: float = 0.0,
                 class_prior: Optional[Sequence[float]] = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(logit_adjust, bool) or not isinstance(logit_adjust, (int, float)) or \
                not logit_adjust >= 0:
            raise CdmxError(f'logit_adjust is {logit_adjust!r}; give a number >= 0 (the '
                            'power of 1 / p(c) applied to the posterior, 0 for none).')
        self.logit_adjust = float(logit_adjust)
        self.ignore_index = self.decode_head.ignore_index
        self._init_class_prior(class_prior)

    def loss(self, inputs: torch.Tensor, data_samples: List[SegDataSample]) -> dict:
        """mmseg's loss, after counting the batch's labelled pixels for ``p(c)``."""
        self.count_classes(torch.stack([s.gt_sem_seg.data for s in data_samples]))
        return super().loss(inputs, data_samples)

    def adjust(self, logits: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` logits -> ``logits - alpha log p(c)``, same shape."""
        if self.logit_adjust == 0:
            return logits
        log_prior = self.class_prior().to(logits).log()
        return logits - self.logit_adjust * log_prior[None, :, None, None]

    def encode_decode(self, inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
        """mmseg's logits ``(N, C, H, W)``, adjusted (whole and slide inference call this)."""
        return self.adjust(super().encode_decode(inputs, batch_img_metas))

    def _forward(self, inputs: torch.Tensor, data_samples=None) -> torch.Tensor:
        """Tensor mode: the decode head's ``(N, C, H/4, W/4)`` logits, adjusted."""
        return self.adjust(super()._forward(inputs, data_samples))
