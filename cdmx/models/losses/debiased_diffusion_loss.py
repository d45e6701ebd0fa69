"""DiffMatch's training objective: the diffusion loss (Eqs. 4-6) plus the debiased adjustment
(Eqs. 9-11) of "Towards Unbiased Learning in Semi-Supervised Semantic Segmentation".

With the denoiser's prediction ``f = f(y_t, z, lambda(t))`` of the encoded mask ``y_0`` at every
pixel of the 1/4-scale map (``K`` channels: analog bits or a class embedding)::

    L_diff = mean_pixels ||f - y_0||^2                                         (Eqs. 4-6)
    L_adj  = tau * t * mean_pixels ||f - sg[f] / (C p(y_0))||^2                (Eqs. 9-11)
    L      = L_diff + L_adj

where ``C`` is the number of classes, ``t ~ U(0, 1)`` the sample's diffusion time, ``tau = 0.1``
and ``p`` the class prior (the labelled ground-truth frequencies, or their EMA over
pseudo-labels for unlabelled data).

Where the paper is ambiguous, the choices made here:

* Which prior value a pixel uses (Eq. 10): ``p(y_0)`` at a pixel is the prior of *that pixel's
  target class* (ground truth or pseudo-label), ``p[y]`` gathered from the ``(C,)`` prior. So
  the debiased prediction ``f / (C p[y])`` equals ``f`` under a uniform prior (``p = 1 / C``:
  the term vanishes), is enlarged for classes rarer than uniform and shrunk for frequent ones.
* The debiased prediction is a target (``sg`` = stop-gradient, Eq. 11 compares the prediction
  with its debiased version). With the gradient through both sides the term would be
  ``(1 - 1 / (C p))^2 ||f||^2`` and only shrink every prediction, whatever its class; as a
  target, its gradient ``2 (1 - 1 / (C p)) f`` enlarges predictions of rare classes (``C p < 1``)
  and shrinks those of frequent classes, which is the debiasing intent.
* Reduction: both terms are means over the channels and the non-ignored pixels of the batch
  (ignored pixels, e.g. the ignore index or low-confidence pseudo-labels, contribute nothing);
  ``t`` weights each pixel of its sample.
"""
from typing import Dict

import torch
import torch.nn as nn

from cdmx.registry import LOSSES
from cdmx.utils.errors import CdmxError


@LOSSES.register_module()
class DebiasedDiffusionLoss(nn.Module):
    """``L_diff`` (Eqs. 4-6) and ``L_adj`` (Eqs. 9-11), see the module docstring.

    Args:
        tau (float): Weight of the adjustment term (the paper uses 0.1; 0 turns it off, the
            "without adjustment" ablation).
        loss_weight (float): Factor on both terms.
        ignore_index (int): Label value of pixels outside the loss.
    """

    def __init__(self, tau: float = 0.1, loss_weight: float = 1.0, ignore_index: int = 255):
        super().__init__()
        for name, value in (('tau', tau), ('loss_weight', loss_weight)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise CdmxError(f'DebiasedDiffusionLoss {name} is {value!r}; give a '
                                'non-negative number (the paper uses tau = 0.1).')
        self.tau, self.loss_weight = float(tau), float(loss_weight)
        self.ignore_index = int(ignore_index)

    def forward(self, pred: torch.Tensor, target: torch.Tensor, t: torch.Tensor,
                labels: torch.Tensor, class_prior: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Both terms over the non-ignored pixels.

        Args:
            pred (Tensor): ``(N, K, H, W)`` the denoiser's ``f``, a prediction of ``y_0``.
            target (Tensor): ``(N, K, H, W)`` the encoded mask ``y_0``.
            t (Tensor): ``(N,)`` diffusion times in [0, 1].
            labels (Tensor): ``(N, H, W)`` int class ids of ``y_0``, ``ignore_index`` where
                no loss is taken.
            class_prior (Tensor): ``(C,)`` class probabilities ``p`` (sum 1).

        Returns:
            dict: ``loss_diffusion`` (Eqs. 4-6) and, when ``tau > 0``, ``loss_adjust``
            (Eqs. 9-11), scalars with gradient (0 when every pixel is ignored).
        """
        if pred.shape != target.shape or pred.dim() != 4:
            raise CdmxError(f'the prediction {tuple(pred.shape)} and target '
                            f'{tuple(target.shape)} must both be (N, K, H, W) of one shape; '
                            'check the label encoding of the denoiser.')
        if labels.shape != (pred.shape[0], *pred.shape[2:]) or t.shape != pred.shape[:1]:
            raise CdmxError(f'labels {tuple(labels.shape)} and times {tuple(t.shape)} must be '
                            f'(N, H, W) and (N,) for a prediction of {tuple(pred.shape)}; resize '
                            'the labels to the prediction.')
        valid = labels != self.ignore_index
        num_classes = class_prior.numel()
        classes = labels[valid]
        if classes.numel() and (classes.min() < 0 or classes.max() >= num_classes):
            raise CdmxError(f'labels range over {int(classes.min())}..{int(classes.max())} but '
                            f'the class prior has {num_classes} classes and the ignore index is '
                            f'{self.ignore_index}; fix the label maps or num_classes.')
        if (class_prior < 0).any() or abs(float(class_prior.sum()) - 1) > 1e-3:
            raise CdmxError(f'the class prior must be non-negative and sum to 1, got sum '
                            f'{float(class_prior.sum()):.4f}; normalise the class frequencies.')
        losses = {}
        count = valid.sum().clamp(min=1) * pred.shape[1]
        mask = valid[:, None].to(pred.dtype)
        losses['loss_diffusion'] = self.loss_weight * (
            ((pred - target) ** 2) * mask).sum() / count
        if self.tau > 0:
            prior = class_prior.to(pred.dtype)[labels.clamp(0, num_classes - 1)]  # (N, H, W)
            if classes.numel() and (class_prior[classes] <= 0).any():
                raise CdmxError('a class in the labels has prior probability 0, which makes '
                                'Eq. 10 divide by zero; estimate the prior from data that '
                                'contains every class, or smooth it.')
            scale = torch.where(valid, 1.0 / (num_classes * prior.clamp(min=1e-12)),
                                torch.ones_like(prior))
            debiased = pred.detach() * scale[:, None]
            weight = self.tau * t.to(pred.dtype)[:, None, None, None] * mask
            losses['loss_adjust'] = self.loss_weight * (
                weight * (pred - debiased) ** 2).sum() / count
        return losses
