"""DiffMatch's training objective: the diffusion loss (Eqs. 4-6) plus the debiased adjustment
(Eqs. 9-11) of "Towards Unbiased Learning in Semi-Supervised Semantic Segmentation".

With the denoiser's prediction ``f = f(y_t, z, lambda(t))`` of the encoded mask ``y_0`` at every
pixel of the 1/4-scale map (``K`` channels: analog bits or a class embedding)::

    L_diff = mean_pixels ||f - y_0||^2                                         (Eqs. 4-6)
    L_adj  = tau * t * mean_pixels ||f - sg[f~]||^2                            (Eqs. 9-11)
    L      = L_diff + L_adj

where ``f~`` is the debiased prediction "``f / (C p(y_0))``", ``C`` the number of classes,
``t ~ U(0, 1)`` the sample's diffusion time, ``tau = 0.1`` and ``p`` the class prior (the
labelled ground-truth frequencies, or their EMA over pseudo-labels for unlabelled data).

Where the paper is ambiguous, the choices made here:

* What ``p(y_0)`` divides at pixel level (Eq. 10): the *class posterior* that ``f`` encodes,
  not the encoded vector itself. A prediction ``f`` of ``y_0`` under the squared error is a
  posterior mean, so it stands for class probabilities ``P(c | f)`` (the denoiser's
  ``class_log_probs``: independent bits for analog bits, Gaussian likelihoods for an
  embedding). Dividing them by ``C p(c)`` and renormalising is Bayes' rule for a uniform class
  prior, ``P~(c) ∝ P(c | f) / (C p(c))``, and moves the encoded mean by
  ``delta = sum_c (P~(c) - P(c | f)) v_c`` (``v_c`` the code of class ``c``). The debiased
  prediction is ``f~ = f + delta``. Under a uniform prior ``delta = 0`` and the term vanishes;
  where the posterior is sure of one class ``delta`` is small; where it is spread over a
  frequent and a rare class, ``f~`` leans to the rare one. (The literal per-pixel reading
  ``f / (C p[y])`` with the prior of the target class is unstable: with the stop-gradient its
  minimiser together with ``L_diff`` is ``y_0 / (1 + tau t (1 - 1 / (C p[y])))``, whose sign
  flips for every class rarer than ``1 / (C (1 + 1 / (tau t)))`` -- measured: tail-5 IoU 0 on
  the mini world.)
* The debiased prediction is a target (``sg`` = stop-gradient, Eq. 11 compares the prediction
  with its debiased version): the gradient ``-2 tau t delta`` pushes ``f`` towards the
  balanced posterior, and together with ``L_diff`` the minimiser is ``y_0 + tau t delta``,
  bounded by the code box whatever the prior.
* Reduction: both terms are means over the channels and the non-ignored pixels of the batch
  (ignored pixels, e.g. the ignore index or low-confidence pseudo-labels, contribute nothing);
  ``t`` weights each pixel of its sample.

:class:`DebiasedCrossEntropyLoss` is the same objective for a denoiser that reads out class
logits (``MaskDenoiser(readout='logits')``, DDP's readout, the option to the paper's squared
error): ``L_ce`` = the cross-entropy of the logits with the labels (mean over the non-ignored
pixels) in place of ``L_diff``, and ``L_adj = tau * t * ||P - sg[P~]||^2`` per pixel with ``P``
the softmax posterior and ``P~ ∝ P / (C p)`` -- Eq. 9's ``||f - f / (C p(y_0))||^2`` with ``f``
the class posterior, i.e. the term above with one-hot class codes.
"""
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from cdmx.registry import LOSSES
from cdmx.utils.errors import CdmxError


def debias_shift(log_probs: torch.Tensor, class_vectors: torch.Tensor,
                 class_prior: torch.Tensor) -> torch.Tensor:
    """``delta`` of the module docstring: how dividing the posterior by ``C p`` moves its mean.

    Args:
        log_probs (Tensor): ``(N, C, H, W)`` class log-probabilities of the prediction.
        class_vectors (Tensor): ``(C, K)`` the code of each class.
        class_prior (Tensor): ``(C,)`` positive class probabilities ``p``.

    Returns:
        Tensor: ``(N, K, H, W)``.
    """
    num_classes = class_prior.numel()
    posterior = log_probs.softmax(dim=1)
    balanced = (log_probs - torch.log(num_classes * class_prior)[None, :, None, None]).softmax(1)
    return torch.einsum('nchw,ck->nkhw', balanced - posterior, class_vectors)


class _DebiasedLoss(nn.Module):
    """Arguments and input checks shared by the two readouts' losses (module docstring).

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
                raise CdmxError(f'{type(self).__name__} {name} is {value!r}; give a '
                                'non-negative number (the paper uses tau = 0.1).')
        self.tau, self.loss_weight = float(tau), float(loss_weight)
        self.ignore_index = int(ignore_index)

    def _valid_pixels(self, pred: torch.Tensor, t: torch.Tensor, labels: torch.Tensor,
                      class_prior: torch.Tensor) -> torch.Tensor:
        """``(N, H, W)`` bool mask of the scored pixels, after checking the inputs."""
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
        if self.tau > 0 and (class_prior <= 0).any():
            raise CdmxError('a class has prior probability 0, which makes Eq. 10 divide by '
                            'zero; estimate the prior from data that contains every class, or '
                            'smooth it.')
        return valid


@LOSSES.register_module()
class DebiasedDiffusionLoss(_DebiasedLoss):
    """``L_diff`` (Eqs. 4-6) and ``L_adj`` (Eqs. 9-11), see the module docstring; the
    arguments are :class:`_DebiasedLoss`'s."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor, t: torch.Tensor,
                labels: torch.Tensor, class_prior: torch.Tensor,
                log_probs: Optional[torch.Tensor] = None,
                class_vectors: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Both terms over the non-ignored pixels.

        Args:
            pred (Tensor): ``(N, K, H, W)`` the denoiser's ``f``, a prediction of ``y_0``.
            target (Tensor): ``(N, K, H, W)`` the encoded mask ``y_0``.
            t (Tensor): ``(N,)`` diffusion times in [0, 1].
            labels (Tensor): ``(N, H, W)`` int class ids of ``y_0``, ``ignore_index`` where
                no loss is taken.
            class_prior (Tensor): ``(C,)`` class probabilities ``p`` (sum 1, all positive).
            log_probs (Tensor, optional): ``(N, C, H, W)`` class log-probabilities that
                ``pred`` encodes (the denoiser's ``class_log_probs``); needed when ``tau > 0``.
            class_vectors (Tensor, optional): ``(C, K)`` the class codes (the denoiser's
                ``class_vectors``); needed when ``tau > 0``.

        Returns:
            dict: ``loss_diffusion`` (Eqs. 4-6) and, when ``tau > 0``, ``loss_adjust``
            (Eqs. 9-11), scalars with gradient (0 when every pixel is ignored).
        """
        if pred.shape != target.shape or pred.dim() != 4:
            raise CdmxError(f'the prediction {tuple(pred.shape)} and target '
                            f'{tuple(target.shape)} must both be (N, K, H, W) of one shape; '
                            'check the label encoding and readout of the denoiser.')
        valid = self._valid_pixels(pred, t, labels, class_prior)
        losses = {}
        count = valid.sum().clamp(min=1) * pred.shape[1]
        mask = valid[:, None].to(pred.dtype)
        losses['loss_diffusion'] = self.loss_weight * (
            ((pred - target) ** 2) * mask).sum() / count
        if self.tau > 0:
            losses['loss_adjust'] = self.loss_weight * self._adjustment(
                pred, t, mask, count, class_prior, log_probs, class_vectors)
        return losses

    def _adjustment(self, pred, t, mask, count, class_prior, log_probs, class_vectors):
        """``L_adj`` (Eqs. 9-11) before ``loss_weight``."""
        num_classes = class_prior.numel()
        if log_probs is None or class_vectors is None:
            raise CdmxError('the debiased adjustment (tau > 0) needs the class log-probabilities '
                            'and class vectors of the prediction; pass log_probs and '
                            'class_vectors, or set tau=0.')
        if log_probs.shape != (pred.shape[0], num_classes, *pred.shape[2:]) or \
                class_vectors.shape != (num_classes, pred.shape[1]):
            raise CdmxError(f'log_probs {tuple(log_probs.shape)} and class_vectors '
                            f'{tuple(class_vectors.shape)} must be (N, {num_classes}, H, W) and '
                            f'({num_classes}, {pred.shape[1]}) for a prediction of '
                            f'{tuple(pred.shape)} and {num_classes} classes.')
        shift = debias_shift(log_probs.detach().to(pred.dtype), class_vectors.detach().to(
            pred.dtype), class_prior.to(pred.dtype))
        debiased = pred.detach() + shift
        weight = self.tau * t.to(pred.dtype)[:, None, None, None] * mask
        return (weight * (pred - debiased) ** 2).sum() / count


@LOSSES.register_module()
class DebiasedCrossEntropyLoss(_DebiasedLoss):
    """``L_ce`` and ``L_adj`` of a logits readout (module docstring); the arguments are
    :class:`_DebiasedLoss`'s."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor, t: torch.Tensor,
                labels: torch.Tensor, class_prior: torch.Tensor,
                log_probs: Optional[torch.Tensor] = None,
                class_vectors: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Both terms over the non-ignored pixels. The call is :class:`DebiasedDiffusionLoss`'s
        so that the segmentor scores either readout alike; ``target``, ``log_probs`` and
        ``class_vectors`` (the encoding-space inputs of the squared error) are not read.

        Args:
            pred (Tensor): ``(N, C, H, W)`` the denoiser's class logits.
            target (Tensor): Not read.
            t (Tensor): ``(N,)`` diffusion times in [0, 1].
            labels (Tensor): ``(N, H, W)`` int class ids, ``ignore_index`` where no loss is
                taken.
            class_prior (Tensor): ``(C,)`` class probabilities ``p`` (sum 1, all positive).
            log_probs, class_vectors: Not read.

        Returns:
            dict: ``loss_ce`` and, when ``tau > 0``, ``loss_adjust``, scalars with gradient (0
            when every pixel is ignored).
        """
        if pred.dim() != 4 or pred.shape[1] != class_prior.numel():
            raise CdmxError(f'the logits are {tuple(pred.shape)} but the class prior has '
                            f'{class_prior.numel()} classes; give (N, C, H, W) logits '
                            "(MaskDenoiser readout='logits').")
        valid = self._valid_pixels(pred, t, labels, class_prior)
        count = valid.sum().clamp(min=1)
        losses = {'loss_ce': self.loss_weight * F.cross_entropy(
            pred, labels.long(), ignore_index=self.ignore_index, reduction='sum') / count}
        if self.tau > 0:
            probs = pred.softmax(dim=1)
            with torch.no_grad():
                eye = torch.eye(pred.shape[1], dtype=pred.dtype, device=pred.device)
                debiased = probs + debias_shift(pred.log_softmax(dim=1), eye,
                                                class_prior.to(pred.dtype))
            weight = self.tau * t.to(pred.dtype)[:, None, None] * valid.to(pred.dtype)
            losses['loss_adjust'] = self.loss_weight * (
                weight * ((probs - debiased) ** 2).sum(1)).sum() / count
        return losses
